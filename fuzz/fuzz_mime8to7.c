/* Fuzz: the 8-bit to 7-bit MIME downgrade (proto/mime8to7.c). Never writes past cap (ASan),
 * a success is 7-bit and converts to itself, a short cap only ever gives MIME8TO7_SPACE,
 * and streaming gives exactly the one-shot verdict and output whatever the split: input
 * pieces and output space drawn from a generator seeded by the input (and one octet at a
 * time for small inputs), which catches state carried wrongly across a piece boundary.
 * mime8to7_copy_8bit() copies exactly and says what mime8to7_is_8bit() says. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/mime8to7.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Piece sizes: xorshift, so a split is reproducible from the input alone. */
static size_t next_piece(uint64_t *x, size_t max)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return 1 + (size_t)(*x % max);
}

/* Runs both passes fed in pieces (piece 0: random sizes up to max) into out; aborts when
 * the verdict or the output differs from the one-shot result n / want. */
static void check_split(const char *in, size_t len, uint64_t seed, size_t max, ssize_t n,
                        const char *want, struct mime8to7 *s)
{
    struct mime8to7_plan plan;
    char out[MIME8TO7_STEP_MIN + 300];
    size_t used, at = 0, got = 0;
    uint64_t x = seed | 1;
    mime8to7_analyse(s, &plan);
    while (!mime8to7_done(s)) {
        size_t k = max ? next_piece(&x, max) : 1;
        k = k < len - at ? k : len - at;
        mime8to7_step(s, in + at, k, at + k == len, &used, NULL, 0);
        at += used;
    }
    int v = mime8to7_verdict(s);
    if (n < 0 && n != MIME8TO7_SPACE && v != n)
        abort();
    if (n < 0)
        return;
    if (v != 0)
        abort();
    mime8to7_emit(s, &plan);
    for (at = 0; !mime8to7_done(s);) {
        size_t k = max ? next_piece(&x, max) : 1, cap = MIME8TO7_STEP_MIN + next_piece(&x, 300) - 1;
        k = k < len - at ? k : len - at;
        size_t w = mime8to7_step(s, in + at, k, at + k == len, &used, out, cap);
        if (w > cap || got + w > (size_t)n || memcmp(want + got, out, w) != 0)
            abort();
        got += w;
        at += used;
    }
    if (got != (size_t)n)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1 << 20)
        return 0;
    size_t cap = MIME8TO7_OUT_MAX(size);
    char *out = malloc(cap), *again = malloc(MIME8TO7_OUT_MAX(cap));
    struct mime8to7 *s = malloc(sizeof *s);
    ssize_t n = mime8to7((const char *)data, size, out, cap);
    char *copy = malloc(size ? size : 1); /* the copy-and-check of receivers (MSG_F_7BIT) */
    if (mime8to7_copy_8bit(copy, (const char *)data, size) !=
            (mime8to7_is_8bit((const char *)data, size) != 0) ||
        memcmp(copy, data, size) != 0)
        abort();
    free(copy);
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
    uint64_t seed = 1469598103934665603ULL;
    for (size_t i = 0; i < size && i < 64; i++)
        seed = (seed ^ data[i]) * 1099511628211ULL;
    check_split((const char *)data, size, seed, 64, n, out, s);
    check_split((const char *)data, size, seed * 31, 4096, n, out, s);
    if (size <= 4096)
        check_split((const char *)data, size, 0, 0, n, out, s);
    free(s);
    free(out);
    free(again);
    return 0;
}
