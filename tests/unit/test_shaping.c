/* test_shaping: the pure parts of traffic shaping (docs/shaping.md): token buckets
 * (deliver/bucket.c), the reply rule matcher (deliver/rules.c) with the built-in rules,
 * the slow-start / learned-cap / suspension state machine (deliver/slowstart.c) driven by a
 * fake clock, and policy resolution (deliver/policy.c: selectors, later blocks refining
 * earlier ones, smarthost mode). Table-driven: got X, want Y. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conf/conf.h"
#include "deliver/bucket.h"
#include "deliver/policy.h"
#include "deliver/rules.h"
#include "deliver/slowstart.h"
#include "dns/mx.h"
#include "proto/cidr.h"
#include "route/route.h"

/* Loads text over the defaults; fails the test on an error. */
static void load(struct conf *c, const char *text)
{
    char err[512];
    conf_init(c);
    if (conf_load_text("t.conf", text, strlen(text), c, err, sizeof err) < 0)
        fail_msg("config: %s", err);
}

/* Takes as fast as asked every `step` ms for `span` ms: the count taken. */
static unsigned take_for(struct bucket *b, int64_t start, int64_t span, int64_t step)
{
    unsigned n = 0;
    for (int64_t t = start; t < start + span; t += step)
        while (bucket_take(b, t))
            n++;
    return n;
}

/* Buckets: never more than burst + rate * T over T, never 1 % below the rate over a long
 * run when asked at least as often as a burst lasts (a bucket of one asked late loses the
 * lateness: that is the price of never bursting); rate 0 is unlimited; lowering the rate keeps what
 * was earned; a clock set back earns nothing. */
static void test_bucket(void **state)
{
    (void)state;
    struct {
        double rate, burst;
        int64_t span, step;
        unsigned lo, hi;
    } rows[] = {
        {50, 1, 600000, 1, 30000, 30001},  /* 10 minutes at 50/s, polled every ms */
        {50, 10, 600000, 7, 29700, 30010}, /* polled late (7 ms): a burst absorbs it */
        {50, 10, 600000, 3, 30000, 30010}, /* one burst above at most */
        {0.5, 1, 60000, 10, 30, 31},       /* 30 a minute */
        {1000, 5, 1000, 1, 1000, 1005},    /* one per ms */
        {3, 1, 1000, 1000, 1, 4},          /* polled once: the full bucket, then 3 */
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct bucket b;
        bucket_init(&b, rows[i].rate, rows[i].burst, 1000);
        unsigned n = take_for(&b, 1000, rows[i].span, rows[i].step);
        if (n < rows[i].lo || n > rows[i].hi)
            fail_msg("row %zu: got %u tokens, want %u..%u", i, n, rows[i].lo, rows[i].hi);
    }
    struct bucket b;
    bucket_init(&b, 0, 1, 0);
    for (int k = 0; k < 1000; k++)
        assert_true(bucket_take(&b, 0));
    assert_int_equal(bucket_wait(&b, 0), 0);
    bucket_init(&b, 10, 1, 0); /* 10/s: one every 100 ms */
    assert_true(bucket_take(&b, 0));
    assert_false(bucket_take(&b, 50));
    assert_int_equal(bucket_wait(&b, 50), 50);
    bucket_set_rate(&b, 1, 50); /* half a token earned is kept: the rest at 1/s */
    assert_int_equal(bucket_wait(&b, 50), 500);
    assert_true(bucket_take(&b, 550));
    assert_false(bucket_take(&b, 0)); /* clock set back: nothing earned */
    assert_false(bucket_take(&b, 560));
}

/* The matcher: configured rules first, then the built-in ones; a rule fits its stage;
 * replies are bounded and control bytes do not stop the match. */
static void test_rules(void **state)
{
    (void)state;
    struct conf c;
    load(&c, "deliver = { rules = ("
             " { match = \"^451 4\\\\.7\\\\.1\"; action = \"suspend\"; duration = \"30s\"; },"
             " { match = \"^550 5\\\\.7\\\\.1 .*blocked\"; at = \"rcpt\"; action = \"bounce\"; },"
             " { match = \"^421 .*go away\"; at = \"greeting\"; action = \"suspend\"; } ); };");
    struct rules rs;
    char err[128];
    assert_int_equal(rules_init(&rs, &c, err, sizeof err), 0);
    struct {
        unsigned stage;
        const char *reply;
        int want; /* rule index, -1 - n built-in n, or 99: none */
    } rows[] = {
        {RULE_AT_RCPT, "451 4.7.1 rate limited", 0},
        {RULE_AT_DATA, "451 4.7.1 Please try again", 0},
        {RULE_AT_RCPT, "550 5.7.1 you are BLOCKED", 1},
        {RULE_AT_MAIL, "550 5.7.1 you are blocked", 99}, /* not at MAIL */
        {RULE_AT_GREETING, "421 4.3.2 go away", 2},
        {RULE_AT_MAIL, "421 4.3.2 go away", 99},
        {RULE_AT_GREETING, "421 4.7.0 too many connections", -1},
        {RULE_AT_MAIL, "421 4.7.0 Too many concurrent SMTP connections", -1},
        {RULE_AT_MAIL, "421 4.7.0 too many concurrent connections from this IP", -1},
        {RULE_AT_RCPT, "450 4.7.1 rate limited, slow down", -2},
        {RULE_AT_DATA, "452 4.5.3 Too many messages, throttled", -2},
        {RULE_AT_GREETING, "421 4.7.0 Try again later", -3},
        {RULE_AT_RCPT, "421 4.7.0 Try again later", 99}, /* built-in 3: greeting only */
        {RULE_AT_RCPT, "451 4.2.0 try later", 99},
        {RULE_AT_RCPT, "250 2.1.5 ok", 99},
        {RULE_AT_RCPT, "", 99},
        {RULE_AT_RCPT, "451 4.7.1\x01\r\nx", 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const struct rules_entry *e =
            rules_match(&rs, rows[i].stage, rows[i].reply, strlen(rows[i].reply));
        int got = e ? e->index : 99;
        if (got != rows[i].want)
            fail_msg("row %zu (%s): got rule %d, want %d", i, rows[i].reply, got, rows[i].want);
    }
    /* the match looks at most RULES_TEXT_MAX bytes */
    char big[2000];
    memset(big, 'x', sizeof big);
    memcpy(big, "451 4.7.1 ", 10);
    assert_non_null(rules_match(&rs, RULE_AT_RCPT, big, sizeof big));
    memcpy(big + RULES_TEXT_MAX + 10, "blocked", 7);
    memcpy(big, "550 5.7.1 ", 10);
    assert_null(rules_match(&rs, RULE_AT_RCPT, big, sizeof big));
    rules_free(&rs);
    conf_free(&c);
    load(&c, "deliver = { builtin_rules = false; };");
    assert_int_equal(rules_init(&rs, &c, err, sizeof err), 0);
    assert_int_equal(rs.n, 0);
    rules_free(&rs);
    conf_free(&c);
}

/* The window state machine, step by step on a fake clock: slow start from initial, one
 * more per established session until a refusal sets the ceiling; above it one more per
 * `cap` sessions (the probe); a reduction by a factor; a suspension gives no connection
 * until its time and then begins again at initial, climbing fast back to the ceiling. */
static void test_slowstart(void **state)
{
    (void)state;
    enum { OK, LOWER, REDUCE, SUSPEND, RESTART, TICK };
    struct {
        int ev;
        int64_t now;
        unsigned arg; /* LOWER: sessions that worked; REDUCE: current; SUSPEND: ms */
        unsigned want;
        bool want_recovered;
    } rows[] = {
        {TICK, 0, 0, 2, false}, /* initial 2 */
        {OK, 10, 0, 3, false},  /* slow start: +1 per session */
        {OK, 20, 0, 4, false},
        {OK, 30, 0, 5, false},
        {LOWER, 40, 4, 4, false}, /* refused with 4 in session: ceiling 4 */
        {OK, 50, 0, 4, false},    /* at the ceiling: +1 after 4 sessions */
        {OK, 60, 0, 4, false},
        {OK, 70, 0, 4, false},
        {OK, 80, 0, 5, false},      /* the probe */
        {LOWER, 90, 4, 4, false},   /* refused again */
        {REDUCE, 100, 4, 2, false}, /* a rule: times 0.5, ceiling 2 */
        {OK, 110, 0, 2, false},
        {OK, 120, 0, 3, false},
        {SUSPEND, 130, 1000, 0, false}, /* nothing until 1130 */
        {TICK, 1129, 0, 0, false},
        {TICK, 1130, 0, 2, true}, /* over: begins again at initial */
        {OK, 1140, 0, 2, false},  /* at the ceiling (2): the probe after 2 */
        {OK, 1150, 0, 3, false},
        {RESTART, 1160, 0, 2, false},
    };
    struct slowstart ss;
    slowstart_init(&ss, 2, 10);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        bool recovered = false;
        switch (rows[i].ev) {
        case OK:
            slowstart_ok(&ss);
            break;
        case LOWER:
            slowstart_lower(&ss, rows[i].arg);
            break;
        case REDUCE:
            slowstart_reduce(&ss, rows[i].arg, 0.5);
            break;
        case SUSPEND:
            slowstart_suspend(&ss, rows[i].now + rows[i].arg);
            break;
        case RESTART:
            slowstart_restart(&ss);
            break;
        default:
            break;
        }
        unsigned got = slowstart_limit(&ss, rows[i].now, &recovered);
        if (got != rows[i].want || recovered != rows[i].want_recovered)
            fail_msg("row %zu: got limit %u%s, want %u%s", i, got, recovered ? " recovered" : "",
                     rows[i].want, rows[i].want_recovered ? " recovered" : "");
    }
    /* without slow start: max at once; growing to max drops the window */
    slowstart_init(&ss, 0, 3);
    bool r = false;
    assert_int_equal(slowstart_limit(&ss, 0, &r), 3);
    assert_false(slowstart_ok(&ss));
    assert_true(slowstart_lower(&ss, 1));
    assert_false(slowstart_lower(&ss, 2)); /* never up by a refusal */
    assert_true(slowstart_ok(&ss));        /* 1 session at cap 1: probe to 2 */
    assert_int_equal(slowstart_limit(&ss, 0, &r), 2);
    assert_false(slowstart_ok(&ss));
    assert_true(slowstart_ok(&ss)); /* 3 = max: no window */
    assert_int_equal(ss.cap, 0);
    assert_int_equal(slowstart_limit(&ss, 0, &r), 3);
}

/* A destination of MX hosts (name, address) for policy_resolve(). */
struct tdest {
    struct dest d;
    struct mx_host h[2];
    struct sockaddr_storage a[2];
};
static void tdest_make(struct tdest *t, const char *mx0, const char *ip0, const char *mx1,
                       const char *ip1)
{
    socklen_t len;
    memset(t, 0, sizeof *t);
    t->d.key = "k";
    t->d.hosts = t->h;
    t->h[0].name = (char *)mx0;
    t->h[1].name = (char *)mx1;
    cidr_sockaddr_parse(ip0, 25, &t->a[0], &len);
    cidr_sockaddr_parse(ip1, 25, &t->a[1], &len);
    t->h[0].addrs = &t->a[0];
    t->h[1].addrs = &t->a[1];
    t->h[0].naddrs = t->h[1].naddrs = 1;
    t->d.nhosts = 2;
}

/* Policy resolution: each selector kind; later blocks refine earlier ones key by key; the
 * keys a block does not give keep the deliver values; smarthost mode. */
static void test_policy(void **state)
{
    (void)state;
    struct conf c;
    load(&c, "deliver = { maxserverconnections = 7; maxconnections = 300; policies = (\n"
             " { match = [\"*.edu\", \"smtp/*.example.com\"]; maxserverconnections = 2;"
             "   maxmessages = 100; msgs_per_second = 50.0; },\n"
             " { match = [\"mx:*.google.com\"]; maxrecips = 10; msgs_per_minute = 600; },\n"
             " { match = [\"mx:.outlook.com\", \"ip:192.0.2.0/24\"]; queueonly = true; },\n"
             " { match = [\"mit.edu\"]; maxserverconnections = 5; idlemax = \"9s\"; } ); };");
    struct {
        const char *domain, *mx0, *ip0, *mx1, *ip1;
        unsigned msc, maxmessages, maxrecips;
        bool queueonly;
        double rate;
        int from_msc;
    } rows[] = {
        {"x.edu", "mx.x.edu", "10.0.0.1", "mx2.x.edu", "10.0.0.2", 2, 100, 50, false, 50, 0},
        {"MIT.EDU", "mx.mit.edu", "10.0.0.1", "b", "10.0.0.2", 5, 100, 50, false, 50, 3},
        {"a.example.com", "aspmx.l.google.com", "10.0.0.1", "b", "10.0.0.3", 2, 100, 10, false, 10,
         0},
        {"gmail.com", "aspmx.l.google.com", "10.0.0.1", "alt1.google.com", "10.0.0.2", 7, 100, 10,
         false, 10, -1},
        {"hotmail.com", "x.mail.protection.outlook.com", "10.0.0.1", "b", "10.0.0.2", 7, 100, 50,
         true, 0, -1},
        {"outlook.com", "outlook.com", "10.0.0.1", "b", "10.0.0.2", 7, 100, 50, false, 0, -1},
        {"y.org", "mx.y.org", "10.0.0.1", "mx2.y.org", "192.0.2.77", 7, 100, 50, true, 0, -1},
        {"example.com", "mx.example.com", "10.0.0.1", "b", "10.0.0.2", 7, 100, 50, false, 0, -1},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct tdest t;
        struct policy_eff p;
        tdest_make(&t, rows[i].mx0, rows[i].ip0, rows[i].mx1, rows[i].ip1);
        policy_resolve(&c, policy_domain_mask(&c, rows[i].domain), &t.d, &p);
        double rate = policy_msg_rate(&p);
        if (p.maxserverconnections != rows[i].msc || p.maxmessages != rows[i].maxmessages ||
            p.maxrecips != rows[i].maxrecips || p.queueonly != rows[i].queueonly ||
            rate != rows[i].rate || p.from[POLICY_MAXSERVERCONNECTIONS] != rows[i].from_msc)
            fail_msg("row %zu (%s): got msc %u (from %d) maxmessages %u maxrecips %u queueonly %d "
                     "rate %g, want %u (from %d) %u %u %d %g",
                     i, rows[i].domain, p.maxserverconnections, p.from[POLICY_MAXSERVERCONNECTIONS],
                     p.maxmessages, p.maxrecips, p.queueonly, rate, rows[i].msc, rows[i].from_msc,
                     rows[i].maxmessages, rows[i].maxrecips, rows[i].queueonly, rows[i].rate);
    }
    assert_true(policy_has_domain_selectors(&c));
    assert_int_equal(policy_domain_mask(&c, "mit.edu"), 0x9);
    assert_int_equal(policy_domain_mask(&c, "gmail.com"), 0);
    conf_free(&c);

    /* smarthost: the default relay alone may use maxconnections, unless a block says */
    load(&c, "deliver = { maxconnections = 300; relays = ( { address = \"[192.0.2.1]\"; } ); };");
    struct tdest t;
    struct policy_eff p;
    tdest_make(&t, "192.0.2.1", "192.0.2.1", "192.0.2.1", "192.0.2.1");
    t.d.relay = &c.deliver.relays[0];
    policy_resolve(&c, 0, &t.d, &p);
    assert_int_equal(p.maxserverconnections, 300);
    conf_free(&c);
    load(&c, "deliver = { relays = ( { address = \"[192.0.2.1]\"; } );"
             " policies = ( { match = [\"ip:192.0.2.1/32\"]; maxserverconnections = 4; } ); };");
    t.d.relay = &c.deliver.relays[0];
    policy_resolve(&c, 0, &t.d, &p);
    assert_int_equal(p.maxserverconnections, 4);
    assert_false(policy_has_domain_selectors(&c));
    conf_free(&c);
}

/* Config errors: bad selectors, regexes with back-references, words, rates. */
static void test_config_errors(void **state)
{
    (void)state;
    struct {
        const char *text, *want;
    } rows[] = {
        {"deliver = { policies = ( { match = [\"local/*\"]; } ); };", "bad selector"},
        {"deliver = { policies = ( { match = [\"ip:300.1.1.1/8\"]; } ); };", "bad selector"},
        {"deliver = { policies = ( { maxmessages = 3; } ); };", "missing key"},
        {"deliver = { policies = ( { match = \"*\"; msgs_per_second = 0.0; } ); };",
         "out of range"},
        {"deliver = { policies = ( { match = \"*\"; bogus = 1; } ); };", "unknown key"},
        {"deliver = { rules = ( { match = \"(a)\\\\1\"; action = \"suspend\"; } ); };",
         "bad regular"},
        {"deliver = { rules = ( { match = \"(\"; action = \"suspend\"; } ); };", "bad regular"},
        {"deliver = { rules = ( { match = \"a++\"; action = \"suspend\"; } ); };", "bad regular"},
        {"deliver = { rules = ( { match = \"(a{10}){101}\"; action = \"suspend\"; } ); };",
         "bad regular"},
        {"deliver = { rules = ( { match = \"((a{20}){20}){20}\"; action = \"suspend\"; } ); };",
         "bad regular"},
        {"deliver = { rules = ( { match = \"[a\"; action = \"suspend\"; } ); };", "bad regular"},
        {"deliver = { rules = ( { match = \"x\"; action = \"explode\"; } ); };", "bad value"},
        {"deliver = { rules = ( { match = \"x\"; action = \"suspend\"; at = \"quit\"; } ); };",
         "bad value"},
        {"deliver = { rules = ( { match = \"x\"; action = \"reduce_rate\"; factor = 1.5; } ); };",
         "out of range"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct conf c;
        char err[512];
        conf_init(&c);
        int rc = conf_load_text("t.conf", rows[i].text, strlen(rows[i].text), &c, err, sizeof err);
        if (rc != -1 || !strstr(err, rows[i].want))
            fail_msg("row %zu: got %d \"%s\", want an error with \"%s\"", i, rc, rc ? err : "",
                     rows[i].want);
        conf_free(&c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bucket),        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_slowstart),     cmocka_unit_test(test_policy),
        cmocka_unit_test(test_config_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
