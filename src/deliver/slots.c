/* slots: the global connection slots (deliver.maxconnections; Postfix's
 * qmgr_transport.c). Owns dl->nconn and the list of every connection (dl->conns), the list
 * of parked idle connections in the order they were parked (dl->idle, newest first), and
 * the FIFO of destinations waiting for a slot (dl->wait_head).
 *
 * Fairness: a destination that finds every slot taken joins the FIFO once; each freed slot
 * goes to the FIFO's head (slots_serve), and while any destination waits, no other one
 * takes a freed slot (not even the destination whose connection just ended and that still
 * has work: it queues behind). A destination being served takes as many slots as are free.
 * A parked connection holds a slot nobody uses: when a destination finds none free, the
 * connection parked the longest is told to end (its slot comes back when it has closed,
 * at once if it closes synchronously), and connections are not parked at all while a
 * destination waits (slots_wanted).
 *
 * Shutdown (slots_shutdown, once dl->stopping is set): parked connections are told to end at
 * once; the others finish the transaction they have (next() gives them no more) for up to
 * the grace period, then are abandoned (the transport's abort: their recipients TEMPFAIL).
 * dl->stopped runs once, when the last connection has closed (at once when there is none). */
#include <event2/event.h>

#include "conf/conf.h"
#include "core/log.h"
#include "deliver/internal.h"

/* True when a free slot may go to dd now: one is free and nobody is ahead of dd. */
static bool slots_free_for(const struct deliver *dl, const struct ddest *dd)
{
    if (dl->nconn >= dl->conf->deliver.maxconnections)
        return false;
    return dl->wait_head == NULL || dd->turn;
}

/* Appends dd to the FIFO (once). */
static void slots_wait(struct deliver *dl, struct ddest *dd)
{
    if (dd->waiting)
        return;
    dd->waiting = true;
    dd->wnext = NULL;
    *dl->wait_tail = dd;
    dl->wait_tail = &dd->wnext;
}

/* The connection parked the longest, or NULL. */
static struct dconn *slots_oldest_idle(const struct deliver *dl)
{
    struct dconn *old = dl->idle;
    while (old && old->gnext)
        old = old->gnext;
    return old;
}

/* A slot for one new connection of dd: true when it may open one now; false when dd now
 * waits in the FIFO. A parked connection is ended to make room when every slot is taken. */
bool slots_take(struct deliver *dl, struct ddest *dd)
{
    if (dl->nconn >= dl->conf->deliver.maxconnections && dl->idle && !dd->waiting)
        conn_wake(dl, slots_oldest_idle(dl), true); /* may close at once */
    if (slots_free_for(dl, dd))
        return true;
    slots_wait(dl, dd);
    return false;
}

/* Gives free slots to the waiting destinations, in FIFO order. */
void slots_serve(struct deliver *dl)
{
    while (dl->wait_head && dl->nconn < dl->conf->deliver.maxconnections) {
        struct ddest *dd = dl->wait_head;
        dl->wait_head = dd->wnext;
        if (!dl->wait_head)
            dl->wait_tail = &dl->wait_head;
        dd->waiting = false;
        dd->wnext = NULL;
        dd->turn = true;
        dest_dispatch(dl, dd);
        dd->turn = false;
    }
}

/* True when a destination waits for a slot (a connection without work should end). */
bool slots_wanted(const struct deliver *dl)
{
    return dl->wait_head != NULL;
}

/* A new connection holds a slot. */
void slots_link(struct deliver *dl, struct dconn *cn)
{
    dl->nconn++;
    cn->prev = NULL;
    cn->next = dl->conns;
    if (dl->conns)
        dl->conns->prev = cn;
    dl->conns = cn;
}

/* A closed connection gives its slot back (the caller serves the FIFO afterwards). */
void slots_unlink(struct deliver *dl, struct dconn *cn)
{
    dl->nconn--;
    if (cn->prev)
        cn->prev->next = cn->next;
    else
        dl->conns = cn->next;
    if (cn->next)
        cn->next->prev = cn->prev;
}

/* A connection is parked: newest first in dl->idle. */
void slots_park(struct deliver *dl, struct dconn *cn)
{
    cn->gprev = NULL;
    cn->gnext = dl->idle;
    if (dl->idle)
        dl->idle->gprev = cn;
    dl->idle = cn;
}

/* A parked connection leaves dl->idle. */
void slots_unpark(struct deliver *dl, struct dconn *cn)
{
    if (cn->gprev)
        cn->gprev->gnext = cn->gnext;
    else
        dl->idle = cn->gnext;
    if (cn->gnext)
        cn->gnext->gprev = cn->gprev;
    cn->gprev = cn->gnext = NULL;
}

/* Every connection is gone: report once. */
void slots_stopped(struct deliver *dl)
{
    void (*done)(void *) = dl->stopped;
    dl->stopped = NULL;
    if (dl->grace_ev)
        event_del(dl->grace_ev);
    if (done)
        done(dl->stopped_arg);
}

/* Grace period over: abandon the connections still open (each one's closed() unlinks it). */
static void slots_on_grace(evutil_socket_t fd, short what, void *arg)
{
    struct deliver *dl = arg;
    (void)fd;
    (void)what;
    log_warn("shutdown: abandoning %u connections after the grace period", dl->nconn);
    while (dl->conns)
        dl->conns->tp->abort(dl->conns->c);
}

/* Ends parked connections now and the others within grace_ms. */
void slots_shutdown(struct deliver *dl, int64_t grace_ms)
{
    while (dl->idle)
        conn_wake(dl, dl->idle, true);
    if (dl->nconn == 0) {
        slots_stopped(dl);
        return;
    }
    log_info("shutdown: waiting up to %lld ms for %u connections", (long long)grace_ms, dl->nconn);
    dl->grace_ev = evtimer_new(dl->base, slots_on_grace, dl);
    struct timeval tv = {grace_ms / 1000, (grace_ms % 1000) * 1000};
    event_add(dl->grace_ev, &tv);
}
