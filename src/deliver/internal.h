/* deliver/internal.h: the objects deliver's files share (deliver.h describes the module);
 * not for use outside src/deliver/. Ownership:
 *  - struct deliver owns the destinations (dests, by route key), the connections (conns)
 *    and the slot FIFO; a destination owns its ready batches; a message owns its open
 *    batches (deliver_msg.open) until they are released to their destinations;
 *  - a batch holds one reference on its message (deliver_msg.nbatches) from creation to
 *    batch_free();
 *  - dd->nconnecting counts connections of dd that have not asked for their first
 *    transaction yet; dd->nconn every connection of dd; dl->nconn every connection. */
#ifndef SLUICE_DELIVER_INTERNAL_H
#define SLUICE_DELIVER_INTERNAL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "deliver/bucket.h"
#include "deliver/deliver.h"
#include "deliver/policy.h"
#include "deliver/ratelearn.h"
#include "deliver/rules.h"
#include "deliver/slowstart.h"
#include "smtpc/smtpc.h"

struct dict;
struct event;

/* One transaction: one message to some of its recipients at one destination. */
struct batch {
    struct deliver_msg *m;
    struct ddest *dd;
    struct batch *next;  /* destination's ready FIFO */
    struct batch *mnext; /* message's open list */
    size_t n, cap; /* recipients, room (grows up to maxrecips) */
    struct deliver_rcpt **r;
    const char **addrs;
    const char **orcpts;
    uint8_t *notify;
    char *verp_sender; /* VERP envelope sender, or NULL */
    bool accepted;     /* a recipient was accepted: counted once for the rate (shape.c) */
    uint8_t handovers; /* times handed from a lane whose host is down to a backup (dest.c) */
    struct smtpc_txn txn;
};

/* Delivery's state of one destination. */
struct ddest {
    struct dest *dest;
    struct batch *ready, **ready_tail;
    size_t nready;
    unsigned nconn, nconnecting;
    uint64_t dmask;        /* policy blocks matched by the recipients' domain (in the key) */
    struct policy_eff pol; /* resolved once, when made (policy.c) */
    struct slowstart ss;   /* concurrency window: slow start, learned cap, suspension */
    bool failing;       /* a connect failed: nothing new until the others resolve */
    int64_t dead_until; /* wall ms: no host would talk; postpone without connecting */
    char *dead_why;     /* the reason given to recipients postponed meanwhile */
    struct dconn *idle; /* parked connections */
    bool waiting;       /* in the slot FIFO */
    bool turn;          /* being served a freed slot (slots_serve) */
    struct ddest *wnext;
    /* shaping (shape.c) */
    struct bucket msgs, conns;  /* message and new-connection rates */
    double rate;                /* message rate in force, per second (0: none) */
    struct ratelearn rl;        /* the rate its rate refusals taught */
    int64_t released_until;     /* queueonly: released by ETRN or a queue run until then */
    int64_t rule_time;          /* the last rule action and its rule (once a second) */
    int rule_index;
    struct event *shape_ev;     /* dispatches again when a token is due */
    struct deliver *dl;         /* for shape_ev */
};

/* One connection. */
struct dconn {
    struct deliver *dl;
    struct ddest *dd;
    void *c; /* the transport's connection */
    uint64_t id;     /* for `sluice ctl conns` / `kill` (ZMailer SHOW THREADS / KILL) */
    int64_t started; /* wall ms */
    const struct deliver_transport *tp; /* the destination's own (local), else io's */
    unsigned nmsgs;
    bool throttled; /* parked waiting for a message token, not for work */
    bool took;   /* asked for its first transaction: a session was established */
    bool idle;   /* parked in dd->idle and dl->idle, waiting for work (idlemax) */
    bool expire; /* next() must end the session */
    struct event *idle_ev;
    struct dconn *prev, *next;   /* dl->conns */
    struct dconn *dprev, *dnext; /* dd->idle */
    struct dconn *gprev, *gnext; /* dl->idle, most recently parked first */
};

struct deliver {
    struct event_base *base;
    const struct conf *conf;
    struct queue *q;
    struct deliver_io io;
    const struct deliver_ops *ops;
    void *arg;
    struct dict *dests; /* route key -> struct ddest */
    unsigned nconn;
    struct dconn *conns;
    struct dconn *idle;
    struct ddest *wait_head, **wait_tail;
    bool stopping;
    struct event *grace_ev;
    void (*stopped)(void *arg);
    void *stopped_arg;
    struct deliver_stats st;
    struct rules rules;    /* deliver.rules and the built-in ones, compiled */
    bool domain_selectors; /* some policy block matches recipient domains */
    uint64_t next_conn_id;
};

/* deliver.c: counts one recipient outcome of destination dd (NULL: no route). */
void deliver_count(struct deliver *dl, const struct ddest *dd, enum outcome o);

/* batch.c */
void batch_add(struct deliver *dl, struct deliver_msg *m, struct deliver_rcpt *r, struct dest *d,
               uint64_t dmask);
void batch_release(struct deliver *dl, struct deliver_msg *m);
struct smtpc_txn *batch_txn(struct deliver *dl, struct batch *b);
void batch_fail(struct deliver *dl, struct batch *b, const struct deliver_result *res);
void batch_move(struct deliver *dl, struct batch *b, struct ddest *dd);
void batch_free(struct deliver *dl, struct batch *b);
void batch_destroy(struct batch *b);

/* dest.c */
struct ddest *dest_get(struct deliver *dl, struct dest *d, uint64_t dmask);
struct ddest *dest_find(struct deliver *dl, const struct dest *d, uint64_t dmask);
void dest_push(struct ddest *dd, struct batch *b);
struct batch *dest_pop(struct ddest *dd);
void dest_dispatch(struct deliver *dl, struct ddest *dd);
bool dest_session_ok(struct deliver *dl, struct ddest *dd);
bool dest_connect_failed(struct deliver *dl, struct ddest *dd, enum outcome o, const char *why);
void dest_revive(struct deliver *dl, struct ddest *dd, int64_t at_most);
void dest_revive_all(struct deliver *dl);
void dest_free_all(struct deliver *dl);
void dest_fail(struct deliver *dl, struct ddest *dd, enum outcome o, const char *why,
               int64_t dead_until);

/* shape.c */
void shape_init(struct deliver *dl, struct ddest *dd);
void shape_free(struct ddest *dd);
bool shape_held(struct deliver *dl, struct ddest *dd);
void shape_release(struct deliver *dl, struct ddest *dd);
bool shape_may_connect(struct deliver *dl, struct ddest *dd);
bool shape_may_send(struct deliver *dl, struct ddest *dd);
bool shape_take_msg(struct deliver *dl, struct ddest *dd);
void shape_on_sent(struct deliver *dl, struct ddest *dd);
int64_t shape_msg_wait(struct deliver *dl, struct ddest *dd);
void shape_on_reply(struct deliver *dl, struct ddest *dd, unsigned stage, const char *reply,
                    bool learned);

/* slots.c */
bool slots_take(struct deliver *dl, struct ddest *dd);
void slots_serve(struct deliver *dl);
bool slots_wanted(const struct deliver *dl);
void slots_link(struct deliver *dl, struct dconn *cn);
void slots_unlink(struct deliver *dl, struct dconn *cn);
void slots_park(struct deliver *dl, struct dconn *cn);
void slots_unpark(struct deliver *dl, struct dconn *cn);
void slots_shutdown(struct deliver *dl, int64_t grace_ms);
void slots_stopped(struct deliver *dl);

/* conn.c */
void conn_open(struct deliver *dl, struct ddest *dd, const struct peer *peers, size_t np);
void conn_wake(struct deliver *dl, struct dconn *cn, bool expire);
void *conn_smtpc_start(void *targ, struct event_base *base, const struct conf *c,
                       const struct peer *peers, size_t npeers, const struct smtpc_ops *ops,
                       void *arg);
void conn_smtpc_resume(void *conn);
void conn_smtpc_abort(void *conn);
#endif
