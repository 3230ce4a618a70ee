/* smtpc transactions: one message's MAIL FROM, RCPT TO, DATA and body on an established
 * session, and the replies to them (the connection and its state machine are smtpc.c's).
 *
 * smtpc_session_next(c)  asks the owner (ops->next_txn) for transactions until one goes on
 *     the wire (local checks may settle one at once: bad addresses, SIZE over the server's
 *     limit), or quits the session when there is none.
 * smtpc_on_session_reply(c, r, text)  matches a reply in SESSION against the FIFO of
 *     expected replies and handles it (421, or a reply nothing waits for, fails the
 *     connection); smtpc_session_progress(c) then sends what the pipelining window allows
 *     (at most maxpipeline replies outstanding with PIPELINING, else 1, nothing after DATA
 *     in one group: RFC 2920), ends a settled transaction and re-arms the reply timer.
 * smtpc_rcpt_report_rest(c, o, text)  reports every recipient not yet reported (once each);
 *     smtpc_txn_release(c) hands the transaction back (ops->txn_done).
 * Command formatting: addresses must fit SMTPC_ADDR_MAX and hold no control character, "<"
 *     or ">";
 *     SIZE=, BODY=8BITMIME, SMTPUTF8, BY= (smtpc_ext.c) and the DSN parameters (RET, ENVID,
 *     NOTIFY, ORCPT) are sent only when the server's EHLO announced them; the body goes out
 *     dot-stuffed after DATA, by reference to the body's own bytes (smtpc_body_stuff: a
 *     large body is sent from its mapping), or as one BDAT chunk with CHUNKING
 *     (smtpc_bdat.c); a body downgraded to 7 bits goes out converted as the socket drains
 *     (smtpc_down.c), and its end-of-data reply is awaited only once it is all written.
 * A downgrade is prepared before MAIL over as many loop turns as the body needs
 *     (smtpc_down.c): smtpc_txn_start() then sends nothing, and smtpc_txn_ready() sends the
 *     first commands (or settles the transaction) once it is decided. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "audit/transcript.h"
#include "conf/conf.h"
#include "core/log.h"
#include "core/qid.h"
#include "core/xalloc.h"
#include "proto/esmtp.h"
#include "proto/status.h"
#include "queue/record.h"
#include "smtpc/internal.h"

/* Stretches of body shorter than this between two stuffed dots are copied, not referred to
 * (a reference costs an evbuffer chain of about this size). */
#define SMTPC_BODY_COPY_MAX 256

/* Reports recipient i (once) to the owner. */
void smtpc_rcpt_report_one(struct smtpc *c, size_t i, enum outcome o, const char *text)
{
    if (c->rst[i] == RST_DONE)
        return;
    if (c->rst[i] == RST_ACCEPTED)
        c->naccepted--;
    c->rst[i] = RST_DONE;
    c->nleft--;
    c->t->ok = c->cur < c->npeers && c->peers[c->cur].lmtp ? SMTPC_OK_DELIVERED : SMTPC_OK_RELAYED;
    c->ops->rcpt_done(c->arg, c->t, i, o, text, c->relay);
}

/* Reports every recipient not yet reported. */
void smtpc_rcpt_report_rest(struct smtpc *c, enum outcome o, const char *text)
{
    for (size_t i = 0; c->t && i < c->t->nrcpt; i++)
        smtpc_rcpt_report_one(c, i, o, text);
}

/* Hands the current transaction back to its owner. */
void smtpc_txn_release(struct smtpc *c)
{
    struct smtpc_txn *t = c->t;
    smtpc_down_free(c);
    c->t = NULL;
    free(c->rst);
    c->rst = NULL;
    c->ops->txn_done(c->arg, t);
}

/* True when s can go on a command line inside <>: bounded, no control bytes, no <>. */
static bool smtpc_addr_ok(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++) {
        unsigned char ch = (unsigned char)s[n];
        if (ch < 0x20 || ch == 0x7f || ch == '<' || ch == '>' || n >= SMTPC_ADDR_MAX)
            return false;
    }
    return true;
}

/* Logs that a DSN parameter received with the message is not passed on, and why. */
static void smtpc_dsn_dropped(const struct smtpc *c, const char *what, const char *value,
                              ssize_t why)
{
    char qid[QID_TEXT_LEN + 1], safe[LOG_SANITIZED_SIZE(SMTPC_ORCPT_MAX)];
    log_sanitize(safe, sizeof safe, value, strlen(value));
    log_warn("%s: %s not passed on to %s: %s: %s", qid_to_text(c->t->msgid, qid), what, c->relay,
             esmtp_enc_error_text(why), safe);
}

/* Appends the MAIL FROM DSN parameters (RET=, ENVID= re-encoded as xtext) when the server
 * announced DSN. */
static void smtpc_mail_dsn(struct smtpc *c, char *params, size_t cap, size_t off)
{
    char envid[SMTPC_ENVID_MAX + 1];
    c->t->dsn = c->caps.dsn;
    if (!c->caps.dsn || off >= cap)
        return;
    if (c->t->ret & (MSG_F_RET_FULL | MSG_F_RET_HDRS))
        off += (size_t)snprintf(params + off, cap - off, " RET=%s",
                                (c->t->ret & MSG_F_RET_FULL) ? "FULL" : "HDRS");
    if (off >= cap || !c->t->envid || !*c->t->envid)
        return;
    ssize_t n = esmtp_envid_encode(c->t->envid, envid, sizeof envid);
    if (n > 0)
        snprintf(params + off, cap - off, " ENVID=%s", envid);
    else
        smtpc_dsn_dropped(c, "ENVID", c->t->envid, n);
}

/* The RCPT TO DSN parameters of recipient i (NOTIFY=, ORCPT= re-encoded from the decoded
 * "type;address") into buf, or "". The utf-8 type goes as RFC 6533 utf-8-addr-xtext: this
 * client does not declare SMTPUTF8 on MAIL, and that form is safe either way. */
static const char *smtpc_rcpt_dsn(const struct smtpc *c, size_t i, char *buf, size_t cap)
{
    char orcpt[SMTPC_ORCPT_MAX + 1];
    size_t off = 0;
    buf[0] = '\0';
    if (!c->caps.dsn)
        return buf;
    uint8_t n = c->t->notify ? c->t->notify[i] : 0;
    if (n & NOTIFY_NEVER)
        off += (size_t)snprintf(buf, cap, " NOTIFY=NEVER");
    else if (n & (NOTIFY_SUCCESS | NOTIFY_FAILURE | NOTIFY_DELAY))
        off += (size_t)snprintf(buf, cap, " NOTIFY=%s%s%s", (n & NOTIFY_SUCCESS) ? "SUCCESS," : "",
                                (n & NOTIFY_FAILURE) ? "FAILURE," : "",
                                (n & NOTIFY_DELAY) ? "DELAY," : "") - 1;
    buf[off] = '\0';
    const char *o = c->t->orcpts ? c->t->orcpts[i] : NULL;
    if (!o || !*o)
        return buf;
    ssize_t e = esmtp_orcpt_encode(o, false, orcpt, sizeof orcpt);
    if (e > 0)
        snprintf(buf + off, cap - off, " ORCPT=%s", orcpt);
    else
        smtpc_dsn_dropped(c, "ORCPT", o, e);
    return buf;
}

/* Sends MAIL FROM with SIZE=, BODY=8BITMIME, SMTPUTF8, BY= and the DSN parameters as the
 * server's extensions allow. */
static void smtpc_send_mail(struct smtpc *c)
{
    char params[512] = "";
    size_t off = 0;
    if (c->caps.size)
        off +=
            (size_t)snprintf(params, sizeof params, " SIZE=%llu", (unsigned long long)c->t->size);
    off = smtpc_ext_params(c, params, sizeof params, off);
    smtpc_mail_dsn(c, params, sizeof params, off);
    smtpc_send(c, EXP_MAIL, 0, "MAIL FROM:<%s>%s", c->t->sender ? c->t->sender : "", params);
    c->mail_sent = true;
}

/* Sends as many transaction commands as the pipelining window allows; DATA ends a group
 * and is skipped when no recipient was or can still be accepted. */
static void smtpc_txn_pump(struct smtpc *c)
{
    unsigned maxp = c->maxpipeline ? c->maxpipeline : c->cc->maxpipeline;
    size_t window = c->caps.pipelining && maxp > 1 ? maxp : 1;
    if (smtpc_down_preparing(c))
        return; /* MAIL goes once the verdict and the size are known */
    while (c->t && smtpc_fifo_len(c) < window) {
        if (!c->mail_sent) {
            smtpc_send_mail(c);
            continue;
        }
        if (c->mail_failed || c->data_sent)
            return;
        while (c->rcpt_sent < c->t->nrcpt && c->rst[c->rcpt_sent] == RST_DONE)
            c->rcpt_sent++; /* rejected locally */
        if (c->rcpt_sent < c->t->nrcpt) {
            char dsn[SMTPC_ORCPT_MAX + 64];
            smtpc_send(c, EXP_RCPT, c->rcpt_sent, "RCPT TO:<%s>%s", c->t->rcpts[c->rcpt_sent],
                       smtpc_rcpt_dsn(c, c->rcpt_sent, dsn, sizeof dsn));
            c->rcpt_sent++;
            c->rcpt_outstanding++;
            continue;
        }
        if (c->naccepted == 0 && c->rcpt_outstanding == 0)
            return;
        if (smtpc_bdat_use(c))
            smtpc_bdat_send(c);
        else
            smtpc_send(c, EXP_DATA, 0, "DATA");
        c->data_sent = true;
    }
}

/* Takes transaction t: local checks (addresses, SIZE), then RSET if needed and the first
 * commands. Returns -1 when t was settled locally (already handed back). */
static int smtpc_txn_start(struct smtpc *c, struct smtpc_txn *t)
{
    c->t = t;
    t->stage = SMTPC_STAGE_NONE;
    c->rst = xcalloc(t->nrcpt ? t->nrcpt : 1, 1);
    c->nleft = t->nrcpt;
    c->rcpt_sent = c->rcpt_outstanding = c->naccepted = 0;
    c->mail_sent = c->mail_failed = c->data_sent = false;
    t->tls = c->tls_text;
    t->tls_peer = c->tls_peer;
    if (!smtpc_addr_ok(t->sender ? t->sender : ""))
        smtpc_rcpt_report_rest(c, OUTCOME_PERMFAIL, "501 5.1.7 invalid sender address");
    else if (c->caps.size && c->caps.size_max && t->size > c->caps.size_max)
        smtpc_rcpt_report_rest(c, OUTCOME_PERMFAIL, "552 5.3.4 message size exceeds remote limit");
    for (size_t i = 0; i < t->nrcpt; i++)
        if (!t->rcpts[i] || !smtpc_addr_ok(t->rcpts[i]))
            smtpc_rcpt_report_one(c, i, OUTCOME_PERMFAIL, "501 5.1.3 invalid recipient address");
    if (c->nleft > 0)
        smtpc_ext_check(c);
    if (smtpc_down_preparing(c))
        return 0; /* the first commands once it is ready: smtpc_txn_ready() */
    if (c->nleft == 0) {
        smtpc_txn_release(c);
        return -1;
    }
    if (c->dirty)
        smtpc_send(c, EXP_RSET, 0, "RSET");
    smtpc_txn_pump(c);
    return 0;
}

/* The transaction's local checks ended on a later loop turn (a downgrade prepared): its
 * first commands and the reply timer, or, every recipient settled, the next transaction. */
void smtpc_txn_ready(struct smtpc *c)
{
    if (c->nleft == 0) {
        smtpc_txn_release(c);
        if (c->state == SMTPC_SESSION)
            smtpc_session_next(c);
        return;
    }
    if (c->dirty)
        smtpc_send(c, EXP_RSET, 0, "RSET");
    smtpc_txn_pump(c);
    smtpc_timer_arm(c, c->cc->timeout);
}

/* Asks the owner for the next transaction until one goes on the wire, or quits. */
void smtpc_session_next(struct smtpc *c)
{
    for (;;) {
        struct smtpc_txn *t = c->ops->next(c->arg, c);
        if (t == SMTPC_TXN_WAIT) {
            c->state = SMTPC_IDLE;
            evtimer_del(c->timer);
            return;
        }
        if (!t) {
            smtpc_session_quit(c);
            return;
        }
        if (smtpc_txn_start(c, t) == 0) {
            smtpc_timer_arm(c, c->cc->timeout);
            return;
        }
    }
}

/* Expects the replies to the end of data: one for SMTP; for LMTP one per accepted
 * recipient, in RCPT order (RFC 2033 §4.2), each settling that recipient only. */
void smtpc_dot_expect(struct smtpc *c)
{
    if (!c->peers[c->cur].lmtp) {
        smtpc_fifo_push(c, EXP_DOT, 0);
        return;
    }
    for (size_t i = 0; i < c->t->nrcpt; i++)
        if (c->rst[i] == RST_ACCEPTED)
            smtpc_fifo_push(c, EXP_DOT, i);
}

/* The body's bytes while chains of the output refer to them (smtpc_body_stuff). */
struct smtpc_bodyref {
    struct evbuffer *keep; /* the body's chains (a mapped body file, queue/bodyfile.c) */
    size_t refs;           /* output chains referring to them, + 1 while stuffing */
};

/* Drops a reference; the last one frees the body. */
static void smtpc_bodyref_unref(const void *data, size_t len, void *arg)
{
    struct smtpc_bodyref *r = arg;
    (void)data;
    (void)len;
    if (--r->refs == 0) {
        evbuffer_free(r->keep);
        free(r);
    }
}

/* Appends n body bytes at p to out: by reference, or copied when that is cheaper. */
static void smtpc_body_ref(struct evbuffer *out, struct smtpc_bodyref *r, const char *p, size_t n)
{
    if (n < SMTPC_BODY_COPY_MAX) {
        evbuffer_add(out, p, n);
        return;
    }
    r->refs++;
    if (evbuffer_add_reference(out, p, n, smtpc_bodyref_unref, r) < 0) {
        r->refs--;
        evbuffer_add(out, p, n);
    }
}

/* Dot-stuffs body into out (RFC 5321 §4.5.2: one more "." before each line that starts with
 * one) without copying it: the stretches between those dots go by reference to the body's
 * own chains, kept alive until the last of them is written (or the connection dropped), so
 * a large body is sent straight from its mapping whatever its lines hold. Empties body;
 * true when it ended in CRLF. */
static bool smtpc_body_stuff(struct evbuffer *out, struct evbuffer *body)
{
    struct smtpc_bodyref *r = xcalloc(1, sizeof *r);
    r->keep = evbuffer_new();
    r->refs = 1;
    evbuffer_add_buffer(r->keep, body);
    int n = evbuffer_peek(r->keep, -1, NULL, NULL, 0);
    struct evbuffer_iovec *v = xcalloc(n > 0 ? (size_t)n : 1, sizeof *v);
    n = evbuffer_peek(r->keep, -1, NULL, v, n);
    bool bol = true;
    char tail[2] = {0, 0};
    for (int i = 0; i < n; i++) {
        const char *p = v[i].iov_base, *end = p + v[i].iov_len, *seg = p;
        for (const char *q = p; q < end;) {
            if (bol && *q == '.') {
                smtpc_body_ref(out, r, seg, (size_t)(q - seg));
                evbuffer_add(out, ".", 1);
                seg = q;
            }
            const char *nl = memchr(q, '\n', (size_t)(end - q));
            bol = nl != NULL;
            if (!nl)
                break;
            q = nl + 1;
        }
        smtpc_body_ref(out, r, seg, (size_t)(end - seg));
        if (v[i].iov_len > 0) {
            tail[0] = v[i].iov_len >= 2 ? end[-2] : tail[1];
            tail[1] = end[-1];
        }
    }
    free(v);
    smtpc_bodyref_unref(NULL, 0, r);
    return tail[0] == '\r' && tail[1] == '\n';
}

/* Streams the body dot-stuffed, ending in CRLF, then the terminating ".". */
static void smtpc_body_send(struct smtpc *c)
{
    if (c->down) {
        smtpc_down_start(c, false);
        return;
    }
    struct evbuffer *out = bufferevent_get_output(c->bev), *body = c->t->body;
    size_t len = body ? evbuffer_get_length(body) : 0;
    if (len > 0 && !smtpc_body_stuff(out, body))
        evbuffer_add(out, "\r\n", 2);
    evbuffer_add(out, ".\r\n", 3);
    log_debug("smtpc %s >>> (%zu body bytes) .", c->relay, len);
    if (c->tr) {
        char note[64];
        int n = snprintf(note, sizeof note, "(%zu body bytes) .", len);
        transcript_line(c->tr, '>', note, (size_t)n);
    }
    smtpc_dot_expect(c);
}

/* Reply to RSET: 2xx clears the state; anything else ends the connection. */
static void smtpc_on_rset(struct smtpc *c, const struct reply *r, const char *text)
{
    if (r->code / 100 == 2)
        c->dirty = false;
    else
        smtpc_conn_fail(c, text);
}

/* Reply to MAIL: a rejection settles every recipient with it. */
static void smtpc_on_mail(struct smtpc *c, const struct reply *r, const char *text)
{
    if (r->code / 100 == 2)
        return;
    c->mail_failed = true;
    smtpc_rcpt_report_rest(c, r->code >= 500 ? OUTCOME_PERMFAIL : OUTCOME_TEMPFAIL, text);
}

/* Reply to RCPT i: 2xx accepts it, anything else settles it. */
static void smtpc_on_rcpt(struct smtpc *c, size_t i, const struct reply *r, const char *text)
{
    c->rcpt_outstanding--;
    if (c->rst[i] != RST_PENDING)
        return; /* settled by a MAIL rejection */
    if (r->code / 100 == 2) {
        c->rst[i] = RST_ACCEPTED;
        c->naccepted++;
    } else {
        smtpc_rcpt_report_one(c, i, r->code >= 500 ? OUTCOME_PERMFAIL : OUTCOME_TEMPFAIL, text);
    }
}

/* Reply to DATA: 3xx sends the body (or just "." when nobody was accepted); a rejection
 * settles the accepted recipients with it. */
static void smtpc_on_data(struct smtpc *c, const struct reply *r, const char *text)
{
    if (r->code / 100 == 3) {
        if (c->naccepted > 0 && !c->mail_failed) {
            smtpc_body_send(c);
        } else {
            /* LMTP answers "." with one reply per accepted recipient: none here */
            smtpc_send(c, c->peers[c->cur].lmtp ? -1 : EXP_DOT_IGNORE, 0, ".");
        }
        return;
    }
    smtpc_rcpt_report_rest(c, r->code >= 500 ? OUTCOME_PERMFAIL : OUTCOME_TEMPFAIL, text);
}

/* The outcome of a reply code: 2xx OK, 5xx PERMFAIL, anything else TEMPFAIL. */
static enum outcome smtpc_reply_outcome(int code)
{
    return code / 100 == 2 ? OUTCOME_OK : code / 100 == 5 ? OUTCOME_PERMFAIL : OUTCOME_TEMPFAIL;
}

/* Reply to the end of data: SMTP, the accepted recipients get its outcome; LMTP, recipient
 * idx does. */
static void smtpc_on_dot(struct smtpc *c, size_t idx, const struct reply *r, const char *text)
{
    enum outcome o = smtpc_reply_outcome(r->code);
    if (c->peers[c->cur].lmtp) { /* this reply is recipient idx's alone */
        smtpc_rcpt_report_one(c, idx, o, text);
        c->dirty = false; /* the transaction is over whatever each recipient got */
        return;
    }
    smtpc_rcpt_report_rest(c, o, text);
    if (o == OUTCOME_OK)
        c->dirty = false;
}

/* Dispatches a session reply to the handler of the command it answers. */
void smtpc_on_session_reply(struct smtpc *c, const struct reply *r, const char *text)
{
    static const unsigned stage_of[] = {[EXP_RSET] = SMTPC_STAGE_MAIL, [EXP_MAIL] = SMTPC_STAGE_MAIL,
                                        [EXP_RCPT] = SMTPC_STAGE_RCPT, [EXP_DATA] = SMTPC_STAGE_DATA,
                                        [EXP_DOT] = SMTPC_STAGE_DATA,
                                        [EXP_DOT_IGNORE] = SMTPC_STAGE_DATA,
                                        [EXP_BDAT] = SMTPC_STAGE_DATA};
    if (c->t) /* what the reply answers, for the rules of deliver/ (a 421 too) */
        c->t->stage = smtpc_fifo_len(c) ? stage_of[c->fifo[c->fhead].kind] : SMTPC_STAGE_NONE;
    if (r->code == 421 || smtpc_fifo_len(c) == 0 || !c->t) {
        char why[SMTPC_WHY_MAX];
        smtpc_why(why, sizeof why, STATUS_PROTOCOL, "unexpected reply from %s", c->relay);
        smtpc_conn_fail(c, r->code == 421 ? text : why);
        return;
    }
    struct smtpc_expect e = c->fifo[c->fhead++];
    switch (e.kind) {
    case EXP_RSET:
        smtpc_on_rset(c, r, text);
        break;
    case EXP_MAIL:
        c->dirty = true;
        smtpc_on_mail(c, r, text);
        break;
    case EXP_RCPT:
        smtpc_on_rcpt(c, e.idx, r, text);
        break;
    case EXP_DATA:
        smtpc_on_data(c, r, text);
        break;
    case EXP_DOT:
    case EXP_BDAT: /* the last chunk's reply: as the end of data (never LMTP) */
        smtpc_on_dot(c, e.idx, r, text);
        break;
    case EXP_DOT_IGNORE:
        break;
    }
}

/* After a session reply: send what the window now allows, end a settled transaction,
 * and re-arm the reply timer for the reply now awaited. */
void smtpc_session_progress(struct smtpc *c)
{
    if (c->state != SMTPC_SESSION || !c->t)
        return;
    if (smtpc_down_streaming(c)) { /* no reply to the body before it is all out */
        smtpc_timer_arm(c, smtpc_data_timeout(c));
        return;
    }
    smtpc_txn_pump(c);
    if (c->nleft == 0 && smtpc_fifo_len(c) == 0) {
        smtpc_txn_release(c);
        if (c->state != SMTPC_SESSION)
            return;
        smtpc_session_next(c);
        return;
    }
    if (smtpc_fifo_len(c) == 0)
        log_panic("smtpc %s: transaction stalled with %zu recipients open", c->relay, c->nleft);
    {
        enum smtpc_exp k = c->fifo[c->fhead].kind;
        smtpc_timer_arm(c, k == EXP_DOT || k == EXP_BDAT ? smtpc_data_timeout(c) : c->cc->timeout);
    }
}
