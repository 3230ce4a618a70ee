/* fuzz_sanitize: log_sanitize() on arbitrary bytes and buffer sizes. The output must be
 * NUL-terminated inside the buffer, printable ASCII only, and decode (\\ and \xHH) to a
 * prefix of the input: the whole input when the buffer has LOG_SANITIZED_SIZE(len). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Value of one hex digit; aborts on anything else. */
static unsigned hexval(char c)
{
    if (c >= '0' && c <= '9')
        return (unsigned)(c - '0');
    if (c >= 'a' && c <= 'f')
        return (unsigned)(c - 'a' + 10);
    abort();
}

/* Decodes out into dec; returns its length. Aborts on a malformed escape or a bad byte. */
static size_t decode(const char *out, unsigned char *dec)
{
    size_t n = 0;
    for (const char *p = out; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20 || c > 0x7e)
            abort();
        if (c != '\\') {
            dec[n++] = c;
        } else if (p[1] == '\\') {
            dec[n++] = '\\';
            p++;
        } else if (p[1] == 'x' && p[2] && p[3]) {
            dec[n++] = (unsigned char)(hexval(p[2]) << 4 | hexval(p[3]));
            p += 3;
        } else {
            abort();
        }
    }
    return n;
}

/* Sanitizes into a buffer of cap bytes (with a guard byte after it) and checks the result. */
static void check(const uint8_t *data, size_t size, size_t cap, int whole)
{
    char *out = malloc(cap + 1);
    unsigned char *dec = malloc(cap + 1);
    if (!out || !dec)
        abort();
    out[cap] = 'G';
    log_sanitize(out, cap, (const char *)data, size);
    if (out[cap] != 'G' || memchr(out, '\0', cap) == NULL)
        abort();
    size_t n = decode(out, dec);
    if (n > size || memcmp(dec, data, n) != 0 || (whole && n != size))
        abort();
    free(out);
    free(dec);
}

/* One input: the first byte picks a small buffer size, the rest is the text. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t small = (size_t)data[0] % 64 + 1;
    check(data + 1, size - 1, small, 0);
    check(data + 1, size - 1, LOG_SANITIZED_SIZE(size - 1), 1);
    return 0;
}
