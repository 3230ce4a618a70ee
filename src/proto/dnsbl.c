/* dnsbl: block list entries, query names and answer matching (contract in dnsbl.h). Pure. */
#include "proto/dnsbl.h"

#include <stdio.h>
#include <string.h>

#include "proto/addr.h"

/* Reads a number 0..max at s[*i..len); -1 when there is none or it is too large. */
static long dnsbl_num(const char *s, size_t len, size_t *i, long max)
{
    long v = 0;
    size_t start = *i;
    while (*i < len && s[*i] >= '0' && s[*i] <= '9' && *i - start < 5)
        v = v * 10 + (s[(*i)++] - '0');
    return *i == start || v > max ? -1 : v;
}

/* Adds the range lo..hi to o. */
static int dnsbl_range(struct dnsbl_octet *o, long lo, long hi)
{
    if (lo < 0 || hi < lo || o->n >= DNSBL_RANGES)
        return -1;
    o->lo[o->n] = (uint8_t)lo;
    o->hi[o->n++] = (uint8_t)hi;
    return 0;
}

/* Reads one octet pattern at s[*i..len). */
static int dnsbl_octet(const char *s, size_t len, size_t *i, struct dnsbl_octet *o)
{
    if (*i < len && s[*i] != '[') {
        long v = dnsbl_num(s, len, i, 255);
        return dnsbl_range(o, v, v);
    }
    (*i)++;
    for (;;) {
        long lo = dnsbl_num(s, len, i, 255), hi = lo;
        if (*i + 1 < len && s[*i] == '.' && s[*i + 1] == '.') {
            *i += 2;
            hi = dnsbl_num(s, len, i, 255);
        }
        if (dnsbl_range(o, lo, hi) < 0 || *i >= len)
            return -1;
        if (s[*i] == ']') {
            (*i)++;
            return 0;
        }
        if (s[(*i)++] != ';')
            return -1;
    }
}

/* Reads the four octet patterns at s[0..len). */
static int dnsbl_pattern(const char *s, size_t len, struct dnsbl_list *out)
{
    size_t i = 0;
    for (int k = 0; k < 4; k++) {
        if (k > 0 && (i >= len || s[i++] != '.'))
            return -1;
        if (dnsbl_octet(s, len, &i, &out->oct[k]) < 0)
            return -1;
    }
    return i == len ? 0 : -1;
}

/* Reads "*WEIGHT" at s[0..len). */
static int dnsbl_weight(const char *s, size_t len, int *w)
{
    size_t i = 0;
    bool neg = len > 0 && s[0] == '-';
    i += neg;
    long v = dnsbl_num(s, len, &i, 1000);
    if (v < 0 || i != len)
        return -1;
    *w = (int)(neg ? -v : v);
    return 0;
}

int dnsbl_parse(const char *s, size_t len, struct dnsbl_list *out, const char **why)
{
    memset(out, 0, sizeof *out);
    out->weight = 1;
    const char *star = memchr(s, '*', len);
    size_t body = star ? (size_t)(star - s) : len;
    if (star && dnsbl_weight(star + 1, len - body - 1, &out->weight) < 0) {
        *why = "bad weight (want *N, N in -1000..1000)";
        return -1;
    }
    const char *eq = memchr(s, '=', body);
    size_t zn = eq ? (size_t)(eq - s) : body;
    if (zn == 0 || zn > DNSBL_ZONE_MAX || !addr_domain_valid(s, zn)) {
        *why = "bad list domain";
        return -1;
    }
    for (size_t i = 0; i < zn; i++)
        out->zone[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
    if (eq) {
        out->has_pattern = true;
        if (dnsbl_pattern(eq + 1, body - zn - 1, out) < 0) {
            *why = "bad address pattern (want e.g. 127.0.0.2 or 127.0.0.[2..11])";
            return -1;
        }
    }
    return 0;
}

int dnsbl_query_name(const struct dnsbl_list *l, int family, const uint8_t *addr, char *out,
                     size_t outlen)
{
    size_t o = 0;
    int n;
    if (family == 4) {
        n = snprintf(out, outlen, "%u.%u.%u.%u.", addr[3], addr[2], addr[1], addr[0]);
        if (n < 0 || (size_t)n >= outlen)
            return -1;
        o = (size_t)n;
    } else {
        static const char hex[] = "0123456789abcdef";
        if (outlen < 64 + 1)
            return -1;
        for (int i = 15; i >= 0; i--) {
            out[o++] = hex[addr[i] & 15];
            out[o++] = '.';
            out[o++] = hex[addr[i] >> 4];
            out[o++] = '.';
        }
    }
    n = snprintf(out + o, outlen - o, "%s", l->zone);
    return n < 0 || (size_t)n >= outlen - o ? -1 : 0;
}

/* True when c may be in a label of a looked-up name. */
static bool dnsbl_label_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_';
}

int dnsbl_query_domain(const struct dnsbl_list *l, const char *domain, size_t len, char *out,
                       size_t outlen)
{
    if (len > 0 && domain[len - 1] == '.')
        len--;
    if (len == 0 || len > 253 || len + 1 + strlen(l->zone) + 1 > outlen)
        return -1;
    size_t label = 0;
    for (size_t i = 0; i < len; i++) {
        char c = domain[i];
        if (c == '.') {
            if (label == 0)
                return -1;
            label = 0;
        } else if (!dnsbl_label_char(c) || ++label > 63) {
            return -1;
        }
        out[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
    }
    if (label == 0)
        return -1;
    snprintf(out + len, outlen - len, ".%s", l->zone);
    return 0;
}

enum dnsbl_answer dnsbl_match(const struct dnsbl_list *l, const uint8_t a[4])
{
    if (a[0] != 127 || (a[1] == 255 && a[2] == 255))
        return DNSBL_GARBAGE;
    if (!l->has_pattern)
        return DNSBL_LISTED;
    for (int k = 0; k < 4; k++) {
        bool in = false;
        for (unsigned r = 0; r < l->oct[k].n && !in; r++)
            in = a[k] >= l->oct[k].lo[r] && a[k] <= l->oct[k].hi[r];
        if (!in)
            return DNSBL_NOT_LISTED;
    }
    return DNSBL_LISTED;
}
