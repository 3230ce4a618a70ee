/* addrmap: parser of the virtual and canonical map files. See addrmap.h.
 * Invariant: nothing is read outside buf[0..len); every pointer handed out lies inside it. */
#include "proto/addrmap.h"

#include <stdio.h>
#include <string.h>

/* True for a blank (space or tab). */
static int am_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* The end of the line starting at p (the '\n' or len). */
static size_t am_eol(const char *buf, size_t len, size_t p)
{
    const char *nl = memchr(buf + p, '\n', len - p);
    return nl ? (size_t)(nl - buf) : len;
}

/* True when the line [p, e) is blank or a comment. */
static int am_skip_line(const char *buf, size_t p, size_t e)
{
    while (p < e && (am_blank(buf[p]) || buf[p] == '\r'))
        p++;
    return p == e || buf[p] == '#';
}

int addrmap_addr_ok(const char *a, size_t len, int domain_only)
{
    const char *at = memchr(a, '@', len);
    if (len == 0 || len > ADDRMAP_ADDR_MAX || !at || at + 1 == a + len)
        return 0;
    if (domain_only ? at != a : at == a)
        return 0;
    if (memchr(at + 1, '@', (size_t)(a + len - at - 1)))
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)a[i];
        if (c <= ' ' || c == 0x7f || c == '"' || c == ',' || c == '|' || c == '<' || c == '>')
            return 0;
    }
    return a[0] != '/';
}

int addrmap_next(const char *buf, size_t len, size_t *pos, unsigned *line,
                 struct addrmap_entry *e, char *err, size_t errlen)
{
    size_t p = *pos;
    for (;;) { /* skip blank and comment lines */
        if (p >= len) {
            *pos = len;
            return 0;
        }
        size_t eol = am_eol(buf, len, p);
        ++*line;
        if (!am_skip_line(buf, p, eol))
            break;
        p = eol < len ? eol + 1 : len;
    }
    if (am_blank(buf[p])) {
        snprintf(err, errlen, "%u: continuation line without an entry", *line);
        return -1;
    }
    e->line = *line;
    e->key = buf + p;
    size_t k = p;
    while (k < len && buf[k] != '\n' && buf[k] != '\r' && !am_blank(buf[k]))
        k++;
    e->keylen = k - p;
    while (k < len && am_blank(buf[k]))
        k++;
    e->value = buf + k;
    size_t end = am_eol(buf, len, k);
    while (end < len && end + 1 < len && am_blank(buf[end + 1])) { /* continuation lines */
        ++*line;
        end = am_eol(buf, len, end + 1);
    }
    e->valuelen = end - k;
    *pos = end < len ? end + 1 : len;
    if (e->valuelen + e->keylen > ADDRMAP_ENTRY_MAX) {
        snprintf(err, errlen, "%u: entry too long", e->line);
        return -1;
    }
    return 1;
}

/* True for a value separator. */
static int am_sep(char c)
{
    return c == ',' || am_blank(c) || c == '\n' || c == '\r';
}

int addrmap_split(enum addrmap_kind kind, const struct addrmap_entry *e, addrmap_value_fn fn,
                  void *arg, char *err, size_t errlen)
{
    int key_domain = e->keylen > 0 && e->key[0] == '@';
    if (!addrmap_addr_ok(e->key, e->keylen, key_domain)) {
        snprintf(err, errlen, "bad key \"%.*s\" (want local@domain or @domain)",
                 (int)(e->keylen > 64 ? 64 : e->keylen), e->key);
        return -1;
    }
    size_t i = 0, n = 0;
    while (i < e->valuelen) {
        while (i < e->valuelen && am_sep(e->value[i]))
            i++;
        if (i >= e->valuelen)
            break;
        size_t s = i;
        while (i < e->valuelen && !am_sep(e->value[i]))
            i++;
        const char *v = e->value + s;
        size_t vl = i - s;
        int dom = kind == ADDRMAP_CANONICAL && key_domain && v[0] == '@';
        if (!addrmap_addr_ok(v, vl, dom)) {
            snprintf(err, errlen, "bad address \"%.*s\"", (int)(vl > 64 ? 64 : vl), v);
            return -1;
        }
        if (kind == ADDRMAP_CANONICAL && n > 0) {
            snprintf(err, errlen, "canonical: more than one address");
            return -1;
        }
        n++;
        if (fn(arg, v, vl) < 0) {
            snprintf(err, errlen, "value rejected");
            return -1;
        }
    }
    if (n == 0) {
        snprintf(err, errlen, "no address for \"%.*s\"", (int)(e->keylen > 64 ? 64 : e->keylen),
                 e->key);
        return -1;
    }
    return 0;
}
