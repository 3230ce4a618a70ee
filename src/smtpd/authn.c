/* authn: SMTP AUTH on the inbound server (RFC 4954), mechanisms PLAIN and LOGIN, over the
 * verifier of src/auth/ (smtpd.auth; docs/auth.md). Contract in session.h.
 *
 * Offered (EHLO "AUTH PLAIN LOGIN", verbs.c) only with a backend and under TLS, or with
 * smtpd.auth.allow_cleartext. Replies: no backend 502; before EHLO 503; authenticated
 * already 503; inside a transaction 503; without TLS 538 5.7.11; bad syntax or base64 501
 * 5.5.2; unknown mechanism 504 5.5.4; "*" 501 5.0.0; a line over 12288 octets 500 5.5.6
 * (the session goes on); accepted 235 2.7.0; refused 535 5.7.8; backend down 454 4.7.0.
 *
 * The loop never waits: while auth_verify() runs the session is in SESSION_AUTH (input not
 * read); the callback replies and resumes. A session freed meanwhile cancels the request
 * (auth_cancel: the callback never comes).
 *
 * Failures: each refused AUTH (535) is held smtpd.auth.failure_delay (or by the tarpit when
 * smtpd.tarpit_initial is set), counted per session (max_failures, then 421 and close) and
 * per client address (max_failures_per_ip within failure_window, a table of at most
 * SMTPD_AUTH_IPS_MAX addresses, the oldest reused when full; over the limit AUTH gets 421
 * and the connection closes). A success clears the address's count.
 *
 * MAIL: on a submission listener an untrusted, unauthenticated client gets 530 5.7.0.
 * AUTH=<mailbox> (RFC 4954 §5) is checked for syntax and then dropped: the queue record has
 * no field for it, so it is never passed on (what §5 asks of a server that cannot vouch
 * for it). sender_must_match: an authenticated client's MAIL FROM must be the login name
 * itself, or login@domain for the hostname or a local_domains domain when the login has no
 * '@' (case-insensitive); "<>" is always allowed; else 553 5.7.1.
 *
 * Secrets: the password is wiped (sasl_server_clear) as soon as it is handed to auth_verify;
 * transcripts show "AUTH PLAIN <hidden>" and "<hidden>" for every response line; logs name
 * only the mechanism, the user and the backend's reason. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "auth/auth.h"
#include "audit/transcript.h"
#include "conf/conf.h"
#include "core/log.h"
#include "core/qid.h"
#include "smtpd/session.h"

static const unsigned AUTHN_MECHS = SASL_MECH_PLAIN | SASL_MECH_LOGIN;

bool authn_is_auth(const char *line, size_t len)
{
    return len >= 4 && strncasecmp(line, "AUTH", 4) == 0 && (len == 4 || line[4] == ' ');
}

/* The entry of ip in the failure table (expired entries restart), or NULL when absent and
 * create is false. When full, the oldest entry is taken over. */
static struct authn_ip *authn_ip_find(struct smtpd *sd, const char *ip, bool create)
{
    const struct smtpd_auth_conf *a = &sd->c->smtpd.auth;
    int64_t now = clock_mono_ms();
    struct authn_ip *oldest = NULL;
    for (size_t i = 0; i < sd->nauth_ips; i++) {
        struct authn_ip *e = &sd->auth_ips[i];
        if (now - e->first_ms >= (int64_t)a->failure_window)
            e->failures = 0;
        if (strcmp(e->ip, ip) == 0)
            return e;
        if (!oldest || e->failures == 0 || (oldest->failures && e->first_ms < oldest->first_ms))
            oldest = e;
    }
    if (!create)
        return NULL;
    struct authn_ip *e = sd->nauth_ips < SMTPD_AUTH_IPS_MAX ? &sd->auth_ips[sd->nauth_ips++]
                                                           : oldest;
    snprintf(e->ip, sizeof e->ip, "%s", ip);
    e->failures = 0;
    e->first_ms = now;
    return e;
}

/* True when the client's address is over max_failures_per_ip. */
static bool authn_ip_blocked(struct session *s)
{
    const struct authn_ip *e = authn_ip_find(s->sd, s->ip, false);
    return e && e->failures >= s->sd->c->smtpd.auth.max_failures_per_ip;
}

/* Counts a failed AUTH against the client's address. */
static void authn_ip_failed(struct session *s)
{
    struct authn_ip *e = authn_ip_find(s->sd, s->ip, true);
    if (e->failures == 0)
        e->first_ms = clock_mono_ms();
    e->failures++;
}

/* Ends the exchange: wipes what the client sent. */
static void authn_end(struct session *s)
{
    sasl_server_clear(&s->sasl);
    s->sasl_active = false;
}

/* Replies to a parser outcome that ends the exchange with an error. */
static void authn_error(struct session *s, int rc)
{
    authn_end(s);
    session_reply(s, "%s", sasl_reply(rc));
}

/* A refused AUTH: held, counted, and past max_failures the session ends. */
static void authn_refused(struct session *s)
{
    const struct conf *c = s->sd->c;
    s->auth_failures++;
    authn_ip_failed(s);
    if (c->smtpd.tarpit_initial == 0 && c->smtpd.auth.failure_delay > 0)
        session_hold(s, c->smtpd.auth.failure_delay);
    session_reply(s, "%s", sasl_reply(SASL_REPLY_INVALID));
    if (s->auth_failures >= c->smtpd.auth.max_failures) {
        log_info("client=[%s]: %u failed AUTH, disconnecting", s->ip, s->auth_failures);
        session_reply(s, "421 4.7.0 %s Error: too many failed authentications", session_host(s));
        s->closing = true;
    }
}

/* The verifier answered. Resumes the session. */
static void authn_on_verified(void *arg, enum auth_result r, const char *user, const char *reason)
{
    struct session *s = arg;
    const char *mech = sasl_mech_name(s->auth_mech);
    s->auth_pending = false;
    s->state = SESSION_CMD;
    if (!s->bev)
        return;
    if (r == AUTH_OK) {
        log_sanitize(s->auth_user, sizeof s->auth_user, user, strlen(user));
        s->authenticated = true;
        struct authn_ip *e = authn_ip_find(s->sd, s->ip, false);
        if (e)
            e->failures = 0;
        log_info("client=[%s]: AUTH ok, sasl_method=%s, sasl_username=%s", s->ip, mech,
                 s->auth_user);
        session_reply(s, "%s", sasl_reply(SASL_REPLY_OK));
    } else {
        log_info("client=[%s]: AUTH %s, sasl_method=%s, sasl_username=%s: %s", s->ip,
                 r == AUTH_FAIL ? "failed" : "temporary failure", mech, s->auth_user,
                 reason ? reason : "");
        s->auth_user[0] = '\0';
        if (r == AUTH_FAIL)
            authn_refused(s);
        else
            session_reply(s, "%s", sasl_reply(SASL_REPLY_TEMPFAIL));
    }
    session_run(s); /* may free s (closing after max_failures) */
}

/* The credentials are complete: hands them to the verifier and pauses the session. */
static void authn_verify(struct session *s)
{
    const struct sasl_creds *cr = &s->sasl.creds;
    struct auth_request rq = {.authzid = cr->authzid, .user = cr->authcid,
                              .password = cr->passwd, .client = s->ip,
                              .secured = session_tls_active(s)};
    s->auth_mech = s->sasl.mech;
    log_sanitize(s->auth_user, sizeof s->auth_user, cr->authcid, strlen(cr->authcid));
    s->state = SESSION_AUTH;
    s->auth_pending = true;
    s->auth_id = auth_verify(s->sd->auth, &rq, authn_on_verified, s);
    authn_end(s); /* auth_verify copied the request */
}

/* Goes on after the parser: 334 challenge, verification, or the error reply. */
static void authn_step_done(struct session *s, int rc, const char *challenge)
{
    if (rc == SASL_CONTINUE) {
        s->sasl_active = true;
        session_reply(s, "334 %s", challenge);
    } else if (rc == SASL_DONE) {
        s->sasl_active = false;
        authn_verify(s);
    } else {
        authn_error(s, rc);
    }
}

/* The state checks before an exchange starts; replies and returns false when refused. */
static bool authn_may_start(struct session *s)
{
    const struct conf *c = s->sd->c;
    if (!s->sd->auth) {
        session_reply(s, "502 5.5.1 Error: authentication is not offered");
        return false;
    }
    if (s->helo_kind != HELO_ESMTP) {
        session_reply(s, "503 5.5.1 Error: send EHLO first");
        return false;
    }
    if (s->authenticated) {
        session_reply(s, "%s", sasl_reply(SASL_REPLY_ALREADY));
        return false;
    }
    if (s->in_mail) {
        session_reply(s, "%s", sasl_reply(SASL_REPLY_IN_TRANSACTION));
        return false;
    }
    if (!session_tls_active(s) && !c->smtpd.auth.allow_cleartext) {
        session_reply(s, "%s", sasl_reply(SASL_REPLY_ENCRYPTION));
        return false;
    }
    if (authn_ip_blocked(s)) {
        log_info("client=[%s]: too many failed AUTH from this address, disconnecting", s->ip);
        session_reply(s, "421 4.7.0 %s Error: too many failed authentications, try later",
                      session_host(s));
        s->closing = true;
        return false;
    }
    return true;
}

void authn_command(struct session *s, const char *arg, size_t len)
{
    const char *challenge = NULL;
    if (!authn_may_start(s))
        return;
    if (len > SASL_LINE_MAX) {
        session_reply(s, "%s", sasl_reply(SASL_ERR_TOOLONG));
        return;
    }
    int rc = sasl_server_start(&s->sasl, arg, len, AUTHN_MECHS, &challenge);
    authn_step_done(s, rc, challenge);
}

void authn_response(struct session *s, const char *line, size_t len, bool too_long)
{
    const char *challenge = NULL;
    if (too_long) {
        authn_error(s, SASL_ERR_TOOLONG);
        return;
    }
    int rc = sasl_server_step(&s->sasl, line, len, &challenge);
    authn_step_done(s, rc, challenge);
}

void authn_transcript(struct session *s, const char *line, size_t len)
{
    char text[64];
    if (!s->tr)
        return;
    if (s->sasl_active) {
        transcript_line(s->tr, '<', "<hidden>", 8);
        return;
    }
    /* "AUTH MECH" as sent (sanitized, bounded), then <hidden> for an initial response */
    size_t m = 5;
    while (m < len && line[m] != ' ' && m < 5 + SASL_MECH_MAX)
        m++;
    char verb[32];
    log_sanitize(verb, sizeof verb, line, m < len ? m : len);
    int n = snprintf(text, sizeof text, "%s%s", verb, m < len ? " <hidden>" : "");
    transcript_line(s->tr, '<', text, (size_t)n < sizeof text ? (size_t)n : sizeof text - 1);
}

void authn_free(struct session *s)
{
    if (s->auth_pending && s->sd && s->sd->auth)
        auth_cancel(s->sd->auth, s->auth_id);
    s->auth_pending = false;
    authn_end(s);
}

void authn_reset(struct session *s)
{
    authn_end(s);
    s->authenticated = false;
    s->auth_user[0] = '\0';
    s->auth_mech = SASL_MECH_NONE;
}

/* Takes AUTH= out of the MAIL parameters, keeping its mailbox in s->mail_auth (the milters'
 * {auth_author}); false (with a reply) when its value is bad. */
static bool authn_mail_param(struct session *s, struct cmd_param *p, size_t *n)
{
    char mailbox[ADDR_MAX + 1];
    for (size_t i = 0; i < *n; i++) {
        if (strcasecmp(p[i].name, "AUTH") != 0)
            continue;
        ssize_t ml = p[i].value ? sasl_mail_auth_parse(p[i].value, strlen(p[i].value), mailbox,
                                                       sizeof mailbox)
                                : -1;
        if (ml < 0) {
            session_reply(s, "501 5.5.4 Bad AUTH parameter");
            return false;
        }
        log_sanitize(s->mail_auth, sizeof s->mail_auth, mailbox, (size_t)ml);
        memmove(&p[i], &p[i + 1], (*n - i - 1) * sizeof *p);
        (*n)--;
        i--;
    }
    return true;
}

/* sender_must_match: true when sender is the login, or login@(hostname | local domain). */
static bool authn_sender_owned(const struct session *s, const char *sender)
{
    const struct conf *c = s->sd->c;
    size_t ul = strlen(s->auth_user);
    if (sender[0] == '\0' || strcasecmp(sender, s->auth_user) == 0)
        return true;
    if (strchr(s->auth_user, '@') || strncasecmp(sender, s->auth_user, ul) != 0 ||
        sender[ul] != '@')
        return false;
    const char *d = sender + ul + 1;
    if (c->hostname && strcasecmp(d, c->hostname) == 0)
        return true;
    for (size_t i = 0; i < c->smtpd.nlocal_domains; i++)
        if (strcasecmp(d, c->smtpd.local_domains[i]) == 0)
            return true;
    return false;
}

bool authn_mail(struct session *s, const char *sender, struct cmd_param *params, size_t *n)
{
    const struct conf *c = s->sd->c;
    char shown[ADDR_MAX * 4 + 1];
    s->mail_auth[0] = '\0';
    if (s->submission && !s->trusted && !s->authenticated) {
        session_reply(s, "%s", sasl_reply(SASL_REPLY_REQUIRED));
        return false;
    }
    if (s->sd->auth && !authn_mail_param(s, params, n))
        return false;
    if (s->authenticated && c->smtpd.auth.sender_must_match &&
        !authn_sender_owned(s, sender)) {
        log_sanitize(shown, sizeof shown, sender, strlen(sender));
        log_info("client=[%s]: MAIL <%s> refused: not owned by sasl_username=%s", s->ip, shown,
                 s->auth_user);
        session_reply(s, "553 5.7.1 <%s>: Sender address rejected: not owned by user %s", shown,
                      s->auth_user);
        return false;
    }
    return true;
}

void authn_log_text(const struct session *s, char *buf, size_t len)
{
    buf[0] = '\0';
    if (s->authenticated)
        snprintf(buf, len, ", sasl_method=%s, sasl_username=%s", sasl_mech_name(s->auth_mech),
                 s->auth_user);
}

void authn_received(const struct session *s, char *buf, size_t len)
{
    buf[0] = '\0';
    if (s->authenticated && s->sd && s->sd->c->smtpd.auth.rcvd_auth_user)
        snprintf(buf, len, "\t(authenticated as %.300s)\r\n", s->auth_user);
}
