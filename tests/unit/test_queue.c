/* test_queue: the LMDB queue in daemon mode (real event_base, writer thread, group commit)
 * and tool mode (put_sync from another process, take_incoming, the wake-up socket), plus
 * durability across close/open, scans in batches and damaged records being skipped. Each test works in its
 * own mkdtemp directory under /tmp, removed afterwards. */
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <lmdb.h>

#include "queue/queue.h"

#define MAXDONE 512

/* Records done callbacks in the order they ran. */
struct tracker {
    struct event_base *base;
    int n;
    int tags[MAXDONE];
    int errs[MAXDONE];
    int timed_out;
    int woken;
};

/* What a done callback gets: its tracker and a tag naming the op. */
struct ticket {
    struct tracker *t;
    int tag;
};

/* Per-test state. */
struct fixture {
    char dir[64];
    char spool[96];
    struct event_base *base;
    struct queue *q;
    struct tracker t;
    struct ticket tickets[MAXDONE];
};

/* Collected copy of what scan/take_incoming passed (recipient fields are of rcpts[1]). */
struct seen {
    int n;
    uint64_t ids[MAXDONE];
    uint32_t nrcpt[MAXDONE];
    uint32_t flags[MAXDONE];
    int64_t deliver_by[MAXDONE];
    uint8_t state1[MAXDONE];
    uint8_t notify1[MAXDONE];
    uint8_t rflags1[MAXDONE];
    char sender[MAXDONE][64];
    char envid[MAXDONE][64];
    char reply1[MAXDONE][64];
    char orcpt1[MAXDONE][64];
};

/* Done callback: appends (tag, err). */
static void on_done(void *arg, int err)
{
    struct ticket *tk = arg;
    struct tracker *t = tk->t;
    if (t->n < MAXDONE) {
        t->tags[t->n] = tk->tag;
        t->errs[t->n] = err;
    }
    t->n++;
}

/* Safety net: a test that waits too long fails instead of hanging. */
static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    ((struct tracker *)arg)->timed_out = 1;
}

/* Wake-up socket callback. */
static void on_wake(void *arg, int flush)
{
    (void)flush;
    ((struct tracker *)arg)->woken++;
}

/* Runs the loop until `want` done callbacks (or a wake-up, for want < 0) have happened. */
static void wait_until(struct tracker *t, int want)
{
    struct event *to = evtimer_new(t->base, on_timeout, t);
    struct timeval tv = {20, 0};
    evtimer_add(to, &tv);
    while (!t->timed_out && (want >= 0 ? t->n < want : t->woken == 0))
        event_base_loop(t->base, EVLOOP_ONCE);
    event_free(to);
    if (t->timed_out)
        fail_msg("timed out: got %d done callbacks, want %d", t->n, want);
}

/* Scan/take callback: copies what the tests compare. */
static int on_msg(void *arg, const struct qmsg *m)
{
    struct seen *s = arg;
    if (s->n >= MAXDONE)
        return -1;
    s->ids[s->n] = m->id;
    s->nrcpt[s->n] = m->nrcpt;
    s->flags[s->n] = m->flags;
    s->deliver_by[s->n] = m->deliver_by;
    snprintf(s->sender[s->n], sizeof s->sender[0], "%s", m->sender);
    snprintf(s->envid[s->n], sizeof s->envid[0], "%s", m->envid);
    if (m->nrcpt > 1) {
        const struct qrcpt *r = &m->rcpts[1];
        s->state1[s->n] = r->state;
        s->notify1[s->n] = r->notify;
        s->rflags1[s->n] = r->flags;
        snprintf(s->reply1[s->n], sizeof s->reply1[0], "%s", r->last_reply);
        snprintf(s->orcpt1[s->n], sizeof s->orcpt1[0], "%s", r->orcpt);
    }
    s->n++;
    return 0;
}

/* Scan callback that stops after the first message. */
static int on_msg_stop(void *arg, const struct qmsg *m)
{
    on_msg(arg, m);
    return -1;
}

static struct qrcpt test_rcpts[3] = {
    {.addr = (char *)"one@example.net", .state = RCPT_PENDING, .last_reply = (char *)"",
     .orcpt = (char *)""},
    {.addr = (char *)"two@example.net", .state = RCPT_PENDING, .last_reply = (char *)"",
     .notify = NOTIFY_FAILURE | NOTIFY_DELAY, .orcpt = (char *)"rfc822;Two@Example.NET"},
    {.addr = (char *)"three@example.net", .state = RCPT_PENDING, .last_reply = (char *)"",
     .notify = NOTIFY_NEVER, .orcpt = NULL},
};

/* A message with nrcpt (<= 3) recipients, with DSN and DELIVERBY parameters. */
static struct qmsg test_msg(uint64_t id, uint32_t nrcpt)
{
    struct qmsg m = {.id = id,
                     .arrival = 1700000000000LL,
                     .sender = (char *)"sender@example.org",
                     .client_ip = (char *)"192.0.2.7",
                     .helo = (char *)"client.example",
                     .size = 42,
                     .flags = MSG_F_8BITMIME | MSG_F_RET_HDRS | MSG_F_BY_RETURN,
                     .deliver_by = 1700000086400LL,
                     .envid = (char *)"QQ314159",
                     .nrcpt = nrcpt,
                     .rcpts = test_rcpts};
    return m;
}

/* Body text for message id, malloc'ed. */
static char *test_body(uint64_t id, size_t *len)
{
    char *b = NULL;
    int n = asprintf(&b, "Subject: %llu\r\n\r\nbody of %llu\r\n", (unsigned long long)id,
                     (unsigned long long)id);
    assert_true(n > 0);
    *len = (size_t)n;
    return b;
}

/* Queues a put of message id with a tagged done callback. */
static void put(struct fixture *f, uint64_t id, uint32_t nrcpt, int tag)
{
    struct qmsg m = test_msg(id, nrcpt);
    size_t len;
    char *body = test_body(id, &len);
    f->tickets[tag] = (struct ticket){&f->t, tag};
    queue_put(f->q, &m, body, len, on_done, &f->tickets[tag]);
}

/* Queues a barrier with a tagged callback. */
static void barrier(struct fixture *f, int tag)
{
    f->tickets[tag] = (struct ticket){&f->t, tag};
    queue_barrier(f->q, on_done, &f->tickets[tag]);
}

/* Barrier callback of visible(). */
static void on_visible(void *arg, int err)
{
    (void)err;
    *(int *)arg = 1;
}

/* Waits until everything queued so far is visible to readers (queue_scan), not only
 * durable: a done callback may come before LMDB shows the write (the journal, commit.c);
 * a barrier's comes after. Counts one commit in the statistics. */
static void visible(struct fixture *f)
{
    int seen = 0;
    queue_barrier(f->q, on_visible, &seen);
    while (!seen)
        event_base_loop(f->base, EVLOOP_ONCE);
}

/* Opens the queue in daemon mode. */
static void open_daemon(struct fixture *f)
{
    char err[256] = "";
    f->q = queue_open(f->spool, f->base, err, sizeof err);
    if (f->q == NULL)
        fail_msg("queue_open: %s", err);
}

/* Creates a fresh spool path (not yet existing: queue_open creates it) and a loop. */
static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    strcpy(f->dir, "/tmp/sluice-queue-XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    snprintf(f->spool, sizeof f->spool, "%s/spool", f->dir);
    f->base = event_base_new();
    f->t.base = f->base;
    *state = f;
    return 0;
}

/* nftw callback removing one entry. */
static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Closes what is open and removes the directory. */
static int teardown(void **state)
{
    struct fixture *f = *state;
    queue_close(f->q);
    event_base_free(f->base);
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* Entries in one named database, read with raw LMDB while the queue is closed. */
static size_t raw_count(const char *spool, const char *db)
{
    char path[256];
    snprintf(path, sizeof path, "%s/queue.mdb", spool);
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_stat st;
    assert_int_equal(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 8);
    assert_int_equal(mdb_env_open(env, path, MDB_NOSUBDIR | MDB_RDONLY, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, db, 0, &dbi), 0);
    assert_int_equal(mdb_stat(txn, dbi, &st), 0);
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return st.ms_entries;
}

/* Overwrites one record with raw LMDB while the queue is closed (NULL val = delete). */
static void raw_poke(const char *spool, const char *db, const void *key, size_t klen,
                     const void *val, size_t vlen)
{
    char path[256];
    snprintf(path, sizeof path, "%s/queue.mdb", spool);
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    assert_int_equal(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 8);
    assert_int_equal(mdb_env_open(env, path, MDB_NOSUBDIR, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, db, 0, &dbi), 0);
    MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};
    if (val)
        assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
    else
        assert_int_equal(mdb_del(txn, dbi, &k, NULL), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

/* Big-endian key bytes for id (+ index when klen is 12). */
static void key_of(uint8_t *k, uint64_t id, uint32_t idx)
{
    for (int i = 0; i < 8; i++)
        k[i] = (uint8_t)(id >> (56 - 8 * i));
    for (int i = 0; i < 4; i++)
        k[8 + i] = (uint8_t)(idx >> (24 - 8 * i));
}

/* Checks the content of message id as stored. */
static void check_body(struct queue *q, uint64_t id)
{
    size_t len;
    char *want = test_body(id, &len);
    struct evbuffer *b = evbuffer_new();
    assert_int_equal(queue_body(q, id, b), 0);
    assert_int_equal(evbuffer_get_length(b), len);
    assert_memory_equal(evbuffer_pullup(b, -1), want, len);
    evbuffer_free(b);
    free(want);
}

/* A put becomes durable, scan returns it whole, its content reads back. */
static void test_put_scan_body(void **state)
{
    struct fixture *f = *state;
    open_daemon(f);
    struct stat st;
    assert_int_equal(stat(f->spool, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    put(f, 0x1000, 3, 1);
    wait_until(&f->t, 1);
    assert_int_equal(f->t.errs[0], 0);
    struct queue_stats qs;
    queue_get_stats(f->q, &qs);
    assert_int_equal(qs.commits, 1);
    assert_int_equal(qs.msgs_committed, 1);
    assert_int_equal(qs.ops_committed, 1);
    visible(f);
    struct seen s = {0};
    assert_int_equal(queue_scan(f->q, on_msg, &s), 0);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.ids[0], 0x1000);
    assert_int_equal(s.nrcpt[0], 3);
    assert_string_equal(s.sender[0], "sender@example.org");
    assert_int_equal(s.flags[0], MSG_F_8BITMIME | MSG_F_RET_HDRS | MSG_F_BY_RETURN);
    assert_int_equal(s.deliver_by[0], 1700000086400LL);
    assert_string_equal(s.envid[0], "QQ314159");
    assert_int_equal(s.notify1[0], NOTIFY_FAILURE | NOTIFY_DELAY);
    assert_int_equal(s.rflags1[0], 0);
    assert_string_equal(s.orcpt1[0], "rfc822;Two@Example.NET");
    check_body(f->q, 0x1000);
    struct evbuffer *b = evbuffer_new();
    errno = 0;
    assert_int_equal(queue_body(f->q, 0x9999, b), -1);
    assert_int_equal(errno, ENOENT);
    evbuffer_free(b);
}

/* set_rcpt changes one recipient's state; the others stay. */
static void test_set_rcpt(void **state)
{
    struct fixture *f = *state;
    open_daemon(f);
    put(f, 0x2000, 3, 1);
    struct qrcpt r = {.addr = (char *)"two@example.net",
                      .state = RCPT_DELIVERED,
                      .attempts = 1,
                      .last_reply = (char *)"250 2.0.0 ok",
                      .notify = NOTIFY_SUCCESS,
                      .flags = RCPT_F_REPORTED,
                      .orcpt = (char *)"rfc822;two@example.net"};
    queue_set_rcpt(f->q, 0x2000, 1, &r);
    queue_set_rcpt(f->q, 0x7777, 0, &r); /* message absent: dropped, no orphan */
    barrier(f, 2);
    wait_until(&f->t, 2);
    struct seen s = {0};
    assert_int_equal(queue_scan(f->q, on_msg, &s), 0);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.state1[0], RCPT_DELIVERED);
    assert_string_equal(s.reply1[0], "250 2.0.0 ok");
    assert_int_equal(s.notify1[0], NOTIFY_SUCCESS);
    assert_int_equal(s.rflags1[0], RCPT_F_REPORTED);
    assert_string_equal(s.orcpt1[0], "rfc822;two@example.net");
    assert_string_equal(s.envid[0], "QQ314159"); /* the envelope is not rewritten */
    queue_close(f->q);
    f->q = NULL;
    assert_int_equal(raw_count(f->spool, "rcpt"), 3);
}

/* An expansion stores the new message and the parent recipient's final state in ONE
 * commit; a parent recipient that is not there fails it with nothing written. */
static void test_put_expansion(void **state)
{
    struct fixture *f = *state;
    open_daemon(f);
    put(f, 0x2100, 3, 1);
    wait_until(&f->t, 1);
    struct queue_stats before, after;
    queue_get_stats(f->q, &before);
    struct qmsg m = test_msg(0x2101, 2);
    size_t len;
    char *body = test_body(0x2101, &len);
    f->tickets[2] = (struct ticket){&f->t, 2};
    queue_put_expansion(f->q, &m, body, len, 0x2100, "TWO@example.net", RCPT_DELIVERED,
                        "2.0.0 expanded", on_done, &f->tickets[2]);
    wait_until(&f->t, 2);
    assert_int_equal(f->t.errs[1], 0);
    queue_get_stats(f->q, &after);
    assert_int_equal(after.commits - before.commits, 1);
    visible(f);
    struct seen s = {0};
    assert_int_equal(queue_scan(f->q, on_msg, &s), 0);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.state1[0], RCPT_DELIVERED);
    assert_string_equal(s.reply1[0], "2.0.0 expanded");
    assert_string_equal(s.orcpt1[0], "rfc822;Two@Example.NET"); /* the rest is kept */
    assert_int_equal(s.nrcpt[1], 2);
    body = test_body(0x2102, &len);
    m.id = 0x2102;
    f->tickets[3] = (struct ticket){&f->t, 3};
    queue_put_expansion(f->q, &m, body, len, 0x2100, "nobody@example.net", RCPT_DELIVERED,
                        "2.0.0 expanded", on_done, &f->tickets[3]);
    wait_until(&f->t, 3);
    assert_int_equal(f->t.errs[2], ENOENT);
    struct seen s2 = {0};
    assert_int_equal(queue_scan(f->q, on_msg, &s2), 0);
    assert_int_equal(s2.n, 2);
}

/* Delivery outcomes ride along: a group of deletes is journaled without a sync of its own
 * (each put's group syncs once, whatever the deletes joined it), and the deletes still
 * reach LMDB (at the stop's commit). */
static void test_outcomes_ride_along(void **state)
{
    struct fixture *f = *state;
    open_daemon(f);
    struct queue_stats before, after;
    queue_get_stats(f->q, &before);
    for (int i = 0; i < 5; i++) {
        put(f, 0x3100 + (uint64_t)i, 2, 2 * i + 1);
        wait_until(&f->t, 2 * i + 1);
        queue_delete(f->q, 0x3100 + (uint64_t)i, 2);
        barrier(f, 2 * i + 2); /* the delete's group is written before the next put */
        wait_until(&f->t, 2 * i + 2);
    }
    put(f, 0x3200, 1, 11);
    wait_until(&f->t, 11);
    queue_get_stats(f->q, &after);
    if (after.groups_synced - before.groups_synced != 6)
        fail_msg("got %llu synced groups for 6 puts and 5 deletes, want 6",
                 (unsigned long long)(after.groups_synced - before.groups_synced));
    queue_close(f->q);
    f->q = NULL;
    assert_int_equal(raw_count(f->spool, "msg"), 1);
    assert_int_equal(raw_count(f->spool, "rcpt"), 1);
}

/* Child of test_failed_journal_write_starts_new_run: A committed; B's journal write fails
 * (RLIMIT_FSIZE) and B is refused; C is acknowledged, and the process ends at once, before
 * any LMDB commit of C (as kill -9 would). */
static void failed_write_child(struct fixture *f)
{
    f->base = event_base_new();
    f->t.base = f->base;
    open_daemon(f);
    put(f, 0xA, 1, 1);
    barrier(f, 2); /* A committed to LMDB */
    wait_until(&f->t, 2);
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit lim = {1, RLIM_INFINITY};
    setrlimit(RLIMIT_FSIZE, &lim); /* the journal write fails (EFBIG), and LMDB's too */
    put(f, 0xB, 1, 3);
    wait_until(&f->t, 3);
    lim.rlim_cur = RLIM_INFINITY;
    setrlimit(RLIMIT_FSIZE, &lim);
    put(f, 0xC, 1, 4);
    wait_until(&f->t, 4);
    _exit(f->t.errs[2] != 0 && f->t.errs[3] == 0 ? 0 : 3);
}

/* A failed journal write takes LSNs that never reach the file; replay stops at such a hole,
 * so no group may be journaled after it before a checkpoint starts a new run: C, acknowledged
 * after B failed, is there after the crash. */
static void test_failed_journal_write_starts_new_run(void **state)
{
    struct fixture *f = *state;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0)
        failed_write_child(f);
    int st = 0;
    waitpid(pid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail_msg("child: got status %d, want 0 (B refused, C acknowledged)", st);
    open_daemon(f);
    struct seen s = {0};
    assert_int_equal(queue_scan(f->q, on_msg, &s), 0);
    if (s.n != 2 || s.ids[0] != 0xA || s.ids[1] != 0xC)
        fail_msg("after the crash: got %d messages (first %llx), want A and C", s.n,
                 s.n ? (unsigned long long)s.ids[0] : 0ULL);
}

/* delete removes the envelope, every recipient record and the content. */
static void test_delete(void **state)
{
    struct fixture *f = *state;
    open_daemon(f);
    put(f, 0x3000, 3, 1);
    put(f, 0x3001, 2, 2);
    queue_delete(f->q, 0x3000, 3);
    barrier(f, 3);
    wait_until(&f->t, 3);
    struct seen s = {0};
    assert_int_equal(queue_scan(f->q, on_msg, &s), 0);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.ids[0], 0x3001);
    struct evbuffer *b = evbuffer_new();
    assert_int_equal(queue_body(f->q, 0x3000, b), -1);
    evbuffer_free(b);
    queue_close(f->q);
    f->q = NULL;
    assert_int_equal(raw_count(f->spool, "msg"), 1);
    assert_int_equal(raw_count(f->spool, "rcpt"), 2);
    assert_int_equal(raw_count(f->spool, "body"), 1);
}

/* 100 puts queued before the loop runs share far fewer than 100 commits. */
static void test_group_commit(void **state)
{
    struct fixture *f = *state;
    open_daemon(f);
    for (int i = 0; i < 100; i++)
        put(f, 0x4000 + (uint64_t)i, 2, i);
    wait_until(&f->t, 100);
    for (int i = 0; i < 100; i++) {
        if (f->t.tags[i] != i || f->t.errs[i] != 0)
            fail_msg("done %d: got tag %d err %d, want tag %d err 0", i, f->t.tags[i], f->t.errs[i],
                     i);
    }
    struct queue_stats qs;
    queue_get_stats(f->q, &qs);
    if (qs.commits >= 50)
        fail_msg("commits: got %llu, want far fewer than 100", (unsigned long long)qs.commits);
    assert_int_equal(qs.msgs_committed, 100);
    assert_int_equal(qs.ops_committed, 100);
    visible(f);
    struct seen s = {0};
    assert_int_equal(queue_scan(f->q, on_msg, &s), 0);
    assert_int_equal(s.n, 100);
    for (int i = 0; i < 100; i++)
        assert_int_equal(s.ids[i], 0x4000 + (uint64_t)i); /* id order */
    memset(&s, 0, sizeof s);
    assert_int_equal(queue_scan(f->q, on_msg_stop, &s), 0);
    assert_int_equal(s.n, 1);
}

/* queue_scan_batch: batches of at most max messages in id order, each after the last id
 * of the one before; 0 once none is left; a message deleted ahead of the scan is not seen. */
static void test_scan_batch(void **state)
{
    struct fixture *f = *state;
    open_daemon(f);
    for (int i = 0; i < 5; i++)
        put(f, 0x5000 + (uint64_t)i, 1, i);
    wait_until(&f->t, 5);
    queue_delete(f->q, 0x5003, 1);
    barrier(f, 5);
    wait_until(&f->t, 6);
    struct {
        uint64_t after;
        long max;
        long want_n;
        uint64_t want_first, want_last;
    } rows[] = {
        {0, 2, 2, 0x5000, 0x5001},
        {0x5001, 2, 2, 0x5002, 0x5004}, /* 0x5003 deleted */
        {0x5004, 2, 0, 0, 0x5004},
        {0x4fff, 10, 4, 0x5000, 0x5004},
        {0x5002, 1, 1, 0x5004, 0x5004},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct seen s = {0};
        uint64_t last = rows[i].after;
        long n = queue_scan_batch(f->q, rows[i].after, rows[i].max, on_msg, &s, &last);
        if (n != rows[i].want_n || (n > 0 && s.ids[0] != rows[i].want_first) ||
            last != rows[i].want_last)
            fail_msg("row %zu: got %ld messages, first %llx, last %llx; want %ld, %llx, %llx", i,
                     n, n > 0 ? (unsigned long long)s.ids[0] : 0ULL, (unsigned long long)last,
                     rows[i].want_n, (unsigned long long)rows[i].want_first,
                     (unsigned long long)rows[i].want_last);
    }
}

/* A duplicate id fails only that put, with EEXIST; an invalid message gets EINVAL. */
static void test_duplicate_and_invalid(void **state)
{
    struct fixture *f = *state;
    open_daemon(f);
    put(f, 0x5000, 1, 0);
    put(f, 0x5000, 2, 1);
    put(f, 0x5001, 1, 2);
    struct qmsg bad = test_msg(0x5002, 2);
    bad.rcpts = NULL;
    f->tickets[3] = (struct ticket){&f->t, 3};
    queue_put(f->q, &bad, strdup("x"), 1, on_done, &f->tickets[3]);
    put(f, 0x5003, 1, 4);
    wait_until(&f->t, 5);
    static const int want[] = {0, EEXIST, 0, EINVAL, 0};
    for (int i = 0; i < 5; i++) {
        if (f->t.tags[i] != i || f->t.errs[i] != want[i])
            fail_msg("done %d: got tag %d err %d, want tag %d err %d", i, f->t.tags[i],
                     f->t.errs[i], i, want[i]);
    }
    visible(f);
    struct seen s = {0};
    assert_int_equal(queue_scan(f->q, on_msg, &s), 0);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.nrcpt[0], 1); /* the first put of 0x5000 won */
}

/* Barriers complete in call order with the puts around them, after what precedes them. */
static void test_barrier_order(void **state)
{
    struct fixture *f = *state;
    open_daemon(f);
    put(f, 0x6000, 1, 0);
    barrier(f, 1);
    put(f, 0x6001, 1, 2);
    barrier(f, 3);
    queue_barrier(f->q, NULL, NULL);
    barrier(f, 4);
    wait_until(&f->t, 5);
    for (int i = 0; i < 5; i++)
        if (f->t.tags[i] != i || f->t.errs[i] != 0)
            fail_msg("done %d: got tag %d err %d, want tag %d err 0", i, f->t.tags[i], f->t.errs[i],
                     i);
    struct queue_stats qs;
    queue_get_stats(f->q, &qs);
    assert_int_equal(qs.ops_committed, 2); /* barriers are not writes */
}

/* Child process: `sluice submit` stand-in. Waits for the parent, stores two messages in
 * tool mode, wakes the daemon. Exit status 0 when all went as expected. */
static int tool_child(const char *spool, int go_fd)
{
    char c, err[256];
    if (read(go_fd, &c, 1) != 1)
        return 10;
    struct queue *q = queue_open(spool, NULL, err, sizeof err);
    if (q == NULL)
        return 11;
    struct qmsg m = test_msg(0x7000, 3);
    size_t len;
    char *body = test_body(0x7000, &len);
    int rc = queue_put_sync(q, &m, body, len);
    m.id = 0x7001;
    rc |= queue_put_sync(q, &m, body, len);
    errno = 0;
    if (queue_put_sync(q, &m, body, len) != -1 || errno != EEXIST)
        rc = 12;
    free(body);
    queue_close(q);
    queue_notify_incoming(spool);
    return rc ? 13 : 0;
}

/* Messages stored by another process in tool mode reach the daemon once, via the socket. */
static void test_tool_put_take_incoming(void **state)
{
    struct fixture *f = *state;
    int go[2];
    assert_int_equal(pipe(go), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(go[1]);
        _exit(tool_child(f->spool, go[0]));
    }
    close(go[0]);
    open_daemon(f);
    assert_int_equal(queue_watch_incoming(f->q, on_wake, &f->t), 0);
    assert_int_equal(write(go[1], "g", 1), 1);
    wait_until(&f->t, -1);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    close(go[1]);
    struct seen s = {0};
    assert_int_equal(queue_take_incoming(f->q, on_msg, &s), 2);
    assert_int_equal(s.ids[0], 0x7000);
    assert_int_equal(s.ids[1], 0x7001);
    assert_int_equal(s.nrcpt[0], 3);
    assert_string_equal(s.envid[1], "QQ314159"); /* tool mode stores the new fields too */
    assert_int_equal(s.deliver_by[1], 1700000086400LL);
    assert_string_equal(s.orcpt1[1], "rfc822;Two@Example.NET");
    /* The marks are being cleared: a second take before the commit passes nothing. */
    assert_int_equal(queue_take_incoming(f->q, on_msg, &s), 0);
    barrier(f, 0);
    wait_until(&f->t, 1);
    assert_int_equal(queue_take_incoming(f->q, on_msg, &s), 0);
    assert_int_equal(s.n, 2);
    check_body(f->q, 0x7000); /* the child stored the same content under both ids */
    queue_close(f->q);
    f->q = NULL;
    assert_int_equal(raw_count(f->spool, "incoming"), 0);
    assert_int_equal(raw_count(f->spool, "msg"), 2);
}

/* Tool mode alone: put_sync, scan and body work without a loop; take_incoming stops early. */
static void test_tool_mode(void **state)
{
    struct fixture *f = *state;
    char err[256];
    struct queue *tq = queue_open(f->spool, NULL, err, sizeof err);
    assert_non_null(tq);
    for (uint64_t id = 0x8000; id < 0x8003; id++) {
        struct qmsg m = test_msg(id, 1);
        size_t len;
        char *body = test_body(id, &len);
        assert_int_equal(queue_put_sync(tq, &m, body, len), 0);
        free(body);
    }
    struct qmsg bad = test_msg(0x8009, 1);
    bad.rcpts = NULL;
    errno = 0;
    assert_int_equal(queue_put_sync(tq, &bad, "", 0), -1);
    assert_int_equal(errno, EINVAL);
    struct seen s = {0};
    assert_int_equal(queue_scan(tq, on_msg, &s), 0);
    assert_int_equal(s.n, 3);
    check_body(tq, 0x8002);
    struct queue_stats qs;
    queue_get_stats(tq, &qs);
    assert_int_equal(qs.commits, 3);
    queue_close(tq);
    queue_notify_incoming(f->spool); /* nobody listening: not an error */
    open_daemon(f);
    memset(&s, 0, sizeof s);
    assert_int_equal(queue_take_incoming(f->q, on_msg_stop, &s), 1);
    barrier(f, 0);
    wait_until(&f->t, 1);
    assert_int_equal(queue_take_incoming(f->q, on_msg, &s), 2);
    assert_int_equal(s.ids[1], 0x8001);
    assert_int_equal(s.ids[2], 0x8002);
}

/* Closing without running the loop still commits and reports every put; data survives. */
static void test_close_reopen(void **state)
{
    struct fixture *f = *state;
    open_daemon(f);
    for (int i = 0; i < 10; i++)
        put(f, 0x9000 + (uint64_t)i, 2, i);
    queue_close(f->q);
    f->q = NULL;
    assert_int_equal(f->t.n, 10);
    for (int i = 0; i < 10; i++)
        assert_int_equal(f->t.errs[i], 0);
    open_daemon(f);
    struct seen s = {0};
    assert_int_equal(queue_scan(f->q, on_msg, &s), 0);
    assert_int_equal(s.n, 10);
    check_body(f->q, 0x9009);
}

/* A well-formed RECORD_VERSION 1 envelope (u8 version | i64 arrival | u64 size | u32 nrcpt |
 * str sender | str client_ip | str helo) for 2 recipients. */
static const uint8_t v1_msg[] = {
    1,                                                  /* version */
    0, 0, 0, 0, 0, 0, 0, 0, 42, 0, 0, 0, 0, 0, 0, 0,    /* arrival 0, size 42 */
    2, 0, 0, 0,                                         /* nrcpt */
    3, 0, 0, 0, 'a', '@', 'b', 0, 0, 0, 0, 4, 0, 0, 0, 'h', 'e', 'l', 'o',
};
/* A well-formed RECORD_VERSION 1 recipient record (u8 version | u8 state | u32 attempts |
 * i64 next_attempt | str addr | str last_reply). */
static const uint8_t v1_rcpt[] = {
    1, RCPT_PENDING, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 'c', '@', 'd', 0, 0, 0, 0,
};

/* Damaged, incomplete or version 1 records make scan skip that message, never crash. */
static void test_damaged_skipped(void **state)
{
    struct fixture *f = *state;
    open_daemon(f);
    for (int i = 0; i < 6; i++)
        put(f, 0xA000 + (uint64_t)i, 2, i);
    wait_until(&f->t, 6);
    queue_close(f->q);
    f->q = NULL;
    uint8_t k[12];
    key_of(k, 0xA000, 0);
    raw_poke(f->spool, "msg", k, 8, "\x01garbage", 8); /* truncated envelope */
    key_of(k, 0xA001, 1);
    raw_poke(f->spool, "rcpt", k, 12, NULL, 0); /* a recipient missing */
    key_of(k, 0xA002, 7);
    raw_poke(f->spool, "rcpt", k, 12, "\x01", 1);  /* an extra damaged recipient */
    raw_poke(f->spool, "msg", "short", 5, "x", 1); /* a key of the wrong size */
    key_of(k, 0xA004, 0);
    raw_poke(f->spool, "msg", k, 8, v1_msg, sizeof v1_msg); /* an old-format envelope */
    key_of(k, 0xA005, 1);
    raw_poke(f->spool, "rcpt", k, 12, v1_rcpt, sizeof v1_rcpt); /* an old-format recipient */
    open_daemon(f);
    struct seen s = {0};
    assert_int_equal(queue_scan(f->q, on_msg, &s), 0);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.ids[0], 0xA003);
}

/* Opening fails cleanly when the spool cannot be a directory. */
static void test_open_errors(void **state)
{
    struct fixture *f = *state;
    char err[256] = "";
    FILE *fp = fopen(f->spool, "w");
    assert_non_null(fp);
    fclose(fp);
    assert_null(queue_open(f->spool, f->base, err, sizeof err));
    assert_true(strlen(err) > 0);
    assert_int_equal(unlink(f->spool), 0);
}

int main(void)
{
    evthread_use_pthreads();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_put_scan_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_rcpt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_put_expansion, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outcomes_ride_along, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_journal_write_starts_new_run, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_and_invalid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_barrier_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tool_put_take_incoming, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tool_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_skipped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
