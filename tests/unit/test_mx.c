/* Unit tests for dns/mx.c: mx_order (sorting, fair shuffling of equal preferences with a
 * seeded source), mx_key (canonical regardless of input order, exact buffer limits) and
 * mx_rdata_parse (valid and malformed rdata). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dns/mx.h"

/* xorshift32: a seeded, reproducible uniform source. */
static uint32_t test_rnd(void *arg)
{
    uint32_t *s = arg;
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

/* A source that must never be consulted. */
static uint32_t test_rnd_forbidden(void *arg)
{
    (void)arg;
    fail_msg("rnd called, want no call");
    return 0;
}

/* Fills hosts from parallel arrays of names and preferences. */
static void test_fill(struct mx_host *h, size_t n, const char *const *names, const uint16_t *prefs)
{
    memset(h, 0, n * sizeof *h);
    for (size_t i = 0; i < n; i++) {
        h[i].name = (char *)names[i];
        h[i].pref = prefs[i];
    }
}

/* Sorted preferences, and every input host still present exactly once. */
static void test_order_table(void **state)
{
    (void)state;
    static const struct {
        size_t n;
        uint16_t prefs[6];
        uint16_t want[6];
    } cases[] = {
        {1, {7}, {7}},
        {2, {20, 10}, {10, 20}},
        {3, {30, 10, 20}, {10, 20, 30}},
        {4, {10, 0, 65535, 10}, {0, 10, 10, 65535}},
        {6, {5, 4, 3, 2, 1, 0}, {0, 1, 2, 3, 4, 5}},
        {5, {1, 1, 1, 1, 1}, {1, 1, 1, 1, 1}},
    };
    static const char *const names[] = {"a", "b", "c", "d", "e", "f"};
    uint32_t seed = 12345;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        struct mx_host h[6];
        test_fill(h, cases[c].n, names, cases[c].prefs);
        mx_order(h, cases[c].n, test_rnd, &seed);
        unsigned seen = 0;
        for (size_t i = 0; i < cases[c].n; i++) {
            if (h[i].pref != cases[c].want[i])
                fail_msg("case %zu pos %zu: got pref %u, want %u", c, i, h[i].pref,
                         cases[c].want[i]);
            seen |= 1u << (h[i].name[0] - 'a');
        }
        if (seen != (1u << cases[c].n) - 1)
            fail_msg("case %zu: got host mask %#x, want every host once", c, seen);
    }
}

/* Zero or one host: nothing to sort, no random draw. */
static void test_order_trivial(void **state)
{
    (void)state;
    struct mx_host h = {.name = (char *)"a", .pref = 3};
    mx_order(NULL, 0, test_rnd_forbidden, NULL);
    mx_order(&h, 1, test_rnd_forbidden, NULL);
    assert_string_equal(h.name, "a");
    /* distinct preferences never need a draw either */
    static const char *const names[] = {"a", "b", "c"};
    static const uint16_t prefs[] = {3, 1, 2};
    struct mx_host hs[3];
    test_fill(hs, 3, names, prefs);
    mx_order(hs, 3, test_rnd_forbidden, NULL);
    assert_string_equal(hs[0].name, "b");
    assert_string_equal(hs[2].name, "a");
}

/* Index of the permutation of "abc" spelt by three hosts' first letters. */
static int test_perm_index(const struct mx_host *h)
{
    static const char *const perms[] = {"abc", "acb", "bac", "bca", "cab", "cba"};
    char s[4] = {h[0].name[0], h[1].name[0], h[2].name[0], 0};
    for (int i = 0; i < 6; i++)
        if (strcmp(s, perms[i]) == 0)
            return i;
    return -1;
}

/* Equal preferences are shuffled: all 6 orders of 3 equal hosts appear, roughly evenly,
 * while the lower and higher preference hosts stay first and last. */
static void test_order_equal_shuffled(void **state)
{
    (void)state;
    static const char *const names[] = {"z", "a", "b", "x", "c"};
    static const uint16_t prefs[] = {20, 10, 10, 5, 10};
    enum { RUNS = 6000 };
    unsigned count[6] = {0};
    uint32_t seed = 0x9e3779b9u;
    for (int run = 0; run < RUNS; run++) {
        struct mx_host h[5];
        test_fill(h, 5, names, prefs);
        mx_order(h, 5, test_rnd, &seed);
        if (strcmp(h[0].name, "x") != 0 || strcmp(h[4].name, "z") != 0)
            fail_msg("run %d: got first %s last %s, want x and z", run, h[0].name, h[4].name);
        int p = test_perm_index(h + 1);
        if (p < 0)
            fail_msg("run %d: got %s %s %s, want a permutation of a b c", run, h[1].name, h[2].name,
                     h[3].name);
        count[p]++;
    }
    for (int i = 0; i < 6; i++)
        if (count[i] < RUNS / 6 * 8 / 10 || count[i] > RUNS / 6 * 12 / 10)
            fail_msg("permutation %d: got %u of %d runs, want about %d", i, count[i], RUNS,
                     RUNS / 6);
}

/* The key is the same whatever the input order, and sorted by (pref, name). */
static void test_key_canonical(void **state)
{
    (void)state;
    static const char *const n1[] = {"c.example", "b.example", "a.example", "d.example"};
    static const uint16_t p1[] = {20, 10, 10, 5};
    static const char *const n2[] = {"a.example", "d.example", "c.example", "b.example"};
    static const uint16_t p2[] = {10, 5, 20, 10};
    const char *want = "mx:5:d.example,10:a.example,10:b.example,20:c.example";
    struct mx_host h1[4], h2[4];
    char k1[128], k2[128];
    test_fill(h1, 4, n1, p1);
    test_fill(h2, 4, n2, p2);
    assert_int_equal(mx_key(h1, 4, k1, sizeof k1), (int)strlen(want));
    assert_int_equal(mx_key(h2, 4, k2, sizeof k2), (int)strlen(want));
    assert_string_equal(k1, want);
    assert_string_equal(k2, want);
    /* the input array is left as it was */
    assert_string_equal(h1[0].name, "c.example");
    /* preference is numeric, not textual: 5 sorts before 10 */
    char k3[64];
    static const char *const n3[] = {"b", "a"};
    static const uint16_t p3[] = {10, 9};
    struct mx_host h3[2];
    test_fill(h3, 2, n3, p3);
    assert_int_equal(mx_key(h3, 2, k3, sizeof k3), 11);
    assert_string_equal(k3, "mx:9:a,10:b");
}

/* Buffer limits: exact fit works, one byte less is -1; the empty set is "mx:". */
static void test_key_limits(void **state)
{
    (void)state;
    static const char *const n[] = {"mx.example"};
    static const uint16_t p[] = {10};
    struct mx_host h[1];
    test_fill(h, 1, n, p);
    char buf[64];
    const char *want = "mx:10:mx.example";
    size_t len = strlen(want);
    assert_int_equal(mx_key(h, 1, buf, len + 1), (int)len);
    assert_string_equal(buf, want);
    assert_int_equal(mx_key(h, 1, buf, len), -1);
    assert_int_equal(mx_key(h, 1, buf, 3), -1);
    assert_int_equal(mx_key(h, 1, buf, 0), -1);
    assert_int_equal(mx_key(NULL, 0, buf, sizeof buf), 3);
    assert_string_equal(buf, "mx:");
    assert_int_equal(mx_key(NULL, 0, buf, 3), -1);
}

/* One rdata case: bytes, whether it parses, and the expected result. */
struct rd_case {
    const char *what;
    const char *rd;
    size_t len;
    int rc;
    uint16_t pref;
    const char *name;
};

#define RD(what, lit, rc, pref, name)                                                              \
    {                                                                                              \
        what, lit, sizeof(lit) - 1, rc, pref, name                                                 \
    }

/* Valid and malformed MX rdata. */
static void test_rdata_table(void **state)
{
    (void)state;
    static const struct rd_case cases[] = {
        RD("plain",
           "\x00\x0a\x03mx1\x07"
           "example\x03"
           "com\x00",
           0, 10, "mx1.example.com"),
        RD("upper case", "\x00\x14\x02MX\x02Ok\x00", 0, 20, "mx.ok"),
        RD("null mx", "\x00\x00\x00", 0, 0, "."),
        RD("max pref",
           "\xff\xff\x01"
           "a\x00",
           0, 65535, "a"),
        RD("ldh and underscore",
           "\x01\x00\x05"
           "a-_9Z\x00",
           0, 256, "a-_9z"),
        RD("empty", "", -1, 0, NULL),
        RD("pref only", "\x00\x0a", -1, 0, NULL),
        RD("one pref byte", "\x00", -1, 0, NULL),
        RD("no root label", "\x00\x0a\x03mx1", -1, 0, NULL),
        RD("label past end", "\x00\x0a\x05mx1\x00", -1, 0, NULL),
        RD("trailing byte",
           "\x00\x0a\x01"
           "a\x00\x00",
           -1, 0, NULL),
        RD("trailing after root", "\x00\x00\x00x", -1, 0, NULL),
        RD("compression pointer", "\x00\x0a\xc0\x0c", -1, 0, NULL),
        RD("pointer after label",
           "\x00\x0a\x01"
           "a\xc0\x0c",
           -1, 0, NULL),
        RD("extended label 0x40",
           "\x00\x0a\x41"
           "a\x00",
           -1, 0, NULL),
        RD("space in label",
           "\x00\x0a\x03"
           "a b\x00",
           -1, 0, NULL),
        RD("dot in label",
           "\x00\x0a\x03"
           "a.b\x00",
           -1, 0, NULL),
        RD("nul in label",
           "\x00\x0a\x03"
           "a\x00"
           "b\x00",
           -1, 0, NULL),
        RD("high byte",
           "\x00\x0a\x02"
           "a\xff\x00",
           -1, 0, NULL),
        RD("backslash",
           "\x00\x0a\x02"
           "a\\\x00",
           -1, 0, NULL),
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint16_t pref = 7777;
        char name[MX_NAME_MAX + 1];
        int rc =
            mx_rdata_parse((const uint8_t *)cases[i].rd, cases[i].len, &pref, name, sizeof name);
        if (rc != cases[i].rc)
            fail_msg("%s: got rc %d, want %d", cases[i].what, rc, cases[i].rc);
        if (rc == 0 && (pref != cases[i].pref || strcmp(name, cases[i].name) != 0))
            fail_msg("%s: got %u %s, want %u %s", cases[i].what, pref, name, cases[i].pref,
                     cases[i].name);
    }
}

/* Builds rdata with nlabels labels of size lsize each; returns its length. */
static size_t test_build_long(uint8_t *rd, int nlabels, int lsize)
{
    size_t p = 0;
    rd[p++] = 0;
    rd[p++] = 10;
    for (int l = 0; l < nlabels; l++) {
        rd[p++] = (uint8_t)lsize;
        memset(rd + p, 'a' + l % 26, (size_t)lsize);
        p += (size_t)lsize;
    }
    rd[p++] = 0;
    return p;
}

/* Length limits: a 63-byte label is fine, 64 is not; 255 wire octets (253 characters)
 * is fine, 257 is not; the output buffer must fit the name and its NUL. */
static void test_rdata_limits(void **state)
{
    (void)state;
    uint8_t rd[600];
    char name[MX_NAME_MAX + 1];
    uint16_t pref;
    size_t len = test_build_long(rd, 1, 63);
    assert_int_equal(mx_rdata_parse(rd, len, &pref, name, sizeof name), 0);
    assert_int_equal(strlen(name), 63);
    len = test_build_long(rd, 1, 64);
    assert_int_equal(mx_rdata_parse(rd, len, &pref, name, sizeof name), -1);
    /* 3 labels of 63 + 1 of 61: 4 + 189 + 61 + 1 = 255 wire octets, 253 characters */
    len = test_build_long(rd, 3, 63);
    rd[len - 1] = 61;
    memset(rd + len, 'z', 61);
    len += 61;
    rd[len++] = 0;
    assert_int_equal(mx_rdata_parse(rd, len, &pref, name, sizeof name), 0);
    assert_int_equal(strlen(name), MX_NAME_MAX);
    assert_int_equal(mx_rdata_parse(rd, len, &pref, name, MX_NAME_MAX), -1);
    /* 4 labels of 63: 257 wire octets */
    len = test_build_long(rd, 4, 63);
    assert_int_equal(mx_rdata_parse(rd, len, &pref, name, sizeof name), -1);
    /* many short labels past 255 octets */
    len = test_build_long(rd, 130, 1);
    assert_int_equal(mx_rdata_parse(rd, len, &pref, name, sizeof name), -1);
    /* output exactly fits "ab.c" + NUL, one less fails */
    static const uint8_t small[] = {0, 1, 2, 'a', 'b', 1, 'c', 0};
    assert_int_equal(mx_rdata_parse(small, sizeof small, &pref, name, 5), 0);
    assert_string_equal(name, "ab.c");
    assert_int_equal(mx_rdata_parse(small, sizeof small, &pref, name, 4), -1);
    assert_int_equal(mx_rdata_parse(small, sizeof small, &pref, NULL, 5), -1);
    assert_int_equal(mx_rdata_parse(NULL, 0, &pref, name, sizeof name), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_table),          cmocka_unit_test(test_order_trivial),
        cmocka_unit_test(test_order_equal_shuffled), cmocka_unit_test(test_key_canonical),
        cmocka_unit_test(test_key_limits),           cmocka_unit_test(test_rdata_table),
        cmocka_unit_test(test_rdata_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
