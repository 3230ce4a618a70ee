/* fuzz_addr: addr_parse_path under every option combination (chosen by the first byte) on
 * the remaining bytes; checks the output invariants, then addr_domain/addr_domain_valid, and
 * that a source route found by addr_parse_path_route() survives addr_unrouted() and
 * addr_route_host() in the stored form "@route:addr". */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts when a successful parse breaks the header's promises. */
static void check_out(const char *out, ssize_t n, size_t size, const struct addr_opts *o)
{
    if (n < -1 || n > (ssize_t)size)
        abort();
    size_t ol = strnlen(out, ADDR_MAX + 1);
    if (ol > ADDR_MAX || (n < 0 && ol != 0))
        abort();
    if (n < 0)
        return;
    if (ol == 0 && !o->null_ok)
        abort();
    const char *dom = addr_domain(out);
    for (const char *p = dom; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            abort(); /* domain must be lower-cased */
    for (size_t i = 0; i < ol; i++)
        if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f || (!o->utf8 && (unsigned char)out[i] >= 0x80))
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    struct addr_opts o = {.null_ok = data[0] & 1, .sloppy = (data[0] >> 1) & 1, .utf8 = (data[0] >> 2) & 1};
    size--;
    char *buf = malloc(size ? size : 1);
    char out[ADDR_MAX + 1];
    if (buf == NULL)
        return 0;
    memcpy(buf, data + 1, size);
    ssize_t n = addr_parse_path(buf, size, &o, out);
    check_out(out, n, size, &o);
    if (n > 0) {
        /* re-parsing exactly the consumed bytes gives the same answer */
        char again[ADDR_MAX + 1];
        if (addr_parse_path(buf, (size_t)n, &o, again) != n || strcmp(again, out) != 0)
            abort();
        const char *dom = addr_domain(out);
        if (dom[0] != '\0' && dom[0] != '[' && !o.utf8 && !addr_domain_valid(dom, strlen(dom)))
            abort();
        /* the route variant agrees, and a stored "@route:addr" gives both back */
        char route[ADDR_MAX + 1], routed[2 * ADDR_MAX + 4], host[ADDR_MAX + 1];
        if (addr_parse_path_route(buf, size, &o, again, route) != n || strcmp(again, out) != 0)
            abort();
        if (route[0]) {
            snprintf(routed, sizeof routed, "@%s:%s", route, out);
            if (strcmp(addr_unrouted(routed), out) != 0 ||
                addr_route_host(routed, host, sizeof host) != strlen(route) ||
                strcmp(host, route) != 0)
                abort();
        }
    }
    addr_domain_valid(buf, size);
    free(buf);
    return 0;
}
