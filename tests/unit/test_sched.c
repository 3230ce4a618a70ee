/* test_sched: the scheduler (sched/) over the real delivery module and a real queue in a
 * temporary directory, with the fake clock, router and transport of fake_out.h: no
 * sockets. Covered: the queuecache window, outcomes recorded in the queue (delivered,
 * deferred with its retry time, failed), reports stored and scheduled like any message,
 * double bounces, postponement for a dead destination (no attempt, no write), recovery
 * (delay_start, reports still owed; in batches, each message exactly once) and DELIVERBY. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/event.h>

#include "conf/conf.h"
#include "core/qid.h"
#include "core/xalloc.h"
#include "deliver/deliver.h"
#include "fake_out.h"
#include "queue/queue.h"
#include "sched/sched.h"

#define SW_RCPTS 64

struct sw {
    struct fake_out *f;
    struct conf c;
    struct deliver *dl;
    struct sched *s;
    int stopped;
};

/* What the queue holds: one message's recipients. */
struct qview {
    int nmsgs;
    uint32_t nrcpt;
    uint8_t state[SW_RCPTS], flags[SW_RCPTS];
    uint32_t attempts[SW_RCPTS];
    int64_t next[SW_RCPTS];
    char reply[SW_RCPTS][128];
};

/* A world with destinations a.test, b.test and src.test (where reports go); idlemax 0. */
static struct sw *sw_new(void)
{
    struct sw *w = xcalloc(1, sizeof *w);
    w->f = fake_out_create();
    conf_init(&w->c);
    w->c.deliver.idlemax = 0;
    fake_dest_add(w->f, "a");
    fake_dest_add(w->f, "b");
    fake_dest_add(w->f, "src");
    return w;
}

/* Creates delivery and the scheduler once the test has set the configuration. */
static void sw_start(struct sw *w)
{
    w->dl = deliver_create(w->f->base, &w->c, w->f->q, &w->f->io);
    w->s = sched_create(w->f->base, &w->c, w->f->q, w->dl, fake_now);
}

/* Shutdown callback. */
static void sw_on_stopped(void *arg)
{
    ((struct sw *)arg)->stopped = 1;
}

/* Stops and frees everything. */
static void sw_free(struct sw *w)
{
    sched_shutdown(w->s, 1000, sw_on_stopped, w);
    while (!w->stopped)
        fake_loop_once(w->f);
    sched_free(w->s);
    deliver_free(w->dl);
    fake_out_free(w->f);
    conf_free(&w->c);
    free(w);
}

/* queue_barrier completion. */
static void sw_on_barrier(void *arg, int err)
{
    (void)err;
    *(int *)arg = 1;
}

/* Plays everything and lets every queue write complete, until nothing moves. */
static void sw_settle(struct sw *w)
{
    for (int round = 0; round < 100; round++) {
        int steps = fake_run(w->f), done = 0;
        queue_barrier(w->f->q, sw_on_barrier, &done);
        while (!done)
            event_base_loop(w->f->base, EVLOOP_ONCE);
        steps += fake_run(w->f);
        if (steps == 0)
            return;
    }
    fail_msg("still moving after 100 rounds");
}

/* Stores a message from sender to the comma-separated recipients (each RCPT_PENDING, or as
 * given by states) and returns its envelope as stored (rcpts freed by the caller). */
static void sw_store(struct sw *w, struct qmsg *m, const char *sender, const char *rcpts,
                     const uint8_t *states)
{
    static const char body[] = "Subject: t\r\nMessage-ID: <s@fake.test>\r\n\r\nhi\r\n";
    char *list = xstrdup(rcpts), *save = NULL;
    m->id = qid_next();
    m->arrival = m->arrival ? m->arrival : fake_clock;
    m->sender = (char *)sender;
    m->client_ip = "";
    m->helo = "client.test";
    m->envid = "";
    m->size = sizeof body - 1;
    m->rcpts = xcalloc(SW_RCPTS, sizeof *m->rcpts);
    for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        struct qrcpt *r = &m->rcpts[m->nrcpt];
        r->addr = xstrdup(t);
        r->state = states ? states[m->nrcpt] : RCPT_PENDING;
        r->attempts = r->state == RCPT_PENDING ? 0 : 1;
        r->last_reply = r->state == RCPT_FAILED ? "550 5.1.1 no such user" : "";
        r->orcpt = "";
        m->nrcpt++;
    }
    free(list);
    int done = 0, seen = 0;
    queue_put(w->f->q, m, xstrdup(body), sizeof body - 1, sw_on_barrier, &done);
    queue_barrier(w->f->q, sw_on_barrier, &seen); /* visible to queue_scan, not only durable */
    while (!done || !seen)
        event_base_loop(w->f->base, EVLOOP_ONCE);
}

/* Frees what sw_store allocated. */
static void sw_clear(struct qmsg *m)
{
    for (uint32_t i = 0; i < m->nrcpt; i++)
        free(m->rcpts[i].addr);
    free(m->rcpts);
}

/* Stores a message from s@src.test and hands it to the scheduler. */
static void sw_send(struct sw *w, const char *rcpts, uint32_t flags, int64_t deliver_by)
{
    struct qmsg m = {.flags = flags, .deliver_by = deliver_by};
    sw_store(w, &m, "s@src.test", rcpts, NULL);
    sched_add(w->s, &m, 0);
    sw_clear(&m);
}

/* queue_scan: the recipients of the (one) message kept. */
static int sw_on_scan(void *arg, const struct qmsg *m)
{
    struct qview *v = arg;
    v->nmsgs++;
    v->nrcpt = m->nrcpt;
    for (uint32_t i = 0; i < m->nrcpt && i < SW_RCPTS; i++) {
        v->state[i] = m->rcpts[i].state;
        v->flags[i] = m->rcpts[i].flags;
        v->attempts[i] = m->rcpts[i].attempts;
        v->next[i] = m->rcpts[i].next_attempt;
        snprintf(v->reply[i], sizeof v->reply[i], "%s", m->rcpts[i].last_reply);
    }
    return 0;
}

/* What the queue holds after everything settled. */
static struct qview sw_queue(struct sw *w)
{
    struct qview v = {0};
    sw_settle(w);
    assert_int_equal(queue_scan(w->f->q, sw_on_scan, &v), 0);
    return v;
}

/* The scheduler's counters. */
static struct sched_stats sw_stats(struct sw *w)
{
    struct sched_stats st;
    sched_get_stats(w->s, &st);
    return st;
}

/* Transactions to destination d, and the recipients they carried. */
static int sw_txns(const struct sw *w, int d, size_t *nrcpt)
{
    int n = 0;
    *nrcpt = 0;
    for (int i = 0; i < w->f->ntxns; i++)
        if (w->f->txns[i].dest == d) {
            n++;
            *nrcpt += w->f->txns[i].nrcpt;
        }
    return n;
}

/* queuecache: at most that many recipients are out of the heap at once, so one message's
 * recipients go out in slices even when maxrecips would take them all. */
static void test_queuecache_window(void **state)
{
    (void)state;
    struct {
        size_t nrcpt;
        unsigned queuecache, maxrecips;
        const char *want;
    } rows[] = {
        {10, 3, 50, "3,3,3,1"},
        {10, 50, 4, "4,4,2"},
        {5, 2, 1, "1,1,1,1,1"},
        {6, 6, 50, "6"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct sw *w = sw_new();
        w->c.deliver.queuecache = rows[i].queuecache;
        w->c.deliver.maxrecips = rows[i].maxrecips;
        sw_start(w);
        char list[SW_RCPTS * 16] = "";
        for (size_t k = 0; k < rows[i].nrcpt; k++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%su%zu@a.test", k ? "," : "",
                     k);
        sw_send(w, list, 0, 0);
        struct sched_stats st = sw_stats(w);
        if (st.active > rows[i].queuecache)
            fail_msg("row %zu: got %llu active, want <= %u", i, (unsigned long long)st.active,
                     rows[i].queuecache);
        struct qview v = sw_queue(w);
        char got[128] = "";
        size_t sizes[64];
        int n = w->f->ntxns;
        for (int t = 0; t < n; t++)
            sizes[t] = w->f->txns[t].nrcpt;
        for (int a = 1; a < n; a++) /* largest first */
            for (int b = a; b > 0 && sizes[b] > sizes[b - 1]; b--) {
                size_t x = sizes[b];
                sizes[b] = sizes[b - 1];
                sizes[b - 1] = x;
            }
        for (int t = 0; t < n; t++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%zu", t ? "," : "", sizes[t]);
        if (strcmp(got, rows[i].want) != 0)
            fail_msg("row %zu: got transactions %s, want %s", i, got, rows[i].want);
        st = sw_stats(w);
        assert_int_equal(st.delivered, rows[i].nrcpt);
        assert_int_equal(st.active + st.waiting, 0);
        assert_int_equal(v.nmsgs, 0); /* delivered: deleted */
        sw_free(w);
    }
}

/* One attempt of three recipients: delivered, deferred (retry time), failed (reported);
 * the report is stored and delivered to the sender's MX; the original stays queued for its
 * deferred recipient. */
static void test_outcomes_and_report(void **state)
{
    (void)state;
    struct sw *w = sw_new();
    sw_start(w);
    int64_t t0 = fake_clock;
    sw_send(w, "u@a.test,temp@a.test,perm@a.test", 0, 0);
    struct qview v = sw_queue(w);
    assert_int_equal(v.nmsgs, 1);
    struct {
        uint8_t state, flags;
        uint32_t attempts;
        const char *reply;
    } want[] = {
        {RCPT_DELIVERED, 0, 1, "250 2.0.0 ok"},
        {RCPT_DEFERRED, 0, 1, "451 4.2.0 try later"},
        {RCPT_FAILED, RCPT_F_REPORTED, 1, "550 5.1.1 no such user"},
    };
    for (int i = 0; i < 3; i++)
        if (v.state[i] != want[i].state || v.flags[i] != want[i].flags ||
            v.attempts[i] != want[i].attempts || strcmp(v.reply[i], want[i].reply) != 0)
            fail_msg("rcpt %d: got state %u flags %u attempts %u \"%s\", want %u %u %u \"%s\"", i,
                     v.state[i], v.flags[i], v.attempts[i], v.reply[i], want[i].state,
                     want[i].flags, want[i].attempts, want[i].reply);
    if (v.next[1] <= t0 || v.next[1] > t0 + 2 * 60000)
        fail_msg("deferred: got next attempt now%+lld ms, want within the first retry step",
                 (long long)(v.next[1] - t0));
    size_t n;
    assert_int_equal(sw_txns(w, 2, &n), 1); /* the report, to s@src.test */
    assert_int_equal(n, 1);
    struct sched_stats st = sw_stats(w);
    assert_int_equal(st.delivered, 2); /* u@a.test and the report */
    assert_int_equal(st.deferred, 1);
    assert_int_equal(st.bounced, 1);
    assert_int_equal(st.waiting, 1);
    for (int i = 0; i < w->f->ntxns; i++)
        if (w->f->txns[i].dest == 2)
            assert_string_equal(w->f->txns[i].sender, "");
    sw_free(w);
}

/* Double bounces: a failed message with the null sender owes its failure to double_bounce,
 * or a logged drop when there is none; either way the original is deleted. */
static void test_double_bounce(void **state)
{
    (void)state;
    struct {
        const char *double_bounce;
        int want_src_txns;
    } rows[] = {
        {"", 0},
        {"postmaster@src.test", 1},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct sw *w = sw_new();
        free(w->c.deliver.double_bounce);
        w->c.deliver.double_bounce = xstrdup(rows[i].double_bounce);
        sw_start(w);
        struct qmsg m = {0};
        sw_store(w, &m, "", "perm@a.test", NULL);
        sched_add(w->s, &m, 0);
        sw_clear(&m);
        struct qview v = sw_queue(w);
        size_t n;
        if (sw_txns(w, 2, &n) != rows[i].want_src_txns || v.nmsgs != 0)
            fail_msg("row %zu: got %d reports, %d messages queued, want %d, 0", i,
                     sw_txns(w, 2, &n), v.nmsgs, rows[i].want_src_txns);
        sw_free(w);
    }
}

/* A dead destination: the first refused connect is an attempt (written); mail released for
 * it while it is dead is postponed: no connect, no attempt counted, nothing written; after
 * the dead time it is an attempt again. */
static void test_dead_destination_postpones(void **state)
{
    (void)state;
    struct sw *w = sw_new();
    sw_start(w);
    w->f->dests[0].refuse = true;
    sw_send(w, "u@a.test", 0, 0);
    struct qview v = sw_queue(w);
    assert_int_equal(v.attempts[0], 1);
    assert_int_equal(w->f->dests[0].opened, 1);
    struct {
        int64_t advance;
        unsigned want_opened;
        uint32_t want_attempts;
        uint64_t want_deferred;
    } rows[] = {
        {0, 1, 1, 1}, /* ETRN within the dead time: postponed */
        {500, 1, 1, 1},
        {1001, 2, 2, 2}, /* past what ETRN left of it: a real attempt */
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        fake_clock += rows[i].advance;
        sched_flush_domain(w->s, "a.test", false);
        v = sw_queue(w);
        struct sched_stats st = sw_stats(w);
        if (w->f->dests[0].opened != rows[i].want_opened ||
            v.attempts[0] != rows[i].want_attempts || st.deferred != rows[i].want_deferred)
            fail_msg("row %zu: got %u opened, %u attempts, %llu deferred, want %u, %u, %llu", i,
                     w->f->dests[0].opened, v.attempts[0], (unsigned long long)st.deferred,
                     rows[i].want_opened, rows[i].want_attempts,
                     (unsigned long long)rows[i].want_deferred);
        assert_int_equal(st.waiting, 1);
    }
    sw_free(w);
}

/* Recovery: unfinished recipients wait delay_start; a failed recipient not yet reported
 * still owes its report, sent once the message's next attempt is over; a queue run makes
 * them due. */
static void test_recovery(void **state)
{
    (void)state;
    struct sw *w = sw_new();
    sw_start(w);
    static const uint8_t states[] = {RCPT_PENDING, RCPT_DEFERRED, RCPT_FAILED};
    struct qmsg m = {0};
    sw_store(w, &m, "s@src.test", "u@a.test,v@b.test,perm@a.test", states);
    sw_clear(&m);
    assert_int_equal(sched_recover(w->s), 0);
    while (sched_recovering(w->s))
        sw_settle(w);
    assert_int_equal(sw_stats(w).messages, 1);
    sw_settle(w);
    assert_int_equal(w->f->ntxns, 0); /* delay_start; the report waits for the message */
    sched_flush_domain(w->s, NULL, true);
    struct qview v = sw_queue(w);
    size_t n;
    assert_int_equal(sw_txns(w, 0, &n) + sw_txns(w, 1, &n), 2);
    assert_int_equal(sw_txns(w, 2, &n), 1); /* the report still owed */
    assert_int_equal(v.nmsgs, 0);
    sw_free(w);
}

/* Recovery in batches: the first batch (SCHED_RECOVER_BATCH messages) is in memory when sched_recover
 * returns, the rest comes from the loop; the last stored message, handed over by another
 * path before the scan reaches it (as the incoming poll does), is not recovered a second
 * time: every recipient is delivered exactly once and the queue ends empty. */
static void test_recovery_batches(void **state)
{
    (void)state;
    enum { N = SCHED_RECOVER_BATCH * 5 / 2 };
    struct sw *w = sw_new();
    w->c.deliver.delay_start = 0;
    sw_start(w);
    struct qmsg last = {0};
    for (int i = 0; i < N; i++) {
        struct qmsg m = {0};
        sw_store(w, i == N - 1 ? &last : &m, "s@src.test", i % 2 ? "u@a.test" : "v@b.test",
                 NULL);
        sw_clear(&m);
    }
    assert_int_equal(sched_recover(w->s), 0);
    assert_true(sched_recovering(w->s));
    assert_int_equal(sw_stats(w).messages, SCHED_RECOVER_BATCH);
    /* delivered and gone from memory while its queue records stay (writes held back) */
    char qid[QID_TEXT_LEN + 1];
    qid_to_text(last.id, qid);
    queue_group_begin(w->f->q);
    sched_add(w->s, &last, 0);
    sw_clear(&last);
    fake_run(w->f);
    assert_int_equal(sched_view(w->s, qid, NULL, NULL), -1);
    while (sched_recovering(w->s)) /* the scan passes it while its records are there */
        fake_loop_once(w->f);
    queue_group_end(w->f->q, NULL, NULL);
    struct qview v = sw_queue(w);
    struct sched_stats st = sw_stats(w);
    if (st.delivered != N || v.nmsgs != 0 || st.messages != 0)
        fail_msg("got %llu delivered, %d left queued, %llu in memory; want %d, 0, 0",
                 (unsigned long long)st.delivered, v.nmsgs, (unsigned long long)st.messages, N);
    sw_free(w);
}

/* DELIVERBY: a BY=;R message whose time passed fails at its next temporary failure (5.4.7,
 * reported); a BY=;N one stays queued and its sender gets a delay notice. */
static void test_deliverby(void **state)
{
    (void)state;
    struct {
        uint32_t flags;
        uint8_t want_state;
        const char *want_status;
    } rows[] = {
        {MSG_F_BY_RETURN, RCPT_FAILED, "Status: 5.4.7"},
        {MSG_F_BY_NOTIFY, RCPT_DEFERRED, "Status: 4.2.0"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct sw *w = sw_new();
        sw_start(w);
        sw_send(w, "temp@a.test,u@a.test", rows[i].flags, fake_clock - 1);
        struct qview v = sw_queue(w);
        size_t n;
        assert_int_equal(sw_txns(w, 2, &n), 1); /* failed or delayed: one report */
        const char *body = w->f->txns[w->f->ntxns - 1].body;
        if (!strstr(body, rows[i].want_status))
            fail_msg("row %zu: the report has no \"%s\":\n%s", i, rows[i].want_status, body);
        if (rows[i].want_state == RCPT_FAILED) {
            assert_int_equal(v.nmsgs, 0);
        } else {
            assert_int_equal(v.nmsgs, 1);
            assert_int_equal(v.state[0], rows[i].want_state);
            assert_int_equal(v.flags[0], RCPT_F_DELAY_REPORTED);
        }
        struct sched_stats st = sw_stats(w);
        /* R past its by-time: both returned at once, without an attempt (one report) */
        assert_int_equal(st.bounced, rows[i].want_state == RCPT_FAILED ? 2 : 0);
        sw_free(w);
    }
}

/* DELIVERBY ahead: a deferred recipient of a BY=;R message is due at the by-time, not at its
 * next retry; once that passes it is returned without another attempt (5.4.7). */
static void test_deliverby_timer(void **state)
{
    (void)state;
    struct sw *w = sw_new();
    sw_start(w);
    int64_t by = fake_clock + 30 * 1000; /* before the first retry (1 minute) */
    sw_send(w, "temp@a.test", MSG_F_BY_RETURN, by);
    struct qview v = sw_queue(w);
    assert_int_equal(v.nmsgs, 1);
    if (v.next[0] != by)
        fail_msg("got next attempt now%+lld ms, want the by-time now%+lld ms",
                 (long long)(v.next[0] - fake_clock), (long long)(by - fake_clock));
    size_t n, before = (size_t)sw_txns(w, 0, &n) + (size_t)sw_txns(w, 1, &n);
    fake_clock = by;
    sched_flush_domain(w->s, "a.test", false); /* the timer's work, without waiting for it */
    v = sw_queue(w);
    assert_int_equal(v.nmsgs, 0);
    assert_int_equal((size_t)sw_txns(w, 0, &n) + (size_t)sw_txns(w, 1, &n), before);
    assert_int_equal(sw_txns(w, 2, &n), 1);
    const char *body = w->f->txns[w->f->ntxns - 1].body;
    if (!strstr(body, "Status: 5.4.7"))
        fail_msg("the report has no \"Status: 5.4.7\":\n%s", body);
    sw_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_queuecache_window), cmocka_unit_test(test_outcomes_and_report),
        cmocka_unit_test(test_double_bounce),     cmocka_unit_test(test_dead_destination_postpones),
        cmocka_unit_test(test_recovery),
        cmocka_unit_test(test_recovery_batches),          cmocka_unit_test(test_deliverby),
        cmocka_unit_test(test_deliverby_timer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
