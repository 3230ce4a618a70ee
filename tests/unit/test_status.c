/* test_status: table-driven tests of status_code (every class, both outcomes), status_valid
 * and status_of (server replies with and without an enhanced code, our own reasons, texts
 * with neither). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "proto/status.h"

struct code_case {
    enum status_class c;
    enum outcome o;
    const char *want;
};

static const struct code_case code_cases[] = {
    {STATUS_CONNECT, OUTCOME_TEMPFAIL, "4.4.1"},  {STATUS_CONNECT, OUTCOME_PERMFAIL, "5.4.1"},
    {STATUS_SESSION, OUTCOME_TEMPFAIL, "4.4.2"},  {STATUS_SESSION, OUTCOME_PERMFAIL, "5.4.2"},
    {STATUS_PROTOCOL, OUTCOME_TEMPFAIL, "4.5.0"}, {STATUS_PROTOCOL, OUTCOME_PERMFAIL, "5.5.0"},
    {STATUS_DNS, OUTCOME_TEMPFAIL, "4.4.3"},      {STATUS_DNS, OUTCOME_PERMFAIL, "5.4.3"},
    {STATUS_NO_ROUTE, OUTCOME_TEMPFAIL, "4.4.4"}, {STATUS_NO_ROUTE, OUTCOME_PERMFAIL, "5.4.4"},
    {STATUS_NULL_MX, OUTCOME_TEMPFAIL, "4.1.10"}, {STATUS_NULL_MX, OUTCOME_PERMFAIL, "5.1.10"},
    {STATUS_EXPIRED, OUTCOME_TEMPFAIL, "4.4.7"},  {STATUS_EXPIRED, OUTCOME_PERMFAIL, "5.4.7"},
    {STATUS_LOCAL, OUTCOME_TEMPFAIL, "4.3.0"},    {STATUS_LOCAL, OUTCOME_PERMFAIL, "5.3.0"},
    {STATUS_SECURITY, OUTCOME_TEMPFAIL, "4.7.0"}, {STATUS_SECURITY, OUTCOME_PERMFAIL, "5.7.0"},
    {STATUS_TLS_NEEDED, OUTCOME_TEMPFAIL, "4.7.4"}, {STATUS_TLS_NEEDED, OUTCOME_PERMFAIL, "5.7.4"},
    {STATUS_TLS, OUTCOME_TEMPFAIL, "4.7.5"},      {STATUS_TLS, OUTCOME_PERMFAIL, "5.7.5"},
    {STATUS_CONNECT, OUTCOME_OK, "2.0.0"},        {STATUS_EXPIRED, OUTCOME_OK, "2.0.0"},
};

/* Each failure class maps to its RFC 3463 code. */
static void test_code(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof code_cases / sizeof code_cases[0]; i++) {
        const struct code_case *tc = &code_cases[i];
        const char *got = status_code(tc->c, tc->o);
        if (strcmp(got, tc->want) != 0) {
            print_message("status_code(%d, %d): got %s, want %s\n", tc->c, tc->o, got, tc->want);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
}

struct valid_case {
    const char *in;
    size_t want;
};

static const struct valid_case valid_cases[] = {
    {"4.4.1", 5},        {"5.1.10 null", 6},  {"2.0.0 ok", 5},   {"5.123.456", 9},
    {"4.4.1x", 0},       {"3.0.0", 0},        {"1.0.0", 0},      {"5.1234.1", 0},
    {"5.1.1234", 0},     {"5..1", 0},         {"5.1.", 0},       {"5.1", 0},
    {"", 0},             {"550 5.1.1", 0},    {".4.1", 0},       {"44.1.1", 0},
    {"5.1.1,", 0},       {"5.1.1\t", 0},
};

/* status_valid takes RFC 3463's syntax and nothing else. */
static void test_valid(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof valid_cases / sizeof valid_cases[0]; i++) {
        size_t got = status_valid(valid_cases[i].in);
        if (got != valid_cases[i].want) {
            print_message("status_valid(\"%s\"): got %zu, want %zu\n", valid_cases[i].in, got,
                          valid_cases[i].want);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
}

struct of_case {
    const char *text;
    enum outcome o;
    const char *want;
};

static const struct of_case of_cases[] = {
    /* a server reply keeps its enhanced code */
    {"550 5.1.1 no such user", OUTCOME_PERMFAIL, "5.1.1"},
    {"451 4.3.0 try later", OUTCOME_TEMPFAIL, "4.3.0"},
    {"250 2.0.0 Ok: queued as 4F", OUTCOME_OK, "2.0.0"},
    {"421 4.7.0 too many errors", OUTCOME_TEMPFAIL, "4.7.0"},
    {"554 5.123.456", OUTCOME_PERMFAIL, "5.123.456"},
    /* ... a reply without one gets its class .0.0 (Postfix smtp_chat.c) */
    {"550 no such user", OUTCOME_PERMFAIL, "5.0.0"},
    {"450 busy", OUTCOME_TEMPFAIL, "4.0.0"},
    {"550", OUTCOME_PERMFAIL, "5.0.0"},
    {"554 4.1.1 class mismatch", OUTCOME_PERMFAIL, "5.0.0"},
    {"451 5.1.1 class mismatch", OUTCOME_TEMPFAIL, "4.0.0"},
    {"550 5.1.1x bad end", OUTCOME_PERMFAIL, "5.0.0"},
    {"550 5.1234.1 long", OUTCOME_PERMFAIL, "5.0.0"},
    {"550 5.1.1234 long", OUTCOME_PERMFAIL, "5.0.0"},
    {"354 go ahead", OUTCOME_TEMPFAIL, "4.0.0"},
    {"354 3.0.0 go ahead", OUTCOME_PERMFAIL, "5.0.0"},
    /* our own reasons carry their code first */
    {"4.4.1 connect to mx[192.0.2.1]:25: Connection refused", OUTCOME_TEMPFAIL, "4.4.1"},
    {"4.4.2 lost connection with mx[192.0.2.1]:25 during greeting", OUTCOME_TEMPFAIL, "4.4.2"},
    {"4.4.3 DNS lookup for domain d.example failed: SERVFAIL", OUTCOME_TEMPFAIL, "4.4.3"},
    {"5.4.4 domain d.example not found (NXDOMAIN)", OUTCOME_PERMFAIL, "5.4.4"},
    {"5.1.0 domain d.example accepts no mail (null MX)", OUTCOME_PERMFAIL, "5.1.0"},
    {"5.4.7 message expired, last reply: 4.4.1 connect to x", OUTCOME_PERMFAIL, "5.4.7"},
    {"4.3.0 queue read error", OUTCOME_TEMPFAIL, "4.3.0"},
    {"5.1.10", OUTCOME_PERMFAIL, "5.1.10"},
    /* neither: the outcome's class .0.0 */
    {"message expired, last reply: none", OUTCOME_PERMFAIL, "5.0.0"},
    {"connect to mx: timeout", OUTCOME_TEMPFAIL, "4.0.0"},
    {"", OUTCOME_OK, "2.0.0"},
    {"", OUTCOME_TEMPFAIL, "4.0.0"},
    {NULL, OUTCOME_PERMFAIL, "5.0.0"},
    {"55", OUTCOME_PERMFAIL, "5.0.0"},
    {"5501 5.1.1 four digits", OUTCOME_PERMFAIL, "5.0.0"},
    {"650 6.1.1 no such class", OUTCOME_PERMFAIL, "5.0.0"},
};

/* status_of reads the status back from an outcome text. */
static void test_of(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof of_cases / sizeof of_cases[0]; i++) {
        const struct of_case *tc = &of_cases[i];
        char out[STATUS_MAX];
        memset(out, 'X', sizeof out);
        status_of(tc->text, tc->o, out);
        if (strcmp(out, tc->want) != 0) {
            print_message("status_of(\"%s\", %d): got %s, want %s\n", tc->text ? tc->text : "(null)",
                          tc->o, out, tc->want);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_code),
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_of),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
