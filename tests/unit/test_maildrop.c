/* Unit tests: the drop file of non-root submission, parser and formatter (proto/maildrop.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "proto/maildrop.h"

#define HEAD MAILDROP_MAGIC "S a@b.test\nF 2\nE env1\n"

/* Whole files: accepted ones with what they hold, refused ones with the reason. */
static void test_parse(void **state)
{
    (void)state;
    struct {
        const char *in;
        const char *why; /* NULL: accepted */
        const char *sender, *rcpt1, *orcpt1;
        size_t nrcpt, body_len;
    } cases[] = {
        {HEAD "R 0 u@x.test\n\nSubject: s\r\n\r\nhi\r\n", NULL, "a@b.test", "u@x.test", "", 1, 18},
        {MAILDROP_MAGIC "S \nF 0\nE \nR 14 u@x.test rfc822;u@x.test\nR 0 v@X.TEST\n\n", NULL, "",
         "u@x.test", "rfc822;u@x.test", 2, 0},
        {"sluice-maildrop 2\nS a@b.test\n", "not a drop file (bad magic line)", NULL, NULL, NULL, 0, 0},
        {HEAD "\nbody\r\n", "head incomplete (S, F, E and one R line needed)", NULL, NULL, NULL, 0, 0},
        {MAILDROP_MAGIC "F 0\nS a@b.test\nE \nR 0 u@x.test\n\n", "head fields out of order or malformed", NULL, NULL, NULL, 0, 0},
        {HEAD "R 0 u@x.test", "head line too long or unterminated", NULL, NULL, NULL, 0, 0},
        {HEAD "R 0 u@x.test\n", "head line too long or unterminated", NULL, NULL, NULL, 0, 0},
        {HEAD "R 0 not an address\n\n", "bad recipient", NULL, NULL, NULL, 0, 0},
        {HEAD "R 256 u@x.test\n\n", "bad recipient", NULL, NULL, NULL, 0, 0},
        {HEAD "R 0 <u@x.test>\n\n", "bad recipient", NULL, NULL, NULL, 0, 0},
        {HEAD "R 0 \n\n", "bad recipient", NULL, NULL, NULL, 0, 0},
        {MAILDROP_MAGIC "S a@@b\nF 0\nE \nR 0 u@x.test\n\n", "bad sender", NULL, NULL, NULL, 0, 0},
        {MAILDROP_MAGIC "S a@b.test\nF 99999999999\nE \nR 0 u@x.test\n\n", "bad flags", NULL, NULL, NULL, 0, 0},
        {MAILDROP_MAGIC "S a@b.test\nF 0\nE a b\nR 0 u@x.test\n\n", "bad envid", NULL, NULL, NULL, 0, 0},
        {HEAD "R 0 u@x.test\n\nbare\nLF\r\n", "bare LF in content", NULL, NULL, NULL, 0, 0},
        {HEAD "R 0 u@x.test\n\nbare\rCR\r\n", "bare CR in content", NULL, NULL, NULL, 0, 0},
        {HEAD "R 0 u@x.test\n\nno end", "content does not end in CRLF", NULL, NULL, NULL, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct maildrop d;
        const char *why;
        int rc = maildrop_parse(cases[i].in, strlen(cases[i].in), 1000, &d, &why);
        if (!cases[i].why) {
            if (rc != 0)
                fail_msg("case %zu: got refused (%s), want accepted", i, why);
            if (strcmp(d.sender, cases[i].sender) || d.nrcpt != cases[i].nrcpt ||
                strcmp(d.rcpts[0].addr, cases[i].rcpt1) || strcmp(d.rcpts[0].orcpt, cases[i].orcpt1) ||
                d.body_len != cases[i].body_len)
                fail_msg("case %zu: got <%s> %zu rcpts <%s> orcpt %s body %zu, want <%s> %zu <%s> %s %zu",
                         i, d.sender, d.nrcpt, d.rcpts[0].addr, d.rcpts[0].orcpt, d.body_len,
                         cases[i].sender, cases[i].nrcpt, cases[i].rcpt1, cases[i].orcpt1,
                         cases[i].body_len);
            maildrop_clear(&d);
        } else if (rc != -1 || strcmp(why, cases[i].why) != 0) {
            fail_msg("case %zu: got %d (%s), want refused (%s)", i, rc, why ? why : "-", cases[i].why);
        }
    }
}

/* The content limit is the caller's max_body. */
static void test_content_limit(void **state)
{
    (void)state;
    const char *f = HEAD "R 0 u@x.test\n\n0123456789\r\n";
    struct maildrop d;
    const char *why;
    if (maildrop_parse(f, strlen(f), 12, &d, &why) != 0)
        fail_msg("12 bytes with max 12: got refused (%s), want accepted", why);
    maildrop_clear(&d);
    if (maildrop_parse(f, strlen(f), 11, &d, &why) != -1 || strcmp(why, "content too large"))
        fail_msg("12 bytes with max 11: got accepted, want content too large");
}

/* The formatter's head, followed by content, parses back to the same envelope. */
static void test_round_trip(void **state)
{
    (void)state;
    struct maildrop_rcpt r[2] = {{"u@x.test", "rfc822;u@x.test", 6}, {"v@y.test", "has blank", 0}};
    size_t len;
    char *h = maildrop_head("", 3, "e", r, 2, &len);
    char *f = malloc(len + 7);
    memcpy(f, h, len);
    memcpy(f + len, "x: y\r\n", 6);
    struct maildrop d;
    const char *why;
    if (maildrop_parse(f, len + 6, 100, &d, &why) != 0)
        fail_msg("round trip: got refused (%s), want accepted", why);
    if (*d.sender || d.flags != 3 || strcmp(d.envid, "e") || d.nrcpt != 2 ||
        d.rcpts[0].notify != 6 || strcmp(d.rcpts[0].orcpt, "rfc822;u@x.test") ||
        strcmp(d.rcpts[1].addr, "v@y.test") || *d.rcpts[1].orcpt || d.body_off != len)
        fail_msg("round trip: got <%s> F %u E %s %zu rcpts, want <> F 3 E e 2", d.sender,
                 (unsigned)d.flags, d.envid, d.nrcpt);
    maildrop_clear(&d);
    free(f);
    free(h);
}

/* More than MAILDROP_RCPT_MAX recipients are refused. */
static void test_rcpt_max(void **state)
{
    (void)state;
    size_t n = MAILDROP_RCPT_MAX + 1, len;
    struct maildrop_rcpt *r = calloc(n, sizeof *r);
    for (size_t i = 0; i < n; i++)
        snprintf(r[i].addr, sizeof r[i].addr, "u%zu@x.test", i);
    char *h = maildrop_head("a@b.test", 0, "", r, n, &len);
    struct maildrop d;
    const char *why;
    if (maildrop_parse(h, len, 0, &d, &why) != -1 || strcmp(why, "too many recipients"))
        fail_msg("%zu recipients: got %s, want too many recipients", n, why ? why : "accepted");
    free(h);
    h = maildrop_head("a@b.test", 0, "", r, n - 1, &len);
    if (maildrop_parse(h, len, 0, &d, &why) != 0 || d.nrcpt != n - 1)
        fail_msg("%d recipients: got refused (%s), want accepted", MAILDROP_RCPT_MAX, why);
    maildrop_clear(&d);
    free(h);
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_content_limit),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_rcpt_max),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
