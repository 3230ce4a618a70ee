/* Unit tests: VERP encoding and decoding (dsn/verp.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "dsn/verp.h"

/* Encoding then decoding gives the recipient and the sender back. */
static void test_round_trip(void **state)
{
    (void)state;
    struct { const char *sender, *rcpt, *delims, *want; } cases[] = {
        {"list@lists.example", "joe@dom.example", "+=", "list+joe=dom.example@lists.example"},
        {"owner@l.example", "a.b-c@x.example", "-=", "owner-a.b-c=x.example@l.example"},
        {"b@l.example", "x=y@d.example", "+=", "b+x=y=d.example@l.example"},
        {"b@l.example", "x+y@d.example", "+=", "b+x+y=d.example@l.example"},
    };
    char out[VERP_ADDR_MAX + 1], rcpt[VERP_ADDR_MAX + 1], sender[VERP_ADDR_MAX + 1];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (verp_encode(cases[i].sender, cases[i].rcpt, cases[i].delims, out, sizeof out) < 0 ||
            strcmp(out, cases[i].want) != 0)
            fail_msg("encode %zu: got %s, want %s", i, out, cases[i].want);
        if (verp_decode(out, strlen(out), cases[i].delims, rcpt, sender, sizeof rcpt) < 0)
            fail_msg("decode %s: got -1, want %s", out, cases[i].rcpt);
        if (strcmp(rcpt, cases[i].rcpt) != 0 || strcmp(sender, cases[i].sender) != 0)
            fail_msg("decode %s: got %s / %s, want %s / %s", out, rcpt, sender, cases[i].rcpt,
                     cases[i].sender);
    }
}

/* What cannot be encoded keeps the plain sender (-1). */
static void test_encode_refused(void **state)
{
    (void)state;
    char big[300];
    memset(big, 'a', sizeof big - 20);
    strcpy(big + sizeof big - 20, "@d.example");
    struct { const char *sender, *rcpt; } cases[] = {
        {"", "a@b.example"}, {"nodomain", "a@b.example"}, {"s@x.example", "\"a b\"@b.example"},
        {"s@x.example", "noat"}, {"s@x.example", big}, {"@x.example", "a@b.example"},
    };
    char out[VERP_ADDR_MAX + 1];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (verp_encode(cases[i].sender, cases[i].rcpt, "+=", out, sizeof out) == 0)
            fail_msg("encode case %zu: got %s, want -1", i, out);
}

/* Addresses that are not VERP addresses. */
static void test_decode_refused(void **state)
{
    (void)state;
    const char *cases[] = {"plain@x.example", "a+b@x.example", "a+=d.example@x.example",
                           "+b=d.example@x.example", "a+b=@x.example", "a+b=bad_dom@x.example",
                           "a+b=d.example@", "", "a+b=d.example@x..example"};
    char r[VERP_ADDR_MAX + 1], s[VERP_ADDR_MAX + 1];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (verp_decode(cases[i], strlen(cases[i]), "+=", r, s, sizeof r) == 0)
            fail_msg("decode %s: got %s, want -1", cases[i], r);
}

/* verp_wanted: all, by domain, never for the null sender. */
static void test_wanted(void **state)
{
    (void)state;
    char *doms[] = {"lists.example"};
    assert_true(verp_wanted(true, NULL, 0, "a@b.example"));
    assert_false(verp_wanted(true, NULL, 0, ""));
    assert_true(verp_wanted(false, doms, 1, "a@LISTS.example"));
    assert_false(verp_wanted(false, doms, 1, "a@other.example"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip), cmocka_unit_test(test_encode_refused),
        cmocka_unit_test(test_decode_refused), cmocka_unit_test(test_wanted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
