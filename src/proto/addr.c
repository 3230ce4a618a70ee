/* addr: parser of SMTP envelope paths (RFC 5321 §4.1.2, RFC 6531 for UTF-8). Pure.
 *
 * addr_parse_path(s, len, o, out)
 *     Path         = "<" [ A-d-l ":" ] Mailbox ">"      ("<>" only with o->null_ok)
 *     A-d-l        = "@" Domain *( "," "@" Domain )     (checked, then dropped)
 *     Mailbox      = Local-part "@" ( Domain / address-literal )
 *     Local-part   = Dot-string / Quoted-string         (at most 64 octets, kept verbatim)
 *     Domain       = labels of letters, digits, '-' (no '-' at either end, 1..63 octets),
 *                    joined by '.', at most 255 octets; written lower-cased
 *     address-literal = "[" IPv4 "]" / "[IPv6:" IPv6 "]"  (written lower-cased)
 *   out receives "local@domain" (at most ADDR_MAX octets) or "" for the null path.
 *   Returns the bytes consumed: from s up to and including '>' (or the end of the mailbox
 *   without brackets), never what follows; -1 when invalid (out is then "").
 *   o->sloppy: spaces before the path and inside the brackets are skipped, and the brackets
 *   may be missing, in which case the mailbox must be followed by a space or the end.
 *   o->utf8: well-formed UTF-8 sequences are accepted in the local part and in domain labels
 *   (a label holding UTF-8 is not held to 63 octets: its A-label may still fit).
 * addr_domain(addr)      The text after the last '@', or "" when there is none.
 * addr_domain_valid(s,n) True when all n bytes form an ASCII domain name (no literal).
 */
#include "proto/addr.h"

#include <arpa/inet.h>
#include <string.h>

#define ADDR_LOCAL_MAX 64
#define ADDR_DOMAIN_MAX 255
#define ADDR_LABEL_MAX 63
#define ADDR_V6_TEXT_MAX 45 /* INET6_ADDRSTRLEN - 1 */

/* Cursor over the path being parsed. */
struct addr_cur {
    const unsigned char *s;
    size_t len;
    size_t pos;
    const struct addr_opts *o;
    size_t route_at, route_len; /* the source route's first host (route_len 0: none) */
};

/* ASCII-only lower-casing, independent of the locale. */
static char addr_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c + ('a' - 'A')) : c;
}

/* True for an ASCII letter or digit. */
static bool addr_isalnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* True for RFC 5322 atext (ASCII part). */
static bool addr_isatext(unsigned char c)
{
    return addr_isalnum(c) || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* Length of the well-formed UTF-8 sequence (2..4 octets) at p (n bytes), 0 when none:
 * no overlong forms, no surrogates, nothing above U+10FFFF. */
static size_t addr_utf8_len(const unsigned char *p, size_t n)
{
    size_t need;
    unsigned char lo = 0x80, hi = 0xbf;
    if (n == 0 || p[0] < 0xc2 || p[0] > 0xf4)
        return 0;
    if (p[0] < 0xe0)
        need = 2;
    else if (p[0] < 0xf0) {
        need = 3;
        lo = p[0] == 0xe0 ? 0xa0 : 0x80;
        hi = p[0] == 0xed ? 0x9f : 0xbf;
    } else {
        need = 4;
        lo = p[0] == 0xf0 ? 0x90 : 0x80;
        hi = p[0] == 0xf4 ? 0x8f : 0xbf;
    }
    if (n < need || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < need; i++)
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    return need;
}

/* Length of one label character at p (n bytes): 1 for ASCII letter/digit/'-', the sequence
 * length for UTF-8 when allowed, 0 otherwise. */
static size_t addr_label_char(const unsigned char *p, size_t n, bool utf8)
{
    if (n == 0)
        return 0;
    if (addr_isalnum(p[0]) || p[0] == '-')
        return 1;
    return (utf8 && p[0] >= 0x80) ? addr_utf8_len(p, n) : 0;
}

/* Scans a domain name at s (len bytes), stopping at the first byte that cannot continue it.
 * Returns its length, or -1 when what is there is not a valid domain. */
static ssize_t addr_scan_domain(const unsigned char *s, size_t len, bool utf8)
{
    size_t pos = 0;
    for (;;) {
        size_t start = pos, k;
        bool wide = false;
        while ((k = addr_label_char(s + pos, len - pos, utf8)) > 0) {
            wide |= k > 1;
            pos += k;
        }
        size_t ll = pos - start;
        if (ll == 0 || s[start] == '-' || s[pos - 1] == '-' || (!wide && ll > ADDR_LABEL_MAX))
            return -1;
        if (pos > ADDR_DOMAIN_MAX)
            return -1;
        if (pos >= len || s[pos] != '.')
            return (ssize_t)pos;
        pos++; /* a '.' must be followed by another label */
    }
}

/* True when s (n bytes) is a dotted-quad IPv4 address, each part 1..3 digits up to 255. */
static bool addr_ipv4_ok(const unsigned char *s, size_t n)
{
    size_t pos = 0;
    for (int part = 0; part < 4; part++) {
        unsigned v = 0;
        size_t d = 0;
        while (pos < n && d < 4 && s[pos] >= '0' && s[pos] <= '9') {
            v = v * 10 + (unsigned)(s[pos++] - '0');
            d++;
        }
        if (d == 0 || d > 3 || v > 255)
            return false;
        if (part < 3 && (pos >= n || s[pos++] != '.'))
            return false;
    }
    return pos == n;
}

/* True when s (n bytes) is an IPv6 address in any RFC 4291 text form. */
static bool addr_ipv6_ok(const unsigned char *s, size_t n)
{
    char txt[ADDR_V6_TEXT_MAX + 1];
    struct in6_addr a;
    if (n == 0 || n > ADDR_V6_TEXT_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!addr_isalnum(s[i]) && s[i] != ':' && s[i] != '.')
            return false;
    memcpy(txt, s, n);
    txt[n] = '\0';
    return inet_pton(AF_INET6, txt, &a) == 1;
}

/* Scans an address literal "[...]" at s (len bytes). Returns its length with the brackets,
 * -1 when invalid. */
static ssize_t addr_scan_literal(const unsigned char *s, size_t len)
{
    if (len < 2 || s[0] != '[')
        return -1;
    const unsigned char *close = memchr(s, ']', len);
    if (close == NULL)
        return -1;
    size_t n = (size_t)(close - s) - 1;
    const unsigned char *in = s + 1;
    bool ok;
    if (n >= 5 && addr_lower((char)in[0]) == 'i' && addr_lower((char)in[1]) == 'p' &&
        addr_lower((char)in[2]) == 'v' && in[3] == '6' && in[4] == ':')
        ok = addr_ipv6_ok(in + 5, n - 5);
    else
        ok = addr_ipv4_ok(in, n);
    return ok ? (ssize_t)(n + 2) : -1;
}

/* Scans a Dot-string local part at the cursor. Returns its length, -1 when invalid. */
static ssize_t addr_scan_dotstring(const struct addr_cur *c)
{
    const unsigned char *s = c->s + c->pos;
    size_t len = c->len - c->pos, pos = 0;
    for (;;) {
        size_t start = pos, k;
        for (;;) {
            if (pos < len && addr_isatext(s[pos]))
                k = 1;
            else if (c->o->utf8 && pos < len && s[pos] >= 0x80)
                k = addr_utf8_len(s + pos, len - pos);
            else
                k = 0;
            if (k == 0)
                break;
            pos += k;
        }
        if (pos == start)
            return -1; /* empty atom: leading, trailing or doubled '.' */
        if (pos >= len || s[pos] != '.')
            return (ssize_t)pos;
        pos++;
    }
}

/* Scans a Quoted-string local part at the cursor. Returns its length with the quotes. */
static ssize_t addr_scan_quoted(const struct addr_cur *c)
{
    const unsigned char *s = c->s + c->pos;
    size_t len = c->len - c->pos, pos = 1;
    if (len == 0 || s[0] != '"')
        return -1;
    while (pos < len && s[pos] != '"') {
        unsigned char ch = s[pos];
        size_t k = 1;
        if (ch == '\\') {
            if (pos + 1 >= len || s[pos + 1] < 32 || s[pos + 1] > 126)
                return -1;
            k = 2;
        } else if (ch >= 0x80) {
            k = c->o->utf8 ? addr_utf8_len(s + pos, len - pos) : 0;
            if (k == 0)
                return -1;
        } else if (ch < 32 || ch > 126) {
            return -1;
        }
        pos += k;
    }
    if (pos >= len)
        return -1; /* unterminated */
    return (ssize_t)(pos + 1);
}

/* Skips a source route "@a,@b:" at the cursor when there is one. Returns 0 or -1. */
static int addr_skip_adl(struct addr_cur *c)
{
    if (c->pos >= c->len || c->s[c->pos] != '@')
        return 0;
    for (;;) {
        c->pos++; /* the '@' */
        ssize_t d = addr_scan_domain(c->s + c->pos, c->len - c->pos, false);
        if (d < 0)
            d = addr_scan_literal(c->s + c->pos, c->len - c->pos);
        if (d < 0)
            return -1;
        if (c->route_len == 0) {
            c->route_at = c->pos;
            c->route_len = (size_t)d;
        }
        c->pos += (size_t)d;
        if (c->pos < c->len && c->s[c->pos] == ':') {
            c->pos++;
            return 0;
        }
        if (c->pos + 1 >= c->len || c->s[c->pos] != ',' || c->s[c->pos + 1] != '@')
            return -1;
        c->pos++; /* the ',' */
    }
}

/* Parses Local-part "@" Domain at the cursor into out ("local@domain", domain lower-cased).
 * Returns 0, or -1 when invalid or over a length limit. */
static int addr_scan_mailbox(struct addr_cur *c, char *out)
{
    ssize_t l = (c->pos < c->len && c->s[c->pos] == '"') ? addr_scan_quoted(c) : addr_scan_dotstring(c);
    if (l < 0 || l > ADDR_LOCAL_MAX)
        return -1;
    size_t at = c->pos + (size_t)l;
    if (at >= c->len || c->s[at] != '@')
        return -1;
    const unsigned char *dom = c->s + at + 1;
    size_t rest = c->len - at - 1;
    ssize_t d = (rest > 0 && dom[0] == '[') ? addr_scan_literal(dom, rest) : addr_scan_domain(dom, rest, c->o->utf8);
    if (d < 0 || (size_t)l + 1 + (size_t)d > ADDR_MAX)
        return -1;
    memcpy(out, c->s + c->pos, (size_t)l);
    out[l] = '@';
    for (ssize_t i = 0; i < d; i++)
        out[l + 1 + i] = addr_lower((char)dom[i]);
    out[l + 1 + d] = '\0';
    c->pos = at + 1 + (size_t)d;
    return 0;
}

/* Skips spaces at the cursor when sloppy. */
static void addr_skip_sp(struct addr_cur *c)
{
    while (c->o->sloppy && c->pos < c->len && c->s[c->pos] == ' ')
        c->pos++;
}

/* Parses the inside of the path (source route and mailbox) and its closing. Returns 0/-1. */
static int addr_parse_body(struct addr_cur *c, bool bracket, char *out)
{
    if (addr_skip_adl(c) < 0 || addr_scan_mailbox(c, out) < 0)
        return -1;
    if (!bracket)
        return (c->pos == c->len || c->s[c->pos] == ' ') ? 0 : -1;
    addr_skip_sp(c);
    if (c->pos >= c->len || c->s[c->pos] != '>')
        return -1;
    c->pos++;
    return 0;
}

ssize_t addr_parse_path(const char *s, size_t len, const struct addr_opts *o, char *out)
{
    char route[ADDR_MAX + 1];
    return addr_parse_path_route(s, len, o, out, route);
}

ssize_t addr_parse_path_route(const char *s, size_t len, const struct addr_opts *o, char *out,
                              char *route)
{
    struct addr_cur c = {.s = (const unsigned char *)s, .len = len, .pos = 0, .o = o};
    bool bracket = false;
    route[0] = '\0';

    out[0] = '\0';
    addr_skip_sp(&c);
    if (c.pos < c.len && c.s[c.pos] == '<') {
        bracket = true;
        c.pos++;
        addr_skip_sp(&c);
    } else if (!o->sloppy) {
        return -1;
    }
    if (bracket && c.pos < c.len && c.s[c.pos] == '>')
        return o->null_ok ? (ssize_t)(c.pos + 1) : -1;
    if (addr_parse_body(&c, bracket, out) < 0) {
        out[0] = '\0';
        return -1;
    }
    if (c.route_len > 0 && c.route_len <= ADDR_MAX) {
        for (size_t i = 0; i < c.route_len; i++)
            route[i] = addr_lower((char)c.s[c.route_at + i]);
        route[c.route_len] = '\0';
    }
    return (ssize_t)c.pos;
}

const char *addr_unrouted(const char *addr)
{
    const char *colon = addr[0] == '@' ? strchr(addr, ':') : NULL;
    /* a literal "[IPv6:...]" in the route holds colons: the route ends after its ']' */
    if (colon && addr[1] == '[') {
        const char *close = strchr(addr, ']');
        colon = close && close[1] == ':' ? close + 1 : NULL;
    }
    return colon ? colon + 1 : addr;
}

size_t addr_route_host(const char *addr, char *host, size_t cap)
{
    const char *rest = addr_unrouted(addr);
    if (rest == addr)
        return 0;
    size_t n = (size_t)(rest - addr) - 2; /* between '@' and ':' */
    if (n == 0 || n >= cap)
        return 0;
    memcpy(host, addr + 1, n);
    host[n] = '\0';
    return n;
}

const char *addr_domain(const char *addr)
{
    const char *at = strrchr(addr, '@');
    return at != NULL ? at + 1 : "";
}

bool addr_domain_valid(const char *s, size_t len)
{
    if (len == 0)
        return false;
    ssize_t d = addr_scan_domain((const unsigned char *)s, len, false);
    return d >= 0 && (size_t)d == len;
}
