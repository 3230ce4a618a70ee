/* deliver: the module's interface (deliver.h): life cycle, messages, submitted recipients
 * and their routing, revival, shutdown and statistics; the real router and transport.
 *
 * A submitted recipient counts in its message's `routing` until the router answers (always
 * later, on the loop). A routing failure is its outcome at once (relay "none"); a
 * destination puts it into a batch (batch.c). When the last recipient of the message in
 * routing is answered, the message's open batches are released to their destinations.
 * While it works on a message this file holds one extra reference on it (nbatches), so an
 * outcome reported meanwhile cannot let the owner free it; ops->released() comes last. */
#include "deliver/deliver.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "core/dict.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "deliver/internal.h"
#include "dsn/verp.h"
#include "queue/record.h"

#define DELIVER_ETRN_MS 1000 /* an ETRN revives a dead destination at most this often */

/* Creates the module: no destination, no connection yet. */
struct deliver *deliver_create(struct event_base *base, const struct conf *c, struct queue *q,
                               const struct deliver_io *io)
{
    struct deliver *dl = xcalloc(1, sizeof *dl);
    dl->base = base;
    dl->conf = c;
    dl->q = q;
    dl->io = *io;
    dl->dests = dict_create();
    dl->wait_tail = &dl->wait_head;
    dl->domain_selectors = policy_has_domain_selectors(c);
    char err[256];
    if (rules_init(&dl->rules, c, err, sizeof err) < 0) /* conf/ checked every pattern */
        log_panic("deliver: %s", err);
    return dl;
}

/* Where outcomes go. */
void deliver_set_ops(struct deliver *dl, const struct deliver_ops *ops, void *arg)
{
    dl->ops = ops;
    dl->arg = arg;
}

/* Frees everything (after shutdown: no connection is left). */
void deliver_free(struct deliver *dl)
{
    if (!dl)
        return;
    dest_free_all(dl);
    rules_free(&dl->rules);
    if (dl->grace_ev)
        event_free(dl->grace_ev);
    free(dl);
}

/* VERP applies to every message with a non-null sender (deliver.verp) or to senders in
 * verp_domains; never to a report. */
void deliver_msg_init(struct deliver *dl, struct deliver_msg *m)
{
    const struct conf *c = dl->conf;
    m->dl = dl;
    m->verp = !(m->flags & MSG_F_BOUNCE) && verp_wanted(c->deliver.verp, c->deliver.verp_domains,
                                                        c->deliver.nverp_domains, m->sender);
}

/* Held while recipients are in routing or transactions exist. */
bool deliver_msg_busy(const struct deliver_msg *m)
{
    return m->routing > 0 || m->nbatches > 0;
}

/* Frees delivery's part of a message. */
void deliver_msg_clear(struct deliver_msg *m)
{
    while (m->open) {
        struct batch *b = m->open;
        m->open = b->mnext;
        batch_destroy(b);
    }
    free(m->msgid);
    m->msgid = NULL;
}

/* The policy blocks the domain of rcpt matches (0 without domain selectors: no work). */
static uint64_t deliver_dmask(const struct deliver *dl, const char *rcpt)
{
    const char *at = dl->domain_selectors ? strrchr(rcpt, '@') : NULL;
    return at ? policy_domain_mask(dl->conf, at + 1) : 0;
}

/* Router answer for a submitted recipient (see the top of this file). */
static void deliver_on_route(void *arg, struct dest *d, enum outcome o, const char *why)
{
    struct deliver_rcpt *r = arg;
    struct deliver_msg *m = r->msg;
    struct deliver *dl = m->dl;
    m->routing--;
    m->nbatches++; /* hold m while we work on it */
    if (o != OUTCOME_OK) {
        struct deliver_result res = {.o = o, .reply = why, .relay = "none"};
        deliver_count(dl, NULL, o);
        dl->ops->outcome(dl->arg, r, &res);
    } else {
        batch_add(dl, m, r, d, deliver_dmask(dl, r->addr));
    }
    if (m->routing == 0)
        batch_release(dl, m);
    m->nbatches--;
    dl->ops->released(dl->arg, m);
}

/* Takes one recipient: routing first. */
void deliver_submit(struct deliver *dl, struct deliver_msg *m, struct deliver_rcpt *r)
{
    r->msg = m;
    m->routing++;
    dl->io.router->lookup(dl->io.router_arg, m->sender, m->client_ip, r->addr, deliver_on_route, r);
}

/* A queue run (domain NULL): every dead destination may be tried again. ETRN for a domain:
 * its cached destination, at most once a second (dest_revive), so a client repeating ETRN
 * cannot turn a dead destination into a connect storm. */
void deliver_revive_now(struct deliver *dl, const char *domain)
{
    struct dest *d = dl->io.router->cached(dl->io.router_arg, domain);
    struct ddest *dd = d ? dest_find(dl, d, policy_domain_mask(dl->conf, domain)) : NULL;
    if (dd)
        dest_revive(dl, dd, 0);
}

void deliver_revive(struct deliver *dl, const char *domain)
{
    if (!domain) {
        dest_revive_all(dl);
        return;
    }
    struct dest *d = dl->io.router->cached(dl->io.router_arg, domain);
    struct ddest *dd = d ? dest_find(dl, d, policy_domain_mask(dl->conf, domain)) : NULL;
    if (dd)
        dest_revive(dl, dd, dl->io.now() + DELIVER_ETRN_MS);
}

/* Stops dispatching; connections finish their transaction (next() returns NULL); slots.c
 * ends them. */
void deliver_shutdown(struct deliver *dl, int64_t grace_ms, void (*done)(void *arg), void *arg)
{
    dl->stopping = true;
    dl->stopped = done;
    dl->stopped_arg = arg;
    slots_shutdown(dl, grace_ms);
}

/* Counters. */
void deliver_get_stats(const struct deliver *dl, struct deliver_stats *st)
{
    *st = dl->st;
}

/* Counts an outcome under its destination's class. */
void deliver_count(struct deliver *dl, const struct ddest *dd, enum outcome o)
{
    /* a source route's relay host ("route:") counts as a relay */
    enum deliver_class c = !dd ? DELIVER_CLASS_NONE
                           : strncmp(dd->dest->key, "relay:", 6) == 0 ||
                                   strncmp(dd->dest->key, "route:", 6) == 0
                               ? DELIVER_CLASS_RELAY
                               : DELIVER_CLASS_MX;
    if ((unsigned)o < 3)
        dl->st.outcomes[c][o]++;
}

/* "mx", "relay", "none". */
const char *deliver_class_name(enum deliver_class c)
{
    return c == DELIVER_CLASS_RELAY ? "relay" : c == DELIVER_CLASS_MX ? "mx" : "none";
}

struct deliver_walk {
    void (*fn)(void *arg, const struct deliver_dest_stat *v);
    void *arg;
    int64_t now;
};

/* dict_foreach callback: one destination's view. */
static void deliver_on_dest(void *arg, const char *key, void *value)
{
    struct deliver_walk *w = arg;
    const struct ddest *dd = value;
    struct deliver_dest_stat v = {.key = key,
                                  .connections = dd->nconn + dd->nconnecting,
                                  .ready = dd->nready,
                                  .dead = dd->dead_until > w->now};
    w->fn(w->arg, &v);
}

/* Every destination, for the metrics. */
void deliver_foreach_dest(const struct deliver *dl,
                          void (*fn)(void *arg, const struct deliver_dest_stat *v), void *arg)
{
    struct deliver_walk w = {fn, arg, dl->io.now()};
    dict_foreach(dl->dests, deliver_on_dest, &w);
}

/* route_lookup() as a router. */
static void deliver_route_lookup(void *rarg, const char *sender, const char *client_ip,
                                 const char *rcpt, route_fn cb, void *arg)
{
    route_lookup(rarg, sender, client_ip, rcpt, cb, arg);
}

/* route_cached_dest() as a router. */
static struct dest *deliver_route_cached(void *rarg, const char *domain)
{
    return route_cached_dest(rarg, domain);
}

const struct deliver_router deliver_route = {
    .lookup = deliver_route_lookup,
    .cached = deliver_route_cached,
};

const struct deliver_transport deliver_smtpc = {
    .start = conn_smtpc_start,
    .resume = conn_smtpc_resume,
    .abort = conn_smtpc_abort,
};

/* ---- administration ------------------------------------------------------------------ */

/* The state of domain's cached destination, or NULL. */
static struct ddest *deliver_dest_of(struct deliver *dl, const char *domain)
{
    struct dest *d = dl->io.router->cached(dl->io.router_arg, domain);
    return d ? dest_find(dl, d, policy_domain_mask(dl->conf, domain)) : NULL;
}

/* `sluice ctl forget DOMAIN`: dead no more. */
void deliver_forget(struct deliver *dl, const char *domain)
{
    struct ddest *dd = deliver_dest_of(dl, domain);
    if (dd)
        dest_revive(dl, dd, 0);
}

/* What `sluice ctl queue` shows of a destination. */
int deliver_dest_view(struct deliver *dl, const char *domain, struct deliver_dest_view *v)
{
    struct ddest *dd = deliver_dest_of(dl, domain);
    if (!dd)
        return -1;
    int64_t now = dl->io.now();
    bool dead = dd->dead_until > now;
    *v = (struct deliver_dest_view){.key = dd->dest->key,
                                    .nconn = dd->nconn,
                                    .nready = dd->nready,
                                    .dead_until = dead ? dd->dead_until : 0,
                                    .dead_why = dead && dd->dead_why ? dd->dead_why : ""};
    return 0;
}

/* Every connection, as ZMailer's SHOW THREADS lists them. */
void deliver_conns(struct deliver *dl, void (*fn)(void *arg, const struct deliver_conn_view *v),
                   void *arg)
{
    for (struct dconn *cn = dl->conns; cn; cn = cn->next) {
        struct deliver_conn_view v = {.id = cn->id,
                                      .dest = cn->dd->dest->key,
                                      .state = !cn->took     ? "connecting"
                                               : cn->throttled ? "throttled"
                                               : cn->idle      ? "idle"
                                                               : "busy",
                                      .nmsgs = cn->nmsgs,
                                      .started = cn->started};
        fn(arg, &v);
    }
}

/* `sluice ctl kill CONN`: the transport's abort reports everything in flight (deferred). */
int deliver_kill(struct deliver *dl, uint64_t id)
{
    for (struct dconn *cn = dl->conns; cn; cn = cn->next) {
        if (cn->id != id)
            continue;
        log_info("connection %llu to %s killed by administrator", (unsigned long long)id,
                 cn->dd->dest->key);
        cn->tp->abort(cn->c);
        return 0;
    }
    return -1;
}

/* dict_foreach: one destination's policy again from the new configuration. */
static void deliver_on_reconf(void *arg, const char *key, void *value)
{
    struct deliver *dl = arg;
    struct ddest *dd = value;
    (void)key;
    policy_resolve(dl->conf, dd->dmask, dd->dest, &dd->pol);
    shape_init(dl, dd);
}

/* Reload: later work uses c; every known destination's policy is resolved again. */
void deliver_set_conf(struct deliver *dl, const struct conf *c)
{
    dl->conf = c;
    dict_foreach(dl->dests, deliver_on_reconf, dl);
}
