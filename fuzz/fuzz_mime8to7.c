/* Fuzz: the 8-bit to 7-bit MIME downgrade (proto/mime8to7.c). Never writes past cap (ASan),
 * a success is 7-bit and converts to itself, and a short cap only ever gives
 * MIME8TO7_SPACE or the same verdict. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/mime8to7.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1 << 20)
        return 0;
    size_t cap = MIME8TO7_OUT_MAX(size);
    char *out = malloc(cap), *again = malloc(MIME8TO7_OUT_MAX(cap));
    ssize_t n = mime8to7((const char *)data, size, out, cap);
    if (n >= 0) {
        if (mime8to7_is_8bit(out, (size_t)n))
            abort();
        ssize_t m = mime8to7(out, (size_t)n, again, MIME8TO7_OUT_MAX(cap));
        if (m != n || memcmp(out, again, (size_t)n) != 0)
            abort();
        if (n > 0) { /* one byte short: out of space, never an overrun */
            char *tight = malloc((size_t)n - 1 ? (size_t)n - 1 : 1);
            if (mime8to7((const char *)data, size, tight, (size_t)n - 1) != MIME8TO7_SPACE)
                abort();
            free(tight);
        }
    } else if (n == MIME8TO7_SPACE) {
        abort(); /* MIME8TO7_OUT_MAX is a promise */
    }
    free(out);
    free(again);
    return 0;
}
