/* starttls: TLS on an inbound session (contract in session.h; docs/tls.md).
 *
 * STARTTLS (RFC 3207) is offered in EHLO when smtpd.tls has a certificate and the session
 * is not under TLS yet. The 220 goes out in plaintext; then whatever the client sent after
 * the STARTTLS line and before our 220 is discarded, never executed (CVE-2011-0411:
 * commands injected in plaintext must not run inside the TLS session), and a libevent
 * OpenSSL filter (bufferevent_openssl_filter_new) is put over the plaintext bufferevent,
 * which it then owns. Its write high watermark is SMTPD_TLS_OUT_MAX so a client that does
 * not read stops the filter, and through it the session (backpressure as in plaintext).
 * Implicit TLS listeners (smtpd.tls_listen, RFC 8314) wrap the socket at once
 * (bufferevent_openssl_socket_new); the greeting waits for the handshake.
 *
 * Every TLS bufferevent defers its callbacks (BEV_OPT_DEFER_CALLBACKS): a filter runs the
 * read callback from inside bufferevent_enable(), and a deferred callback can never run
 * inside the session code that enabled it.
 *
 * The handshake has smtpd.tls.handshake_timeout in all; a failure (garbage, a protocol the
 * policy refuses, the client leaving, the time limit) closes the connection with one log
 * line and no SMTP reply (none can be sent in the middle of a handshake). Once it is over:
 * the TLS state is kept in s->tls, the session starts again as after the greeting (no
 * HELO/EHLO, no transaction: RFC 3207 §4.2), a line logs `tls=VERSION/CIPHER`, and with
 * smtpd.tls.require_cert a client without a verified certificate gets 421 4.7.1 and is
 * disconnected.
 *
 * Closing: a filter's output drains into the plaintext bufferevent below it, so the
 * session may be freed only when that one's output is empty too (starttls_flushed). */
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>

#include "audit/transcript.h"
#include "conf/conf.h"
#include "core/log.h"
#include "smtpd/session.h"
#include "tls/tls.h"

static const size_t SMTPD_TLS_OUT_MAX = 65536; /* ciphertext unsent before the filter waits */
enum { STARTTLS_CN_MAX = 64 };                  /* a certificate name in Received */

bool session_tls_active(const struct session *s)
{
    return s->tls.active;
}

const struct tls_info *session_tls_info(const struct session *s)
{
    return &s->tls;
}

void starttls_free(struct session *s)
{
    if (s->raw_watch && s->raw)
        evbuffer_remove_cb_entry(bufferevent_get_output(s->raw), s->raw_watch);
    s->raw_watch = NULL;
    if (s->tls_ev) {
        event_free(s->tls_ev);
        s->tls_ev = NULL;
    }
    if (s->close_ev) {
        event_free(s->close_ev);
        s->close_ev = NULL;
    }
}

/* The plaintext output under the filter has drained: the closing session can go. */
static void starttls_on_close(evutil_socket_t fd, short what, void *arg)
{
    struct session *s = arg;
    (void)fd;
    (void)what;
    session_free(s);
}

/* Bytes left the plaintext output under the filter; once it is empty, free the session
 * from the loop (not from inside the bufferevent's write). */
static void starttls_on_drain(struct evbuffer *b, const struct evbuffer_cb_info *info, void *arg)
{
    struct session *s = arg;
    if (info->n_deleted > 0 && evbuffer_get_length(b) == 0)
        event_active(s->close_ev, EV_TIMEOUT, 1);
}

bool starttls_flushed(struct session *s)
{
    if (evbuffer_get_length(bufferevent_get_output(s->bev)) > 0)
        return false;
    if (!s->raw || evbuffer_get_length(bufferevent_get_output(s->raw)) == 0)
        return true;
    if (!s->raw_watch) {
        s->close_ev = evtimer_new(bufferevent_get_base(s->bev), starttls_on_close, s);
        if (!s->close_ev)
            log_panic("smtpd: out of memory for a session");
        s->raw_watch = evbuffer_add_cb(bufferevent_get_output(s->raw), starttls_on_drain, s);
        if (!s->raw_watch)
            log_panic("smtpd: out of memory for a session");
    }
    return false;
}

/* Why the TLS bufferevent failed: OpenSSL's errors kept by libevent, else what. */
static const char *starttls_why(struct bufferevent *bev, short what, char *buf, size_t len)
{
    unsigned long e;
    size_t o = 0;
    buf[0] = '\0';
    while ((e = bufferevent_get_openssl_error(bev)) != 0 && o + 1 < len) {
        const char *r = ERR_reason_error_string(e);
        if (!r) /* libevent also queues codes that are not OpenSSL's */
            continue;
        int n = snprintf(buf + o, len - o, "%s%s", o ? "; " : "", r);
        o = n < 0 ? o : o + (size_t)n < len ? o + (size_t)n : len - 1;
    }
    if (o == 0)
        snprintf(buf, len, "%s", (what & BEV_EVENT_EOF) ? "connection closed by the client"
                                 : (what & BEV_EVENT_TIMEOUT) ? "timeout"
                                                              : "connection error");
    return buf;
}

void starttls_log_error(struct session *s, short what)
{
    char why[512];
    log_info("client=[%s]: TLS error: %s", s->ip, starttls_why(s->bev, what, why, sizeof why));
}

/* The log line of a finished handshake: version, cipher, resumption, client certificate. */
static void starttls_log(const struct session *s)
{
    const struct tls_info *t = &s->tls;
    char cert[2 * TLS_NAME_MAX + 160];
    if (!t->peer_cert)
        snprintf(cert, sizeof cert, "none");
    else
        snprintf(cert, sizeof cert, "%s%s%s subject=\"%s\" issuer=\"%s\"",
                 t->verified ? "verified" : "unverified (", t->verified ? "" : t->verify_text,
                 t->verified ? "" : ")", t->subject, t->issuer);
    log_info("client=[%s]: TLS established (%s): tls=%s/%s bits=%d resumed=%s ccert=%s", s->ip,
             s->tls_implicit ? "implicit" : "STARTTLS", t->version, t->cipher, t->bits,
             t->resumed ? "yes" : "no", cert);
    char note[TRANSCRIPT_TEXT_MAX];
    int n = snprintf(note, sizeof note, "TLS %s/%s ccert=%s", t->version, t->cipher, cert);
    if (n > 0)
        transcript_line(s->tr, '*', note, (size_t)n < sizeof note ? (size_t)n : sizeof note - 1);
}

/* The log line, and the transcript note, of a handshake that failed. */
static void starttls_log_failure(const struct session *s, const char *why)
{
    char note[600];
    log_info("client=[%s]: TLS handshake failed (%s): %s", s->ip,
             s->tls_implicit ? "implicit" : "STARTTLS", why);
    int n = snprintf(note, sizeof note, "TLS handshake failed: %s", why);
    if (n > 0)
        transcript_line(s->tr, '*', note, (size_t)n < sizeof note ? (size_t)n : sizeof note - 1);
}

/* require_cert: true when the session may go on, else 421 and close. */
static bool starttls_cert_ok(struct session *s)
{
    if (!s->sd->c->smtpd.tls.require_cert || (s->tls.peer_cert && s->tls.verified))
        return true;
    const char *why = s->tls.peer_cert ? "client certificate not trusted"
                                       : "client certificate required";
    log_info("client=[%s]: refused: %s", s->ip, why);
    session_reply(s, "421 4.7.1 %s Error: %s", session_host(s), why);
    s->closing = true;
    return false;
}

/* The handshake is over: record the TLS state, start the session again (RFC 3207 §4.2:
 * nothing known from before the handshake counts), then greet (implicit) or wait for
 * EHLO. May free s. */
static void starttls_established(struct session *s)
{
    const struct conf *c = s->sd->c;
    evtimer_del(s->tls_ev);
    tls_info_get(bufferevent_openssl_get_ssl(s->bev), &s->tls);
    starttls_log(s);
    session_txn_reset(s);
    authn_reset(s);
    s->helo_kind = HELO_NONE;
    s->helo[0] = '\0';
    s->sloppy = s->sloppy_net;
    s->discarding = false;
    s->state = SESSION_CMD;
    session_callbacks(s);
    if (s->tls_implicit) {
        struct timeval cmd = {(time_t)(c->smtpd.command_timeout / 1000),
                              (suseconds_t)(c->smtpd.command_timeout % 1000) * 1000};
        bufferevent_set_timeouts(s->bev, &cmd, &cmd);
    }
    bufferevent_enable(s->bev, EV_WRITE);
    if (starttls_cert_ok(s) && s->tls_implicit)
        session_greet(s);
    session_run(s);
}

/* The handshake ended, well or not. */
static void starttls_on_event(struct bufferevent *bev, short what, void *arg)
{
    struct session *s = arg;
    char why[512];
    if (what & BEV_EVENT_CONNECTED) {
        starttls_established(s);
        return;
    }
    starttls_log_failure(s, starttls_why(bev, what, why, sizeof why));
    session_free(s);
}

/* smtpd.tls.handshake_timeout passed. */
static void starttls_on_timeout(evutil_socket_t fd, short what, void *arg)
{
    struct session *s = arg;
    char why[64];
    (void)fd;
    (void)what;
    snprintf(why, sizeof why, "timeout after %llu ms",
             (unsigned long long)s->sd->c->smtpd.tls.handshake_timeout);
    starttls_log_failure(s, why);
    session_free(s);
}

/* Waits for the handshake on s->bev (already a TLS bufferevent in accepting state). */
static void starttls_handshake(struct session *s)
{
    uint64_t ms = s->sd->c->smtpd.tls.handshake_timeout;
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    s->state = SESSION_TLS;
    bufferevent_openssl_set_allow_dirty_shutdown(s->bev, 1);
    bufferevent_setcb(s->bev, NULL, NULL, starttls_on_event, s);
    bufferevent_enable(s->bev, EV_READ | EV_WRITE);
    s->tls_ev = evtimer_new(s->sd->base, starttls_on_timeout, s);
    if (!s->tls_ev)
        log_panic("smtpd: out of memory for a session");
    evtimer_add(s->tls_ev, &tv);
}

void starttls_accept(struct session *s)
{
    starttls_handshake(s);
}

/* After the 220: drops the plaintext the client sent too early, puts the TLS filter over
 * the connection and waits for the handshake. */
static void starttls_switch(struct session *s)
{
    struct bufferevent *raw = s->bev;
    struct evbuffer *in = bufferevent_get_input(raw);
    size_t early = evbuffer_get_length(in);
    if (early > 0) {
        log_info("client=[%s]: %zu bytes sent after STARTTLS before its reply: discarded", s->ip,
                 early);
        evbuffer_drain(in, early);
    }
    SSL *ssl = tls_server_ssl_new(s->sd->tls);
    struct bufferevent *f =
        ssl ? bufferevent_openssl_filter_new(s->sd->base, raw, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                             BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS)
            : NULL;
    if (!f) {
        log_warn("client=[%s]: STARTTLS: cannot set up TLS (out of memory)", s->ip);
        s->closing = true;
        return;
    }
    bufferevent_setwatermark(raw, EV_WRITE, 0, SMTPD_TLS_OUT_MAX);
    s->raw = raw;
    s->bev = f;
    starttls_handshake(s);
}

void starttls_command(struct session *s)
{
    if (!s->sd->tls) {
        session_reply(s, "502 5.5.1 Error: STARTTLS is not offered (no smtpd.tls certificate)");
        return;
    }
    if (s->tls.active) {
        session_reply(s, "503 5.5.1 Error: TLS already active");
        return;
    }
    if (s->in_mail) {
        session_reply(s, "503 5.5.1 Error: MAIL transaction in progress");
        return;
    }
    session_reply(s, "220 2.0.0 Ready to start TLS");
    starttls_switch(s);
}

/* A certificate name for a header comment: printable ASCII without ( ) \ ", at most
 * STARTTLS_CN_MAX bytes; anything else becomes '?'. */
static void starttls_header_name(char *dst, size_t len, const char *src)
{
    size_t o = 0;
    for (; *src && o + 1 < len && o < STARTTLS_CN_MAX; src++) {
        unsigned char ch = (unsigned char)*src;
        dst[o++] = (ch >= 0x20 && ch < 0x7f && !strchr("()\\\"", ch)) ? (char)ch : '?';
    }
    dst[o] = '\0';
}

void starttls_received(const struct session *s, char *buf, size_t len)
{
    const struct tls_info *t = &s->tls;
    const struct smtpd_tls_conf *tc = &s->sd->c->smtpd.tls;
    char cert[2 * STARTTLS_CN_MAX + 64], cn[STARTTLS_CN_MAX + 1], issuer[STARTTLS_CN_MAX + 1];
    buf[0] = '\0';
    if (!t->active)
        return;
    if (!tc->ask_cert && !tc->require_cert) {
        snprintf(cert, sizeof cert, "No client certificate requested");
    } else if (!t->peer_cert) {
        snprintf(cert, sizeof cert, "Client did not present a certificate");
    } else {
        starttls_header_name(cn, sizeof cn, t->subject_cn);
        starttls_header_name(issuer, sizeof issuer, t->issuer_cn);
        snprintf(cert, sizeof cert, "Client CN \"%s\", Issuer \"%s\" (%s)", cn, issuer,
                 t->verified ? "verified OK" : "not verified");
    }
    snprintf(buf, len, "\t(using %s with cipher %s (%d/%d bits))\r\n\t(%s)\r\n", t->version,
             t->cipher, t->bits, t->alg_bits, cert);
}
