/* test_nexthop: nexthop_parse() over every form of a transport map next hop and bad input,
 * table-driven ("got X, want Y"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "proto/nexthop.h"

struct nh_case {
    const char *in;
    int rc;
    enum nexthop_kind kind;
    const char *host; /* host, path, or error text */
    unsigned port;
    int literal;
};

#define BAD(s) {s, -1, 0, NULL, 0, 0}

static const struct nh_case cases[] = {
    {"local", 0, NEXTHOP_LOCAL, NULL, 0, 0},
    {"hold", 0, NEXTHOP_HOLD, NULL, 0, 0},
    {"error:gone", 0, NEXTHOP_ERROR, "gone", 0, 0},
    {"error:5.1.1 user gone", 0, NEXTHOP_ERROR, "5.1.1 user gone", 0, 0},
    {"error:4.3.0 later", 0, NEXTHOP_ERROR, "4.3.0 later", 0, 0},
    {"lmtp:unix:/run/dovecot/lmtp", 0, NEXTHOP_LMTP_UNIX, "/run/dovecot/lmtp", 0, 0},
    {"lmtp:inet:127.0.0.1:24", 0, NEXTHOP_LMTP_INET, "127.0.0.1", 24, 0},
    {"lmtp:inet:mailstore.example:2424", 0, NEXTHOP_LMTP_INET, "mailstore.example", 2424, 0},
    {"lmtp:inet:[::1]:24", 0, NEXTHOP_LMTP_INET, "::1", 24, 1},
    {"smtp:[192.0.2.1]:2525", 0, NEXTHOP_SMTP, "192.0.2.1", 2525, 1},
    {"smtp:[relay.example]:587", 0, NEXTHOP_SMTP, "relay.example", 587, 1},
    {"smtp:[relay.example]", 0, NEXTHOP_SMTP, "relay.example", 0, 1},
    {"smtp:relay.example", 0, NEXTHOP_SMTP, "relay.example", 0, 0},
    {"smtp:relay.example:26", 0, NEXTHOP_SMTP, "relay.example", 26, 0},
    {"smtp:[::1]:25", 0, NEXTHOP_SMTP, "::1", 25, 1},
    {"smtp:a:65535", 0, NEXTHOP_SMTP, "a", 65535, 0},
    BAD(""),
    BAD("Local"),
    BAD("local "),
    BAD("holdx"),
    BAD("error:"),
    BAD("error"),
    BAD("error:bad\ttab"),
    BAD("lmtp:"),
    BAD("lmtp:unix:"),
    BAD("lmtp:unix:relative/path"),
    BAD("lmtp:tcp:host:24"),
    BAD("lmtp:inet:"),
    BAD("lmtp:inet:host"),
    BAD("lmtp:inet:host:"),
    BAD("lmtp:inet:host:0"),
    BAD("lmtp:inet:host:65536"),
    BAD("lmtp:inet:host:123456"),
    BAD("lmtp:inet:host:2x"),
    BAD("lmtp:inet:::1:24"),
    BAD("lmtp:inet:[::1]"),
    BAD("lmtp:inet:[::1:24"),
    BAD("lmtp:inet:ho st:24"),
    BAD("smtp:"),
    BAD("smtp:[]:25"),
    BAD("smtp:[relay.example]x"),
    BAD("smtp:[relay.example]:"),
    BAD("smtp:relay.example:"),
    BAD("smtp:relay/example"),
    BAD("smtp:a:b:25"),
    BAD("uucp:host"),
    BAD("relay.example"),
};

/* Every case: return value, kind, host/path/text, port, brackets. */
static void test_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct nh_case *c = &cases[i];
        struct nexthop nh;
        const char *why = NULL;
        int rc = nexthop_parse(c->in, strlen(c->in), &nh, &why);
        if (rc != c->rc)
            fail_msg("\"%s\": got %d, want %d", c->in, rc, c->rc);
        if (rc < 0) {
            if (!why || !*why)
                fail_msg("\"%s\": no reason given", c->in);
            continue;
        }
        if (nh.kind != c->kind)
            fail_msg("\"%s\": kind got %d, want %d", c->in, nh.kind, c->kind);
        const char *got = nh.kind == NEXTHOP_ERROR ? nh.text : nh.host;
        size_t gotlen = nh.kind == NEXTHOP_ERROR ? nh.textlen : nh.hostlen;
        if (c->host && (gotlen != strlen(c->host) || memcmp(got, c->host, gotlen) != 0))
            fail_msg("\"%s\": host got \"%.*s\", want \"%s\"", c->in, (int)gotlen, got, c->host);
        if (!c->host && got)
            fail_msg("\"%s\": host got \"%.*s\", want none", c->in, (int)gotlen, got);
        if (nh.port != c->port || nh.literal != c->literal)
            fail_msg("\"%s\": port/literal got %u/%d, want %u/%d", c->in, nh.port, nh.literal,
                     c->port, c->literal);
    }
}

/* Limits: a UNIX path of 107 bytes passes, 108 fails; the whole next hop at most 512 bytes;
 * a NUL inside the input is refused (len, not strlen, counts). */
static void test_limits(void **state)
{
    (void)state;
    char buf[NEXTHOP_MAX + 32];
    struct nexthop nh;
    const char *why;
    for (size_t plen = 106; plen <= 108; plen++) {
        int n = snprintf(buf, sizeof buf, "lmtp:unix:/");
        memset(buf + n, 'p', plen - 1);
        buf[n + (int)plen - 1] = '\0';
        int want = plen <= NEXTHOP_PATH_MAX ? 0 : -1;
        int rc = nexthop_parse(buf, strlen(buf), &nh, &why);
        if (rc != want)
            fail_msg("path of %zu bytes: got %d, want %d", plen, rc, want);
    }
    memcpy(buf, "error:", 6);
    memset(buf + 6, 'x', sizeof buf - 6);
    assert_int_equal(nexthop_parse(buf, NEXTHOP_MAX, &nh, &why), 0);
    assert_int_equal(nexthop_parse(buf, NEXTHOP_MAX + 1, &nh, &why), -1);
    assert_int_equal(nexthop_parse("local\0", 6, &nh, &why), -1);
    assert_int_equal(nexthop_parse("error:a\0b", 9, &nh, &why), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
