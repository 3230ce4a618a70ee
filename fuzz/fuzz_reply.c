/* fuzz_reply: reply_parse on arbitrary bytes, whole and split at a fuzzer-chosen point;
 * checks the parser's invariants, then reply_to_text and reply_ehlo_caps on what it parsed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts when a parsed reply breaks the header's promises. */
static void check_reply(const struct reply *r, ssize_t n, size_t size)
{
    if (n < -1 || n > (ssize_t)size)
        abort();
    if (n <= 0)
        return;
    if (r->code < 200 || r->code > 599 || r->nlines == 0 || r->nlines > REPLY_LINES_MAX)
        abort();
    size_t tl = strnlen(r->text, sizeof r->text);
    if (tl >= sizeof r->text || strnlen(r->enh, sizeof r->enh) >= sizeof r->enh)
        abort();
    for (size_t i = 0; i < tl; i++)
        if ((unsigned char)r->text[i] < 0x20 && r->text[i] != '\n')
            abort();
    if (r->enh[0] != '\0' && r->enh[0] != (char)('0' + r->code / 100))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct reply r, r2;
    char text[REPLY_TEXT_MAX + 64];
    struct ehlo_caps caps;
    /* exact-size copy so ASan sees any read past size */
    char *buf = malloc(size ? size : 1);
    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);
    ssize_t n = reply_parse(buf, size, &r);
    check_reply(&r, n, size);
    if (n > 0) {
        reply_outcome(&r);
        reply_to_text(&r, text, sizeof text);
        reply_to_text(&r, text, 1 + size % 40);
        reply_ehlo_caps(&r, &caps);
        /* a strict prefix of a complete reply needs more bytes */
        size_t cut = size % (size_t)n;
        if (reply_parse(buf, cut, &r2) != 0)
            abort();
    } else if (n == -1) {
        /* an invalid buffer stays invalid when more bytes arrive */
        char *more = malloc(size + 8);
        if (more != NULL) {
            memcpy(more, buf, size);
            memcpy(more + size, "250 x\r\n\n", 8);
            if (reply_parse(more, size + 8, &r2) != -1)
                abort();
            free(more);
        }
    }
    free(buf);
    return 0;
}
