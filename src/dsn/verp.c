/* verp: VERP sender encoding and decoding (contracts in verp.h). */
#include "dsn/verp.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "proto/addr.h"

/* True when the recipient local part can be embedded: no quote, blank, control or '@'. */
static bool verp_local_ok(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= ' ' || c == 0x7f || c == '"' || c == '@' || c == '\\' || c == '<' || c == '>')
            return false;
    }
    return true;
}

/* Builds local D0 rlocal D1 rdomain @ sdomain. */
int verp_encode(const char *sender, const char *rcpt, const char *delims, char *out, size_t cap)
{
    const char *sat = sender ? strrchr(sender, '@') : NULL, *rat = rcpt ? strrchr(rcpt, '@') : NULL;
    if (!sat || !rat || sat == sender || !rat[1] || !sat[1] || !delims || strlen(delims) != 2)
        return -1;
    size_t rl = (size_t)(rat - rcpt);
    if (!verp_local_ok(rcpt, rl) || !verp_local_ok(rat + 1, strlen(rat + 1)))
        return -1;
    int n = snprintf(out, cap, "%.*s%c%.*s%c%s%s", (int)(sat - sender), sender, delims[0], (int)rl,
                     rcpt, delims[1], rat + 1, sat);
    if (n < 0 || (size_t)n >= cap || n > VERP_ADDR_MAX)
        return -1;
    return 0;
}

/* Splits a VERP address back into recipient and sender. */
int verp_decode(const char *addr, size_t len, const char *delims, char *rcpt, char *sender,
                size_t cap)
{
    if (!delims || strlen(delims) != 2 || len == 0 || len > VERP_ADDR_MAX || memchr(addr, 0, len))
        return -1;
    const char *at = memrchr(addr, '@', len);
    if (!at || at == addr || at == addr + len - 1)
        return -1;
    size_t ll = (size_t)(at - addr);
    const char *d0 = memchr(addr, delims[0], ll);
    if (!d0 || d0 == addr)
        return -1;
    const char *rest = d0 + 1;
    size_t restlen = (size_t)(at - rest);
    const char *d1 = restlen ? memrchr(rest, delims[1], restlen) : NULL;
    if (!d1 || d1 == rest || d1 == at - 1)
        return -1;
    const char *rd = d1 + 1, *sd = at + 1;
    size_t rdl = (size_t)(at - rd), sdl = len - ll - 1;
    if (!verp_local_ok(rest, (size_t)(d1 - rest)) || !addr_domain_valid(rd, rdl) ||
        !verp_local_ok(addr, (size_t)(d0 - addr)) || !addr_domain_valid(sd, sdl))
        return -1;
    int n = snprintf(rcpt, cap, "%.*s@%.*s", (int)(d1 - rest), rest, (int)rdl, rd);
    int m = snprintf(sender, cap, "%.*s@%.*s", (int)(d0 - addr), addr, (int)sdl, sd);
    if (n < 0 || m < 0 || (size_t)n >= cap || (size_t)m >= cap)
        return -1;
    return 0;
}

/* Does VERP apply to this sender? */
bool verp_wanted(bool all, char *const *domains, size_t ndomains, const char *sender)
{
    const char *at = sender ? strrchr(sender, '@') : NULL;
    if (!at || !at[1])
        return false;
    if (all)
        return true;
    for (size_t i = 0; i < ndomains; i++)
        if (strcasecmp(at + 1, domains[i]) == 0)
            return true;
    return false;
}
