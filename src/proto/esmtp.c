/* esmtp: MAIL/RCPT ESMTP parameters (see esmtp.h for the contract). Pure.
 *
 * esmtp_mail_parse / esmtp_rcpt_parse walk the name[=value] pairs cmd_parse() produced and
 * dispatch on the name through one table per verb; each handler validates its value.
 * A parameter seen twice is ESMTP_ERR_SYNTAX (RFC 1869 §6: a parameter appears once).
 * esmtp_xtext_decode: "+" followed by exactly two upper-case hex digits (RFC 3461 §4 says
 * upper case; lower case is accepted too, as many clients send it).
 * esmtp_uxtext_*: RFC 6533 §3. The encoder writes "\x{HEX}" with at least two upper-case
 * digits (HEXPOINT) and also escapes '\' (QCHAR excludes it; Postfix's uxtext does the
 * same); the decoder takes 1 to 6 digits in either case.
 * esmtp_envid_encode / esmtp_orcpt_encode check what the parsers check (printable ASCII,
 * printable UTF-8 for type utf-8, a type atom), so what they produce parses back.
 * esmtp_utf8_valid: RFC 3629 well-formedness. */
#include "proto/esmtp.h"

#include <inttypes.h>
#include <stdio.h>
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
    int (*fn)(const char *value, unsigned allowed, struct esmtp_rcpt *r);
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

static const char esmtp_hexdigits[] = "0123456789ABCDEF";

/* True when byte c stands for itself in xtext: '!'..'~' but '+' and '='. */
static bool esmtp_xchar(unsigned char c)
{
    return c >= '!' && c <= '~' && c != '+' && c != '=';
}

/* True when byte c stands for itself in RFC 6533 text (QCHAR): an xtext char but '\'. */
static bool esmtp_qchar(unsigned char c)
{
    return esmtp_xchar(c) && c != '\\';
}

/* The byte of the "+XX" escape at s (len bytes left), or -1 when it is not one. */
static int esmtp_xpair(const char *s, size_t len)
{
    if (len < 3 || s[0] != '+')
        return -1;
    int hi = esmtp_hex(s[1]), lo = esmtp_hex(s[2]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

ssize_t esmtp_xtext_decode(const char *in, size_t len, char *out, size_t cap)
{
    size_t o = 0;
    if (cap == 0)
        return -1;
    for (size_t i = 0; i < len; i++) {
        int ch = (unsigned char)in[i];
        if (ch == '+') {
            if ((ch = esmtp_xpair(in + i, len - i)) < 0)
                return -1;
            i += 2;
        } else if (!esmtp_xchar((unsigned char)ch)) {
            return -1;
        }
        if (o + 1 >= cap)
            return -1;
        out[o++] = (char)ch;
    }
    out[o] = '\0';
    return (ssize_t)o;
}

ssize_t esmtp_xtext_encode(const char *in, size_t len, char *out, size_t cap)
{
    size_t o = 0;
    if (cap == 0)
        return ESMTP_ENC_TOOLONG;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)in[i];
        bool plain = esmtp_xchar(ch);
        if (o + (plain ? 1 : 3) >= cap)
            return ESMTP_ENC_TOOLONG;
        if (plain) {
            out[o++] = (char)ch;
        } else {
            out[o++] = '+';
            out[o++] = esmtp_hexdigits[ch >> 4];
            out[o++] = esmtp_hexdigits[ch & 15];
        }
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

/* Decodes the UTF-8 sequence at s (len > 0 bytes left): its length, with the code point in
 * *cp; 0 when it is malformed or cut short. */
static size_t esmtp_utf8_next(const unsigned char *s, size_t len, uint32_t *cp)
{
    unsigned char lo, hi;
    size_t n = esmtp_utf8_len(s[0], &lo, &hi);
    if (n == 0 || n > len)
        return 0;
    uint32_t v = n == 1 ? s[0] : s[0] & (0x7Fu >> n);
    for (size_t k = 1; k < n; k++) {
        if (k == 1 ? (s[k] < lo || s[k] > hi) : (s[k] < 0x80 || s[k] > 0xBF))
            return 0;
        v = v << 6 | (s[k] & 0x3Fu);
    }
    *cp = v;
    return n;
}

/* Writes code point cp (at most U+10FFFF) as UTF-8 into b; returns its length. */
static size_t esmtp_utf8_put(uint32_t cp, unsigned char *b)
{
    if (cp < 0x80) {
        b[0] = (unsigned char)cp;
        return 1;
    }
    size_t n = cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    static const unsigned char lead[] = {0, 0, 0xC0, 0xE0, 0xF0};
    for (size_t k = n - 1; k > 0; k--, cp >>= 6)
        b[k] = (unsigned char)(0x80 | (cp & 0x3F));
    b[0] = (unsigned char)(lead[n] | cp);
    return n;
}

bool esmtp_utf8_valid(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    uint32_t cp;
    for (size_t i = 0, n; i < len; i += n)
        if ((n = esmtp_utf8_next(u + i, len - i, &cp)) == 0)
            return false;
    return true;
}

ssize_t esmtp_uxtext_encode(const char *in, size_t len, bool unitext, char *out, size_t cap)
{
    const unsigned char *s = (const unsigned char *)in;
    size_t o = 0;
    if (!esmtp_utf8_valid(in, len) || memchr(in, 0, len))
        return ESMTP_ENC_NOTUTF8;
    if (cap == 0)
        return ESMTP_ENC_TOOLONG;
    for (size_t i = 0, n; i < len; i += n) {
        uint32_t cp;
        char esc[16];
        const char *piece = in + i;
        size_t plen = n = esmtp_utf8_next(s + i, len - i, &cp);
        if (n == 1 ? !esmtp_qchar(s[i]) : !unitext) {
            plen = (size_t)snprintf(esc, sizeof esc, "\\x{%02" PRIX32 "}", cp);
            piece = esc;
        }
        if (o + plen >= cap)
            return ESMTP_ENC_TOOLONG;
        memcpy(out + o, piece, plen);
        o += plen;
    }
    out[o] = '\0';
    return (ssize_t)o;
}

/* The "\x{HEX}" escape at s (len bytes left) as UTF-8 into b (*n bytes); returns the input
 * bytes it takes, or 0 when it is not one (1-6 hex digits, U+0001..U+10FFFF, no surrogate). */
static size_t esmtp_uescape(const unsigned char *s, size_t len, unsigned char *b, size_t *n)
{
    uint32_t cp = 0;
    size_t i = 3;
    if (len < 5 || s[0] != '\\' || s[1] != 'x' || s[2] != '{')
        return 0;
    for (; i < len && s[i] != '}'; i++) {
        int h = esmtp_hex((char)s[i]);
        if (h < 0 || i - 3 >= 6)
            return 0;
        cp = cp * 16 + (uint32_t)h;
    }
    if (i == 3 || i >= len || cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    *n = esmtp_utf8_put(cp, b);
    return i + 1;
}

/* One unit of RFC 6533 text at s (len > 0 bytes left) into b (*n bytes): an escape, a raw
 * UTF-8 sequence (unitext) or a QCHAR. Returns the input bytes it takes, 0 when invalid. */
static size_t esmtp_uunit(const unsigned char *s, size_t len, bool unitext, unsigned char *b,
                          size_t *n)
{
    uint32_t cp;
    int x;
    if (s[0] == '\\')
        return esmtp_uescape(s, len, b, n);
    if (s[0] == '+') {
        if ((x = esmtp_xpair((const char *)s, len)) < 0)
            return 0;
        b[0] = (unsigned char)x;
        *n = 1;
        return 3;
    }
    *n = s[0] >= 0x80 ? (unitext ? esmtp_utf8_next(s, len, &cp) : 0) : esmtp_qchar(s[0]);
    memcpy(b, s, *n);
    return *n;
}

ssize_t esmtp_uxtext_decode(const char *in, size_t len, bool unitext, char *out, size_t cap)
{
    const unsigned char *s = (const unsigned char *)in;
    size_t o = 0;
    if (cap == 0)
        return -1;
    for (size_t i = 0, used; i < len; i += used) {
        unsigned char b[4];
        size_t n = 0;
        used = esmtp_uunit(s + i, len - i, unitext, b, &n);
        if (used == 0 || o + n >= cap)
            return -1;
        memcpy(out + o, b, n);
        o += n;
    }
    out[o] = '\0';
    if (!esmtp_utf8_valid(out, o) || memchr(out, 0, o))
        return -1;
    return (ssize_t)o;
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
static int esmtp_notify(const char *v, unsigned allowed, struct esmtp_rcpt *r)
{
    (void)allowed;
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

/* Length of the addr-type atom (letters, digits, '-') that ends at the ';' of "type;addr",
 * or 0 when v does not start with one. */
static size_t esmtp_orcpt_type(const char *v)
{
    size_t n = strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-");
    return v[n] == ';' ? n : 0;
}

/* True for the type "utf-8" (RFC 6533), in any case, of length tlen at v. */
static bool esmtp_orcpt_utf8(const char *v, size_t tlen)
{
    return tlen == 5 && strncasecmp(v, "utf-8", 5) == 0;
}

/* True when a decoded ORCPT address may be stored and passed on: printable US-ASCII, or for
 * type utf-8 well-formed UTF-8 without C0 controls or DEL (RFC 6531 Mailbox). */
static bool esmtp_orcpt_addr_ok(bool utf8, const char *s, size_t n)
{
    if (!utf8)
        return esmtp_printable(s, n);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 32 || s[i] == 0x7f)
            return false;
    return esmtp_utf8_valid(s, n);
}

/* ORCPT=addr-type;xtext (RFC 3461 §4.2); for type utf-8 the RFC 6533 forms, unitext only
 * when SMTPUTF8 is offered. Stored as "type;decoded-address". */
static int esmtp_orcpt(const char *v, unsigned allowed, struct esmtp_rcpt *r)
{
    size_t tlen = v ? esmtp_orcpt_type(v) : 0;
    if (tlen == 0 || v[tlen + 1] == '\0' || tlen + 2 > sizeof r->orcpt)
        return ESMTP_ERR_SYNTAX;
    memcpy(r->orcpt, v, tlen + 1);
    char *dst = r->orcpt + tlen + 1;
    const char *src = v + tlen + 1;
    size_t room = sizeof r->orcpt - tlen - 1;
    bool utf8 = esmtp_orcpt_utf8(v, tlen);
    ssize_t n =
        utf8 ? esmtp_uxtext_decode(src, strlen(src), (allowed & ESMTP_EXT_SMTPUTF8) != 0, dst, room)
             : esmtp_xtext_decode(src, strlen(src), dst, room);
    if (n <= 0 || !esmtp_orcpt_addr_ok(utf8, dst, (size_t)n)) {
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
        int rc = esmtp_rcpt_kws[k].fn(p[i].value, allowed, r);
        if (rc != ESMTP_OK)
            return rc;
    }
    *bad = NULL;
    return ESMTP_OK;
}

const char *esmtp_enc_error_text(ssize_t rc)
{
    switch (rc) {
    case ESMTP_ENC_TOOLONG:
        return "longer than the limit once encoded";
    case ESMTP_ENC_NOTASCII:
        return "not printable US-ASCII (RFC 3461)";
    case ESMTP_ENC_NOTUTF8:
        return "not printable UTF-8 (RFC 6533)";
    case ESMTP_ENC_NOTYPE:
        return "not addr-type;address";
    default:
        return rc >= 0 ? "encoded" : "unknown encoding error";
    }
}

ssize_t esmtp_envid_encode(const char *envid, char *out, size_t cap)
{
    size_t n = strlen(envid);
    if (!esmtp_printable(envid, n))
        return ESMTP_ENC_NOTASCII;
    return esmtp_xtext_encode(envid, n, out, cap);
}

ssize_t esmtp_orcpt_encode(const char *orcpt, bool unitext, char *out, size_t cap)
{
    size_t tlen = esmtp_orcpt_type(orcpt);
    if (tlen == 0 || orcpt[tlen + 1] == '\0')
        return ESMTP_ENC_NOTYPE;
    const char *addr = orcpt + tlen + 1;
    size_t alen = strlen(addr);
    bool utf8 = esmtp_orcpt_utf8(orcpt, tlen);
    if (!esmtp_orcpt_addr_ok(utf8, addr, alen))
        return utf8 ? ESMTP_ENC_NOTUTF8 : ESMTP_ENC_NOTASCII;
    if (tlen + 1 >= cap)
        return ESMTP_ENC_TOOLONG;
    memcpy(out, orcpt, tlen + 1);
    ssize_t n = utf8 ? esmtp_uxtext_encode(addr, alen, unitext, out + tlen + 1, cap - tlen - 1)
                     : esmtp_xtext_encode(addr, alen, out + tlen + 1, cap - tlen - 1);
    return n < 0 ? n : (ssize_t)(tlen + 1) + n;
}
