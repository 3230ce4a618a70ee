/* dns: asynchronous MX and address lookups through libunbound, inside the event loop.
 * libunbound is used as a stub only: ub_ctx_set_fwd() to each resolver.forwarders entry, or
 * ub_ctx_resolvconf() when none are configured; every return code is checked and a failure
 * is fatal at creation. Results are delivered by callback on the loop, never synchronously
 * from inside dns_mx()/dns_host().
 *
 * dns_mx(domain): MX records, then A and AAAA of every MX host.
 *   - NXDOMAIN                      -> DNS_NXDOMAIN (permanent)
 *   - a single MX "0 ." (RFC 7505)  -> DNS_NULLMX (permanent)
 *   - no MX records (NODATA):  with fallback_a, the domain itself is the one host
 *     (pref 0, implicit MX); without, DNS_NOMX (permanent)
 *   - SERVFAIL, timeout, bogus, any other error -> DNS_TEMPFAIL
 *   - MX hosts without any address are kept with naddrs 0; when no host has an address
 *     the status is DNS_TEMPFAIL with why "no address for any MX host".
 * dns_host(name): A and AAAA of one host (relays): DNS_OK with one host, or an error. */
#ifndef SLUICE_DNS_H
#define SLUICE_DNS_H
#include <stdbool.h>
#include <stdint.h>

#include "dns/mx.h"

struct event_base;
struct conf;
struct dns;

enum dns_status { DNS_OK, DNS_NXDOMAIN, DNS_NULLMX, DNS_NOMX, DNS_TEMPFAIL };

struct mx_result {
    enum dns_status status;
    char why[256];          /* human-readable reason when status != DNS_OK */
    struct mx_host *hosts;  /* sorted with mx_order() */
    size_t nhosts;
    uint32_t ttl;           /* smallest TTL seen, seconds (for caching) */
};

typedef void (*dns_mx_fn)(void *arg, struct mx_result *res); /* callee owns res */

/* Creates the resolver. Returns NULL with a message in err on any libunbound failure. */
struct dns *dns_create(struct event_base *base, const struct conf *c, char *err, size_t errlen);
void dns_free(struct dns *d);
void dns_mx(struct dns *d, const char *domain, bool fallback_a, dns_mx_fn cb, void *arg);
void dns_host(struct dns *d, const char *host, dns_mx_fn cb, void *arg);
void mx_result_free(struct mx_result *res);
#endif
