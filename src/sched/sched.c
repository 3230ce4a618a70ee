/* sched: waiting heap -> active window -> delivery -> outcome. See sched.h for the rules.
 * Invariants:
 *  - every unfinished recipient is in exactly one place: the heap (S_WAIT), parked (S_PARK:
 *    its message held or its domain paused, admin.c) or the active
 *    window (S_ACTIVE: handed to delivery, outcome not back yet); s->active counts the
 *    latter and never exceeds queuecache;
 *  - a struct smsg lives while it has unfinished recipients, reports pending or being
 *    stored, or delivery holds it (deliver_msg_busy);
 *  - a recipient's struct srcpt embeds what delivery reads (struct deliver_rcpt) and a
 *    message's struct smsg what it reads and keeps (struct deliver_msg): nothing is copied
 *    per recipient on the way out. */
#include "sched/sched.h"

#include <event2/event.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "audit/audit.h"
#include "audit/event.h"
#include "conf/conf.h"
#include "core/dict.h"
#include "core/heap.h"
#include "core/hist.h"
#include "core/log.h"
#include "core/qid.h"
#include "core/xalloc.h"
#include "deliver/deliver.h"
#include "dsn/dsn.h"
#include "dsn/report.h"
#include "proto/addr.h"
#include "proto/status.h"
#include "queue/queue.h"
#include "sched/internal.h"
#include "sched/outcome.h"

static void sched_report(struct sched *s, struct smsg *m);

/* Deletes a message from the queue and logs it as Postfix's qmgr does ("QID: removed"). */
void sched_remove(struct sched *s, uint64_t id, uint32_t nrcpt)
{
    char qid[QID_TEXT_LEN + 1];
    queue_delete(s->q, id, nrcpt);
    log_mail("qmgr", "%s: removed", qid_to_text(id, qid));
}

/* ---- messages ---------------------------------------------------------------------- */

/* Once delivery holds nothing of m, sends the reports it has pending; frees m once nothing
 * refers to it any more. */
void sched_msg_release(struct sched *s, struct smsg *m)
{
    bool busy = deliver_msg_busy(&m->d);
    if (!busy && m->npending > 0 && !m->reporting)
        sched_report(s, m);
    if (m->unfinished == 0 && !busy && !m->reporting && m->npending == 0) {
        sched_msgs_remove(s, m);
        sched_msg_free(s, m);
    }
}

/* Sets the report pending for r (enum dsn_action + 1, or 0 for none), counting it in m. */
static void sched_set_report(struct smsg *m, struct srcpt *r, uint8_t report)
{
    m->npending += (r->report == 0 && report != 0);
    m->npending -= (r->report != 0 && report == 0);
    r->report = report;
}

/* A new in-memory copy of a durable message's envelope (store.c; recipients not placed). */
static struct smsg *sched_msg_new(struct sched *s, const struct qmsg *qm)
{
    struct smsg *m = sched_msg_alloc(s, qm);
    m->d.flags = qm->flags;
    deliver_msg_init(s->dl, &m->d);
    m->arrival = qm->arrival;
    m->deliver_by = qm->deliver_by;
    m->d.deliver_by = qm->deliver_by;
    m->held = (qm->flags & MSG_F_HELD) != 0;
    m->size = qm->size;
    return m;
}

/* Copies recipient i; an unfinished one goes into the heap, due at max(its next attempt,
 * not_before); a final one may still owe a report. */
static void sched_rcpt_init(struct sched *s, struct smsg *m, uint32_t i, const struct qrcpt *q,
                            int64_t not_before)
{
    struct srcpt *r = &m->rcpts[i];
    if (q->last_reply && *q->last_reply)
        sched_rcpt_set_last(r, 0, "", q->last_reply);
    r->attempts = q->attempts;
    r->state = q->state;
    r->flags = q->flags;
    m->delay_done |= (q->flags & RCPT_F_DELAY_REPORTED) != 0;
    r->hn.idx = HEAP_NONE;
    if (q->state == RCPT_DELIVERED || q->state == RCPT_FAILED) {
        r->where = S_FINAL;
        sched_set_report(m, r,
                         report_owed_final(r->state, r->d.notify, r->flags,
                                           report_is_report(m->d.sender, m->d.flags)));
        return;
    }
    m->unfinished++;
    sched_place(s, r, q->next_attempt > not_before ? q->next_attempt : not_before);
}

/* Copies a durable message from any path but the recovery scan (recover.c notes it). */
void sched_add(struct sched *s, const struct qmsg *qm, int64_t not_before)
{
    sched_recover_note(s, qm->id);
    sched_add_msg(s, qm, not_before);
}

/* Copies a durable message into memory and schedules its unfinished recipients. */
void sched_add_msg(struct sched *s, const struct qmsg *qm, int64_t not_before)
{
    char qid[QID_TEXT_LEN + 1];
    qid_to_text(qm->id, qid);
    if (sched_msgs_find_id(s, qm->id))
        return;
    char from[LOG_SANITIZED_SIZE(ADDR_MAX)];
    log_mail("qmgr", "%s: from=<%s>, size=%llu, nrcpt=%u (queue active)", qid,
             log_sanitize(from, sizeof from, qm->sender, strlen(qm->sender)),
             (unsigned long long)qm->size, (unsigned)qm->nrcpt);
    struct smsg *m = sched_msg_new(s, qm);
    for (uint32_t i = 0; i < qm->nrcpt; i++)
        sched_rcpt_init(s, m, i, &qm->rcpts[i], not_before);
    if (m->unfinished == 0 && m->npending == 0) {
        sched_remove(s, m->d.id, m->nrcpt);
        sched_msg_free(s, m);
        return;
    }
    sched_msgs_put(s, m);
    s->st.messages++;
    if (m->unfinished == 0)
        sched_msg_release(s, m); /* only reports left to send */
    else
        sched_pump(s);
}

/* ---- outcomes ---------------------------------------------------------------------- */

/* One log line per recipient per attempt in Postfix's shape (and one event-log object):
 * "QID: to=<RCPT>, relay=HOST[IP]:PORT, delay=D, delays=a/b/c/d, dsn=X.Y.Z, status=S (REPLY),
 * tls=..., tls_peer=...": delay from arrival; delays a = before the queue (0: a message is
 * durable when accepted), b = waiting in the queue until this attempt, c = 0 (connection
 * setup is counted in d), d = this attempt. The session's TLS as the transport reported it
 * (tls=none without) comes after the reply, so pflogsumm's patterns still match. */
static void sched_log(struct sched *s, const struct srcpt *r, const struct deliver_result *res,
                      const char *status, enum outcome o, const char *reply)
{
    const char *relay = res->relay, *tls = res->tls ? res->tls : "none";
    const char *tls_peer = res->tls_peer ? res->tls_peer : "";
    const struct smsg *m = sched_msg_of(r);
    char dsn[STATUS_MAX], to[LOG_SANITIZED_SIZE(ADDR_MAX)], rl[1024], rp[2048]; /* peer text */
    int64_t now = s->now();
    double delay = (double)(now - m->arrival) / 1000.0;
    double waited = (double)(r->hn.key - m->arrival) / 1000.0; /* handed at hn.key */
    double took = (double)(now - r->hn.key) / 1000.0;
    status_of(reply, o, dsn); /* the reply's code, or the one our reason starts with */
    log_mail("smtp",
             "%s: to=<%s>, relay=%s, delay=%.2f, delays=0/%.2f/0/%.2f, dsn=%s, status=%s (%s), "
             "tls=%s%s%s",
             m->d.qid, log_sanitize(to, sizeof to, r->d.addr, strlen(r->d.addr)),
             log_sanitize(rl, sizeof rl, relay, strlen(relay)), delay < 0 ? 0.0 : delay,
             waited < 0 ? 0.0 : waited, took < 0 ? 0.0 : took, dsn, status,
             log_sanitize(rp, sizeof rp, reply, strlen(reply)), tls,
             *tls_peer ? ", tls_peer=" : "", tls_peer);
    if (strcmp(status, "sent") == 0)
        hist_observe(&s->latency, delay < 0 ? 0.0 : delay);
    event_attempt(s->logs.events, now, m->d.qid, r->d.addr, status, dsn, relay, reply, r->attempts,
                  now - m->arrival);
}

/* Writes one recipient record (state, attempts, next attempt, reply, DSN fields). */
void sched_write_rcpt(struct sched *s, struct srcpt *r, int64_t next)
{
    struct qrcpt q = {.addr = r->d.addr,
                      .state = r->state,
                      .attempts = r->attempts,
                      .next_attempt = next,
                      .last_reply = (char *)sched_rcpt_reply(r),
                      .notify = r->d.notify,
                      .flags = r->flags,
                      .orcpt = r->d.orcpt};
    struct smsg *m = sched_msg_of(r);
    queue_set_rcpt(s->q, m->d.id, (uint32_t)(r - m->rcpts), &q);
}

/* Writes a recipient's state to the queue, or deletes the message once every recipient is
 * final and nothing is left to report. */
static void sched_persist(struct sched *s, struct srcpt *r, int64_t next)
{
    struct smsg *m = sched_msg_of(r);
    if (m->unfinished == 0 && m->npending == 0 && !m->reporting) {
        sched_remove(s, m->d.id, m->nrcpt);
        return;
    }
    sched_write_rcpt(s, r, next);
}

/* A delivered recipient: the audit record (seed 000 §4.5.2). */
static void sched_audit(struct sched *s, const struct srcpt *r, const char *relay,
                        const char *reply, int64_t now)
{
    if (!s->logs.audit)
        return;
    const struct smsg *m = sched_msg_of(r);
    struct audit_delivery d = {.when = now,
                               .qid = m->d.qid,
                               .sender = m->d.sender,
                               .rcpt = r->d.addr,
                               .client_ip = m->d.client_ip,
                               .relay = relay,
                               .message_id = m->d.msgid,
                               .reply = reply};
    audit_delivery(s->logs.audit, &d);
}

/* Records an attempt: its reply (reworded for an expiry), relay and time. */
static void sched_note_attempt(struct srcpt *r, enum outcome_verdict v, const char *reply,
                               const char *relay, int64_t now)
{
    char why[OUTCOME_REASON_MAX];
    sched_rcpt_set_last(r, now, relay, outcome_reason(v, reply, why, sizeof why));
}

/* A recipient back in the waiting heap: log its deferral (a postponement only at debug level:
 * its last real attempt was logged already). */
static void sched_requeue(struct sched *s, struct srcpt *r, const struct outcome_decision *d,
                          const struct deliver_result *res)
{
    const char *reply = res->reply;
    r->state = RCPT_DEFERRED;
    if (d->verdict == OUTCOME_POSTPONED) {
        char to[LOG_SANITIZED_SIZE(ADDR_MAX)], rp[2048];
        log_debug("%s: to=<%s>, postponed: %s", sched_msg_of(r)->d.qid,
                  log_sanitize(to, sizeof to, r->d.addr, strlen(r->d.addr)),
                  log_sanitize(rp, sizeof rp, reply, strlen(reply)));
    } else {
        s->st.deferred++;
        sched_log(s, r, res, "deferred", OUTCOME_TEMPFAIL, sched_rcpt_reply(r));
    }
    sched_place(s, r, d->next); /* after the log line: hn.key held the time it was handed */
}

/* A recipient became final: count, audit and log it. */
static void sched_finish(struct sched *s, struct srcpt *r, const struct outcome_decision *d,
                         const struct deliver_result *res, int64_t now)
{
    struct smsg *m = sched_msg_of(r);
    bool ok = d->verdict == OUTCOME_DELIVERED;
    r->state = ok ? RCPT_DELIVERED : RCPT_FAILED;
    r->where = S_FINAL;
    m->unfinished--;
    if (d->verdict == OUTCOME_EXPIRED || d->verdict == OUTCOME_LATE)
        event_expiry(s->logs.events, now, m->d.qid, r->d.addr, r->attempts, now - m->arrival);
    if (ok) {
        s->st.delivered++;
        sched_audit(s, r, res->relay, sched_rcpt_reply(r), now);
    } else {
        s->st.bounced++;
        if (s->bounced)
            s->bounced(s->bounced_arg, addr_unrouted(r->d.addr), sched_rcpt_reply(r));
    }
    sched_log(s, r, res, ok ? "sent" : "bounced", ok ? OUTCOME_OK : OUTCOME_PERMFAIL,
              sched_rcpt_reply(r));
}

/* The outcome an administrator's bounce gives (RFC 3463 X.0.0: other or undefined). */
const struct deliver_result sched_admin_bounce = {
    .o = OUTCOME_PERMFAIL, .reply = "5.0.0 bounced by administrator", .relay = "none"};

/* An outcome for a message the administrator deleted meanwhile: logged, never recorded,
 * retried or reported. */
static void sched_on_deleted_outcome(struct sched *s, struct srcpt *r,
                                     const struct deliver_result *res)
{
    struct smsg *m = sched_msg_of(r);
    char to[LOG_SANITIZED_SIZE(ADDR_MAX)], rp[2048];
    if (r->where == S_ACTIVE)
        s->active--;
    if (r->where != S_FINAL) {
        r->where = S_FINAL;
        m->unfinished--;
    }
    log_info("%s: to=<%s>, attempt ended after the message was deleted: %s", m->d.qid,
             log_sanitize(to, sizeof to, r->d.addr, strlen(r->d.addr)),
             log_sanitize(rp, sizeof rp, res->reply, strlen(res->reply)));
    sched_msg_release(s, m);
}

/* deliver_ops.outcome: applies one outcome to an active recipient, as outcome_decide()
 * rules (outcome.h); every verdict but a postponement is an attempt and is written. */
void sched_on_outcome(void *arg, struct deliver_rcpt *dr, const struct deliver_result *res)
{
    struct sched *s = arg;
    struct srcpt *r = (struct srcpt *)((char *)dr - offsetof(struct srcpt, d));
    struct smsg *m = sched_msg_of(r);
    int64_t now = s->now();
    if (m->deleted) {
        sched_on_deleted_outcome(s, r, res);
        return;
    }
    if (m->bouncing && res->o != OUTCOME_OK)
        res = &sched_admin_bounce;
    struct outcome_rcpt in = {.attempts = r->attempts,
                              .postponed = r->postponed,
                              .notify = r->d.notify,
                              .flags = r->flags,
                              .report = r->report,
                              .arrival = m->arrival,
                              .deliver_by = m->deliver_by,
                              .msg_flags = m->d.flags,
                              .msg_delay_done = m->delay_done,
                              .msg_is_report = report_is_report(m->d.sender, m->d.flags)};
    struct outcome_event ev = {
        .o = res->o, .passed_on = res->passed_on, .by_relayed = res->by_relayed,
        .ok_action = res->ok_action,
        .dead_until = res->dead_until, .plan = res->plan};
    struct outcome_decision d = outcome_decide(&in, &ev, now, (uint32_t)random(), s->conf);
    if (r->where == S_ACTIVE)
        s->active--;
    if (d.verdict != OUTCOME_POSTPONED)
        sched_note_attempt(r, d.verdict, res->reply, res->relay, now);
    r->attempts = d.attempts;
    r->postponed = d.postponed;
    r->flags = d.flags;
    sched_set_report(m, r, d.report);
    if (outcome_final(d.verdict))
        sched_finish(s, r, &d, res, now);
    else
        sched_requeue(s, r, &d, res);
    if (d.verdict != OUTCOME_POSTPONED)
        sched_persist(s, r, d.next);
    sched_msg_release(s, m);
}

/* deliver_ops.released: delivery let go of m (a transaction ended, routing finished): it may
 * owe reports or be done, and the window may have room. */
static void sched_on_released(void *arg, struct deliver_msg *dm)
{
    struct sched *s = arg;
    sched_msg_release(s, (struct smsg *)((char *)dm - offsetof(struct smsg, d)));
    sched_pump(s);
}

static const struct deliver_ops sched_deliver_ops = {
    .outcome = sched_on_outcome,
    .released = sched_on_released,
};

/* ---- delivery reports (dsn/report.h does the rest) --------------------------------- */

/* The context of a report being stored (a message record does not point to its sched). */
struct sched_reporting {
    struct sched *s;
    struct smsg *m;
};

/* The report is durable (or failed): mark the recipients it covers, schedule it, and delete
 * the original when nothing is left to do. On error they stay unreported on disk and the
 * next recovery tries again. */
static void sched_on_reported(void *arg, const struct report_done *d)
{
    struct sched_reporting *rc = arg;
    struct smsg *m = rc->m;
    struct sched *s = rc->s;
    free(rc);
    m->reporting = false;
    if (!d->err) {
        for (size_t i = 0; i < d->n; i++)
            m->rcpts[d->idx[i]].flags |=
                d->action[i] == DSN_DELAYED ? RCPT_F_DELAY_REPORTED : RCPT_F_REPORTED;
        for (size_t i = 0; i < d->n && (m->unfinished > 0 || m->npending > 0); i++) {
            struct srcpt *r = &m->rcpts[d->idx[i]];
            sched_write_rcpt(s, r, r->where == S_WAIT || r->where == S_PARK ? r->hn.key : 0);
        }
        if (m->unfinished == 0 && m->npending == 0)
            sched_remove(s, m->d.id, m->nrcpt);
        sched_add(s, d->report, 0);
    }
    sched_msg_release(s, m);
}

/* A report that cannot go anywhere (double bounce) is settled as if sent. */
static void sched_report_settle(struct sched *s, struct srcpt *r, uint8_t action)
{
    r->flags |= action == DSN_DELAYED ? RCPT_F_DELAY_REPORTED : RCPT_F_REPORTED;
    if (sched_msg_of(r)->unfinished > 0)
        sched_write_rcpt(s, r, r->where == S_WAIT || r->where == S_PARK ? r->hn.key : 0);
}

/* Hands every report m has pending to report_send(), by recipient index; called once
 * delivery holds nothing of m. */
static void sched_report(struct sched *s, struct smsg *m)
{
    struct report_rcpt *rr = xcalloc(m->npending, sizeof *rr);
    size_t n = 0;
    for (uint32_t i = 0; i < m->nrcpt && m->npending > 0; i++) {
        struct srcpt *r = &m->rcpts[i];
        if (!r->report)
            continue;
        rr[n++] = (struct report_rcpt){.idx = i,
                                       .action = (uint8_t)(r->report - 1),
                                       .addr = r->d.addr,
                                       .orcpt = r->d.orcpt,
                                       .relay = sched_rcpt_relay(r),
                                       .diag = sched_rcpt_reply(r),
                                       .last_attempt = sched_rcpt_last_at(r)};
        r->report = 0;
        m->npending--;
    }
    struct report_msg rm = {.id = m->d.id,
                            .qid = m->d.qid,
                            .sender = m->d.sender,
                            .envid = m->d.envid,
                            .helo = m->helo,
                            .arrival = m->arrival,
                            .size = m->size,
                            .flags = m->d.flags};
    struct sched_reporting *rc = xmalloc(sizeof *rc);
    *rc = (struct sched_reporting){s, m};
    size_t sent = report_send(&s->rep, &rm, rr, n, s->now(), sched_on_reported, rc);
    for (size_t k = 0; k < n; k++) {
        if (rr[k].dropped)
            sched_report_settle(s, &m->rcpts[rr[k].idx], rr[k].action);
        else if (rr[k].action == DSN_DELAYED)
            m->delay_done = true;
    }
    if (sent > 0) {
        m->reporting = true;
    } else {
        free(rc); /* done is never called */
        if (m->unfinished == 0)
            sched_remove(s, m->d.id, m->nrcpt);
    }
    free(rr);
}

/* ---- the waiting heap and the active window ---------------------------------------- */

/* Returns one waiting recipient of a late BY=...;R message: a temporary failure past the
 * by-time, which outcome_decide() makes LATE (5.4.7), its last reply kept as the reason. */
static void sched_late_one(struct sched *s, struct srcpt *r, int64_t now)
{
    const char *last = r->last ? r->last->reply : "", *from = r->last ? r->last->text : "";
    char *reply = xstrdup(*last ? last : "4.4.7 not delivered before the DELIVERBY time");
    char *relay = xstrdup(*from ? from : "none");
    struct deliver_result res = {.o = OUTCOME_TEMPFAIL, .reply = reply, .relay = relay};
    r->where = S_ACTIVE;
    r->hn.key = now; /* handed: the log line's delays= */
    s->active++;
    sched_on_outcome(s, &r->d, &res);
    free(reply);
    free(relay);
}

/* A due recipient of a BY=...;R message whose by-time has passed: it and every other waiting
 * recipient of the message are returned now, without an attempt (RFC 2852 §4.1.4.1), in one
 * report (the message counts as reporting until all are settled). */
static bool sched_late_now(struct sched *s, struct srcpt *r, int64_t now)
{
    struct smsg *m = sched_msg_of(r);
    if (!m->deliver_by || !(m->d.flags & MSG_F_BY_RETURN) || now < m->deliver_by)
        return false;
    bool was = m->reporting;
    m->reporting = true;
    sched_late_one(s, r, now);
    for (uint32_t i = 0; i < m->nrcpt; i++)
        if (m->rcpts[i].where == S_WAIT) {
            heap_remove(&s->wait, &m->rcpts[i].hn);
            sched_late_one(s, &m->rcpts[i], now);
        }
    m->reporting = was;
    if (m->unfinished == 0 && m->npending == 0 && !m->reporting && !deliver_msg_busy(&m->d))
        sched_remove(s, m->d.id, m->nrcpt); /* nothing to report: gone (sched_persist waited) */
    sched_msg_release(s, m);
    return true;
}

/* Moves due recipients into the active window (up to queuecache), handing each to delivery,
 * and arms the timer for the next one due. */
void sched_pump(struct sched *s)
{
    int64_t now = s->now();
    struct heap_node *top;
    if (s->stopping)
        return;
    while (s->active < s->conf->deliver.queuecache && (top = heap_top(&s->wait)) &&
           top->key <= now) {
        heap_pop(&s->wait);
        struct srcpt *r = (struct srcpt *)top;
        if (sched_late_now(s, r, now))
            continue;
        r->where = S_ACTIVE;
        r->hn.key = now; /* handed: the log line's delays= */
        s->active++;
        deliver_submit(s->dl, r->d.msg, &r->d);
    }
    top = heap_top(&s->wait);
    if (top && s->active < s->conf->deliver.queuecache) {
        int64_t ms = top->key - now;
        struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
        event_add(s->due_ev, &tv);
    }
}

/* Timer: recipients became due. */
static void sched_on_due(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    sched_pump(arg);
}

/* ---- life cycle -------------------------------------------------------------------- */

/* Sets the log files (any may be NULL). */
void sched_set_logs(struct sched *s, const struct sched_logs *l)
{
    s->logs = *l;
    s->rep.events = l->events;
}

/* Sets the hook told of every recipient that fails for good. */
void sched_set_bounced(struct sched *s, sched_bounced_fn fn, void *arg)
{
    s->bounced = fn;
    s->bounced_arg = arg;
}

/* Creates the scheduler (nothing scheduled yet) and takes dl's outcomes. */
struct sched *sched_create(struct event_base *base, const struct conf *c, struct queue *q,
                           struct deliver *dl, int64_t (*now)(void))
{
    struct sched *s = xcalloc(1, sizeof *s);
    s->base = base;
    s->conf = c;
    s->q = q;
    s->dl = dl;
    s->now = now;
    s->rep = (struct report_env){.c = c, .q = q};
    heap_init(&s->wait);
    sched_msgs_init(s);
    static const double latency_le[] = {0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600,
                                        14400, 86400};
    hist_init(&s->latency, latency_le, sizeof latency_le / sizeof latency_le[0]);
    s->due_ev = evtimer_new(base, sched_on_due, s);
    s->paused = dict_create();
    deliver_set_ops(dl, &sched_deliver_ops, s);
    return s;
}

/* Frees everything (after shutdown: no connection left). */
void sched_free(struct sched *s)
{
    if (!s)
        return;
    event_free(s->due_ev);
    sched_recover_free(s);
    if (s->poll_ev)
        event_free(s->poll_ev);
    heap_clear(&s->wait);
    sched_msgs_free(s);
    dict_free(s->paused, NULL);
    free(s);
}

/* Incoming callback: a message written by another process (sluice submit): its reception
 * line, as Postfix's pickup logs one. */
static int sched_on_incoming(void *arg, const struct qmsg *m)
{
    char qid[QID_TEXT_LEN + 1], from[LOG_SANITIZED_SIZE(ADDR_MAX)];
    log_mail("pickup", "%s: sender=<%s>", qid_to_text(m->id, qid),
             log_sanitize(from, sizeof from, m->sender, strlen(m->sender)));
    sched_add(arg, m, 0);
    return 0;
}

/* Polling timer for the incoming table. */
static void sched_on_poll(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    sched_poll_incoming(arg);
}

/* Loads incoming messages and re-arms the poll at interval_low/high/error. */
void sched_poll_incoming(struct sched *s)
{
    if (s->stopping)
        return;
    int n = queue_take_incoming(s->q, sched_on_incoming, s);
    uint64_t ms = n < 0   ? s->conf->deliver.interval_error
                  : n > 0 ? s->conf->deliver.interval_low
                          : s->conf->deliver.interval_high;
    if (n < 0)
        log_warn("queue: cannot read incoming messages; retrying in %" PRIu64 " ms", ms);
    if (!s->poll_ev)
        s->poll_ev = evtimer_new(s->base, sched_on_poll, s);
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
    event_add(s->poll_ev, &tv);
}

/* Stops scheduling; delivery lets transactions in flight finish for up to grace_ms. */
void sched_shutdown(struct sched *s, int64_t grace_ms, void (*done)(void *arg), void *arg)
{
    s->stopping = true;
    event_del(s->due_ev);
    if (s->rec.ev)
        event_del(s->rec.ev);
    if (s->poll_ev)
        event_del(s->poll_ev);
    deliver_shutdown(s->dl, grace_ms, done, arg);
}

/* Counters and sizes. */
void sched_get_stats(const struct sched *s, struct sched_stats *st)
{
    struct deliver_stats ds;
    deliver_get_stats(s->dl, &ds);
    *st = s->st;
    st->connections = ds.connections;
    st->transactions = ds.transactions;
    st->messages = s->msgs_n;
    st->waiting = s->wait.n;
    st->active = s->active;
}

/* ---- flush (ETRN, queue runs) ------------------------------------------------------ */

struct sched_flush {
    struct sched *s;
    const char *domain;
    bool subdomains;
    int64_t now;
    size_t moved;
};

/* True when addr's domain is d, or (subdomains) ends in ".d". */
bool sched_domain_match(const char *addr, const char *d, bool subdomains)
{
    const char *at = strrchr(addr, '@');
    const char *dom = at ? at + 1 : "";
    size_t dl = strlen(dom), l = strlen(d);
    if (strcasecmp(dom, d) == 0)
        return true;
    return subdomains && dl > l && dom[dl - l - 1] == '.' && strcasecmp(dom + dl - l, d) == 0;
}

/* dict_foreach: makes the matching waiting recipients of one message due now. */
static void sched_on_flush_msg(void *arg, const char *key, void *value)
{
    struct sched_flush *f = arg;
    struct smsg *m = value;
    (void)key;
    for (uint32_t i = 0; i < m->nrcpt; i++) {
        struct srcpt *r = &m->rcpts[i];
        if (r->where != S_WAIT || r->hn.key <= f->now ||
            (f->domain && !sched_domain_match(r->d.addr, f->domain, f->subdomains)))
            continue;
        heap_remove(&f->s->wait, &r->hn);
        r->hn.key = f->now;
        heap_push(&f->s->wait, &r->hn);
        f->moved++;
    }
}

/* sendmail -qI: the waiting recipients of one message become due now. */
size_t sched_flush_message(struct sched *s, const char *qid)
{
    struct smsg *m = sched_msgs_find(s, qid);
    struct sched_flush f = {s, NULL, false, s->now(), 0};
    if (!m) {
        log_info("flush: message %s is not in the queue", qid);
        return 0;
    }
    for (uint32_t i = 0; i < m->nrcpt; i++) /* as ETRN: a dead destination is tried again */
        if (m->rcpts[i].where == S_WAIT)
            deliver_revive_now(s->dl, addr_domain(m->rcpts[i].d.addr));
    sched_on_flush_msg(&f, qid, m);
    log_info("flush: %zu recipients of %s made due", f.moved, qid);
    sched_pump(s);
    return f.moved;
}

/* Delivery latency of delivered recipients (seconds since arrival). */
const struct hist *sched_delivery_latency(const struct sched *s)
{
    return &s->latency;
}

/* Reload: the new configuration for later decisions. */
void sched_set_conf(struct sched *s, const struct conf *c)
{
    s->conf = c;
    s->rep.c = c;
    sched_pump(s); /* a larger queuecache admits more at once */
}

/* ETRN / queue run: waiting recipients of a domain (or all) become due now, and delivery
 * may try dead destinations again (as Postfix's flush resets its dead cache). */
size_t sched_flush_domain(struct sched *s, const char *domain, bool subdomains)
{
    struct sched_flush f = {s, domain, subdomains, s->now(), 0};
    deliver_revive(s->dl, domain);
    sched_msgs_foreach(s, sched_on_flush_msg, &f);
    log_info("flush: %zu recipients for %s%s made due", f.moved, domain && subdomains ? "*." : "",
             domain ? domain : "every domain");
    sched_pump(s);
    return f.moved;
}

/* sendmail -qR: as ETRN for one domain, and its destination is tried at once. */
size_t sched_flush_domain_local(struct sched *s, const char *domain)
{
    struct sched_flush f = {s, domain, false, s->now(), 0};
    deliver_revive_now(s->dl, domain);
    sched_msgs_foreach(s, sched_on_flush_msg, &f);
    log_info("flush: %zu recipients for %s made due", f.moved, domain);
    sched_pump(s);
    return f.moved;
}
