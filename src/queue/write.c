/* queue writes: the record-level operations of the store, from the caller's side to the
 * writer's transaction (queue.c runs the writer thread and the group commit).
 *
 * Caller's side (loop thread, or the tool's thread): queue_put, queue_put_expansion,
 * queue_set_rcpt, queue_delete, queue_set_flags (hold and other envelope flags), queue_barrier
 * encode the write into a struct queue_op (a record limit broken: QOP_INVALID, EINVAL to its
 * done callback) and hand it to queue_enqueue(); queue_group_begin/queue_group_end hold the
 * writes back and hand them over at once, so they commit in one transaction.
 * Writer's side: queue_apply_op(q, txn, op) applies one op in txn and returns the LMDB
 * result: MDB_KEYEXIST (a duplicate id) leaves txn usable and fails only that put; any
 * other error fails the group (queue.c then re-runs each op alone). queue_count_op() counts
 * a committed op in the statistics. */
#include <errno.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "core/xalloc.h"
#include "queue/internal.h"
#include "queue/record.h"

/* Encodes an envelope and its recipients into op; -1 when m breaks a record limit. */
int queue_encode_put(struct queue_op *op, const struct qmsg *m)
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

/* Rewrites the parent recipient of an expansion (state and last reply); MDB_NOTFOUND when
 * the parent message has no recipient with that address. */
static int queue_apply_parent(struct queue *q, MDB_txn *txn, struct queue_op *op)
{
    uint8_t k[12];
    MDB_cursor *c;
    queue_rcpt_key(k, op->parent, 0);
    int rc = mdb_cursor_open(txn, q->db_rcpt, &c);
    if (rc != 0)
        return rc;
    MDB_val key = {12, k}, val;
    for (rc = mdb_cursor_get(c, &key, &val, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(c, &key, &val, MDB_NEXT)) {
        if (key.mv_size != 12 || queue_get_be64(key.mv_data) != op->parent) {
            rc = MDB_NOTFOUND;
            break;
        }
        struct qrcpt r;
        if (record_rcpt_decode(val.mv_data, val.mv_size, &r) < 0)
            continue;
        int same = strcasecmp(r.addr, op->parent_addr) == 0;
        if (same) {
            free(r.last_reply);
            r.last_reply = op->parent_reply;
            r.state = op->parent_state;
            size_t n = record_rcpt_encode(&r, NULL, 0);
            uint8_t *buf = xmalloc(n ? n : 1);
            MDB_val nv = {record_rcpt_encode(&r, buf, n), buf};
            uint8_t nk[12];
            memcpy(nk, key.mv_data, 12);
            MDB_val nkey = {12, nk};
            r.last_reply = NULL;
            rc = n ? mdb_put(txn, q->db_rcpt, &nkey, &nv, 0) : MDB_BAD_VALSIZE;
            free(buf);
        }
        record_rcpt_clear(&r);
        if (same)
            break;
    }
    mdb_cursor_close(c);
    return rc;
}

/* Writes a message: envelope (refusing a duplicate id), recipients, content, mark; for an
 * expansion the parent recipient first (nothing is written when it is missing). */
static int queue_apply_put(struct queue *q, MDB_txn *txn, struct queue_op *op)
{
    if (op->parent_addr) {
        int prc = queue_apply_parent(q, txn, op);
        if (prc != 0)
            return prc;
    }
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
int queue_apply_op(struct queue *q, MDB_txn *txn, struct queue_op *op)
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
    case QOP_APPLIED:
        return 0;
    }
    return 0;
}

/* Counts a committed op in the statistics. */
void queue_count_op(struct queue *q, const struct queue_op *op)
{
    if (op->err != 0 || op->type == QOP_BARRIER || op->type == QOP_INVALID ||
        op->type == QOP_APPLIED)
        return;
    queue_stat_add(&q->stats.ops_committed, 1);
    if (op->type == QOP_PUT)
        queue_stat_add(&q->stats.msgs_committed, 1);
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

/* Queues a message and its parent recipient's new state as one write (queue.h). */
void queue_put_expansion(struct queue *q, const struct qmsg *m, char *body, size_t len,
                         uint64_t parent, const char *parent_addr, uint8_t state,
                         const char *reply, queue_done_fn done, void *arg)
{
    struct queue_op *op = xcalloc(1, sizeof *op);
    op->type = QOP_PUT;
    op->done = done;
    op->arg = arg;
    op->body = op->body_owned = body;
    op->bodylen = len;
    op->parent = parent;
    op->parent_addr = xstrdup(parent_addr);
    op->parent_state = state;
    op->parent_reply = xstrdup(reply);
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
    op->body_fd = -1;
    op->body_path = queue_bodyfile_path(q, id); /* removed once committed, if there is one */
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
