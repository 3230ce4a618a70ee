/* deliver: the outbound side, named after the `deliver { }` configuration group. The
 * scheduler (sched/) hands it active recipients; it routes them, forms transactions,
 * opens and reuses connections within the limits, drives the SMTP client, and hands every
 * recipient's outcome back through struct deliver_ops. It never decides retries or bounces
 * and never includes sched/ (Postfix's qmgr_queue.c / qmgr_transport.c / qmgr_feedback.c,
 * OpenSMTPD's mta.c).
 *
 * Files and what each owns:
 *   deliver.c  this interface: routing of submitted recipients, revival, shutdown, stats;
 *   batch.c    transactions: one message to one destination, at most maxrecips recipients,
 *              one per recipient with VERP; released once the message has nothing left in
 *              routing; the content read from the queue (and its Message-ID noted);
 *   dest.c     per destination: the ready FIFO, maxserverconnections, the learned cap and
 *              its probe, the dead-destination timer, the connect-failure rule;
 *   slots.c    the global maxconnections slots, the FIFO of destinations waiting for one,
 *              the least recently parked connection given up for a waiter; shutdown of
 *              every connection (grace period, then abort);
 *   conn.c     one connection: the transport's callbacks, maxmessages, idle connections
 *              (idlemax); the real transport (smtpc);
 *   policy.c   deliver.policies: selectors -> the effective limits of a destination,
 *              resolved once when it is made (maxserverconnections, maxmessages, maxrecips,
 *              idlemax and the shaping keys come from there);
 *   shape.c    message and connection rates (bucket.c), queue-only holding, the actions of
 *              reply rules (rules.c); slowstart.c the concurrency window (docs/shaping.md).
 *
 * Rules (tested in tests/unit/test_deliver.c):
 *  - recipients of one message for one destination share transactions of at most
 *    maxrecips; with VERP each recipient has its own, with the sender of dsn/verp.h;
 *    a message's transactions become ready once every recipient of it submitted together
 *    has been routed (so they are filled);
 *  - a destination opens a connection only while it has more ready transactions than
 *    connections still connecting, at most maxserverconnections (or the learned cap) at
 *    once; when a connect fails while others of it are in session, the cap becomes that
 *    number and grows by one after `cap` more sessions (probe); while one connect failed
 *    and others are still connecting, nothing new is opened to it;
 *  - when no host of a destination would talk (every connect failed, none in session), its
 *    ready transactions fail with that reason and, for a temporary reason, it is dead for
 *    the first retry step (retries[0] * interval): transactions released for it meanwhile
 *    are postponed without a connect (deliver_result.dead_until); deliver_revive() ends it;
 *  - at most maxconnections connections in all; a destination that finds none free waits in
 *    FIFO order, and while any waits no other destination takes a freed slot; a parked
 *    idle connection is closed to free a slot;
 *  - a connection carries at most maxmessages transactions; one with nothing to send waits
 *    idlemax for more work for its destination (not while a destination waits for a slot);
 *  - every submitted recipient gets exactly one ops->outcome(), later (never inside
 *    deliver_submit()); ops->released() follows whenever delivery lets go of a message (a
 *    transaction ended, routing finished): deliver_msg_busy() tells whether it still holds
 *    it. The caller must not free a message while it is busy.
 * Time comes from io->now (wall ms); routing and the transport come through io, so tests
 * substitute both. */
#ifndef SLUICE_DELIVER_H
#define SLUICE_DELIVER_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/qid.h"
#include "proto/reply.h"
#include "route/route.h"

struct retry_plan;

struct batch;
struct conf;
struct deliver;
struct event_base;
struct peer;
struct queue;
struct smtpc_ops;

/* A message as delivery sees it, embedded in the caller's message. The caller fills id, qid,
 * flags and the strings (they stay its own and valid while the message lives), zeroes the
 * rest and calls deliver_msg_init(); deliver_msg_clear() frees delivery's part. The fields
 * are ordered to pack (88 bytes): the scheduler holds one per queued message. */
struct deliver_msg {
    uint64_t id;
    char qid[QID_TEXT_LEN + 1];
    bool verp;       /* delivery's: one transaction per recipient, VERP sender */
    uint32_t flags;  /* MSG_F_* */
    char *sender;    /* "" = null sender */
    char *client_ip; /* "" = local */
    char *envid;     /* DSN ENVID, "" = none */
    int64_t deliver_by; /* DELIVERBY time, wall ms, 0 = none (passed on as BY=) */
    /* delivery's own */
    struct deliver *dl;
    char *msgid;        /* Message-ID header of the content once read ("" none), else NULL */
    struct batch *open; /* transactions being filled */
    uint32_t routing, nbatches;
};

/* A recipient, embedded in the caller's recipient; strings are the caller's. */
struct deliver_rcpt {
    struct deliver_msg *msg;
    char *addr;     /* "local@domain" */
    char *orcpt;    /* DSN ORCPT as received, "" = none */
    uint8_t notify; /* NOTIFY_* */
};

/* What happened to one recipient. */
struct deliver_result {
    enum outcome o;
    const char *reply;  /* the server's reply as one line, or our reason */
    const char *relay;  /* "name[ip]:port", or "none" without a session */
    bool passed_on;     /* the next hop announced DSN (the request went on with the mail) */
    bool by_relayed;    /* BY=...;N relayed to a hop without DELIVERBY: "relayed" owed */
    uint8_t ok_action;  /* a success report's action: enum dsn_action + 1; 0 = relayed */
    int64_t dead_until; /* != 0: nothing was tried, the destination is dead until then */
    const struct retry_plan *plan; /* the destination's retry schedule (its policy: retries,
                                    * interval, skew, expiry); NULL: deliver's own */
    const char *tls;      /* "TLSv1.3/CIPHER" when the session ran over TLS; "none" or NULL */
    const char *tls_peer; /* what its certificate proved ("verified", ...); "" or NULL */
};

struct deliver_ops {
    void (*outcome)(void *arg, struct deliver_rcpt *r, const struct deliver_result *res);
    void (*released)(void *arg, struct deliver_msg *m);
};

/* Recipient -> destination (route.h semantics: callbacks run later, on the loop). */
struct deliver_router {
    void (*lookup)(void *rarg, const char *sender, const char *client_ip, const char *rcpt,
                   route_fn cb, void *arg);
    /* The destination a cached lookup of domain gave, or NULL; never starts a lookup. */
    struct dest *(*cached)(void *rarg, const char *domain);
};

/* One outbound connection (smtpc.h semantics: start never calls ops synchronously; abort
 * calls them before it returns; resume may call next() at once). */
struct deliver_transport {
    void *(*start)(void *targ, struct event_base *base, const struct conf *c,
                   const struct peer *peers, size_t npeers, const struct smtpc_ops *ops, void *arg);
    void (*resume)(void *conn);
    void (*abort)(void *conn);
};

struct deliver_io {
    const struct deliver_router *router;
    void *router_arg;
    const struct deliver_transport *transport;
    void *transport_arg;
    int64_t (*now)(void); /* wall ms */
};

/* The real ones: route.h (router_arg: struct route *) and smtpc.h (transport_arg: the
 * client transcript log, struct audit_log *, or NULL). */
extern const struct deliver_router deliver_route;
extern const struct deliver_transport deliver_smtpc;

/* Destination classes of the outcome counters: an MX set, a configured relay, no
 * destination (routing failed). */
enum deliver_class { DELIVER_CLASS_MX, DELIVER_CLASS_RELAY, DELIVER_CLASS_NONE, DELIVER_NCLASS };

struct deliver_stats {
    uint64_t connections;  /* opened */
    uint64_t transactions; /* started */
    uint64_t outcomes[DELIVER_NCLASS][3]; /* recipient outcomes by class and enum outcome */
};

/* One destination as the metrics see it. */
struct deliver_dest_stat {
    const char *key;      /* "mx:10:a.test,..." or "relay:ADDRESS" */
    unsigned connections; /* open or opening */
    size_t ready;         /* transactions waiting for a connection */
    bool dead;            /* no host would talk: postponed until dead_until */
};
/* Calls fn for every destination known (on the loop; dest views valid during the call). */
void deliver_foreach_dest(const struct deliver *dl,
                          void (*fn)(void *arg, const struct deliver_dest_stat *v), void *arg);
const char *deliver_class_name(enum deliver_class c);

/* io is copied. Nothing is delivered before deliver_set_ops(). */
struct deliver *deliver_create(struct event_base *base, const struct conf *c, struct queue *q,
                               const struct deliver_io *io);
void deliver_set_ops(struct deliver *dl, const struct deliver_ops *ops, void *arg);
/* Frees every destination and what waits in it (after shutdown). */
void deliver_free(struct deliver *dl);
/* Sets delivery's part of m (VERP for its sender or not). */
void deliver_msg_init(struct deliver *dl, struct deliver_msg *m);
/* True while delivery holds m (recipients routing, transactions open or in flight). */
bool deliver_msg_busy(const struct deliver_msg *m);
/* Frees delivery's part of m (transactions never released are dropped). */
void deliver_msg_clear(struct deliver_msg *m);
/* Takes one recipient of m (initialised) for delivery; r stays the caller's until its
 * outcome. */
void deliver_submit(struct deliver *dl, struct deliver_msg *m, struct deliver_rcpt *r);
/* A queue run: every dead destination may be tried again (domain NULL); or ETRN for
 * domain: its cached destination, at most once a second. */
void deliver_revive(struct deliver *dl, const char *domain);
/* The local administrator's flush of one domain (sendmail -qR, -qI): its cached destination
 * is no longer dead, at once (no once-a-second rule: the request is not from the network). */
void deliver_revive_now(struct deliver *dl, const char *domain);
/* Reload: new connections, batches and limits use c (which must outlive dl); connections
 * in progress keep the settings they started with. Every known destination's policy
 * (deliver.policies) is resolved again from c with the blocks its domain matched when it
 * was made (so edited values apply; a block added or moved applies to destinations made
 * after the reload), and its rate buckets and rule reductions start over. */
void deliver_set_conf(struct deliver *dl, const struct conf *c);
/* Stops opening connections and taking transactions; ends idle ones; transactions in flight
 * get grace_ms, then their connections are abandoned (recipients TEMPFAIL). done runs once
 * no connection is left. */
void deliver_shutdown(struct deliver *dl, int64_t grace_ms, void (*done)(void *arg), void *arg);
void deliver_get_stats(const struct deliver *dl, struct deliver_stats *st);

/* Administration (sluice ctl). The destination is found as ETRN finds it: the cached route
 * of a domain; a domain never routed has none. */
/* Forgets the dead state of domain's destination at once (no rate limit). */
void deliver_forget(struct deliver *dl, const char *domain);
struct deliver_dest_view {
    const char *key;      /* the destination (route key) */
    unsigned nconn;       /* connections open or opening */
    size_t nready;        /* transactions waiting for a connection */
    int64_t dead_until;   /* wall ms; 0 = not dead */
    const char *dead_why; /* "" when not dead */
};
/* Fills *v for domain's destination; -1 when it has none. */
int deliver_dest_view(struct deliver *dl, const char *domain, struct deliver_dest_view *v);
struct deliver_conn_view {
    uint64_t id;
    const char *dest;  /* route key */
    const char *state; /* "connecting", "busy", "idle", "throttled" (waiting for a rate token) */
    unsigned nmsgs;    /* transactions carried */
    int64_t started;   /* wall ms */
};
/* Calls fn for every connection. */
void deliver_conns(struct deliver *dl, void (*fn)(void *arg, const struct deliver_conn_view *v),
                   void *arg);
/* Aborts connection id (its recipients in flight are deferred as by any broken session);
 * -1 when there is none. */
int deliver_kill(struct deliver *dl, uint64_t id);
#endif
