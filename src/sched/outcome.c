/* outcome: the decision table of outcome.h. Three steps, each a small function:
 *   1. the verdict (what the event means for the recipient's life);
 *   2. the counters and the next due time (retry.h);
 *   3. the report the recipient owes its sender afterwards;
 * and the wording of the reply recorded for a failure for lack of time.
 * Invariant: a final verdict never carries a due time; a non-final one always does. */
#include "sched/outcome.h"

#include <stdio.h>

#include "conf/conf.h"
#include "dsn/dsn.h"
#include "dsn/report.h"
#include "proto/status.h"
#include "queue/record.h"
#include "sched/retry.h"

/* The retry schedule in force: the destination's, else deliver's. */
static struct retry_plan outcome_plan(const struct outcome_event *e, const struct conf *c)
{
    if (e->plan)
        return *e->plan;
    return (struct retry_plan){.retries = c->deliver.retries,
                               .nretries = c->deliver.nretries,
                               .interval = c->deliver.interval,
                               .skew = c->deliver.skew,
                               .expiry = c->deliver.expiry};
}

/* True when the message asked to be returned at its DELIVERBY time and that has passed. */
static bool outcome_late(const struct outcome_rcpt *r, int64_t now)
{
    return r->deliver_by != 0 && (r->msg_flags & MSG_F_BY_RETURN) && now >= r->deliver_by;
}

/* True when the message asked for a notice at its DELIVERBY time and that has passed. */
static bool outcome_by_notice(const struct outcome_rcpt *r, int64_t now)
{
    return r->deliver_by != 0 && (r->msg_flags & MSG_F_BY_NOTIFY) && now >= r->deliver_by;
}

/* Step 1: the verdict. A temporary failure turns final once the message expired or is late;
 * a postponement (no attempt) only applies to a recipient tried before. */
static enum outcome_verdict outcome_verdict_of(const struct outcome_rcpt *r,
                                               const struct outcome_event *e, int64_t now,
                                               const struct conf *c)
{
    if (e->o == OUTCOME_OK)
        return OUTCOME_DELIVERED;
    if (e->o == OUTCOME_PERMFAIL)
        return OUTCOME_FAILED;
    if (retry_expired(r->arrival, outcome_plan(e, c).expiry, now))
        return OUTCOME_EXPIRED;
    if (outcome_late(r, now))
        return OUTCOME_LATE;
    if (e->dead_until != 0 && r->attempts > 0)
        return OUTCOME_POSTPONED;
    return OUTCOME_DEFERRED;
}

/* Step 2: counters and the due time. Postponements walk the retry list on in memory as
 * attempts would, and never end before the dead destination is tried again. */
static void outcome_schedule(struct outcome_decision *d, const struct outcome_rcpt *r,
                             const struct outcome_event *e, int64_t now, uint32_t rnd,
                             const struct conf *c)
{
    if (d->verdict == OUTCOME_POSTPONED) {
        d->postponed++;
    } else {
        d->attempts++;
        d->postponed = 0;
    }
    if (outcome_final(d->verdict))
        return;
    struct retry_plan p = outcome_plan(e, c);
    d->next = retry_next(p.retries, p.nretries, p.interval, p.skew, d->attempts + d->postponed,
                         now, rnd);
    if (d->verdict == OUTCOME_POSTPONED && d->next < e->dead_until)
        d->next = e->dead_until;
    if (r->deliver_by > now && d->next > r->deliver_by &&
        (r->msg_flags & (MSG_F_BY_RETURN | MSG_F_BY_NOTIFY)))
        d->next = r->deliver_by; /* the return or the notice is due at the by-time */
}

/* True when a deferred recipient owes its message's one delay notice now. */
static bool outcome_owes_delay(const struct outcome_rcpt *r, int64_t now, const struct conf *c)
{
    if (r->msg_delay_done || (r->flags & RCPT_F_DELAY_REPORTED) ||
        !report_wanted(r->notify, NOTIFY_DELAY))
        return false;
    if (outcome_by_notice(r, now))
        return true;
    return c->deliver.delay_warning != 0 && now - r->arrival >= (int64_t)c->deliver.delay_warning;
}

/* Step 3: the report owed afterwards (see outcome.h). */
static void outcome_report(struct outcome_decision *d, const struct outcome_rcpt *r,
                           const struct outcome_event *e, int64_t now, const struct conf *c)
{
    switch (d->verdict) {
    case OUTCOME_DELIVERED:
        if (d->report == DSN_DELAYED + 1) /* the delay notice is moot now */
            d->report = 0;
        if (report_wanted(r->notify, NOTIFY_SUCCESS) && !e->passed_on)
            d->report = e->ok_action ? e->ok_action : DSN_RELAYED + 1;
        else if (e->by_relayed && !(r->notify & NOTIFY_NEVER))
            d->report = DSN_RELAYED + 1;
        else if (report_wanted(r->notify, NOTIFY_SUCCESS))
            d->flags |= RCPT_F_REPORTED;
        break;
    case OUTCOME_FAILED:
    case OUTCOME_EXPIRED:
    case OUTCOME_LATE:
        if (report_failure_owed(r->notify, r->msg_is_report))
            d->report = DSN_FAILED + 1;
        else
            d->flags |= RCPT_F_REPORTED;
        break;
    case OUTCOME_DEFERRED:
    case OUTCOME_POSTPONED:
        if (outcome_owes_delay(r, now, c))
            d->report = DSN_DELAYED + 1;
        break;
    }
}

/* The decision of outcome.h. */
struct outcome_decision outcome_decide(const struct outcome_rcpt *r, const struct outcome_event *e,
                                       int64_t now, uint32_t rnd, const struct conf *c)
{
    struct outcome_decision d = {
        .attempts = r->attempts, .postponed = r->postponed, .flags = r->flags, .report = r->report};
    d.verdict = outcome_verdict_of(r, e, now, c);
    outcome_schedule(&d, r, e, now, rnd, c);
    outcome_report(&d, r, e, now, c);
    return d;
}

/* The recorded reply: a failure for lack of time says so with RFC 3463 X.4.7. */
const char *outcome_reason(enum outcome_verdict v, const char *reply, char *buf, size_t cap)
{
    const char *code = status_code(STATUS_EXPIRED, OUTCOME_PERMFAIL);
    if (v == OUTCOME_EXPIRED)
        snprintf(buf, cap, "%s message expired, last reply: %s", code, reply);
    else if (v == OUTCOME_LATE)
        snprintf(buf, cap, "%s delivery time expired, last reply: %s", code, reply);
    else
        return reply;
    return buf;
}

/* Final verdicts: the recipient leaves the schedule. */
bool outcome_final(enum outcome_verdict v)
{
    return v == OUTCOME_DELIVERED || v == OUTCOME_FAILED || v == OUTCOME_EXPIRED ||
           v == OUTCOME_LATE;
}

/* Names for logs and tests. */
const char *outcome_verdict_name(enum outcome_verdict v)
{
    switch (v) {
    case OUTCOME_DELIVERED:
        return "delivered";
    case OUTCOME_DEFERRED:
        return "deferred";
    case OUTCOME_FAILED:
        return "failed";
    case OUTCOME_EXPIRED:
        return "expired";
    case OUTCOME_LATE:
        return "late";
    case OUTCOME_POSTPONED:
        return "postponed";
    }
    return "?";
}
