/* sasl: SASL over SMTP, PLAIN and LOGIN, base64 and AUTH= (see sasl.h for the contract).
 *
 * Base64 goes through OpenSSL: EVP_DecodeBlock does the arithmetic but is lenient (it skips
 * surrounding whitespace and returns the padded length), so sasl_b64_decode checks the
 * alphabet and padding itself first, then trims the pad bytes, then re-encodes with
 * EVP_EncodeBlock and compares to reject non-zero unused bits (one canonical text per
 * byte string, so two parsers never disagree about what a response says).
 * The server state machine keeps only what it decoded; the decoded buffers on the stack are
 * wiped before returning since they may hold a password. */
#include "proto/sasl.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "proto/esmtp.h"

/* One byte of the standard base64 alphabet. */
static bool sasl_b64_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

/* Number of '=' pad bytes at the end of a well-formed quantum string, or -1 when the
 * alphabet or the padding is wrong. len is a non-zero multiple of 4. */
static int sasl_b64_pads(const char *in, size_t len)
{
    int pads = 0;
    if (in[len - 1] == '=')
        pads = in[len - 2] == '=' ? 2 : 1;
    for (size_t i = 0; i < len - (size_t)pads; i++)
        if (!sasl_b64_char((unsigned char)in[i]))
            return -1;
    return pads;
}

ssize_t sasl_b64_decode(const char *in, size_t len, unsigned char *out, size_t cap)
{
    unsigned char buf[SASL_DECODED_MAX];
    char again[SASL_LINE_MAX + 1];
    if (len > SASL_LINE_MAX || len % 4 != 0)
        return -1;
    if (len == 0)
        return 0;
    int pads = sasl_b64_pads(in, len);
    if (pads < 0)
        return -1;
    int n = EVP_DecodeBlock(buf, (const unsigned char *)in, (int)len);
    if (n < 0 || (size_t)n != len / 4 * 3)
        return -1;
    n -= pads;
    ssize_t ret = -1;
    /* canonical: re-encoding gives the same text (unused bits were zero) */
    if (EVP_EncodeBlock((unsigned char *)again, buf, n) == (int)len &&
        memcmp(again, in, len) == 0 && (size_t)n <= cap) {
        memcpy(out, buf, (size_t)n);
        ret = n;
    }
    OPENSSL_cleanse(buf, sizeof buf);
    return ret;
}

ssize_t sasl_b64_encode(const unsigned char *in, size_t len, char *out, size_t cap)
{
    size_t need = (len + 2) / 3 * 4;
    if (len > SASL_DECODED_MAX || cap < need + 1)
        return -1;
    return EVP_EncodeBlock((unsigned char *)out, in, (int)len);
}

enum sasl_mech sasl_mech_parse(const char *name, size_t len)
{
    static const struct {
        const char *name;
        enum sasl_mech m;
    } mechs[] = {
        {"PLAIN", SASL_MECH_PLAIN}, {"LOGIN", SASL_MECH_LOGIN}, {"EXTERNAL", SASL_MECH_EXTERNAL}};
    for (size_t i = 0; i < sizeof mechs / sizeof mechs[0]; i++)
        if (strlen(mechs[i].name) == len && strncasecmp(mechs[i].name, name, len) == 0)
            return mechs[i].m;
    return SASL_MECH_NONE;
}

const char *sasl_mech_name(enum sasl_mech m)
{
    switch (m) {
    case SASL_MECH_PLAIN:
        return "PLAIN";
    case SASL_MECH_LOGIN:
        return "LOGIN";
    case SASL_MECH_EXTERNAL:
        return "EXTERNAL";
    case SASL_MECH_NONE:
        break;
    }
    return "";
}

bool sasl_identity_valid(const char *s, size_t len)
{
    if (len == 0 || len > SASL_FIELD_MAX || !esmtp_utf8_valid(s, len))
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return false;
    }
    return true;
}

/* Copies len bytes of a field into dst (SASL_FIELD_MAX + 1) as a C string. */
static void sasl_field_copy(char *dst, const unsigned char *src, size_t len)
{
    memcpy(dst, src, len);
    dst[len] = '\0';
}

int sasl_plain_parse(const unsigned char *msg, size_t len, struct sasl_creds *c)
{
    const unsigned char *nul1 = memchr(msg, '\0', len);
    if (nul1 == NULL)
        return SASL_ERR_SYNTAX;
    const unsigned char *user = nul1 + 1;
    size_t rest = len - (size_t)(user - msg);
    const unsigned char *nul2 = memchr(user, '\0', rest);
    if (nul2 == NULL)
        return SASL_ERR_SYNTAX;
    const unsigned char *pass = nul2 + 1;
    size_t zlen = (size_t)(nul1 - msg), ulen = (size_t)(nul2 - user);
    size_t plen = len - (size_t)(pass - msg);
    if (memchr(pass, '\0', plen) != NULL || ulen == 0 || plen == 0)
        return SASL_ERR_SYNTAX;
    if ((zlen > 0 && !sasl_identity_valid((const char *)msg, zlen)) ||
        !sasl_identity_valid((const char *)user, ulen) || plen > SASL_FIELD_MAX)
        return SASL_ERR_FIELD;
    sasl_field_copy(c->authzid, msg, zlen);
    sasl_field_copy(c->authcid, user, ulen);
    sasl_field_copy(c->passwd, pass, plen);
    return SASL_DONE;
}

ssize_t sasl_response_decode(const char *line, size_t len, unsigned char *out, size_t cap)
{
    if (len > SASL_LINE_MAX)
        return SASL_ERR_TOOLONG;
    if (len == 1 && line[0] == '*')
        return SASL_ERR_CANCEL;
    ssize_t n = sasl_b64_decode(line, len, out, cap);
    return n < 0 ? SASL_ERR_BASE64 : n;
}

/* PLAIN: the decoded message completes the exchange. */
static int sasl_plain_finish(struct sasl_server *s, const unsigned char *msg, size_t len)
{
    int r = sasl_plain_parse(msg, len, &s->creds);
    s->step = r == SASL_DONE ? -1 : s->step;
    return r;
}

/* LOGIN: a decoded user name (prompt 1) or password (prompt 2). */
static int sasl_login_take(struct sasl_server *s, const unsigned char *v, size_t len,
                           const char **challenge)
{
    if (s->step == 1) {
        if (memchr(v, '\0', len) != NULL || !sasl_identity_valid((const char *)v, len))
            return SASL_ERR_FIELD;
        sasl_field_copy(s->creds.authcid, v, len);
        s->step = 2;
        *challenge = SASL_LOGIN_PROMPT_PASS;
        return SASL_CONTINUE;
    }
    if (len == 0 || len > SASL_FIELD_MAX || memchr(v, '\0', len) != NULL)
        return SASL_ERR_FIELD;
    sasl_field_copy(s->creds.passwd, v, len);
    s->step = -1;
    return SASL_DONE;
}

/* Dispatches decoded client data to the mechanism. */
static int sasl_server_take(struct sasl_server *s, const unsigned char *v, size_t len,
                            const char **challenge)
{
    if (s->mech == SASL_MECH_PLAIN)
        return sasl_plain_finish(s, v, len);
    return sasl_login_take(s, v, len, challenge);
}

/* Splits the AUTH argument into mechanism and initial response (ir NULL when absent). */
static int sasl_auth_split(const char *arg, size_t len, size_t *mlen, const char **ir,
                           size_t *irlen)
{
    size_t i = 0;
    while (i < len && arg[i] != ' ')
        i++;
    if (i == 0 || i > SASL_MECH_MAX)
        return SASL_ERR_SYNTAX;
    for (size_t k = 0; k < i; k++) {
        unsigned char c = (unsigned char)arg[k];
        if (!isalnum(c) && c != '-' && c != '_')
            return SASL_ERR_SYNTAX;
    }
    *mlen = i;
    *ir = NULL;
    *irlen = 0;
    if (i < len) {
        *ir = arg + i + 1;
        *irlen = len - i - 1;
        if (*irlen == 0 || memchr(*ir, ' ', *irlen) != NULL)
            return SASL_ERR_SYNTAX;
    }
    return SASL_CONTINUE;
}

int sasl_server_start(struct sasl_server *s, const char *arg, size_t len, unsigned offered,
                      const char **challenge)
{
    size_t mlen, irlen;
    const char *ir;
    memset(s, 0, sizeof *s);
    if (len > SASL_LINE_MAX)
        return SASL_ERR_TOOLONG;
    int r = sasl_auth_split(arg, len, &mlen, &ir, &irlen);
    if (r < 0)
        return r;
    enum sasl_mech m = sasl_mech_parse(arg, mlen);
    if ((m != SASL_MECH_PLAIN && m != SASL_MECH_LOGIN) || !(offered & m))
        return SASL_ERR_MECH;
    s->mech = m;
    s->step = 1;
    if (ir == NULL) {
        *challenge = m == SASL_MECH_PLAIN ? "" : SASL_LOGIN_PROMPT_USER;
        return SASL_CONTINUE;
    }
    unsigned char buf[SASL_DECODED_MAX];
    ssize_t n = irlen == 1 && ir[0] == '=' ? 0 : sasl_b64_decode(ir, irlen, buf, sizeof buf);
    r = n < 0 ? SASL_ERR_BASE64 : sasl_server_take(s, buf, (size_t)n, challenge);
    OPENSSL_cleanse(buf, sizeof buf);
    if (r < 0)
        sasl_server_clear(s);
    return r;
}

int sasl_server_step(struct sasl_server *s, const char *line, size_t len, const char **challenge)
{
    if (s->step <= 0)
        return SASL_ERR_STATE;
    unsigned char buf[SASL_DECODED_MAX];
    ssize_t n = sasl_response_decode(line, len, buf, sizeof buf);
    int r = n < 0 ? (int)n : sasl_server_take(s, buf, (size_t)n, challenge);
    OPENSSL_cleanse(buf, sizeof buf);
    if (r < 0)
        sasl_server_clear(s);
    return r;
}

void sasl_server_clear(struct sasl_server *s)
{
    OPENSSL_cleanse(s, sizeof *s);
    s->mech = SASL_MECH_NONE;
    s->step = 0;
}

ssize_t sasl_plain_format(const char *authzid, const char *user, const char *pass, char *out,
                          size_t cap)
{
    unsigned char msg[3 * (SASL_FIELD_MAX + 1)];
    size_t zlen = authzid ? strlen(authzid) : 0, ulen = strlen(user), plen = strlen(pass);
    if (zlen > SASL_FIELD_MAX || ulen == 0 || ulen > SASL_FIELD_MAX || plen == 0 ||
        plen > SASL_FIELD_MAX)
        return -1;
    memcpy(msg, authzid ? authzid : "", zlen);
    msg[zlen] = '\0';
    memcpy(msg + zlen + 1, user, ulen);
    msg[zlen + 1 + ulen] = '\0';
    memcpy(msg + zlen + ulen + 2, pass, plen);
    ssize_t n = sasl_b64_encode(msg, zlen + ulen + plen + 2, out, cap);
    OPENSSL_cleanse(msg, sizeof msg);
    return n;
}

ssize_t sasl_client_auth(enum sasl_mech m, const char *ir, char *out, size_t cap)
{
    const char *name = sasl_mech_name(m);
    size_t irlen = ir ? strlen(ir) : 0;
    if (*name == '\0')
        return -1;
    size_t need = 5 + strlen(name) + (ir ? 1 + (irlen ? irlen : 1) : 0);
    if (need > SASL_LINE_MAX || need + 1 > cap)
        return -1;
    int n = snprintf(out, cap, "AUTH %s%s%s", name, ir ? " " : "", ir ? (irlen ? ir : "=") : "");
    return n;
}

/* True when the decoded prompt (len bytes) contains word, ignoring case. */
static bool sasl_prompt_has(const unsigned char *p, size_t len, const char *word)
{
    size_t wl = strlen(word);
    for (size_t i = 0; i + wl <= len; i++)
        if (strncasecmp((const char *)p + i, word, wl) == 0)
            return true;
    return false;
}

ssize_t sasl_login_step(unsigned step, const char *challenge, size_t len, const char *user,
                        const char *pass, char *out, size_t cap)
{
    unsigned char prompt[SASL_DECODED_MAX];
    ssize_t n = sasl_b64_decode(challenge, len, prompt, sizeof prompt);
    if (n < 0 || step > 1)
        return -1;
    bool want_pass = step == 1;
    if (sasl_prompt_has(prompt, (size_t)n, "pass"))
        want_pass = true;
    else if (sasl_prompt_has(prompt, (size_t)n, "user") ||
             sasl_prompt_has(prompt, (size_t)n, "name"))
        want_pass = false;
    const char *v = want_pass ? pass : user;
    size_t vlen = strlen(v);
    if (vlen == 0 || vlen > SASL_FIELD_MAX)
        return -1;
    return sasl_b64_encode((const unsigned char *)v, vlen, out, cap);
}

ssize_t sasl_mail_auth_parse(const char *value, size_t len, char *out, size_t cap)
{
    if (cap == 0)
        return -1;
    if (len == 2 && value[0] == '<' && value[1] == '>') {
        out[0] = '\0';
        return 0;
    }
    ssize_t n = esmtp_xtext_decode(value, len, out, cap);
    if (n <= 0)
        return -1;
    for (ssize_t i = 0; i < n; i++)
        if ((unsigned char)out[i] < 0x20 || (unsigned char)out[i] > 0x7e)
            return -1;
    return n;
}

ssize_t sasl_mail_auth_format(const char *mailbox, char *out, size_t cap)
{
    if (mailbox == NULL || *mailbox == '\0')
        return cap >= 3 ? snprintf(out, cap, "<>") : -1;
    size_t len = strlen(mailbox);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)mailbox[i] < 0x20 || (unsigned char)mailbox[i] > 0x7e)
            return -1;
    if (len == 2 && mailbox[0] == '<' && mailbox[1] == '>') {
        /* A mailbox spelled "<>" would read back as the empty authority: encode the '<'. */
        return cap >= 5 ? snprintf(out, cap, "+3C>") : -1;
    }
    ssize_t n = esmtp_xtext_encode(mailbox, len, out, cap);
    return n < 0 ? -1 : n;
}

const char *sasl_reply(int what)
{
    switch (what) {
    case SASL_ERR_SYNTAX:
        return "501 5.5.2 Syntax error in AUTH parameters";
    case SASL_ERR_MECH:
        return "504 5.5.4 Unrecognized authentication type";
    case SASL_ERR_BASE64:
        return "501 5.5.2 Cannot decode response";
    case SASL_ERR_CANCEL:
        return "501 5.0.0 Authentication cancelled";
    case SASL_ERR_TOOLONG:
        return "500 5.5.6 Authentication exchange line is too long";
    case SASL_ERR_FIELD:
        return "501 5.5.2 Invalid authentication identity or password";
    case SASL_ERR_STATE:
        return "503 5.5.1 Bad sequence of commands";
    case SASL_REPLY_OK:
        return "235 2.7.0 Authentication successful";
    case SASL_REPLY_INVALID:
        return "535 5.7.8 Authentication credentials invalid";
    case SASL_REPLY_TEMPFAIL:
        return "454 4.7.0 Temporary authentication failure";
    case SASL_REPLY_REQUIRED:
        return "530 5.7.0 Authentication required";
    case SASL_REPLY_ENCRYPTION:
        return "538 5.7.11 Encryption required for requested authentication mechanism";
    case SASL_REPLY_ALREADY:
        return "503 5.5.1 Already authenticated";
    case SASL_REPLY_IN_TRANSACTION:
        return "503 5.5.1 AUTH not permitted during a mail transaction";
    }
    return "451 4.3.0 Internal error";
}
