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
#include "deliver/ratelearn.h"
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

/* Takes as fast as asked at the times step(k) gives for `span` ms from start; the count
 * taken, and in *most the largest count in any 1000 ms (t - 1000, t]. */
static unsigned take_times(struct bucket *b, int64_t start, int64_t span,
                           int64_t (*step)(unsigned k), unsigned *most)
{
    static int64_t at[70000];
    unsigned n = 0, first = 0;
    *most = 0;
    int64_t t = start;
    for (unsigned k = 0; t < start + span; t += step(k++))
        while (n < sizeof at / sizeof at[0] && bucket_take(b, t)) {
            at[n++] = t;
            while (at[first] <= t - 1000)
                first++;
            if (n - first > *most)
                *most = n - first;
        }
    return n;
}

static int64_t step_1(unsigned k) { return (void)k, 1; }
static int64_t step_3(unsigned k) { return (void)k, 3; }
static int64_t step_7(unsigned k) { return (void)k, 7; }
static int64_t step_1000(unsigned k) { return (void)k, 1000; }
static int64_t step_10(unsigned k) { return (void)k, 10; }
/* A loaded machine: wake-ups due every 20 ms, each 0..12 ms late (pseudo-random). */
static int64_t late(unsigned k) { return (int64_t)(k * 7919u % 13u); }
static int64_t step_late(unsigned k) { return 20 + late(k + 1) - late(k); }

/* Buckets: in any second never more than an exact bucket takes (rate + burst - 1, from
 * rates of one a second on), over T never more than burst + 1 + rate * T, and within 1 %
 * of the rate over a long run when asked at least once per token interval, even when
 * wake-ups come late (the extra token keeps the lateness: a bucket of one without it lost
 * every late millisecond); rate 0 is unlimited; lowering the rate keeps what was earned; a
 * clock set back earns nothing. */
static void test_bucket(void **state)
{
    (void)state;
    struct {
        double rate, burst;
        int64_t span;
        int64_t (*step)(unsigned k);
        unsigned lo, hi, most;
    } rows[] = {
        {50, 1, 600000, step_1, 29700, 30001, 50},     /* 10 minutes at 50/s, polled every ms */
        {50, 1, 600000, step_late, 29400, 30001, 50},  /* late wake-ups (0..12 ms): 2 % at most */
        {50, 1, 600000, step_10, 29700, 30001, 50},    /* every 10 ms: within 1 % */
        {50, 10, 600000, step_7, 29700, 30010, 59},    /* polled late (7 ms) */
        {50, 10, 600000, step_3, 29700, 30010, 59},    /* one burst above at most */
        {0.5, 1, 60000, step_10, 30, 32, 2},           /* 30 a minute */
        {1000, 5, 1000, step_1, 995, 1006, 1004},      /* one per ms */
        {3, 1, 1000, step_1000, 1, 4, 1},              /* polled once: the full bucket */
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct bucket b;
        unsigned most;
        bucket_init(&b, rows[i].rate, rows[i].burst, 1000);
        unsigned n = take_times(&b, 1000, rows[i].span, rows[i].step, &most);
        if (n < rows[i].lo || n > rows[i].hi || most > rows[i].most)
            fail_msg("row %zu: got %u tokens, %u in one second; want %u..%u, at most %u", i, n,
                     most, rows[i].lo, rows[i].hi, rows[i].most);
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
    assert_false(bucket_take(&b, 550)); /* the token is there, but 1/s allows one a second */
    assert_int_equal(bucket_wait(&b, 550), 5);  /* (its slots pass in steps of 5 ms) */
    assert_false(bucket_take(&b, 1005)); /* a second and 5 ms at least */
    assert_true(bucket_take(&b, 1010));
    assert_false(bucket_take(&b, 0)); /* clock set back: nothing earned */
    assert_false(bucket_take(&b, 1020));
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
 * more per established session until a refusal sets the ceiling; there it holds, one more
 * after max(cap, SLOWSTART_PROBE_MIN) sessions (the probe); a reduction by a factor; a
 * suspension gives no connection until its time and then begins again at initial, climbing
 * fast back to the ceiling. OKN: arg sessions at once. */
static void test_slowstart(void **state)
{
    (void)state;
    enum { OK, OKN, LOWER, REDUCE, SUSPEND, RESTART, TICK };
    struct {
        int ev;
        int64_t now;
        unsigned arg; /* OKN: sessions; LOWER: sessions that worked; REDUCE: current; SUSPEND: ms */
        unsigned want;
        bool want_recovered;
    } rows[] = {
        {TICK, 0, 0, 2, false}, /* initial 2 */
        {OK, 10, 0, 3, false},  /* slow start: +1 per session */
        {OK, 20, 0, 4, false},
        {OK, 30, 0, 5, false},
        {LOWER, 40, 4, 4, false},   /* refused with 4 in session: ceiling 4 */
        {OKN, 50, 255, 4, false},   /* held at the ceiling for 255 sessions */
        {OK, 60, 0, 5, false},      /* the probe, after 256 */
        {LOWER, 70, 4, 4, false},   /* refused again: the next probe waits twice as long */
        {OKN, 80, 511, 4, false},
        {OK, 90, 0, 5, false},      /* after 512 */
        {LOWER, 95, 4, 4, false},
        {REDUCE, 100, 4, 2, false}, /* a rule: times 0.5, ceiling 2, backoff 0 */
        {OKN, 110, 255, 2, false},
        {OK, 120, 0, 3, false},
        {SUSPEND, 130, 1000, 0, false}, /* nothing until 1130 */
        {TICK, 1129, 0, 0, false},
        {TICK, 1130, 0, 2, true},  /* over: begins again at initial (the ceiling, 2) */
        {OKN, 1140, 255, 2, false}, /* at the ceiling: the probe after 256 */
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
        case OKN:
            for (unsigned k = 0; k < rows[i].arg; k++)
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
    for (unsigned k = 1; k < SLOWSTART_PROBE_MIN; k++)
        assert_false(slowstart_ok(&ss));
    assert_true(slowstart_ok(&ss)); /* 256 sessions at cap 1: probe to 2 */
    assert_int_equal(slowstart_limit(&ss, 0, &r), 2);
    for (unsigned k = 1; k < SLOWSTART_PROBE_MIN; k++)
        assert_false(slowstart_ok(&ss));
    assert_true(slowstart_ok(&ss)); /* 3 = max: no window */
    assert_int_equal(ss.cap, 0);
    assert_int_equal(slowstart_limit(&ss, 0, &r), 3);
}

/* Sessions that succeed (slowstart_ok) until the window grows, at most 100000. */
static unsigned oks_until_probe(struct slowstart *ss)
{
    unsigned n = 1;
    while (!slowstart_ok(ss) && n < 100000)
        n++;
    return n;
}

/* The probe backs off: the first comes after SLOWSTART_PROBE_MIN sessions at the ceiling
 * (a refused probe is a wasted connection: at most 1 in 256), each probe refused at the
 * same ceiling doubles the sessions before the next (up to 256 << SLOWSTART_BACKOFF_MAX); a
 * probe that held, a refusal at another level or a reduction starts over. */
static void test_probe_backoff(void **state)
{
    (void)state;
    struct slowstart ss;
    slowstart_init(&ss, 0, 10);
    assert_true(slowstart_lower(&ss, 2)); /* the limit is 2 */
    unsigned want[] = {256, 512, 1024, 2048, 4096, 8192, 16384, 16384, 16384};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        unsigned got = oks_until_probe(&ss);
        if (got != want[i] || ss.cap != 3)
            fail_msg("probe %zu: got after %u sessions (window %u), want after %u (window 3)", i,
                     got, ss.cap, want[i]);
        assert_true(slowstart_lower(&ss, 2)); /* refused: back to 2 */
    }
    /* the receiver allows 3 now: the probe holds for 256 << 6 sessions, 3 is the ceiling and
     * the next probe (4) comes after 256 sessions */
    assert_int_equal(oks_until_probe(&ss), 16384);
    assert_int_equal(oks_until_probe(&ss), SLOWSTART_PROBE_MIN << SLOWSTART_BACKOFF_MAX);
    assert_int_equal(ss.ceiling, 3);
    assert_int_equal(ss.cap, 4);
    assert_true(slowstart_lower(&ss, 3));
    assert_int_equal(oks_until_probe(&ss), 512); /* one refusal at 3: backoff 1 */
    assert_true(slowstart_lower(&ss, 1));        /* another level: starts over */
    assert_int_equal(oks_until_probe(&ss), 256);
    assert_true(slowstart_lower(&ss, 1));
    assert_int_equal(oks_until_probe(&ss), 512);
    assert_true(slowstart_reduce(&ss, 2, 0.5)); /* a rule: starts over */
    assert_int_equal(oks_until_probe(&ss), 256);
    slowstart_init(&ss, 0, 1000); /* a window above 256: the probe after `cap` sessions */
    assert_true(slowstart_lower(&ss, 300));
    assert_int_equal(oks_until_probe(&ss), 300);
}

/* Sends n messages accepted evenly over the 900 ms before `at` (the last one at at - 1). */
static void rl_send(struct ratelearn *rl, int64_t at, unsigned n)
{
    for (unsigned k = n; k-- > 0;)
        ratelearn_sent(rl, at - 1 - (int64_t)k * 900 / n);
}

/* The learned rate, event by event on a fake clock (ratelearn.h): the first refusal sets
 * the ceiling to what was accepted in the second before it (not to the rate attempted), the
 * rate drops to ceiling x factor and climbs back linearly to just under the ceiling, holds,
 * then probes above it; a refusal at the same level confirms the ceiling and doubles the
 * hold; refusals right after a decrease are the same event; a clearly lower count is a new
 * ceiling; no refusal up to twice the ceiling forgets it; the policy's rate caps it. */
static void test_ratelearn(void **state)
{
    (void)state;
    enum { SEND, REFUSE, RATE };
    struct {
        int ev;
        int64_t now;
        double arg;       /* SEND: messages in the second before; REFUSE: 1 acted, 0 not;
                             RATE: the policy's rate (0: none) */
        double want_rate; /* REFUSE and RATE: the rate in force after */
        double want_ceiling;
        unsigned want_refused;
    } rows[] = {
        {RATE, 0, 0, 0, 0, 0},              /* nothing learned: no limit */
        {SEND, 1000, 50, 0, 0, 0},          /* 50 accepted (the receiver's 50/s) ... */
        {REFUSE, 1000, 1, 25, 50, 0},       /* ... then 451: ceiling 50, rate 50 x 0.5 */
        {REFUSE, 2500, 0, 42.625, 50, 0},   /* the same event: nothing changes */
        {RATE, 2000, 0, 36.75, 50, 0},      /* halfway back */
        {RATE, 3000, 0, 48.5, 50, 0},       /* just under the ceiling (97 %) */
        {RATE, 63000, 0, 48.5, 50, 0}  ,      /* held for the rule's duration (60 s) */
        {RATE, 64000, 0, 49.5, 50, 0},      /* then probing: + 1/s (2 % of 50) */
        {RATE, 64000, 30, 30, 50, 0},       /* a policy's lower rate wins */
        {SEND, 65000, 49, 0, 50, 0},
        {REFUSE, 65000, 1, 25, 50, 1}   ,   /* the same ceiling again: refused 1 */
        {RATE, 67000, 0, 48.5, 50, 1},
        {RATE, 186999, 0, 48.5, 50, 1},     /* the hold doubled: 120 s */
        {RATE, 188000, 0, 49.5, 50, 1},
        {SEND, 190000, 20, 0, 50, 1},
        {REFUSE, 190000, 1, 10, 20, 0},     /* the receiver lowered its limit: ceiling 20 */
        {RATE, 192000, 0, 19.4, 20, 0},
        {RATE, 253000, 0, 19.8, 20, 0},     /* probing after 60 s: + 0.4/s */
        {RATE, 303499, 0, 39.9996, 20, 0},
        {RATE, 303500, 0, 0, 0, 0},         /* twice the ceiling, no refusal: forgotten */
    };
    struct ratelearn rl;
    ratelearn_init(&rl);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        int64_t now = rows[i].now;
        if (rows[i].ev == SEND) {
            rl_send(&rl, now, (unsigned)rows[i].arg);
            continue;
        }
        double policy = 0;
        if (rows[i].ev == REFUSE) {
            bool acted = ratelearn_refused(&rl, now, 0.5, 60000);
            if (acted != (rows[i].arg != 0))
                fail_msg("row %zu: got acted %d, want %d", i, acted, rows[i].arg != 0);
        } else {
            policy = rows[i].arg;
        }
        double got = ratelearn_rate(&rl, now, policy);
        if (got < rows[i].want_rate - 0.01 || got > rows[i].want_rate + 0.01 ||
            rl.ceiling != rows[i].want_ceiling || rl.refused != rows[i].want_refused)
            fail_msg("row %zu: got rate %g, ceiling %g, refused %u; want %g, %g, %u", i, got,
                     rl.ceiling, rl.refused, rows[i].want_rate, rows[i].want_ceiling,
                     rows[i].want_refused);
    }
    assert_int_equal(ratelearn_accepted(&rl, 190500), 12); /* 12 of them in the last 1000 ms */
    assert_int_equal(ratelearn_accepted(&rl, 500000), 0);
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

/* Per-destination retry schedule and pipelining: a block's retries, interval, skew, expiry
 * and maxpipeline override deliver's for its destinations only; --explain says who set them. */
static void test_policy_retry_plan(void **state)
{
    (void)state;
    struct conf c;
    load(&c, "deliver = { interval = \"2m\"; retries = \"1 2 3\"; expiry = \"2d\"; skew = 5;"
             " client = { maxpipeline = 30; }; policies = (\n"
             " { match = [\"slow.example\"]; retries = \"1 1 5\"; interval = \"10s\";"
             "   skew = 0; expiry = \"6h\"; maxpipeline = 2; } ); };");
    struct {
        const char *domain;
        unsigned r0, r2, skew, maxpipeline;
        uint64_t interval, expiry;
        int from;
    } rows[] = {
        {"slow.example", 1, 5, 0, 2, 10000, 6 * 3600000ULL, 0},
        {"other.example", 1, 3, 5, 30, 120000, 2 * 86400000ULL, -1},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct policy_eff p;
        policy_resolve(&c, policy_domain_mask(&c, rows[i].domain), NULL, &p);
        if (p.plan.nretries != 3 || p.plan.retries[0] != rows[i].r0 ||
            p.plan.retries[2] != rows[i].r2 || p.plan.skew != rows[i].skew ||
            p.plan.interval != rows[i].interval || p.plan.expiry != rows[i].expiry ||
            p.maxpipeline != rows[i].maxpipeline || p.from[POLICY_RETRIES] != rows[i].from ||
            p.from[POLICY_MAXPIPELINE] != rows[i].from)
            fail_msg("%s: got retries[2] %u skew %u interval %llu expiry %llu maxpipeline %u "
                     "from %d, want %u %u %llu %llu %u %d",
                     rows[i].domain, p.plan.retries[2], p.plan.skew,
                     (unsigned long long)p.plan.interval, (unsigned long long)p.plan.expiry,
                     p.maxpipeline, p.from[POLICY_RETRIES], rows[i].r2, rows[i].skew,
                     (unsigned long long)rows[i].interval, (unsigned long long)rows[i].expiry,
                     rows[i].maxpipeline, rows[i].from);
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    policy_explain(&c, "slow.example", f);
    policy_explain(&c, "other.example", f);
    fclose(f);
    const char *want[] = {
        "  retries = \"1 1 5\"  # deliver.policies[0] (\"slow.example\")\n",
        "  interval = \"10s\"  # deliver.policies[0]",
        "  skew = 0  # deliver.policies[0]",
        "  expiry = \"6h\"  # deliver.policies[0]",
        "  maxpipeline = 2  # deliver.policies[0]",
        "  retries = \"1 2 3\"  # deliver.retries\n",
        "  interval = \"2m\"  # deliver.interval\n",
        "  maxpipeline = 30  # deliver.client.maxpipeline\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(buf, want[i]))
            fail_msg("explain: want \"%s\" in:\n%s", want[i], buf);
    free(buf);
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
        {"deliver = { policies = ( { match = \"*\"; retries = \"1 0\"; } ); };", "bad retries"},
        {"deliver = { policies = ( { match = \"*\"; interval = \"0s\"; } ); };", "out of range"},
        {"deliver = { policies = ( { match = \"*\"; skew = 1001; } ); };", "out of range"},
        {"deliver = { policies = ( { match = \"*\"; maxpipeline = 1001; } ); };", "out of range"},
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
        cmocka_unit_test(test_slowstart),     cmocka_unit_test(test_probe_backoff), cmocka_unit_test(test_ratelearn),     cmocka_unit_test(test_policy),
        cmocka_unit_test(test_policy_retry_plan), cmocka_unit_test(test_config_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
