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
 * 334 then gets the next one. 235 starts the
 * session; any other reply, or a 334 with no response left, fails the peer with 4.7.0
 * ("SASL authentication failed; server X said: ..."), which the scheduler defers (as
 * Postfix's default smtp_sasl_auth_soft_bounce).
 *
 * Secrets: responses are formatted by proto/sasl.h (base64, PLAIN message, LOGIN prompts
 * answered by their text, else by position) in stack buffers wiped after use; the log and
 * the transcript see "AUTH MECH <hidden>" and "<hidden>". User names and passwords are
 * bounded by conf (255 bytes, SASL_FIELD_MAX). */
#include <string.h>

#include <openssl/crypto.h>

#include "conf/conf.h"
#include "core/log.h"
#include "proto/sasl.h"
#include "smtpc/internal.h"

/* base64 of the largest response: PLAIN's three fields and two NULs */
#define SMTPC_AUTH_B64_MAX (4 * ((3 * (SASL_FIELD_MAX + 1) + 2) / 3) + 1)
#define SMTPC_AUTH_LINE_MAX (SMTPC_AUTH_B64_MAX + 32)

_Static_assert(EHLO_AUTH_PLAIN == SASL_MECH_PLAIN && EHLO_AUTH_LOGIN == SASL_MECH_LOGIN &&
                   EHLO_AUTH_EXTERNAL == SASL_MECH_EXTERNAL,
               "EHLO AUTH bits are enum sasl_mech");

/* The relay of the current peer when it wants AUTH, else NULL. */
static const struct relay_auth *smtpc_auth_conf(const struct smtpc *c)
{
    const struct relay *r = c->peers[c->cur].relay;
    return r && r->auth.enabled ? &r->auth : NULL;
}

/* Response number step of the mechanism in progress, base64, into out (cap bytes): the
 * answer to challenge (its base64 text; NULL for an initial response). Returns its length,
 * or -1 when the mechanism has no such response (or a credential does not fit). */
static ssize_t smtpc_auth_response(const struct smtpc *c, const struct relay_auth *a, int step,
                                   const char *challenge, char *out, size_t cap)
{
    const char *user = a->username ? a->username : "", *pass = a->password ? a->password : "";
    switch (c->auth_mech) {
    case EHLO_AUTH_PLAIN:
        return step == 0 ? sasl_plain_format(NULL, user, pass, out, cap) : -1;
    case EHLO_AUTH_LOGIN:
        if (step == 0 && !challenge)
            return sasl_b64_encode((const unsigned char *)user, strlen(user), out, cap);
        return challenge ? sasl_login_step((unsigned)step, challenge, strlen(challenge), user, pass,
                                           out, cap)
                         : -1;
    case EHLO_AUTH_EXTERNAL: /* the authorization identity, if any */
        return step == 0 ? sasl_b64_encode((const unsigned char *)user, strlen(user), out, cap)
                         : -1;
    }
    return -1;
}

/* Sends the AUTH line, with the first response when initrsp says so. */
static void smtpc_auth_send_first(struct smtpc *c, const struct relay_auth *a)
{
    char b64[SMTPC_AUTH_B64_MAX], line[SMTPC_AUTH_LINE_MAX], shown[64];
    const char *mech = sasl_mech_name((enum sasl_mech)c->auth_mech);
    ssize_t n = a->initrsp ? smtpc_auth_response(c, a, 0, NULL, b64, sizeof b64) : -1;
    ssize_t len =
        sasl_client_auth((enum sasl_mech)c->auth_mech, n < 0 ? NULL : b64, line, sizeof line);
    if (len < 0)
        log_panic("smtpc_auth: AUTH line of %s does not fit", mech);
    snprintf(shown, sizeof shown, "AUTH %s%s", mech, n < 0 ? "" : n > 0 ? " <hidden>" : " =");
    smtpc_send_hidden(c, line, (size_t)len, shown);
    c->auth_step = n < 0 ? 0 : 1;
    OPENSSL_cleanse(b64, sizeof b64);
    OPENSSL_cleanse(line, sizeof line);
}

/* Answers the 334 whose text is challenge with the next response; false when there is
 * none. */
static bool smtpc_auth_send_next(struct smtpc *c, const struct relay_auth *a, const char *challenge)
{
    char b64[SMTPC_AUTH_B64_MAX];
    ssize_t n = smtpc_auth_response(c, a, c->auth_step, challenge, b64, sizeof b64);
    if (n < 0)
        return false;
    smtpc_send_hidden(c, b64, (size_t)n, n ? "<hidden>" : "");
    c->auth_step++;
    OPENSSL_cleanse(b64, sizeof b64);
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
                  "cleartext",
                  c->relay);
        smtpc_peer_fail(c, OUTCOME_TEMPFAIL, why);
        return;
    }
    unsigned offered = c->caps.auth;
    c->auth_mech = a->external                        ? offered & EHLO_AUTH_EXTERNAL
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
    if (a && r->code == 334 && smtpc_auth_send_next(c, a, r->text)) {
        smtpc_timer_arm(c, c->cc->timeout);
        return;
    }
    if (r->code / 100 == 2) {
        log_debug("smtpc %s: authenticated (%s)", c->relay,
                  sasl_mech_name((enum sasl_mech)c->auth_mech));
        smtpc_session_start(c);
        return;
    }
    smtpc_why(why, sizeof why, STATUS_SECURITY, "SASL authentication failed; server %s said: %s",
              c->relay, r->code == 334 ? "334 (a challenge after the last response)" : text);
    log_warn("smtpc %s: SASL %s authentication failed: %s", c->relay,
             sasl_mech_name((enum sasl_mech)c->auth_mech),
             log_sanitize(safe, sizeof safe, text, strlen(text)));
    smtpc_peer_fail(c, OUTCOME_TEMPFAIL, why);
}
