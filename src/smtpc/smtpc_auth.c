/* smtpc_auth: SASL client authentication to relays (RFC 4954; contract in smtpc.h, "AUTH").
 *
 * Owns: the choice of mechanism and the exchange. A relay whose auth block is enabled is
 * authenticated to after TLS (or in cleartext only with auth.allow_cleartext), before the
 * first transaction:
 *   PLAIN (RFC 4616)  one response: NUL user NUL password (no authorization identity)
 *   LOGIN             two responses: the user name, then the password
 *   EXTERNAL (4422)   one response: the authorization identity (auth.username, or empty),
 *                     the authentication being the client certificate of ssl.cert_file
 * PLAIN is chosen when the server offers it, else LOGIN; EXTERNAL only with override =
 * "external". With initrsp the first response goes on the AUTH line ("=" when empty); each
 * 334 then gets the next one, by position (not by the prompt's text). 235 starts the
 * session; any other reply, or a 334 with no response left, fails the peer with 4.7.0
 * ("SASL authentication failed; server X said: ..."), which the scheduler defers (as
 * Postfix's default smtp_sasl_auth_soft_bounce).
 *
 * Secrets: responses are base64 (OpenSSL's EVP_EncodeBlock; proto/sasl.h replaces this
 * when it lands) in stack buffers wiped after use; the log and the transcript see "AUTH
 * MECH <hidden>" and "<hidden>". User names and passwords are bounded by conf (255 bytes). */
#include <string.h>

#include <openssl/evp.h>

#include "conf/conf.h"
#include "core/log.h"
#include "smtpc/internal.h"

#define SMTPC_AUTH_FIELD_MAX 255
#define SMTPC_AUTH_MSG_MAX (3 * SMTPC_AUTH_FIELD_MAX + 2)
#define SMTPC_AUTH_B64_MAX (4 * ((SMTPC_AUTH_MSG_MAX + 2) / 3) + 1)
#define SMTPC_AUTH_LINE_MAX (SMTPC_AUTH_B64_MAX + 32)

/* The relay of the current peer when it wants AUTH, else NULL. */
static const struct relay_auth *smtpc_auth_conf(const struct smtpc *c)
{
    const struct relay *r = c->peers[c->cur].relay;
    return r && r->auth.enabled ? &r->auth : NULL;
}

/* Base64 of in[0..len) into out (SMTPC_AUTH_B64_MAX bytes). Returns the length. */
static size_t smtpc_auth_b64(const unsigned char *in, size_t len, char *out)
{
    if (len > SMTPC_AUTH_MSG_MAX)
        log_panic("smtpc_auth: response of %zu bytes", len);
    return (size_t)EVP_EncodeBlock((unsigned char *)out, in, (int)len);
}

/* Response number step of the mechanism in progress, unencoded, into msg. Returns its
 * length, or -1 when the mechanism has no such response. */
static ssize_t smtpc_auth_response(const struct smtpc *c, const struct relay_auth *a,
                                   int step, unsigned char *msg)
{
    const char *user = a->username ? a->username : "", *pass = a->password ? a->password : "";
    size_t ul = strnlen(user, SMTPC_AUTH_FIELD_MAX), pl = strnlen(pass, SMTPC_AUTH_FIELD_MAX);
    switch (c->auth_mech) {
    case EHLO_AUTH_PLAIN:
        if (step != 0)
            return -1;
        msg[0] = '\0';
        memcpy(msg + 1, user, ul);
        msg[1 + ul] = '\0';
        memcpy(msg + 2 + ul, pass, pl);
        return (ssize_t)(2 + ul + pl);
    case EHLO_AUTH_LOGIN:
        if (step > 1)
            return -1;
        memcpy(msg, step == 0 ? user : pass, step == 0 ? ul : pl);
        return (ssize_t)(step == 0 ? ul : pl);
    case EHLO_AUTH_EXTERNAL:
        if (step != 0)
            return -1;
        memcpy(msg, user, ul);
        return (ssize_t)ul;
    }
    return -1;
}

/* Name of the mechanism in progress. */
static const char *smtpc_auth_mech_name(unsigned mech)
{
    return mech == EHLO_AUTH_PLAIN   ? "PLAIN"
           : mech == EHLO_AUTH_LOGIN ? "LOGIN"
                                     : "EXTERNAL";
}

/* Sends the AUTH line, with the first response when initrsp says so. */
static void smtpc_auth_send_first(struct smtpc *c, const struct relay_auth *a)
{
    unsigned char msg[SMTPC_AUTH_MSG_MAX];
    char b64[SMTPC_AUTH_B64_MAX], line[SMTPC_AUTH_LINE_MAX], shown[64];
    const char *mech = smtpc_auth_mech_name(c->auth_mech);
    ssize_t n = a->initrsp ? smtpc_auth_response(c, a, 0, msg) : -1;
    if (n < 0) {
        smtpc_send(c, -1, 0, "AUTH %s", mech);
        return;
    }
    size_t bl = smtpc_auth_b64(msg, (size_t)n, b64);
    int len = snprintf(line, sizeof line, "AUTH %s %s", mech, bl ? b64 : "=");
    snprintf(shown, sizeof shown, "AUTH %s %s", mech, bl ? "<hidden>" : "=");
    smtpc_send_hidden(c, line, (size_t)len, shown);
    c->auth_step = 1;
    explicit_bzero(msg, sizeof msg);
    explicit_bzero(b64, sizeof b64);
    explicit_bzero(line, sizeof line);
}

/* Answers a 334 with the next response; false when there is none. */
static bool smtpc_auth_send_next(struct smtpc *c, const struct relay_auth *a)
{
    unsigned char msg[SMTPC_AUTH_MSG_MAX];
    char b64[SMTPC_AUTH_B64_MAX];
    ssize_t n = smtpc_auth_response(c, a, c->auth_step, msg);
    if (n < 0)
        return false;
    size_t bl = smtpc_auth_b64(msg, (size_t)n, b64);
    smtpc_send_hidden(c, b64, bl, bl ? "<hidden>" : "");
    c->auth_step++;
    explicit_bzero(msg, sizeof msg);
    explicit_bzero(b64, sizeof b64);
    return true;
}

/* Authenticates to a relay that wants it (after TLS unless allowed in cleartext), else
 * starts the session. */
void smtpc_auth_start(struct smtpc *c)
{
    const struct relay_auth *a = smtpc_auth_conf(c);
    char why[SMTPC_WHY_MAX];
    if (!a) {
        smtpc_session_start(c);
        return;
    }
    if (!c->tls && !a->allow_cleartext) {
        smtpc_why(why, sizeof why, STATUS_SECURITY,
                  "SASL authentication to %s needs TLS: credentials are never sent in "
                  "cleartext", c->relay);
        smtpc_peer_fail(c, OUTCOME_TEMPFAIL, why);
        return;
    }
    unsigned offered = c->caps.auth;
    c->auth_mech = a->external                       ? offered & EHLO_AUTH_EXTERNAL
                   : (offered & EHLO_AUTH_PLAIN) != 0 ? EHLO_AUTH_PLAIN
                                                      : offered & EHLO_AUTH_LOGIN;
    if (!c->auth_mech) {
        smtpc_why(why, sizeof why, STATUS_SECURITY,
                  "SASL authentication to %s impossible: it offers no %s", c->relay,
                  a->external ? "AUTH EXTERNAL" : "AUTH PLAIN or LOGIN");
        smtpc_peer_fail(c, OUTCOME_TEMPFAIL, why);
        return;
    }
    c->auth_step = 0;
    c->state = SMTPC_AUTH;
    smtpc_auth_send_first(c, a);
    smtpc_timer_arm(c, c->cc->timeout);
}

/* A reply during the exchange: 334 -> the next response, 235 -> the session, anything
 * else -> the peer fails with the server's reply. */
void smtpc_auth_on_reply(struct smtpc *c, const struct reply *r, const char *text)
{
    const struct relay_auth *a = smtpc_auth_conf(c);
    char why[SMTPC_WHY_MAX], safe[LOG_SANITIZED_SIZE(SMTPC_TEXT_MAX)];
    if (a && r->code == 334 && smtpc_auth_send_next(c, a)) {
        smtpc_timer_arm(c, c->cc->timeout);
        return;
    }
    if (r->code / 100 == 2) {
        log_debug("smtpc %s: authenticated (%s)", c->relay, smtpc_auth_mech_name(c->auth_mech));
        smtpc_session_start(c);
        return;
    }
    smtpc_why(why, sizeof why, STATUS_SECURITY, "SASL authentication failed; server %s said: %s",
              c->relay, r->code == 334 ? "334 (a challenge after the last response)" : text);
    log_warn("smtpc %s: SASL %s authentication failed: %s", c->relay,
             smtpc_auth_mech_name(c->auth_mech), log_sanitize(safe, sizeof safe, text, strlen(text)));
    smtpc_peer_fail(c, OUTCOME_TEMPFAIL, why);
}
