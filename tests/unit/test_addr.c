/* test_addr: table-driven tests of addr_parse_path (strict, sloppy, null, UTF-8, source
 * routes, literals, limits), addr_domain and addr_domain_valid. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/addr.h"

/* Option sets used by the table. */
#define O_STRICT 0
#define O_NULL 1
#define O_SLOPPY 2
#define O_UTF8 4

struct path_case {
    const char *in;
    int opts;
    ssize_t want;    /* bytes consumed, -1 invalid */
    const char *out; /* expected output when valid */
};

static const struct path_case path_cases[] = {
    /* plain strict */
    {"<user@example.com>", O_STRICT, 18, "user@example.com"},
    {"<User.Name@Example.COM>", O_STRICT, 23, "User.Name@example.com"},
    {"<a@b>", O_STRICT, 5, "a@b"},
    {"<a@b> SIZE=10", O_STRICT, 5, "a@b"},
    {"<a@b>trailing", O_STRICT, 5, "a@b"},
    {"<a+tag@sub.example.co.uk>", O_STRICT, 25, "a+tag@sub.example.co.uk"},
    {"<!#$%&'*+-/=?^_`{|}~@x.y>", O_STRICT, 25, "!#$%&'*+-/=?^_`{|}~@x.y"},
    {"<a@x-y.z>", O_STRICT, 9, "a@x-y.z"},
    {"<a@1.2.3.4.5>", O_STRICT, 13, "a@1.2.3.4.5"},
    {"<a@123>", O_STRICT, 7, "a@123"},
    {"<a@xn--bcher-kva.example>", O_STRICT, 25, "a@xn--bcher-kva.example"},
    /* quoted local parts, kept verbatim */
    {"<\"john doe\"@example.com>", O_STRICT, 24, "\"john doe\"@example.com"},
    {"<\"a\\\"b\"@x>", O_STRICT, 10, "\"a\\\"b\"@x"},
    {"<\"a@b\"@X>", O_STRICT, 9, "\"a@b\"@x"},
    {"<\"\"@x>", O_STRICT, 6, "\"\"@x"},
    {"<\"a\\\\\"@x>", O_STRICT, 9, "\"a\\\\\"@x"},
    {"<\"a\tb\"@x>", O_STRICT, -1, NULL},
    {"<\"abc@x>", O_STRICT, -1, NULL},
    {"<\"a\\\x01\"@x>", O_STRICT, -1, NULL},
    {"<\"a\"b@x>", O_STRICT, -1, NULL},
    /* address literals */
    {"<a@[192.0.2.1]>", O_STRICT, 15, "a@[192.0.2.1]"},
    {"<a@[0.0.0.0]>", O_STRICT, 13, "a@[0.0.0.0]"},
    {"<a@[255.255.255.255]>", O_STRICT, 21, "a@[255.255.255.255]"},
    {"<a@[IPv6:2001:DB8::1]>", O_STRICT, 22, "a@[ipv6:2001:db8::1]"},
    {"<a@[ipv6:::1]>", O_STRICT, 14, "a@[ipv6:::1]"},
    {"<a@[IPv6:::ffff:192.0.2.1]>", O_STRICT, 27, "a@[ipv6:::ffff:192.0.2.1]"},
    {"<a@[256.0.0.1]>", O_STRICT, -1, NULL},
    {"<a@[1.2.3]>", O_STRICT, -1, NULL},
    {"<a@[1.2.3.4.5]>", O_STRICT, -1, NULL},
    {"<a@[1.2.3.0004]>", O_STRICT, -1, NULL},
    {"<a@[1..3.4]>", O_STRICT, -1, NULL},
    {"<a@[]>", O_STRICT, -1, NULL},
    {"<a@[1.2.3.4>", O_STRICT, -1, NULL},
    {"<a@[IPv6:1::2::3]>", O_STRICT, -1, NULL},
    {"<a@[IPv6:fe80::1%eth0]>", O_STRICT, -1, NULL},
    {"<a@[IPv6:]>", O_STRICT, -1, NULL},
    {"<a@[IPv4:1.2.3.4]>", O_STRICT, -1, NULL},
    {"<a@[x:foo]>", O_STRICT, -1, NULL},
    {"<a@[1.2.3.4]x>", O_STRICT, -1, NULL},
    /* source routes are dropped */
    {"<@relay.example:user@example.com>", O_STRICT, 33, "user@example.com"},
    {"<@a.b,@c.d:u@e.f>", O_STRICT, 17, "u@e.f"},
    {"<@a:u@b>", O_STRICT, 8, "u@b"},
    {"<@a,u@b>", O_STRICT, -1, NULL},
    {"<@a,:u@b>", O_STRICT, -1, NULL},
    {"<@:u@b>", O_STRICT, -1, NULL},
    {"<@a:>", O_NULL, -1, NULL},
    {"<@a>", O_STRICT, -1, NULL},
    {"<@-a:u@b>", O_STRICT, -1, NULL},
    /* null path */
    {"<>", O_NULL, 2, ""},
    {"<> SIZE=1", O_NULL, 2, ""},
    {"<>", O_STRICT, -1, NULL},
    {"< >", O_NULL, -1, NULL},
    {"< >", O_NULL | O_SLOPPY, 3, ""},
    /* strict-mode failures */
    {"", O_STRICT, -1, NULL},
    {"<", O_STRICT, -1, NULL},
    {"<a@b", O_STRICT, -1, NULL},
    {"a@b", O_STRICT, -1, NULL},
    {" <a@b>", O_STRICT, -1, NULL},
    {"< a@b>", O_STRICT, -1, NULL},
    {"<a@b >", O_STRICT, -1, NULL},
    {"<a>", O_STRICT, -1, NULL},
    {"<@>", O_STRICT, -1, NULL},
    {"<a@>", O_STRICT, -1, NULL},
    {"<@b>", O_STRICT, -1, NULL},
    {"<a@@b>", O_STRICT, -1, NULL},
    {"<a b@c>", O_STRICT, -1, NULL},
    {"<.a@b>", O_STRICT, -1, NULL},
    {"<a.@b>", O_STRICT, -1, NULL},
    {"<a..b@c>", O_STRICT, -1, NULL},
    {"<a@b.>", O_STRICT, -1, NULL},
    {"<a@.b>", O_STRICT, -1, NULL},
    {"<a@b..c>", O_STRICT, -1, NULL},
    {"<a@-b.c>", O_STRICT, -1, NULL},
    {"<a@b-.c>", O_STRICT, -1, NULL},
    {"<a@b_c.d>", O_STRICT, -1, NULL},
    {"<a(b)@c>", O_STRICT, -1, NULL},
    {"<a,b@c>", O_STRICT, -1, NULL},
    {"<a@b>>", O_STRICT, 5, "a@b"},
    {"<<a@b>>", O_STRICT, -1, NULL},
    {"<a@b\r>", O_STRICT, -1, NULL},
    {"<a\x7f@b>", O_STRICT, -1, NULL},
    /* sloppy mode */
    {"a@b", O_SLOPPY, 3, "a@b"},
    {"a@B SIZE=5", O_SLOPPY, 3, "a@b"},
    {"  a@b", O_SLOPPY, 5, "a@b"},
    {" <a@b>", O_SLOPPY, 6, "a@b"},
    {"< a@b >", O_SLOPPY, 7, "a@b"},
    {"<a@b> ", O_SLOPPY, 5, "a@b"},
    {"a@b>", O_SLOPPY, -1, NULL},
    {"a@b,c", O_SLOPPY, -1, NULL},
    {"<a@b", O_SLOPPY, -1, NULL},
    {"", O_SLOPPY, -1, NULL},
    {"   ", O_SLOPPY, -1, NULL},
    {"<>", O_SLOPPY, -1, NULL},
    {"<>", O_SLOPPY | O_NULL, 2, ""},
    {"@a:u@b", O_SLOPPY, 6, "u@b"},
    /* UTF-8 */
    {"<j\xc3\xb6rg@example.com>", O_STRICT, -1, NULL},
    {"<j\xc3\xb6rg@example.com>", O_UTF8, 19, "j\xc3\xb6rg@example.com"},
    {"<a@b\xc3\xbc\x63her.de>", O_UTF8, 14, "a@b\xc3\xbc\x63her.de"},
    {"<a@B\xc3\x9c\x43HER.de>", O_UTF8, 14, "a@b\xc3\x9c\x63her.de"},
    {"<a@b\xc3\xbc\x63her.de>", O_STRICT, -1, NULL},
    {"<\xe2\x82\xac@x>", O_UTF8, 7, "\xe2\x82\xac@x"},
    {"<\xf0\x9f\x98\x80@x>", O_UTF8, 8, "\xf0\x9f\x98\x80@x"},
    {"<\"\xc3\xa9 x\"@x>", O_UTF8, 10, "\"\xc3\xa9 x\"@x"},
    {"<\"\xc3\xa9 x\"@x>", O_STRICT, -1, NULL},
    {"<\xc3@x>", O_UTF8, -1, NULL},          /* truncated sequence */
    {"<\xc0\x80@x>", O_UTF8, -1, NULL},      /* overlong NUL */
    {"<\xed\xa0\x80@x>", O_UTF8, -1, NULL},  /* surrogate */
    {"<\xf4\x90\x80\x80@x>", O_UTF8, -1, NULL}, /* above U+10FFFF */
    {"<\x80@x>", O_UTF8, -1, NULL},          /* lone continuation */
    {"<\xff@x>", O_UTF8, -1, NULL},
    {"<a@[IPv6:\xc3\xa9]>", O_UTF8, -1, NULL},
};

/* Builds the addr_opts of a table option mask. */
static struct addr_opts opts_of(int m)
{
    struct addr_opts o = {.null_ok = (m & O_NULL) != 0, .sloppy = (m & O_SLOPPY) != 0, .utf8 = (m & O_UTF8) != 0};
    return o;
}

struct route_case {
    const char *in;
    ssize_t want;
    const char *out, *route;
};

static const struct route_case route_cases[] = {
    {"<user@example.com>", 18, "user@example.com", ""},
    {"<@Relay.Example:user@example.com>", 33, "user@example.com", "relay.example"},
    {"<@a.b,@c.d:u@e.f>", 17, "u@e.f", "a.b"}, /* the first hop */
    {"<@[192.0.2.1]:u@b>", 18, "u@b", "[192.0.2.1]"},
    {"<@[IPv6:2001:DB8::1]:u@b>", 25, "u@b", "[ipv6:2001:db8::1]"},
    {"<@a,u@b>", -1, "", ""},
    {"<>", -1, "", ""},
};

/* addr_parse_path_route() gives the first host of a source route, lower-cased. */
static void test_path_route(void **state)
{
    (void)state;
    struct addr_opts o = opts_of(O_STRICT);
    for (size_t i = 0; i < sizeof route_cases / sizeof route_cases[0]; i++) {
        const struct route_case *rc = &route_cases[i];
        char out[ADDR_MAX + 1], route[ADDR_MAX + 1];
        memset(route, 'Z', sizeof route);
        ssize_t got = addr_parse_path_route(rc->in, strlen(rc->in), &o, out, route);
        if (got != rc->want || (got >= 0 && strcmp(out, rc->out) != 0) ||
            strcmp(route, rc->route) != 0)
            fail_msg("\"%s\": got %zd \"%s\" route \"%s\", want %zd \"%s\" route \"%s\"", rc->in,
                     got, got >= 0 ? out : "", route, rc->want, rc->out, rc->route);
    }
}

struct unrouted_case {
    const char *addr, *rest, *host;
};

static const struct unrouted_case unrouted_cases[] = {
    {"user@example.com", "user@example.com", ""},
    {"@relay.example:user@example.com", "user@example.com", "relay.example"},
    {"@[192.0.2.1]:u@b", "u@b", "[192.0.2.1]"},
    {"@[ipv6:2001:db8::1]:u@b", "u@b", "[ipv6:2001:db8::1]"},
    {"\"a:b\"@example.com", "\"a:b\"@example.com", ""},
    {"@:u@b", "u@b", ""},       /* an empty host: no route host */
    {"@relay", "@relay", ""},   /* no colon: not routed */
    {"", "", ""},
};

/* addr_unrouted() skips a stored route; addr_route_host() gives its host. */
static void test_unrouted(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof unrouted_cases / sizeof unrouted_cases[0]; i++) {
        const struct unrouted_case *uc = &unrouted_cases[i];
        char host[64] = "";
        size_t n = addr_route_host(uc->addr, host, sizeof host);
        if (strcmp(addr_unrouted(uc->addr), uc->rest) != 0 || strcmp(n ? host : "", uc->host) != 0)
            fail_msg("\"%s\": got \"%s\" host \"%s\", want \"%s\" host \"%s\"", uc->addr,
                     addr_unrouted(uc->addr), n ? host : "", uc->rest, uc->host);
    }
    char tiny[4];
    assert_int_equal(addr_route_host("@relay.example:u@b", tiny, sizeof tiny), 0); /* no fit */
}

static void test_path_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof path_cases / sizeof path_cases[0]; i++) {
        const struct path_case *pc = &path_cases[i];
        struct addr_opts o = opts_of(pc->opts);
        char out[ADDR_MAX + 1];
        memset(out, 'Z', sizeof out);
        ssize_t got = addr_parse_path(pc->in, strlen(pc->in), &o, out);
        if (got != pc->want)
            fail_msg("case %zu \"%s\": got %zd, want %zd (out \"%s\")", i, pc->in, got, pc->want, got >= 0 ? out : "");
        if (got >= 0 && strcmp(out, pc->out) != 0)
            fail_msg("case %zu \"%s\": out got \"%s\", want \"%s\"", i, pc->in, out, pc->out);
        if (got < 0 && out[0] != '\0')
            fail_msg("case %zu \"%s\": out got \"%s\", want \"\" on error", i, pc->in, out);
    }
}

/* The parser never reads past len: every valid case cut short is rejected, and a path
 * followed by bytes outside len is parsed the same. */
static void test_path_respects_len(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof path_cases / sizeof path_cases[0]; i++) {
        const struct path_case *pc = &path_cases[i];
        if (pc->want <= 0 || (pc->opts & O_SLOPPY))
            continue;
        struct addr_opts o = opts_of(pc->opts);
        char out[ADDR_MAX + 1];
        size_t n = (size_t)pc->want;
        char *copy = malloc(n);
        assert_non_null(copy);
        memcpy(copy, pc->in, n); /* no NUL: ASan catches an overread */
        ssize_t got = addr_parse_path(copy, n, &o, out);
        if (got != pc->want)
            fail_msg("case %zu exact: got %zd, want %zd", i, got, pc->want);
        for (size_t k = 0; k < n; k++) {
            got = addr_parse_path(copy, k, &o, out);
            if (got != -1)
                fail_msg("case %zu prefix %zu: got %zd, want -1", i, k, got);
        }
        free(copy);
    }
}

/* Builds "<" + local + "@" + domain + ">" with the given part lengths. */
static char *make_path(size_t local, const char *label, size_t nlabels, const char *tail)
{
    size_t ll = strlen(label), tl = strlen(tail);
    char *b = malloc(local + nlabels * (ll + 1) + tl + 4);
    assert_non_null(b);
    size_t n = 0;
    b[n++] = '<';
    memset(b + n, 'l', local);
    n += local;
    b[n++] = '@';
    for (size_t i = 0; i < nlabels; i++) {
        memcpy(b + n, label, ll);
        n += ll;
        b[n++] = '.';
    }
    memcpy(b + n, tail, tl);
    n += tl;
    b[n++] = '>';
    b[n] = '\0';
    return b;
}

struct limit_case {
    size_t local;
    const char *label;
    size_t nlabels;
    const char *tail;
    bool ok;
};

#define L63 "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabc"

static const struct limit_case limit_cases[] = {
    {64, "x", 0, "com", true},
    {65, "x", 0, "com", false},
    {1, "x", 0, L63, true},                 /* 63-octet label */
    {1, "x", 0, L63 "d", false},            /* 64-octet label */
    {1, "abc", 60, "com", true},            /* domain 243, mailbox 245 */
    {1, "abc", 62, "com", true},            /* domain 251, mailbox 253 */
    {1, "abc", 63, "c", true},              /* domain 253, mailbox 255 */
    {2, "abc", 63, "c", true},              /* mailbox 256 = ADDR_MAX */
    {3, "abc", 63, "c", false},             /* mailbox 257 */
    {64, "abc", 47, "com", true},           /* 64 + 1 + 191 = 256 */
    {64, "abc", 48, "c", false},            /* 64 + 1 + 193 */
    {1, "abc", 64, "com", false},           /* domain 259 */
};

static void test_path_limits(void **state)
{
    (void)state;
    struct addr_opts o = opts_of(O_STRICT);
    for (size_t i = 0; i < sizeof limit_cases / sizeof limit_cases[0]; i++) {
        const struct limit_case *lc = &limit_cases[i];
        char *p = make_path(lc->local, lc->label, lc->nlabels, lc->tail);
        char out[ADDR_MAX + 1];
        ssize_t got = addr_parse_path(p, strlen(p), &o, out);
        ssize_t want = lc->ok ? (ssize_t)strlen(p) : -1;
        if (got != want)
            fail_msg("limit case %zu (len %zu): got %zd, want %zd", i, strlen(p), got, want);
        if (got > 0 && strlen(out) != strlen(p) - 2)
            fail_msg("limit case %zu: out length got %zu, want %zu", i, strlen(out), strlen(p) - 2);
        free(p);
    }
}

struct domain_case {
    const char *in;
    const char *want;
};

static const struct domain_case domain_cases[] = {
    {"a@b.c", "b.c"},
    {"\"x@y\"@z", "z"},
    {"nodomain", ""},
    {"", ""},
    {"a@", ""},
    {"a@[1.2.3.4]", "[1.2.3.4]"},
};

static void test_domain(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof domain_cases / sizeof domain_cases[0]; i++) {
        const char *got = addr_domain(domain_cases[i].in);
        if (strcmp(got, domain_cases[i].want) != 0)
            fail_msg("case %zu \"%s\": got \"%s\", want \"%s\"", i, domain_cases[i].in, got, domain_cases[i].want);
    }
}

struct valid_case {
    const char *in;
    bool want;
};

static const struct valid_case valid_cases[] = {
    {"example.com", true},
    {"EXAMPLE.COM", true},
    {"a", true},
    {"a-b.c-d", true},
    {"1.2.3.4", true},
    {"xn--bcher-kva.example", true},
    {L63 ".com", true},
    {"", false},
    {".", false},
    {"a.", false},
    {".a", false},
    {"a..b", false},
    {"-a.b", false},
    {"a-.b", false},
    {"a_b.c", false},
    {"a b", false},
    {"[1.2.3.4]", false},
    {"b\xc3\xbc\x63her.de", false},
    {L63 "d.com", false},
    {"a.b\n", false},
};

static void test_domain_valid(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof valid_cases / sizeof valid_cases[0]; i++) {
        bool got = addr_domain_valid(valid_cases[i].in, strlen(valid_cases[i].in));
        if (got != valid_cases[i].want)
            fail_msg("case %zu \"%s\": got %d, want %d", i, valid_cases[i].in, got, valid_cases[i].want);
    }
    /* 255 octets valid, 256 not (labels of 9 octets, so only the total matters) */
    char d[300];
    memset(d, 'a', sizeof d);
    for (size_t i = 9; i < sizeof d; i += 10)
        d[i] = '.';
    assert_true(addr_domain_valid(d, 255));
    assert_false(addr_domain_valid(d, 256));
    /* len bounds the scan: a valid prefix of a longer string */
    assert_true(addr_domain_valid("ab.cd!!", 5));
    assert_false(addr_domain_valid("ab.cd!!", 6));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path_table),
        cmocka_unit_test(test_path_route),
        cmocka_unit_test(test_unrouted),
        cmocka_unit_test(test_path_respects_len),
        cmocka_unit_test(test_path_limits),
        cmocka_unit_test(test_domain),
        cmocka_unit_test(test_domain_valid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
