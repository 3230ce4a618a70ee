/* sched/internal.h: what sched.c (heap, window, outcomes, reports, recovery, flush) and
 * admin.c (hold, release, delete, requeue, bounce, pause, views) share; not for use outside
 * src/sched/. The invariants are at the top of sched.c; admin.c keeps them: a recipient
 * is in exactly one place (S_WAIT in the heap, S_ACTIVE out with delivery, S_PARK out of
 * both while its message is held or its domain paused, S_FINAL), and unfinished counts the
 * first three. */
#ifndef SLUICE_SCHED_INTERNAL_H
#define SLUICE_SCHED_INTERNAL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/heap.h"
#include "core/hist.h"
#include "deliver/deliver.h"
#include "dsn/report.h"
#include "sched/sched.h"

/* Where an unfinished recipient is: the heap, the active window, or parked (its message is
 * held or its domain paused: out of the heap, due time kept in hn.key); S_FINAL when done. */
enum { S_WAIT, S_ACTIVE, S_FINAL, S_PARK };

/* A recipient's last attempt, allocated only once there is one (store.c): a recipient
 * that was never tried (or recovered without a reply) costs nothing here. */
struct sattempt {
    int64_t at;  /* wall ms of the attempt; 0 = before this start (a recovered reply) */
    char *reply; /* into text, after the relay */
    char text[]; /* relay "name[ip]:port" ("" none), NUL, reply, NUL */
};

/* Kept small (72 bytes): the scheduler holds one per queued recipient. */
struct srcpt {
    struct heap_node hn;   /* key: due time (wall ms) in the heap or parked; while S_ACTIVE
                            * the time it was handed to delivery (delays= of the log line) */
    struct deliver_rcpt d; /* message, address, ORCPT, NOTIFY (strings in the message block) */
    struct sattempt *last; /* NULL: no attempt known */
    uint32_t attempts;
    uint32_t postponed; /* postponements since the last real attempt (backoff, memory only) */
    uint8_t state;      /* enum rcpt_state */
    uint8_t where;      /* S_* */
    uint8_t flags;      /* RCPT_F_* */
    uint8_t report;     /* a report pending: enum dsn_action + 1; 0 = none */
};

/* One allocation per message (store.c): this, the recipients, then their strings. */
struct smsg {
    struct deliver_msg d; /* id, qid, sender, client IP, ENVID, flags; delivery's part */
    struct smsg *next;    /* chain of the message table (store.c) */
    int64_t arrival;
    int64_t deliver_by; /* DELIVERBY time, wall ms, 0 = none */
    const char *helo;   /* interned, as d.sender and d.client_ip */
    uint64_t size;
    uint32_t nrcpt, unfinished;
    uint32_t npending; /* recipients with a report pending (srcpt.report) */
    bool reporting;    /* a report of this message is being stored */
    bool delay_done;   /* the one delay notice of this message went out */
    bool held;         /* MSG_F_HELD: its recipients are parked, never handed to delivery */
    bool deleted;      /* deleted by the administrator: outcomes still out are dropped */
    bool bouncing;     /* bounced by the administrator: outcomes still out fail */
    struct srcpt rcpts[];
};

/* Recovery at start in batches from the loop (recover.c). */
struct sched_recovery {
    struct event *ev;    /* the next batch */
    bool on;             /* the scan has not reached the end yet */
    uint64_t after;      /* the last id the scan visited */
    int64_t not_before;  /* now + delay_start at the start */
    int64_t t0;          /* monotonic ms at the start */
    long loaded;         /* messages scheduled so far */
    uint64_t removed;    /* finished messages removed */
    struct dict *early;  /* qid text of messages another path added ahead of the scan */
};

struct sched {
    struct event_base *base;
    const struct conf *conf;
    struct queue *q;
    struct deliver *dl;
    int64_t (*now)(void);
    struct heap wait;
    struct smsg **msgs_b; /* message table (store.c): buckets by id */
    size_t msgs_nb, msgs_n;
    unsigned msgs_bits;
    struct dict *strings; /* interned sender, client and HELO strings (store.c) */
    struct event *due_ev, *poll_ev;
    uint64_t active;
    struct sched_logs logs;
    struct report_env rep; /* for dsn/report.h */
    bool stopping;
    struct sched_stats st;
    struct dict *paused; /* lower-case domain -> non-NULL: recipients there are parked */
    struct hist latency; /* seconds from arrival to delivery, per delivered recipient */
    sched_bounced_fn bounced; /* sched_set_bounced(), or NULL */
    struct sched_recovery rec;
    void *bounced_arg;
};

/* The message of a recipient. */
static inline struct smsg *sched_msg_of(const struct srcpt *r)
{
    return (struct smsg *)((char *)r->d.msg - offsetof(struct smsg, d));
}

/* sched.c */
extern const struct deliver_result sched_admin_bounce;
void sched_pump(struct sched *s);
void sched_msg_release(struct sched *s, struct smsg *m);
void sched_write_rcpt(struct sched *s, struct srcpt *r, int64_t next);
void sched_on_outcome(void *arg, struct deliver_rcpt *dr, const struct deliver_result *res);
bool sched_domain_match(const char *addr, const char *d, bool subdomains);

void sched_add_msg(struct sched *s, const struct qmsg *qm, int64_t not_before);
/* Deletes a message from the queue, with the log line. */
void sched_remove(struct sched *s, uint64_t id, uint32_t nrcpt);

/* recover.c */
/* A message some other path (reception, incoming, a report) adds: while the scan has not
 * passed its id, the scan must skip it (it may be delivered and gone before). */
void sched_recover_note(struct sched *s, uint64_t id);
void sched_recover_free(struct sched *s);

/* store.c: compact records and the message table */
struct qmsg;
struct smsg *sched_msg_alloc(struct sched *s, const struct qmsg *qm);
void sched_msg_free(struct sched *s, struct smsg *m);
void sched_rcpt_set_last(struct srcpt *r, int64_t at, const char *relay, const char *reply);
const char *sched_rcpt_reply(const struct srcpt *r);
const char *sched_rcpt_relay(const struct srcpt *r);
int64_t sched_rcpt_last_at(const struct srcpt *r);
void sched_msgs_init(struct sched *s);
void sched_msgs_free(struct sched *s);
struct smsg *sched_msgs_find_id(const struct sched *s, uint64_t id);
struct smsg *sched_msgs_find(const struct sched *s, const char *qid);
void sched_msgs_put(struct sched *s, struct smsg *m);
void sched_msgs_remove(struct sched *s, struct smsg *m);
void sched_msgs_foreach(const struct sched *s, void (*fn)(void *arg, const char *qid, void *m),
                        void *arg);

/* admin.c */
/* True when r must stay out of the heap: its message is held or its domain paused. */
bool sched_parked(const struct sched *s, const struct smsg *m, const struct srcpt *r);
/* Puts an unfinished recipient not in the window where it belongs, due at `due`: the heap
 * (S_WAIT), or parked (S_PARK). */
void sched_place(struct sched *s, struct srcpt *r, int64_t due);
#endif
