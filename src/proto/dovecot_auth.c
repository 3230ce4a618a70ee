/* dovecot_auth: Dovecot auth protocol, client side (see dovecot_auth.h for the contract).
 *
 * Every line is first split into at most DOVECOT_FIELDS_MAX fields (struct dv_fields holds
 * pointers into the caller's line, nothing is copied), then dispatched on its first field.
 * Ids are decimal 1..2^32-1 without sign or leading zeros, as the client only ever sends
 * such ids and a reply must match one exactly. */
#include "proto/dovecot_auth.h"

#include <stdio.h>
#include <string.h>

#define DV_ESC '\001'

/* One line split on TAB. */
struct dv_fields {
    size_t n;
    const char *f[DOVECOT_FIELDS_MAX];
    size_t len[DOVECOT_FIELDS_MAX];
};

/* Splits line into fields; -1 when too long, too many fields, or an LF/NUL is inside. */
static int dv_split(const char *line, size_t len, struct dv_fields *fs)
{
    if (len > DOVECOT_LINE_MAX || memchr(line, '\n', len) || memchr(line, '\0', len))
        return -1;
    fs->n = 0;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && line[i] != '\t')
            continue;
        if (fs->n == DOVECOT_FIELDS_MAX)
            return -1;
        fs->f[fs->n] = line + start;
        fs->len[fs->n++] = i - start;
        start = i + 1;
    }
    return 0;
}

/* True when field i equals s. */
static bool dv_is(const struct dv_fields *fs, size_t i, const char *s)
{
    return i < fs->n && fs->len[i] == strlen(s) && memcmp(fs->f[i], s, fs->len[i]) == 0;
}

/* Parses a decimal number of at most 10 digits without leading zeros; -1 when invalid. */
static int64_t dv_number(const char *s, size_t len)
{
    if (len == 0 || len > 10 || (len > 1 && s[0] == '0'))
        return -1;
    int64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

ssize_t dovecot_tab_escape(const char *in, size_t len, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = in[i], e = 0;
        switch (c) {
        case '\0': e = '0'; break;
        case DV_ESC: e = '1'; break;
        case '\t': e = 't'; break;
        case '\r': e = 'r'; break;
        case '\n': e = 'n'; break;
        }
        if (o + (e ? 2 : 1) + 1 > cap)
            return -1;
        if (e) {
            out[o++] = DV_ESC;
            out[o++] = e;
        } else {
            out[o++] = c;
        }
    }
    if (o + 1 > cap)
        return -1;
    out[o] = '\0';
    return (ssize_t)o;
}

/* The byte an escape letter stands for. */
static char dv_unescape_char(char e)
{
    switch (e) {
    case '0': return '\0';
    case '1': return DV_ESC;
    case 't': return '\t';
    case 'r': return '\r';
    case 'n': return '\n';
    }
    return e;
}

ssize_t dovecot_tab_unescape(const char *in, size_t len, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (c == '\t' || c == '\n')
            return -1;
        if (c == DV_ESC) {
            if (i + 1 == len)
                break; /* a trailing escape byte stands for nothing */
            c = dv_unescape_char(in[++i]);
        }
        if (o + 1 >= cap)
            return -1;
        out[o++] = c;
    }
    if (cap == 0)
        return -1;
    out[o] = '\0';
    return (ssize_t)o;
}

ssize_t dovecot_hello_format(unsigned long pid, char *out, size_t cap)
{
    int n = snprintf(out, cap, "VERSION\t%d\t%d\nCPID\t%lu\n", DOVECOT_MAJOR, DOVECOT_MINOR,
                     pid);
    return n < 0 || (size_t)n >= cap ? -1 : n;
}

/* VERSION: the major must be ours; the minor is remembered. */
static int dv_hs_version(struct dovecot_handshake *h, const struct dv_fields *fs,
                         const char **why)
{
    int64_t major = fs->n >= 3 ? dv_number(fs->f[1], fs->len[1]) : -1;
    int64_t minor = fs->n >= 3 ? dv_number(fs->f[2], fs->len[2]) : -1;
    if (major < 0 || minor < 0) {
        *why = "malformed VERSION";
        return DOVECOT_HS_ERROR;
    }
    if (major != DOVECOT_MAJOR) {
        *why = "unsupported protocol major version";
        return DOVECOT_HS_ERROR;
    }
    h->version = true;
    h->minor = (unsigned)minor;
    return DOVECOT_HS_MORE;
}

int dovecot_handshake_line(struct dovecot_handshake *h, const char *line, size_t len,
                           const char **why)
{
    struct dv_fields fs;
    *why = "";
    if (h->done) {
        *why = "handshake line after DONE";
        return DOVECOT_HS_ERROR;
    }
    if (dv_split(line, len, &fs) < 0) {
        *why = "malformed handshake line";
        return DOVECOT_HS_ERROR;
    }
    if (dv_is(&fs, 0, "VERSION"))
        return h->version ? (*why = "VERSION twice", DOVECOT_HS_ERROR)
                          : dv_hs_version(h, &fs, why);
    if (!h->version) {
        *why = "handshake does not start with VERSION";
        return DOVECOT_HS_ERROR;
    }
    if (dv_is(&fs, 0, "MECH")) {
        if (fs.n < 2 || fs.len[1] == 0) {
            *why = "malformed MECH";
            return DOVECOT_HS_ERROR;
        }
        h->mechs |= (unsigned)sasl_mech_parse(fs.f[1], fs.len[1]);
    } else if (dv_is(&fs, 0, "DONE")) {
        h->done = true;
        return DOVECOT_HS_DONE;
    }
    return DOVECOT_HS_MORE; /* SPID, CUID, COOKIE and unknown lines carry nothing we use */
}

/* True when s (len bytes) is made of base64 characters only. */
static bool dv_b64_chars(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/' || c == '='))
            return false;
    }
    return true;
}

/* Appends "\tkey=escaped(value)" to out at *o; -1 when it does not fit. */
static int dv_put_param(char *out, size_t cap, size_t *o, const char *key, const char *value)
{
    int n = snprintf(out + *o, cap - *o, "\t%s=", key);
    if (n < 0 || (size_t)n >= cap - *o)
        return -1;
    *o += (size_t)n;
    ssize_t e = dovecot_tab_escape(value, strlen(value), out + *o, cap - *o);
    if (e < 0)
        return -1;
    *o += (size_t)e;
    return 0;
}

/* Appends a raw string to out at *o; -1 when it does not fit. */
static int dv_put(char *out, size_t cap, size_t *o, const char *s)
{
    size_t n = strlen(s);
    if (*o + n + 1 > cap)
        return -1;
    memcpy(out + *o, s, n + 1);
    *o += n;
    return 0;
}

ssize_t dovecot_auth_format(const struct dovecot_auth_req *r, char *out, size_t cap)
{
    size_t o = 0;
    size_t mlen = strlen(r->mech);
    if (r->id == 0 || mlen == 0 || mlen > SASL_MECH_MAX || strpbrk(r->mech, "\t\n\r") ||
        (r->resp && !dv_b64_chars(r->resp, strlen(r->resp))))
        return -1;
    int n = snprintf(out, cap, "AUTH\t%u\t%s", (unsigned)r->id, r->mech);
    if (n < 0 || (size_t)n >= cap)
        return -1;
    o = (size_t)n;
    if (dv_put_param(out, cap, &o, "service", r->service) < 0 ||
        (r->lip && dv_put_param(out, cap, &o, "lip", r->lip) < 0) ||
        (r->rip && dv_put_param(out, cap, &o, "rip", r->rip) < 0) ||
        (r->secured && dv_put(out, cap, &o, "\tsecured") < 0) ||
        (r->valid_client_cert && dv_put(out, cap, &o, "\tvalid-client-cert") < 0) ||
        (r->resp && (dv_put(out, cap, &o, "\tresp=") < 0 || dv_put(out, cap, &o, r->resp) < 0)))
        return -1;
    if (o > DOVECOT_LINE_MAX || dv_put(out, cap, &o, "\n") < 0)
        return -1;
    return (ssize_t)o;
}

ssize_t dovecot_cont_format(uint32_t id, const char *b64, char *out, size_t cap)
{
    size_t len = strlen(b64);
    if (id == 0 || !dv_b64_chars(b64, len) || len + 24 > DOVECOT_LINE_MAX)
        return -1;
    int n = snprintf(out, cap, "CONT\t%u\t%s\n", (unsigned)id, b64);
    return n < 0 || (size_t)n >= cap ? -1 : n;
}

/* user=: unescaped, a valid identity. */
static int dv_param_user(struct dovecot_reply *r, const char *v, size_t len)
{
    ssize_t n = dovecot_tab_unescape(v, len, r->user, sizeof r->user);
    if (n < 0 || (size_t)n != strlen(r->user) || !sasl_identity_valid(r->user, (size_t)n)) {
        r->user[0] = '\0';
        return -1;
    }
    return 0;
}

/* reason=: unescaped, printable ASCII only, cut to DOVECOT_REASON_MAX. */
static void dv_param_reason(struct dovecot_reply *r, const char *v, size_t len)
{
    char buf[DOVECOT_LINE_MAX + 1];
    ssize_t n = dovecot_tab_unescape(v, len, buf, sizeof buf);
    size_t k = 0;
    for (ssize_t i = 0; i < n && k < DOVECOT_REASON_MAX; i++) {
        unsigned char c = (unsigned char)buf[i];
        r->reason[k++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    r->reason[k] = '\0';
}

/* One optional parameter of an OK/FAIL reply. */
static int dv_param(struct dovecot_reply *r, const char *p, size_t len)
{
    const char *eq = memchr(p, '=', len);
    size_t klen = eq ? (size_t)(eq - p) : len;
    const char *v = eq ? eq + 1 : p + len;
    size_t vlen = eq ? len - klen - 1 : 0;
#define DV_KEY(k) (klen == sizeof(k) - 1 && memcmp(p, k, klen) == 0)
    if (DV_KEY("user"))
        return dv_param_user(r, v, vlen);
    if (DV_KEY("reason"))
        dv_param_reason(r, v, vlen);
    else if (DV_KEY("temp") || (DV_KEY("code") && vlen == 9 && !memcmp(v, "temp_fail", 9)))
        r->temp = true;
    else if (DV_KEY("code") && vlen == 10 && !memcmp(v, "authz_fail", 10))
        r->authz = true;
    else if (DV_KEY("nologin") || DV_KEY("proxy"))
        r->nologin = true;
#undef DV_KEY
    return 0;
}

int dovecot_reply_parse(const char *line, size_t len, struct dovecot_reply *r)
{
    struct dv_fields fs;
    memset(r, 0, sizeof *r);
    if (dv_split(line, len, &fs) < 0 || fs.n < 2)
        return -1;
    if (dv_is(&fs, 0, "OK"))
        r->kind = DOVECOT_OK;
    else if (dv_is(&fs, 0, "CONT"))
        r->kind = DOVECOT_CONT;
    else if (dv_is(&fs, 0, "FAIL"))
        r->kind = DOVECOT_FAIL;
    else
        return -1;
    int64_t id = dv_number(fs.f[1], fs.len[1]);
    if (id <= 0 || id > UINT32_MAX)
        return -1;
    r->id = (uint32_t)id;
    if (r->kind == DOVECOT_CONT) {
        if (fs.n != 3 || !dv_b64_chars(fs.f[2], fs.len[2]))
            return -1;
        r->data = fs.f[2];
        r->datalen = fs.len[2];
        return 0;
    }
    for (size_t i = 2; i < fs.n; i++)
        if (fs.len[i] > 0 && dv_param(r, fs.f[i], fs.len[i]) < 0)
            return -1;
    if (r->kind == DOVECOT_OK && (r->temp || r->authz))
        r->temp = r->authz = false; /* FAIL-only codes mean nothing on OK */
    return 0;
}
