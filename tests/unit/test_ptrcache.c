/* test_ptrcache: the reverse-lookup cache (dns/ptrcache.h): a kept answer is found until its
 * lifetime (the TTL, at most PTRCACHE_TTL_MAX_S) ends, a negative answer reads back as "",
 * TTL 0 keeps nothing, IPv4 and IPv6 keys do not meet, a colliding address takes the slot,
 * and a name too long or a buffer too small is never copied short. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dns/ptrcache.h"

static const uint8_t v4a[4] = {127, 0, 0, 1}, v4b[4] = {10, 0, 0, 1};
static const uint8_t v6a[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};

struct row {
    const char *what;
    const uint8_t *addr;
    size_t len;
    int64_t at_ms;
    int want;          /* ptrcache_get() */
    const char *name;  /* when found */
};

/* Lifetimes: a name with TTL 30 s at t=0, a negative answer with TTL 300 s (kept 60 s). */
static void test_lifetimes(void **state)
{
    (void)state;
    struct ptrcache *c = calloc(1, sizeof *c);
    ptrcache_put(c, v4a, 4, "loop.ok.test", 30, 0);
    ptrcache_put(c, v6a, 16, NULL, 300, 0);
    ptrcache_put(c, v4b, 4, "zero.ttl.test", 0, 0);
    static const struct row rows[] = {
        {"name, fresh", v4a, 4, 29999, 1, "loop.ok.test"},
        {"name, expired at its TTL", v4a, 4, 30000, 0, NULL},
        {"negative, fresh", v6a, 16, 59999, 1, ""},
        {"negative, TTL capped at a minute", v6a, 16, 60000, 0, NULL},
        {"TTL 0 keeps nothing", v4b, 4, 0, 0, NULL},
        {"same bytes, other length", v6a, 4, 0, 0, NULL},
        {"empty key", v4a, 0, 0, 0, NULL},
        {"key too long", v6a, 17, 0, 0, NULL},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char name[PTRCACHE_NAME_MAX + 1] = "untouched";
        int got = ptrcache_get(c, rows[i].addr, rows[i].len, rows[i].at_ms, name, sizeof name);
        if (got != rows[i].want || (got && strcmp(name, rows[i].name) != 0))
            fail_msg("%s: got %d (%s), want %d (%s)", rows[i].what, got, name, rows[i].want,
                     rows[i].name ? rows[i].name : "-");
    }
    free(c);
}

/* Collisions and sizes: the slot goes to the last address put; long names are not kept;
 * a short buffer gets nothing rather than a cut name. */
static void test_slots_and_sizes(void **state)
{
    (void)state;
    struct ptrcache *c = calloc(1, sizeof *c);
    uint8_t a[4] = {192, 0, 2, 0};
    char name[PTRCACHE_NAME_MAX + 1];
    for (int i = 0; i < 2 * PTRCACHE_SLOTS; i++) { /* twice the slots: at least one collision */
        a[3] = (uint8_t)i;
        a[2] = (uint8_t)(i >> 8);
        ptrcache_put(c, a, 4, "h.test", 60, 0);
    }
    int found = 0;
    for (int i = 0; i < 2 * PTRCACHE_SLOTS; i++) {
        a[3] = (uint8_t)i;
        a[2] = (uint8_t)(i >> 8);
        found += ptrcache_get(c, a, 4, 1, name, sizeof name);
    }
    if (found > PTRCACHE_SLOTS || found == 0)
        fail_msg("after %d puts: got %d found, want 1..%d", 2 * PTRCACHE_SLOTS, found,
                 PTRCACHE_SLOTS);
    char longname[PTRCACHE_NAME_MAX + 2];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    ptrcache_put(c, v4a, 4, longname, 60, 0);
    assert_int_equal(ptrcache_get(c, v4a, 4, 1, name, sizeof name), 0);
    ptrcache_put(c, v4a, 4, "loop.ok.test", 60, 0);
    char small[5];
    assert_int_equal(ptrcache_get(c, v4a, 4, 1, small, sizeof small), 0);
    assert_int_equal(ptrcache_get(c, v4a, 4, 1, name, sizeof name), 1);
    assert_string_equal(name, "loop.ok.test");
    free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lifetimes),
        cmocka_unit_test(test_slots_and_sizes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
