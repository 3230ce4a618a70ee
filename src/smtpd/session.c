/* session: one inbound SMTP connection: its input loop, replies, tarpit, timeouts and
 * lifetime (contract in session.h).
 *
 * Input is read line by line in order, so pipelined commands (RFC 2920) are answered in
 * order, in one write per batch. The loop stops while a message is being made durable
 * (SESSION_WAIT), while the tarpit holds a reply, and while SMTPD_OUT_MAX reply bytes are
 * unsent (a client that does not read is not read either); it goes on with the buffered
 * input afterwards.
 *
 * Line ends: a command line ends with CRLF (RFC 5321 §2.3.8); one ended by a bare LF gets
 * 521 5.5.2 and the connection is closed, unless the client is in smtpd.bare_newline_networks
 * (then the LF counts as CRLF, as before). Content line ends are content.c's business.
 *
 * Limits: command line 1000 bytes incl. CRLF (500 5.5.2, the excess discarded without
 * buffering); SMTPD_ERRORS_MAX 4xx/5xx replies (then 421); smtpd.command_timeout idle
 * (read or write, 421 4.4.2); smtpd.session_timeout for the whole session (421 4.4.2).
 *
 * Tarpit (seed 002 "tarpit initial factor"): with tarpit_initial > 0, every 4xx/5xx reply
 * but 421 is held: the first for tarpit_initial, each next for prev + prev * tarpit_factor
 * (capped at SMTPD_TARPIT_MAX); input is not read while a reply is held.
 *
 * Client name (smtpd.rdns_timeout, with a resolver set by smtpd_set_dns): the forward-
 * confirmed reverse lookup (dns_ptr) starts with the session and never blocks the loop.
 * Commands go on meanwhile; only the start of the content (DATA before its 354, the first
 * BDAT before its chunk is read) waits for it in SESSION_RDNS, input not read, until it
 * answers or rdns_timeout has passed since the connection (then the lookup is cancelled
 * and the name stays "unknown"). An EOF or the session limit meanwhile is handled as in
 * SESSION_WAIT (the buffered input is still processed) or with a 421.
 *
 * Lifetime: a session is freed when its client leaves or after QUIT once its replies are
 * flushed, except while its queue_put is pending: then only the connection is closed and
 * the queue callback frees the session (and still calls accepted() for a durable message).
 * Under TLS "flushed" includes the ciphertext below a STARTTLS filter (starttls_flushed).
 *
 * TLS (starttls.c): on an implicit TLS listener the greeting (session_greet) waits for the
 * handshake; STARTTLS replaces s->bev by a TLS filter over it. During a handshake the
 * session is in SESSION_TLS, its input is not read, and the TLS code owns the callbacks;
 * it gives them back with session_callbacks(). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "audit/transcript.h"
#include "conf/conf.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "dns/dns.h"
#include "policy/policy.h"
#include "proto/cidr.h"
#include "smtpd/session.h"

static const size_t SMTPD_OUT_MAX = 65536;          /* unsent replies before we stop reading */
static const unsigned SMTPD_ERRORS_MAX = 50;        /* 4xx/5xx replies before 421 */
static const uint64_t SMTPD_TARPIT_MAX = 300000;    /* longest tarpit delay, ms */

/* True when the reply text is a tarpitted error: 4xx/5xx but not the closing 421. */
static bool session_tarpitted(const struct session *s, const char *fmt)
{
    if (!s->sd || s->sd->c->smtpd.tarpit_initial == 0)
        return false;
    return (fmt[0] == '4' || fmt[0] == '5') && strncmp(fmt, "421", 3) != 0;
}

/* Starts holding replies for the next tarpit delay, then grows the delay. */
static void session_tarpit_start(struct session *s)
{
    const struct conf *c = s->sd->c;
    if (s->tarpit_ms == 0)
        s->tarpit_ms = c->smtpd.tarpit_initial;
    uint64_t ms = s->tarpit_ms;
    s->tarpit_ms += s->tarpit_ms * c->smtpd.tarpit_factor;
    if (s->tarpit_ms > SMTPD_TARPIT_MAX)
        s->tarpit_ms = SMTPD_TARPIT_MAX;
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    s->tarpit_wait = true;
    evtimer_add(s->tarpit_ev, &tv);
}

void session_hold(struct session *s, uint64_t ms)
{
    if (s->tarpit_wait || !s->bev || ms == 0)
        return;
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    s->tarpit_wait = true;
    evtimer_add(s->tarpit_ev, &tv);
}

void session_reply(struct session *s, const char *fmt, ...)
{
    bool err = fmt[0] == '4' || fmt[0] == '5';
    if (err)
        s->errors++;
    if (!s->bev)
        return;
    if (!s->tarpit_wait && err && session_tarpitted(s, fmt))
        session_tarpit_start(s);
    struct evbuffer *out = s->tarpit_wait ? s->held : bufferevent_get_output(s->bev);
    va_list ap;
    va_start(ap, fmt);
    if (s->tr) {
        char line[TRANSCRIPT_TEXT_MAX];
        va_list aq;
        va_copy(aq, ap);
        int n = vsnprintf(line, sizeof line, fmt, aq);
        va_end(aq);
        if (n > 0)
            transcript_line(s->tr, '>', line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
    }
    evbuffer_add_vprintf(out, fmt, ap);
    va_end(ap);
    evbuffer_add(out, "\r\n", 2);
}

/* One NOQUEUE reject line (contract in session.h). */
void session_log_reject(struct session *s, const char *verb, const char *reply,
                        const char *rcpt)
{
    char from[LOG_SANITIZED_SIZE(ADDR_MAX)], helo[LOG_SANITIZED_SIZE(SMTPD_HELO_MAX)];
    const char *snd = s->in_mail && s->txn.sender ? s->txn.sender : "";
    log_sanitize(from, sizeof from, snd, strlen(snd));
    log_sanitize(helo, sizeof helo, s->helo, strlen(s->helo));
    s->sd->st.rejected++;
    log_mail("smtpd", "NOQUEUE: reject: %s from %s[%s]: %s; from=<%s>%s%s%s proto=%s helo=<%s>",
             verb, s->rdns[0] ? s->rdns : "unknown", s->ip, reply, from, rcpt ? " to=<" : "",
             rcpt ? rcpt : "", rcpt ? ">" : "", s->helo_kind == HELO_ESMTP ? "ESMTP" : "SMTP",
             helo);
}

const char *session_host(const struct session *s)
{
    return s->sd && s->sd->c->hostname ? s->sd->c->hostname : "localhost";
}

void session_txn_reset(struct session *s)
{
    record_msg_clear(&s->txn);
    memset(&s->txn, 0, sizeof s->txn);
    s->rcpt_cap = 0;
    s->in_mail = false;
    s->smtputf8 = false;
    s->by_seconds = 0;
    free(s->prepend);
    s->prepend = NULL;
    s->pol_hold = s->pol_discard = false;
    free(s->pol_redirect);
    s->pol_redirect = NULL;
    milters_txn_end(s);
    free(s->body);
    s->body = NULL;
    s->body_len = s->body_cap = s->hdr_len = 0;
    content_spill_discard(s);
    s->content = 0;
    s->refusal = REFUSE_NONE;
    s->content_started = false;
    s->used_bdat = false;
    s->line_len = 0;
    s->cr_pending = false;
}

void session_unlink(struct session *s)
{
    if (!s->sd)
        return;
    if (s->prev)
        s->prev->next = s->next;
    else
        s->sd->sessions = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->sd->nsessions--;
    s->prev = s->next = NULL;
    s->sd = NULL;
}

void session_free(struct session *s)
{
    authn_free(s); /* a pending verification is cancelled: its callback never comes */
    starttls_free(s);
    if (s->bev) {
        log_debug("disconnect from [%s]", s->ip);
        bufferevent_free(s->bev); /* under TLS: the plaintext connection below it too */
        s->bev = NULL;
        s->raw = NULL;
    }
    if (s->tarpit_ev) {
        event_free(s->tarpit_ev);
        s->tarpit_ev = NULL;
    }
    if (s->session_ev) {
        event_free(s->session_ev);
        s->session_ev = NULL;
    }
    if (s->rdns_pending && s->sd && s->sd->dns)
        dns_cancel(s->sd->dns, s->rdns_id);
    s->rdns_pending = false;
    if (s->rdns_ev) {
        event_free(s->rdns_ev);
        s->rdns_ev = NULL;
    }
    policy_client_free(s->pol); /* its lookups and requests end without callbacks */
    s->pol = NULL;
    if (s->state != SESSION_WAIT)
        milters_free(s); /* no callback after it */
    free(s->park);
    s->park = NULL;
    if (s->state == SESSION_WAIT)
        return;
    session_unlink(s);
    session_txn_reset(s);
    transcript_close(s->tr, "disconnect");
    if (s->held)
        evbuffer_free(s->held);
    free(s);
}

/* A command line ended in a bare LF (RFC 5321 §2.3.8 forbids it) from a client outside
 * bare_newline_networks: 521 and close, as Postfix with smtpd_forbid_bare_newline = reject
 * and smtpd_forbid_bare_newline_reject_code = 521. The client does not speak SMTP as we
 * understand it, so nothing after that line is read. */
static void session_bare_lf(struct session *s)
{
    log_info("client=[%s]: bare <LF> received, disconnecting", s->ip);
    session_reply(s, "521 5.5.2 %s Error: bare <LF> received", session_host(s));
    s->closing = true;
}

/* The longest line the session reads: AUTH lines and SASL responses may be SASL_LINE_MAX
 * octets (RFC 4954 §4) when AUTH is on, other commands CMD_LINE_MAX (incl. CRLF). */
static size_t session_line_max(const struct session *s)
{
    return s->sd && s->sd->auth ? SASL_LINE_MAX + 2 : CMD_LINE_MAX;
}

/* True when the next input line (n bytes known) belongs to AUTH: a SASL response, or a
 * line starting with the AUTH verb. */
static bool session_auth_line(const struct session *s, struct evbuffer *in, size_t n)
{
    char head[5];
    if (s->sasl_active)
        return true;
    size_t k = n < sizeof head ? n : sizeof head;
    evbuffer_copyout(in, head, k);
    return authn_is_auth(head, k);
}

/* An over-long line was discarded: 500 5.5.2, or for AUTH lines RFC 4954's 500 5.5.6
 * (a SASL exchange in progress ends). */
static void session_too_long(struct session *s, bool auth)
{
    if (auth && s->sasl_active)
        authn_response(s, NULL, 0, true);
    else if (auth && s->sd && s->sd->auth)
        session_reply(s, "%s", sasl_reply(SASL_ERR_TOOLONG));
    else
        session_reply(s, "500 5.5.2 line too long");
}

/* Hands one complete line to AUTH or the command parser, after the transcript. */
static void session_line(struct session *s, const char *line, size_t n, size_t eol, bool auth)
{
    if (auth)
        authn_transcript(s, line, n);
    else
        transcript_line(s->tr, '<', line, n);
    if (eol == 1 && !s->bare_lf_ok)
        session_bare_lf(s);
    else if (s->sasl_active)
        authn_response(s, line, n, false);
    else
        verbs_command(s, line, n);
}

/* Consumes one command line (or discards part of an over-long one). Returns 1 on
 * progress, 0 to wait for more input. */
static int session_read_cmd(struct session *s, struct evbuffer *in)
{
    size_t eol = 0, max = session_line_max(s);
    struct evbuffer_ptr p = evbuffer_search_eol(in, NULL, &eol, EVBUFFER_EOL_CRLF);
    if (p.pos < 0) {
        size_t len = evbuffer_get_length(in);
        if (len > max || (s->discarding && len > 0)) {
            if (!s->discarding)
                s->discard_auth = session_auth_line(s, in, len);
            evbuffer_drain(in, len);
            s->discarding = true;
            return 1;
        }
        return 0;
    }
    size_t n = (size_t)p.pos;
    bool auth = s->discarding ? s->discard_auth : session_auth_line(s, in, n);
    if (s->discarding || n + 2 > (auth ? max : CMD_LINE_MAX)) {
        evbuffer_drain(in, n + eol);
        s->discarding = false;
        session_too_long(s, auth);
        return 1;
    }
    char line[SASL_LINE_MAX + 2];
    evbuffer_remove(in, line, n);
    evbuffer_drain(in, eol);
    session_line(s, line, n, eol, auth);
    explicit_bzero(line, n); /* it may hold a password */
    return 1;
}

/* Reads one unit of input in the current state. 1 on progress, 0 to wait. */
static int session_read(struct session *s, struct evbuffer *in)
{
    switch (s->state) {
    case SESSION_CMD: return session_read_cmd(s, in);
    case SESSION_DATA: return content_read_data(s, in);
    case SESSION_BDAT: return content_read_bdat(s, in);
    case SESSION_WAIT:
    case SESSION_RDNS:
    case SESSION_POLICY:
    case SESSION_AUTH:
    case SESSION_MILTER:
    case SESSION_TLS: break;
    }
    return 0;
}

/* Handles every complete line the client has sent, as far as the session state allows,
 * then enables reading only if more input can be handled. Never frees s. */
static void session_process(struct session *s)
{
    s->in_process = true;
    /* s->bev is fetched anew each time: STARTTLS puts a TLS filter over it */
    while (!s->closing && s->state != SESSION_WAIT && !s->tarpit_wait) {
        if (evbuffer_get_length(bufferevent_get_output(s->bev)) > SMTPD_OUT_MAX) {
            s->out_blocked = true;
            break;
        }
        if (s->state == SESSION_CMD && s->errors >= SMTPD_ERRORS_MAX) {
            log_info("client=[%s]: too many errors, disconnecting", s->ip);
            session_reply(s, "421 4.7.0 %s Error: too many errors", session_host(s));
            s->closing = true;
            break;
        }
        if (!session_read(s, bufferevent_get_input(s->bev)))
            break;
    }
    s->in_process = false;
    if (s->closing || s->eof || s->state == SESSION_WAIT || s->state == SESSION_RDNS ||
        s->state == SESSION_TLS || s->state == SESSION_AUTH || s->state == SESSION_POLICY ||
        s->state == SESSION_MILTER || s->out_blocked || s->tarpit_wait)
        bufferevent_disable(s->bev, EV_READ);
    else
        bufferevent_enable(s->bev, EV_READ);
}

void session_run(struct session *s)
{
    session_process(s);
    if (s->eof && s->state != SESSION_WAIT && s->state != SESSION_RDNS &&
        s->state != SESSION_POLICY && s->state != SESSION_MILTER && !s->tarpit_wait)
        s->closing = true;
    if (s->closing && !s->tarpit_wait && starttls_flushed(s))
        session_free(s);
}

/* Input arrived. */
static void session_on_read(struct bufferevent *bev, void *arg)
{
    (void)bev;
    session_run(arg);
}

/* Every reply was written (the output drained to the low watermark, 0). */
static void session_on_write(struct bufferevent *bev, void *arg)
{
    struct session *s = arg;
    (void)bev;
    if (s->closing && !s->tarpit_wait) {
        if (starttls_flushed(s))
            session_free(s);
        return;
    }
    if (s->out_blocked) {
        s->out_blocked = false;
        session_run(s);
    }
}

/* Ends the session with a 421 (timeouts): no more input is read. */
static void session_abort(struct session *s, const char *why)
{
    log_info("client=[%s]: %s", s->ip, why);
    if (s->tarpit_wait) { /* release what the tarpit holds, then the 421 */
        evtimer_del(s->tarpit_ev);
        s->tarpit_wait = false;
        evbuffer_add_buffer(bufferevent_get_output(s->bev), s->held);
    }
    session_reply(s, "421 4.4.2 %s Error: %s", session_host(s), why);
    s->closing = true;
    bufferevent_disable(s->bev, EV_READ);
    bufferevent_enable(s->bev, EV_WRITE);
}

/* End of input, idle timeout or connection error. */
static void session_on_event(struct bufferevent *bev, short what, void *arg)
{
    struct session *s = arg;
    if (what & BEV_EVENT_EOF) {
        s->eof = true;
        if (s->state == SESSION_WAIT || s->state == SESSION_RDNS || s->state == SESSION_POLICY ||
            s->state == SESSION_MILTER || s->tarpit_wait)
            /* their callbacks go on from here */
            bufferevent_disable(bev, EV_READ);
        else
            session_run(s);
        return;
    }
    if ((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_READING) && !s->closing &&
        s->state != SESSION_WAIT) {
        session_abort(s, "timeout");
        return;
    }
    if ((what & BEV_EVENT_ERROR) && s->tls.active)
        starttls_log_error(s, what);
    session_free(s);
}

/* The tarpit delay is over: send what was held and go on reading. */
static void session_on_tarpit(evutil_socket_t fd, short what, void *arg)
{
    struct session *s = arg;
    (void)fd;
    (void)what;
    s->tarpit_wait = false;
    if (!s->bev)
        return;
    evbuffer_add_buffer(bufferevent_get_output(s->bev), s->held);
    session_run(s);
}

/* session_timeout passed: 421 and close (after a pending queue_put reports). */
static void session_on_lifetime(evutil_socket_t fd, short what, void *arg)
{
    struct session *s = arg;
    (void)fd;
    (void)what;
    if (!s->bev || s->closing)
        return;
    if (s->state == SESSION_TLS) { /* no SMTP reply can be sent in the middle of a handshake */
        log_info("client=[%s]: session time limit exceeded during the TLS handshake", s->ip);
        session_free(s);
        return;
    }
    if (s->state == SESSION_WAIT) {
        struct timeval tv = {1, 0};
        evtimer_add(s->session_ev, &tv);
        return;
    }
    session_abort(s, "session time limit exceeded");
}

/* Converts ms into a timeval. */
static struct timeval session_tv(uint64_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    return tv;
}

/* The reverse lookup answered (name NULL: no confirmed name) or timed out: the name is
 * final; a session parked in SESSION_RDNS starts its content and goes on. May free s. */
static void session_rdns_end(struct session *s, const char *name)
{
    s->rdns_pending = false;
    evtimer_del(s->rdns_ev);
    if (name)
        log_sanitize(s->rdns, sizeof s->rdns, name, strlen(name));
    if (s->state == SESSION_POLICY && s->park_rdns) {
        session_policy_resume(s);
        return;
    }
    if (s->state != SESSION_RDNS)
        return;
    s->state = SESSION_CMD;
    if (s->closing || !s->bev)
        return;
    content_open(s, s->rdns_next);
    session_run(s);
}

/* dns_ptr answered. */
static void session_on_rdns(void *arg, const char *name)
{
    session_rdns_end(arg, name);
}

/* rdns_timeout passed: the lookup is dropped, the client stays "unknown". */
static void session_on_rdns_timeout(evutil_socket_t fd, short what, void *arg)
{
    struct session *s = arg;
    (void)fd;
    (void)what;
    if (!s->rdns_pending)
        return;
    dns_cancel(s->sd->dns, s->rdns_id);
    log_debug("client=[%s]: reverse lookup timed out", s->ip);
    session_rdns_end(s, NULL);
}

void session_policy_resume(struct session *s)
{
    char *line = s->park;
    s->park = NULL;
    s->park_rdns = false;
    s->state = SESSION_CMD;
    if (!s->bev || s->closing || !line) {
        free(line);
        return;
    }
    verbs_command(s, line, s->park_len);
    free(line);
    session_run(s);
}

bool session_rdns_wait(struct session *s, enum session_state next)
{
    if (!s->rdns_pending)
        return false;
    s->rdns_next = next;
    s->state = SESSION_RDNS;
    return true;
}

/* Starts the client's reverse lookup when a resolver is set and rdns_timeout is not 0. */
static void session_rdns_start(struct session *s, const struct sockaddr *sa)
{
    uint64_t ms = s->sd->c->smtpd.rdns_timeout;
    if (!s->sd->dns || ms == 0)
        return;
    s->rdns_ev = evtimer_new(s->sd->base, session_on_rdns_timeout, s);
    if (!s->rdns_ev)
        log_panic("smtpd: out of memory for a session");
    s->rdns_pending = true; /* dns_ptr never calls back from inside */
    s->rdns_id = dns_ptr(s->sd->dns, sa, session_on_rdns, s);
    struct timeval tv = session_tv(ms);
    evtimer_add(s->rdns_ev, &tv);
}

/* Links s into its server's list. */
static void session_link(struct smtpd *sd, struct session *s)
{
    s->next = sd->sessions;
    if (sd->sessions)
        sd->sessions->prev = s;
    sd->sessions = s;
    sd->nsessions++;
}

void session_callbacks(struct session *s)
{
    bufferevent_setcb(s->bev, session_on_read, session_on_write, session_on_event, s);
}

void session_greet(struct session *s)
{
    if (s->refused) {
        log_info("client=[%s]: refused: %s", s->ip, s->refused_why);
        session_reply(s, "421 4.7.0 %s Error: %s, try again later", session_host(s),
                      s->refused_why);
        s->closing = true;
        bufferevent_disable(s->bev, EV_READ);
        return;
    }
    if (milters_connect(s))
        return; /* greeted once the milters answered */
    char greeting[512];
    policy_greeting(s->sd, greeting, sizeof greeting);
    log_debug("connect from [%s]%s%s%s", s->ip, s->trusted ? " (trusted)" : "",
              s->submission ? " (submission)" : "", s->tls_implicit ? " (TLS)" : "");
    session_reply(s, "220 %s", greeting);
}

void session_start(struct smtpd_listener *l, struct bufferevent *bev, const struct sockaddr *sa)
{
    struct smtpd *sd = l->sd;
    const struct conf *c = sd->c;
    struct session *s = xcalloc(1, sizeof *s);
    s->sd = sd;
    s->bev = bev;
    s->submission = l->submission;
    s->tls_implicit = l->tls;
    s->v6 = sa->sa_family == AF_INET6;
    cidr_sockaddr_to_text(sa, s->ip, sizeof s->ip);
    memcpy(&s->peer, sa, sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                   : sizeof(struct sockaddr_in));
    s->trusted = cidr_match_any(c->smtpd.trusted_networks, c->smtpd.ntrusted_networks, sa);
    s->sloppy_net = cidr_match_any(c->smtpd.sloppy_networks, c->smtpd.nsloppy_networks, sa);
    s->sloppy = s->sloppy_net;
    s->bare_lf_ok =
        cidr_match_any(c->smtpd.bare_newline_networks, c->smtpd.nbare_newline_networks, sa);
    snprintf(s->rdns, sizeof s->rdns, "unknown");
    s->held = evbuffer_new();
    s->tarpit_ev = evtimer_new(sd->base, session_on_tarpit, s);
    s->session_ev = evtimer_new(sd->base, session_on_lifetime, s);
    if (!s->held || !s->tarpit_ev || !s->session_ev)
        log_panic("smtpd: out of memory for a session");
    s->tr = transcript_open(sd->tlog, sd->tspec, 'S', sa, NULL);
    s->refused_why = policy_connection_limit(sd, s);
    s->refused = s->refused_why != NULL;
    session_link(sd, s);
    struct timeval cmd = session_tv(c->smtpd.command_timeout);
    struct timeval life = session_tv(c->smtpd.session_timeout);
    session_callbacks(s);
    bufferevent_set_timeouts(bev, &cmd, &cmd);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
    evtimer_add(s->session_ev, &life);
    if (!s->refused)
        session_rdns_start(s, sa);
    if (sd->policy && !s->refused)
        s->pol = policy_client_create(sd->policy, sa, s->trusted);
    if (!s->refused)
        milters_start(s);
    if (s->tls_implicit)
        starttls_accept(s);
    else
        session_greet(s);
}
