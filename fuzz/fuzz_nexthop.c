/* fuzz_nexthop: nexthop_parse() on arbitrary bytes. A success points only inside the
 * input, keeps a UNIX path absolute and within NEXTHOP_PATH_MAX, a port within 1..65535
 * for lmtp:inet:, and a host free of blanks and control bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/nexthop.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* True when p[0..n) lies inside s[0..len). */
static int inside(const char *s, size_t len, const char *p, size_t n)
{
    return p >= s && p + n <= s + len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data, *why = NULL;
    struct nexthop nh;
    if (nexthop_parse(s, size, &nh, &why) < 0) {
        if (!why)
            abort();
        return 0;
    }
    if (size == 0 || size > NEXTHOP_MAX)
        abort();
    switch (nh.kind) {
    case NEXTHOP_LOCAL:
    case NEXTHOP_HOLD:
        break;
    case NEXTHOP_ERROR:
        if (nh.textlen == 0 || !inside(s, size, nh.text, nh.textlen))
            abort();
        break;
    case NEXTHOP_LMTP_UNIX:
        if (!inside(s, size, nh.host, nh.hostlen) || nh.host[0] != '/' ||
            nh.hostlen > NEXTHOP_PATH_MAX)
            abort();
        break;
    case NEXTHOP_LMTP_INET:
    case NEXTHOP_SMTP:
        if (nh.hostlen == 0 || !inside(s, size, nh.host, nh.hostlen))
            abort();
        if (nh.kind == NEXTHOP_LMTP_INET && nh.port == 0)
            abort();
        for (size_t i = 0; i < nh.hostlen; i++)
            if ((unsigned char)nh.host[i] <= ' ' || (unsigned char)nh.host[i] >= 0x7f)
                abort();
        break;
    default:
        abort();
    }
    return 0;
}
