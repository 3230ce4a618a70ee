/* nexthop: parser of transport map next hops. See nexthop.h for the forms and contract. */
#include "proto/nexthop.h"

#include <ctype.h>
#include <string.h>

/* True when s[0..len) is a host: letters, digits, '-', '.', ':' (IPv6 in brackets only). */
static int nexthop_host_ok(const char *s, size_t len, int colon_ok)
{
    if (len == 0 || len > 255)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!(isalnum(c) || c == '-' || c == '.' || c == '_' || (colon_ok && c == ':')))
            return 0;
    }
    return 1;
}

/* Parses a port of 1..65535 from s[0..len). */
static int nexthop_port(const char *s, size_t len, uint16_t *port)
{
    unsigned long v = 0;
    if (len == 0 || len > 5)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (v == 0 || v > 65535)
        return -1;
    *port = (uint16_t)v;
    return 0;
}

/* "HOST:PORT" or "[HOST]:PORT" (port required when need_port), into out. */
static int nexthop_hostport(const char *s, size_t len, struct nexthop *out, int need_port)
{
    const char *colon;
    if (len > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (!close || !nexthop_host_ok(s + 1, (size_t)(close - s - 1), 1))
            return -1;
        out->host = s + 1;
        out->hostlen = (size_t)(close - s - 1);
        out->literal = 1;
        colon = close + 1 < s + len ? close + 1 : NULL;
        if (colon && *colon != ':')
            return -1;
    } else {
        colon = memchr(s, ':', len);
        size_t hl = colon ? (size_t)(colon - s) : len;
        if (!nexthop_host_ok(s, hl, 0))
            return -1;
        out->host = s;
        out->hostlen = hl;
    }
    if (!colon)
        return need_port ? -1 : 0;
    return nexthop_port(colon + 1, (size_t)(s + len - colon - 1), &out->port);
}

/* True when s[0..len) holds only printable ASCII. */
static int nexthop_printable(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < ' ' || (unsigned char)s[i] >= 0x7f)
            return 0;
    return 1;
}

/* Parses one next hop; see nexthop.h. */
int nexthop_parse(const char *s, size_t len, struct nexthop *out, const char **why)
{
    memset(out, 0, sizeof *out);
    *why = "want local, lmtp:unix:PATH, lmtp:inet:HOST:PORT, smtp:[HOST]:PORT, error:TEXT or hold";
    if (len == 0 || len > NEXTHOP_MAX || !nexthop_printable(s, len))
        return -1;
    if (len == 5 && memcmp(s, "local", 5) == 0)
        return out->kind = NEXTHOP_LOCAL, 0;
    if (len == 4 && memcmp(s, "hold", 4) == 0)
        return out->kind = NEXTHOP_HOLD, 0;
    if (len > 6 && memcmp(s, "error:", 6) == 0) {
        out->kind = NEXTHOP_ERROR;
        out->text = s + 6;
        out->textlen = len - 6;
        return 0;
    }
    if (len > 10 && memcmp(s, "lmtp:unix:", 10) == 0) {
        out->kind = NEXTHOP_LMTP_UNIX;
        out->host = s + 10;
        out->hostlen = len - 10;
        *why = "lmtp:unix: wants an absolute path of at most 107 bytes";
        return out->host[0] == '/' && out->hostlen <= NEXTHOP_PATH_MAX ? 0 : -1;
    }
    if (len > 10 && memcmp(s, "lmtp:inet:", 10) == 0) {
        out->kind = NEXTHOP_LMTP_INET;
        *why = "lmtp:inet: wants HOST:PORT";
        return nexthop_hostport(s + 10, len - 10, out, 1);
    }
    if (len > 5 && memcmp(s, "smtp:", 5) == 0) {
        out->kind = NEXTHOP_SMTP;
        *why = "smtp: wants [HOST]:PORT, [HOST], HOST or HOST:PORT";
        return nexthop_hostport(s + 5, len - 5, out, 0);
    }
    return -1;
}
