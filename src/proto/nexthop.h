/* nexthop: the syntax of a transport map's next hop (docs/local.md, key transport[].nexthop).
 *
 *   "local"                 deliver on this host (local(8): aliases, .forward, mailbox)
 *   "lmtp:unix:PATH"        LMTP (RFC 2033) over the UNIX socket PATH (absolute)
 *   "lmtp:inet:HOST:PORT"   LMTP over TCP; HOST a name, an IPv4 address or "[IPv6]"
 *   "smtp:[HOST]:PORT"      SMTP to HOST (brackets: no MX lookup), ":PORT" optional (25)
 *   "smtp:HOST[:PORT]"      SMTP to HOST's MX set... written without brackets: as relays do
 *   "error:TEXT"            fail the recipient at once: 5.0.0 TEXT (TEXT may start with a
 *                           4xx/5xx code: "error:5.1.1 user gone", "error:4.3.0 later")
 *   "hold"                  keep the mail queued (deferred 4.3.2, retried as usual)
 * nexthop_parse() is pure (no I/O, no allocation): 0 and *out filled (pointers into s), or -1
 * with a reason in *why. Hard limits: 512 bytes in all, a path of at most 107 bytes
 * (sun_path). */
#ifndef SLUICE_NEXTHOP_H
#define SLUICE_NEXTHOP_H
#include <stddef.h>
#include <stdint.h>

#define NEXTHOP_MAX 512
#define NEXTHOP_PATH_MAX 107

enum nexthop_kind { NEXTHOP_LOCAL, NEXTHOP_LMTP_UNIX, NEXTHOP_LMTP_INET, NEXTHOP_SMTP,
                    NEXTHOP_ERROR, NEXTHOP_HOLD };

struct nexthop {
    enum nexthop_kind kind;
    const char *host; /* LMTP_INET, SMTP: the host (without brackets); UNIX: the path */
    size_t hostlen;
    uint16_t port;    /* 0: the default (25 for SMTP) */
    int literal;      /* SMTP: the host was bracketed (no MX lookup) */
    const char *text; /* ERROR: the text after "error:" */
    size_t textlen;
};

int nexthop_parse(const char *s, size_t len, struct nexthop *out, const char **why);
#endif
