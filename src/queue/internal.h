/* queue internal: the structures and the contract between the files of src/queue/ that
 * hold the store (only they include this header).
 *
 * queue.c  the struct queue's life (open, close), the writer thread and group commit:
 *          queue_enqueue() hands an op to the writer (or holds it in a queue_group_begin
 *          group); the writer applies ops with queue_apply_op() and the loop runs their
 *          done callbacks in call order; LMDB helpers (keys, errno mapping, stats)
 * write.c  encoding writes into struct queue_op and applying them in a write transaction
 * read.c   read-only transactions, taking incoming mail, the incoming socket
 * bodyfile.c  large contents in one file per message beside LMDB (written by smtpd as
 *          they arrive, synced by the writer before the commit, sent from an mmap)
 *
 * Threads: see queue.c (the FIFO, the done list and `stopping` under `mu`; stats atomics;
 * the rest is loop-only). */
#ifndef SLUICE_QUEUE_INTERNAL_H
#define SLUICE_QUEUE_INTERNAL_H
#include <lmdb.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/un.h>

#include <event2/event.h>

#include "core/hist.h"
#include "queue/queue.h"

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
    QOP_INVALID,
    QOP_APPLIED /* writer -> loop only: everything up to lsn is in LMDB (commit.c) */
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
    int body_fd;     /* PUT with a body file: its descriptor until the writer synced it */
    char *body_path; /* PUT: that file; DELETE: the file to remove once committed (bodyfile.c) */
    int bodyfile;    /* PUT: the content goes on in a body file (kept after body_path is gone) */
    int incoming;  /* PUT: also mark incoming (tool mode) */
    uint64_t parent;     /* PUT of an expansion: the parent message, with */
    char *parent_addr;   /* this recipient address (NULL: a plain put) set to */
    uint8_t parent_state; /* this state and */
    char *parent_reply;   /* this last reply, in the same transaction */
    uint64_t *ids; /* CLEAR: sorted ids */
    size_t nids;
    queue_done_fn done;
    void *arg;
    int err;
    uint64_t lsn; /* journaled: the LSN of its record; QOP_APPLIED: the LSN now in LMDB */
};

/* A journaled message not yet committed to LMDB: its content for queue_body (loop only). */
struct queue_pending {
    struct queue_pending *next;
    uint64_t id, lsn;
    char *body;
    size_t len;
    int bodyfile; /* the rest of the content is in its body file */
};

struct queue {
    MDB_env *env;
    MDB_dbi db_msg, db_rcpt, db_body, db_incoming, db_meta;
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
    void (*req_cb)(void *arg, char kind, const char *value); /* loop only */
    void *req_arg;
    struct hist fsync_seconds;  /* commit (fdatasync) time of each group */
    struct hist per_commit;     /* messages stored by each group */
    /* daemon mode (commit.c): the journal and its LSNs (writer thread), what LMDB holds */
    struct journal *jn;
    uint64_t next_lsn, applied_lsn;
    int behind;   /* writer: a group acknowledged through the journal missed LMDB */
    int new_run;  /* writer: a journal write or sync failed, so the run may have a hole:
                     groups go the old way until a checkpoint starts a new run */
    MDB_txn *wtxn;       /* writer: the LMDB transaction holding acknowledged groups */
    uint64_t wtxn_last;  /* writer: the last LSN applied in wtxn (0: nothing journaled) */
    int64_t wtxn_since;  /* writer: when wtxn got its first journaled group (monotonic us) */
    size_t wtxn_bytes;   /* writer: content of the puts in wtxn (held in q->pending) */
    int powercut; /* SLUICE_TEST_POWERCUT=1 (docs/testing.md) */
    struct queue_pending *pending; /* loop only */
    int body_dirfd;             /* daemon mode: <spool>/body, fsynced after new body files */
    struct queue_bodyflush *bodyflush; /* daemon mode: bodyfile.c's flusher thread */
    char **unlinks;             /* writer: body files of deletes not durable yet */
    size_t nunlinks, capunlinks;
};

/* Writes v big-endian into 8 bytes. */
void queue_be64(uint8_t *p, uint64_t v);

/* Reads 8 big-endian bytes. */
uint64_t queue_get_be64(const uint8_t *p);

/* Builds a recipient key: id (8 BE) + index (4 BE). */
void queue_rcpt_key(uint8_t *k, uint64_t id, uint32_t idx);

/* Maps an LMDB or system error to the errno the header promises. */
int queue_errno(int rc);

/* Adds to a statistics counter (written by the writer or a tool, read by anyone). */
void queue_stat_add(uint64_t *c, uint64_t n);

/* Encodes an envelope and its recipients into op; -1 when m breaks a record limit. */
int queue_encode_put(struct queue_op *op, const struct qmsg *m);

/* Applies one op inside txn; returns the LMDB result (MDB_KEYEXIST leaves txn usable). */
int queue_apply_op(struct queue *q, MDB_txn *txn, struct queue_op *op);

/* Counts a committed op in the statistics. */
void queue_count_op(struct queue *q, const struct queue_op *op);

/* Appends an op to the writer's FIFO; daemon-mode calls in tool mode are a bug. */
void queue_enqueue(struct queue *q, struct queue_op *op);

/* bodyfile.c: body files (the path of id's, malloc'ed; the writer's sync before a group's
 * transaction and the removals after it; appending a file part in queue_body; recovery). */
char *queue_bodyfile_path(const struct queue *q, uint64_t id);
void queue_bodyfile_sync(struct queue *q, struct queue_op *ops);
void queue_bodyfile_settle(struct queue *q, struct queue_op *ops, int durable);
void queue_bodyfile_release(struct queue *q);
int queue_bodyfile_append(struct queue *q, MDB_txn *txn, uint64_t id, struct evbuffer *out);
int queue_bodyfile_map(const struct queue *q, uint64_t id, struct evbuffer *out);
int queue_bodyfile_recover(struct queue *q, char *err, size_t errlen);
void queue_bodyfile_close(struct queue *q);

/* Path of the incoming socket; -1 when it does not fit a sockaddr_un. */
int queue_sock_addr(const char *spool, struct sockaddr_un *sun);

/* queue.c: a group in one transaction without the journal (each op alone on failure);
 * one op alone (synced); the done list hand-over to the loop; freeing an op. */
void queue_apply_group(struct queue *q, struct queue_op *ops);
void queue_apply_alone(struct queue *q, struct queue_op *op);
void queue_finish_group(struct queue *q, struct queue_op *ops);
void queue_op_free(struct queue_op *op);

/* commit.c (daemon mode): opens the journal and replays what LMDB lacks (0, or -1 with a
 * message in err); commits a group (journal, acknowledgement, LMDB when due, see
 * commit.c); commits the writer's open LMDB transaction (idle, stopping); the checkpoint and journal close at shutdown; the loop side of journaled contents. */
int queue_journal_open(struct queue *q, char *err, size_t errlen);
void queue_commit_group(struct queue *q, struct queue_op *ops);
void queue_commit_flush(struct queue *q);
void queue_journal_close(struct queue *q);
int queue_pending_on_done(struct queue *q, struct queue_op *op);
int queue_pending_body(struct queue *q, uint64_t id, struct evbuffer *out);
void queue_pending_free(struct queue *q);


#endif
