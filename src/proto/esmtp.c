/* esmtp: MAIL/RCPT ESMTP parameters (see esmtp.h for the contract). Pure.
 *
 * esmtp_mail_parse / esmtp_rcpt_parse walk the name[=value] pairs cmd_parse() produced and
 * dispatch on the name through one table per verb; each handler validates its value.
 * A parameter seen twice is ESMTP_ERR_SYNTAX (RFC 1869 §6: a parameter appears once).
 * esmtp_xtext_decode: "+" followed by exactly two upper-case hex digits (RFC 3461 §4 says
 * upper case; lower case is accepted too, as many clients send it).
 * esmtp_utf8_valid: RFC 3629 well-formedness. */
#include "proto/esmtp.h"

#include <string.h>
#include <strings.h>

#define ESMTP_BY_MAX 999999999

/* One parameter of a verb: its name, the extension that offers it, its handler. */
struct esmtp_mail_kw {
    const char *name;
    unsigned ext;
    int (*fn)(const char *value, struct esmtp_mail *m);
};

struct esmtp_rcpt_kw {
    const char *name;
    unsigned ext;
    int (*fn)(const char *value, struct esmtp_rcpt *r);
};

/* Value of one hex digit, or -1. */
static int esmtp_hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

ssize_t esmtp_xtext_decode(const char *in, size_t len, char *out, size_t cap)
{
    size_t o = 0;
    if (cap == 0)
        return -1;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)in[i];
        if (ch == '+') {
            if (i + 2 >= len)
                return -1;
            int hi = esmtp_hex(in[i + 1]), lo = esmtp_hex(in[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            ch = (unsigned char)(hi * 16 + lo);
            i += 2;
        } else if (ch < 33 || ch > 126 || ch == '=') {
            return -1;
        }
        if (o + 1 >= cap)
            return -1;
        out[o++] = (char)ch;
    }
    out[o] = '\0';
    return (ssize_t)o;
}

/* Length of the UTF-8 sequence starting with lead byte c and its minimum second byte range;
 * 0 for an invalid lead byte. */
static size_t esmtp_utf8_len(unsigned char c, unsigned char *lo, unsigned char *hi)
{
    *lo = 0x80, *hi = 0xBF;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        return 2;
    if (c >= 0xE0 && c <= 0xEF) {
        if (c == 0xE0)
            *lo = 0xA0;
        if (c == 0xED)
            *hi = 0x9F;
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (c == 0xF0)
            *lo = 0x90;
        if (c == 0xF4)
            *hi = 0x8F;
        return 4;
    }
    return 0;
}

bool esmtp_utf8_valid(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char lo, hi, c = (unsigned char)s[i];
        size_t n = esmtp_utf8_len(c, &lo, &hi);
        if (n == 0 || i + n > len)
            return false;
        for (size_t k = 1; k < n; k++) {
            unsigned char d = (unsigned char)s[i + k];
            if (k == 1 ? (d < lo || d > hi) : (d < 0x80 || d > 0xBF))
                return false;
        }
        i += n;
    }
    return true;
}

/* True when the decoded text is printable ASCII. */
static bool esmtp_printable(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 32 || (unsigned char)s[i] > 126)
            return false;
    return true;
}

/* SIZE=digits (RFC 1870), saturating. */
static int esmtp_size(const char *v, struct esmtp_mail *m)
{
    uint64_t n = 0;
    if (!v || !*v)
        return ESMTP_ERR_SYNTAX;
    for (; *v; v++) {
        if (*v < '0' || *v > '9')
            return ESMTP_ERR_SYNTAX;
        unsigned d = (unsigned)(*v - '0');
        n = n > (UINT64_MAX - d) / 10 ? UINT64_MAX : n * 10 + d;
    }
    m->has_size = true;
    m->size = n;
    return ESMTP_OK;
}

/* BODY=7BIT|8BITMIME. */
static int esmtp_body(const char *v, struct esmtp_mail *m)
{
    if (v && strcasecmp(v, "7BIT") == 0)
        m->body = ESMTP_BODY_7BIT;
    else if (v && strcasecmp(v, "8BITMIME") == 0)
        m->body = ESMTP_BODY_8BITMIME;
    else
        return ESMTP_ERR_SYNTAX;
    return ESMTP_OK;
}

/* SMTPUTF8 (no value). */
static int esmtp_smtputf8(const char *v, struct esmtp_mail *m)
{
    if (v)
        return ESMTP_ERR_SYNTAX;
    m->smtputf8 = true;
    return ESMTP_OK;
}

/* RET=FULL|HDRS. */
static int esmtp_ret(const char *v, struct esmtp_mail *m)
{
    if (v && strcasecmp(v, "FULL") == 0)
        m->ret = ESMTP_RET_FULL;
    else if (v && strcasecmp(v, "HDRS") == 0)
        m->ret = ESMTP_RET_HDRS;
    else
        return ESMTP_ERR_SYNTAX;
    return ESMTP_OK;
}

/* ENVID=xtext, decoded to printable ASCII of at most ESMTP_ENVID_MAX bytes. */
static int esmtp_envid(const char *v, struct esmtp_mail *m)
{
    if (!v)
        return ESMTP_ERR_SYNTAX;
    ssize_t n = esmtp_xtext_decode(v, strlen(v), m->envid, sizeof m->envid);
    if (n <= 0 || !esmtp_printable(m->envid, (size_t)n)) {
        m->envid[0] = '\0';
        return ESMTP_ERR_SYNTAX;
    }
    return ESMTP_OK;
}

/* BY=[+-]1*9DIGIT;R|N[T] (RFC 2852 §4). R needs a positive time. */
static int esmtp_by(const char *v, struct esmtp_mail *m)
{
    int64_t n = 0, sign = 1;
    size_t i = 0, digits = 0;
    if (!v)
        return ESMTP_ERR_SYNTAX;
    if (v[0] == '-' || v[0] == '+')
        sign = v[i++] == '-' ? -1 : 1;
    for (; v[i] >= '0' && v[i] <= '9'; i++, digits++)
        if (digits < 9)
            n = n * 10 + (v[i] - '0');
    if (digits == 0 || digits > 9 || v[i] != ';')
        return ESMTP_ERR_SYNTAX;
    char mode = v[i + 1];
    if (mode == 'r')
        mode = 'R';
    if (mode == 'n')
        mode = 'N';
    if ((mode != 'R' && mode != 'N') || (sign * n <= 0 && mode == 'R'))
        return ESMTP_ERR_SYNTAX;
    const char *rest = v + i + 2;
    if (!(rest[0] == '\0' || ((rest[0] == 'T' || rest[0] == 't') && rest[1] == '\0')))
        return ESMTP_ERR_SYNTAX;
    m->has_by = true;
    m->by_seconds = sign * n;
    m->by_mode = mode;
    m->by_trace = rest[0] != '\0';
    return ESMTP_OK;
}

/* NOTIFY=NEVER or a comma list of SUCCESS, FAILURE, DELAY (each at most once). */
static int esmtp_notify(const char *v, struct esmtp_rcpt *r)
{
    static const struct {
        const char *w;
        uint8_t bit;
    } words[] = {{"NEVER", NOTIFY_NEVER}, {"SUCCESS", NOTIFY_SUCCESS},
                 {"FAILURE", NOTIFY_FAILURE}, {"DELAY", NOTIFY_DELAY}};
    uint8_t bits = 0;
    if (!v || !*v)
        return ESMTP_ERR_SYNTAX;
    while (*v) {
        size_t n = strcspn(v, ","), k;
        for (k = 0; k < 4; k++)
            if (strlen(words[k].w) == n && strncasecmp(v, words[k].w, n) == 0)
                break;
        if (k == 4 || (bits & words[k].bit))
            return ESMTP_ERR_SYNTAX;
        bits |= words[k].bit;
        v += n;
        if (*v == ',' && *++v == '\0')
            return ESMTP_ERR_SYNTAX;
    }
    if ((bits & NOTIFY_NEVER) && bits != NOTIFY_NEVER)
        return ESMTP_ERR_SYNTAX;
    r->notify = bits;
    return ESMTP_OK;
}

/* ORCPT=addr-type;xtext. The type is an atom (rfc822, utf-8, ...); the decoded address must
 * be printable ASCII, or valid UTF-8 for type utf-8 (RFC 6533). */
static int esmtp_orcpt(const char *v, struct esmtp_rcpt *r)
{
    const char *semi = v ? strchr(v, ';') : NULL;
    if (!semi || semi == v || semi[1] == '\0')
        return ESMTP_ERR_SYNTAX;
    size_t tlen = (size_t)(semi - v);
    for (size_t i = 0; i < tlen; i++) {
        char c = v[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-'))
            return ESMTP_ERR_SYNTAX;
    }
    if (tlen + 2 > sizeof r->orcpt)
        return ESMTP_ERR_SYNTAX;
    memcpy(r->orcpt, v, tlen);
    r->orcpt[tlen] = ';';
    char *dst = r->orcpt + tlen + 1;
    ssize_t n = esmtp_xtext_decode(semi + 1, strlen(semi + 1), dst, sizeof r->orcpt - tlen - 1);
    bool utf8 = tlen == 5 && strncasecmp(v, "utf-8", 5) == 0;
    if (n <= 0 || !(utf8 ? esmtp_utf8_valid(dst, (size_t)n) && !memchr(dst, 0, (size_t)n)
                         : esmtp_printable(dst, (size_t)n))) {
        r->orcpt[0] = '\0';
        return ESMTP_ERR_SYNTAX;
    }
    return ESMTP_OK;
}

static const struct esmtp_mail_kw esmtp_mail_kws[] = {
    {"SIZE", ESMTP_EXT_SIZE, esmtp_size},
    {"BODY", ESMTP_EXT_8BITMIME, esmtp_body},
    {"SMTPUTF8", ESMTP_EXT_SMTPUTF8, esmtp_smtputf8},
    {"RET", ESMTP_EXT_DSN, esmtp_ret},
    {"ENVID", ESMTP_EXT_DSN, esmtp_envid},
    {"BY", ESMTP_EXT_DELIVERBY, esmtp_by},
};

static const struct esmtp_rcpt_kw esmtp_rcpt_kws[] = {
    {"NOTIFY", ESMTP_EXT_DSN, esmtp_notify},
    {"ORCPT", ESMTP_EXT_DSN, esmtp_orcpt},
};

#define ESMTP_NKW(t) (sizeof(t) / sizeof((t)[0]))

/* Index of name in a keyword table (names at stride `size` from `first`), or -1. */
static int esmtp_find(const char *name, const void *first, size_t count, size_t size)
{
    for (size_t i = 0; i < count; i++) {
        const char *kw = *(const char *const *)((const char *)first + i * size);
        if (strcasecmp(name, kw) == 0)
            return (int)i;
    }
    return -1;
}

int esmtp_mail_parse(const struct cmd_param *p, size_t n, unsigned allowed, struct esmtp_mail *m,
                     const char **bad)
{
    unsigned seen = 0;
    memset(m, 0, sizeof *m);
    *bad = NULL;
    for (size_t i = 0; i < n; i++) {
        *bad = p[i].name;
        int k = esmtp_find(p[i].name, esmtp_mail_kws, ESMTP_NKW(esmtp_mail_kws),
                           sizeof esmtp_mail_kws[0]);
        if (k < 0 || !(esmtp_mail_kws[k].ext & allowed))
            return ESMTP_ERR_UNKNOWN;
        if (seen & (1u << k))
            return ESMTP_ERR_SYNTAX;
        seen |= 1u << k;
        int rc = esmtp_mail_kws[k].fn(p[i].value, m);
        if (rc != ESMTP_OK)
            return rc;
    }
    *bad = NULL;
    return ESMTP_OK;
}

int esmtp_rcpt_parse(const struct cmd_param *p, size_t n, unsigned allowed, struct esmtp_rcpt *r,
                     const char **bad)
{
    unsigned seen = 0;
    memset(r, 0, sizeof *r);
    *bad = NULL;
    for (size_t i = 0; i < n; i++) {
        *bad = p[i].name;
        int k = esmtp_find(p[i].name, esmtp_rcpt_kws, ESMTP_NKW(esmtp_rcpt_kws),
                           sizeof esmtp_rcpt_kws[0]);
        if (k < 0 || !(esmtp_rcpt_kws[k].ext & allowed))
            return ESMTP_ERR_UNKNOWN;
        if (seen & (1u << k))
            return ESMTP_ERR_SYNTAX;
        seen |= 1u << k;
        int rc = esmtp_rcpt_kws[k].fn(p[i].value, r);
        if (rc != ESMTP_OK)
            return rc;
    }
    *bad = NULL;
    return ESMTP_OK;
}
