/* smtpc: one outbound ESMTP connection's state machine over a libevent bufferevent.
 *
 * Owns: the socket to the current peer, one timer (deferred start, connect timeout, reply
 * timeouts), the FIFO of replies still expected, and the one transaction in progress.
 * Public: smtpc_start(), smtpc_abort(), smtpc_relay() (contracts in smtpc.h).
 *
 * Life of a connection: INIT (deferred by a zero timer so smtpc_start never calls ops)
 * -> CONNECT -> GREETING -> EHLO [-> HELO] -> SESSION (transactions) -> QUIT_WAIT /
 * QUIT_FLUSH -> DONE. Any failure before SESSION moves to the next peer; once every peer
 * failed, closed() gets TEMPFAIL (PERMFAIL when the last failure was a 5xx greeting or
 * EHLO/HELO reply). In SESSION a 421, a drop, a timeout or an invalid reply TEMPFAILs every
 * recipient not yet confirmed and closes.
 *
 * Transactions: commands go out through txn_pump(), which keeps at most `window` replies
 * outstanding (maxpipeline with PIPELINING, else 1) and never sends anything after DATA in
 * one group (RFC 2920). Replies are matched in order against the FIFO. A transaction ends
 * when every recipient has been reported and no reply of it is outstanding. RSET is sent
 * lazily, before the next MAIL, only when the previous transaction did not end with a 2xx
 * to the end of data.
 *
 * Invariants: every entry point runs between smtpc_enter()/smtpc_leave(); closed() is
 * called once by smtpc_finish(), which sets DONE; the struct is freed by the outermost
 * smtpc_leave(), so code may test c->state after any call that can finish. ops callbacks
 * must not call smtpc_abort() on the same connection (checked: panic). */
#include "smtpc/smtpc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>

#include "audit/transcript.h"
#include "conf/conf.h"
#include "core/log.h"
#include "core/qid.h"
#include "core/xalloc.h"
#include "proto/esmtp.h"
#include "proto/status.h"
#include "queue/record.h"
#include "smtpc/internal.h"

#define SMTPC_ADDR_MAX 900 /* longest sender/recipient we put on a command line */
#define SMTPC_CMD_MAX (SMTPC_ADDR_MAX + 1200) /* + SIZE, BODY, RET, ENVID, NOTIFY, ORCPT */
#define SMTPC_ORCPT_MAX ESMTP_ORCPT_MAX /* encoded "type;xtext" we send (RFC 3461 §4: +500) */
#define SMTPC_ENVID_MAX ESMTP_ENVID_MAX /* encoded ENVID we send (RFC 3461 §4: +100) */
#define SMTPC_INPUT_MAX ((size_t)REPLY_LINE_MAX * REPLY_LINES_MAX + 1024)
#define SMTPC_TIMEOUT_MAX_MS (7ULL * 24 * 3600 * 1000)

static void smtpc_peer_try(struct smtpc *c);
static void smtpc_session_next(struct smtpc *c);

/* Marks the start of an entry point (callback or public call). */
static void smtpc_enter(struct smtpc *c)
{
    c->depth++;
}

/* Frees everything c owns. */
static void smtpc_free(struct smtpc *c)
{
    if (c->timer)
        event_free(c->timer);
    smtpc_bev_free(c);
    for (size_t i = 0; i < c->npeers; i++)
        free(c->peers[i].name);
    free(c->peers);
    free(c->fifo);
    free(c->rst);
    free(c);
}

/* Ends an entry point; the outermost one frees a finished connection. */
static void smtpc_leave(struct smtpc *c)
{
    if (--c->depth == 0 && c->state == SMTPC_DONE)
        smtpc_free(c);
}

/* Human name of what an expected reply answers, for timeouts and logs. */
static const char *smtpc_exp_name(enum smtpc_exp k)
{
    switch (k) {
    case EXP_RSET:
        return "RSET";
    case EXP_MAIL:
        return "MAIL FROM";
    case EXP_RCPT:
        return "RCPT TO";
    case EXP_DATA:
        return "DATA";
    case EXP_DOT:
    case EXP_DOT_IGNORE:
        return "end of data";
    }
    return "?";
}

/* Human name of a setup stage, for timeouts and lost connections. */
static const char *smtpc_setup_name(enum smtpc_state s)
{
    switch (s) {
    case SMTPC_GREETING:
        return "greeting";
    case SMTPC_EHLO:
        return "EHLO";
    case SMTPC_HELO:
        return "HELO";
    case SMTPC_STARTTLS:
        return "STARTTLS";
    case SMTPC_TLS:
        return "TLS handshake";
    case SMTPC_AUTH:
        return "AUTH";
    default:
        return "setup";
    }
}

/* Arms the timer for ms milliseconds (clamped to [1 ms, 7 days]). */
void smtpc_timer_arm(struct smtpc *c, uint64_t ms)
{
    if (ms == 0)
        ms = 1;
    if (ms > SMTPC_TIMEOUT_MAX_MS)
        ms = SMTPC_TIMEOUT_MAX_MS;
    struct timeval tv = {.tv_sec = (time_t)(ms / 1000), .tv_usec = (suseconds_t)(ms % 1000) * 1000};
    evtimer_add(c->timer, &tv);
}

/* The reply timeout for the end of data: timeout, or size*8/mindatarate s if longer. */
static uint64_t smtpc_data_timeout(const struct smtpc *c)
{
    uint64_t ms = c->cc->timeout, size = c->t ? c->t->size : 0, rate = c->cc->mindatarate;
    if (rate == 0)
        return ms;
    uint64_t ext = size > UINT64_MAX / 8000 ? UINT64_MAX : size * 8000 / rate;
    return ext > ms ? ext : ms;
}

/* Logs one protocol line when verbose; dir is ">>>" or "<<<". */
static void smtpc_log_line(const struct smtpc *c, const char *dir, const char *s, size_t len)
{
    if (!log_verbose())
        return;
    char safe[LOG_SANITIZED_SIZE(1000)];
    log_sanitize(safe, sizeof safe, s, len);
    log_debug("smtpc %s %s %s", c->relay, dir, safe);
}

/* Logs "smtpc RELAY<sep>why" when verbose; why may quote the peer's reply: escaped. */
static void smtpc_log_why(const struct smtpc *c, const char *sep, const char *why)
{
    if (!log_verbose())
        return;
    char safe[2048];
    log_debug("smtpc %s%s%s", c->relay, sep, log_sanitize(safe, sizeof safe, why, strlen(why)));
}

/* Formats one of our own failure reasons: its RFC 3463 code for a temporary failure of
 * class cl (proto/status.h), a space, then the text; the scheduler reads the code back from
 * the text with status_of(). */
void smtpc_why(char *buf, size_t cap, enum status_class cl, const char *fmt, ...)
{
    int n = snprintf(buf, cap, "%s ", status_code(cl, OUTCOME_TEMPFAIL));
    if (n < 0 || (size_t)n >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + n, cap - (size_t)n, fmt, ap);
    va_end(ap);
}

/* Number of replies outstanding. */
static size_t smtpc_fifo_len(const struct smtpc *c)
{
    return c->ftail - c->fhead;
}

/* Appends an expected reply. */
static void smtpc_fifo_push(struct smtpc *c, enum smtpc_exp kind, size_t idx)
{
    if (c->ftail == c->fcap && c->fhead > 0) {
        memmove(c->fifo, c->fifo + c->fhead, smtpc_fifo_len(c) * sizeof *c->fifo);
        c->ftail -= c->fhead;
        c->fhead = 0;
    }
    xgrow(&c->fifo, &c->fcap, c->ftail, sizeof *c->fifo);
    c->fifo[c->ftail++] = (struct smtpc_expect){.kind = kind, .idx = idx};
}

/* Writes one command line (CRLF added) and, when kind >= 0, expects its reply. */
void smtpc_send(struct smtpc *c, int kind, size_t idx, const char *fmt, ...)
{
    char line[SMTPC_CMD_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 2, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof line - 2)
        log_panic("smtpc: command too long"); /* addresses are bounded before this */
    smtpc_log_line(c, ">>>", line, (size_t)n);
    transcript_line(c->tr, '>', line, (size_t)n);
    memcpy(line + n, "\r\n", 2);
    bufferevent_write(c->bev, line, (size_t)n + 2);
    if (kind >= 0)
        smtpc_fifo_push(c, (enum smtpc_exp)kind, idx);
}

/* Writes a line holding credentials; logs and transcripts see only `shown`. */
void smtpc_send_hidden(struct smtpc *c, const char *line, size_t len, const char *shown)
{
    smtpc_log_line(c, ">>>", shown, strlen(shown));
    transcript_line(c->tr, '>', shown, strlen(shown));
    bufferevent_write(c->bev, line, len);
    bufferevent_write(c->bev, "\r\n", 2);
}

/* Frees the bufferevent (with its SSL and socket: BEV_OPT_CLOSE_ON_FREE). */
void smtpc_bev_free(struct smtpc *c)
{
    if (!c->bev)
        return;
    bufferevent_free(c->bev);
    c->bev = NULL;
    c->ssl = NULL;
}

/* Calls closed() once and marks the connection DONE (freed by the outermost leave). */
static void smtpc_finish(struct smtpc *c, enum outcome o, const char *why)
{
    if (c->state == SMTPC_DONE)
        return;
    c->state = SMTPC_DONE;
    evtimer_del(c->timer);
    smtpc_bev_free(c);
    smtpc_log_why(c, " closed: ", *why ? why : "session ended");
    transcript_close(c->tr, why);
    c->tr = NULL;
    c->ops->closed(c->arg, c, o, why);
}

/* Reports recipient i (once) to the owner. */
static void smtpc_rcpt_report(struct smtpc *c, size_t i, enum outcome o, const char *text)
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
static void smtpc_rcpt_report_rest(struct smtpc *c, enum outcome o, const char *text)
{
    for (size_t i = 0; c->t && i < c->t->nrcpt; i++)
        smtpc_rcpt_report(c, i, o, text);
}

/* Hands the current transaction back to its owner. */
static void smtpc_txn_release(struct smtpc *c)
{
    struct smtpc_txn *t = c->t;
    c->t = NULL;
    free(c->rst);
    c->rst = NULL;
    c->ops->txn_done(c->arg, t);
}

/* Session-level failure: TEMPFAIL what is unconfirmed, close without QUIT. */
static void smtpc_conn_fail(struct smtpc *c, const char *why)
{
    smtpc_log_why(c, ": ", why);
    if (c->t) {
        smtpc_rcpt_report_rest(c, OUTCOME_TEMPFAIL, why);
        smtpc_txn_release(c);
    }
    smtpc_finish(c, OUTCOME_OK, why);
}

/* Closes the connection to the current peer after a failure (why is logged and kept). */
static void smtpc_peer_close(struct smtpc *c, enum outcome o, const char *why)
{
    smtpc_log_why(c, ": ", why);
    c->fail_o = o;
    snprintf(c->fail_why, sizeof c->fail_why, "%s", why);
    transcript_close(c->tr, why);
    c->tr = NULL;
    evtimer_del(c->timer);
    smtpc_bev_free(c);
}

/* Drops the current peer after a failure and tries the next one. */
void smtpc_peer_fail(struct smtpc *c, enum outcome o, const char *why)
{
    smtpc_peer_close(c, o, why);
    c->cur++;
    c->tls_fallback = false;
    smtpc_peer_try(c);
}

/* Connects to the current peer again (its TLS handshake failed; the policy now says
 * cleartext). */
void smtpc_peer_retry(struct smtpc *c, const char *why)
{
    smtpc_peer_close(c, OUTCOME_TEMPFAIL, why);
    smtpc_peer_try(c);
}

/* Formats "name[ip]:port" of peer p into c->relay. */
static void smtpc_relay_format(struct smtpc *c, const struct peer *p)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (p->sa.ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)&p->sa;
        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
        port = ntohs(in->sin_port);
    } else if (p->sa.ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&p->sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
        port = ntohs(in6->sin6_port);
    }
    char name[256];
    log_sanitize(name, sizeof name, p->name, strlen(p->name));
    if (p->sa.ss_family == AF_UNIX) { /* LMTP: "name[/path]" */
        const struct sockaddr_un *un = (const struct sockaddr_un *)&p->sa;
        char path[LOG_SANITIZED_SIZE(sizeof un->sun_path)];
        log_sanitize(path, sizeof path, un->sun_path, strnlen(un->sun_path, sizeof un->sun_path));
        snprintf(c->relay, sizeof c->relay, "%.150s[%.400s]", name, path);
        return;
    }
    snprintf(c->relay, sizeof c->relay, "%s[%s]:%u", name, ip, port);
}

static void smtpc_on_read(struct bufferevent *bev, void *arg);
static void smtpc_on_write(struct bufferevent *bev, void *arg);
static void smtpc_on_event(struct bufferevent *bev, short what, void *arg);

/* Points bev's callbacks at this connection's handlers. */
void smtpc_bev_setcb(struct smtpc *c, struct bufferevent *bev)
{
    bufferevent_setcb(bev, smtpc_on_read, smtpc_on_write, smtpc_on_event, c);
}

/* Starts connecting to peers[cur]; 0, or -1 with fail_why set. */
static int smtpc_peer_connect(struct smtpc *c)
{
    const struct peer *p = &c->peers[c->cur];
    c->cc = conf_client_for(c->conf, (const struct sockaddr *)&p->sa, p->name);
    smtpc_relay_format(c, p);
    if (c->tlog && !c->tr)
        c->tr = transcript_open(c->tlog, c->tspec, 'C', (const struct sockaddr *)&p->sa, p->name);
    c->scan_off = c->line_start = 0;
    memset(&c->caps, 0, sizeof c->caps);
    c->tls = false;
    snprintf(c->tls_text, sizeof c->tls_text, "none");
    c->tls_peer = "";
    smtpc_tls_policy(c);
    c->fail_o = OUTCOME_TEMPFAIL;
    if (p->sa.ss_family != AF_INET && p->sa.ss_family != AF_INET6 &&
        !(p->lmtp && p->sa.ss_family == AF_UNIX)) {
        smtpc_why(c->fail_why, sizeof c->fail_why, STATUS_LOCAL,
                  "connect to %s: unsupported address family", c->relay);
        return -1;
    }
    c->bev = bufferevent_socket_new(c->base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (!c->bev) {
        smtpc_why(c->fail_why, sizeof c->fail_why, STATUS_LOCAL, "connect to %s: cannot create socket",
                  c->relay);
        return -1;
    }
    smtpc_bev_setcb(c, c->bev);
    c->state = SMTPC_INIT; /* a callback from inside the connect call changes nothing */
    errno = 0;
    if (bufferevent_socket_connect(c->bev, (const struct sockaddr *)&p->sa, (int)p->salen) < 0) {
        int err = errno;
        smtpc_why(c->fail_why, sizeof c->fail_why, STATUS_CONNECT, "connect to %s: %s", c->relay,
                  err ? strerror(err) : "cannot connect");
        smtpc_bev_free(c);
        return -1;
    }
    c->connect_errno = errno;
    log_debug("smtpc connecting to %s", c->relay);
    c->state = SMTPC_CONNECT;
    smtpc_timer_arm(c, c->cc->timeout);
    return 0;
}

/* Connects to the first remaining peer that accepts a connect attempt, or finishes. */
static void smtpc_peer_try(struct smtpc *c)
{
    for (; c->cur < c->npeers; c->cur++)
        if (smtpc_peer_connect(c) == 0)
            return;
    smtpc_finish(c, c->fail_o, c->fail_why);
}

/* The name we announce in EHLO/HELO: announcehost, else the hostname, else "localhost". */
const char *smtpc_helo_name(const struct smtpc *c)
{
    const char *h = c->cc->announcehost;
    if (!h || !*h)
        h = c->conf->hostname;
    if (!h || !*h || strlen(h) > 255 || strpbrk(h, " \t\r\n"))
        h = "localhost";
    return h;
}

/* Outcome of a failed setup reply: 5xx is permanent, anything else temporary. */
static enum outcome smtpc_fail_outcome(int code)
{
    return code >= 500 ? OUTCOME_PERMFAIL : OUTCOME_TEMPFAIL;
}

/* Greeting received: 2xx -> EHLO (or HELO with sayHELO), else next peer. */
static void smtpc_on_greeting(struct smtpc *c, const struct reply *r, const char *text)
{
    if (r->code / 100 != 2) {
        smtpc_peer_fail(c, smtpc_fail_outcome(r->code), text);
        return;
    }
    bool lmtp = c->peers[c->cur].lmtp; /* LMTP has LHLO only (RFC 2033 §4.1) */
    c->state = c->cc->sayHELO && !lmtp ? SMTPC_HELO : SMTPC_EHLO;
    smtpc_send(c, -1, 0, "%s %s", lmtp ? "LHLO" : c->cc->sayHELO ? "HELO" : "EHLO",
               smtpc_helo_name(c));
    smtpc_timer_arm(c, c->cc->timeout);
}

/* Session established (EHLO or HELO accepted, TLS and AUTH as the policy wants): start
 * asking for transactions. */
void smtpc_session_start(struct smtpc *c)
{
    c->state = SMTPC_SESSION;
    c->established = true;
    c->dirty = false;
    evtimer_del(c->timer);
    smtpc_session_next(c);
}

/* EHLO reply: 2xx -> session; 5xx with fallbackHELO -> HELO; else next peer. */
static void smtpc_on_ehlo(struct smtpc *c, const struct reply *r, const char *text)
{
    if (r->code / 100 == 2) {
        reply_ehlo_caps(r, &c->caps);
        smtpc_tls_after_ehlo(c);
    } else if (r->code >= 500 && c->cc->fallbackHELO && !c->peers[c->cur].lmtp) {
        c->state = SMTPC_HELO;
        smtpc_send(c, -1, 0, "HELO %s", smtpc_helo_name(c));
        smtpc_timer_arm(c, c->cc->timeout);
    } else {
        smtpc_peer_fail(c, smtpc_fail_outcome(r->code), text);
    }
}

/* HELO reply: 2xx -> session without extensions; else next peer. */
static void smtpc_on_helo(struct smtpc *c, const struct reply *r, const char *text)
{
    if (r->code / 100 != 2) {
        smtpc_peer_fail(c, smtpc_fail_outcome(r->code), text);
        return;
    }
    memset(&c->caps, 0, sizeof c->caps);
    smtpc_tls_after_ehlo(c);
}

/* Ends the session: QUIT per sendQUIT/waitQUIT, then closed(OK). */
static void smtpc_session_quit(struct smtpc *c)
{
    if (!c->cc->sendQUIT) {
        smtpc_finish(c, OUTCOME_OK, "");
        return;
    }
    smtpc_send(c, -1, 0, "QUIT");
    c->state = c->cc->waitQUIT ? SMTPC_QUIT_WAIT : SMTPC_QUIT_FLUSH;
    smtpc_timer_arm(c, c->cc->timeout);
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

/* True when the body holds a byte with the high bit set. */
static bool smtpc_body_8bit(struct evbuffer *body)
{
    int n = evbuffer_peek(body, -1, NULL, NULL, 0);
    if (n <= 0)
        return false;
    struct evbuffer_iovec *v = xcalloc((size_t)n, sizeof *v);
    evbuffer_peek(body, -1, NULL, v, n);
    bool found = false;
    for (int i = 0; i < n && !found; i++) {
        const unsigned char *p = v[i].iov_base;
        for (size_t k = 0; k < v[i].iov_len; k++)
            if (p[k] & 0x80) {
                found = true;
                break;
            }
    }
    free(v);
    return found;
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

/* Sends MAIL FROM with SIZE=, BODY=8BITMIME and the DSN parameters as the server's
 * extensions allow. */
static void smtpc_send_mail(struct smtpc *c)
{
    char params[256] = "";
    size_t off = 0;
    if (c->caps.size)
        off +=
            (size_t)snprintf(params, sizeof params, " SIZE=%llu", (unsigned long long)c->t->size);
    if (c->caps.eightbitmime && c->t->body && smtpc_body_8bit(c->t->body))
        off += (size_t)snprintf(params + off, sizeof params - off, " BODY=8BITMIME");
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
            smtpc_rcpt_report(c, i, OUTCOME_PERMFAIL, "501 5.1.3 invalid recipient address");
    if (c->nleft == 0) {
        smtpc_txn_release(c);
        return -1;
    }
    if (c->dirty)
        smtpc_send(c, EXP_RSET, 0, "RSET");
    smtpc_txn_pump(c);
    return 0;
}

/* Asks the owner for the next transaction until one goes on the wire, or quits. */
static void smtpc_session_next(struct smtpc *c)
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
static void smtpc_dot_expect(struct smtpc *c)
{
    if (!c->peers[c->cur].lmtp) {
        smtpc_fifo_push(c, EXP_DOT, 0);
        return;
    }
    for (size_t i = 0; i < c->t->nrcpt; i++)
        if (c->rst[i] == RST_ACCEPTED)
            smtpc_fifo_push(c, EXP_DOT, i);
}

/* Streams the body dot-stuffed, ending in CRLF, then the terminating ".". The body's
 * chains are moved, not copied, between the "\n." spots that need an extra dot. */
static void smtpc_body_send(struct smtpc *c)
{
    struct evbuffer *out = bufferevent_get_output(c->bev), *body = c->t->body;
    size_t len = body ? evbuffer_get_length(body) : 0;
    if (len > 0) {
        char tail[2] = {0, 0}, first = 0;
        struct evbuffer_ptr end;
        evbuffer_ptr_set(body, &end, len >= 2 ? len - 2 : 0, EVBUFFER_PTR_SET);
        evbuffer_copyout_from(body, &end, tail, len >= 2 ? 2 : 1);
        bool crlf = len >= 2 && tail[0] == '\r' && tail[1] == '\n';
        evbuffer_copyout(body, &first, 1);
        if (first == '.')
            evbuffer_add(out, ".", 1);
        for (;;) {
            struct evbuffer_ptr p = evbuffer_search(body, "\n.", 2, NULL);
            if (p.pos < 0)
                break;
            evbuffer_remove_buffer(body, out, (size_t)p.pos + 1);
            evbuffer_add(out, ".", 1);
        }
        evbuffer_add_buffer(out, body);
        if (!crlf)
            evbuffer_add(out, "\r\n", 2);
    }
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
        smtpc_rcpt_report(c, i, r->code >= 500 ? OUTCOME_PERMFAIL : OUTCOME_TEMPFAIL, text);
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
        smtpc_rcpt_report(c, idx, o, text);
        c->dirty = false; /* the transaction is over whatever each recipient got */
        return;
    }
    smtpc_rcpt_report_rest(c, o, text);
    if (o == OUTCOME_OK)
        c->dirty = false;
}

/* Dispatches a session reply to the handler of the command it answers. */
static void smtpc_on_session_reply(struct smtpc *c, const struct reply *r, const char *text)
{
    static const unsigned stage_of[] = {[EXP_RSET] = SMTPC_STAGE_MAIL, [EXP_MAIL] = SMTPC_STAGE_MAIL,
                                        [EXP_RCPT] = SMTPC_STAGE_RCPT, [EXP_DATA] = SMTPC_STAGE_DATA,
                                        [EXP_DOT] = SMTPC_STAGE_DATA,
                                        [EXP_DOT_IGNORE] = SMTPC_STAGE_DATA};
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
        smtpc_on_dot(c, e.idx, r, text);
        break;
    case EXP_DOT_IGNORE:
        break;
    }
}

/* After a session reply: send what the window now allows, end a settled transaction,
 * and re-arm the reply timer for the reply now awaited. */
static void smtpc_session_progress(struct smtpc *c)
{
    if (c->state != SMTPC_SESSION || !c->t)
        return;
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
        smtpc_timer_arm(c, k == EXP_DOT ? smtpc_data_timeout(c) : c->cc->timeout);
    }
}

/* One complete reply arrived: route it by state. */
static void smtpc_on_reply(struct smtpc *c, const struct reply *r)
{
    char text[SMTPC_TEXT_MAX];
    reply_to_text(r, text, sizeof text);
    smtpc_log_line(c, "<<<", text, strlen(text));
    transcript_line(c->tr, '<', text, strlen(text));
    switch (c->state) {
    case SMTPC_GREETING:
        smtpc_on_greeting(c, r, text);
        break;
    case SMTPC_EHLO:
        smtpc_on_ehlo(c, r, text);
        break;
    case SMTPC_HELO:
        smtpc_on_helo(c, r, text);
        break;
    case SMTPC_STARTTLS:
        smtpc_tls_on_starttls(c, r, text);
        break;
    case SMTPC_AUTH:
        smtpc_auth_on_reply(c, r, text);
        break;
    case SMTPC_SESSION:
        smtpc_on_session_reply(c, r, text);
        smtpc_session_progress(c);
        break;
    case SMTPC_QUIT_WAIT:
    case SMTPC_IDLE: /* e.g. "421 idle timeout" while we had nothing to send */
        smtpc_finish(c, OUTCOME_OK, "");
        break;
    default:
        break;
    }
}

/* A reply we cannot parse (or too long): before the session, next peer; else TEMPFAIL. */
static void smtpc_on_garbage(struct smtpc *c)
{
    char why[SMTPC_WHY_MAX];
    smtpc_why(why, sizeof why, STATUS_PROTOCOL, "invalid reply from %s", c->relay);
    if (c->state == SMTPC_SESSION)
        smtpc_conn_fail(c, why);
    else if (c->state == SMTPC_QUIT_WAIT)
        smtpc_finish(c, OUTCOME_OK, "");
    else
        smtpc_peer_fail(c, OUTCOME_TEMPFAIL, why);
}

/* True when a line end arrived since the last look; tracks where the last line starts so
 * that an overlong line is refused without waiting for the whole input limit. */
static bool smtpc_scan_lines(struct smtpc *c, struct evbuffer *in)
{
    bool found = false;
    struct evbuffer_ptr pos;
    if (evbuffer_ptr_set(in, &pos, c->scan_off, EVBUFFER_PTR_SET) < 0)
        return false;
    for (;;) {
        struct evbuffer_ptr nl = evbuffer_search(in, "\n", 1, &pos);
        if (nl.pos < 0)
            break;
        found = true;
        c->line_start = (size_t)nl.pos + 1;
        pos = nl;
        if (evbuffer_ptr_set(in, &pos, 1, EVBUFFER_PTR_ADD) < 0)
            break;
    }
    c->scan_off = evbuffer_get_length(in);
    return found;
}

/* Parses one reply from the input if a complete one is there; false when no more. Parsing
 * waits for a new line end, so a peer dribbling bytes costs linear time. */
static bool smtpc_read_one(struct smtpc *c, struct evbuffer *in)
{
    size_t len = evbuffer_get_length(in);
    if (len == 0 || c->scan_off >= len)
        return false;
    ssize_t n = 0;
    struct reply r;
    if (smtpc_scan_lines(c, in))
        n = reply_parse((const char *)evbuffer_pullup(in, (ssize_t)len), len, &r);
    if (n == 0) {
        if (len > SMTPC_INPUT_MAX || len - c->line_start > REPLY_LINE_MAX)
            smtpc_on_garbage(c);
        return false;
    }
    if (n < 0) {
        smtpc_on_garbage(c);
        return false;
    }
    evbuffer_drain(in, (size_t)n);
    c->scan_off = c->line_start = 0;
    smtpc_on_reply(c, &r);
    return true;
}

/* Input arrived: handle every complete reply in it. */
static void smtpc_on_read(struct bufferevent *bev, void *arg)
{
    struct smtpc *c = arg;
    smtpc_enter(c);
    struct evbuffer *in = bufferevent_get_input(bev);
    while (c->state != SMTPC_DONE && c->bev == bev) { /* TLS starts on a new bufferevent */
        if (c->state == SMTPC_TLS)
            break; /* kept for when the handshake is done (smtpc_read_pending) */
        if (c->state < SMTPC_GREETING || c->state > SMTPC_QUIT_WAIT) {
            evbuffer_drain(in, evbuffer_get_length(in));
            break;
        }
        if (!smtpc_read_one(c, in))
            break;
    }
    smtpc_leave(c);
}

/* Handles input that arrived while it could not be read (during the handshake). */
void smtpc_read_pending(struct smtpc *c)
{
    if (c->bev && evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
        smtpc_on_read(c->bev, c);
}

/* Output drained: with waitQUIT off, the QUIT is out and we are done. */
static void smtpc_on_write(struct bufferevent *bev, void *arg)
{
    struct smtpc *c = arg;
    (void)bev;
    smtpc_enter(c);
    if (c->state == SMTPC_QUIT_FLUSH)
        smtpc_finish(c, OUTCOME_OK, "");
    smtpc_leave(c);
}

/* The socket error of a failed connect, as text. libevent sets errno before reporting an
 * asynchronous failure; a refusal already seen by connect() itself is reported later with
 * errno unset, which connect_errno remembers. */
static const char *smtpc_connect_error(const struct smtpc *c)
{
    int err = c->connect_errno == ECONNREFUSED ? ECONNREFUSED : EVUTIL_SOCKET_ERROR();
    if (err == 0 || err == EINPROGRESS || err == EAGAIN || err == EINTR)
        return "connection failed";
    return strerror(err);
}

/* Connected, or the connection failed or was closed by the peer. */
static void smtpc_on_event(struct bufferevent *bev, short what, void *arg)
{
    struct smtpc *c = arg;
    char why[SMTPC_WHY_MAX];
    smtpc_enter(c);
    if (bev != c->bev) {
        /* an event of a bufferevent already replaced: nothing to do */
    } else if ((what & BEV_EVENT_CONNECTED) && c->state == SMTPC_CONNECT && c->pol.implicit) {
        smtpc_tls_start(c);
    } else if ((what & BEV_EVENT_CONNECTED) && c->state == SMTPC_CONNECT) {
        c->state = SMTPC_GREETING;
        bufferevent_enable(bev, EV_READ | EV_WRITE);
        smtpc_timer_arm(c, c->cc->timeout);
    } else if (c->state == SMTPC_TLS) {
        smtpc_tls_on_event(c, what);
    } else if (c->state == SMTPC_CONNECT) {
        smtpc_why(why, sizeof why, STATUS_CONNECT, "connect to %s: %s", c->relay,
                  smtpc_connect_error(c));
        smtpc_peer_fail(c, OUTCOME_TEMPFAIL, why);
    } else if (c->state >= SMTPC_GREETING && c->state <= SMTPC_AUTH) {
        smtpc_why(why, sizeof why, STATUS_SESSION, "lost connection with %s during %s", c->relay,
                  smtpc_setup_name(c->state));
        smtpc_peer_fail(c, OUTCOME_TEMPFAIL, why);
    } else if (c->state == SMTPC_SESSION) {
        smtpc_why(why, sizeof why, STATUS_SESSION,
                  "lost connection with %s while waiting for reply to %s", c->relay,
                  smtpc_fifo_len(c) ? smtpc_exp_name(c->fifo[c->fhead].kind) : "nothing");
        smtpc_conn_fail(c, why);
    } else if (c->state == SMTPC_QUIT_WAIT || c->state == SMTPC_QUIT_FLUSH ||
               c->state == SMTPC_IDLE) {
        smtpc_finish(c, OUTCOME_OK, "");
    }
    smtpc_leave(c);
}

/* Timer: deferred start, or a connect/reply timeout. */
static void smtpc_on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct smtpc *c = arg;
    char why[SMTPC_WHY_MAX];
    (void)fd;
    (void)what;
    smtpc_enter(c);
    switch (c->state) {
    case SMTPC_INIT:
        smtpc_peer_try(c);
        break;
    case SMTPC_CONNECT:
        smtpc_why(why, sizeof why, STATUS_CONNECT, "connect to %s: timeout", c->relay);
        smtpc_peer_fail(c, OUTCOME_TEMPFAIL, why);
        break;
    case SMTPC_TLS:
        smtpc_tls_on_timeout(c);
        break;
    case SMTPC_GREETING:
    case SMTPC_EHLO:
    case SMTPC_HELO:
    case SMTPC_STARTTLS:
    case SMTPC_AUTH:
        smtpc_why(why, sizeof why, STATUS_SESSION, "timeout waiting for %s%s from %s",
                  c->state == SMTPC_GREETING ? "" : "reply to ", smtpc_setup_name(c->state),
                  c->relay);
        smtpc_peer_fail(c, OUTCOME_TEMPFAIL, why);
        break;
    case SMTPC_SESSION:
        smtpc_why(why, sizeof why, STATUS_SESSION, "timeout waiting for reply to %s from %s",
                  smtpc_fifo_len(c) ? smtpc_exp_name(c->fifo[c->fhead].kind) : "nothing", c->relay);
        smtpc_conn_fail(c, why);
        break;
    default:
        smtpc_finish(c, OUTCOME_OK, "");
        break;
    }
    smtpc_leave(c);
}

/* Copies the peers and schedules the first connect on the event loop. */
struct smtpc *smtpc_start(struct event_base *base, const struct conf *conf,
                          const struct peer *peers, size_t npeers,
                          const struct smtpc_ops *ops, void *arg)
{
    if (npeers == 0)
        log_panic("smtpc_start: no peers");
    struct smtpc *c = xcalloc(1, sizeof *c);
    c->base = base;
    c->conf = conf;
    c->ops = ops;
    c->arg = arg;
    c->npeers = npeers;
    c->peers = xcalloc(npeers, sizeof *c->peers);
    for (size_t i = 0; i < npeers; i++) {
        c->peers[i] = peers[i];
        c->peers[i].name = xstrdup(peers[i].name ? peers[i].name : "");
    }
    c->fail_o = OUTCOME_TEMPFAIL;
    smtpc_why(c->fail_why, sizeof c->fail_why, STATUS_CONNECT, "no peer could be tried");
    smtpc_relay_format(c, &c->peers[0]);
    c->timer = evtimer_new(base, smtpc_on_timer, c);
    if (!c->timer)
        log_panic("smtpc_start: evtimer_new failed");
    c->state = SMTPC_INIT;
    struct timeval zero = {0, 0};
    evtimer_add(c->timer, &zero);
    return c;
}

/* Shutdown: TEMPFAIL the unconfirmed, hand the transaction back, close, free. */
void smtpc_abort(struct smtpc *c)
{
    if (c->depth > 0)
        log_panic("smtpc_abort called from inside its own callback");
    char why[64];
    smtpc_why(why, sizeof why, STATUS_LOCAL, "connection aborted (shutdown)");
    smtpc_enter(c);
    if (c->t) {
        smtpc_rcpt_report_rest(c, OUTCOME_TEMPFAIL, why);
        smtpc_txn_release(c);
    }
    smtpc_finish(c, c->established ? OUTCOME_OK : OUTCOME_TEMPFAIL, why);
    smtpc_leave(c);
}

struct smtpc_txn smtpc_txn_wait;

/* The owner has work for an idle session: ask next() again. */
void smtpc_resume(struct smtpc *c)
{
    if (c->depth > 0)
        log_panic("smtpc_resume called from inside its own callback");
    if (c->state != SMTPC_IDLE)
        return;
    smtpc_enter(c);
    c->state = SMTPC_SESSION;
    smtpc_session_next(c);
    smtpc_leave(c);
}

/* The destination's pipelining depth (before its first connect). */
void smtpc_set_maxpipeline(struct smtpc *c, unsigned n)
{
    c->maxpipeline = n ? n : 1;
}

/* Turns transcripts on for this connection (before its first connect). */
void smtpc_set_transcript(struct smtpc *c, struct audit_log *log, const struct logspec *spec)
{
    c->tlog = log;
    c->tspec = spec;
}

/* "name[ip]:port" of the current peer. */
const char *smtpc_relay(const struct smtpc *c)
{
    return c->relay;
}

