/* queue reads: the read side of the store, on the loop thread (or the tool's), in LMDB
 * read-only transactions, and the incoming socket.
 *
 * queue_body, queue_scan (every message in id order with its recipients, damaged ones
 * skipped), queue_scan_batch (the same in batches, each its own read transaction: the
 * scheduler's recovery at start), queue_take_incoming (messages other processes stored:
 * handed over, then their marks cleared through the writer, tracked in q->inflight until
 * committed so a second take does not hand them over twice). Records that do not decode
 * are logged and skipped, never fatal.
 * Incoming socket (<spool>/incoming.sock, datagrams): queue_watch_incoming binds it on the
 * loop; "1" new mail, "F" flush, a request kind + value go to queue_watch_requests' callback.
 * queue_notify_incoming/_flush/_request send them without blocking (best effort: the daemon
 * also polls). */
#include <errno.h>
#include <limits.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "core/log.h"
#include "core/xalloc.h"
#include "queue/internal.h"
#include "queue/record.h"

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
    if (q->pending && queue_pending_body(q, id, out) == 0)
        return 0; /* acknowledged through the journal, not in LMDB yet (commit.c) */
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
    } else {
        ret = queue_bodyfile_append(q, txn, id, out); /* the rest, MSG_F_BODYFILE */
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

/* Calls fn for at most max messages in id order from the first key >= from (NULL: the
 * first), skipping damaged ones; *last = the id of the last one seen. The count seen, or -1. */
static long queue_scan_from(struct queue *q, const uint8_t *from, long max, queue_msg_fn fn,
                            void *arg, uint64_t *last)
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
    MDB_val key = {8, (void *)from}, val;
    long n = 0;
    for (rc = mdb_cursor_get(c, &key, &val, from ? MDB_SET_RANGE : MDB_FIRST); rc == 0 && n < max;
         rc = mdb_cursor_get(c, &key, &val, MDB_NEXT)) {
        struct qmsg m;
        if (key.mv_size != 8) { /* sorts before or after every id: never the same one twice */
            log_warn("queue: envelope with a %zu-byte key, skipped", key.mv_size);
            continue;
        }
        *last = queue_get_be64(key.mv_data);
        n++;
        if (queue_load(q, txn, *last, &val, &m) < 0)
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
    return n;
}

/* Calls fn for every message in id order, skipping damaged ones. */
int queue_scan(struct queue *q, queue_msg_fn fn, void *arg)
{
    uint64_t last;
    return queue_scan_from(q, NULL, LONG_MAX, fn, arg, &last) < 0 ? -1 : 0;
}

/* One batch of a scan: at most max messages with ids above after, in id order. */
long queue_scan_batch(struct queue *q, uint64_t after, long max, queue_msg_fn fn, void *arg,
                      uint64_t *last)
{
    uint8_t k[8];
    queue_be64(k, after + 1);
    return queue_scan_from(q, k, max, fn, arg, last);
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
    char buf[QUEUE_REQUEST_MAX + 2];
    int flush = 0;
    (void)what;
    for (int i = 0; i < QUEUE_DRAIN_MAX; i++) {
        ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
        if (n < 0 && errno != EINTR)
            break;
        flush |= n > 0 && buf[0] == 'F';
        if (n > 1 && (buf[0] == 'R' || buf[0] == 'I') && q->req_cb) {
            buf[n] = '\0';
            q->req_cb(q->req_arg, buf[0], buf + 1);
        }
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
    size_t len = strlen(what);
    ssize_t n = sendto(fd, what, len, MSG_DONTWAIT, (struct sockaddr *)&sun, sizeof sun);
    int e = errno;
    close(fd);
    errno = e;
    return n == (ssize_t)len ? 0 : -1;
}

/* Requests from tools ('R' domain, 'I' queue id). */
void queue_watch_requests(struct queue *q, void (*cb)(void *arg, char kind, const char *value),
                          void *arg)
{
    q->req_cb = cb;
    q->req_arg = arg;
}

/* Sends one request datagram: kind then value. */
int queue_notify_request(const char *spool, char kind, const char *value)
{
    char buf[QUEUE_REQUEST_MAX + 2];
    size_t n = strlen(value);
    if (n > QUEUE_REQUEST_MAX) {
        errno = EINVAL;
        return -1;
    }
    buf[0] = kind;
    memcpy(buf + 1, value, n + 1);
    return queue_notify(spool, buf);
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
