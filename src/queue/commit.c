/* queue commit: the daemon's group commit through the journal (queue/journal.h), so that
 * an acknowledgement waits for one device sync instead of LMDB's two.
 *
 * Writer thread, per group (queue_commit_group):
 *   1. apply every op in the writer's open LMDB write transaction (q->wtxn, begun by the
 *      first group after a commit; a duplicate id fails only its put; any other error: the
 *      transaction is dropped, LMDB catches up from the journal, the group goes the old way,
 *      each op alone, synced)
 *   2. write the group's records to the journal, one fdatasync          <- the one sync
 *      (a large message's body file, bodyfile.c, is synced before it); a group of delivery
 *      outcomes alone (recipient states, deletes) is written without it and made durable
 *      by the next sync (a crash can repeat a delivery, never lose mail; a deleted body
 *      file is removed only once its delete is durable)
 *   3. hand the ops to the loop: done callbacks run (250 to the client, delivery starts);
 *      each put's content stays readable from q->pending (loop side) until step 4 shows
 *   4. when the transaction is due, store its last LSN in the "meta" database and commit
 *      it: acknowledgements come first, so while groups keep arriving they are journaled
 *      and acknowledged one after another and several ride in one LMDB commit. Due = no
 *      group is waiting (the writer commits before it sleeps: a tool reading LMDB, e.g.
 *      mailq right after a crash, lags by one commit at most when idle), or the oldest is
 *      COMMIT_MAX_MS old, or its puts hold
 *      COMMIT_MAX_BYTES of content, or a barrier with a callback is in the group (handed
 *      back after the commit: "committed and visible to readers"), or a checkpoint is due,
 *      or the writer stops. The environment runs MDB_NOMETASYNC (one sync of the data
 *      pages, the meta page unsynced: after a power cut LMDB comes back consistent at this
 *      commit or the one before); then a QOP_APPLIED marker tells the loop to drop the
 *      pending contents
 *   5. once the run is JOURNAL_CHECKPOINT bytes long: checkpoint = mdb_env_sync, then the
 *      journal starts again at offset 0 (every record in it is now durable in LMDB)
 * If step 4 fails (disk full), or step 1 fails with acknowledged groups in the transaction
 * (it is then dropped), those groups are in the journal but not in LMDB: `behind` is set,
 * and before the next group the journal is replayed into LMDB; while that fails, every new
 * write fails (a put gets ENOSPC and the client 452) and nothing is checkpointed, so
 * nothing acknowledged can be lost. If a journal write or sync fails, the LSNs it took are
 * a hole in the run, and replay stops at a hole: `new_run` is set, and groups go the old
 * way (each op alone, synced) until a checkpoint has started a new run.
 *
 * Start (queue_journal_open): the LSN in "meta" is what LMDB holds; every complete group of
 * the journal with a higher LSN is applied again in its own transaction (a put already
 * there is skipped), then a checkpoint. Whole groups only, in order, stopping at the first
 * torn or invalid record (journal_scan), so a group whose sync never finished (never
 * acknowledged) is dropped whole. MDB_NOSYNC is not used: an unsynced meta page could reach
 * the disk before the pages it points to, and `sluice submit` commits into the same file.
 *
 * Test hook: SLUICE_TEST_POWERCUT=1 copies queue.mdb at every checkpoint; the first
 * checkpoint with journaled writes since the last one instead puts that copy back (every
 * LMDB write since it is lost, as in a power cut before the page cache reached the disk)
 * and exits with status 137 at once (docs/testing.md). */
#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "core/log.h"
#include "core/qid.h"
#include "core/xalloc.h"
#include "queue/internal.h"
#include "queue/journal.h"

static const char META_LSN[] = "journal-lsn";

enum {
    COMMIT_MAX_MS = 100,            /* the oldest acknowledged group waits no longer */
    COMMIT_MAX_BYTES = 8 << 20,     /* put contents held in q->pending meanwhile */
};

/* Reads the LSN LMDB holds (0 when none). */
static int queue_meta_get(struct queue *q, uint64_t *lsn)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(q->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0)
        return rc;
    MDB_val key = {sizeof META_LSN - 1, (void *)META_LSN}, val;
    rc = mdb_get(txn, q->db_meta, &key, &val);
    *lsn = rc == 0 && val.mv_size == 8 ? queue_get_be64(val.mv_data) : 0;
    mdb_txn_abort(txn);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Stores lsn in txn. */
static int queue_meta_put(struct queue *q, MDB_txn *txn, uint64_t lsn)
{
    uint8_t v[8];
    queue_be64(v, lsn);
    MDB_val key = {sizeof META_LSN - 1, (void *)META_LSN}, val = {8, v};
    return mdb_put(txn, q->db_meta, &key, &val, 0);
}

/* Hands ops (or one marker) to the loop. */
static void queue_post(struct queue *q, struct queue_op *ops)
{
    queue_finish_group(q, ops);
    event_active(q->done_ev, EV_READ, 0);
}

/* Tells the loop that everything up to lsn is in LMDB, after ops (NULL: none) in the same
 * hand-over, so that a callback of ops never runs before the marker is seen. */
static void queue_post_applied(struct queue *q, struct queue_op *ops, uint64_t lsn)
{
    struct queue_op *m = xcalloc(1, sizeof *m);
    m->type = QOP_APPLIED;
    m->lsn = lsn;
    struct queue_op **tail = &ops;
    while (*tail)
        tail = &(*tail)->next;
    *tail = m;
    queue_post(q, ops);
}

/* Applies one replayed group (journal_scan callback): one transaction, with its LSN. */
static int queue_replay_group(void *arg, const struct journal_rec *recs, size_t n)
{
    struct queue *q = arg;
    if (recs[n - 1].lsn <= q->applied_lsn)
        return 0;
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(q->env, NULL, 0, &txn);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct queue_op *op = xcalloc(1, sizeof *op);
        if (journal_op_decode(recs[i].type, recs[i].payload, recs[i].len, op) < 0) {
            log_warn("queue: journal record %llu does not decode; skipped",
                     (unsigned long long)recs[i].lsn);
        } else {
            rc = queue_apply_op(q, txn, op);
            if (rc == MDB_KEYEXIST || rc == MDB_NOTFOUND) /* already there; parent gone */
                rc = 0;
        }
        queue_op_free(op);
    }
    if (rc == 0)
        rc = queue_meta_put(q, txn, recs[n - 1].lsn);
    if (rc == 0)
        rc = mdb_txn_commit(txn);
    else if (txn)
        mdb_txn_abort(txn);
    if (rc != 0) {
        errno = queue_errno(rc);
        return -1;
    }
    q->applied_lsn = recs[n - 1].lsn;
    return 0;
}

/* Applies every complete journal group LMDB lacks; *max_lsn = the highest LSN seen. */
static int queue_replay(struct queue *q, uint64_t *max_lsn)
{
    uint8_t *buf;
    size_t len;
    if (journal_load(q->jn, &buf, &len) < 0)
        return -1;
    uint64_t before = q->applied_lsn;
    struct journal_scan js;
    int rc = journal_scan(buf, len, queue_replay_group, q, &js);
    int e = errno;
    free(buf);
    *max_lsn = js.max_lsn;
    if (q->applied_lsn != before)
        log_info("queue: journal replayed into LMDB: LSN %llu to %llu (%zu groups in the run)",
                 (unsigned long long)before + 1, (unsigned long long)q->applied_lsn,
                 js.groups);
    errno = e;
    return rc;
}

/* The test hook's file names: <spool>/queue.mdb and its checkpoint copy. */
static void queue_powercut_paths(const struct queue *q, char *mdb, char *copy, size_t n)
{
    snprintf(mdb, n, "%s/queue.mdb", q->spool);
    snprintf(copy, n, "%s/queue.mdb.powercut", q->spool);
}

/* Test hook: copies queue.mdb as it is at this checkpoint. */
static void queue_powercut_snapshot(struct queue *q)
{
    char mdb[4200], copy[4200], buf[65536];
    queue_powercut_paths(q, mdb, copy, sizeof mdb);
    int in = open(mdb, O_RDONLY | O_CLOEXEC);
    int out = open(copy, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ssize_t n = 0;
    while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)n) != n)
            n = -1;
    if (in < 0 || out < 0 || n < 0)
        log_warn("queue: SLUICE_TEST_POWERCUT: copying %s: %s", mdb, strerror(errno));
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
}

/* Test hook: LMDB back to the last checkpoint's copy, then gone at once. */
static void queue_powercut(struct queue *q)
{
    char mdb[4200], copy[4200];
    queue_powercut_paths(q, mdb, copy, sizeof mdb);
    log_warn("queue: SLUICE_TEST_POWERCUT: queue.mdb set back to the last checkpoint "
             "(journal LSN %llu), exiting", (unsigned long long)q->next_lsn - 1);
    if (rename(copy, mdb) < 0)
        log_warn("queue: SLUICE_TEST_POWERCUT: %s: %s", copy, strerror(errno));
    _exit(137);
}

/* Makes LMDB durable and starts the journal again (never while LMDB is behind it). */
static int queue_checkpoint(struct queue *q)
{
    if (q->behind)
        return -1;
    if (q->powercut && journal_used(q->jn) > 0)
        queue_powercut(q);
    int rc = mdb_env_sync(q->env, 1);
    if (rc != 0) {
        log_warn("queue: checkpoint: %s; the journal is kept", mdb_strerror(rc));
        return -1;
    }
    journal_reset(q->jn);
    queue_bodyfile_release(q); /* every delete is durable in LMDB now */
    if (q->powercut)
        queue_powercut_snapshot(q);
    return 0;
}

/* Opens the journal, replays what LMDB lacks and checkpoints (daemon mode, at start). */
int queue_journal_open(struct queue *q, char *err, size_t errlen)
{
    const char *pc = getenv("SLUICE_TEST_POWERCUT");
    q->powercut = pc && strcmp(pc, "1") == 0;
    q->jn = journal_open(q->spool, err, errlen);
    if (q->jn == NULL)
        return -1;
    uint64_t max = 0;
    int rc = queue_meta_get(q, &q->applied_lsn);
    if (rc != 0)
        snprintf(err, errlen, "queue journal: %s", mdb_strerror(rc));
    else if (queue_replay(q, &max) < 0)
        snprintf(err, errlen, "queue journal replay: %s", strerror(errno));
    else if (queue_checkpoint(q) < 0)
        snprintf(err, errlen, "queue journal: checkpoint after replay failed");
    else {
        q->next_lsn = (max > q->applied_lsn ? max : q->applied_lsn) + 1;
        return 0;
    }
    journal_close(q->jn);
    q->jn = NULL;
    return -1;
}

/* Checkpoints (when LMDB holds everything) and closes the journal (after the writer). */
void queue_journal_close(struct queue *q)
{
    if (q->jn == NULL)
        return;
    queue_checkpoint(q);
    journal_close(q->jn);
    q->jn = NULL;
    queue_pending_free(q);
}

/* Whether op changes the store (and so goes into the journal). */
static int queue_op_journaled(const struct queue_op *op)
{
    return op->err == 0 && op->type != QOP_BARRIER && op->type != QOP_INVALID &&
           op->type != QOP_APPLIED;
}

/* Whether a group must be durable before its callbacks run: anything but delivery outcomes
 * (a recipient's state, a delete). Those ride with the next sync (the next new message's,
 * or the LMDB commit): a crash before it can only repeat a delivery, never lose mail, and a
 * deleted message's body file stays until then (queue_bodyfile_settle). */
static int queue_group_needs_sync(const struct queue_op *ops)
{
    for (; ops; ops = ops->next)
        if (queue_op_journaled(ops) && ops->type != QOP_RCPT && ops->type != QOP_DELETE)
            return 1;
    return 0;
}

/* Writes the group's records (LSNs assigned, the last one marked), synced unless the group
 * holds only delivery outcomes (*synced says); *last = the last LSN, 0 when nothing was to
 * be journaled. 0, or -1 with errno. */
static int queue_journal_group(struct queue *q, struct queue_op *ops, uint64_t *last,
                               int *synced)
{
    size_t total = 0, n = 0, done = 0;
    for (struct queue_op *op = ops; op; op = op->next)
        if (queue_op_journaled(op)) {
            total += JOURNAL_HDR + journal_op_encode(op, NULL, 0);
            n++;
        }
    *last = 0;
    *synced = 0; /* nothing written: nothing made durable */
    if (n == 0)
        return 0;
    uint8_t *buf = xmalloc(total), *p = buf;
    for (struct queue_op *op = ops; op; op = op->next) {
        if (!queue_op_journaled(op))
            continue;
        size_t len = journal_op_encode(op, p + JOURNAL_HDR, total - (size_t)(p - buf));
        op->lsn = q->next_lsn++;
        journal_rec_seal(p, op->lsn, ++done == n ? JOURNAL_F_END : 0, (uint8_t)op->type, len);
        p += JOURNAL_HDR + len;
    }
    *synced = queue_group_needs_sync(ops);
    int rc = journal_write(q->jn, buf, total, *synced);
    free(buf);
    if (rc == 0)
        *last = q->next_lsn - 1;
    if (rc == 0 && *synced)
        queue_stat_add(&q->stats.groups_synced, 1);
    return rc;
}

/* Applies the ops in txn; MDB_KEYEXIST fails only its put. The first other error. */
static int queue_apply_ops(struct queue *q, MDB_txn *txn, struct queue_op *ops)
{
    for (struct queue_op *op = ops; op; op = op->next) {
        int rc = queue_apply_op(q, txn, op);
        if (rc == MDB_KEYEXIST)
            op->err = EEXIST;
        else if (rc != 0)
            return rc;
    }
    return 0;
}

/* Counts a group that is durable (the statistics and the histograms). */
static void queue_count_group(struct queue *q, struct queue_op *ops, int64_t t0, int synced)
{
    uint64_t msgs = 0;
    queue_stat_add(&q->stats.commits, 1);
    for (struct queue_op *op = ops; op; op = op->next) {
        queue_count_op(q, op);
        msgs += op->type == QOP_PUT && op->err == 0;
    }
    if (synced)
        hist_observe(&q->fsync_seconds, (double)(clock_mono_us() - t0) / 1e6);
    hist_observe(&q->per_commit, (double)msgs);
}

/* While LMDB is behind the journal: replay it first; -1 (every op failed) while it fails. */
static int queue_catch_up(struct queue *q, struct queue_op *ops)
{
    uint64_t max;
    if (queue_replay(q, &max) == 0) {
        q->behind = 0;
        log_info("queue: LMDB has caught up with the journal");
        queue_post_applied(q, NULL, q->applied_lsn);
        return 0;
    }
    int e = errno ? errno : EIO;
    for (struct queue_op *op = ops; op; op = op->next)
        if (op->type != QOP_BARRIER && op->type != QOP_INVALID)
            op->err = e == ENOSPC || e == EDQUOT ? ENOSPC : e;
    queue_bodyfile_settle(q, ops, 0); /* earlier deletes may still be unsynced */
    queue_post(q, ops);
    return -1;
}

/* Whether the group holds a barrier with a callback: such a group is handed back only after
 * its LMDB commit, so a barrier means "committed and visible to readers", in call order. */
static int queue_group_late(const struct queue_op *ops)
{
    for (; ops; ops = ops->next)
        if (ops->type == QOP_BARRIER && ops->done)
            return 1;
    return 0;
}

/* Commits the writer's open transaction (with its last LSN), hands back the ops of a late
 * group (NULL: none), then tells the loop what LMDB now holds (the marker comes after the
 * ops, so their pending contents are dropped with it); on failure LMDB is behind the
 * journal until queue_catch_up. */
static void queue_commit_txn(struct queue *q, struct queue_op *late)
{
    if (journal_sync(q->jn) == 0) { /* outcomes that rode along: durable, files can go */
        queue_bodyfile_release(q);
    } else {
        log_warn("queue: journal sync failed (%s); starting a new run after this commit",
                 strerror(errno));
        q->new_run = 1;
    }
    MDB_txn *txn = q->wtxn;
    uint64_t last = q->wtxn_last;
    q->wtxn = NULL;
    q->wtxn_last = 0;
    q->wtxn_since = 0;
    q->wtxn_bytes = 0;
    int rc = last ? queue_meta_put(q, txn, last) : 0;
    rc = rc == 0 ? mdb_txn_commit(txn) : (mdb_txn_abort(txn), rc);
    if (rc != 0) {
        log_warn("queue: LMDB commit after the journal failed (%s); replaying the journal "
                 "before the next write", mdb_strerror(rc));
        q->behind = 1;
        if (late)
            queue_post(q, late);
        return;
    }
    if (q->new_run && queue_checkpoint(q) == 0) /* LMDB holds it all: durable, new run */
        q->new_run = 0;
    if (last) {
        q->applied_lsn = last;
        queue_post_applied(q, late, last);
    } else if (late) {
        queue_post(q, late);
    }
}

/* Commits the writer's open transaction, if any (idle, due, stopping). */
void queue_commit_flush(struct queue *q)
{
    if (q->wtxn)
        queue_commit_txn(q, NULL);
}

/* When the open transaction must be committed even while groups keep coming (monotonic
 * us; 0 = now), -1 when none is open. */
static int64_t queue_commit_due(const struct queue *q)
{
    if (q->wtxn == NULL)
        return -1;
    if (q->wtxn_since == 0) /* nothing journaled in it: nothing to wait for */
        return 0;
    return q->wtxn_bytes >= COMMIT_MAX_BYTES ? 0 : q->wtxn_since + COMMIT_MAX_MS * 1000;
}

/* Drops the open transaction after a failed step; LMDB is then behind the journal when it
 * held acknowledged groups. */
static void queue_commit_drop(struct queue *q)
{
    if (q->wtxn == NULL)
        return;
    mdb_txn_abort(q->wtxn);
    if (q->wtxn_last)
        q->behind = 1;
    q->wtxn = NULL;
    q->wtxn_last = 0;
    q->wtxn_since = 0;
    q->wtxn_bytes = 0;
}

/* Notes a journaled group in the open transaction. */
static void queue_commit_note(struct queue *q, const struct queue_op *ops, uint64_t last)
{
    if (last == 0)
        return;
    q->wtxn_last = last;
    if (q->wtxn_since == 0)
        q->wtxn_since = clock_mono_us();
    for (; ops; ops = ops->next)
        if (ops->type == QOP_PUT && ops->err == 0)
            q->wtxn_bytes += ops->bodylen;
}

/* Journals a group and applies it in the open transaction; the ops go back to the loop as
 * soon as the journal is synced (a late group: after the LMDB commit). 0, or -1 when
 * nothing was journaled (the transaction is dropped; the caller takes the old way). */
static int queue_journal_commit(struct queue *q, struct queue_op *ops)
{
    uint64_t last = 0;
    int synced = 0;
    int64_t t0 = clock_mono_us();
    int rc = queue_apply_ops(q, q->wtxn, ops);
    if (rc == 0 && queue_journal_group(q, ops, &last, &synced) < 0) {
        log_warn("queue: journal write failed (%s); committing each write alone",
                 strerror(errno));
        rc = EIO;
    }
    if (rc != 0) {
        queue_commit_drop(q);
        return -1;
    }
    queue_count_group(q, ops, t0, synced);
    queue_bodyfile_settle(q, ops, synced); /* a failed put's file goes; deletes' when durable */
    queue_commit_note(q, ops, last);
    if (queue_group_late(ops))
        queue_commit_txn(q, ops); /* a barrier: handed back once committed */
    else
        queue_post(q, ops); /* acknowledged: the ops belong to the loop from here on */
    return 0;
}

/* Commits a group: journal, acknowledgement, LMDB when due (the steps at the top). */
void queue_commit_group(struct queue *q, struct queue_op *ops)
{
    if (q->behind && queue_catch_up(q, ops) < 0)
        return;
    queue_bodyfile_sync(q, ops); /* body files durable before the journal names them */
    if (q->new_run && queue_checkpoint(q) == 0)
        q->new_run = 0;
    int rc = q->new_run ? -1 : q->wtxn ? 0 : mdb_txn_begin(q->env, NULL, 0, &q->wtxn);
    if (rc == 0 && queue_journal_commit(q, ops) == 0) {
        if (journal_used(q->jn) >= JOURNAL_CHECKPOINT) {
            queue_commit_flush(q);
            queue_checkpoint(q);
        } else {
            int64_t due = queue_commit_due(q);
            if (due >= 0 && due <= clock_mono_us())
                queue_commit_flush(q);
        }
        return;
    }
    /* The old way: the group's LSNs (if any were taken) are a hole in this run, which replay
     * would stop at, so no group is journaled again before a checkpoint starts a new run. */
    if (rc == 0)
        q->new_run = 1;
    else if (!q->new_run)
        q->wtxn = NULL;
    if (q->behind && queue_catch_up(q, ops) < 0) /* acknowledged groups first */
        return;
    for (struct queue_op *op = ops; op; op = op->next)
        op->lsn = 0;
    queue_apply_group(q, ops);
    if (q->new_run && queue_checkpoint(q) == 0)
        q->new_run = 0;
    queue_post(q, ops);
}

/* Drops the pending contents and the in-flight clears that LMDB now holds. */
static void queue_pending_applied(struct queue *q, uint64_t lsn)
{
    for (struct queue_pending **pp = &q->pending; *pp;) {
        struct queue_pending *p = *pp;
        if (p->lsn <= lsn) {
            *pp = p->next;
            free(p->body);
            free(p);
        } else {
            pp = &p->next;
        }
    }
    for (struct queue_op **pp = &q->inflight; *pp;) {
        struct queue_op *op = *pp;
        if (op->lsn != 0 && op->lsn <= lsn) {
            *pp = op->inflight_next;
            queue_op_free(op);
        } else {
            pp = &op->inflight_next;
        }
    }
}

/* Loop side, for each op handed back, before its callback: a journaled put's content stays
 * readable until LMDB has it; a journaled clear stays in q->inflight (so queue_take_incoming
 * does not hand its messages over again) until then: 1 = the op is kept, do not free it. A
 * QOP_APPLIED marker drops what LMDB now holds. */
int queue_pending_on_done(struct queue *q, struct queue_op *op)
{
    if (op->type == QOP_APPLIED) {
        queue_pending_applied(q, op->lsn);
        return 0;
    }
    if (op->type == QOP_CLEAR)
        return op->lsn != 0 && op->err == 0;
    if (op->type != QOP_PUT || op->err != 0 || op->lsn == 0 || op->body_owned == NULL)
        return 0;
    struct queue_pending *p = xcalloc(1, sizeof *p);
    p->id = op->id;
    p->lsn = op->lsn;
    p->body = op->body_owned;
    p->len = op->bodylen;
    p->bodyfile = op->bodyfile;
    op->body_owned = NULL;
    p->next = q->pending;
    q->pending = p;
    return 0;
}

/* The content of a journaled message LMDB does not show yet: 0, or -1 when not pending. */
int queue_pending_body(struct queue *q, uint64_t id, struct evbuffer *out)
{
    for (struct queue_pending *p = q->pending; p; p = p->next)
        if (p->id == id) {
            if (evbuffer_add(out, p->body, p->len) < 0)
                return -1;
            return p->bodyfile ? queue_bodyfile_map(q, id, out) : 0; /* the head, then the file */
        }
    return -1;
}

/* Frees the pending contents and kept clears (at close). */
void queue_pending_free(struct queue *q)
{
    queue_pending_applied(q, UINT64_MAX);
    while (q->pending) {
        struct queue_pending *p = q->pending;
        q->pending = p->next;
        free(p->body);
        free(p);
    }
}
