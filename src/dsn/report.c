/* report: the rules and the report store of report.h. A report in flight is one struct
 * report_job: the bounce being stored and the recipients it covers; it lives from
 * report_send() until its queue_put() completes. */
#include "dsn/report.h"

#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "audit/event.h"
#include "conf/conf.h"
#include "core/log.h"
#include "core/qid.h"
#include "core/xalloc.h"
#include "dsn/bounce.h"
#include "dsn/dsn.h"
#include "proto/addr.h"
#include "proto/status.h"
#include "queue/queue.h"
#include "queue/record.h"

#define REPORT_MTA_MAX 256

struct report_job {
    struct bounce b;
    struct audit_log *events;
    char qid[QID_TEXT_LEN + 1]; /* the original's */
    report_done_fn done;
    void *arg;
    size_t n;
    uint32_t *idx;
    uint8_t *action;
};

/* NOTIFY=NEVER: nothing; none given: failures and delays; else the bits listed. */
bool report_wanted(uint8_t notify, uint8_t bit)
{
    if (notify & NOTIFY_NEVER)
        return false;
    if (notify == 0)
        return bit == NOTIFY_FAILURE || bit == NOTIFY_DELAY;
    return (notify & bit) != 0;
}

/* A report, or a message with the null sender: never reported to its sender. */
bool report_is_report(const char *sender, uint32_t msg_flags)
{
    return !sender[0] || (msg_flags & MSG_F_BOUNCE);
}

/* Failures owe a report when asked for, and always for a report (double bounce). */
bool report_failure_owed(uint8_t notify, bool is_report)
{
    return report_wanted(notify, NOTIFY_FAILURE) || is_report;
}

/* Recovery: a failed recipient owes "failed", a delivered one "relayed" when it asked for
 * success notices; unless the report went out already (RCPT_F_REPORTED). */
uint8_t report_owed_final(uint8_t state, uint8_t notify, uint8_t flags, bool is_report)
{
    if (flags & RCPT_F_REPORTED)
        return 0;
    if (state == RCPT_FAILED && report_failure_owed(notify, is_report))
        return DSN_FAILED + 1;
    if (state == RCPT_DELIVERED && report_wanted(notify, NOTIFY_SUCCESS))
        return DSN_RELAYED + 1;
    return 0;
}

/* Where a report of m goes: its sender, or double_bounce for a null-sender message or a
 * report ("" = nowhere). */
static const char *report_to(const struct report_env *env, const struct report_msg *m)
{
    if (!report_is_report(m->sender, m->flags))
        return m->sender;
    return env->c->deliver.double_bounce;
}

/* True when r's report cannot go anywhere: only failures go to double_bounce, and never
 * about the double_bounce address itself. */
static bool report_dropped(const struct report_env *env, const struct report_msg *m,
                           const struct report_rcpt *r)
{
    const char *dbl = env->c->deliver.double_bounce;
    if (!report_is_report(m->sender, m->flags))
        return false;
    return r->action != DSN_FAILED || !dbl[0] || strcasecmp(r->addr, dbl) == 0;
}

/* Logs a dropped report (only failures are worth a line: a double bounce). */
static void report_log_drop(const struct report_env *env, const struct report_msg *m,
                            const struct report_rcpt *r, int64_t now)
{
    if (r->action != DSN_FAILED)
        return;
    char to[LOG_SANITIZED_SIZE(ADDR_MAX)];
    log_info("%s: to=<%s>: undeliverable report dropped (double bounce)", m->qid,
             log_sanitize(to, sizeof to, r->addr, strlen(r->addr)));
    event_drop(env->events, now, m->qid, r->addr, "double bounce");
}

/* Fills the DSN entry of r; mta and status are its scratch buffers. A delay notice carries
 * the last attempt's code, as Postfix does: the message is late, not expired (4.4.7 is for
 * expiry). */
static void report_entry(const struct report_env *env, const struct report_msg *m,
                         const struct report_rcpt *r, struct dsn_rcpt *d, char *mta, char *status)
{
    enum dsn_action a = (enum dsn_action)r->action;
    bounce_remote_mta(r->relay, mta, REPORT_MTA_MAX);
    status_of(r->diag,
              a == DSN_FAILED    ? OUTCOME_PERMFAIL
              : a == DSN_DELAYED ? OUTCOME_TEMPFAIL
                                 : OUTCOME_OK,
              status);
    *d = (struct dsn_rcpt){.addr = addr_unrouted(r->addr), /* the route is ours, not its name */
                           .orcpt = r->orcpt,
                           .action = a,
                           .status = status,
                           .remote_mta = mta,
                           .diag = r->diag,
                           .last_attempt = r->last_attempt,
                           .retry_until =
                               a == DSN_DELAYED ? m->arrival + (int64_t)env->c->deliver.expiry : 0};
}

/* The report is durable (err 0) or failed: log it, tell the caller, free the job. */
static void report_on_stored(void *arg, int err)
{
    struct report_job *j = arg;
    if (err) {
        log_warn("%s: cannot queue a delivery report: %s (retried at the next start)", j->qid,
                 strerror(err));
    } else {
        const char *kind = dsn_action_name((enum dsn_action)j->action[0]);
        log_info("%s: sender delivery status notification (%s): %s", j->qid, kind, j->b.qid);
        event_bounce(j->events, clock_wall_ms(), j->qid, j->b.qid, kind, j->b.r.addr,
                     (uint32_t)j->n);
    }
    struct report_done d = {
        .err = err, .report = err ? NULL : &j->b.m, .n = j->n, .idx = j->idx, .action = j->action};
    j->done(j->arg, &d);
    bounce_clear(&j->b);
    free(j->idx);
    free(j->action);
    free(j);
}

/* Builds the report of the k entries in dr (with the original content, when readable) and
 * stores it; j->done runs once it is durable. */
static void report_store(const struct report_env *env, const struct report_msg *m,
                         struct report_job *j, const struct dsn_rcpt *dr, int64_t now)
{
    struct evbuffer *body = evbuffer_new();
    int have = queue_body(env->q, m->id, body) == 0;
    size_t blen = evbuffer_get_length(body);
    struct dsn_report rep = {
        .reporting_mta = env->c->hostname,
        .orig_qid = m->qid,
        .envid = m->envid,
        .received_from = m->helo,
        .arrival = m->arrival,
        .nrcpt = j->n,
        .rcpts = dr,
        .msg = have ? (const char *)evbuffer_pullup(body, (ssize_t)blen) : NULL,
        .msglen = have ? blen : 0,
        .ret = bounce_ret(m->flags, m->size, env->c->deliver.bounce_size_limit),
        .utf8 = (m->flags & MSG_F_SMTPUTF8) != 0};
    size_t len;
    char *text = bounce_build(&j->b, &rep, report_to(env, m), now, &len);
    evbuffer_free(body);
    queue_put(env->q, &j->b.m, text, len, report_on_stored, j);
}

/* One report for every entry that can go somewhere; the others are marked dropped. */
size_t report_send(const struct report_env *env, const struct report_msg *m, struct report_rcpt *r,
                   size_t n, int64_t now, report_done_fn done, void *arg)
{
    struct report_job *j = xcalloc(1, sizeof *j);
    struct dsn_rcpt *dr = xcalloc(n ? n : 1, sizeof *dr);
    char *mta = xcalloc(n ? n : 1, REPORT_MTA_MAX), *status = xcalloc(n ? n : 1, STATUS_MAX);
    j->idx = xcalloc(n ? n : 1, sizeof *j->idx);
    j->action = xcalloc(n ? n : 1, 1);
    for (size_t i = 0; i < n; i++) {
        r[i].dropped = report_dropped(env, m, &r[i]);
        if (r[i].dropped) {
            report_log_drop(env, m, &r[i], now);
            continue;
        }
        report_entry(env, m, &r[i], &dr[j->n], mta + REPORT_MTA_MAX * j->n,
                     status + STATUS_MAX * j->n);
        j->idx[j->n] = r[i].idx;
        j->action[j->n++] = r[i].action;
    }
    size_t sent = j->n;
    if (sent > 0) {
        j->events = env->events;
        j->done = done;
        j->arg = arg;
        snprintf(j->qid, sizeof j->qid, "%s", m->qid);
        report_store(env, m, j, dr, now);
    } else {
        free(j->idx);
        free(j->action);
        free(j);
    }
    free(dr);
    free(mta);
    free(status);
    return sent;
}
