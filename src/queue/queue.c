/* queue: the durable store on LMDB, with group commit in daemon mode.
 *
 * Environment: <spool>/queue.mdb, one file (MDB_NOSUBDIR), 64 GiB sparse map, MDB_NOTLS
 * because read transactions run on the event-loop thread while writes run on the writer
 * thread. Tool mode commits with LMDB's default syncs; daemon mode opens it MDB_NOMETASYNC
 * and makes writes durable through the journal first (commit.c, docs/design.md
 * "Durability"), so nothing is reported before it is on disk either way. Several processes
 * (the daemon, `sluice submit`) share the environment through LMDB's lock file. Keys:
 * msg/body/incoming = id (8 bytes big-endian); rcpt = id + index (4 bytes BE); meta =
 * "journal-lsn" (the last journal record LMDB holds).
 *
 * Daemon mode: queue_put/set_rcpt/delete/barrier and the clears of queue_take_incoming are
 * encoded on the caller's thread and appended to a FIFO (mutex + condvar). The writer thread
 * takes everything waiting and commits it as one group (queue_commit_group, commit.c: one
 * journal fdatasync for the whole group, none for a group of delivery outcomes alone; the
 * LMDB transaction is committed when due, holding several groups), moves the ops to a done list
 * and activates an event on the loop, where queue_on_done runs the done callbacks in call
 * order. If a group fails as a whole (disk full, I/O error) each op is re-run in its own
 * transaction (queue_apply_group here) so one bad op does not fail its neighbours; each put
 * then gets its own result. A duplicate id fails only that put (EEXIST); the transaction
 * stays usable since nothing of that put was written.
 *
 * Threads: the FIFO, the done list and `stopping` are shared under `mu`; stats are atomics;
 * everything else on the loop side (inflight clears, the incoming socket) is loop-only.
 * Tool mode (base NULL): no thread; writes happen in queue_put_sync on the caller's thread.
 *
 * The module is three files around queue/internal.h (the structures they share):
 *   queue.c  (this file) opening and closing the store, the writer thread (queue_enqueue,
 *            queue_on_done), the group commit without the journal, tool-mode writes
 *            (queue_put_sync), the stats and the spool lock
 *   commit.c the daemon's group commit through the journal, replay at start, checkpoints
 *   journal.c the journal's records and file
 *   write.c  the record-level writes: encoding them on the caller's thread (put,
 *            expansion, recipient state, delete, hold flags, admin groups, barrier) and
 *            applying them in the writer's transaction
 *   read.c   the read side: bodies, the recovery scan, taking incoming mail, and the
 *            incoming socket (wake-ups and requests from tools)
 */
#include "queue/queue.h"

#include <errno.h>
#include <lmdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "core/hist.h"
#include "core/log.h"
#include "core/qid.h"
#include "core/xalloc.h"
#include "queue/internal.h"

/* Writes v big-endian into 8 bytes. */
void queue_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

/* Reads 8 big-endian bytes. */
uint64_t queue_get_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* Builds a recipient key: id (8 BE) + index (4 BE). */
void queue_rcpt_key(uint8_t *k, uint64_t id, uint32_t idx)
{
    queue_be64(k, id);
    k[8] = (uint8_t)(idx >> 24);
    k[9] = (uint8_t)(idx >> 16);
    k[10] = (uint8_t)(idx >> 8);
    k[11] = (uint8_t)idx;
}

/* Maps an LMDB or system error to the errno the header promises. */
int queue_errno(int rc)
{
    switch (rc) {
    case MDB_MAP_FULL:
    case ENOSPC:
    case EDQUOT:
        return ENOSPC;
    case MDB_KEYEXIST:
        return EEXIST;
    case MDB_NOTFOUND:
        return ENOENT;
    default:
        return rc > 0 ? rc : EIO;
    }
}

/* Adds to a statistics counter (written by the writer or a tool, read by anyone). */
void queue_stat_add(uint64_t *c, uint64_t n)
{
    __atomic_fetch_add(c, n, __ATOMIC_RELAXED);
}

/* Frees an op and everything it owns. */
void queue_op_free(struct queue_op *op)
{
    free(op->rec);
    free(op->rcpts);
    free(op->rcptoff);
    free(op->body_owned);
    free(op->ids);
    free(op->parent_addr);
    free(op->parent_reply);
    free(op->body_path);
    free(op);
}

/* Runs one op in its own transaction and records its result in op->err. In daemon mode
 * the environment does not sync its meta page (commit.c), so this syncs it. */
void queue_apply_alone(struct queue *q, struct queue_op *op)
{
    if (op->type == QOP_BARRIER || op->type == QOP_INVALID)
        return;
    MDB_txn *txn;
    int rc = mdb_txn_begin(q->env, NULL, 0, &txn);
    if (rc == 0) {
        rc = queue_apply_op(q, txn, op);
        if (rc == 0)
            rc = mdb_txn_commit(txn);
        else
            mdb_txn_abort(txn);
    }
    if (rc == 0 && q->base)
        rc = mdb_env_sync(q->env, 1);
    op->err = rc ? queue_errno(rc) : 0;
    if (rc == 0) {
        queue_stat_add(&q->stats.commits, 1);
        queue_count_op(q, op);
    } else if (op->type != QOP_PUT) {
        log_warn("queue: write of %016llX failed: %s", (unsigned long long)op->id,
                 mdb_strerror(rc));
    }
}

/* Applies a group in one transaction, synced; on failure, re-runs each op on its own
 * (commit.c's way when the journal cannot be written). */
void queue_apply_group(struct queue *q, struct queue_op *ops)
{
    queue_bodyfile_sync(q, ops); /* body files durable before the commit naming them */
    MDB_txn *txn;
    int rc = mdb_txn_begin(q->env, NULL, 0, &txn);
    if (rc == 0) {
        for (struct queue_op *op = ops; op && rc == 0; op = op->next) {
            int orc = queue_apply_op(q, txn, op);
            if (orc == MDB_KEYEXIST)
                op->err = EEXIST;
            else
                rc = orc;
        }
        int64_t t0 = clock_mono_us();
        if (rc == 0)
            rc = mdb_txn_commit(txn);
        else
            mdb_txn_abort(txn);
        if (rc == 0 && q->base && mdb_env_sync(q->env, 1) != 0) {
            log_warn("queue: sync after a group commit failed; the group is reported failed");
            for (struct queue_op *op = ops; op; op = op->next)
                op->err = op->type == QOP_BARRIER ? 0 : EIO;
            return;
        }
        if (rc == 0)
            hist_observe(&q->fsync_seconds, (double)(clock_mono_us() - t0) / 1e6);
    }
    if (rc == 0) {
        uint64_t msgs = 0;
        queue_stat_add(&q->stats.commits, 1);
        for (struct queue_op *op = ops; op; op = op->next) {
            queue_count_op(q, op);
            msgs += op->type == QOP_PUT;
        }
        hist_observe(&q->per_commit, (double)msgs);
        queue_bodyfile_settle(q, ops, 1);
        return;
    }
    log_warn("queue: group commit failed (%s); retrying each write alone", mdb_strerror(rc));
    for (struct queue_op *op = ops; op; op = op->next) {
        if (op->type != QOP_INVALID)
            op->err = 0;
        queue_apply_alone(q, op);
    }
    queue_bodyfile_settle(q, ops, 1);
}

/* Appends a finished group to the done list (the caller wakes the loop). */
void queue_finish_group(struct queue *q, struct queue_op *ops)
{
    struct queue_op *last = ops;
    while (last->next)
        last = last->next;
    pthread_mutex_lock(&q->mu);
    if (q->done_tail)
        q->done_tail->next = ops;
    else
        q->done_head = ops;
    q->done_tail = last;
    pthread_mutex_unlock(&q->mu);
}

/* Writer thread: waits for ops, takes them all, commits them as one group, reports; before
 * it sleeps, commits the LMDB transaction the groups left open (commit.c). */
static void *queue_writer_main(void *arg)
{
    struct queue *q = arg;
    pthread_setname_np(pthread_self(), "sluice-writer"); /* top -H, ps -L */
    pthread_mutex_lock(&q->mu);
    for (;;) {
        if (q->head == NULL && q->wtxn) { /* nothing waiting: commit what was acknowledged */
            pthread_mutex_unlock(&q->mu);
            queue_commit_flush(q);
            pthread_mutex_lock(&q->mu);
            continue;
        }
        while (q->head == NULL && !q->stopping)
            pthread_cond_wait(&q->cv, &q->mu);
        if (q->head == NULL)
            break;
        struct queue_op *ops = q->head;
        q->head = q->tail = NULL;
        pthread_mutex_unlock(&q->mu);
        queue_commit_group(q, ops); /* hands the ops back to the loop itself */
        pthread_mutex_lock(&q->mu);
    }
    pthread_mutex_unlock(&q->mu);
    return NULL;
}

/* Removes a committed clear op from the loop's in-flight list. */
static void queue_inflight_remove(struct queue *q, struct queue_op *op)
{
    for (struct queue_op **pp = &q->inflight; *pp; pp = &(*pp)->inflight_next) {
        if (*pp == op) {
            *pp = op->inflight_next;
            return;
        }
    }
}

/* Loop side: runs the done callbacks of committed ops in call order and frees the ops. */
static void queue_on_done(evutil_socket_t fd, short what, void *arg)
{
    struct queue *q = arg;
    (void)fd;
    (void)what;
    pthread_mutex_lock(&q->mu);
    struct queue_op *list = q->done_head;
    q->done_head = q->done_tail = NULL;
    pthread_mutex_unlock(&q->mu);
    while (list) {
        struct queue_op *op = list;
        list = op->next;
        int keep = queue_pending_on_done(q, op); /* a journaled clear stays in flight */
        if (op->type == QOP_CLEAR && !keep)
            queue_inflight_remove(q, op);
        if (op->done)
            op->done(op->arg, op->err);
        if (!keep)
            queue_op_free(op);
    }
}

/* Appends an op to the writer's FIFO; daemon-mode calls in tool mode are a bug. */
void queue_enqueue(struct queue *q, struct queue_op *op)
{
    if (q->base == NULL)
        log_panic("queue: asynchronous write in tool mode");
    op->next = NULL;
    if (q->grouping) {
        if (q->grp_tail)
            q->grp_tail->next = op;
        else
            q->grp_head = op;
        q->grp_tail = op;
        return;
    }
    pthread_mutex_lock(&q->mu);
    if (q->tail)
        q->tail->next = op;
    else
        q->head = op;
    q->tail = op;
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

/* Creates the spool directory (0700) when missing and checks it is a directory. */
static int queue_mkspool(const char *spool, char *err, size_t errlen)
{
    struct stat st;
    if (mkdir(spool, 0700) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "spool %s: %s", spool, strerror(errno));
        return -1;
    }
    if (stat(spool, &st) < 0) {
        snprintf(err, errlen, "spool %s: %s", spool, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "spool %s: not a directory", spool);
        return -1;
    }
    return 0;
}

/* Opens (creating) the five databases in one write transaction. */
static int queue_open_dbs(struct queue *q)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(q->env, NULL, 0, &txn);
    if (rc != 0)
        return rc;
    if ((rc = mdb_dbi_open(txn, "msg", MDB_CREATE, &q->db_msg)) != 0 ||
        (rc = mdb_dbi_open(txn, "rcpt", MDB_CREATE, &q->db_rcpt)) != 0 ||
        (rc = mdb_dbi_open(txn, "body", MDB_CREATE, &q->db_body)) != 0 ||
        (rc = mdb_dbi_open(txn, "incoming", MDB_CREATE, &q->db_incoming)) != 0 ||
        (rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &q->db_meta)) != 0) {
        mdb_txn_abort(txn);
        return rc;
    }
    return mdb_txn_commit(txn);
}

/* Opens the LMDB environment spool/queue.mdb with the durability settings above. */
static int queue_open_env(struct queue *q, char *err, size_t errlen)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/queue.mdb", q->spool) >= sizeof path) {
        snprintf(err, errlen, "spool path too long");
        return -1;
    }
    int rc = mdb_env_create(&q->env);
    if (rc == 0)
        rc = mdb_env_set_mapsize(q->env, QUEUE_MAPSIZE);
    if (rc == 0)
        rc = mdb_env_set_maxdbs(q->env, QUEUE_MAXDBS);
    if (rc == 0)
        rc = mdb_env_open(q->env, path,
                          MDB_NOSUBDIR | MDB_NOTLS | (q->base ? MDB_NOMETASYNC : 0), 0600);
    if (rc == 0) {
        int dead = 0;
        mdb_reader_check(q->env, &dead); /* slots of crashed readers */
        rc = queue_open_dbs(q);
    }
    if (rc != 0) {
        snprintf(err, errlen, "%s: %s", path, mdb_strerror(rc));
        if (q->env)
            mdb_env_close(q->env);
        q->env = NULL;
        return -1;
    }
    return 0;
}

/* Starts the writer thread with every signal blocked (signals belong to the loop). */
static int queue_start_writer(struct queue *q, char *err, size_t errlen)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv, NULL);
    q->done_ev = event_new(q->base, -1, 0, queue_on_done, q);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = q->done_ev ? pthread_create(&q->writer, NULL, queue_writer_main, q) : ENOMEM;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        snprintf(err, errlen, "queue writer thread: %s", strerror(rc));
        if (q->done_ev)
            event_free(q->done_ev);
        pthread_mutex_destroy(&q->mu);
        pthread_cond_destroy(&q->cv);
        return -1;
    }
    return 0;
}

/* Opens the queue; base NULL = tool mode (no writer thread). */
struct queue *queue_open(const char *spool, struct event_base *base, char *err, size_t errlen)
{
    if (queue_mkspool(spool, err, errlen) < 0)
        return NULL;
    struct queue *q = xcalloc(1, sizeof *q);
    static const double fsync_le[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                      0.25, 0.5, 1, 2.5};
    static const double commit_le[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};
    hist_init(&q->fsync_seconds, fsync_le, sizeof fsync_le / sizeof fsync_le[0]);
    hist_init(&q->per_commit, commit_le, sizeof commit_le / sizeof commit_le[0]);
    q->spool = xstrdup(spool);
    q->base = base;
    q->sock = -1;
    q->body_dirfd = -1;
    if (queue_open_env(q, err, errlen) < 0)
        goto fail;
    if (base && queue_journal_open(q, err, errlen) < 0) { /* replay: LMDB complete first */
        mdb_env_close(q->env);
        goto fail;
    }
    if (base && queue_bodyfile_recover(q, err, errlen) < 0) { /* orphans: none in LMDB */
        queue_journal_close(q);
        mdb_env_close(q->env);
        queue_bodyfile_close(q);
        goto fail;
    }
    if (base && queue_start_writer(q, err, errlen) < 0) {
        queue_journal_close(q);
        mdb_env_close(q->env);
        queue_bodyfile_close(q);
        goto fail;
    }
    return q;
fail:
    free(q->spool);
    free(q);
    return NULL;
}

/* Path of the incoming socket; -1 when it does not fit a sockaddr_un. */
int queue_sock_addr(const char *spool, struct sockaddr_un *sun)
{
    memset(sun, 0, sizeof *sun);
    sun->sun_family = AF_UNIX;
    size_t n = (size_t)snprintf(sun->sun_path, sizeof sun->sun_path, "%s/incoming.sock", spool);
    if (n >= sizeof sun->sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}

/* Stops the writer after it has committed everything, then commits what callbacks added. */
static void queue_stop_writer(struct queue *q)
{
    pthread_mutex_lock(&q->mu);
    q->stopping = 1;
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
    pthread_join(q->writer, NULL);
    queue_on_done(-1, 0, q);
    /* Done callbacks run just now may have queued more: apply those on this thread. */
    for (;;) {
        pthread_mutex_lock(&q->mu);
        struct queue_op *ops = q->head;
        q->head = q->tail = NULL;
        pthread_mutex_unlock(&q->mu);
        if (ops == NULL)
            break;
        queue_commit_group(q, ops);
        queue_commit_flush(q);
        queue_on_done(-1, 0, q);
    }
}

/* Waits for every queued write, stops the writer, closes the socket and the environment. */
void queue_close(struct queue *q)
{
    if (q == NULL)
        return;
    if (q->base) {
        queue_stop_writer(q);
        queue_journal_close(q);
        event_free(q->done_ev);
        pthread_mutex_destroy(&q->mu);
        pthread_cond_destroy(&q->cv);
    }
    if (q->sock_ev) {
        struct sockaddr_un sun;
        event_free(q->sock_ev);
        close(q->sock);
        if (queue_sock_addr(q->spool, &sun) == 0)
            unlink(sun.sun_path);
    }
    mdb_env_close(q->env);
    queue_bodyfile_close(q);
    free(q->spool);
    free(q);
}

/* Stores a message in one committed transaction and marks it incoming (tool mode). */
int queue_put_sync(struct queue *q, const struct qmsg *m, const char *body, size_t len)
{
    struct queue_op op;
    memset(&op, 0, sizeof op);
    op.type = QOP_PUT;
    op.body = body;
    op.bodylen = len;
    op.incoming = 1;
    int ret = 0;
    if (queue_encode_put(&op, m) < 0) {
        errno = EINVAL;
        ret = -1;
    } else {
        queue_apply_alone(q, &op);
        if (op.err != 0) {
            errno = op.err;
            ret = -1;
        }
    }
    free(op.rec);
    free(op.rcpts);
    free(op.rcptoff);
    return ret;
}

/* Copies the counters. */
void queue_get_stats(const struct queue *q, struct queue_stats *st)
{
    st->commits = __atomic_load_n(&q->stats.commits, __ATOMIC_RELAXED);
    st->msgs_committed = __atomic_load_n(&q->stats.msgs_committed, __ATOMIC_RELAXED);
    st->ops_committed = __atomic_load_n(&q->stats.ops_committed, __ATOMIC_RELAXED);
    st->groups_synced = __atomic_load_n(&q->stats.groups_synced, __ATOMIC_RELAXED);
}

/* The histograms of the group commits (fsync seconds, messages per commit). */
void queue_get_hists(const struct queue *q, const struct hist **fsync_seconds,
                     const struct hist **per_commit)
{
    *fsync_seconds = &q->fsync_seconds;
    *per_commit = &q->per_commit;
}

/* Takes the spool's instance lock (see queue.h); nothing else in the spool is touched. */
int queue_lock_spool(const char *spool, char *err, size_t errlen)
{
    char path[4200], pid[32] = "";
    if (mkdir(spool, 0700) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create spool %s: %s", spool, strerror(errno));
        return -1;
    }
    snprintf(path, sizeof path, "%s/sluice.lock", spool);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? strcspn(pid, "\n") : 0] = '\0';
        if (e == EWOULDBLOCK)
            snprintf(err, errlen, "spool %s is in use by another sluice (pid %s); not starting",
                     spool, *pid ? pid : "unknown");
        else
            snprintf(err, errlen, "cannot lock %s: %s", path, strerror(e));
        close(fd);
        return -1;
    }
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)n, 0) != n)
        log_warn("queue: cannot write the pid into %s: %s", path, strerror(errno));
    return fd;
}
