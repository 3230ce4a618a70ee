/* smtpc_tls: TLS of the outbound client (contract in smtpc.h, "TLS"; docs/tls.md).
 *
 * Owns: the process-wide TLS client handle (smtpc_set_tls), the policy of the current peer,
 * the switch of a connection from its plain bufferevent to a libevent OpenSSL one, and what
 * the handshake's outcome means.
 *
 * The switch: once the TCP connection is up (implicit TLS) or the server said 2xx to
 * STARTTLS (with nothing after its reply: bytes sent before the handshake could be injected
 * by anyone on the path, the CVE-2011-0411 class), the socket is detached from the plain
 * bufferevent and handed to bufferevent_openssl_socket_new() in connecting state, which
 * reads and writes it through OpenSSL from then on (no second copy of every byte, unlike a
 * filter over the plain bufferevent). Its callbacks are deferred to the loop, so a write
 * never re-enters the state machine.
 *
 * Outcomes: a verified handshake -> EHLO again (its capabilities replace the cleartext
 * ones), or the greeting for implicit TLS. A handshake that fails or stalls (timeout) under
 * an opportunistic policy -> remembered for the peer, and the peer is connected again in
 * cleartext (as Postfix does); under a required policy -> the peer fails with 4.7.5, as
 * does a certificate that must verify and does not. Never a fallback after the peer was
 * asked to verify. */
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include "audit/transcript.h"
#include "conf/conf.h"
#include "core/log.h"
#include "smtpc/internal.h"
#include "tls/client.h"

static struct tls_client *smtpc_tls_client;

/* Sets the TLS client every connection uses. */
void smtpc_set_tls(struct tls_client *tc)
{
    smtpc_tls_client = tc;
}

/* The policy for the current peer: its relay's ssl block, else its anonssl; an
 * opportunistic policy is dropped while a failed handshake with the peer is remembered. */
void smtpc_tls_policy(struct smtpc *c)
{
    const struct peer *p = &c->peers[c->cur];
    const struct relay *r = p->relay;
    struct smtpc_tls_policy *pol = &c->pol;
    memset(pol, 0, sizeof *pol);
    if (p->lmtp && p->sa.ss_family == AF_UNIX)
        return; /* LMTP over a local socket: nothing to protect */
    if (r && r->ssl.mode != RELAY_TLS_DEFAULT) {
        if (r->ssl.mode == RELAY_TLS_NONE)
            return;
        pol->use = pol->mandatory = true;
        pol->implicit = r->ssl.mode == RELAY_TLS_IMPLICIT;
        pol->verify = r->ssl.verify;
        pol->min_tls = r->ssl.min_tls;
        /* a relay with several hosts: the host this peer is (route names each one) */
        pol->name = r->ssl.verify_name ? r->ssl.verify_name
                    : r->nhosts > 1 && p->name && *p->name ? p->name
                                                           : r->host;
        return;
    }
    const struct anonssl *a = &c->cc->anonssl;
    pol->use = a->latent || a->mandatory;
    pol->mandatory = a->mandatory;
    pol->min_tls = a->min_tls;
    pol->name = p->name ? p->name : "";
    if (pol->use && !pol->mandatory &&
        (c->tls_fallback || (smtpc_tls_client &&
                             tls_client_fallback_active(smtpc_tls_client, c->relay, time(NULL))))) {
        log_debug("smtpc %s: TLS handshake failed recently: cleartext", c->relay);
        pol->use = false;
    }
}

/* EHLO/HELO succeeded: STARTTLS when the policy wants it and the server offers it; a
 * required TLS that is not offered fails the peer (4.7.4); otherwise on to AUTH. */
void smtpc_tls_after_ehlo(struct smtpc *c)
{
    char why[SMTPC_WHY_MAX];
    if (!c->tls && c->pol.use && c->caps.starttls && smtpc_tls_client) {
        smtpc_send(c, -1, 0, "STARTTLS");
        c->state = SMTPC_STARTTLS;
        smtpc_timer_arm(c, c->cc->timeout);
        return;
    }
    if (!c->tls && c->pol.mandatory) {
        if (smtpc_tls_client)
            smtpc_why(why, sizeof why, STATUS_TLS_NEEDED,
                      "TLS is required, but was not offered by host %s", c->relay);
        else
            smtpc_why(why, sizeof why, STATUS_TLS, "TLS is required, but not available here");
        smtpc_peer_fail(c, OUTCOME_TEMPFAIL, why);
        return;
    }
    smtpc_auth_start(c);
}

/* A handshake failed (or stalled): cleartext on a new connection when the policy allows,
 * else the peer fails with 4.7.5. */
static void smtpc_tls_failed(struct smtpc *c, const char *reason)
{
    char why[SMTPC_WHY_MAX];
    smtpc_why(why, sizeof why, STATUS_TLS, "TLS handshake with %s failed: %s", c->relay, reason);
    if (!c->pol.mandatory && !c->pol.implicit && smtpc_tls_client) {
        char safe[LOG_SANITIZED_SIZE(SMTPC_WHY_MAX)];
        log_info("smtpc %s: %s; trying again without TLS", c->relay,
                 log_sanitize(safe, sizeof safe, reason, strlen(reason)));
        tls_client_fallback_note(smtpc_tls_client, c->relay, time(NULL));
        c->tls_fallback = true;
        smtpc_peer_retry(c, why);
        return;
    }
    smtpc_peer_fail(c, OUTCOME_TEMPFAIL, why);
}

/* The reply to STARTTLS: 2xx starts the handshake; a refusal fails a required TLS and
 * lets an opportunistic one go on in cleartext. */
void smtpc_tls_on_starttls(struct smtpc *c, const struct reply *r, const char *text)
{
    char why[SMTPC_WHY_MAX];
    if (r->code / 100 != 2) {
        if (c->pol.mandatory) {
            smtpc_why(why, sizeof why, STATUS_TLS,
                      "TLS is required, but host %s refused to start TLS: %s", c->relay, text);
            smtpc_peer_fail(c, OUTCOME_TEMPFAIL, why);
            return;
        }
        smtpc_auth_start(c);
        return;
    }
    if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0) {
        smtpc_tls_failed(c, "data after the reply to STARTTLS");
        return;
    }
    smtpc_tls_start(c);
}

/* Moves the connection's socket from the plain bufferevent to an OpenSSL one in connecting
 * state (the handshake starts at once). */
void smtpc_tls_start(struct smtpc *c)
{
    char why[SMTPC_WHY_MAX];
    const char *what = "no TLS client";
    evutil_socket_t fd = bufferevent_getfd(c->bev);
    SSL *ssl = smtpc_tls_client ? tls_client_ssl(smtpc_tls_client, c->peers[c->cur].relay,
                                                 c->pol.min_tls, c->pol.name, c->relay)
                                : NULL;
    struct bufferevent *tb = NULL;
    if (ssl && fd >= 0) {
        what = "cannot create the TLS bufferevent";
        bufferevent_disable(c->bev, EV_READ | EV_WRITE);
        bufferevent_setfd(c->bev, -1); /* detached: freeing it no longer closes fd */
        smtpc_bev_free(c);
        tb = bufferevent_openssl_socket_new(c->base, fd, ssl, BUFFEREVENT_SSL_CONNECTING,
                                            BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
        if (!tb)
            close(fd);
    }
    if (!tb) {
        if (ssl)
            SSL_free(ssl);
        smtpc_why(why, sizeof why, STATUS_TLS, "TLS with %s: %s", c->relay, what);
        smtpc_peer_fail(c, OUTCOME_TEMPFAIL, why);
        return;
    }
    c->bev = tb;
    c->ssl = ssl;
    bufferevent_openssl_set_allow_dirty_shutdown(tb, 1);
    smtpc_bev_setcb(c, tb);
    bufferevent_enable(tb, EV_READ | EV_WRITE);
    c->state = SMTPC_TLS;
    c->scan_off = c->line_start = 0;
    smtpc_timer_arm(c, c->cc->timeout);
}

/* The handshake completed: check the certificate against the policy, log the session,
 * then EHLO again (or wait for the greeting of implicit TLS). */
static void smtpc_tls_done(struct smtpc *c)
{
    char why[SMTPC_WHY_MAX], note[400];
    struct tls_client_info info;
    tls_client_info(c->ssl, &info);
    if (c->pol.verify && info.trust != TLS_TRUST_VERIFIED) {
        smtpc_why(why, sizeof why, STATUS_TLS, "Server certificate not verified for %s: %s",
                  c->relay, info.why);
        log_warn("smtpc %s: %s", c->relay, why + 6);
        smtpc_peer_fail(c, OUTCOME_TEMPFAIL, why);
        return;
    }
    c->tls = true;
    snprintf(c->tls_text, sizeof c->tls_text, "%s/%s", info.version, info.cipher);
    c->tls_peer = tls_trust_name(info.trust);
    snprintf(note, sizeof note, "TLS %s with cipher %s (%d bits), peer %s%s%s%s", info.version,
             info.cipher, info.bits, c->tls_peer, *info.why ? " (" : "", info.why,
             *info.why ? ")" : "");
    log_info("smtpc %s: %s%s", c->relay, note, info.resumed ? ", session reused" : "");
    transcript_line(c->tr, '*', note, strlen(note));
    memset(&c->caps, 0, sizeof c->caps);
    if (c->pol.implicit) {
        c->state = SMTPC_GREETING;
    } else {
        c->state = SMTPC_EHLO;
        smtpc_send(c, -1, 0, "%s %s", c->peers[c->cur].lmtp ? "LHLO" : "EHLO",
                   smtpc_helo_name(c));
    }
    smtpc_timer_arm(c, c->cc->timeout);
    smtpc_read_pending(c); /* e.g. an implicit-TLS greeting read with the last handshake bytes */
}

/* An event of the OpenSSL bufferevent during the handshake. */
void smtpc_tls_on_event(struct smtpc *c, short what)
{
    if (what & BEV_EVENT_CONNECTED) {
        smtpc_tls_done(c);
        return;
    }
    char reason[256];
    unsigned long e = bufferevent_get_openssl_error(c->bev);
    tls_client_error_text(e, reason, sizeof reason);
    while (bufferevent_get_openssl_error(c->bev) != 0)
        ; /* the rest of the queue says less */
    if (e == 0 && (what & BEV_EVENT_TIMEOUT))
        snprintf(reason, sizeof reason, "timeout");
    smtpc_tls_failed(c, reason);
}

/* The handshake did not finish within the timeout. */
void smtpc_tls_on_timeout(struct smtpc *c)
{
    smtpc_tls_failed(c, "timeout");
}
