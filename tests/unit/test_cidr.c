/* test_cidr: cidr_parse(), cidr_match(), cidr_sockaddr_parse/_to_text(), table-driven. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "proto/cidr.h"

struct parse_case {
    const char *in;
    int rc;
    const char *canon; /* network address as text, then "/prefix" */
};

static const struct parse_case parse_cases[] = {
    {"127.0.0.0/8", 0, "127.0.0.0/8"},
    {"10.1.2.3", 0, "10.1.2.3/32"},
    {"192.168/16", 0, "192.168.0.0/16"},
    {"10/8", 0, "10.0.0.0/8"},
    {"172.16.5/20", 0, "172.16.0.0/20"},
    {"192.168.1.77/24", 0, "192.168.1.0/24"}, /* host bits ignored */
    {"0.0.0.0/0", 0, "0.0.0.0/0"},
    {"1.2.3.4/32", 0, "1.2.3.4/32"},
    {"255.255.255.255/31", 0, "255.255.255.254/31"},
    {"::1/128", 0, "::1/128"},
    {"::1", 0, "::1/128"},
    {"2001:db8::/32", 0, "2001:db8::/32"},
    {"2001:db8:ffff::1/33", 0, "2001:db8:8000::/33"},
    {"::/0", 0, "::/0"},
    {"::ffff:10.0.0.1/104", 0, "::ffff:10.0.0.0/104"},
    {"192.168", -1, NULL}, /* abbreviated needs a prefix */
    {"10", -1, NULL},
    {"1.2.3.4/33", -1, NULL},
    {"1.2.3.4/", -1, NULL},
    {"1.2.3.4/-1", -1, NULL},
    {"1.2.3.4/08", -1, NULL},
    {"01.2.3.4", -1, NULL},
    {"256.1.1.1", -1, NULL},
    {"1.2.3.4.5", -1, NULL},
    {"1..2.3", -1, NULL},
    {"1.2.3.", -1, NULL},
    {".1.2.3", -1, NULL},
    {"1.2.3.4/8/8", -1, NULL},
    {"::1/129", -1, NULL},
    {"::g", -1, NULL},
    {"1:2:3:4:5:6:7:8:9", -1, NULL},
    {"", -1, NULL},
    {"/8", -1, NULL},
    {"host.example", -1, NULL},
    {" 1.2.3.4", -1, NULL},
    {"1.2.3.4 ", -1, NULL},
    {"0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0001", -1, NULL}, /* > 64 */
};

/* Formats a parsed block for comparison. */
static void cidr_text(const struct cidr *c, char *buf, size_t len)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (c->family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
        sin->sin_family = AF_INET;
        memcpy(&sin->sin_addr, c->addr, 4);
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
        sin6->sin6_family = AF_INET6;
        memcpy(&sin6->sin6_addr, c->addr, 16);
    }
    char a[64];
    snprintf(buf, len, "%s/%u", cidr_sockaddr_to_text((struct sockaddr *)&ss, a, sizeof a),
             c->prefix);
}

/* Each row: rc and canonical block as wanted. */
static void test_parse_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof parse_cases / sizeof parse_cases[0]; i++) {
        const struct parse_case *pc = &parse_cases[i];
        struct cidr c;
        char got[96];
        int rc = cidr_parse(pc->in, strlen(pc->in), &c);
        if (rc != pc->rc)
            fail_msg("\"%s\": got rc %d, want %d", pc->in, rc, pc->rc);
        if (rc != 0)
            continue;
        cidr_text(&c, got, sizeof got);
        if (strcmp(got, pc->canon) != 0)
            fail_msg("\"%s\": got %s, want %s", pc->in, got, pc->canon);
    }
}

/* The length bounds the read. */
static void test_parse_length(void **state)
{
    (void)state;
    struct cidr c;
    if (cidr_parse("10.0.0.0/8junk", 10, &c) != 0 || c.prefix != 8)
        fail_msg("got failure, want 10.0.0.0/8 from the first 10 bytes");
    if (cidr_parse("1.2.3.4\0/8", 10, &c) != -1)
        fail_msg("embedded NUL: got success, want -1");
    if (cidr_parse("::1\0/8", 6, &c) != -1)
        fail_msg("embedded NUL in v6: got success, want -1");
}

struct match_case {
    const char *block;
    const char *ip;
    bool want;
};

static const struct match_case match_cases[] = {
    {"127.0.0.0/8", "127.0.0.1", true},
    {"127.0.0.0/8", "128.0.0.1", false},
    {"192.168/16", "192.168.200.3", true},
    {"192.168/16", "192.169.0.1", false},
    {"10.0.0.0/9", "10.127.255.255", true},
    {"10.0.0.0/9", "10.128.0.0", false},
    {"0.0.0.0/0", "203.0.113.9", true},
    {"0.0.0.0/0", "::1", false},
    {"127.0.0.0/8", "::ffff:127.0.0.1", true}, /* v4-mapped v6 matches v4 blocks */
    {"127.0.0.0/8", "::127.0.0.1", false},
    {"::1/128", "::1", true},
    {"::1/128", "::2", false},
    {"::1/128", "127.0.0.1", false},
    {"2001:db8::/32", "2001:db8:1::5", true},
    {"2001:db8::/32", "2001:db9::5", false},
    {"::ffff:0:0/96", "10.1.1.1", true}, /* v4 compared in its mapped form */
    {"1.2.3.4", "1.2.3.4", true},
    {"1.2.3.4", "1.2.3.5", false},
};

/* Each row: match result as wanted. */
static void test_match_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof match_cases / sizeof match_cases[0]; i++) {
        const struct match_case *mc = &match_cases[i];
        struct cidr c;
        struct sockaddr_storage ss;
        socklen_t len;
        if (cidr_parse(mc->block, strlen(mc->block), &c) != 0)
            fail_msg("%s: does not parse", mc->block);
        if (cidr_sockaddr_parse(mc->ip, 25, &ss, &len) != 0)
            fail_msg("%s: does not parse", mc->ip);
        bool got = cidr_match(&c, (struct sockaddr *)&ss);
        if (got != mc->want)
            fail_msg("%s in %s: got %d, want %d", mc->ip, mc->block, got, mc->want);
    }
}

/* match_any over a list; NULL and unknown families never match. */
static void test_match_any(void **state)
{
    (void)state;
    struct cidr list[2];
    struct sockaddr_storage ss;
    assert_int_equal(cidr_parse("10/8", 4, &list[0]), 0);
    assert_int_equal(cidr_parse("::1", 3, &list[1]), 0);
    assert_int_equal(cidr_sockaddr_parse("::1", 0, &ss, NULL), 0);
    if (!cidr_match_any(list, 2, (struct sockaddr *)&ss))
        fail_msg("::1 in {10/8, ::1}: got false, want true");
    if (cidr_match_any(list, 1, (struct sockaddr *)&ss))
        fail_msg("::1 in {10/8}: got true, want false");
    if (cidr_match_any(list, 2, NULL))
        fail_msg("NULL address: got true, want false");
    ss.ss_family = AF_UNIX;
    if (cidr_match(&list[0], (struct sockaddr *)&ss))
        fail_msg("AF_UNIX: got true, want false");
}

struct sa_case {
    const char *ip;
    int rc;
    int family;
    const char *text;
};

static const struct sa_case sa_cases[] = {
    {"1.2.3.4", 0, AF_INET, "1.2.3.4"},
    {"::1", 0, AF_INET6, "::1"},
    {"2001:DB8::1", 0, AF_INET6, "2001:db8::1"},
    {"1.2.3", -1, 0, NULL},
    {"[::1]", -1, 0, NULL},
    {"localhost", -1, 0, NULL},
    {"", -1, 0, NULL},
};

/* Each row: sockaddr family, port and text as wanted. */
static void test_sockaddr_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof sa_cases / sizeof sa_cases[0]; i++) {
        const struct sa_case *sc = &sa_cases[i];
        struct sockaddr_storage ss;
        socklen_t len = 0;
        char buf[64];
        int rc = cidr_sockaddr_parse(sc->ip, 2525, &ss, &len);
        if (rc != sc->rc)
            fail_msg("%s: got rc %d, want %d", sc->ip, rc, sc->rc);
        if (rc != 0)
            continue;
        if (ss.ss_family != sc->family)
            fail_msg("%s: got family %d, want %d", sc->ip, ss.ss_family, sc->family);
        uint16_t port = ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                                : ((struct sockaddr_in6 *)&ss)->sin6_port;
        if (ntohs(port) != 2525 || len == 0)
            fail_msg("%s: got port %u len %u, want 2525", sc->ip, ntohs(port), (unsigned)len);
        cidr_sockaddr_to_text((struct sockaddr *)&ss, buf, sizeof buf);
        if (strcmp(buf, sc->text) != 0)
            fail_msg("%s: got text %s, want %s", sc->ip, buf, sc->text);
    }
}

/* Unknown family, NULL and a too short buffer give "?" (or a truncated "?"). */
static void test_to_text_failure(void **state)
{
    (void)state;
    struct sockaddr_storage ss;
    char buf[8];
    memset(&ss, 0, sizeof ss);
    ss.ss_family = AF_UNIX;
    if (strcmp(cidr_sockaddr_to_text((struct sockaddr *)&ss, buf, sizeof buf), "?") != 0)
        fail_msg("AF_UNIX: got %s, want ?", buf);
    if (strcmp(cidr_sockaddr_to_text(NULL, buf, sizeof buf), "?") != 0)
        fail_msg("NULL: got %s, want ?", buf);
    assert_int_equal(cidr_sockaddr_parse("2001:db8::1", 0, &ss, NULL), 0);
    if (strcmp(cidr_sockaddr_to_text((struct sockaddr *)&ss, buf, 4), "?") != 0)
        fail_msg("short buffer: got %s, want ?", buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_table),    cmocka_unit_test(test_parse_length),
        cmocka_unit_test(test_match_table),    cmocka_unit_test(test_match_any),
        cmocka_unit_test(test_sockaddr_table), cmocka_unit_test(test_to_text_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
