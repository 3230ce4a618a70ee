/* Unit tests: the 8-bit to 7-bit MIME downgrade (proto/mime8to7.c), table-driven: input
 * message, expected output or reason; every success is 7-bit and converts to itself. */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_space),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
