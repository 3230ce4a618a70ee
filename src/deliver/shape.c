/* shape: traffic shaping of one destination (docs/shaping.md): its message and connection
 * rates (token buckets, bucket.h), queue-only holding, and the actions of reply rules
 * (rules.h) on its window (slowstart.h), rate (ratelearn.h) and ready mail. Every change of
 * state is logged at info level with the destination's key.
 *
 *  - Message rate: the lower of the policy's (the lowest of msgs_per_second/minute/hour)
 *    and the learned one (ratelearn.h), a bucket of msgs_burst. A connection takes one token
 *    per transaction (conn.c); without one it is parked (throttled) and shape_ev dispatches
 *    the destination again when one is due; no new connection is opened while no token is
 *    there. Every message the receiver accepted is counted (shape_on_sent): the ceiling a
 *    rate refusal sets is what it accepted in the second before.
 *  - Connection rate: connections_per_minute, a bucket of one; one token per connect.
 *  - queueonly: ready mail is postponed ("held") until ETRN or a queue run releases the
 *    destination (shape_release) for SHAPE_RELEASE_MS, extended by every message started.
 *  - Rules, at most one action per rule and destination a second (a reply repeated for
 *    every recipient of a transaction acts once): suspend (no connection and every ready
 *    transaction postponed until the time; connections end after their transaction; then
 *    the window begins again at initial_concurrency), reduce_concurrency (window times
 *    factor; skipped for a refusal that dest.c has just learned exactly), reduce_rate
 *    (ratelearn_refused: the ceiling is learned, the rate goes to ceiling times factor and
 *    climbs back to just under it, probing above it after duration, more rarely each time
 *    the same ceiling refuses again), bounce (the ready transactions fail 5.0.0 with the
 *    reply). */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "deliver/internal.h"

#define SHAPE_RELEASE_MS 60000 /* a released queue-only destination stays open this long */
#define SHAPE_RULE_MS 1000     /* one action per rule and destination this often */
#define SHAPE_WHY_LOG 512

/* shape_ev: a token is due. */
static void shape_on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct ddest *dd = arg;
    (void)fd;
    (void)what;
    dest_dispatch(dd->dl, dd);
}

/* Dispatches dd again in wait ms (a pending timer stays). */
static void shape_arm(struct deliver *dl, struct ddest *dd, int64_t wait)
{
    if (!dd->shape_ev)
        dd->shape_ev = evtimer_new(dl->base, shape_on_timer, dd);
    if (evtimer_pending(dd->shape_ev, NULL))
        return;
    struct timeval tv = {(time_t)(wait / 1000), (suseconds_t)((wait % 1000) * 1000)};
    evtimer_add(dd->shape_ev, &tv);
}

/* Starts dd's buckets from its policy. */
void shape_init(struct deliver *dl, struct ddest *dd)
{
    int64_t now = dl->io.now();
    dd->dl = dl;
    ratelearn_init(&dd->rl);
    dd->rate = policy_msg_rate(&dd->pol);
    bucket_init(&dd->msgs, dd->rate, dd->pol.msgs_burst, now);
    bucket_init(&dd->conns, dd->pol.connections_per_minute / 60.0, 1, now);
    dd->rule_index = -1000;
}

/* Frees dd's timer. */
void shape_free(struct ddest *dd)
{
    if (dd->shape_ev)
        event_free(dd->shape_ev);
}

/* True when dd is a held queue-only destination; its ready mail is postponed then. */
bool shape_held(struct deliver *dl, struct ddest *dd)
{
    int64_t now = dl->io.now();
    if (!dd->pol.queueonly || now < dd->released_until)
        return false;
    log_debug("%s: queue-only, %zu transactions held until ETRN or a queue run", dd->dest->key,
              dd->nready);
    dest_fail(dl, dd, OUTCOME_TEMPFAIL,
              "4.7.0 queue-only destination: held until ETRN or a queue run",
              now + (int64_t)dd->pol.plan.interval);
    return true;
}

/* ETRN or a queue run: a queue-only destination sends for a while. */
void shape_release(struct deliver *dl, struct ddest *dd)
{
    if (!dd->pol.queueonly)
        return;
    dd->released_until = dl->io.now() + SHAPE_RELEASE_MS;
    log_info("%s: queue-only destination released", dd->dest->key);
}

static const char *const shape_phase[] = {"policy's rate", "climbing back to",
                                           "holding just under the ceiling at", "probing above the ceiling at"};

/* The rate in force now: the learned one (ratelearn.h) or the policy's; a change of phase
 * is logged. */
static void shape_rate_check(struct ddest *dd, int64_t now)
{
    enum ratelearn_phase was = dd->rl.phase;
    double r = ratelearn_rate(&dd->rl, now, policy_msg_rate(&dd->pol));
    if (r != dd->rate) {
        dd->rate = r;
        bucket_set_rate(&dd->msgs, r, now);
    }
    if (dd->rl.phase != was && dd->rl.phase != RATELEARN_CLIMB)
        log_info("%s: message rate: %s %g/s (learned ceiling %g/s; 0: no limit)", dd->dest->key,
                 shape_phase[dd->rl.phase], r, dd->rl.ceiling);
}

/* The receiver accepted a message of dd (counted for the ceiling a rate refusal learns). */
void shape_on_sent(struct deliver *dl, struct ddest *dd)
{
    ratelearn_sent(&dd->rl, dl->io.now());
}

/* True when a message token is there now (none is taken); else dd is dispatched again
 * when one is due. */
bool shape_may_send(struct deliver *dl, struct ddest *dd)
{
    int64_t now = dl->io.now();
    shape_rate_check(dd, now);
    int64_t wait = bucket_wait(&dd->msgs, now);
    if (wait > 0)
        shape_arm(dl, dd, wait);
    return wait == 0;
}

/* Takes a connection token: true when a new connection may be opened now. */
bool shape_may_connect(struct deliver *dl, struct ddest *dd)
{
    int64_t now = dl->io.now();
    if (bucket_take(&dd->conns, now))
        return true;
    shape_arm(dl, dd, bucket_wait(&dd->conns, now));
    return false;
}

/* Takes a message token for a transaction about to start. */
bool shape_take_msg(struct deliver *dl, struct ddest *dd)
{
    int64_t now = dl->io.now();
    shape_rate_check(dd, now);
    if (!bucket_take(&dd->msgs, now)) {
        shape_arm(dl, dd, bucket_wait(&dd->msgs, now));
        return false;
    }
    if (dd->pol.queueonly && dd->released_until > now)
        dd->released_until = now + SHAPE_RELEASE_MS;
    return true;
}

/* Ms until a message token is there. */
int64_t shape_msg_wait(struct deliver *dl, struct ddest *dd)
{
    return bucket_wait(&dd->msgs, dl->io.now());
}

/* "deliver.rules[N]" or "built-in rule N" into buf. */
static const char *shape_rule_name(const struct rules_entry *e, char *buf, size_t len)
{
    if (e->index >= 0)
        snprintf(buf, len, "deliver.rules[%d]", e->index);
    else
        snprintf(buf, len, "built-in rule %d", -e->index);
    return buf;
}

/* suspend: no connection and nothing sent until now + duration. */
static void shape_suspend(struct deliver *dl, struct ddest *dd, const struct rules_entry *e,
                          const char *reply, int64_t now)
{
    int64_t until = now + (int64_t)e->r.duration;
    slowstart_suspend(&dd->ss, until);
    if (dd->dead_until < until)
        dd->dead_until = until;
    free(dd->dead_why);
    dd->dead_why = xstrdup(reply);
    while (dd->idle) /* parked connections end now, busy ones after their transaction */
        conn_wake(dl, dd->idle, true);
}

/* reduce_rate: the ceiling is learned (or confirmed), the rate goes to ceiling times factor
 * and climbs back (ratelearn.h); false when the refusal belongs to the last decrease. */
static bool shape_reduce_rate(struct ddest *dd, const struct rules_entry *e, int64_t now)
{
    if (!ratelearn_refused(&dd->rl, now, e->r.factor, (int64_t)e->r.duration))
        return false;
    shape_rate_check(dd, now);
    return true;
}

/* A server reply at stage (enum rule_at) for dd: the first matching rule acts. learned:
 * dest.c has just capped the window on this refusal. */
void shape_on_reply(struct deliver *dl, struct ddest *dd, unsigned stage, const char *reply,
                    bool learned)
{
    size_t len = strnlen(reply, RULES_TEXT_MAX);
    const struct rules_entry *e = rules_match(&dl->rules, stage, reply, len);
    int64_t now = dl->io.now();
    if (!e || (e->index == dd->rule_index && now - dd->rule_time < SHAPE_RULE_MS))
        return;
    if (e->r.action == RULE_REDUCE_CONCURRENCY && learned)
        return;
    dd->rule_index = e->index;
    dd->rule_time = now;
    char name[48], w[LOG_SANITIZED_SIZE(SHAPE_WHY_LOG)], why[RULES_TEXT_MAX + 64];
    log_sanitize(w, sizeof w, reply, len);
    shape_rule_name(e, name, sizeof name);
    switch (e->r.action) {
    case RULE_SUSPEND:
        shape_suspend(dl, dd, e, reply, now);
        log_info("%s: suspended for %llu ms by %s: %s", dd->dest->key,
                 (unsigned long long)e->r.duration, name, w);
        break;
    case RULE_REDUCE_CONCURRENCY:
        if (slowstart_reduce(&dd->ss, dd->nconn, e->r.factor))
            log_info("%s: concurrency reduced to %u by %s: %s", dd->dest->key, dd->ss.cap, name, w);
        break;
    case RULE_REDUCE_RATE:
        if (shape_reduce_rate(dd, e, now))
            log_info("%s: message rate lowered to %g/s, back to %g/s over %d ms (ceiling %g/s, "
                     "refused %u times there; probing above after %lld ms) by %s: %s",
                     dd->dest->key, dd->rate, ratelearn_target(&dd->rl), RATELEARN_CLIMB_MS,
                     dd->rl.ceiling, dd->rl.refused, (long long)dd->rl.hold, name, w);
        break;
    default:
        log_info("%s: %zu ready transactions bounced by %s: %s", dd->dest->key, dd->nready, name,
                 w);
        snprintf(why, sizeof why, "5.0.0 refused by the destination (%s): %.*s", name, (int)len,
                 reply);
        dest_fail(dl, dd, OUTCOME_PERMFAIL, why, 0);
        break;
    }
}
