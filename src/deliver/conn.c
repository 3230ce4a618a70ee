/* conn: one outbound connection of a destination, driven through the transport of
 * deliver_io (the real one, deliver_smtpc, is smtpc.h). Owns the struct dconn from
 * conn_open() until the transport's closed() callback, after which the transport's handle
 * is never touched again.
 *
 * The transport asks for work (next): the first ask means a session was established
 * (dest_session_ok: the cap probe; when the window grew, the destination is dispatched
 * again once this connection has its transaction); each ask takes the oldest ready
 * transaction of the destination while the connection has carried fewer than maxmessages;
 * with none ready the connection is parked (SMTPC_TXN_WAIT) for idlemax, unless idlemax is
 * 0, maxmessages is reached, it was told to end, the daemon stops, or a destination waits
 * for a slot (slots_wanted): then the session ends. A parked connection is woken by dest_dispatch()
 * for new work, by slots_take() to give its slot up (expire), or by its idle timer (expire).
 * Outcomes go straight to deliver_ops: rcpt_done -> outcome, txn_done -> the batch is freed.
 * closed(): the slot is given back; a connection that never reached a session is reported
 * to dest_connect_failed(); then the destination (only when this one had a session or ended
 * normally: a failed connect is not replaced while siblings try) and the slot FIFO are
 * dispatched again.
 * Shaping: maxmessages and idlemax are the destination's policy values; each transaction
 * takes a message token (shape.c), and without one the connection is parked (throttled)
 * until dest_dispatch() wakes it when a token is due; while a rule suspends the destination
 * next() ends the session. Non-2xx server replies (with the command they answered, and a
 * refused greeting) go to the reply rules (shape_on_reply). */
#include <event2/event.h>
#include <stdlib.h>

#include "conf/conf.h"
#include "core/xalloc.h"
#include "deliver/internal.h"
#include "dsn/dsn.h"

static void conn_on_idle(evutil_socket_t fd, short what, void *arg);

/* Parks a connection with nothing to send for up to idlemax (its destination's), or a
 * throttled one (work waits for a message token) for as long again plus the wait. */
static void conn_park(struct deliver *dl, struct dconn *cn, uint64_t ms)
{
    struct ddest *dd = cn->dd;
    cn->idle = true;
    cn->dprev = NULL;
    cn->dnext = dd->idle;
    if (dd->idle)
        dd->idle->dprev = cn;
    dd->idle = cn;
    slots_park(dl, cn);
    if (!cn->idle_ev)
        cn->idle_ev = evtimer_new(dl->base, conn_on_idle, cn);
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
    evtimer_add(cn->idle_ev, &tv);
}

/* Takes a connection out of the idle lists (nothing when it is not parked). */
static void conn_unpark(struct deliver *dl, struct dconn *cn)
{
    if (!cn->idle)
        return;
    cn->idle = false;
    cn->throttled = false;
    if (cn->dprev)
        cn->dprev->dnext = cn->dnext;
    else
        cn->dd->idle = cn->dnext;
    if (cn->dnext)
        cn->dnext->dprev = cn->dprev;
    slots_unpark(dl, cn);
    evtimer_del(cn->idle_ev);
}

/* Wakes a parked connection: it takes ready work, or ends when expire is set. */
void conn_wake(struct deliver *dl, struct dconn *cn, bool expire)
{
    conn_unpark(dl, cn);
    cn->expire = expire;
    cn->tp->resume(cn->c);
}

/* idlemax passed without work: end the session. */
static void conn_on_idle(evutil_socket_t fd, short what, void *arg)
{
    struct dconn *cn = arg;
    (void)fd;
    (void)what;
    conn_wake(cn->dl, cn, true);
}

/* True while a rule has suspended the destination: connections end after their
 * transaction. */
static bool conn_suspended(struct deliver *dl, const struct ddest *dd)
{
    return dd->ss.until && dl->io.now() < dd->ss.until;
}

/* The transport asks for the next transaction of this connection. */
static struct smtpc_txn *conn_on_next(void *arg, struct smtpc *c)
{
    struct dconn *cn = arg;
    struct deliver *dl = cn->dl;
    struct ddest *dd = cn->dd;
    unsigned maxmessages = dd->pol.maxmessages;
    bool grew = false;
    (void)c;
    if (!cn->took) {
        cn->took = true;
        dd->nconnecting--;
        grew = dest_session_ok(dl, dd);
    }
    bool suspended = conn_suspended(dl, dd);
    while (!dl->stopping && !suspended && cn->nmsgs < maxmessages && dd->ready) {
        if (!shape_take_msg(dl, dd)) { /* rate: wait for the token with the session open */
            conn_park(dl, cn, dd->pol.idlemax + (uint64_t)shape_msg_wait(dl, dd));
            cn->throttled = true;
            return SMTPC_TXN_WAIT;
        }
        struct smtpc_txn *t = batch_txn(dl, dest_pop(dd));
        if (!t)
            continue; /* unreadable content: that batch failed */
        cn->nmsgs++;
        if (grew) /* the window grew: open what it allows now for the work still ready */
            dest_dispatch(dl, dd);
        return t;
    }
    if (dl->stopping || suspended || cn->expire || cn->nmsgs >= maxmessages ||
        dd->pol.idlemax == 0 || slots_wanted(dl))
        return NULL;
    conn_park(dl, cn, dd->pol.idlemax);
    return SMTPC_TXN_WAIT;
}

/* The rule stage of a transaction's reply. */
static unsigned conn_stage(unsigned smtpc_stage)
{
    switch (smtpc_stage) {
    case SMTPC_STAGE_MAIL: return RULE_AT_MAIL;
    case SMTPC_STAGE_RCPT: return RULE_AT_RCPT;
    default: return RULE_AT_DATA;
    }
}

/* True when text is a server reply ("NNN ..."), not a reason of ours ("4.4.1 ..."). */
static bool conn_is_reply(const char *text)
{
    return text[0] >= '2' && text[0] <= '5' && text[1] >= '0' && text[1] <= '9' &&
           text[2] >= '0' && text[2] <= '9' && (text[3] == ' ' || text[3] == '-' || !text[3]);
}

/* The transport reports one recipient's outcome. */
static void conn_on_rcpt(void *arg, struct smtpc_txn *t, size_t i, enum outcome o,
                         const char *reply, const char *relay)
{
    struct dconn *cn = arg;
    struct batch *b = t->owner;
    struct deliver_result res = {.o = o, .reply = reply, .relay = relay, .passed_on = t->dsn,
                                 .by_relayed = t->by_relayed != 0,
                                 .ok_action = t->ok == SMTPC_OK_DELIVERED   ? DSN_DELIVERED + 1
                                              : t->ok == SMTPC_OK_EXPANDED ? DSN_EXPANDED + 1
                                                                           : 0,
                                 .tls = t->tls, .tls_peer = t->tls_peer,
                                 .plan = &cn->dd->pol.plan};
    deliver_count(cn->dl, cn->dd, o);
    if (o == OUTCOME_OK && !b->accepted) {
        b->accepted = true;
        shape_on_sent(cn->dl, cn->dd);
    }
    cn->dl->ops->outcome(cn->dl->arg, b->r[i], &res);
    if (o != OUTCOME_OK && t->stage != SMTPC_STAGE_NONE && conn_is_reply(reply))
        shape_on_reply(cn->dl, cn->dd, conn_stage(t->stage), reply, false);
}

/* The transport is done with a transaction. */
static void conn_on_txn(void *arg, struct smtpc_txn *t)
{
    struct dconn *cn = arg;
    batch_free(cn->dl, t->owner);
}

/* The connection ended. */
static void conn_on_closed(void *arg, struct smtpc *c, enum outcome o, const char *why)
{
    struct dconn *cn = arg;
    struct deliver *dl = cn->dl;
    struct ddest *dd = cn->dd;
    (void)c;
    conn_unpark(dl, cn);
    if (cn->idle_ev)
        event_free(cn->idle_ev);
    dd->nconn--;
    slots_unlink(dl, cn);
    /* A connection that never reached a session is not replaced while its siblings are
     * still trying: that would hammer a dead destination with connects. */
    bool redispatch = cn->took || o == OUTCOME_OK;
    if (!cn->took) {
        bool learned = dest_connect_failed(dl, dd, o, why);
        if (o != OUTCOME_OK && !dl->stopping && conn_is_reply(why))
            shape_on_reply(dl, dd, RULE_AT_GREETING, why, learned);
    }
    free(cn);
    if (dl->stopping) {
        if (dl->nconn == 0)
            slots_stopped(dl);
        return;
    }
    if (redispatch)
        dest_dispatch(dl, dd);
    slots_serve(dl);
}

static const struct smtpc_ops conn_ops = {
    .next = conn_on_next,
    .rcpt_done = conn_on_rcpt,
    .txn_done = conn_on_txn,
    .closed = conn_on_closed,
};

/* Opens one connection of dd to peers (the caller holds a slot for it). */
void conn_open(struct deliver *dl, struct ddest *dd, const struct peer *peers, size_t np)
{
    struct dconn *cn = xcalloc(1, sizeof *cn);
    cn->dl = dl;
    cn->dd = dd;
    cn->id = ++dl->next_conn_id;
    cn->started = dl->io.now();
    dd->nconn++;
    dd->nconnecting++;
    slots_link(dl, cn);
    dl->st.connections++;
    /* A destination with a transport of its own (route.h: local delivery) uses it. */
    cn->tp = dd->dest->transport ? dd->dest->transport : dl->io.transport;
    void *targ = dd->dest->transport ? dd->dest->transport_arg : dl->io.transport_arg;
    cn->c = cn->tp->start(targ, dl->base, dl->conf, peers, np, &conn_ops, cn);
}

/* The real transport: smtpc_start(), with the client transcript when one is configured. */
void *conn_smtpc_start(void *targ, struct event_base *base, const struct conf *c,
                       const struct peer *peers, size_t npeers, const struct smtpc_ops *ops,
                       void *arg)
{
    struct smtpc *sc = smtpc_start(base, c, peers, npeers, ops, arg);
    const struct dconn *cn = arg; /* conn_open() passes its connection */
    if (cn->dd->pol.from[POLICY_MAXPIPELINE] >= 0)
        smtpc_set_maxpipeline(sc, cn->dd->pol.maxpipeline);
    if (targ)
        smtpc_set_transcript(sc, targ, &c->deliver.transcript);
    return sc;
}

/* smtpc_resume() for an opaque handle. */
void conn_smtpc_resume(void *conn)
{
    smtpc_resume(conn);
}

/* smtpc_abort() for an opaque handle. */
void conn_smtpc_abort(void *conn)
{
    smtpc_abort(conn);
}
