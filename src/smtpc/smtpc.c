/* smtpc: one outbound ESMTP connection's state machine over a libevent bufferevent.
 *
 * Owns: the socket to the current peer, one timer (deferred start, connect timeout, reply
 * timeouts), the FIFO of replies still expected, and the one transaction in progress.
 * Public: smtpc_start(), smtpc_abort(), smtpc_resume(), smtpc_relay() and the setters
 * (contracts in smtpc.h). The transactions themselves (MAIL/RCPT/DATA, their replies) are
 * smtpc_txn.c's; TLS smtpc_tls.c's; AUTH smtpc_auth.c's (see smtpc/internal.h).
 *
 * Life of a connection: INIT (deferred by a zero timer so smtpc_start never calls ops)
 * -> CONNECT -> GREETING -> EHLO [-> HELO] -> SESSION (transactions) -> QUIT_WAIT /
 * QUIT_FLUSH -> DONE. Any failure before SESSION moves to the next peer; once every peer
 * failed, closed() gets TEMPFAIL (PERMFAIL when the last failure was a 5xx greeting or
 * EHLO/HELO reply). In SESSION a 421, a drop, a timeout or an invalid reply TEMPFAILs every
 * recipient not yet confirmed and closes.
 *
 * Transactions (smtpc_txn.c): commands go out through txn_pump(), which keeps at most `window` replies
 * outstanding (maxpipeline with PIPELINING, else 1) and never sends anything after DATA in
 * one group (RFC 2920). Replies are matched in order against the FIFO. A transaction ends
 * when every recipient has been reported and no reply of it is outstanding. RSET is sent
 * lazily, before the next MAIL, only when the previous transaction did not end with a 2xx
 * to the end of data.
 *
 * Invariants: every entry point (also smtpc_down.c's slice timer) runs between
 * smtpc_enter()/smtpc_leave(); closed() is
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

#define SMTPC_INPUT_MAX ((size_t)REPLY_LINE_MAX * REPLY_LINES_MAX + 1024)
#define SMTPC_TIMEOUT_MAX_MS (7ULL * 24 * 3600 * 1000)

static void smtpc_peer_try(struct smtpc *c);

/* Marks the start of an entry point (callback or public call). */
void smtpc_enter(struct smtpc *c)
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
    smtpc_down_free(c);
    free(c->rst);
    free(c->fail_why);
    free(c);
}

/* Keeps why (a copy) as the reason of the last failure: allocated only when there is one,
 * so a connection in session does not carry a reply-sized buffer (10,000 connections). */
static void smtpc_fail_set(struct smtpc *c, const char *why)
{
    free(c->fail_why);
    c->fail_why = xstrdup(why);
}

/* Ends an entry point; the outermost one frees a finished connection. */
void smtpc_leave(struct smtpc *c)
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
    case EXP_BDAT:
        return "BDAT";
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
uint64_t smtpc_data_timeout(const struct smtpc *c)
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
size_t smtpc_fifo_len(const struct smtpc *c)
{
    return c->ftail - c->fhead;
}

/* Appends an expected reply. */
void smtpc_fifo_push(struct smtpc *c, enum smtpc_exp kind, size_t idx)
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

/* Session-level failure: TEMPFAIL what is unconfirmed, close without QUIT. */
void smtpc_conn_fail(struct smtpc *c, const char *why)
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
    smtpc_fail_set(c, why);
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
    char why[SMTPC_WHY_MAX];
    if (p->sa.ss_family != AF_INET && p->sa.ss_family != AF_INET6 &&
        !(p->lmtp && p->sa.ss_family == AF_UNIX)) {
        smtpc_why(why, sizeof why, STATUS_LOCAL, "connect to %s: unsupported address family",
                  c->relay);
        smtpc_fail_set(c, why);
        return -1;
    }
    c->bev = bufferevent_socket_new(c->base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (!c->bev) {
        smtpc_why(why, sizeof why, STATUS_LOCAL, "connect to %s: cannot create socket", c->relay);
        smtpc_fail_set(c, why);
        return -1;
    }
    smtpc_bev_setcb(c, c->bev);
    c->state = SMTPC_INIT; /* a callback from inside the connect call changes nothing */
    errno = 0;
    if (bufferevent_socket_connect(c->bev, (const struct sockaddr *)&p->sa, (int)p->salen) < 0) {
        int err = errno;
        smtpc_why(why, sizeof why, STATUS_CONNECT, "connect to %s: %s", c->relay,
                  err ? strerror(err) : "cannot connect");
        smtpc_fail_set(c, why);
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
void smtpc_session_quit(struct smtpc *c)
{
    if (!c->cc->sendQUIT) {
        smtpc_finish(c, OUTCOME_OK, "");
        return;
    }
    smtpc_send(c, -1, 0, "QUIT");
    c->state = c->cc->waitQUIT ? SMTPC_QUIT_WAIT : SMTPC_QUIT_FLUSH;
    smtpc_timer_arm(c, c->cc->timeout);
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

/* Output drained: with waitQUIT off, the QUIT is out and we are done; a body being
 * converted (smtpc_down.c) gets its next piece. */
static void smtpc_on_write(struct bufferevent *bev, void *arg)
{
    struct smtpc *c = arg;
    (void)bev;
    smtpc_enter(c);
    if (c->state == SMTPC_QUIT_FLUSH)
        smtpc_finish(c, OUTCOME_OK, "");
    else if (c->state == SMTPC_SESSION && smtpc_down_streaming(c))
        smtpc_down_pump(c);
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
        if (smtpc_down_streaming(c)) /* the peer stopped reading the converted body */
            smtpc_why(why, sizeof why, STATUS_SESSION, "timeout sending the body to %s", c->relay);
        else if (smtpc_down_preparing(c))
            smtpc_why(why, sizeof why, STATUS_SESSION, "timeout preparing the 7-bit body for %s",
                      c->relay);
        else
            smtpc_why(why, sizeof why, STATUS_SESSION, "timeout waiting for reply to %s from %s",
                      smtpc_fifo_len(c) ? smtpc_exp_name(c->fifo[c->fhead].kind) : "nothing",
                      c->relay);
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
    char why[64];
    smtpc_why(why, sizeof why, STATUS_CONNECT, "no peer could be tried");
    smtpc_fail_set(c, why);
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
