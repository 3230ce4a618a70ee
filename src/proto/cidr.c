/* cidr: network blocks ("10.0.0.0/8", "192.168/16", "2001:db8::/32") and address matching.
 * Contract (see cidr.h):
 *   cidr_parse()             0 and a block whose host bits are cleared, or -1. IPv4 octets are
 *                            decimal 0..255 without leading zeros; an abbreviated IPv4 network
 *                            (1 to 3 octets, seed form "192.168/16") must carry a prefix, the
 *                            missing octets are zero. IPv6 is whatever inet_pton accepts.
 *                            Prefix: decimal, no leading zeros, 0..32 / 0..128. At most 64 bytes.
 *   cidr_match()             v4 blocks match AF_INET addresses and v4-mapped AF_INET6 ones;
 *                            v6 blocks match AF_INET6 addresses (a v4 address is compared in
 *                            its ::ffff:a.b.c.d form).
 *   cidr_sockaddr_parse()    textual IP plus port (host order) to a sockaddr; 0/-1.
 *   cidr_sockaddr_to_text()  the address part of a sockaddr, "?" when it cannot be shown.
 * Pure: no allocation, no globals. */
#include "proto/cidr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#define CIDR_MAX_INPUT 64

static const uint8_t cidr_v4mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* Parses a decimal number without sign or leading zeros into *v (<= max); bytes used or -1. */
static int cidr_decimal(const char *s, size_t len, unsigned max, unsigned *v)
{
    size_t i = 0;
    unsigned n = 0;
    while (i < len && s[i] >= '0' && s[i] <= '9') {
        if (i > 0 && n == 0)
            return -1;
        n = n * 10 + (unsigned)(s[i] - '0');
        if (n > max)
            return -1;
        i++;
    }
    if (i == 0)
        return -1;
    *v = n;
    return (int)i;
}

/* Parses 1..4 dotted octets filling the whole of s; returns the octet count or -1. */
static int cidr_parse_v4(const char *s, size_t len, uint8_t addr[4])
{
    size_t i = 0;
    int count = 0;
    memset(addr, 0, 4);
    for (;;) {
        unsigned v;
        int used = cidr_decimal(s + i, len - i, 255, &v);
        if (used < 0)
            return -1;
        addr[count++] = (uint8_t)v;
        i += (size_t)used;
        if (i == len)
            return count;
        if (s[i] != '.' || count == 4)
            return -1;
        i++;
    }
}

/* Clears every bit of addr beyond prefix (addr is nbytes long). */
static void cidr_mask(uint8_t *addr, size_t nbytes, unsigned prefix)
{
    for (size_t i = 0; i < nbytes; i++) {
        unsigned bits = prefix > i * 8 ? prefix - (unsigned)(i * 8) : 0;
        if (bits < 8)
            addr[i] &= (uint8_t)(0xff00u >> bits);
    }
}

/* Parses the address part (no prefix) into out; sets *octets for IPv4. 0/-1. */
static int cidr_parse_addr(const char *s, size_t len, struct cidr *out, int *octets)
{
    char tmp[CIDR_MAX_INPUT + 1];
    memset(out->addr, 0, sizeof out->addr);
    if (memchr(s, ':', len) == NULL) {
        *octets = cidr_parse_v4(s, len, out->addr);
        out->family = AF_INET;
        return *octets < 0 ? -1 : 0;
    }
    if (len == 0 || len > CIDR_MAX_INPUT || memchr(s, '\0', len) != NULL)
        return -1;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    out->family = AF_INET6;
    *octets = 0;
    return inet_pton(AF_INET6, tmp, out->addr) == 1 ? 0 : -1;
}

/* Parses "addr[/prefix]"; see the contract above. */
int cidr_parse(const char *s, size_t len, struct cidr *out)
{
    if (s == NULL || out == NULL || len == 0 || len > CIDR_MAX_INPUT)
        return -1;
    const char *slash = memchr(s, '/', len);
    size_t alen = slash ? (size_t)(slash - s) : len;
    struct cidr c;
    int octets;
    if (cidr_parse_addr(s, alen, &c, &octets) < 0)
        return -1;
    unsigned max = c.family == AF_INET ? 32 : 128;
    c.prefix = max;
    if (slash != NULL) {
        size_t plen = len - alen - 1;
        if (cidr_decimal(slash + 1, plen, max, &c.prefix) != (int)plen || plen == 0)
            return -1;
    } else if (c.family == AF_INET && octets != 4) {
        return -1; /* "10.1" alone is ambiguous (inet_aton reads it as 10.0.0.1) */
    }
    cidr_mask(c.addr, c.family == AF_INET ? 4 : 16, c.prefix);
    *out = c;
    return 0;
}

/* True when the first prefix bits of a and b are equal. */
static bool cidr_prefix_equal(const uint8_t *a, const uint8_t *b, unsigned prefix)
{
    unsigned full = prefix / 8, rest = prefix % 8;
    if (memcmp(a, b, full) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t m = (uint8_t)(0xff00u >> rest);
    return (a[full] & m) == (b[full] & m);
}

/* Extracts sa's address as 16 bytes (v4 as ::ffff:a.b.c.d); false for other families. */
static bool cidr_sockaddr_bytes(const struct sockaddr *sa, uint8_t out[16])
{
    if (sa == NULL)
        return false;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
        memcpy(out, cidr_v4mapped_prefix, 12);
        memcpy(out + 12, &sin->sin_addr, 4);
        return true;
    }
    if (sa->sa_family == AF_INET6) {
        memcpy(out, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
        return true;
    }
    return false;
}

/* Matches one block; see the contract above for the v4/v6 rules. */
bool cidr_match(const struct cidr *c, const struct sockaddr *sa)
{
    uint8_t a[16];
    if (c == NULL || !cidr_sockaddr_bytes(sa, a))
        return false;
    if (c->family == AF_INET6)
        return c->prefix <= 128 && cidr_prefix_equal(a, c->addr, c->prefix);
    if (c->family != AF_INET || c->prefix > 32)
        return false;
    if (memcmp(a, cidr_v4mapped_prefix, 12) != 0)
        return false;
    return cidr_prefix_equal(a + 12, c->addr, c->prefix);
}

/* Matches any of n blocks. */
bool cidr_match_any(const struct cidr *list, size_t n, const struct sockaddr *sa)
{
    for (size_t i = 0; i < n; i++)
        if (cidr_match(&list[i], sa))
            return true;
    return false;
}

/* Fills ss from a NUL-terminated textual IPv4 or IPv6 address and a port. */
int cidr_sockaddr_parse(const char *ip, uint16_t port, struct sockaddr_storage *ss, socklen_t *len)
{
    if (ip == NULL || ss == NULL || strlen(ip) > CIDR_MAX_INPUT)
        return -1;
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *sin = (struct sockaddr_in *)ss;
    if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        if (len)
            *len = sizeof *sin;
        return 0;
    }
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET6, ip, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        if (len)
            *len = sizeof *sin6;
        return 0;
    }
    return -1;
}

/* Formats the address of sa with inet_ntop. */
char *cidr_sockaddr_to_text(const struct sockaddr *sa, char *buf, size_t buflen)
{
    if (buf == NULL || buflen == 0)
        return buf;
    const void *a = NULL;
    if (sa != NULL && sa->sa_family == AF_INET)
        a = &((const struct sockaddr_in *)sa)->sin_addr;
    else if (sa != NULL && sa->sa_family == AF_INET6)
        a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
    if (a == NULL || inet_ntop(sa->sa_family, a, buf, (socklen_t)buflen) == NULL)
        snprintf(buf, buflen, "?");
    return buf;
}
