/* queue: the durable store, one LMDB environment under `spool` (file spool/queue.mdb).
 * Databases: "msg" (id -> envelope record), "rcpt" (id+index -> recipient record),
 * "body" (id -> content bytes as they go on the wire, CRLF, not dot-stuffed; with
 * MSG_F_BODYFILE only their head, the rest in <spool>/body/ID, see queue_put_file),
 * "incoming" (id -> empty: messages written by other processes, e.g. `sluice submit`, that
 * the daemon has not loaded yet). Keys are ids big-endian so iteration is arrival order.
 *
 * Daemon mode (queue_open with an event_base): every write is queued to one writer thread
 * that takes everything waiting as ONE group: written to the journal <spool>/queue.journal
 * with one fdatasync, reported back on the event loop (done: durable), then committed to
 * LMDB in one write transaction (src/queue/commit.c). So one device sync covers every
 * session waiting at that moment (group commit) and the loop never blocks on disk.
 * Operations are applied in call order. Readers (queue_scan, other processes) see a write
 * at most one LMDB commit after its done; queue_body sees it at once; a barrier's done runs
 * once everything before it is visible too. queue_open replays the journal into LMDB. Tool mode (event_base NULL): only the *_sync calls,
 * queue_scan and queue_body may be used.
 *
 * Errors: functions returning int return 0 or -1 with errno (ENOSPC/EDQUOT/MDB_MAP_FULL are
 * reported as ENOSPC; a duplicate id as EEXIST). */
#ifndef SLUICE_QUEUE_H
#define SLUICE_QUEUE_H
#include <stddef.h>
#include <stdint.h>

#include "queue/record.h"

struct event_base;
struct evbuffer;
struct queue;

struct queue_stats {
    uint64_t commits;        /* groups committed (journaled, or each op alone) */
    uint64_t msgs_committed; /* messages stored by those commits */
    uint64_t ops_committed;  /* all operations (puts, updates, deletes) */
    uint64_t groups_synced;  /* groups journaled with a sync (outcomes alone ride along) */
};

/* Called on the event loop once the put is durable (err 0) or has failed (err = errno). */
typedef void (*queue_done_fn)(void *arg, int err);
/* Called for each message by scan/recover/take_incoming; m is only valid during the call
 * (take ownership of its strings by copying). Return 0 to go on, -1 to stop. */
typedef int (*queue_msg_fn)(void *arg, const struct qmsg *m);

/* Opens (creating spool and the environment if needed, mode 0700). NULL base = tool mode.
 * Returns NULL with a message in err on failure. */
struct queue *queue_open(const char *spool, struct event_base *base, char *err, size_t errlen);
/* Waits for every queued operation to commit, stops the writer, closes. */
void queue_close(struct queue *q);

/* Daemon mode. Stores message m (all recipients in m->rcpts, usually RCPT_PENDING) and its
 * content; body (malloc'ed, len bytes) is taken over and freed by the queue. m is encoded
 * before returning, so the caller keeps m. done is called exactly once. */
void queue_put(struct queue *q, const struct qmsg *m, char *body, size_t len, queue_done_fn done,
               void *arg);
/* Daemon mode. An expansion (an alias to other addresses): stores m as queue_put does AND,
 * in the same write transaction, sets the recipient of message parent whose address is
 * parent_addr (case-insensitive) to state with reply as its last reply. So the parent
 * recipient is final exactly when its expansion is durable: a crash loses and duplicates
 * nothing. done gets ENOENT (nothing written) when that recipient is not in the queue. */
void queue_put_expansion(struct queue *q, const struct qmsg *m, char *body, size_t len,
                         uint64_t parent, const char *parent_addr, uint8_t state,
                         const char *reply, queue_done_fn done, void *arg);
/* Daemon mode. Records a recipient's new state (grouped with other writes, no callback). */
void queue_set_rcpt(struct queue *q, uint64_t id, uint32_t idx, const struct qrcpt *r);
/* Daemon mode. Removes message id with its nrcpt recipient records and content. */
void queue_delete(struct queue *q, uint64_t id, uint32_t nrcpt);
/* Daemon mode. Sets, then clears, bits of message id's envelope flags (MSG_F_HELD). A
 * message already gone is left alone. */
void queue_set_flags(struct queue *q, uint64_t id, uint32_t set, uint32_t clear);
/* Daemon mode. Every write queued between begin and end goes to the writer at once, so one
 * transaction commits them all or none (unless that transaction fails: then each is retried
 * alone, as any group); end queues a barrier whose done (may be NULL) runs once they are
 * durable. Nests; the writes are handed over at the outermost end. */
void queue_group_begin(struct queue *q);
void queue_group_end(struct queue *q, queue_done_fn done, void *arg);
/* Daemon mode. Calls done (may be NULL) on the loop once everything queued before it is
 * committed. */
void queue_barrier(struct queue *q, queue_done_fn done, void *arg);

/* Body files (queue/bodyfile.c): a large content goes into <spool>/body/ID as it arrives,
 * beside LMDB, and is sent from a read-only mapping of it. Daemon mode.
 * queue_bodyfile_open creates message id's file (fd, or -1 with errno; *path malloc'ed);
 * queue_bodyfile_write writes to it (page cache; its writeback is started off the loop,
 * the sync comes with the put; 0 or -1 with errno);
 * queue_bodyfile_discard closes and removes one that will not be queued (frees path);
 * queue_put_file is queue_put for a content = head (taken over, stored in LMDB) + the
 * file's bytes: fd and path are taken over; the writer fdatasyncs the file before the
 * commit that references it, removes it when the put fails and after the message's
 * queue_delete commits. */
int queue_bodyfile_open(struct queue *q, uint64_t id, char **path);
int queue_bodyfile_write(struct queue *q, int fd, const char *p, size_t n);
void queue_bodyfile_discard(int fd, char *path);
void queue_put_file(struct queue *q, const struct qmsg *m, char *head, size_t headlen, int fd,
                    char *path, queue_done_fn done, void *arg);

/* Both modes. Appends the content of message id to out: a body file's part by reference to
 * a read-only mapping (freed with the last chain that refers to it). 0, or -1 (ENOENT when
 * absent; ENODATA when its envelope names a body file that is missing). */
int queue_body(struct queue *q, uint64_t id, struct evbuffer *out);
/* Both modes. Calls fn for every message with its recipients, in id order. Returns 0, or -1. */
int queue_scan(struct queue *q, queue_msg_fn fn, void *arg);
/* Both modes. As queue_scan, for at most max messages with ids above after (0: from the
 * first), in one read transaction of its own; *last gets the id of the last message
 * visited (damaged ones count). Returns how many were visited (0: none left), or -1. */
long queue_scan_batch(struct queue *q, uint64_t after, long max, queue_msg_fn fn, void *arg,
                      uint64_t *last);
/* Daemon mode. Calls fn for every message marked incoming and then clears those marks
 * (grouped write). Returns the number of messages passed to fn, or -1. */
int queue_take_incoming(struct queue *q, queue_msg_fn fn, void *arg);
/* Daemon mode. Binds the datagram socket spool/incoming.sock; cb runs on the loop whenever
 * a tool signals a new message (flush 0) or asks for a queue run (flush 1, see
 * queue_notify_flush). 0 or -1. */
int queue_watch_incoming(struct queue *q, void (*cb)(void *arg, int flush), void *arg);

/* Tool mode. Stores m + content in one committed transaction and marks it incoming. */
int queue_put_sync(struct queue *q, const struct qmsg *m, const char *body, size_t len);
/* Daemon mode: cb runs on the loop for each request datagram a tool sent with
 * queue_notify_request (kind 'R' flush a domain, 'I' flush one message; value is at most
 * QUEUE_REQUEST_MAX bytes, NUL-terminated, not checked: the callee validates it). */
#define QUEUE_REQUEST_MAX 255
void queue_watch_requests(struct queue *q, void (*cb)(void *arg, char kind, const char *value),
                          void *arg);
/* Tool mode helper: sends request kind with value (<= QUEUE_REQUEST_MAX bytes) to a running
 * daemon; 0, or -1 with errno as queue_notify_flush (EINVAL: value too long). */
int queue_notify_request(const char *spool, char kind, const char *value);
/* Tool mode helper: wakes a running daemon (best effort; no daemon is not an error). */
void queue_notify_incoming(const char *spool);
/* Tool mode helper: asks a running daemon for a queue run (sendmail -q). 0 when the request
 * was handed to the daemon's socket; -1 with errno when not (ENOENT or ECONNREFUSED: no
 * daemon is running; EAGAIN: it has not read its earlier wakeups yet). */
int queue_notify_flush(const char *spool);

void queue_get_stats(const struct queue *q, struct queue_stats *st);
struct hist;
/* Daemon mode: histograms of the group commits, updated by the writer thread (atomics):
 * seconds each commit (the fdatasync) took, messages stored by each. */
void queue_get_hists(const struct queue *q, const struct hist **fsync_seconds,
                     const struct hist **per_commit);

/* One daemon per spool: creates spool (0700) when missing and takes an exclusive lock on
 * spool/sluice.lock (flock, never waits), writing the pid into it. Returns the descriptor
 * to keep open for the daemon's life (the lock goes with the process), or -1 with a
 * message in err: "spool DIR is in use by another sluice (pid N)" when locked. */
int queue_lock_spool(const char *spool, char *err, size_t errlen);
#endif
