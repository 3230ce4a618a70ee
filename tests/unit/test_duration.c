/* test_duration: duration_parse() and duration_to_text(), table-driven. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "proto/duration.h"

struct parse_case {
    const char *in;
    int rc;
    uint64_t ms;
};

static const struct parse_case parse_cases[] = {
    {"250", 0, 250},
    {"0", 0, 0},
    {"250ms", 0, 250},
    {"15s", 0, 15000},
    {"3m", 0, 180000},
    {"2h", 0, 7200000},
    {"3d", 0, 259200000},
    {"007s", 0, 7000},
    {"9007199254740992", 0, UINT64_C(9007199254740992)},   /* 2^53 */
    {"9007199254740993", -1, 0},                           /* 2^53 + 1 */
    {"104249991d", 0, UINT64_C(9007199222400000)}, /* largest whole days <= 2^53 ms */
    {"104249992d", -1, 0},
    {"", -1, 0},
    {"s", -1, 0},
    {"ms", -1, 0},
    {"-1", -1, 0},
    {"+1", -1, 0},
    {"1.5s", -1, 0},
    {" 1s", -1, 0},
    {"1s ", -1, 0},
    {"1 s", -1, 0},
    {"1S", -1, 0},
    {"1sm", -1, 0},
    {"1w", -1, 0},
    {"1mss", -1, 0},
    {"99999999999999999999999999", -1, 0},
    {"000000000000000000000000000000001", -1, 0}, /* 33 bytes */
    {"00000000000000000000000000000001", 0, 1},   /* 32 bytes */
};

/* Each row: rc and value as wanted. */
static void test_parse_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof parse_cases / sizeof parse_cases[0]; i++) {
        const struct parse_case *c = &parse_cases[i];
        uint64_t ms = 12345;
        int rc = duration_parse(c->in, strlen(c->in), &ms);
        if (rc != c->rc)
            fail_msg("%s: got rc %d, want %d", c->in, rc, c->rc);
        if (rc == 0 && ms != c->ms)
            fail_msg("%s: got %llu ms, want %llu", c->in, (unsigned long long)ms,
                     (unsigned long long)c->ms);
        if (rc != 0 && ms != 12345)
            fail_msg("%s: failed parse changed *ms to %llu", c->in, (unsigned long long)ms);
    }
}

/* The length argument bounds the read: no NUL terminator needed. */
static void test_parse_not_terminated(void **state)
{
    (void)state;
    const char buf[] = {'1', '5', 's', 'x'};
    uint64_t ms = 0;
    int rc = duration_parse(buf, 3, &ms);
    if (rc != 0 || ms != 15000)
        fail_msg("got rc %d ms %llu, want 0 and 15000", rc, (unsigned long long)ms);
    if (duration_parse(NULL, 0, &ms) != -1)
        fail_msg("NULL input: got success, want -1");
}

struct text_case {
    uint64_t ms;
    const char *want;
};

static const struct text_case text_cases[] = {
    {0, "0ms"},          {1, "1ms"},       {250, "250ms"},  {1000, "1s"},
    {1500, "1500ms"},    {15000, "15s"},   {60000, "1m"},   {90000, "90s"},
    {180000, "3m"},      {3600000, "1h"},  {5400000, "90m"}, {86400000, "1d"},
    {259200000, "3d"},   {UINT64_C(9007199254740992), "9007199254740992ms"},
};

/* Each row: the shortest exact text, which parses back to the same value. */
static void test_to_text_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof text_cases / sizeof text_cases[0]; i++) {
        char buf[32];
        uint64_t back = 0;
        duration_to_text(text_cases[i].ms, buf, sizeof buf);
        if (strcmp(buf, text_cases[i].want) != 0)
            fail_msg("%llu: got \"%s\", want \"%s\"", (unsigned long long)text_cases[i].ms, buf,
                     text_cases[i].want);
        if (duration_parse(buf, strlen(buf), &back) != 0 || back != text_cases[i].ms)
            fail_msg("\"%s\": round trip got %llu", buf, (unsigned long long)back);
    }
}

/* A short buffer is truncated, still NUL-terminated. */
static void test_to_text_short_buffer(void **state)
{
    (void)state;
    char buf[3];
    duration_to_text(259200000, buf, sizeof buf);
    if (strlen(buf) != 2)
        fail_msg("got \"%s\", want 2 bytes", buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_table),
        cmocka_unit_test(test_parse_not_terminated),
        cmocka_unit_test(test_to_text_table),
        cmocka_unit_test(test_to_text_short_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
