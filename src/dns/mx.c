/* mx: pure helpers for MX sets; no I/O, no globals, no clock.
 *
 * mx_order(hosts, n, rnd, rarg)  ascending preference; each run of equal preference is
 *     shuffled (Fisher-Yates, unbiased bounded draws from rnd) so that load spreads over
 *     equal hosts as RFC 5321 §5.1 asks. Only the order of the array changes.
 * mx_key(hosts, n, buf, buflen)  "mx:" + "pref:name" sorted by (pref, name), joined by ',';
 *     the same set in any order gives the same key. -1 when buf is too small.
 * mx_rdata_parse(rd, len, ...)  one MX rdata from libunbound (uncompressed name): untrusted
 *     bytes, every length checked, anything unexpected is -1. */
#include "dns/mx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

#define MX_WIRE_MAX 255 /* RFC 1035 §2.3.4: a name is at most 255 octets on the wire */
#define MX_LABEL_MAX 63

/* qsort comparator: ascending preference only (ties are shuffled afterwards). */
static int mx_cmp_pref(const void *a, const void *b)
{
    const struct mx_host *x = a, *y = b;
    return (x->pref > y->pref) - (x->pref < y->pref);
}

/* A uniform draw in [0, bound) from rnd without modulo bias (rejection sampling). */
static uint32_t mx_uniform(uint32_t bound, uint32_t (*rnd)(void *rarg), void *rarg)
{
    /* 2^32 mod bound, computed in 32 bits: values below it would bias the modulo. */
    uint32_t floor = (uint32_t)(-bound) % bound;
    for (;;) {
        uint32_t r = rnd(rarg);
        if (r >= floor)
            return r % bound;
    }
}

/* Fisher-Yates shuffle of hosts[0..n). */
static void mx_shuffle(struct mx_host *hosts, size_t n, uint32_t (*rnd)(void *rarg), void *rarg)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = mx_uniform((uint32_t)i, rnd, rarg);
        struct mx_host t = hosts[i - 1];
        hosts[i - 1] = hosts[j];
        hosts[j] = t;
    }
}

/* Sorts by preference, then shuffles every run of equal preference. */
void mx_order(struct mx_host *hosts, size_t n, uint32_t (*rnd)(void *rarg), void *rarg)
{
    if (n < 2)
        return;
    qsort(hosts, n, sizeof *hosts, mx_cmp_pref);
    size_t start = 0;
    for (size_t i = 1; i <= n; i++) {
        if (i == n || hosts[i].pref != hosts[start].pref) {
            if (i - start > 1 && i - start <= UINT32_MAX)
                mx_shuffle(hosts + start, i - start, rnd, rarg);
            start = i;
        }
    }
}

/* qsort comparator over host pointers: (pref, name). */
static int mx_cmp_key(const void *a, const void *b)
{
    const struct mx_host *x = *(const struct mx_host *const *)a;
    const struct mx_host *y = *(const struct mx_host *const *)b;
    if (x->pref != y->pref)
        return x->pref < y->pref ? -1 : 1;
    return strcmp(x->name ? x->name : "", y->name ? y->name : "");
}

/* Appends "pref:name" pairs in canonical order after "mx:". */
int mx_key(const struct mx_host *hosts, size_t n, char *buf, size_t buflen)
{
    if (!buf || buflen == 0)
        return -1;
    const struct mx_host **idx = xcalloc(n, sizeof *idx);
    for (size_t i = 0; i < n; i++)
        idx[i] = &hosts[i];
    qsort(idx, n, sizeof *idx, mx_cmp_key);
    int rc = -1;
    size_t len = 0;
    int k = snprintf(buf, buflen, "mx:");
    if (k < 0 || (size_t)k >= buflen)
        goto out;
    len = (size_t)k;
    for (size_t i = 0; i < n; i++) {
        k = snprintf(buf + len, buflen - len, "%s%u:%s", i ? "," : "", (unsigned)idx[i]->pref,
                     idx[i]->name ? idx[i]->name : "");
        if (k < 0 || (size_t)k >= buflen - len)
            goto out;
        len += (size_t)k;
    }
    rc = len > (size_t)INT32_MAX ? -1 : (int)len;
out:
    free(idx);
    if (rc < 0)
        buf[0] = '\0';
    return rc;
}

/* True for the bytes a host-name label may carry here: letters, digits, '-', '_'. */
static int mx_label_byte_ok(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

/* Copies one label of length n from p into name at *out (lower-cased, dot-prefixed unless
 * first). Returns 0, or -1 on a bad byte or when it does not fit. */
static int mx_label_copy(const uint8_t *p, size_t n, char *name, size_t namelen, size_t *out)
{
    size_t need = n + (*out ? 1 : 0);
    if (need + 1 > namelen - *out)
        return -1;
    if (*out)
        name[(*out)++] = '.';
    for (size_t i = 0; i < n; i++) {
        if (!mx_label_byte_ok(p[i]))
            return -1;
        char c = (char)p[i];
        name[(*out)++] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    name[*out] = '\0';
    return 0;
}

/* Parses "pref name" MX rdata; see mx.h for the exact rules. */
int mx_rdata_parse(const uint8_t *rd, size_t len, uint16_t *pref, char *name, size_t namelen)
{
    if (!rd || !pref || !name || namelen < 2 || len < 3)
        return -1;
    name[0] = '\0';
    size_t pos = 2, out = 0;
    for (;;) {
        if (pos >= len)
            return -1; /* no root label */
        size_t n = rd[pos++];
        if (n == 0)
            break;
        if (n > MX_LABEL_MAX) /* 0xC0 pointers and the reserved 0x40/0x80 types too */
            return -1;
        if (n > len - pos || pos - 2 + n + 1 > MX_WIRE_MAX)
            return -1;
        if (mx_label_copy(rd + pos, n, name, namelen, &out) < 0)
            return -1;
        pos += n;
    }
    if (pos != len)
        return -1; /* trailing bytes after the name */
    if (out == 0) {
        name[0] = '.';
        name[1] = '\0';
    }
    *pref = (uint16_t)((rd[0] << 8) | rd[1]);
    return 0;
}
