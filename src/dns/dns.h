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
 *   - implicit MX whose A and AAAA both answer definitively with no address -> DNS_NOMX
 *     (RFC 5321 §5.1: neither MX nor address records; a lookup failure stays TEMPFAIL)
 *   - MX targets "." other than a lone "0 ." are dropped; only "." targets -> DNS_NULLMX
 *   - a syntactically invalid name (not letters/digits/'-'/'_' labels, over 253) -> NXDOMAIN
 * Limits: at most DNS_MX_MAX hosts (the lowest preferences; duplicates keep the lowest) and
 * DNS_ADDR_MAX addresses per host (A first, then AAAA). Names are lower-case without the
 * trailing dot; ttl is the smallest TTL of every answer used, including negative ones.
 * A lookup that has not finished after DNS_DEADLINE_MS is cancelled: DNS_TEMPFAIL.
 * When every forwarder refuses (ICMP port unreachable, host/network unreachable) the
 * lookups in flight and new ones fail at once: DNS_TEMPFAIL, why "... resolver IP@PORT
 * refused (...)" (dns.c probes the forwarders itself; libunbound would retry for ~5 s).
 * Non-OK results carry no hosts.
 * dns_host(name): A and AAAA of one host (relays): DNS_OK with one host (pref 0), an IP
 * literal without any query; DNS_NXDOMAIN when both answer NXDOMAIN; else DNS_TEMPFAIL.
 * dns_ptr(addr): the forward-confirmed reverse name of an IPv4/IPv6 address (FCrDNS, as
 * Postfix verifies a client name): the PTR names of the address (at most DNS_PTR_MAX, in
 * answer order), then the A (IPv4) or AAAA (IPv6) records of each; the first name whose
 * addresses (at most DNS_ADDR_MAX) include addr is the answer. NULL when there is no PTR,
 * no name confirms, a name is not a host name, or any lookup fails or passes the deadline.
 * It returns a request id (never 0) for dns_cancel().
 * A dns_ptr() answer (a confirmed name, or none) is kept for its smallest TTL, at most a
 * minute, a failed lookup for 5 s (dns/ptrcache.h), so a client that connects again and
 * again costs no lookup; dns_get_stats() counts the lookups and the cached answers.
 * dns_cancel(id) drops one pending dns_ptr() request: its callback is never called; an id
 * that already answered (or is unknown) is ignored.
 * dns_free() cancels every pending lookup; their callbacks are never called. The context
 * runs a resolver thread: create it after any daemonizing fork. The built-in local zones
 * of libunbound for reverse names (127.in-addr.arpa, ::1, RFC 1918 and RFC 6303 zones) are
 * turned off, so those PTR queries reach the configured forwarders too. */
#ifndef SLUICE_DNS_H
#define SLUICE_DNS_H
#include <stdbool.h>
#include <stdint.h>

#include "dns/mx.h"

struct event_base;
struct conf;
struct dns;

#define DNS_MX_MAX 32
#define DNS_ADDR_MAX 16
#define DNS_DEADLINE_MS 20000
#define DNS_PTR_MAX 4

enum dns_status { DNS_OK, DNS_NXDOMAIN, DNS_NULLMX, DNS_NOMX, DNS_TEMPFAIL };

struct mx_result {
    enum dns_status status;
    char why[256];         /* human-readable reason when status != DNS_OK */
    struct mx_host *hosts; /* sorted with mx_order() */
    size_t nhosts;
    uint32_t ttl; /* smallest TTL seen, seconds (for caching) */
};

typedef void (*dns_mx_fn)(void *arg, struct mx_result *res); /* callee owns res */
/* name: lower-case, no trailing dot, valid during the call only; NULL when not confirmed. */
typedef void (*dns_ptr_fn)(void *arg, const char *name);
struct sockaddr;

/* Creates the resolver. Returns NULL with a message in err on any libunbound failure. */
struct dns *dns_create(struct event_base *base, const struct conf *c, char *err, size_t errlen);
void dns_free(struct dns *d);
void dns_mx(struct dns *d, const char *domain, bool fallback_a, dns_mx_fn cb, void *arg);
void dns_host(struct dns *d, const char *host, dns_mx_fn cb, void *arg);
void mx_result_free(struct mx_result *res);
/* Starts the forward-confirmed reverse lookup of sa (AF_INET or AF_INET6); the id. */
uint64_t dns_ptr(struct dns *d, const struct sockaddr *sa, dns_ptr_fn cb, void *arg);
/* Cancels a pending dns_ptr() request: its callback is never called. */
void dns_cancel(struct dns *d, uint64_t id);

struct dns_stats {
    uint64_t ptr_lookups; /* dns_ptr() calls */
    uint64_t ptr_cached;  /* of them answered from the cache */
};
void dns_get_stats(const struct dns *d, struct dns_stats *st);
#endif
