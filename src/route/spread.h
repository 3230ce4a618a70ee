/* spread: a relay with several hosts (`address = [ "h1", "h2", ... ]`, docs/routing.md),
 * FML's $HOST with @HOSTS.
 *
 * spread_resolve() looks up every host of rl at once (dns_host(); an IP literal needs no
 * query) and calls cb once, later on the loop, with one struct mx_result the callee owns:
 * DNS_OK with the hosts that resolved, in the configured order, each with pref = its index
 * in rl->hosts, port = its port and name = its configured text (the IP for a literal);
 * when none resolved, DNS_TEMPFAIL if any lookup failed temporarily, else the first
 * host's permanent status. ttl is the smallest seen. rl must outlive the call.
 *
 * spread_plan() (pure) turns such a host list into the destinations of the relay:
 *  - failover: one destination (key `key`) with every host: pref 0, 1, 2, ... as listed
 *    (the next host is tried when one is down), or all 0 with order = random (shuffled for
 *    every connection, route_peers());
 *  - parallel: one destination per host (key `key` + "#" + the host's text) with that
 *    host alone, so every connection of it goes to its host and counts against that
 *    host's limits only; backup[] names the other destinations (indices into out) its
 *    mail goes to while its host is down: listed, the ones after it, wrapping around
 *    (h2 backs up h1, ...); random, the same set, which deliver/ picks from at random.
 *    route.h hands recipients to them in turn, so one message's recipients are divided
 *    evenly and each host has its own limits.
 * out gets deep copies (the caller owns them: names, addresses, keys); returns the count. */
#ifndef SLUICE_ROUTE_SPREAD_H
#define SLUICE_ROUTE_SPREAD_H
#include <stddef.h>

#include "conf/conf.h"
#include "dns/dns.h"
#include "dns/mx.h"

struct relay;

struct spread_dest {
    char *key;
    struct mx_host *hosts;
    size_t nhosts;
    size_t backup[RELAY_HOSTS_MAX]; /* parallel: the other destinations, in backup order */
    size_t nbackups;
};

void spread_resolve(struct dns *d, const struct relay *rl, dns_mx_fn cb, void *arg);
size_t spread_plan(const struct relay *rl, const struct mx_host *hosts, size_t n,
                   const char *key, struct spread_dest *out);
#endif
