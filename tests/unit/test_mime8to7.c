/* Unit tests: the 8-bit to 7-bit MIME downgrade (proto/mime8to7.c), table-driven: input
 * message, expected output or reason; every success is 7-bit and converts to itself; and
 * streaming gives the same verdict and output for every split of the input in two (so at
 * every octet around boundaries, CRLF, "=" and 8-bit octets), one octet at a time, and
 * with the least output space per step. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/mime8to7.h"

struct case_ {
    const char *name, *in, *want; /* want NULL: expect why */
    ssize_t why;
};

#define MV "MIME-Version: 1.0\r\n"
#define QPH "Content-Transfer-Encoding: quoted-printable\r\n"

static const struct case_ cases[] = {
    {"7-bit copied", MV "Subject: x\r\n\r\nplain\r\n", MV "Subject: x\r\n\r\nplain\r\n", 0},
    {"7-bit non-MIME copied", "Subject: x\r\n\r\nplain\r\n", "Subject: x\r\n\r\nplain\r\n", 0},
    {"8-bit non-MIME", "Subject: x\r\n\r\ncaf\xc3\xa9\r\n", NULL, MIME8TO7_NOT_MIME},
    {"single part", MV "Content-Type: text/plain; charset=utf-8\r\n"
                       "Content-Transfer-Encoding: 8bit\r\n\r\ncaf\xc3\xa9 = ok\r\n",
     MV "Content-Type: text/plain; charset=utf-8\r\n" QPH "\r\ncaf=C3=A9 =3D ok\r\n", 0},
    {"no CTE field", MV "\r\n\xff\r\n", MV QPH "\r\n=FF\r\n", 0},
    {"folded CTE removed", MV "Content-Transfer-Encoding:\r\n 8bit\r\nX: y\r\n\r\n\xe9\r\n",
     MV "X: y\r\n" QPH "\r\n=E9\r\n", 0},
    {"trailing blanks", MV "\r\n\xe9 \r\na\t\r\n", MV QPH "\r\n=E9=20\r\na=09\r\n", 0},
    {"lone LF and no final line end", MV "\r\n\xe9\nb", MV QPH "\r\n=E9\r\nb", 0},
    {"long line soft breaks", MV "\r\n\xe9\xe9\xe9\xe9\xe9\xe9\xe9\xe9\xe9\xe9\xe9\xe9\xe9\xe9\xe9"
                                 "\xe9\xe9\xe9\xe9\xe9\xe9\xe9\xe9\xe9\xe9\xe9\r\n",
     MV QPH "\r\n=E9=E9=E9=E9=E9=E9=E9=E9=E9=E9=E9=E9=E9=E9=E9=E9=E9=E9=E9=E9=E9=E9=E9=E9=E9=\r\n"
            "=E9\r\n",
     0},
    {"multipart: only the 8-bit part", MV "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
                                          "pre\r\n--b1\r\nContent-Type: text/plain\r\n\r\nascii\r\n"
                                          "--b1\r\nContent-Type: text/plain\r\n\r\n\xe9t\xe9\r\n"
                                          "--b1--\r\nepi\r\n",
     MV "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
        "pre\r\n--b1\r\nContent-Type: text/plain\r\n\r\nascii\r\n"
        "--b1\r\nContent-Type: text/plain\r\n" QPH "\r\n=E9t=E9\r\n"
        "--b1--\r\nepi\r\n",
     0},
    {"nested multipart", MV "Content-Type: multipart/mixed; boundary=out\r\n\r\n--out\r\n"
                            "Content-Type: multipart/alternative; boundary=in\r\n\r\n--in\r\n\r\n"
                            "\xe9\r\n--in--\r\n--out--\r\n",
     MV "Content-Type: multipart/mixed; boundary=out\r\n\r\n--out\r\n"
        "Content-Type: multipart/alternative; boundary=in\r\n\r\n--in\r\n" QPH "\r\n"
        "=E9\r\n--in--\r\n--out--\r\n",
     0},
    {"unterminated multipart", MV "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n\xe9",
     MV "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n" QPH "\r\n=E9", 0},
    {"message/rfc822 inside", MV "Content-Type: message/rfc822\r\nContent-Transfer-Encoding: 8bit\r\n"
                                 "\r\nSubject: in\r\n\r\n\xe9\r\n",
     MV "Content-Type: message/rfc822\r\nContent-Transfer-Encoding: 7bit\r\n\r\n"
        "Subject: in\r\n" QPH "\r\n=E9\r\n",
     0},
    {"8-bit header", MV "Subject: caf\xc3\xa9\r\n\r\n\xe9\r\n", NULL, MIME8TO7_HEADER},
    {"8-bit in base64", MV "Content-Transfer-Encoding: base64\r\n\r\n\xe9\r\n", NULL,
     MIME8TO7_INVALID},
    {"8-bit preamble", MV "Content-Type: multipart/mixed; boundary=b\r\n\r\n\xe9\r\n--b\r\n\r\nx\r\n",
     NULL, MIME8TO7_INVALID},
    {"8-bit epilogue", MV "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n\xe9",
     NULL, MIME8TO7_INVALID},
    {"multipart without boundary", MV "Content-Type: multipart/mixed\r\n\r\n\xe9\r\n", NULL,
     MIME8TO7_INVALID},
    {"delimiter never seen", MV "Content-Type: multipart/mixed; boundary=zz\r\n\r\n--z\r\n\xe9\r\n",
     NULL, MIME8TO7_INVALID},
    {"CR, blank+CR and blank at the end", MV "\r\n\xe9\r\na \r\nb\r", MV QPH "\r\n=E9\r\na=20\r\nb=0D",
     0},
    {"blank then CR at the end", MV "\r\n\xe9 \r", MV QPH "\r\n=E9 =0D", 0},
    {"CR inside a line", MV "\r\n\xe9\rx \r \r\n", MV QPH "\r\n=E9=0Dx =0D=20\r\n", 0},
    {"= at a soft break", MV "\r\n\xe9" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=b\r\n",
     MV QPH "\r\n=E9aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=\r\n"
            "=3Db\r\n",
     0},
    {"delimiter with padding, lone LF", MV "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
                                        "--b \t\n\n\xe9\n--b-- \n",
     MV "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b \t\n" QPH "\r\n=E9\r\n--b-- \n", 0},
    {"not a delimiter: --bx, --b-x, -b", MV "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
                                         "\r\n--bx\r\n--b-x\r\n-b\r\n\xe9\r\n--b--\r\n",
     MV "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n" QPH "\r\n--bx\r\n--b-x\r\n"
        "-b\r\n=E9\r\n--b--\r\n",
     0},
    {"outer delimiter ends the inner part", MV "Content-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\n"
                                            "Content-Type: multipart/mixed; boundary=i\r\n\r\n--i\r\n"
                                            "\r\n\xe9\r\n--o\r\nX: 1\r\n--o--\r\n",
     MV "Content-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\n"
        "Content-Type: multipart/mixed; boundary=i\r\n\r\n--i\r\n" QPH "\r\n=E9\r\n--o\r\nX: 1\r\n"
        "--o--\r\n",
     0},
    {"delimiter at the end without line end", MV "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
                                              "--b\r\n\r\n\xe9\r\n--b--",
     MV "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n" QPH "\r\n=E9\r\n--b--", 0},
    {"rfc822 holding a multipart", MV "Content-Type: message/rfc822\r\n\r\nContent-Type: multipart/x;"
                                   " boundary=q\r\n\r\n--q\r\n\r\n\xe9\r\n--q--\r\n",
     MV "Content-Type: message/rfc822\r\nContent-Transfer-Encoding: 7bit\r\n\r\n"
        "Content-Type: multipart/x; boundary=q\r\n\r\n--q\r\n" QPH "\r\n=E9\r\n--q--\r\n",
     0},
    {"8-bit header of a part", MV "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
                               "X: \xe9\r\n\r\nx\r\n--b--\r\n",
     NULL, MIME8TO7_HEADER},
    {"8-bit in a base64 part", MV "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
                               "Content-Transfer-Encoding: base64\r\n\r\n\xe9\r\n--b--\r\n",
     NULL, MIME8TO7_INVALID},
};

/* Runs one case; on success checks 7-bit output and idempotence. */
static void run_case(const struct case_ *c)
{
    size_t len = strlen(c->in), cap = MIME8TO7_OUT_MAX(len);
    char *out = malloc(cap), *again = malloc(MIME8TO7_OUT_MAX(cap));
    ssize_t n = mime8to7(c->in, len, out, cap);
    if (!c->want) {
        if (n != c->why)
            fail_msg("%s: got %zd, want %zd", c->name, n, c->why);
    } else {
        if (n < 0)
            fail_msg("%s: got error %zd (%s), want output", c->name, n, mime8to7_error_text(n));
        if ((size_t)n != strlen(c->want) || memcmp(out, c->want, (size_t)n) != 0)
            fail_msg("%s: got\n%.*s\nwant\n%s", c->name, (int)n, out, c->want);
        assert_false(mime8to7_is_8bit(out, (size_t)n));
        ssize_t m = mime8to7(out, (size_t)n, again, MIME8TO7_OUT_MAX(cap));
        if (m != n || memcmp(out, again, (size_t)n) != 0)
            fail_msg("%s: converting the output again changed it", c->name);
    }
    free(out);
    free(again);
}

static void test_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_case(&cases[i]);
}

/* Both passes over in[0..len) fed as pieces [0, cut) and [cut, len) (cut 0: one octet at a
 * time), out_cap output space per step, into out; returns the length or the verdict. */
static ssize_t stream(const char *in, size_t len, size_t cut, size_t out_cap, char *out)
{
    static struct mime8to7 s;
    struct mime8to7_plan plan;
    char step[MIME8TO7_STEP_MIN + 64];
    size_t used, at = 0, n = 0;
    mime8to7_analyse(&s, &plan);
    while (!mime8to7_done(&s)) {
        size_t end = cut == 0 ? at + 1 : at < cut ? cut : len;
        end = end < len ? end : len;
        mime8to7_step(&s, in + at, end - at, end == len, &used, NULL, 0);
        at += used;
    }
    if (mime8to7_verdict(&s))
        return mime8to7_verdict(&s);
    mime8to7_emit(&s, &plan);
    for (at = 0; !mime8to7_done(&s);) {
        size_t end = cut == 0 ? at + 1 : at < cut ? cut : len;
        end = end < len ? end : len;
        size_t k = mime8to7_step(&s, in + at, end - at, end == len, &used, step, out_cap);
        memcpy(out + n, step, k);
        n += k;
        at += used;
    }
    return (ssize_t)n;
}

/* Streaming equals one-shot for every two-piece split, octet by octet, with the least and
 * with ample output space. */
static void test_splits(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct case_ *c = &cases[i];
        size_t len = strlen(c->in), cap = MIME8TO7_OUT_MAX(len);
        char *want = malloc(cap), *got = malloc(cap);
        ssize_t wn = mime8to7(c->in, len, want, cap);
        for (size_t cut = 0; cut <= len; cut++)
            for (size_t oc = MIME8TO7_STEP_MIN; oc <= MIME8TO7_STEP_MIN + 64; oc += 64) {
                ssize_t gn = stream(c->in, len, cut, oc, got);
                if (gn != wn || (gn > 0 && memcmp(got, want, (size_t)gn) != 0))
                    fail_msg("%s, split at %zu, out %zu: got %zd\n%.*s\nwant %zd\n%.*s", c->name,
                             cut, oc, gn, gn > 0 ? (int)gn : 0, got, wn, wn > 0 ? (int)wn : 0,
                             want);
            }
        free(want);
        free(got);
    }
}

/* Output space is checked, never overrun. */
static void test_space(void **state)
{
    (void)state;
    const char *in = MV "\r\n\xe9\xe9\xe9\r\n";
    char out[64];
    for (size_t cap = 0; cap < 40; cap++) {
        ssize_t n = mime8to7(in, strlen(in), out, cap);
        if (n != MIME8TO7_SPACE)
            fail_msg("cap %zu: got %zd, want MIME8TO7_SPACE", cap, n);
    }
}

/* Depth and size limits. */
static void test_limits(void **state)
{
    (void)state;
    char in[8192];
    size_t off = (size_t)snprintf(in, sizeof in, MV);
    for (int d = 0; d <= MIME8TO7_DEPTH_MAX + 1; d++)
        off += (size_t)snprintf(in + off, sizeof in - off,
                                "Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n", d, d);
    off += (size_t)snprintf(in + off, sizeof in - off, "\r\n\xe9\r\n");
    char *out = malloc(MIME8TO7_OUT_MAX(off));
    ssize_t n = mime8to7(in, off, out, MIME8TO7_OUT_MAX(off));
    if (n != MIME8TO7_LIMIT)
        fail_msg("depth %d: got %zd, want MIME8TO7_LIMIT", MIME8TO7_DEPTH_MAX + 2, n);
    n = mime8to7(in, (size_t)MIME8TO7_IN_MAX + 1, out, 0);
    if (n != MIME8TO7_LIMIT)
        fail_msg("over MIME8TO7_IN_MAX: got %zd, want MIME8TO7_LIMIT", n);
    free(out);
}

/* A part header over MIME8TO7_HEAD_MAX is a limit; a 7-bit message is copied whatever its
 * structure (too deep or too long a header included). */
static void test_head_limit(void **state)
{
    (void)state;
    size_t hmax = MIME8TO7_HEAD_MAX, len = 0;
    char *in = malloc(hmax + 256), *out = malloc(MIME8TO7_OUT_MAX(hmax + 256));
    len += (size_t)sprintf(in, MV);
    while (len < hmax + 10)
        len += (size_t)sprintf(in + len, "X-Filler: %060d\r\n", 0);
    len += (size_t)sprintf(in + len, "\r\n\xe9\r\n");
    ssize_t n = mime8to7(in, len, out, MIME8TO7_OUT_MAX(len));
    if (n != MIME8TO7_LIMIT)
        fail_msg("header of %zu bytes: got %zd, want MIME8TO7_LIMIT", len, n);
    in[len - 3] = 'e';
    n = mime8to7(in, len, out, MIME8TO7_OUT_MAX(len));
    if (n != (ssize_t)len || memcmp(in, out, len) != 0)
        fail_msg("7-bit message with a long header: got %zd, want a copy of %zu bytes", n, len);
    free(in);
    free(out);
}

/* mime8to7_copy_8bit: the copy is exact and the answer is mime8to7_is_8bit's, for an 8-bit
 * octet at every position of lengths 0..40 (the word loop and the tail) and for none. */
static void test_copy_8bit(void **state)
{
    (void)state;
    char src[41], dst[41];
    for (size_t n = 0; n <= 40; n++)
        for (size_t at = 0; at <= n; at++) { /* at == n: no 8-bit octet */
            for (size_t k = 0; k < n; k++)
                src[k] = (char)('a' + k % 26);
            if (at < n)
                src[at] = (char)(0x80 | at);
            memset(dst, 0, sizeof dst);
            bool got = mime8to7_copy_8bit(dst, src, n), want = at < n;
            if (got != want || memcmp(dst, src, n) != 0 || dst[n] != 0)
                fail_msg("n %zu, 8-bit at %zu: got %d, want %d (or the copy differs)", n, at, got,
                         want);
            assert_int_equal(mime8to7_is_8bit(src, n), want);
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_copy_8bit),
        cmocka_unit_test(test_space),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_splits),
        cmocka_unit_test(test_head_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
