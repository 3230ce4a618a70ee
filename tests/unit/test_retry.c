/* Unit tests: the ZMailer retry schedule and expiry (sched/retry.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sched/retry.h"

static const unsigned fib[] = {1, 1, 2, 3, 5, 8, 13, 21, 34};

/* n-th failure waits retries[n-1] * interval; skew 1 aligns from the first failure. */
static void test_schedule_table(void **state)
{
    (void)state;
    struct { uint32_t attempts; unsigned skew; int64_t now; int64_t want; } cases[] = {
        {1, 100, 0, 60000},          /* no alignment */
        {2, 100, 0, 60000},
        {3, 100, 0, 120000},
        {9, 100, 1000, 1000 + 34 * 60000},
        {1, 1, 1000, 120000},        /* 61000 rounded up to the next minute */
        {1, 0, 60000, 120000},       /* already on a boundary */
        {2, 3, 500, 60500},          /* fewer attempts than skew: exact */
        {3, 3, 500, 180000},         /* 120500 -> 180000 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t got = retry_next(fib, 9, 60000, cases[i].skew, cases[i].attempts, cases[i].now, 0);
        if (got != cases[i].want)
            fail_msg("case %zu: got %lld, want %lld", i, (long long)got, (long long)cases[i].want);
    }
}

/* Past the end of the list the index restarts somewhere in the second half. */
static void test_restart_in_middle(void **state)
{
    (void)state;
    int seen[9] = {0};
    for (uint32_t rnd = 0; rnd < 100; rnd++) {
        int64_t got = retry_next(fib, 9, 1000, 100, 10 + rnd % 7, 0, rnd);
        int found = -1;
        for (int k = 4; k < 9; k++)
            if (got == (int64_t)fib[k] * 1000)
                found = k;
        assert_true(found >= 4);
        seen[found] = 1;
    }
    for (int k = 4; k < 9; k++)
        assert_int_equal(seen[k], 1);
}

/* A one-element list repeats itself. */
static void test_single_retry(void **state)
{
    (void)state;
    const unsigned one[] = {1};
    for (uint32_t a = 1; a < 10; a++)
        assert_int_equal(retry_next(one, 1, 1000, 100, a, 5, a * 7), 1005);
}

/* Expiry is inclusive at exactly the limit. */
static void test_expired(void **state)
{
    (void)state;
    assert_false(retry_expired(1000, 5000, 5999));
    assert_true(retry_expired(1000, 5000, 6000));
    assert_true(retry_expired(1000, 0, 1000));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schedule_table),
        cmocka_unit_test(test_restart_in_middle),
        cmocka_unit_test(test_single_retry),
        cmocka_unit_test(test_expired),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
