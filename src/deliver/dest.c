/* dest: delivery's state per destination (Postfix's qmgr_queue.c and qmgr_feedback.c):
 * the FIFO of ready transactions, how many connections it has, the learned concurrency cap
 * and its probe, the connect-failure rule and the dead-destination timer. Destinations are
 * found by their route key (route.h shares one struct dest per key for the daemon's life),
 * so route's objects carry nothing of ours.
 *
 * dest_dispatch() is the one place that opens connections for a destination:
 *  1. a dead destination (dead_until in the future, no connection of it alive) postpones
 *     its ready transactions without connecting: every recipient gets TEMPFAIL with the
 *     dead reason and dead_until; once the time has passed the mark is forgotten. A lane
 *     of a parallel relay (route.h) first hands them over to a backup that is not dead
 *     (dest_handover), where they wait for that host's own connections;
 *  2. parked connections of the destination are woken for the ready work;
 *  3. while one connect has failed and siblings are still connecting (failing), nothing new
 *     is opened: a refusing destination is never hammered, even through freed slots;
 *  4. it opens connections while it has more ready transactions than connections still
 *     connecting, below maxserverconnections or the learned cap, as long as slots.c gives
 *     a global slot (else the destination waits in the slot FIFO).
 * Feedback (dest_connect_failed, dest_session_ok): a connect that fails while others are in
 * session caps the destination at the sessions alive, even while siblings still connect;
 * one that fails while siblings are only connecting caps it at them and opens nothing new
 * until they resolve (failing); a cap only ever goes down this way (logged "concurrency
 * limited to N"). After cap more successful sessions the cap grows by one (the probe; each
 * probe refused at the same cap doubles the sessions before the next, slowstart.h), and
 * disappears at maxserverconnections. A connect that fails with nothing else alive or
 * connecting hands a lane's ready transactions to its backups (each handed on at most as
 * many times as the lane has backups), then fails the rest (a 5xx greeting bounces them) and, for a
 * temporary failure, marks the destination dead for the first retry step (retries[0] *
 * interval, the destination's own when its policy sets them) and forgets its cap (every connect failed: that says nothing about concurrency).
 *
 * Shaping (docs/shaping.md): a destination is keyed by its route key and the policy blocks
 * its recipients' domain matched (dmask); its policy (policy.c) is resolved when it is made.
 * The cap and its probe are the window of slowstart.c (which also gives slow start from
 * initial_concurrency and suspensions by reply rules); step 1 also postpones the mail of a
 * suspended or held queue-only destination (shape.c), and step 4 also waits for the
 * connection rate and for a message token (shape.c arms a timer that dispatches again). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "core/dict.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "deliver/internal.h"

#define DEST_PEERS_MAX 16 /* peers of one connection: hosts x addresses */
#define DEST_WHY_LOG 1024 /* bytes of a refusal's reason logged with a new cap */
#define DEST_KEY_BUF 512  /* a destination key with its policy mask, on the stack */

/* The dictionary key of d for the policy blocks dmask: d's route key, followed by the mask
 * when there is one (domains of one MX set matching different blocks are kept apart). The
 * key is written into buf (len bytes) when it fits, else allocated into *heap. */
static const char *dest_key(const struct dest *d, uint64_t dmask, char *buf, size_t len,
                            char **heap)
{
    *heap = NULL;
    if (dmask == 0)
        return d->key;
    if ((size_t)snprintf(buf, len, "%s#%llx", d->key, (unsigned long long)dmask) < len)
        return buf;
    size_t n = strlen(d->key) + 20;
    *heap = xmalloc(n);
    snprintf(*heap, n, "%s#%llx", d->key, (unsigned long long)dmask);
    return *heap;
}

/* The state of d for the blocks dmask, or NULL when none was made yet. */
struct ddest *dest_find(struct deliver *dl, const struct dest *d, uint64_t dmask)
{
    char buf[DEST_KEY_BUF], *heap;
    struct ddest *dd = dict_find(dl->dests, dest_key(d, dmask, buf, sizeof buf, &heap));
    free(heap);
    return dd;
}

/* The state of d for the blocks dmask, made on first use: its policy is resolved then,
 * once (policy.c), and its concurrency window and rates start. */
struct ddest *dest_get(struct deliver *dl, struct dest *d, uint64_t dmask)
{
    char buf[DEST_KEY_BUF], *heap;
    const char *key = dest_key(d, dmask, buf, sizeof buf, &heap);
    struct ddest *dd = dict_find(dl->dests, key);
    if (!dd) {
        dd = xcalloc(1, sizeof *dd);
        dd->dest = d;
        dd->dmask = dmask;
        dd->ready_tail = &dd->ready;
        policy_resolve(dl->conf, dmask, d, &dd->pol);
        slowstart_init(&dd->ss, dd->pol.initial_concurrency, dd->pol.maxserverconnections);
        shape_init(dl, dd);
        dict_put(dl->dests, key, dd);
    }
    free(heap);
    return dd;
}

/* Appends a ready transaction. */
void dest_push(struct ddest *dd, struct batch *b)
{
    b->next = NULL;
    *dd->ready_tail = b;
    dd->ready_tail = &b->next;
    dd->nready++;
}

/* Takes the oldest ready transaction, or NULL. */
struct batch *dest_pop(struct ddest *dd)
{
    struct batch *b = dd->ready;
    if (!b)
        return NULL;
    dd->ready = b->next;
    if (!dd->ready)
        dd->ready_tail = &dd->ready;
    dd->nready--;
    b->next = NULL;
    return b;
}

/* Fails (or postpones: dead_until != 0) every ready transaction of dd with one reason. */
void dest_fail(struct deliver *dl, struct ddest *dd, enum outcome o, const char *why,
                      int64_t dead_until)
{
    struct deliver_result res = {.o = o, .reply = why, .relay = "none", .dead_until = dead_until};
    struct batch *b;
    while ((b = dest_pop(dd)))
        batch_fail(dl, b, &res);
}

/* Marks dd dead for the first retry step (Postfix's dead-destination cache): mail released
 * for it meanwhile is postponed at once instead of costing one refused connect each. */
static void dest_dead(struct deliver *dl, struct ddest *dd, const char *why)
{
    dd->dead_until = dl->io.now() + (int64_t)(dd->pol.plan.retries[0] * dd->pol.plan.interval);
    free(dd->dead_why);
    dd->dead_why = xstrdup(why);
    /* every connect failed: that says nothing about its concurrency; it begins again */
    slowstart_init(&dd->ss, dd->pol.initial_concurrency, dd->pol.maxserverconnections);
}

/* True while dd's hosts are marked down (dest_dead) and nothing of it is alive. */
static bool dest_down(struct deliver *dl, const struct ddest *dd)
{
    return dd->dead_until && dl->io.now() < dd->dead_until && dd->nconn == 0;
}

/* A backup of lane dd (route.h) that may take its mail now, one not marked down: the
 * first in backup order, or any of them at random (order = "random"); NULL when none. */
static struct ddest *dest_backup(struct deliver *dl, const struct ddest *dd)
{
    struct ddest *up[RELAY_HOSTS_MAX];
    size_t n = 0;
    for (size_t i = 0; i < dd->dest->nbackups && n < RELAY_HOSTS_MAX; i++) {
        struct ddest *bd = dest_get(dl, dd->dest->backups[i], dd->dmask);
        if (!dest_down(dl, bd)) {
            if (!dd->dest->backups_random)
                return bd;
            up[n++] = bd;
        }
    }
    return n ? up[(size_t)random() % n] : NULL;
}

/* Lane dd's host is down (nothing of it alive): its ready transactions go to its backups,
 * which send them on their own connections within their own limits (so no host ever
 * carries another's share on connections counted elsewhere). A transaction is handed on
 * at most as many times as the lane has backups, so it cannot circle among hosts that are all down; what no
 * backup takes stays in dd. The backups that took some are dispatched. */
static void dest_handover(struct deliver *dl, struct ddest *dd)
{
    struct ddest *to[RELAY_HOSTS_MAX];
    size_t nto = 0, nkeep = 0;
    struct batch *keep = NULL, **tail = &keep, *b;
    while (dd->dest->nbackups && !dl->stopping && (b = dest_pop(dd))) {
        struct ddest *bd = b->handovers < dd->dest->nbackups ? dest_backup(dl, dd) : NULL;
        if (!bd) {
            *tail = b;
            tail = &b->next;
            nkeep++;
            continue;
        }
        b->handovers++;
        batch_move(dl, b, bd);
        size_t k = 0;
        while (k < nto && to[k] != bd)
            k++;
        if (k == nto && nto < RELAY_HOSTS_MAX)
            to[nto++] = bd;
    }
    while ((b = keep)) {
        keep = b->next;
        dest_push(dd, b);
    }
    if (nto)
        log_info("%s: host down, its mail goes to %zu backup host%s (%zu transactions stay)",
                 dd->dest->key, nto, nto == 1 ? "" : "s", nkeep);
    for (size_t k = 0; k < nto; k++)
        dest_dispatch(dl, to[k]);
}

/* A session was established: the window grows (slow start, or the probe after `cap`
 * successes at the learned cap). True when it grew: the caller dispatches again, since a
 * queue released all at once (a resume, a flush, a restart) brings no other event that
 * would open the connections the larger window allows. */
bool dest_session_ok(struct deliver *dl, struct ddest *dd)
{
    (void)dl;
    dd->failing = false;
    if (!slowstart_ok(&dd->ss))
        return false;
    if (dd->ss.cap)
        log_info("%s: concurrency raised to %u", dd->dest->key, dd->ss.cap);
    return true;
}

/* Lowers dd's window to n (a first cap, or a smaller one) and logs it; why is peer text. */
static void dest_cap(struct ddest *dd, unsigned n, const char *why)
{
    if (!slowstart_lower(&dd->ss, n))
        return;
    char w[LOG_SANITIZED_SIZE(DEST_WHY_LOG)];
    log_info("%s: concurrency limited to %u: %s", dd->dest->key, dd->ss.cap,
             log_sanitize(w, sizeof w, why, strnlen(why, DEST_WHY_LOG)));
}

/* A connection of dd ended before its first transaction (o OK: it ended normally anyway).
 * True when the refusal taught the destination's concurrency (a cap was set). */
bool dest_connect_failed(struct deliver *dl, struct ddest *dd, enum outcome o, const char *why)
{
    dd->nconnecting--;
    unsigned insession = dd->nconn - dd->nconnecting;
    if (o == OUTCOME_OK)
        return false;
    if (insession > 0) {
        /* Others are in session: the destination limits us. Stay at what works, even while
         * siblings are still connecting (they would be refused too). */
        dd->failing = false;
        dest_cap(dd, insession, why);
        return true;
    } else if (dd->nconnecting > 0) {
        /* Siblings are still connecting: open nothing new until they resolve, so a refusing
         * destination can never be hammered (even via freed global slots), and cap it at the
         * siblings (the remote may still count sessions that ended on our side). If they all
         * fail, the destination goes dead and the cap is reset. */
        dd->failing = true;
        dest_cap(dd, dd->nconn, why);
        return true;
    } else if (!dl->stopping) {
        dd->failing = false;
        if (o == OUTCOME_TEMPFAIL) /* a 5xx refusal bounces; only a 4xx or connect failure
                                      makes the destination dead for a while (first: so its
                                      backups never hand its mail back) */
            dest_dead(dl, dd, why);
        dest_handover(dl, dd); /* a lane: its backups take what they can, as failover */
        dest_fail(dl, dd, o, why, 0);
    }
    return false;
}

/* Step 1 of dest_dispatch(): true when dd is dead (or suspended, or a held queue-only
 * destination) and its ready work was postponed. */
static bool dest_postponed(struct deliver *dl, struct ddest *dd)
{
    if (dd->nready && !dl->stopping && shape_held(dl, dd))
        return true;
    if (!dd->dead_until || !dd->nready || dl->stopping)
        return false;
    if (dl->io.now() < dd->dead_until && dd->nconn == 0) {
        dest_handover(dl, dd);
        dest_fail(dl, dd, OUTCOME_TEMPFAIL, dd->dead_why, dd->dead_until);
        return true;
    }
    dd->dead_until = 0;
    return false;
}

/* The window of dd now (0 while suspended); a suspension that ended is logged. */
static unsigned dest_limit(struct deliver *dl, struct ddest *dd)
{
    bool recovered = false;
    unsigned limit = slowstart_limit(&dd->ss, dl->io.now(), &recovered);
    if (recovered)
        log_info("%s: suspension over, concurrency %u", dd->dest->key, limit);
    return limit;
}

/* Opens connections for dd while it has unclaimed ready transactions and limits allow
 * (the window, the connection rate, and a message token for the first transaction). */
void dest_dispatch(struct deliver *dl, struct ddest *dd)
{
    if (dest_postponed(dl, dd))
        return;
    unsigned limit = dest_limit(dl, dd);
    while (dd->nready && dd->idle && !dl->stopping && shape_may_send(dl, dd))
        conn_wake(dl, dd->idle, false);
    if (dd->failing)
        return;
    while (!dl->stopping && dd->nready > dd->nconnecting && dd->nconn < limit &&
           shape_may_send(dl, dd) && shape_may_connect(dl, dd)) {
        if (!slots_take(dl, dd))
            return;
        struct peer peers[DEST_PEERS_MAX];
        size_t np = route_peers(dd->dest, peers, DEST_PEERS_MAX);
        if (np == 0) {
            dest_fail(dl, dd, OUTCOME_TEMPFAIL, "4.4.4 no address for any host of the destination",
                      0);
            return;
        }
        conn_open(dl, dd, peers, np);
    }
}

/* Ends dd's dead mark and a suspension, or (at_most != 0) shortens them to at_most; a
 * queue-only destination is released (shape.c). */
void dest_revive(struct deliver *dl, struct ddest *dd, int64_t at_most)
{
    if (at_most == 0)
        dd->dead_until = 0;
    else if (dd->dead_until > at_most)
        dd->dead_until = at_most;
    if (dd->ss.until && (at_most == 0 || dd->ss.until > at_most))
        dd->ss.until = at_most ? at_most : 1;
    shape_release(dl, dd);
}

/* dict_foreach: revives one destination. */
static void dest_on_revive(void *arg, const char *key, void *value)
{
    (void)key;
    dest_revive(arg, value, 0);
}

/* A queue run: every destination may be tried again. */
void dest_revive_all(struct deliver *dl)
{
    dict_foreach(dl->dests, dest_on_revive, dl);
}

/* dict_free callback: one destination and the transactions still waiting in it. */
static void dest_on_free(void *value)
{
    struct ddest *dd = value;
    struct batch *b;
    while ((b = dest_pop(dd)))
        batch_destroy(b);
    free(dd->dead_why);
    shape_free(dd);
    free(dd);
}

/* Frees every destination (shutdown: no connection is left). */
void dest_free_all(struct deliver *dl)
{
    dict_free(dl->dests, dest_on_free);
    dl->dests = NULL;
}
