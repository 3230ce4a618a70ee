/* Unit tests: the suppression store and its rule (src/suppress/suppress.c): what is
 * recorded (codes, already active), lookups within and past the duration, case, remove,
 * walk order, the daemon's grouped writes, and the router's failure without routing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <event2/event.h>

#include "conf/conf.h"
#include "suppress/router.h"
#include "suppress/suppress.h"

static char dir[] = "/tmp/test_suppress.XXXXXX";
static const uint64_t DAY = 86400000;

static int setup(void **state)
{
    (void)state;
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char p[256];
    snprintf(p, sizeof p, "rm -rf %s", dir);
    return system(p) == 0 ? 0 : -1;
}

/* Loads a configuration with suppression enabled and the given extra keys. */
static void load(struct conf *c, const char *extra)
{
    char text[512], err[256];
    snprintf(text, sizeof text, "suppression = { enabled = true; %s };", extra);
    conf_init(c);
    if (conf_load_text("t", text, strlen(text), c, err, sizeof err) < 0)
        fail_msg("conf: %s", err);
}

/* Which final failures are recorded (default codes, 30 days). */
static void test_note_bounce(void **state)
{
    (void)state;
    struct { const char *addr, *reply; bool want; } cases[] = {
        {"a@x.test", "550 5.1.1 <a@x.test>: no such user", true},
        {"A@X.TEST", "550 5.1.1 again", false},      /* already active: first date kept */
        {"b@x.test", "550 5.7.1 policy", false},     /* not a code of the list */
        {"c@x.test", "552 5.2.2 mailbox full", false},
        {"d@x.test", "5.1.10 domain x.test accepts no mail (null MX)", true},
        {"e@x.test", "550 no such user", false},     /* 5.0.0: not in the list */
        {"f@x.test", "5.4.7 delivery time expired", false},
        {"g@x.test", "553 5.1.3 bad address syntax", true},
    };
    struct conf c;
    load(&c, "");
    struct suppress *s = suppress_open(dir, NULL, NULL, 0);
    assert_non_null(s);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bool got = suppress_note_bounce(s, &c, cases[i].addr, cases[i].reply, 1000);
        if (got != cases[i].want)
            fail_msg("case %zu %s: got %d, want %d", i, cases[i].addr, got, cases[i].want);
    }
    struct suppress_entry e;
    assert_int_equal(suppress_find(s, "a@X.test", 2000, c.suppression.duration, &e), 1);
    assert_string_equal(e.reason, "550 5.1.1 <a@x.test>: no such user");
    assert_int_equal(e.at, 1000);
    suppress_close(s);
    conf_free(&c);
}

/* Lookups at times within and past the duration; remove; walk in address order. */
static void test_find_remove_walk(void **state)
{
    (void)state;
    struct suppress *s = suppress_open(dir, NULL, NULL, 0);
    struct suppress_entry e;
    assert_int_equal(suppress_add(s, "z@y.test", 10 * (int64_t)DAY, "r"), 0);
    struct { int64_t now; int want; } cases[] = {
        {10 * (int64_t)DAY, 1}, {39 * (int64_t)DAY, 1}, {40 * (int64_t)DAY, 0},
        {41 * (int64_t)DAY, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int got = suppress_find(s, "z@y.test", cases[i].now, 30 * DAY, &e);
        if (got != cases[i].want)
            fail_msg("case %zu: got %d, want %d", i, got, cases[i].want);
    }
    assert_int_equal(suppress_find(s, "nobody@y.test", 0, DAY, &e), 0);
    assert_int_equal(suppress_remove(s, "Z@Y.TEST"), 1);
    assert_int_equal(suppress_remove(s, "z@y.test"), 0);
    assert_int_equal(suppress_find(s, "z@y.test", 10 * (int64_t)DAY, 30 * DAY, &e), 0);
    suppress_close(s);
}

static int collect(void *arg, const struct suppress_entry *e)
{
    strcat(arg, e->addr);
    strcat(arg, ",");
    return 0;
}

/* The daemon's writer thread: additions are committed (grouped) by close at the latest. */
static void test_daemon_writes(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    struct suppress *s = suppress_open(dir, base, NULL, 0);
    const char *addrs[] = {"m3@w.test", "m1@w.test", "m2@w.test"};
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(suppress_add(s, addrs[i], 5, "x"), 0);
    suppress_close(s);
    s = suppress_open(dir, NULL, NULL, 0);
    char got[512] = "";
    suppress_walk(s, collect, got);
    if (!strstr(got, "m1@w.test,m2@w.test,m3@w.test,"))
        fail_msg("got '%s', want m1, m2, m3 in order", got);
    suppress_close(s);
    event_base_free(base);
}

struct routed {
    int calls;
    enum outcome o;
    char why[1024];
};

static void on_route(void *arg, struct dest *d, enum outcome o, const char *why)
{
    struct routed *r = arg;
    (void)d;
    r->calls++;
    r->o = o;
    snprintf(r->why, sizeof r->why, "%s", why ? why : "");
}

static void inner_lookup(void *rarg, const char *sender, const char *client_ip,
                         const char *rcpt, route_fn cb, void *arg)
{
    (void)sender, (void)client_ip, (void)rcpt;
    (*(int *)rarg)++;
    cb(arg, NULL, OUTCOME_OK, "");
}

static struct dest *inner_cached(void *rarg, const char *domain)
{
    (void)rarg, (void)domain;
    return NULL;
}

static int64_t fixed_now(void)
{
    return 100;
}

/* The router: a suppressed recipient fails later (not inside lookup) without routing. */
static void test_router(void **state)
{
    (void)state;
    const struct deliver_router inner = {inner_lookup, inner_cached};
    int inner_calls = 0;
    struct conf c;
    load(&c, "");
    struct event_base *base = event_base_new();
    struct suppress *s = suppress_open(dir, NULL, NULL, 0);
    assert_int_equal(suppress_add(s, "bad@r.test", 50, "550 5.1.1 gone"), 0);
    struct suppress_router *r = suppress_router_create(base, &c, s, &inner, &inner_calls,
                                                       fixed_now);
    struct routed bad = {0}, good = {0};
    suppress_router_ops.lookup(r, "", "", "bad@r.test", on_route, &bad);
    assert_int_equal(bad.calls, 0); /* not inside the call */
    suppress_router_ops.lookup(r, "", "", "good@r.test", on_route, &good);
    event_base_loop(base, EVLOOP_NONBLOCK);
    if (bad.calls != 1 || bad.o != OUTCOME_PERMFAIL || strncmp(bad.why, "5.1.1 <bad@r.test> suppressed until", 35))
        fail_msg("got %d %d '%s', want one PERMFAIL '5.1.1 <bad@r.test> suppressed...'",
                 bad.calls, (int)bad.o, bad.why);
    assert_int_equal(good.calls, 1);
    assert_int_equal(good.o, OUTCOME_OK);
    assert_int_equal(inner_calls, 1);
    suppress_router_free(r);
    suppress_close(s);
    event_base_free(base);
    conf_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_note_bounce),
        cmocka_unit_test(test_find_remove_walk),
        cmocka_unit_test(test_daemon_writes),
        cmocka_unit_test(test_router),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
