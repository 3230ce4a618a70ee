/* queue: the durable store on LMDB, with group commit in daemon mode.
 *
 * Environment: <spool>/queue.mdb, one file (MDB_NOSUBDIR), 64 GiB sparse map, MDB_NOTLS
 * because read transactions run on the event-loop thread while writes run on the writer
 * thread. No MDB_NOSYNC/MDB_NOMETASYNC: every commit is on disk before it is reported.
 * Several processes (the daemon, `sluice submit`) share the environment through LMDB's lock
 * file. Keys: msg/body/incoming = id (8 bytes big-endian); rcpt = id + index (4 bytes BE).
 *
 * Daemon mode: queue_put/set_rcpt/delete/barrier and the clears of queue_take_incoming are
 * encoded on the caller's thread and appended to a FIFO (mutex + condvar). The writer thread
 * takes everything waiting, applies it in one write transaction and commits (one fsync for
 * the whole group), moves the ops to a done list and activates an event on the loop, where
 * queue_on_done runs the done callbacks in call order. If a group fails as a whole (disk
 * full, I/O error) each op is re-run in its own transaction so one bad op does not fail its
 * neighbours; each put then gets its own result. A duplicate id fails only that put (EEXIST);
 * the transaction stays usable since nothing of that put was written.
 *
 * Threads: the FIFO, the done list and `stopping` are shared under `mu`; stats are atomics;
 * everything else on the loop side (inflight clears, the incoming socket) is loop-only.
 * Tool mode (base NULL): no thread; writes happen in queue_put_sync on the caller's thread.
 */
#include "queue/queue.h"

#include <errno.h>
#include <lmdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "core/log.h"
#include "core/xalloc.h"

#define QUEUE_MAPSIZE ((size_t)64 << 30)
#define QUEUE_MAXDBS 8
#define QUEUE_DRAIN_MAX 1024 /* datagrams read per wake-up of the incoming socket */

enum queue_op_type {
    QOP_PUT,
    QOP_RCPT,
    QOP_DELETE,
    QOP_CLEAR,
    QOP_FLAGS,
    QOP_BARRIER,
    QOP_INVALID
};

/* One queued write. Immutable once enqueued except `next` and `err` (writer side). */
struct queue_op {
    struct queue_op *next;
    struct queue_op *inflight_next; /* loop side: clear ops not yet committed */
    enum queue_op_type type;
    uint64_t id;
    uint32_t idx;              /* QOP_RCPT */
    uint32_t fl_set, fl_clear; /* QOP_FLAGS: envelope flag bits to set and to clear */
    uint8_t *rec; /* PUT: envelope record; RCPT: recipient record */
    size_t reclen;
    uint8_t *rcpts;  /* PUT: recipient records back to back */
    size_t *rcptoff; /* PUT: nrcpt + 1 offsets into rcpts */
    uint32_t nrcpt;
    const char *body; /* PUT: content */
    char *body_owned; /* PUT in daemon mode: freed with the op */
    size_t bodylen;
    int incoming;  /* PUT: also mark incoming (tool mode) */
    uint64_t *ids; /* CLEAR: sorted ids */
    size_t nids;
    queue_done_fn done;
    void *arg;
    int err;
};

struct queue {
    MDB_env *env;
    MDB_dbi db_msg, db_rcpt, db_body, db_incoming;
    char *spool;
    struct event_base *base;
    struct event *done_ev;
    pthread_t writer;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct queue_op *head, *tail;           /* FIFO, under mu */
    struct queue_op *done_head, *done_tail; /* committed, under mu */
    int stopping;                           /* under mu */
    struct queue_op *inflight;              /* loop only */
    struct queue_op *grp_head, *grp_tail;   /* loop only: ops held by queue_group_begin */
    int grouping;                           /* loop only */
    int sock;
    struct event *sock_ev;
    void (*watch_cb)(void *arg, int flush);
    void *watch_arg;
    struct queue_stats stats; /* atomics */
};

/* Writes v big-endian into 8 bytes. */
static void queue_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

/* Reads 8 big-endian bytes. */
static uint64_t queue_get_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* Builds a recipient key: id (8 BE) + index (4 BE). */
static void queue_rcpt_key(uint8_t *k, uint64_t id, uint32_t idx)
{
    queue_be64(k, id);
    k[8] = (uint8_t)(idx >> 24);
    k[9] = (uint8_t)(idx >> 16);
    k[10] = (uint8_t)(idx >> 8);
    k[11] = (uint8_t)idx;
}

/* Maps an LMDB or system error to the errno the header promises. */
static int queue_errno(int rc)
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
static void queue_stat_add(uint64_t *c, uint64_t n)
{
    __atomic_fetch_add(c, n, __ATOMIC_RELAXED);
}

/* Frees an op and everything it owns. */
static void queue_op_free(struct queue_op *op)
{
    free(op->rec);
    free(op->rcpts);
    free(op->rcptoff);
    free(op->body_owned);
    free(op->ids);
    free(op);
}

/* Encodes an envelope and its recipients into op; -1 when m breaks a record limit. */
static int queue_encode_put(struct queue_op *op, const struct qmsg *m)
{
    size_t n = record_msg_encode(m, NULL, 0);
    if (n == 0 || (m->nrcpt > 0 && m->rcpts == NULL))
        return -1;
    op->rec = xmalloc(n);
    op->reclen = record_msg_encode(m, op->rec, n);
    op->id = m->id;
    op->nrcpt = m->nrcpt;
    op->rcptoff = xcalloc((size_t)m->nrcpt + 1, sizeof *op->rcptoff);
    for (uint32_t i = 0; i < m->nrcpt; i++) {
        size_t k = record_rcpt_encode(&m->rcpts[i], NULL, 0);
        if (k == 0)
            return -1;
        op->rcptoff[i + 1] = op->rcptoff[i] + k;
    }
    op->rcpts = xmalloc(op->rcptoff[m->nrcpt] + 1);
    for (uint32_t i = 0; i < m->nrcpt; i++)
        record_rcpt_encode(&m->rcpts[i], op->rcpts + op->rcptoff[i],
                           op->rcptoff[i + 1] - op->rcptoff[i]);
    return 0;
}

/* Writes a message: envelope (refusing a duplicate id), recipients, content, mark. */
static int queue_apply_put(struct queue *q, MDB_txn *txn, struct queue_op *op)
{
    uint8_t k[12];
    queue_be64(k, op->id);
    MDB_val key = {8, k}, val = {op->reclen, op->rec};
    int rc = mdb_put(txn, q->db_msg, &key, &val, MDB_NOOVERWRITE);
    for (uint32_t i = 0; rc == 0 && i < op->nrcpt; i++) {
        uint8_t rk[12];
        queue_rcpt_key(rk, op->id, i);
        MDB_val rkey = {12, rk};
        MDB_val rval = {op->rcptoff[i + 1] - op->rcptoff[i], op->rcpts + op->rcptoff[i]};
        rc = mdb_put(txn, q->db_rcpt, &rkey, &rval, 0);
    }
    if (rc == 0) {
        MDB_val body = {op->bodylen, (void *)op->body};
        rc = mdb_put(txn, q->db_body, &key, &body, 0);
    }
    if (rc == 0 && op->incoming) {
        MDB_val empty = {0, k};
        rc = mdb_put(txn, q->db_incoming, &key, &empty, 0);
    }
    return rc;
}

/* Stores a recipient's state, unless its message is gone (no orphan records). */
static int queue_apply_rcpt(struct queue *q, MDB_txn *txn, struct queue_op *op)
{
    uint8_t k[12];
    queue_rcpt_key(k, op->id, op->idx);
    MDB_val mkey = {8, k}, mval;
    int rc = mdb_get(txn, q->db_msg, &mkey, &mval);
    if (rc == MDB_NOTFOUND) {
        log_debug("queue: state for recipient %u of deleted message %016llX dropped", op->idx,
                  (unsigned long long)op->id);
        return 0;
    }
    if (rc != 0)
        return rc;
    MDB_val key = {12, k}, val = {op->reclen, op->rec};
    return mdb_put(txn, q->db_rcpt, &key, &val, 0);
}

/* Deletes one key, absent being fine. */
static int queue_del_key(MDB_txn *txn, MDB_dbi dbi, MDB_val *key)
{
    int rc = mdb_del(txn, dbi, key, NULL);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Removes a message: envelope, content, mark and every recipient record of that id. */
static int queue_apply_delete(struct queue *q, MDB_txn *txn, struct queue_op *op)
{
    uint8_t k[12];
    queue_rcpt_key(k, op->id, 0);
    MDB_val key = {8, k};
    int rc = queue_del_key(txn, q->db_msg, &key);
    if (rc == 0)
        rc = queue_del_key(txn, q->db_body, &key);
    if (rc == 0)
        rc = queue_del_key(txn, q->db_incoming, &key);
    MDB_cursor *c;
    if (rc != 0 || (rc = mdb_cursor_open(txn, q->db_rcpt, &c)) != 0)
        return rc;
    MDB_val rkey = {12, k}, val;
    /* After mdb_cursor_del the cursor already sits on the next record; MDB_NEXT knows. */
    for (rc = mdb_cursor_get(c, &rkey, &val, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(c, &rkey, &val, MDB_NEXT)) {
        if (rkey.mv_size < 8 || queue_get_be64(rkey.mv_data) != op->id)
            break;
        if ((rc = mdb_cursor_del(c, 0)) != 0)
            break;
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND || rc == 0 ? 0 : rc;
}

/* Clears incoming marks (those already gone are fine). */
static int queue_apply_clear(struct queue *q, MDB_txn *txn, struct queue_op *op)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < op->nids; i++) {
        uint8_t k[8];
        queue_be64(k, op->ids[i]);
        MDB_val key = {8, k};
        rc = queue_del_key(txn, q->db_incoming, &key);
    }
    return rc;
}

/* Sets and clears envelope flag bits of a message (absent: nothing to do). */
static int queue_apply_flags(struct queue *q, MDB_txn *txn, struct queue_op *op)
{
    uint8_t k[8];
    queue_be64(k, op->id);
    MDB_val key = {8, k}, val;
    int rc = mdb_get(txn, q->db_msg, &key, &val);
    if (rc != 0)
        return rc == MDB_NOTFOUND ? 0 : rc;
    struct qmsg m = {0};
    if (record_msg_decode(val.mv_data, val.mv_size, &m) < 0) {
        log_warn("queue: message %016llX: damaged envelope, flags not changed",
                 (unsigned long long)op->id);
        return 0;
    }
    m.flags = (m.flags | op->fl_set) & ~op->fl_clear;
    size_t n = record_msg_encode(&m, NULL, 0);
    uint8_t *rec = n ? xmalloc(n) : NULL;
    if (rec) {
        MDB_val nv = {record_msg_encode(&m, rec, n), rec};
        rc = mdb_put(txn, q->db_msg, &key, &nv, 0);
    }
    free(rec);
    record_msg_clear(&m);
    return rc;
}

/* Applies one op inside txn; returns the LMDB result (MDB_KEYEXIST leaves txn usable). */
static int queue_apply_op(struct queue *q, MDB_txn *txn, struct queue_op *op)
{
    switch (op->type) {
    case QOP_PUT:
        return queue_apply_put(q, txn, op);
    case QOP_RCPT:
        return queue_apply_rcpt(q, txn, op);
    case QOP_DELETE:
        return queue_apply_delete(q, txn, op);
    case QOP_CLEAR:
        return queue_apply_clear(q, txn, op);
    case QOP_FLAGS:
        return queue_apply_flags(q, txn, op);
    case QOP_BARRIER:
    case QOP_INVALID:
        return 0;
    }
    return 0;
}

/* Counts a committed op in the statistics. */
static void queue_count_op(struct queue *q, const struct queue_op *op)
{
    if (op->err != 0 || op->type == QOP_BARRIER || op->type == QOP_INVALID)
        return;
    queue_stat_add(&q->stats.ops_committed, 1);
    if (op->type == QOP_PUT)
        queue_stat_add(&q->stats.msgs_committed, 1);
}

/* Runs one op in its own transaction and records its result in op->err. */
static void queue_apply_alone(struct queue *q, struct queue_op *op)
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
    op->err = rc ? queue_errno(rc) : 0;
    if (rc == 0) {
        queue_stat_add(&q->stats.commits, 1);
        queue_count_op(q, op);
    } else if (op->type != QOP_PUT) {
        log_warn("queue: write of %016llX failed: %s", (unsigned long long)op->id,
                 mdb_strerror(rc));
    }
}

/* Applies a group in one transaction; on failure, re-runs each op on its own. */
static void queue_apply_group(struct queue *q, struct queue_op *ops)
{
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
        if (rc == 0)
            rc = mdb_txn_commit(txn);
        else
            mdb_txn_abort(txn);
    }
    if (rc == 0) {
        queue_stat_add(&q->stats.commits, 1);
        for (struct queue_op *op = ops; op; op = op->next)
            queue_count_op(q, op);
        return;
    }
    log_warn("queue: group commit failed (%s); retrying each write alone", mdb_strerror(rc));
    for (struct queue_op *op = ops; op; op = op->next) {
        if (op->type != QOP_INVALID)
            op->err = 0;
        queue_apply_alone(q, op);
    }
}

/* Appends a finished group to the done list (the caller wakes the loop). */
static void queue_finish_group(struct queue *q, struct queue_op *ops)
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

/* Writer thread: waits for ops, takes them all, commits them as one group, reports. */
static void *queue_writer_main(void *arg)
{
    struct queue *q = arg;
    pthread_mutex_lock(&q->mu);
    for (;;) {
        while (q->head == NULL && !q->stopping)
            pthread_cond_wait(&q->cv, &q->mu);
        if (q->head == NULL)
            break;
        struct queue_op *ops = q->head;
        q->head = q->tail = NULL;
        pthread_mutex_unlock(&q->mu);
        queue_apply_group(q, ops);
        queue_finish_group(q, ops);
        event_active(q->done_ev, EV_READ, 0);
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
        if (op->type == QOP_CLEAR)
            queue_inflight_remove(q, op);
        if (op->done)
            op->done(op->arg, op->err);
        queue_op_free(op);
    }
}

/* Appends an op to the writer's FIFO; daemon-mode calls in tool mode are a bug. */
static void queue_enqueue(struct queue *q, struct queue_op *op)
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

/* Opens (creating) the four databases in one write transaction. */
static int queue_open_dbs(struct queue *q)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(q->env, NULL, 0, &txn);
    if (rc != 0)
        return rc;
    if ((rc = mdb_dbi_open(txn, "msg", MDB_CREATE, &q->db_msg)) != 0 ||
        (rc = mdb_dbi_open(txn, "rcpt", MDB_CREATE, &q->db_rcpt)) != 0 ||
        (rc = mdb_dbi_open(txn, "body", MDB_CREATE, &q->db_body)) != 0 ||
        (rc = mdb_dbi_open(txn, "incoming", MDB_CREATE, &q->db_incoming)) != 0) {
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
        rc = mdb_env_open(q->env, path, MDB_NOSUBDIR | MDB_NOTLS, 0600);
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
    q->spool = xstrdup(spool);
    q->base = base;
    q->sock = -1;
    if (queue_open_env(q, err, errlen) < 0)
        goto fail;
    if (base && queue_start_writer(q, err, errlen) < 0) {
        mdb_env_close(q->env);
        goto fail;
    }
    return q;
fail:
    free(q->spool);
    free(q);
    return NULL;
}

/* Path of the incoming socket; -1 when it does not fit a sockaddr_un. */
static int queue_sock_addr(const char *spool, struct sockaddr_un *sun)
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
        queue_apply_group(q, ops);
        queue_finish_group(q, ops);
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
    free(q->spool);
    free(q);
}

/* Queues a message (envelope, recipients, content); done reports durability. */
void queue_put(struct queue *q, const struct qmsg *m, char *body, size_t len, queue_done_fn done,
               void *arg)
{
    struct queue_op *op = xcalloc(1, sizeof *op);
    op->type = QOP_PUT;
    op->done = done;
    op->arg = arg;
    op->body = op->body_owned = body;
    op->bodylen = len;
    if (queue_encode_put(op, m) < 0) {
        log_warn("queue: message %016llX breaks a record limit", (unsigned long long)m->id);
        op->type = QOP_INVALID;
        op->err = EINVAL;
    }
    queue_enqueue(q, op);
}

/* Queues a recipient's new state. */
void queue_set_rcpt(struct queue *q, uint64_t id, uint32_t idx, const struct qrcpt *r)
{
    size_t n = record_rcpt_encode(r, NULL, 0);
    if (n == 0) {
        log_warn("queue: recipient %u of %016llX breaks a record limit; state not saved", idx,
                 (unsigned long long)id);
        return;
    }
    struct queue_op *op = xcalloc(1, sizeof *op);
    op->type = QOP_RCPT;
    op->id = id;
    op->idx = idx;
    op->rec = xmalloc(n);
    op->reclen = record_rcpt_encode(r, op->rec, n);
    queue_enqueue(q, op);
}

/* Queues the removal of a message. The cursor range removes every recipient record of the
 * id, so nrcpt is only a hint and a damaged count leaves no orphans. */
void queue_delete(struct queue *q, uint64_t id, uint32_t nrcpt)
{
    (void)nrcpt;
    struct queue_op *op = xcalloc(1, sizeof *op);
    op->type = QOP_DELETE;
    op->id = id;
    queue_enqueue(q, op);
}

/* Queues a marker whose callback runs once everything before it is committed. */
void queue_barrier(struct queue *q, queue_done_fn done, void *arg)
{
    struct queue_op *op = xcalloc(1, sizeof *op);
    op->type = QOP_BARRIER;
    op->done = done;
    op->arg = arg;
    queue_enqueue(q, op);
}

/* Queues a change of envelope flags. */
void queue_set_flags(struct queue *q, uint64_t id, uint32_t set, uint32_t clear)
{
    struct queue_op *op = xcalloc(1, sizeof *op);
    op->type = QOP_FLAGS;
    op->id = id;
    op->fl_set = set;
    op->fl_clear = clear;
    queue_enqueue(q, op);
}

/* Holds back the writes that follow until queue_group_end(). */
void queue_group_begin(struct queue *q)
{
    q->grouping++;
}

/* Hands the held writes and a barrier (done) to the writer at once: it takes them in one
 * swoop, so they commit in one transaction. */
void queue_group_end(struct queue *q, queue_done_fn done, void *arg)
{
    if (q->grouping == 0)
        log_panic("queue: queue_group_end without queue_group_begin");
    queue_barrier(q, done, arg);
    if (--q->grouping > 0)
        return;
    struct queue_op *head = q->grp_head, *tail = q->grp_tail;
    q->grp_head = q->grp_tail = NULL;
    pthread_mutex_lock(&q->mu);
    if (q->tail)
        q->tail->next = head;
    else
        q->head = head;
    q->tail = tail;
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

/* Starts a read-only transaction; -1 with errno on failure. */
static int queue_read_begin(struct queue *q, MDB_txn **txn)
{
    int rc = mdb_txn_begin(q->env, NULL, MDB_RDONLY, txn);
    if (rc != 0) {
        log_warn("queue: read transaction: %s", mdb_strerror(rc));
        errno = queue_errno(rc);
        return -1;
    }
    return 0;
}

/* Appends the content of message id to out. */
int queue_body(struct queue *q, uint64_t id, struct evbuffer *out)
{
    MDB_txn *txn;
    if (queue_read_begin(q, &txn) < 0)
        return -1;
    uint8_t k[8];
    queue_be64(k, id);
    MDB_val key = {8, k}, val;
    int rc = mdb_get(txn, q->db_body, &key, &val);
    int ret = 0;
    if (rc != 0) {
        errno = queue_errno(rc);
        ret = -1;
    } else if (evbuffer_add(out, val.mv_data, val.mv_size) < 0) {
        errno = ENOMEM;
        ret = -1;
    }
    mdb_txn_abort(txn);
    return ret;
}

/* Loads the recipient records of m->id (exactly indexes 0..nrcpt-1); -1 when damaged. */
static int queue_load_rcpts(struct queue *q, MDB_txn *txn, struct qmsg *m)
{
    MDB_cursor *c;
    if (mdb_cursor_open(txn, q->db_rcpt, &c) != 0)
        return -1;
    if (m->nrcpt > 0)
        m->rcpts = xcalloc(m->nrcpt, sizeof *m->rcpts);
    uint8_t k[12];
    queue_rcpt_key(k, m->id, 0);
    MDB_val key = {12, k}, val;
    uint32_t n = 0;
    int rc, ok = 1;
    for (rc = mdb_cursor_get(c, &key, &val, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(c, &key, &val, MDB_NEXT)) {
        const uint8_t *kp = key.mv_data;
        if (key.mv_size < 8 || queue_get_be64(kp) != m->id)
            break;
        uint8_t want[12];
        queue_rcpt_key(want, m->id, n);
        if (key.mv_size != 12 || n >= m->nrcpt || memcmp(kp, want, 12) != 0 ||
            record_rcpt_decode(val.mv_data, val.mv_size, &m->rcpts[n]) < 0) {
            ok = 0;
            break;
        }
        n++;
    }
    mdb_cursor_close(c);
    return ok && n == m->nrcpt && (rc == 0 || rc == MDB_NOTFOUND) ? 0 : -1;
}

/* Decodes message id (envelope + recipients) from txn into *m; -1 (logged) when damaged. */
static int queue_load(struct queue *q, MDB_txn *txn, uint64_t id, const MDB_val *env,
                      struct qmsg *m)
{
    memset(m, 0, sizeof *m);
    m->id = id;
    if (record_msg_decode(env->mv_data, env->mv_size, m) < 0) {
        log_warn("queue: message %016llX: damaged envelope record, skipped",
                 (unsigned long long)id);
        return -1;
    }
    if (queue_load_rcpts(q, txn, m) < 0) {
        log_warn("queue: message %016llX: damaged recipient records, skipped",
                 (unsigned long long)id);
        record_msg_clear(m);
        return -1;
    }
    return 0;
}

/* Calls fn for every message in id order, skipping damaged ones. */
int queue_scan(struct queue *q, queue_msg_fn fn, void *arg)
{
    MDB_txn *txn;
    MDB_cursor *c;
    if (queue_read_begin(q, &txn) < 0)
        return -1;
    int rc = mdb_cursor_open(txn, q->db_msg, &c);
    if (rc != 0) {
        mdb_txn_abort(txn);
        errno = queue_errno(rc);
        return -1;
    }
    MDB_val key, val;
    for (rc = mdb_cursor_get(c, &key, &val, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &key, &val, MDB_NEXT)) {
        struct qmsg m;
        if (key.mv_size != 8) {
            log_warn("queue: envelope with a %zu-byte key, skipped", key.mv_size);
            continue;
        }
        if (queue_load(q, txn, queue_get_be64(key.mv_data), &val, &m) < 0)
            continue;
        int stop = fn(arg, &m) < 0;
        record_msg_clear(&m);
        if (stop)
            break;
    }
    mdb_cursor_close(c);
    mdb_txn_abort(txn);
    if (rc != 0 && rc != MDB_NOTFOUND) {
        errno = queue_errno(rc);
        return -1;
    }
    return 0;
}

/* Whether id's incoming mark is already being cleared (taken, clear not yet committed). */
static int queue_clearing(const struct queue *q, uint64_t id)
{
    for (const struct queue_op *op = q->inflight; op; op = op->inflight_next) {
        size_t lo = 0, hi = op->nids;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (op->ids[mid] == id)
                return 1;
            if (op->ids[mid] < id)
                lo = mid + 1;
            else
                hi = mid;
        }
    }
    return 0;
}

/* Passes one incoming message to fn; returns 1 when fn asked to stop, -1 when not passed. */
static int queue_take_one(struct queue *q, MDB_txn *txn, uint64_t id, queue_msg_fn fn, void *arg)
{
    uint8_t k[8];
    queue_be64(k, id);
    MDB_val key = {8, k}, val;
    struct qmsg m;
    if (mdb_get(txn, q->db_msg, &key, &val) != 0) {
        log_warn("queue: incoming mark for missing message %016llX cleared",
                 (unsigned long long)id);
        return -1;
    }
    if (queue_load(q, txn, id, &val, &m) < 0)
        return -1;
    int stop = fn(arg, &m) < 0;
    record_msg_clear(&m);
    return stop;
}

/* Queues the clear of the taken marks and remembers them until committed. */
static void queue_clear_marks(struct queue *q, uint64_t *ids, size_t nids)
{
    if (nids == 0) {
        free(ids);
        return;
    }
    struct queue_op *op = xcalloc(1, sizeof *op);
    op->type = QOP_CLEAR;
    op->ids = ids;
    op->nids = nids;
    op->inflight_next = q->inflight;
    q->inflight = op;
    queue_enqueue(q, op);
}

/* Passes every message marked incoming to fn, then queues the clearing of those marks. */
int queue_take_incoming(struct queue *q, queue_msg_fn fn, void *arg)
{
    if (q->base == NULL)
        log_panic("queue: queue_take_incoming in tool mode");
    MDB_txn *txn;
    MDB_cursor *c;
    if (queue_read_begin(q, &txn) < 0)
        return -1;
    int rc = mdb_cursor_open(txn, q->db_incoming, &c);
    if (rc != 0) {
        mdb_txn_abort(txn);
        errno = queue_errno(rc);
        return -1;
    }
    uint64_t *ids = NULL;
    size_t nids = 0, cap = 0;
    int count = 0;
    MDB_val key, val;
    for (rc = mdb_cursor_get(c, &key, &val, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &key, &val, MDB_NEXT)) {
        if (key.mv_size != 8 || queue_clearing(q, queue_get_be64(key.mv_data)))
            continue;
        uint64_t id = queue_get_be64(key.mv_data);
        xgrow(&ids, &cap, nids, sizeof *ids);
        ids[nids++] = id;
        int r = queue_take_one(q, txn, id, fn, arg);
        count += r >= 0;
        if (r == 1)
            break;
    }
    if (rc != 0 && rc != MDB_NOTFOUND)
        log_warn("queue: reading incoming marks: %s", mdb_strerror(rc));
    mdb_cursor_close(c);
    mdb_txn_abort(txn);
    queue_clear_marks(q, ids, nids);
    return count;
}

/* Loop side: drains the wake-up datagrams, then tells the owner once. */
static void queue_on_incoming(evutil_socket_t fd, short what, void *arg)
{
    struct queue *q = arg;
    char buf[64];
    int flush = 0;
    (void)what;
    for (int i = 0; i < QUEUE_DRAIN_MAX; i++) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n < 0 && errno != EINTR)
            break;
        flush |= n > 0 && buf[0] == 'F';
    }
    q->watch_cb(q->watch_arg, flush);
}

/* Binds spool/incoming.sock (replacing a stale one) and watches it on the loop. */
int queue_watch_incoming(struct queue *q, void (*cb)(void *arg, int flush), void *arg)
{
    struct sockaddr_un sun;
    if (q->base == NULL || q->sock_ev) {
        errno = EINVAL;
        return -1;
    }
    if (queue_sock_addr(q->spool, &sun) < 0)
        return -1;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if ((unlink(sun.sun_path) < 0 && errno != ENOENT) ||
        bind(fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    q->sock = fd;
    q->watch_cb = cb;
    q->watch_arg = arg;
    q->sock_ev = event_new(q->base, fd, EV_READ | EV_PERSIST, queue_on_incoming, q);
    if (q->sock_ev == NULL || event_add(q->sock_ev, NULL) < 0) {
        log_panic("queue: cannot watch %s", sun.sun_path);
    }
    return 0;
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

/* Sends one wake-up datagram ("1" new mail, "F" flush) without blocking. 0, or -1 with errno
 * (ENOENT or ECONNREFUSED: no daemon is bound to the socket; EAGAIN: its buffer is full). */
static int queue_notify(const char *spool, const char *what)
{
    struct sockaddr_un sun;
    if (queue_sock_addr(spool, &sun) < 0)
        return -1;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    ssize_t n = sendto(fd, what, 1, MSG_DONTWAIT, (struct sockaddr *)&sun, sizeof sun);
    int e = errno;
    close(fd);
    errno = e;
    return n == 1 ? 0 : -1;
}

/* Wakes a daemon watching spool/incoming.sock: new mail is there (best effort: the daemon
 * also polls). */
void queue_notify_incoming(const char *spool)
{
    (void)queue_notify(spool, "1");
}

/* Asks a running daemon for a queue run: every waiting recipient becomes due now. */
int queue_notify_flush(const char *spool)
{
    return queue_notify(spool, "F");
}

/* Copies the counters. */
void queue_get_stats(const struct queue *q, struct queue_stats *st)
{
    st->commits = __atomic_load_n(&q->stats.commits, __ATOMIC_RELAXED);
    st->msgs_committed = __atomic_load_n(&q->stats.msgs_committed, __ATOMIC_RELAXED);
    st->ops_committed = __atomic_load_n(&q->stats.ops_committed, __ATOMIC_RELAXED);
}
