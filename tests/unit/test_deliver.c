/* test_deliver: the outbound side (deliver/) without sockets: recipients go in through
 * deliver_submit(), a fake router and a fake transport (fake_out.h) play the destinations,
 * a fake clock drives the dead-destination timer, and the outcomes coming back through
 * deliver_ops are recorded. Covered: transactions of at most maxrecips and the VERP split,
 * maxserverconnections, slow start with the queue ready at once, the learned concurrency cap
 * and its probe, dead destinations (and their revival by a queue run or ETRN), a parallel
 * relay's lanes handing their mail to their backups while their host is down, idle
 * connections (idlemax, and a parked one giving its slot up), the maxconnections FIFO,
 * routing failures and unreadable content. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conf/conf.h"
#include "core/qid.h"
#include "core/xalloc.h"
#include "deliver/deliver.h"
#include "fake_out.h"

#define TM_RCPTS 64
#define W_MSGS 256

/* A message as the scheduler would hand it over, with what came back for it. */
struct tmsg {
    struct deliver_msg d;
    struct deliver_rcpt r[TM_RCPTS];
    size_t n;
    int outcomes[TM_RCPTS]; /* how many outcomes each recipient got (must end at 1) */
    enum outcome o[TM_RCPTS];
    int64_t dead[TM_RCPTS];
    bool passed_on[TM_RCPTS];
    char reply[TM_RCPTS][80];
    char relay[TM_RCPTS][64];
    int released;
};

struct world {
    struct fake_out *f;
    struct conf c;
    struct deliver *dl;
    struct tmsg *msgs[W_MSGS];
    int nmsgs;
    int stopped;
};

/* deliver_ops.outcome: records one recipient's outcome. */
static void w_on_outcome(void *arg, struct deliver_rcpt *r, const struct deliver_result *res)
{
    (void)arg;
    struct tmsg *m = (struct tmsg *)((char *)r->msg - offsetof(struct tmsg, d));
    size_t i = (size_t)(r - m->r);
    m->outcomes[i]++;
    m->o[i] = res->o;
    m->dead[i] = res->dead_until;
    m->passed_on[i] = res->passed_on;
    snprintf(m->reply[i], sizeof m->reply[i], "%s", res->reply);
    snprintf(m->relay[i], sizeof m->relay[i], "%s", res->relay);
}

/* deliver_ops.released: counts. */
static void w_on_released(void *arg, struct deliver_msg *dm)
{
    (void)arg;
    ((struct tmsg *)((char *)dm - offsetof(struct tmsg, d)))->released++;
}

static const struct deliver_ops w_ops = {.outcome = w_on_outcome, .released = w_on_released};

/* A world with destinations a, b, c (a.test, b.test, c.test); test settings: idlemax 0,
 * no slow start. */
static struct world *w_new(void)
{
    struct world *w = xcalloc(1, sizeof *w);
    w->f = fake_out_create();
    conf_init(&w->c);
    w->c.deliver.idlemax = 0;
    w->c.deliver.initial_concurrency = 0; /* limits alone; slow start: test_shaping */
    fake_dest_add(w->f, "a");
    fake_dest_add(w->f, "b");
    fake_dest_add(w->f, "c");
    return w;
}

/* Creates the module once the test has set the configuration. */
static void w_start(struct world *w)
{
    w->dl = deliver_create(w->f->base, &w->c, w->f->q, &w->f->io);
    deliver_set_ops(w->dl, &w_ops, w);
}

/* Shutdown callback. */
static void w_on_stopped(void *arg)
{
    ((struct world *)arg)->stopped = 1;
}

/* Shuts down (every message must be settled by then) and frees everything. */
static void w_free(struct world *w)
{
    deliver_shutdown(w->dl, 1000, w_on_stopped, w);
    fake_run(w->f);
    assert_int_equal(w->stopped, 1);
    deliver_free(w->dl);
    for (int i = 0; i < w->nmsgs; i++) {
        struct tmsg *m = w->msgs[i];
        deliver_msg_clear(&m->d);
        for (size_t k = 0; k < m->n; k++)
            free(m->r[k].addr);
        free(m);
    }
    fake_out_free(w->f);
    conf_free(&w->c);
    free(w);
}

/* A message from s@src.test to the comma-separated recipients, its content in the queue
 * (or, with id 0, a content that does not exist). */
static struct tmsg *w_msg_id(struct world *w, const char *rcpts, uint64_t id)
{
    struct tmsg *m = xcalloc(1, sizeof *m);
    m->d.id = id;
    qid_to_text(id, m->d.qid);
    m->d.sender = "s@src.test";
    m->d.client_ip = "";
    m->d.envid = "";
    deliver_msg_init(w->dl, &m->d);
    char *list = xstrdup(rcpts), *save = NULL;
    for (char *t = strtok_r(list, ",", &save); t && m->n < TM_RCPTS;
         t = strtok_r(NULL, ",", &save)) {
        m->r[m->n].addr = xstrdup(t);
        m->r[m->n++].orcpt = "";
    }
    free(list);
    w->msgs[w->nmsgs++] = m;
    return m;
}

/* A message with a real content. */
static struct tmsg *w_msg(struct world *w, const char *rcpts)
{
    return w_msg_id(w, rcpts, fake_put_body(w->f));
}

/* Submits every recipient of m. */
static void w_submit(struct world *w, struct tmsg *m)
{
    for (size_t i = 0; i < m->n; i++)
        deliver_submit(w->dl, &m->d, &m->r[i]);
}

/* A message of n recipients uK@DOMAIN, submitted. */
static struct tmsg *w_send(struct world *w, const char *domain, size_t n)
{
    char list[TM_RCPTS * 32] = "";
    for (size_t i = 0; i < n; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%su%zu@%s", i ? "," : "", i,
                 domain);
    struct tmsg *m = w_msg(w, list);
    w_submit(w, m);
    return m;
}

/* Every recipient of every message got exactly one outcome, and delivery let go of all. */
static void w_all_settled(struct world *w)
{
    for (int i = 0; i < w->nmsgs; i++) {
        struct tmsg *m = w->msgs[i];
        for (size_t k = 0; k < m->n; k++)
            if (m->outcomes[k] != 1)
                fail_msg("msg %d rcpt %s: got %d outcomes, want 1", i, m->r[k].addr,
                         m->outcomes[k]);
        if (deliver_msg_busy(&m->d))
            fail_msg("msg %d: still held by delivery", i);
    }
}

/* Transaction sizes, largest first, as "3,3,1". */
static void w_txn_sizes(const struct world *w, char *out, size_t cap)
{
    size_t v[FAKE_TXNS_MAX];
    int n = w->f->ntxns;
    for (int i = 0; i < n; i++)
        v[i] = w->f->txns[i].nrcpt;
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && v[j] > v[j - 1]; j--) {
            size_t t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    out[0] = '\0';
    for (int i = 0; i < n; i++)
        snprintf(out + strlen(out), cap - strlen(out), "%s%zu", i ? "," : "", v[i]);
}

/* maxrecips: one message's recipients at one destination share transactions of at most
 * maxrecips; VERP gives each its own with its own sender; two destinations never share. */
static void test_maxrecips_and_verp(void **state)
{
    (void)state;
    struct {
        size_t na, nb;
        unsigned maxrecips;
        bool verp;
        const char *want;
    } rows[] = {
        {7, 0, 3, false, "3,3,1"},     {3, 0, 3, false, "3"},       {1, 0, 50, false, "1"},
        {5, 0, 1, false, "1,1,1,1,1"}, {50, 0, 50, false, "50"},    {51, 0, 50, false, "50,1"},
        {2, 2, 50, false, "2,2"},      {4, 0, 50, true, "1,1,1,1"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct world *w = w_new();
        w->c.deliver.maxrecips = rows[i].maxrecips;
        w->c.deliver.verp = rows[i].verp;
        w_start(w);
        char list[TM_RCPTS * 32] = "";
        for (size_t k = 0; k < rows[i].na + rows[i].nb; k++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%su%zu@%s", k ? "," : "", k,
                     k < rows[i].na ? "a.test" : "b.test");
        w_submit(w, w_msg(w, list));
        fake_run(w->f);
        char got[256];
        w_txn_sizes(w, got, sizeof got);
        if (strcmp(got, rows[i].want) != 0)
            fail_msg("row %zu: got transactions %s, want %s", i, got, rows[i].want);
        for (int t = 0; rows[i].verp && t < w->f->ntxns; t++) {
            char want[128];
            const char *r = w->f->txns[t].rcpt0;
            snprintf(want, sizeof want, "s+%.*s=a.test@src.test", (int)(strchr(r, '@') - r), r);
            if (strcmp(w->f->txns[t].sender, want) != 0)
                fail_msg("row %zu: got VERP sender %s, want %s", i, w->f->txns[t].sender, want);
        }
        w_all_settled(w);
        w_free(w);
    }
}

/* maxserverconnections: never more connections to one destination at once; no connection
 * is opened without a transaction for it. */
static void test_maxserverconnections(void **state)
{
    (void)state;
    struct {
        int msgs;
        unsigned max;
        unsigned want_opened;
    } rows[] = {
        {10, 3, 3}, {2, 5, 2}, {1, 1, 1}, {10, 1, 1}, {20, 20, 20},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct world *w = w_new();
        w->c.deliver.maxserverconnections = rows[i].max;
        w_start(w);
        for (int k = 0; k < rows[i].msgs; k++)
            w_send(w, "a.test", 1);
        fake_run(w->f);
        struct fake_dest *a = &w->f->dests[0];
        if (a->opened != rows[i].want_opened || a->peak_open > rows[i].max)
            fail_msg("row %zu: got %u opened, peak %u, want %u opened, peak <= %u", i, a->opened,
                     a->peak_open, rows[i].want_opened, rows[i].max);
        assert_int_equal(w->f->ntxns, rows[i].msgs);
        w_all_settled(w);
        w_free(w);
    }
}

/* Slow start with the whole queue ready at once (a resume, a flush, a restart: no new
 * submission comes to dispatch the destination again): each established session grows
 * the window and opens the connections it allows at once, up to maxserverconnections,
 * instead of only when a connection ends. */
static void test_slow_start_queue_ready(void **state)
{
    (void)state;
    struct {
        unsigned initial, max, maxmessages;
        int msgs;
        unsigned want_peak;
    } rows[] = {
        {1, 8, 100, 80, 8}, {1, 10, 1000, 200, 10}, {2, 5, 100, 40, 5}, {1, 4, 2, 40, 4},
        {1, 3, 100, 2, 2}, /* no more connections than ready transactions */
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct world *w = w_new();
        w->c.deliver.initial_concurrency = rows[i].initial;
        w->c.deliver.maxserverconnections = rows[i].max;
        w->c.deliver.maxmessages = rows[i].maxmessages;
        w_start(w);
        for (int k = 0; k < rows[i].msgs; k++)
            w_send(w, "a.test", 1);
        fake_run(w->f);
        struct fake_dest *a = &w->f->dests[0];
        if (a->peak_sessions != rows[i].want_peak)
            fail_msg("row %zu: got a peak of %u sessions, want %u", i, a->peak_sessions,
                     rows[i].want_peak);
        assert_int_equal(w->f->ntxns, rows[i].msgs);
        w_all_settled(w);
        w_free(w);
    }
}

/* The learned cap: a destination that takes only 2 sessions at once (421 beyond) is capped
 * at 2 after the first burst and holds there; after SLOWSTART_PROBE_MIN (256) good sessions
 * at the cap one more connection is tried (the probe), which is refused and brings the cap
 * back to 2; the next probe waits twice as many sessions (512). Nothing is deferred. A
 * destination that goes dead forgets its cap. */
static void w_reap(struct world *w);

static void test_learned_cap_and_probe(void **state)
{
    (void)state;
    struct world *w = w_new();
    w->c.deliver.maxserverconnections = 5;
    w_start(w);
    struct fake_dest *a = &w->f->dests[0];
    a->limit = 2;
    unsigned sessions = 0, probes = 0, at[2] = {0, 0};
    for (size_t p = 0; probes < 2 && p < 1000; p++) {
        unsigned opened = a->opened, refused = a->refused;
        for (int k = 0; k < 20; k++)
            w_send(w, "a.test", 1);
        fake_run(w->f);
        w_reap(w);
        unsigned o = a->opened - opened, r = a->refused - refused;
        if (p == 0 && (o != 5 || r != 3)) /* maxserverconnections 5: 2 sessions, cap 2 */
            fail_msg("first burst: got %u opened, %u refused, want 5, 3", o, r);
        if (p > 0 && r > 1)
            fail_msg("phase %zu: got %u refused, want at most 1 (a probe)", p, r);
        sessions += o - r;
        if (p > 0 && r == 1)
            at[probes++] = sessions;
        if (p == 0)
            sessions = 0;
    }
    /* the probe comes after 256 sessions at the cap (give or take the phase's 2), the next
     * after 512 more */
    if (probes != 2 || at[0] < 256 || at[0] > 259 || at[1] - at[0] < 512 || at[1] - at[0] > 515)
        fail_msg("got %u probes, after %u and %u sessions; want 2, after 256..259 and 512..515 "
                 "more", probes, at[0], at[1]);
    assert_int_equal(a->peak_sessions, 2);
    for (int i = 0; i < w->nmsgs; i++)
        assert_int_equal(w->msgs[i]->o[0], OUTCOME_OK);
    /* Every connect refused: the destination is dead and its cap is forgotten, so once it
     * takes mail again it gets maxserverconnections at once. */
    a->refuse = true;
    struct tmsg *m = w_send(w, "a.test", 1);
    fake_run(w->f);
    assert_int_equal(m->o[0], OUTCOME_TEMPFAIL);
    a->refuse = false;
    a->limit = 0;
    deliver_revive(w->dl, NULL);
    unsigned opened = a->opened;
    for (int k = 0; k < 20; k++)
        w_send(w, "a.test", 1);
    fake_run(w->f);
    assert_int_equal(a->opened - opened, 5);
    w_all_settled(w);
    w_free(w);
}

/* Frees the messages sent so far, each settled and delivered (a long run in rounds). */
static void w_reap(struct world *w)
{
    w_all_settled(w);
    for (int i = 0; i < w->nmsgs; i++) {
        struct tmsg *m = w->msgs[i];
        if (m->o[0] != OUTCOME_OK)
            fail_msg("msg %d: got outcome %d (%s), want OK", i, m->o[0], m->reply[0]);
        deliver_msg_clear(&m->d);
        for (size_t k = 0; k < m->n; k++)
            free(m->r[k].addr);
        free(m);
    }
    w->nmsgs = 0;
}

/* Learning a limit without waste: 20,000 messages, one per connection, to a destination
 * that takes 2 sessions at once (maxserverconnections 5, no policy saying so). The limit is
 * learned in the first burst (3 refused), the cap holds (no probe in the first 200
 * sessions), the probes back off (after 256, 512, 1024, ... sessions), and at most 1 % of
 * all connections are refused;
 * the cap is still probed in the second half (not frozen). */
static void test_learned_cap_long_run(void **state)
{
    (void)state;
    struct world *w = w_new();
    w->c.deliver.maxserverconnections = 5;
    w->c.deliver.maxmessages = 1;
    w_start(w);
    struct fake_dest *a = &w->f->dests[0];
    a->limit = 2;
    unsigned first = 0, half = 0;
    for (int round = 0; round < 100; round++) {
        for (int k = 0; k < 200; k++)
            w_send(w, "a.test", 1);
        fake_run(w->f);
        w_reap(w);
        if (round == 0)
            first = a->refused;
        if (round == 49)
            half = a->refused;
    }
    unsigned sessions = a->opened - a->refused;
    if (sessions != 20000 || a->refused * 100 > a->opened || first < 3 || first > 10 ||
        a->refused == half || a->peak_sessions != 2)
        fail_msg("got %u sessions, %u refused of %u opened (%u in the first round, %u after "
                 "the first half), peak %u; want 20000, <= 1 %%, 3..10, more, 2",
                 sessions, a->refused, a->opened, first, half, a->peak_sessions);
    w_free(w);
}

/* A dead destination: the first refused connect defers (an attempt); until retries[0] *
 * interval has passed, mail for it is postponed without a connect; then it is tried again.
 * A queue run revives it at once, ETRN at most once a second; a 5xx greeting bounces and
 * does not make it dead. */
static void test_dead_destination(void **state)
{
    (void)state;
    enum { SEND, RUN_ALL, ETRN };
    struct {
        int act;
        int64_t advance;
        unsigned want_opened;
        int want_o;
        bool want_dead;
    } rows[] = {
        {SEND, 0, 1, OUTCOME_TEMPFAIL, false},   /* refused: deferred, now dead */
        {SEND, 1000, 1, OUTCOME_TEMPFAIL, true}, /* postponed, no connect */
        {SEND, 58000, 1, OUTCOME_TEMPFAIL, true},
        {SEND, 1001, 2, OUTCOME_TEMPFAIL, false}, /* 60 s passed: tried again */
        {SEND, 0, 2, OUTCOME_TEMPFAIL, true},
        {RUN_ALL, 0, 3, OUTCOME_TEMPFAIL, false}, /* queue run: tried at once */
        {ETRN, 0, 3, OUTCOME_TEMPFAIL, true},     /* ETRN: not before a second */
        {ETRN, 1000, 4, OUTCOME_TEMPFAIL, false},
    };
    struct world *w = w_new();
    w_start(w);
    struct fake_dest *a = &w->f->dests[0];
    a->refuse = true;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        fake_clock += rows[i].advance;
        if (rows[i].act == RUN_ALL)
            deliver_revive(w->dl, NULL);
        if (rows[i].act == ETRN)
            deliver_revive(w->dl, "a.test");
        struct tmsg *m = w_send(w, "a.test", 1);
        fake_run(w->f);
        if (a->opened != rows[i].want_opened || (int)m->o[0] != rows[i].want_o ||
            (m->dead[0] != 0) != rows[i].want_dead)
            fail_msg("row %zu: got %u opened, outcome %d, dead_until %+lld, want %u, %d, %s", i,
                     a->opened, m->o[0], (long long)(m->dead[0] ? m->dead[0] - fake_clock : 0),
                     rows[i].want_opened, rows[i].want_o, rows[i].want_dead ? "dead" : "none");
        if (m->dead[0] && m->dead[0] > fake_clock + 60000)
            fail_msg("row %zu: dead until now%+lld, want at most a minute", i,
                     (long long)(m->dead[0] - fake_clock));
        assert_string_equal(m->reply[0], "4.4.1 connection refused");
        assert_string_equal(m->relay[0], "none");
    }
    a->refuse_perm = true; /* 5xx greetings: bounced, and tried again for the next mail */
    fake_clock += 60001;
    for (unsigned k = 0; k < 2; k++) {
        struct tmsg *m = w_send(w, "a.test", 1);
        fake_run(w->f);
        assert_int_equal(m->o[0], OUTCOME_PERMFAIL);
        assert_int_equal(m->dead[0], 0);
        assert_int_equal(a->opened, 5 + k);
    }
    w_all_settled(w);
    w_free(w);
}

/* idlemax: a connection without work waits for more mail to its destination (reused: no
 * new connection), and ends once idlemax passes; with idlemax 0 it ends at once. */
static void test_idlemax(void **state)
{
    (void)state;
    struct world *w = w_new();
    w->c.deliver.idlemax = 30; /* ms of the real loop's timer */
    w_start(w);
    struct fake_dest *a = &w->f->dests[0];
    w_send(w, "a.test", 1);
    fake_run(w->f);
    assert_int_equal(fake_open_conns(w->f), 1); /* parked */
    w_send(w, "a.test", 2);
    fake_run(w->f);
    assert_int_equal(a->opened, 1);
    assert_int_equal(w->f->ntxns, 2);
    assert_int_equal(w->f->txns[1].conn, w->f->txns[0].conn);
    while (fake_open_conns(w->f) > 0)
        fake_loop_once(w->f); /* the idle timer ends it */
    assert_int_equal(a->opened, 1);
    w_send(w, "a.test", 1);
    fake_run(w->f);
    assert_int_equal(a->opened, 2);
    w_all_settled(w);
    w_free(w);

    w = w_new(); /* idlemax 0 */
    w_start(w);
    w_send(w, "a.test", 1);
    fake_run(w->f);
    assert_int_equal(fake_open_conns(w->f), 0);
    w_all_settled(w);
    w_free(w);
}

/* The transaction order of the destinations, as "aab". */
static void w_txn_order(const struct world *w, char *out, size_t cap)
{
    int n = w->f->ntxns < (int)cap - 1 ? w->f->ntxns : (int)cap - 1;
    for (int i = 0; i < n; i++)
        out[i] = w->f->dests[w->f->txns[i].dest].name[0];
    out[n] = '\0';
}

/* maxconnections: never more connections in all; destinations that find no slot are served
 * in the order they asked, and one whose connection just ended queues behind them. */
static void test_maxconnections_fifo(void **state)
{
    (void)state;
    struct {
        unsigned max;
        const char *sends;
        const char *want;
    } rows[] = {
        {1, "aaabc", "aabca"},
        {2, "aaaabc", "aaabca"},
        {1, "abcabc", "abcabc"},
        {3, "aaabc", "aaabc"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct world *w = w_new();
        w->c.deliver.maxconnections = rows[i].max;
        w->c.deliver.maxmessages = 1;
        w_start(w);
        for (const char *p = rows[i].sends; *p; p++) {
            char dom[16];
            snprintf(dom, sizeof dom, "%c.test", *p);
            w_send(w, dom, 1);
        }
        fake_run(w->f);
        char got[64];
        w_txn_order(w, got, sizeof got);
        if (strcmp(got, rows[i].want) != 0 || w->f->peak_open > rows[i].max)
            fail_msg("row %zu: got order %s, peak %u, want %s, peak <= %u", i, got, w->f->peak_open,
                     rows[i].want, rows[i].max);
        w_all_settled(w);
        w_free(w);
    }
}

/* A parked connection gives its slot up when another destination needs one. */
static void test_idle_connection_gives_slot(void **state)
{
    (void)state;
    struct world *w = w_new();
    w->c.deliver.maxconnections = 1;
    w->c.deliver.idlemax = 60000;
    w_start(w);
    w_send(w, "a.test", 1);
    fake_run(w->f);
    assert_int_equal(fake_open_conns(w->f), 1); /* a's, parked */
    w_send(w, "b.test", 1);
    fake_run(w->f);
    assert_int_equal(w->f->ntxns, 2);
    assert_int_equal(w->f->txns[1].dest, 1);
    assert_int_equal(w->f->dests[0].open, 0);
    assert_int_equal(w->f->peak_open, 1);
    w_all_settled(w);
    w_free(w);
}

/* Routing failures, a destination without addresses and unreadable content are outcomes
 * without a connection; the Message-ID of the content is noted for the audit log; the DSN
 * announcement of the next hop comes back as passed_on. */
static void test_failures_without_connection(void **state)
{
    (void)state;
    struct world *w = w_new();
    w_start(w);
    int nohost = fake_dest_add(w->f, "nohost");
    w->f->dests[nohost].d.nhosts = 0;
    w->f->dests[1].dsn = true;
    struct tmsg *m = w_msg(w, "u@nowhere.test,u@nohost.test,u@a.test,temp@b.test,perm@b.test");
    struct tmsg *lost = w_msg_id(w, "u@a.test", qid_next());
    w_submit(w, m);
    w_submit(w, lost);
    fake_run(w->f);
    struct {
        size_t i;
        int o;
        const char *reply, *relay;
        bool passed_on;
    } rows[] = {
        {0, OUTCOME_PERMFAIL, "5.4.4 no such domain", "none", false},
        {1, OUTCOME_TEMPFAIL, "4.4.4 no address for any host of the destination", "none", false},
        {2, OUTCOME_OK, "250 2.0.0 ok", "a[127.0.0.1]:25", false},
        {3, OUTCOME_TEMPFAIL, "451 4.2.0 try later", "b[127.0.0.1]:25", true},
        {4, OUTCOME_PERMFAIL, "550 5.1.1 no such user", "b[127.0.0.1]:25", true},
    };
    for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
        size_t i = rows[k].i;
        if ((int)m->o[i] != rows[k].o || strcmp(m->reply[i], rows[k].reply) != 0 ||
            strcmp(m->relay[i], rows[k].relay) != 0 || m->passed_on[i] != rows[k].passed_on)
            fail_msg("%s: got %d \"%s\" via %s (passed on %d), want %d \"%s\" via %s", m->r[i].addr,
                     m->o[i], m->reply[i], m->relay[i], m->passed_on[i], rows[k].o, rows[k].reply,
                     rows[k].relay);
    }
    assert_int_equal(lost->o[0], OUTCOME_TEMPFAIL);
    assert_string_equal(lost->reply[0], "4.3.0 queue read error");
    assert_string_equal(m->d.msgid, "<m@fake.test>");
    assert_int_equal(w->f->dests[nohost].opened, 0);
    w_all_settled(w);
    w_free(w);
}

/* Shutdown: parked connections end at once, a transaction in flight is abandoned after the
 * grace period (its recipients TEMPFAIL), and done runs once no connection is left. */
static void test_shutdown(void **state)
{
    (void)state;
    struct world *w = w_new();
    w->c.deliver.idlemax = 60000;
    w_start(w);
    w_send(w, "a.test", 1);
    fake_run(w->f);
    assert_int_equal(fake_open_conns(w->f), 1);
    struct tmsg *m = w_send(w, "b.test", 1);
    fake_run_for(w->f, 1); /* routed, connected, transaction taken, not played */
    assert_int_equal(m->outcomes[0], 0);
    deliver_shutdown(w->dl, 10, w_on_stopped, w);
    assert_int_equal(w->stopped, 0);
    while (!w->stopped)
        fake_loop_once(w->f);
    assert_int_equal(fake_open_conns(w->f), 0);
    assert_int_equal(m->o[0], OUTCOME_TEMPFAIL);
    assert_string_equal(m->reply[0], "4.3.0 connection aborted (shutdown)");
    w_all_settled(w);
    deliver_free(w->dl);
    w->dl = NULL;
    for (int i = 0; i < w->nmsgs; i++) {
        deliver_msg_clear(&w->msgs[i]->d);
        free(w->msgs[i]->r[0].addr);
        free(w->msgs[i]);
    }
    fake_out_free(w->f);
    conf_free(&w->c);
    free(w);
}


/* Loads deliver settings over the world's configuration (before w_start). */
static void w_conf(struct world *w, const char *text)
{
    char err[512];
    if (conf_load_text("t.conf", text, strlen(text), &w->c, err, sizeof err) < 0)
        fail_msg("config: %s", err);
    w->c.deliver.idlemax = 0;
}

/* deliver.policies: a.test (domain glob) gets its own maxserverconnections, maxmessages and
 * maxrecips, b's MX host (mx:) its own maxserverconnections; c keeps the deliver values. */
static void test_policy_per_destination(void **state)
{
    (void)state;
    struct world *w = w_new();
    w_conf(w, "deliver = { maxserverconnections = 4; policies = ("
              " { match = [\"smtp/a.*\"]; maxserverconnections = 1; maxmessages = 2;"
              "   maxrecips = 3; },"
              " { match = [\"mx:b\"]; maxserverconnections = 2; } ); };");
    w_start(w);
    for (int k = 0; k < 8; k++) {
        w_send(w, "a.test", 7);
        w_send(w, "b.test", 1);
        w_send(w, "c.test", 1);
    }
    fake_run(w->f);
    struct fake_dest *a = &w->f->dests[0], *b = &w->f->dests[1], *c = &w->f->dests[2];
    if (a->peak_open != 1 || b->peak_open != 2 || c->peak_open != 4)
        fail_msg("got peaks a %u b %u c %u, want 1 2 4", a->peak_open, b->peak_open,
                 c->peak_open);
    unsigned atxn = 0;
    for (int i = 0; i < w->f->ntxns; i++)
        if (w->f->txns[i].dest == 0) {
            atxn++;
            assert_true(w->f->txns[i].nrcpt <= 3);
        }
    assert_int_equal(atxn, 8 * 3); /* 7 recipients: 3 + 3 + 1 */
    assert_int_equal(a->opened, 12); /* 24 transactions, 2 per connection */
    w_all_settled(w);
    w_free(w);
}

/* Lanes of a parallel relay (route.h): a.test's destination is a lane with backups b, c
 * (listed order). While a's host is down its transactions are handed to the first backup
 * that is not, and sent on that backup's own connections (never more than its
 * maxserverconnections, in transactions of its own maxrecips); a transaction is handed on
 * at most once per backup, so with every host down each recipient gets exactly one
 * TEMPFAIL (or, 5xx greetings, PERMFAIL) and nothing circles. */
static void test_lane_handover(void **state)
{
    (void)state;
    enum { UP, REFUSE, PERM };
    struct {
        int down[3];        /* a, b, c */
        unsigned b_maxrecips; /* a policy block for b's host (mx:b); 0: none */
        const char *want;   /* recipients sent at a, b, c; b's largest transaction; outcome */
    } rows[] = {
        {{UP, UP, UP}, 0, "a=30 b=0 c=0 bmax=0 OK"},
        {{REFUSE, UP, UP}, 0, "a=0 b=30 c=0 bmax=5 OK"},
        {{REFUSE, REFUSE, UP}, 0, "a=0 b=0 c=30 bmax=0 OK"},
        {{REFUSE, REFUSE, REFUSE}, 0, "a=0 b=0 c=0 bmax=0 TEMPFAIL"},
        {{PERM, UP, UP}, 0, "a=0 b=30 c=0 bmax=5 OK"},
        {{PERM, PERM, PERM}, 0, "a=0 b=0 c=0 bmax=0 PERMFAIL"},
        {{REFUSE, UP, UP}, 2, "a=0 b=30 c=0 bmax=2 OK"}, /* split to b's maxrecips */
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct world *w = w_new();
        char conf[256];
        snprintf(conf, sizeof conf,
                 "deliver = { maxserverconnections = 2; maxrecips = 5; %s };",
                 rows[i].b_maxrecips ? "policies = ( { match = [\"mx:b\"]; maxrecips = 2; } );"
                                     : "");
        w_conf(w, conf);
        w->c.deliver.initial_concurrency = 0;
        struct dest *bk[3][2];
        for (int k = 0; k < 3; k++) {
            struct fake_dest *fd = &w->f->dests[k];
            bk[k][0] = &w->f->dests[(k + 1) % 3].d;
            bk[k][1] = &w->f->dests[(k + 2) % 3].d;
            fd->d.lane = 1;
            fd->d.backups = bk[k];
            fd->d.nbackups = 2;
            fd->refuse = rows[i].down[k] != UP;
            fd->refuse_perm = rows[i].down[k] == PERM;
        }
        w_start(w);
        for (int k = 0; k < 3; k++)
            w_send(w, "a.test", 10);
        fake_run(w->f);
        size_t sent[3] = {0}, bmax = 0;
        for (int t = 0; t < w->f->ntxns; t++) {
            sent[w->f->txns[t].dest] += w->f->txns[t].nrcpt;
            if (w->f->txns[t].dest == 1 && w->f->txns[t].nrcpt > bmax)
                bmax = w->f->txns[t].nrcpt;
        }
        int o = w->msgs[0]->o[0];
        for (int m = 0; m < w->nmsgs; m++)
            for (size_t r = 0; r < w->msgs[m]->n; r++)
                if ((int)w->msgs[m]->o[r] != o)
                    o = -1;
        char got[128];
        snprintf(got, sizeof got, "a=%zu b=%zu c=%zu bmax=%zu %s", sent[0], sent[1], sent[2],
                 bmax, o == OUTCOME_OK ? "OK" : o == OUTCOME_TEMPFAIL ? "TEMPFAIL"
                       : o == OUTCOME_PERMFAIL ? "PERMFAIL" : "mixed");
        if (strcmp(got, rows[i].want) != 0)
            fail_msg("row %zu: got %s, want %s", i, got, rows[i].want);
        for (int k = 0; k < 3; k++)
            if (w->f->dests[k].peak_open > 2)
                fail_msg("row %zu: dest %d had %u connections at once, want <= 2", i, k,
                         w->f->dests[k].peak_open);
        w_all_settled(w);
        w_free(w);
    }
}

/* Reply rules act on the destination: "suspend" postpones its ready transactions without a
 * connect until the time (then it is tried again), "bounce" fails them (5.0.0). */
static void test_rules_suspend_and_bounce(void **state)
{
    (void)state;
    struct world *w = w_new();
    w_conf(w, "deliver = { maxserverconnections = 1; rules = ("
              " { match = \"^451 4\\\\.2\\\\.0\"; at = \"rcpt\"; action = \"suspend\"; duration = \"30s\"; },"
              " { match = \"^550 5\\\\.1\\\\.1\"; at = \"rcpt\"; action = \"bounce\"; } ); };");
    w_start(w);
    struct fake_dest *a = &w->f->dests[0];
    struct tmsg *m1 = w_msg(w, "temp@a.test");
    struct tmsg *m2 = w_msg(w, "ok@a.test");
    w_submit(w, m1);
    w_submit(w, m2);
    fake_run(w->f);
    assert_int_equal(a->opened, 1);
    assert_int_equal(w->f->ntxns, 1); /* the second was not sent: suspended */
    assert_int_equal(m2->o[0], OUTCOME_TEMPFAIL);
    assert_int_equal(m2->dead[0], fake_clock + 30000);
    fake_clock += 29999;
    struct tmsg *m3 = w_send(w, "a.test", 1);
    fake_run(w->f);
    assert_int_equal(a->opened, 1);
    assert_int_equal(m3->dead[0], fake_clock + 1);
    fake_clock += 1;
    struct tmsg *m4 = w_send(w, "a.test", 1);
    fake_run(w->f);
    assert_int_equal(a->opened, 2);
    assert_int_equal(m4->o[0], OUTCOME_OK);
    /* bounce: b's first transaction gets 550, the ones ready behind it fail */
    struct tmsg *b1 = w_msg(w, "perm@b.test"), *b2 = w_msg(w, "x@b.test"), *b3 = w_msg(w, "y@b.test");
    w_submit(w, b1);
    w_submit(w, b2);
    w_submit(w, b3);
    fake_run(w->f);
    assert_int_equal(b1->o[0], OUTCOME_PERMFAIL);
    assert_int_equal(b2->o[0], OUTCOME_PERMFAIL);
    assert_non_null(strstr(b2->reply[0], "5.0.0 refused by the destination (deliver.rules[1]): 550"));
    assert_int_equal(b3->o[0], OUTCOME_PERMFAIL);
    w_all_settled(w);
    w_free(w);
}

/* queueonly: mail is held (postponed, no connect) until a queue run or ETRN releases the
 * destination; other destinations are not held. */
static void test_queueonly(void **state)
{
    (void)state;
    struct world *w = w_new();
    w_conf(w, "deliver = { policies = ( { match = [\"a.test\"]; queueonly = true; } ); };");
    w_start(w);
    struct fake_dest *a = &w->f->dests[0];
    struct tmsg *m = w_send(w, "a.test", 1), *o = w_send(w, "b.test", 1);
    fake_run(w->f);
    assert_int_equal(a->opened, 0);
    assert_int_equal(m->o[0], OUTCOME_TEMPFAIL);
    assert_true(m->dead[0] > fake_clock);
    assert_non_null(strstr(m->reply[0], "queue-only"));
    assert_int_equal(o->o[0], OUTCOME_OK);
    deliver_revive(w->dl, "a.test"); /* ETRN */
    m = w_send(w, "a.test", 1);
    fake_run(w->f);
    assert_int_equal(a->opened, 1);
    assert_int_equal(m->o[0], OUTCOME_OK);
    w_all_settled(w);
    w_free(w);
}

/* msgs_per_second: with the fake clock standing still one message goes (the bucket of
 * one), then one more per 1/rate of fake time; the connection waits open for its token;
 * the other destinations are not slowed. */
static void test_message_rate(void **state)
{
    (void)state;
    struct world *w = w_new();
    w_conf(w, "deliver = { maxserverconnections = 1; policies = ("
              " { match = [\"a.test\"]; msgs_per_second = 50.0; } ); };");
    w_start(w);
    struct fake_dest *a = &w->f->dests[0];
    for (int k = 0; k < 5; k++)
        w_send(w, "a.test", 1);
    for (int k = 0; k < 20; k++)
        w_send(w, "b.test", 1);
    fake_run(w->f);
    unsigned at = 0, bt = 0;
    for (int i = 0; i < w->f->ntxns; i++)
        w->f->txns[i].dest == 0 ? at++ : bt++;
    assert_int_equal(at, 1);
    assert_int_equal(bt, 20);
    for (int step = 2; step <= 5; step++) {
        fake_clock += 20;
        while (w->f->ntxns < 20 + step)
            fake_loop_once(w->f); /* the token timer */
    }
    assert_int_equal(a->opened, 1);
    w_all_settled(w);
    w_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_maxrecips_and_verp),
        cmocka_unit_test(test_maxserverconnections),
        cmocka_unit_test(test_policy_per_destination),
        cmocka_unit_test(test_lane_handover),
        cmocka_unit_test(test_rules_suspend_and_bounce),
        cmocka_unit_test(test_queueonly),
        cmocka_unit_test(test_message_rate),
        cmocka_unit_test(test_slow_start_queue_ready),
        cmocka_unit_test(test_learned_cap_and_probe),
        cmocka_unit_test(test_learned_cap_long_run),
        cmocka_unit_test(test_dead_destination),
        cmocka_unit_test(test_idlemax),
        cmocka_unit_test(test_maxconnections_fifo),
        cmocka_unit_test(test_idle_connection_gives_slot),
        cmocka_unit_test(test_failures_without_connection),
        cmocka_unit_test(test_shutdown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
