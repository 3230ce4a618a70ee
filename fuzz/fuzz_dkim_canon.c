/* Fuzz: DKIM canonicalization (src/dkim/ed25519.c) of hostile header fields and bodies.
 * Relaxed output never has a blank before CRLF or two blanks in a row, and every line of
 * any output ends with CRLF; a relaxed header is "name:value\r\n" with a lower-case name. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dkim/dkim_int.h"
#include "proto/hdr.h"

/* Aborts unless b (len bytes) is lines ending in CRLF, relaxed: without runs of blanks. */
static void check(const struct dkim_buf *b, bool relaxed)
{
    for (size_t i = 0; i < b->len; i++) {
        if (b->p[i] == '\n' && (i == 0 || b->p[i - 1] != '\r'))
            abort();
        if (relaxed && (b->p[i] == ' ' || b->p[i] == '\t') && i + 1 < b->len &&
            (b->p[i + 1] == ' ' || b->p[i + 1] == '\t' ||
             (b->p[i + 1] == '\r' && i + 2 < b->len && b->p[i + 2] == '\n')))
            abort();
    }
    if (b->len > 0 && (b->len < 2 || memcmp(b->p + b->len - 2, "\r\n", 2) != 0))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    for (int relaxed = 0; relaxed < 2; relaxed++) {
        struct dkim_buf b = {0};
        dkim_canon_body(p, size, 0, relaxed, &b);
        check(&b, relaxed);
        free(b.p);
        struct hdr_field f; /* the fields as the signer gets them: from hdr_next() */
        size_t off = 0, used;
        while ((used = hdr_next(p, size, off, &f)) > 0) {
            struct dkim_buf h = {0};
            dkim_canon_header(f.raw, f.rawlen, relaxed, &h);
            if (relaxed) {
                for (size_t i = 0; i < h.len && h.p[i] != ':'; i++)
                    if (h.p[i] >= 'A' && h.p[i] <= 'Z')
                        abort();
                check(&h, true);
            }
            free(h.p);
            off += used;
        }
    }
    return 0;
}
