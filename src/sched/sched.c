/* sched: waiting heap -> active window -> routing -> batches per destination -> connections.
 * See sched.h for the rules. Invariants:
 *  - every unfinished recipient is in exactly one place: the heap (S_WAIT) or the active
 *    window (S_ACTIVE: routing, in a batch, or in a transaction); s->active counts the
 *    latter and never exceeds queuecache;
 *  - a struct smsg lives while it has unfinished recipients or batches referring to it;
 *  - sd->nconnecting counts connections of sd that have not yet asked for their first
 *    transaction; a destination starts a new connection only while it has more ready
 *    batches than such connections (so no connection is opened for nothing). */
#include "sched/sched.h"

#include <event2/buffer.h>
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
#include "core/log.h"
#include "core/qid.h"
#include "core/xalloc.h"
#include "dsn/bounce.h"
#include "dsn/verp.h"
#include "proto/addr.h"
#include "proto/hdr.h"
#include "proto/status.h"
#include "queue/queue.h"
#include "route/route.h"
#include "sched/retry.h"
#include "smtpc/smtpc.h"

#define SCHED_PEERS_MAX 10
#define SCHED_WHY_MAX 512
#define SCHED_MSGID_MAX 998   /* longest Message-ID kept for the audit log */
#define SCHED_HDR_SCAN 65536  /* header bytes searched for the Message-ID */

enum { S_WAIT, S_ACTIVE, S_FINAL };

struct smsg;

struct srcpt {
    struct heap_node hn; /* key: due time (wall ms) */
    struct smsg *m;
    char *addr;
    char *last_reply;
    char *orcpt;   /* DSN ORCPT as received, "" when none */
    char *relay;   /* "name[ip]:port" of the last attempt, "" when none */
    int64_t last_attempt;
    uint32_t idx;
    uint32_t attempts;
    uint32_t postponed; /* postponements since the last real attempt (backoff, memory only) */
    uint8_t state;  /* enum rcpt_state */
    uint8_t where;  /* S_* */
    uint8_t notify; /* NOTIFY_* */
    uint8_t flags;  /* RCPT_F_* */
    uint8_t report; /* a report pending: enum dsn_action + 1; 0 = none */
};

struct batch;

struct smsg {
    struct sched *s;
    uint64_t id;
    int64_t arrival;
    char *sender;
    char *client_ip;
    char *helo;
    char *envid;
    char *msgid; /* Message-ID header, NULL until the content was read */
    uint64_t size;
    uint32_t flags; /* MSG_F_* */
    char qid[QID_TEXT_LEN + 1];
    uint32_t nrcpt, unfinished, routing, nbatches;
    uint32_t npending; /* recipients with a report pending (srcpt.report) */
    int reporting;     /* a report of this message is being stored */
    int delay_done;    /* the one delay notice of this message went out */
    int verp;          /* one transaction per recipient, VERP sender */
    struct batch *open; /* batches being filled, linked by mnext */
    struct srcpt *rcpts;
};

struct sdest;

struct batch {
    struct smsg *m;
    struct sdest *sd;
    struct batch *next;  /* destination's ready FIFO */
    struct batch *mnext; /* message's open list */
    size_t n;
    struct srcpt **r;
    const char **addrs;
    const char **orcpts;
    uint8_t *notify;
    char *verp_sender; /* VERP envelope sender, or NULL */
    struct smtpc_txn txn;
};

struct sdest {
    struct dest *dest;
    struct batch *ready, **ready_tail;
    size_t nready;
    unsigned nconn, nconnecting;
    unsigned cap;    /* learned concurrency limit (0 = maxserverconnections) */
    unsigned okcount; /* sessions established since cap last changed */
    int failing;          /* a connect failed: no new connection until the others resolve */
    int64_t dead_until;   /* wall ms: no host would talk; defer without connecting until then */
    char *dead_why;       /* the reason given to recipients deferred meanwhile */
    struct sconn *idle; /* parked connections */
    int waiting; /* queued in s->wait for a connection slot */
    struct sdest *wnext;
};

struct sconn {
    struct sched *s;
    struct sdest *sd;
    struct smtpc *c;
    unsigned nmsgs;
    int took;
    int idle;   /* parked in sd->idle and s->idle, waiting for work (idlemax) */
    int expire; /* next() must end the session */
    struct event *idle_ev;
    struct sconn *prev, *next;   /* s->conns */
    struct sconn *dprev, *dnext; /* sd->idle */
    struct sconn *gprev, *gnext; /* s->idle */
};

struct sched {
    struct event_base *base;
    const struct conf *conf;
    struct queue *q;
    struct route *route;
    struct heap wait;
    struct dict *msgs; /* qid text -> smsg */
    struct event *due_ev, *poll_ev, *grace_ev;
    uint64_t active;
    unsigned nconn;
    struct sconn *conns;
    struct sconn *idle; /* every parked connection, oldest last */
    struct sdest *wait_head, **wait_tail;
    struct sched_logs logs;
    int stopping;
    int postponing; /* deferring for a dead destination: no attempt was made */
    int64_t postpone_until; /* ... and its recipients wait at least until this (wall ms) */
    void (*stopped)(void *arg);
    void *stopped_arg;
    struct sched_stats st;
};

static void sched_pump(struct sched *s);
static void sched_dispatch(struct sched *s, struct sdest *sd);
static void sched_stopped(struct sched *s);
static void sched_on_idle(evutil_socket_t fd, short what, void *arg);
static void sched_report(struct sched *s, struct smsg *m);

/* ---- messages ---------------------------------------------------------------------- */

/* Frees a message's memory (not its queue records); the caller unlinks it. */
static void sched_msg_destroy(struct smsg *m)
{
    for (uint32_t i = 0; i < m->nrcpt; i++) {
        free(m->rcpts[i].addr);
        free(m->rcpts[i].last_reply);
        free(m->rcpts[i].orcpt);
        free(m->rcpts[i].relay);
    }
    free(m->rcpts);
    free(m->sender);
    free(m->client_ip);
    free(m->helo);
    free(m->envid);
    free(m->msgid);
    free(m);
}

/* Unlinks and frees a message. */
static void sched_msg_free(struct sched *s, struct smsg *m)
{
    dict_remove(s->msgs, m->qid);
    sched_msg_destroy(m);
}

/* Once nothing of m is in flight, sends the reports it has pending; frees m once nothing
 * refers to it any more. */
static void sched_msg_release(struct sched *s, struct smsg *m)
{
    if (m->nbatches == 0 && m->routing == 0 && m->npending > 0 && !m->reporting)
        sched_report(s, m);
    if (m->unfinished == 0 && m->nbatches == 0 && !m->reporting && m->npending == 0)
        sched_msg_free(s, m);
}

/* True when the recipient asked for reports of kind bit (no NOTIFY: failures and delays). */
static int sched_wants(uint8_t notify, uint8_t bit)
{
    if (notify & NOTIFY_NEVER)
        return 0;
    if (notify == 0)
        return bit == NOTIFY_FAILURE || bit == NOTIFY_DELAY;
    return (notify & bit) != 0;
}

/* What becomes of a failure of r when m is itself a report (MSG_F_BOUNCE) or has the null
 * sender (docs/dsn.md "Double bounces"). Such a message is never reported to its (null)
 * sender, and reports carry NOTIFY=NEVER (RFC 3461 §6.2), which must not swallow the
 * failure: it owes one notice to deliver.double_bounce, or a logged drop when that is empty
 * or r is that address. The notice is itself a report to the double_bounce address, so its
 * own failure is dropped: there is never a loop. */
enum sched_failed_report { SCHED_NOT_A_REPORT, SCHED_DOUBLE_BOUNCE, SCHED_DOUBLE_DROP };
static enum sched_failed_report sched_failed_report(const struct sched *s, const struct smsg *m,
                                                    const struct srcpt *r)
{
    const char *dbl = s->conf->deliver.double_bounce;
    if (m->sender[0] && !(m->flags & MSG_F_BOUNCE))
        return SCHED_NOT_A_REPORT;
    if (!dbl[0] || strcasecmp(r->addr, dbl) == 0)
        return SCHED_DOUBLE_DROP;
    return SCHED_DOUBLE_BOUNCE;
}

/* True when a failure of r owes a report (or a logged drop): the sender asked for failure
 * reports, or m is a report (whatever its NOTIFY says, see sched_failed_report). */
static int sched_failure_owed(const struct sched *s, const struct smsg *m, const struct srcpt *r)
{
    return sched_wants(r->notify, NOTIFY_FAILURE) ||
           sched_failed_report(s, m, r) != SCHED_NOT_A_REPORT;
}

/* Marks a report of action a pending for r (a = enum dsn_action). */
static void sched_want_report(struct smsg *m, struct srcpt *r, enum dsn_action a)
{
    if (r->report == 0)
        m->npending++;
    r->report = (uint8_t)(a + 1);
}

/* A final recipient loaded from the queue: is a report still owed? */
static void sched_recovered_report(struct smsg *m, struct srcpt *r)
{
    if (r->flags & RCPT_F_REPORTED)
        return;
    if (r->state == RCPT_FAILED && sched_failure_owed(m->s, m, r))
        sched_want_report(m, r, DSN_FAILED);
    else if (r->state == RCPT_DELIVERED && sched_wants(r->notify, NOTIFY_SUCCESS))
        sched_want_report(m, r, DSN_RELAYED);
}

/* Copies a durable message into memory and schedules its unfinished recipients. */
void sched_add(struct sched *s, const struct qmsg *qm, int64_t not_before)
{
    char qid[QID_TEXT_LEN + 1];
    qid_to_text(qm->id, qid);
    if (dict_find(s->msgs, qid))
        return;
    struct smsg *m = xcalloc(1, sizeof *m);
    m->s = s;
    m->id = qm->id;
    memcpy(m->qid, qid, sizeof qid);
    m->arrival = qm->arrival;
    m->sender = xstrdup(qm->sender);
    m->client_ip = xstrdup(qm->client_ip);
    m->helo = xstrdup(qm->helo ? qm->helo : "");
    m->envid = xstrdup(qm->envid ? qm->envid : "");
    m->size = qm->size;
    m->flags = qm->flags;
    m->verp = !(qm->flags & MSG_F_BOUNCE) &&
              verp_wanted(s->conf->deliver.verp, s->conf->deliver.verp_domains,
                          s->conf->deliver.nverp_domains, qm->sender);
    m->nrcpt = qm->nrcpt;
    m->rcpts = xcalloc(qm->nrcpt, sizeof *m->rcpts);
    for (uint32_t i = 0; i < qm->nrcpt; i++) {
        const struct qrcpt *q = &qm->rcpts[i];
        struct srcpt *r = &m->rcpts[i];
        r->m = m;
        r->idx = i;
        r->addr = xstrdup(q->addr);
        r->last_reply = xstrdup(q->last_reply ? q->last_reply : "");
        r->orcpt = xstrdup(q->orcpt ? q->orcpt : "");
        r->relay = xstrdup("");
        r->attempts = q->attempts;
        r->state = q->state;
        r->notify = q->notify;
        r->flags = q->flags;
        m->delay_done |= (q->flags & RCPT_F_DELAY_REPORTED) != 0;
        r->hn.idx = HEAP_NONE;
        if (q->state == RCPT_DELIVERED || q->state == RCPT_FAILED) {
            r->where = S_FINAL;
            sched_recovered_report(m, r);
            continue;
        }
        r->where = S_WAIT;
        r->hn.key = q->next_attempt > not_before ? q->next_attempt : not_before;
        m->unfinished++;
        heap_push(&s->wait, &r->hn);
    }
    if (m->unfinished == 0 && m->npending == 0) {
        queue_delete(s->q, m->id, m->nrcpt);
        sched_msg_destroy(m);
        return;
    }
    dict_put(s->msgs, qid, m);
    s->st.messages++;
    if (m->unfinished == 0)
        sched_msg_release(s, m); /* only reports left to send */
    else
        sched_pump(s);
}

/* ---- outcomes ---------------------------------------------------------------------- */

/* One Postfix-style log line per recipient per attempt (and one event-log object). */
static void sched_log(struct sched *s, const struct srcpt *r, const char *relay, const char *status,
                      enum outcome o, const char *reply)
{
    char dsn[STATUS_MAX], to[LOG_SANITIZED_SIZE(ADDR_MAX)], rl[1024], rp[2048]; /* peer text: escaped */
    int64_t now = clock_wall_ms();
    double delay = (double)(now - r->m->arrival) / 1000.0;
    status_of(reply, o, dsn); /* the reply's code, or the one our reason starts with */
    log_info("%s: to=<%s>, relay=%s, delay=%.2f, dsn=%s, status=%s (%s)", r->m->qid,
             log_sanitize(to, sizeof to, r->addr, strlen(r->addr)),
             log_sanitize(rl, sizeof rl, relay, strlen(relay)), delay < 0 ? 0.0 : delay, dsn,
             status, log_sanitize(rp, sizeof rp, reply, strlen(reply)));
    event_attempt(s->logs.events, now, r->m->qid, r->addr, status, dsn, relay, reply, r->attempts,
                  now - r->m->arrival);
}

/* Writes one recipient record (state, attempts, next attempt, reply, DSN fields). */
static void sched_write_rcpt(struct sched *s, struct srcpt *r, int64_t next)
{
    struct qrcpt q = {.addr = r->addr, .state = r->state, .attempts = r->attempts,
                      .next_attempt = next, .last_reply = r->last_reply, .notify = r->notify,
                      .flags = r->flags, .orcpt = r->orcpt};
    queue_set_rcpt(s->q, r->m->id, r->idx, &q);
}

/* Writes a recipient's state to the queue, or deletes the message once every recipient is
 * final and nothing is left to report. */
static void sched_persist(struct sched *s, struct srcpt *r, int64_t next)
{
    struct smsg *m = r->m;
    if (m->unfinished == 0 && m->npending == 0 && !m->reporting) {
        queue_delete(s->q, m->id, m->nrcpt);
        return;
    }
    sched_write_rcpt(s, r, next);
}

/* Decides which report (if any) an outcome owes the sender: failures, delays past
 * delay_warning (once per message), successes when the next hop could not take the DSN
 * request on (passed_on = it did). */
static void sched_note_report(struct sched *s, struct srcpt *r, enum outcome o, int passed_on,
                              int64_t now)
{
    struct smsg *m = r->m;
    if (o == OUTCOME_PERMFAIL) {
        if (sched_failure_owed(s, m, r))
            sched_want_report(m, r, DSN_FAILED);
        else
            r->flags |= RCPT_F_REPORTED;
    } else if (o == OUTCOME_OK) {
        if (sched_wants(r->notify, NOTIFY_SUCCESS) && !passed_on)
            sched_want_report(m, r, DSN_RELAYED);
        else if (sched_wants(r->notify, NOTIFY_SUCCESS))
            r->flags |= RCPT_F_REPORTED;
        if (r->report == DSN_DELAYED + 1) { /* the delay notice is moot now */
            r->report = 0;
            m->npending--;
        }
    } else if (s->conf->deliver.delay_warning && !m->delay_done &&
               !(r->flags & RCPT_F_DELAY_REPORTED) && sched_wants(r->notify, NOTIFY_DELAY) &&
               now - m->arrival >= (int64_t)s->conf->deliver.delay_warning) {
        sched_want_report(m, r, DSN_DELAYED);
    }
}

/* A delivered recipient: the audit record (seed 000 §4.5.2). */
static void sched_audit(struct sched *s, const struct srcpt *r, const char *relay,
                        const char *reply, int64_t now)
{
    if (!s->logs.audit)
        return;
    struct audit_delivery d = {.when = now, .qid = r->m->qid, .sender = r->m->sender,
                               .rcpt = r->addr, .client_ip = r->m->client_ip, .relay = relay,
                               .message_id = r->m->msgid, .reply = reply};
    audit_delivery(s->logs.audit, &d);
}

/* Applies one attempt's outcome to an active recipient: the one policy of sched.h.
 * passed_on: the next hop announced DSN and took the recipient's DSN request. */
static void sched_outcome(struct sched *s, struct srcpt *r, enum outcome o, const char *reply,
                          const char *relay, int passed_on)
{
    struct smsg *m = r->m;
    int64_t now = clock_wall_ms(), next = 0;
    /* A recipient already deferred on disk and now only postponed because its destination
     * is known dead: no attempt was made, so its attempt count, its last reply and relay
     * and its record stay as they are (no write per postponement while a large queue waits
     * for a dead host). */
    int postponed = s->postponing && o == OUTCOME_TEMPFAIL && r->attempts > 0 &&
                    !retry_expired(m->arrival, s->conf->deliver.expiry, now);
    if (!postponed) {
        free(r->last_reply);
        r->last_reply = xstrdup(reply);
        free(r->relay);
        r->relay = xstrdup(relay);
    }
    if (r->where == S_ACTIVE)
        s->active--;
    if (!postponed)
        r->last_attempt = now;
    if (o == OUTCOME_TEMPFAIL && postponed) {
        /* attempts unchanged */
    } else if (o == OUTCOME_TEMPFAIL) {
        r->attempts++;
        if (retry_expired(m->arrival, s->conf->deliver.expiry, now)) {
            char why[SCHED_WHY_MAX];
            /* RFC 3463 X.4.7 "delivery time expired"; the last reply keeps its own code */
            snprintf(why, sizeof why, "%s message expired, last reply: %s",
                     status_code(STATUS_EXPIRED, OUTCOME_PERMFAIL), reply);
            free(r->last_reply);
            r->last_reply = xstrdup(why);
            o = OUTCOME_PERMFAIL;
            event_expiry(s->logs.events, now, m->qid, r->addr, r->attempts, now - m->arrival);
        }
    } else {
        r->attempts++;
    }
    if (o == OUTCOME_TEMPFAIL) {
        /* Postponements walk the retry list on in memory, as attempts would. */
        r->postponed = postponed ? r->postponed + 1 : 0;
        next = retry_next(s->conf->deliver.retries, s->conf->deliver.nretries,
                          s->conf->deliver.interval, s->conf->deliver.skew,
                          r->attempts + r->postponed, now, (uint32_t)random());
        r->state = RCPT_DEFERRED;
        r->where = S_WAIT;
        if (postponed && next < r->m->s->postpone_until)
            next = r->m->s->postpone_until; /* not before the dead destination is retried */
        r->hn.key = next;
        heap_push(&s->wait, &r->hn);
        s->st.deferred += !postponed;
        if (postponed) { /* not an attempt: its last real attempt was logged already */
            char to[LOG_SANITIZED_SIZE(ADDR_MAX)], rp[2048];
            log_debug("%s: to=<%s>, postponed: %s", m->qid,
                      log_sanitize(to, sizeof to, r->addr, strlen(r->addr)),
                      log_sanitize(rp, sizeof rp, reply, strlen(reply)));
        } else {
            sched_log(s, r, relay, "deferred", o, r->last_reply);
        }
    } else {
        r->state = o == OUTCOME_OK ? RCPT_DELIVERED : RCPT_FAILED;
        r->where = S_FINAL;
        m->unfinished--;
        if (o == OUTCOME_OK) {
            s->st.delivered++;
            sched_audit(s, r, relay, r->last_reply, now);
        } else {
            s->st.bounced++;
        }
        sched_log(s, r, relay, o == OUTCOME_OK ? "sent" : "bounced", o, r->last_reply);
    }
    sched_note_report(s, r, o, passed_on, now);
    if (!postponed)
        sched_persist(s, r, next);
    sched_msg_release(s, m);
}

/* ---- delivery reports (bounces, delay notices, success notices) --------------------- */

/* A report being stored: which recipients of m it covers and with what action. */
struct sreport {
    struct sched *s;
    struct smsg *m;
    struct bounce b;
    uint32_t n;
    uint32_t *idx;
    uint8_t *kind; /* enum dsn_action */
};

/* The report is durable (err 0): mark its recipients reported, schedule it, and delete the
 * original when nothing is left to do. On error the recipients stay unreported on disk and
 * the next recovery tries again. */
static void sched_on_reported(void *arg, int err)
{
    struct sreport *rp = arg;
    struct sched *s = rp->s;
    struct smsg *m = rp->m;
    m->reporting = 0;
    if (err) {
        log_warn("%s: cannot queue a delivery report: %s (retried at the next start)", m->qid,
                 strerror(err));
    } else {
        const char *kind = dsn_action_name((enum dsn_action)rp->kind[0]);
        log_info("%s: sender delivery status notification (%s): %s", m->qid, kind, rp->b.qid);
        event_bounce(s->logs.events, clock_wall_ms(), m->qid, rp->b.qid, kind, rp->b.r.addr, rp->n);
        for (uint32_t i = 0; i < rp->n; i++)
            m->rcpts[rp->idx[i]].flags |= rp->kind[i] == DSN_DELAYED ? RCPT_F_DELAY_REPORTED
                                                                     : RCPT_F_REPORTED;
        for (uint32_t i = 0; i < rp->n && (m->unfinished > 0 || m->npending > 0); i++) {
            struct srcpt *r = &m->rcpts[rp->idx[i]];
            sched_write_rcpt(s, r, r->where == S_WAIT ? r->hn.key : 0);
        }
        if (m->unfinished == 0 && m->npending == 0)
            queue_delete(s->q, m->id, m->nrcpt);
        sched_add(s, &rp->b.m, 0);
    }
    bounce_clear(&rp->b);
    free(rp->idx);
    free(rp->kind);
    free(rp);
    sched_msg_release(s, m);
}

/* True when a pending report of r cannot go anywhere: the message is itself a report or has
 * the null sender (only failures go on, to double_bounce: sched_failed_report). */
static int sched_report_dropped(struct sched *s, const struct smsg *m, const struct srcpt *r,
                                enum dsn_action a)
{
    enum sched_failed_report f = sched_failed_report(s, m, r);
    return f != SCHED_NOT_A_REPORT && (a != DSN_FAILED || f == SCHED_DOUBLE_DROP);
}

/* Settles a report that is not sent (logged for failures: a double bounce dropped). */
static void sched_report_drop(struct sched *s, struct srcpt *r, enum dsn_action a)
{
    if (a == DSN_FAILED) {
        char to[LOG_SANITIZED_SIZE(ADDR_MAX)];
        log_info("%s: to=<%s>: undeliverable report dropped (double bounce)", r->m->qid,
                 log_sanitize(to, sizeof to, r->addr, strlen(r->addr)));
        event_drop(s->logs.events, clock_wall_ms(), r->m->qid, r->addr, "double bounce");
    }
    r->flags |= a == DSN_DELAYED ? RCPT_F_DELAY_REPORTED : RCPT_F_REPORTED;
    if (r->m->unfinished > 0)
        sched_write_rcpt(s, r, r->where == S_WAIT ? r->hn.key : 0);
}

/* Fills the DSN entry of a recipient (strings point into r or into the scratch buffers). */
static void sched_report_rcpt(struct sched *s, const struct srcpt *r, enum dsn_action a,
                              struct dsn_rcpt *d, char *mta, char *status)
{
    bounce_remote_mta(r->relay, mta, 256);
    /* A delay notice carries the last attempt's code, as Postfix does: the message is late,
     * not expired (4.4.7 is for expiry). */
    enum outcome o = a == DSN_FAILED ? OUTCOME_PERMFAIL
                     : a == DSN_DELAYED ? OUTCOME_TEMPFAIL : OUTCOME_OK;
    status_of(r->last_reply, o, status);
    *d = (struct dsn_rcpt){.addr = r->addr, .orcpt = r->orcpt, .action = a, .status = status,
                           .remote_mta = mta, .diag = r->last_reply,
                           .last_attempt = r->last_attempt,
                           .retry_until = a == DSN_DELAYED
                                              ? r->m->arrival + (int64_t)s->conf->deliver.expiry
                                              : 0};
}

/* Stores one report covering every pending recipient of m (a "batch of failures"). */
static void sched_report_send(struct sched *s, struct smsg *m, struct sreport *rp,
                              struct dsn_rcpt *dr)
{
    struct evbuffer *body = evbuffer_new();
    int have = queue_body(s->q, m->id, body) == 0;
    size_t blen = evbuffer_get_length(body);
    const char *to = m->sender[0] && !(m->flags & MSG_F_BOUNCE) ? m->sender
                                                                : s->conf->deliver.double_bounce;
    struct dsn_report rep = {
        .reporting_mta = s->conf->hostname, .orig_qid = m->qid, .envid = m->envid,
        .received_from = m->helo, .arrival = m->arrival, .nrcpt = rp->n, .rcpts = dr,
        .msg = have ? (const char *)evbuffer_pullup(body, (ssize_t)blen) : NULL,
        .msglen = have ? blen : 0,
        .ret = bounce_ret(m->flags, m->size, s->conf->deliver.bounce_size_limit),
        .utf8 = (m->flags & MSG_F_SMTPUTF8) != 0};
    size_t len;
    char *text = bounce_build(&rp->b, &rep, to, clock_wall_ms(), &len);
    evbuffer_free(body);
    m->reporting = 1;
    queue_put(s->q, &rp->b.m, text, len, sched_on_reported, rp);
}

/* Sends (or drops) every report m has pending; called once nothing of m is in flight. */
static void sched_report(struct sched *s, struct smsg *m)
{
    struct sreport *rp = xcalloc(1, sizeof *rp);
    struct dsn_rcpt *dr = xcalloc(m->npending, sizeof *dr);
    char *mta = xcalloc(m->npending, 256), *status = xcalloc(m->npending, 32);
    rp->s = s;
    rp->m = m;
    rp->idx = xcalloc(m->npending, sizeof *rp->idx);
    rp->kind = xcalloc(m->npending, 1);
    for (uint32_t i = 0; i < m->nrcpt && m->npending > 0; i++) {
        struct srcpt *r = &m->rcpts[i];
        if (!r->report)
            continue;
        enum dsn_action a = (enum dsn_action)(r->report - 1);
        r->report = 0;
        m->npending--;
        if (sched_report_dropped(s, m, r, a)) {
            sched_report_drop(s, r, a);
            continue;
        }
        sched_report_rcpt(s, r, a, &dr[rp->n], mta + 256 * rp->n, status + 32 * rp->n);
        m->delay_done |= a == DSN_DELAYED;
        rp->idx[rp->n] = i;
        rp->kind[rp->n++] = (uint8_t)a;
    }
    if (rp->n > 0) {
        sched_report_send(s, m, rp, dr);
    } else {
        if (m->unfinished == 0)
            queue_delete(s->q, m->id, m->nrcpt);
        free(rp->idx);
        free(rp->kind);
        free(rp);
    }
    free(dr);
    free(mta);
    free(status);
}

/* ---- batches ----------------------------------------------------------------------- */

/* A new empty batch of m for sd, on m's open list. */
static struct batch *sched_batch_new(struct sched *s, struct smsg *m, struct sdest *sd)
{
    struct batch *b = xcalloc(1, sizeof *b);
    b->m = m;
    b->sd = sd;
    b->r = xcalloc(s->conf->deliver.maxrecips, sizeof *b->r);
    b->addrs = xcalloc(s->conf->deliver.maxrecips, sizeof *b->addrs);
    b->orcpts = xcalloc(s->conf->deliver.maxrecips, sizeof *b->orcpts);
    b->notify = xcalloc(s->conf->deliver.maxrecips, sizeof *b->notify);
    b->mnext = m->open;
    m->open = b;
    m->nbatches++;
    return b;
}

/* Frees a batch's memory only (sched_free: messages go away with it). */
static void sched_batch_destroy(struct batch *b)
{
    if (b->txn.body)
        evbuffer_free(b->txn.body);
    free(b->r);
    free(b->addrs);
    free(b->orcpts);
    free(b->notify);
    free(b->verp_sender);
    free(b);
}

/* Frees a batch and drops its reference on the message. */
static void sched_batch_free(struct sched *s, struct batch *b)
{
    struct smsg *m = b->m;
    sched_batch_destroy(b);
    m->nbatches--;
    sched_msg_release(s, m);
}

/* Reports the same outcome for every recipient of a batch, then frees it. */
static void sched_batch_fail(struct sched *s, struct batch *b, enum outcome o, const char *why)
{
    for (size_t i = 0; i < b->n; i++)
        sched_outcome(s, b->r[i], o, why, "none", 0);
    sched_batch_free(s, b);
}

/* The per-destination state of d, created on first use. */
static struct sdest *sched_sdest(struct dest *d)
{
    struct sdest *sd = d->sched;
    if (!sd) {
        sd = xcalloc(1, sizeof *sd);
        sd->dest = d;
        sd->ready_tail = &sd->ready;
        d->sched = sd;
    }
    return sd;
}

/* Moves every open batch of m to its destination's ready queue and dispatches. */
static void sched_release(struct sched *s, struct smsg *m)
{
    struct batch *b = m->open;
    m->open = NULL;
    while (b) {
        struct batch *next = b->mnext;
        struct sdest *sd = b->sd;
        b->mnext = NULL;
        b->next = NULL;
        *sd->ready_tail = b;
        sd->ready_tail = &b->next;
        sd->nready++;
        sched_dispatch(s, sd);
        b = next;
    }
}

/* VERP: a batch of one recipient gets the sender local+rcpt=domain@domain (when encodable). */
static void sched_batch_verp(struct sched *s, struct batch *b, const struct srcpt *r)
{
    char v[VERP_ADDR_MAX + 1];
    if (b->m->verp &&
        verp_encode(b->m->sender, r->addr, s->conf->deliver.verp_delimiters, v, sizeof v) == 0)
        b->verp_sender = xstrdup(v);
}

/* Route answer for an active recipient: add it to its message's batch for the destination;
 * once the message has no recipient left in routing, its batches become ready. */
static void sched_on_route(void *arg, struct dest *d, enum outcome o, const char *why)
{
    struct srcpt *r = arg;
    struct smsg *m = r->m;
    struct sched *s = m->s;
    m->routing--;
    m->nbatches++; /* hold m while we work on it */
    if (o != OUTCOME_OK) {
        sched_outcome(s, r, o, why, "none", 0);
    } else {
        struct sdest *sd = sched_sdest(d);
        struct batch *b = m->verp ? NULL : m->open;
        while (b && (b->sd != sd || b->n >= s->conf->deliver.maxrecips))
            b = b->mnext;
        if (!b) {
            b = sched_batch_new(s, m, sd);
            sched_batch_verp(s, b, r);
        }
        b->r[b->n] = r;
        b->orcpts[b->n] = r->orcpt;
        b->notify[b->n] = r->notify;
        b->addrs[b->n++] = r->addr;
    }
    if (m->routing == 0)
        sched_release(s, m);
    m->nbatches--;
    sched_msg_release(s, m);
    sched_pump(s); /* a routing failure freed a slot and may have queued a retry */
}

/* ---- the waiting heap and the active window ---------------------------------------- */

/* Moves due recipients into the active window (up to queuecache) and arms the timer. */
static void sched_pump(struct sched *s)
{
    int64_t now = clock_wall_ms();
    struct heap_node *top;
    if (s->stopping)
        return;
    while (s->active < s->conf->deliver.queuecache && (top = heap_top(&s->wait)) && top->key <= now) {
        heap_pop(&s->wait);
        struct srcpt *r = (struct srcpt *)top;
        r->where = S_ACTIVE;
        s->active++;
        r->m->routing++;
        route_lookup(s->route, r->m->sender, r->m->client_ip, r->addr, sched_on_route, r);
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

/* ---- connections ------------------------------------------------------------------- */

/* A session was established: after `cap` successes, allow one more connection again. */
static void sched_dest_ok(struct sched *s, struct sdest *sd)
{
    sd->failing = 0;
    if (sd->cap && ++sd->okcount >= sd->cap) {
        sd->okcount = 0;
        if (++sd->cap >= s->conf->deliver.maxserverconnections)
            sd->cap = 0;
    }
}

/* Parks an established connection with nothing to send for up to idlemax. */
static void sched_park(struct sched *s, struct sconn *cn)
{
    struct sdest *sd = cn->sd;
    cn->idle = 1;
    cn->dprev = NULL;
    cn->dnext = sd->idle;
    if (sd->idle)
        sd->idle->dprev = cn;
    sd->idle = cn;
    cn->gprev = NULL;
    cn->gnext = s->idle;
    if (s->idle)
        s->idle->gprev = cn;
    s->idle = cn;
    if (!cn->idle_ev)
        cn->idle_ev = evtimer_new(s->base, sched_on_idle, cn);
    uint64_t ms = s->conf->deliver.idlemax;
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
    evtimer_add(cn->idle_ev, &tv);
}

/* Takes a connection out of the idle lists. */
static void sched_unpark(struct sched *s, struct sconn *cn)
{
    if (!cn->idle)
        return;
    cn->idle = 0;
    if (cn->dprev)
        cn->dprev->dnext = cn->dnext;
    else
        cn->sd->idle = cn->dnext;
    if (cn->dnext)
        cn->dnext->dprev = cn->dprev;
    if (cn->gprev)
        cn->gprev->gnext = cn->gnext;
    else
        s->idle = cn->gnext;
    if (cn->gnext)
        cn->gnext->gprev = cn->gprev;
    evtimer_del(cn->idle_ev);
}

/* Wakes a parked connection: it takes ready work, or ends when expire is set. */
static void sched_wake(struct sched *s, struct sconn *cn, int expire)
{
    sched_unpark(s, cn);
    cn->expire = expire;
    smtpc_resume(cn->c);
}

/* idlemax passed without work: end the session. */
static void sched_on_idle(evutil_socket_t fd, short what, void *arg)
{
    struct sconn *cn = arg;
    (void)fd;
    (void)what;
    sched_wake(cn->s, cn, 1);
}

/* Remembers the Message-ID header of m's content (for the audit log); "" when none. */
static void sched_msgid(struct smsg *m, struct evbuffer *body)
{
    size_t len = evbuffer_get_length(body), off = 0, n;
    if (len > SCHED_HDR_SCAN)
        len = SCHED_HDR_SCAN;
    const char *p = (const char *)evbuffer_pullup(body, (ssize_t)len);
    struct hdr_field f;
    char *val = xmalloc(HDR_FIELD_MAX + 1);
    m->msgid = xstrdup("");
    while (p && (n = hdr_next(p, len, off, &f)) > 0) {
        off += n;
        if (f.namelen != 10 || strncasecmp(f.name, "Message-ID", 10) != 0)
            continue;
        hdr_value(&f, val, HDR_FIELD_MAX + 1);
        char *v = val + strspn(val, " \t");
        size_t vl = strcspn(v, " \t");
        if (vl > SCHED_MSGID_MAX)
            vl = SCHED_MSGID_MAX;
        free(m->msgid);
        m->msgid = xstrndup(v, vl);
        break;
    }
    free(val);
}

/* smtpc asks for the next transaction of this connection. */
static struct smtpc_txn *sched_on_next(void *arg, struct smtpc *c)
{
    struct sconn *cn = arg;
    struct sched *s = cn->s;
    struct sdest *sd = cn->sd;
    (void)c;
    if (!cn->took) {
        cn->took = 1;
        sd->nconnecting--;
        sched_dest_ok(s, sd);
    }
    while (!s->stopping && cn->nmsgs < s->conf->deliver.maxmessages && sd->ready) {
        struct batch *b = sd->ready;
        sd->ready = b->next;
        if (!sd->ready)
            sd->ready_tail = &sd->ready;
        sd->nready--;
        b->txn.body = evbuffer_new();
        if (queue_body(s->q, b->m->id, b->txn.body) < 0) {
            log_warn("%s: cannot read message content from the queue", b->m->qid);
            sched_batch_fail(s, b, OUTCOME_TEMPFAIL, "4.3.0 queue read error");
            sched_pump(s);
            continue;
        }
        if (!b->m->msgid)
            sched_msgid(b->m, b->txn.body);
        b->txn.msgid = b->m->id;
        b->txn.sender = b->verp_sender ? b->verp_sender : b->m->sender;
        b->txn.nrcpt = b->n;
        b->txn.rcpts = b->addrs;
        b->txn.orcpts = b->orcpts;
        b->txn.notify = b->notify;
        b->txn.envid = b->m->envid;
        b->txn.ret = b->m->flags & (MSG_F_RET_FULL | MSG_F_RET_HDRS);
        b->txn.size = evbuffer_get_length(b->txn.body);
        b->txn.owner = b;
        cn->nmsgs++;
        s->st.transactions++;
        return &b->txn;
    }
    if (s->stopping || cn->expire || cn->nmsgs >= s->conf->deliver.maxmessages ||
        s->conf->deliver.idlemax == 0 || s->wait_head)
        return NULL;
    sched_park(s, cn);
    return SMTPC_TXN_WAIT;
}

/* smtpc reports one recipient's outcome. */
static void sched_on_rcpt(void *arg, struct smtpc_txn *t, size_t i, enum outcome o,
                          const char *reply, const char *relay)
{
    struct sconn *cn = arg;
    struct batch *b = t->owner;
    sched_outcome(cn->s, b->r[i], o, reply, relay, t->dsn);
}

/* smtpc is done with a transaction. */
static void sched_on_txn(void *arg, struct smtpc_txn *t)
{
    struct sconn *cn = arg;
    sched_batch_free(cn->s, t->owner);
    sched_pump(cn->s);
}

/* Defers (or fails) every ready batch of a destination none of whose hosts would talk. */
static void sched_dest_fail(struct sched *s, struct sdest *sd, enum outcome o, const char *why)
{
    while (sd->ready) {
        struct batch *b = sd->ready;
        sd->ready = b->next;
        sd->nready--;
        sched_batch_fail(s, b, o, why);
    }
    sd->ready_tail = &sd->ready;
}

/* Marks a destination none of whose hosts would talk as dead for the first retry step
 * (Postfix's dead-destination cache): mail released for it meanwhile is deferred at once
 * instead of costing one refused connect each; the retries that follow try it again. */
static void sched_dest_dead(struct sched *s, struct sdest *sd, const char *why)
{
    sd->dead_until = clock_wall_ms() + (int64_t)(s->conf->deliver.retries[0] *
                                                 s->conf->deliver.interval);
    free(sd->dead_why);
    sd->dead_why = xstrdup(why);
    sd->cap = 0; /* every connect failed: that says nothing about its concurrency */
    sd->okcount = 0;
}

/* Gives free connection slots to destinations waiting for one, in FIFO order. */
static void sched_serve_waiting(struct sched *s)
{
    while (s->wait_head && s->nconn < s->conf->deliver.maxconnections) {
        struct sdest *sd = s->wait_head;
        s->wait_head = sd->wnext;
        if (!s->wait_head)
            s->wait_tail = &s->wait_head;
        sd->waiting = 0;
        sd->wnext = NULL;
        sched_dispatch(s, sd);
    }
}

/* The connection ended. */
/* Logs a newly learned concurrency cap (why is peer text: sanitized). */
static void sched_log_cap(const struct sdest *sd, const char *why)
{
    char w[2048];
    log_info("%s: concurrency limited to %u: %s", sd->dest->key, sd->cap,
             log_sanitize(w, sizeof w, why, strlen(why)));
}

static void sched_on_closed(void *arg, struct smtpc *c, enum outcome o, const char *why)
{
    struct sconn *cn = arg;
    struct sched *s = cn->s;
    struct sdest *sd = cn->sd;
    (void)c;
    sched_unpark(s, cn);
    if (cn->idle_ev)
        event_free(cn->idle_ev);
    sd->nconn--;
    s->nconn--;
    if (cn->prev)
        cn->prev->next = cn->next;
    else
        s->conns = cn->next;
    if (cn->next)
        cn->next->prev = cn->prev;
    if (!cn->took) {
        sd->nconnecting--;
        unsigned insession = sd->nconn - sd->nconnecting;
        if (o != OUTCOME_OK && insession > 0) {
            /* Others are in session: the destination limits us. Stay at what works, even
             * while siblings are still connecting (they would be refused too). */
            sd->failing = 0;
            if (!sd->cap || insession < sd->cap) {
                sd->cap = insession;
                sched_log_cap(sd, why);
            }
            sd->okcount = 0;
        } else if (o != OUTCOME_OK && sd->nconnecting > 0) {
            /* Siblings are still connecting: open nothing new for sd until they resolve, so
             * a refusing destination can never be hammered (even via freed global slots),
             * and cap it at the siblings (the remote may still count sessions that ended on
             * our side). If they all fail, the destination goes dead and the cap is reset. */
            sd->failing = 1;
            if (!sd->cap || sd->nconn < sd->cap) {
                sd->cap = sd->nconn;
                sched_log_cap(sd, why);
            }
            sd->okcount = 0;
        } else if (o != OUTCOME_OK && !s->stopping) {
            sd->failing = 0;
            sched_dest_fail(s, sd, o, why);
            if (o == OUTCOME_TEMPFAIL) /* a 5xx refusal bounces; only a 4xx/connect failure
                                          makes the destination dead for a while */
                sched_dest_dead(s, sd, why);
        }
    }
    /* A connection that never reached a session is not replaced while its siblings are
     * still trying: that would hammer a dead destination with connects. */
    int redispatch = cn->took || o == OUTCOME_OK;
    free(cn);
    if (s->stopping) {
        if (s->nconn == 0)
            sched_stopped(s);
        return;
    }
    if (redispatch)
        sched_dispatch(s, sd);
    sched_serve_waiting(s);
    sched_pump(s);
}

static const struct smtpc_ops sched_smtpc_ops = {
    .next = sched_on_next,
    .rcpt_done = sched_on_rcpt,
    .txn_done = sched_on_txn,
    .closed = sched_on_closed,
};

/* Opens connections for a destination while it has unclaimed ready batches and limits allow. */
static void sched_dispatch(struct sched *s, struct sdest *sd)
{
    unsigned limit = sd->cap ? sd->cap : s->conf->deliver.maxserverconnections;
    if (sd->dead_until && sd->nready && !s->stopping) {
        if (clock_wall_ms() < sd->dead_until && sd->nconn == 0) {
            s->postponing = 1;
            s->postpone_until = sd->dead_until;
            sched_dest_fail(s, sd, OUTCOME_TEMPFAIL, sd->dead_why);
            s->postponing = 0;
            return;
        }
        sd->dead_until = 0;
    }
    while (sd->nready && sd->idle && !s->stopping)
        sched_wake(s, sd->idle, 0);
    if (sd->failing)
        return;
    while (!s->stopping && sd->nready > sd->nconnecting && sd->nconn < limit) {
        if (s->nconn >= s->conf->deliver.maxconnections && s->idle && !sd->waiting) {
            /* Free a slot: close the connection idle the longest (end of the list). */
            struct sconn *old = s->idle;
            while (old->gnext)
                old = old->gnext;
            sched_wake(s, old, 1);
        }
        if (s->nconn >= s->conf->deliver.maxconnections) {
            if (!sd->waiting) {
                sd->waiting = 1;
                *s->wait_tail = sd;
                s->wait_tail = &sd->wnext;
            }
            return;
        }
        struct smtpc_peer peers[SCHED_PEERS_MAX];
        size_t np = route_peers(sd->dest, peers, SCHED_PEERS_MAX);
        if (np == 0) {
            sched_dest_fail(s, sd, OUTCOME_TEMPFAIL, "4.4.4 no address for any host of the destination");
            return;
        }
        struct sconn *cn = xcalloc(1, sizeof *cn);
        cn->s = s;
        cn->sd = sd;
        sd->nconn++;
        sd->nconnecting++;
        s->nconn++;
        s->st.connections++;
        cn->next = s->conns;
        if (s->conns)
            s->conns->prev = cn;
        s->conns = cn;
        cn->c = smtpc_start(s->base, s->conf, peers, np, &sched_smtpc_ops, cn);
        if (s->logs.transcript)
            smtpc_set_transcript(cn->c, s->logs.transcript, &s->conf->deliver.transcript);
    }
}

/* ---- life cycle -------------------------------------------------------------------- */

/* Sets the log files (any may be NULL). */
void sched_set_logs(struct sched *s, const struct sched_logs *l)
{
    s->logs = *l;
}

/* Creates the scheduler (nothing scheduled yet). */
struct sched *sched_create(struct event_base *base, const struct conf *c, struct queue *q,
                           struct route *r)
{
    struct sched *s = xcalloc(1, sizeof *s);
    s->base = base;
    s->conf = c;
    s->q = q;
    s->route = r;
    heap_init(&s->wait);
    s->msgs = dict_create();
    s->wait_tail = &s->wait_head;
    s->due_ev = evtimer_new(base, sched_on_due, s);
    return s;
}

/* dict_free callback: frees a message, its open batches and its recipients. */
static void sched_on_free_msg(void *p)
{
    struct smsg *m = p;
    while (m->open) {
        struct batch *b = m->open;
        m->open = b->mnext;
        sched_batch_destroy(b);
    }
    sched_msg_destroy(m);
}

/* Frees one destination's scheduler state and the batches still waiting in it. */
static void sched_on_free_dest(void *arg, struct dest *d)
{
    struct sdest *sd = d->sched;
    (void)arg;
    while (sd && sd->ready) {
        struct batch *b = sd->ready;
        sd->ready = b->next;
        sched_batch_destroy(b);
    }
    if (sd)
        free(sd->dead_why);
    free(d->sched);
    d->sched = NULL;
}

/* Frees everything (after shutdown: no connection left). */
void sched_free(struct sched *s)
{
    if (!s)
        return;
    route_foreach_dest(s->route, sched_on_free_dest, NULL);
    event_free(s->due_ev);
    if (s->poll_ev)
        event_free(s->poll_ev);
    if (s->grace_ev)
        event_free(s->grace_ev);
    heap_clear(&s->wait);
    dict_free(s->msgs, sched_on_free_msg);
    free(s);
}

struct sched_scan {
    struct sched *s;
    int64_t not_before;
    long loaded;
    uint64_t removed;
};

/* Recovery: schedule a message, or remove it when nothing is left to do. */
static int sched_on_recover(void *arg, const struct qmsg *m)
{
    struct sched_scan *sc = arg;
    uint32_t open = 0;
    for (uint32_t i = 0; i < m->nrcpt; i++) {
        const struct qrcpt *r = &m->rcpts[i];
        open += r->state == RCPT_PENDING || r->state == RCPT_DEFERRED;
        /* a final recipient that still owes its sender a report keeps the message */
        open += !(r->flags & RCPT_F_REPORTED) &&
                ((r->state == RCPT_FAILED && sched_wants(r->notify, NOTIFY_FAILURE)) ||
                 (r->state == RCPT_DELIVERED && sched_wants(r->notify, NOTIFY_SUCCESS)));
    }
    if (open == 0) {
        queue_delete(sc->s->q, m->id, m->nrcpt);
        sc->removed++;
        return 0;
    }
    sched_add(sc->s, m, sc->not_before);
    sc->loaded++;
    return 0;
}

/* Loads the queue at start. */
long sched_recover(struct sched *s)
{
    struct sched_scan sc = {s, clock_wall_ms() + (int64_t)s->conf->deliver.delay_start, 0, 0};
    int64_t t0 = clock_mono_ms();
    if (queue_scan(s->q, sched_on_recover, &sc) < 0)
        return -1;
    log_info("recovery: %ld messages scheduled, %" PRIu64 " finished messages removed, %" PRId64 " ms",
             sc.loaded, sc.removed, clock_mono_ms() - t0);
    return sc.loaded;
}

/* Incoming callback: a message written by another process. */
static int sched_on_incoming(void *arg, const struct qmsg *m)
{
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
    uint64_t ms = n < 0 ? s->conf->deliver.interval_error
                : n > 0 ? s->conf->deliver.interval_low : s->conf->deliver.interval_high;
    if (n < 0)
        log_warn("queue: cannot read incoming messages; retrying in %" PRIu64 " ms", ms);
    if (!s->poll_ev)
        s->poll_ev = evtimer_new(s->base, sched_on_poll, s);
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
    event_add(s->poll_ev, &tv);
}

/* Grace period over: abandon the connections still open (their recipients are deferred). */
static void sched_on_grace(evutil_socket_t fd, short what, void *arg)
{
    struct sched *s = arg;
    (void)fd;
    (void)what;
    log_warn("shutdown: abandoning %u connections after the grace period", s->nconn);
    while (s->conns)
        smtpc_abort(s->conns->c); /* calls sched_on_closed, which unlinks it */
}

/* Every connection is gone: report once. */
static void sched_stopped(struct sched *s)
{
    void (*done)(void *) = s->stopped;
    s->stopped = NULL;
    if (s->grace_ev)
        event_del(s->grace_ev);
    if (done)
        done(s->stopped_arg);
}

/* Stops dispatching; connections finish their transaction (next() returns NULL). */
void sched_shutdown(struct sched *s, int64_t grace_ms, void (*done)(void *arg), void *arg)
{
    s->stopping = 1;
    s->stopped = done;
    s->stopped_arg = arg;
    event_del(s->due_ev);
    if (s->poll_ev)
        event_del(s->poll_ev);
    while (s->idle)
        sched_wake(s, s->idle, 1);
    if (s->nconn == 0) {
        sched_stopped(s);
        return;
    }
    log_info("shutdown: waiting up to %lld ms for %u connections", (long long)grace_ms, s->nconn);
    s->grace_ev = evtimer_new(s->base, sched_on_grace, s);
    struct timeval tv = {grace_ms / 1000, (grace_ms % 1000) * 1000};
    event_add(s->grace_ev, &tv);
}

/* Counters and sizes. */
void sched_get_stats(const struct sched *s, struct sched_stats *st)
{
    *st = s->st;
    st->messages = dict_count(s->msgs);
    st->waiting = s->wait.n;
    st->active = s->active;
}

struct sched_flush {
    struct sched *s;
    const char *domain;
    bool subdomains;
    int64_t now;
    size_t moved;
};

/* True when addr's domain is d, or (subdomains) ends in ".d". */
static bool sched_domain_match(const char *addr, const char *d, bool subdomains)
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
            (f->domain && !sched_domain_match(r->addr, f->domain, f->subdomains)))
            continue;
        heap_remove(&f->s->wait, &r->hn);
        r->hn.key = f->now;
        heap_push(&f->s->wait, &r->hn);
        f->moved++;
    }
}

/* route_foreach_dest: forgets that a destination was dead (queue run). */
static void sched_on_revive(void *arg, struct dest *d)
{
    struct sdest *sd = d->sched;
    (void)arg;
    if (sd)
        sd->dead_until = 0;
}

/* ETRN for a domain: its destination (when cached) may be tried again, but at most once a
 * second, so a client repeating ETRN cannot turn a dead destination into a connect storm. */
static void sched_revive_domain(struct sched *s, const char *domain)
{
    struct dest *d = route_cached_dest(s->route, domain);
    struct sdest *sd = d ? d->sched : NULL;
    int64_t now = clock_wall_ms();
    if (sd && sd->dead_until > now + 1000)
        sd->dead_until = now + 1000;
}

/* ETRN / queue run: waiting recipients of a domain (or all) become due now, and every
 * destination marked dead is tried again (as Postfix's flush resets its dead cache). */
size_t sched_flush_domain(struct sched *s, const char *domain, bool subdomains)
{
    struct sched_flush f = {s, domain, subdomains, clock_wall_ms(), 0};
    if (domain)
        sched_revive_domain(s, domain);
    else
        route_foreach_dest(s->route, sched_on_revive, NULL);
    dict_foreach(s->msgs, sched_on_flush_msg, &f);
    log_info("flush: %zu recipients for %s%s made due", f.moved,
             domain && subdomains ? "*." : "", domain ? domain : "every domain");
    sched_pump(s);
    return f.moved;
}
