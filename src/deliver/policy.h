/* policy: the effective per-destination policy (deliver/policy.c, docs/shaping.md). The
 * deliver-level settings are the base; every deliver.policies block that matches the
 * destination overrides the keys it gives, in order (later blocks refine earlier ones).
 * When each selector is known:
 *  - "GLOB" and "smtp/GLOB": the recipient domain, at routing (policy_domain_mask(), per
 *    recipient; domains that share an MX set but match different blocks get separate
 *    destinations);
 *  - "mx:GLOB", "mx:.suffix": the MX host names, once DNS answered (a relay: its host);
 *  - "ip:CIDR": the addresses of those hosts, once DNS answered (the hosts a connection
 *    will try; a literal relay: its address).
 * Smarthost mode (the default relay alone): maxserverconnections is maxconnections unless
 * a block sets it (seed 000: no per-destination limit). Resolution runs once per
 * destination (deliver/dest.c caches it). Pure: no clock, no I/O. */
#ifndef SLUICE_POLICY_H
#define SLUICE_POLICY_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "conf/conf.h"

struct dest;

struct policy_eff {
    unsigned maxserverconnections, maxmessages, maxrecips, msgs_burst, initial_concurrency;
    uint64_t idlemax; /* ms */
    bool queueonly;
    double msgs_per_second, msgs_per_minute, msgs_per_hour, connections_per_minute;
    int16_t from[POLICY_NKEYS]; /* the block that set each key; -1: the deliver-level value */
};

/* The blocks (bit i = deliver.policies[i]) one of whose domain selectors matches domain
 * (any case; NULL or "" matches none). */
uint64_t policy_domain_mask(const struct conf *c, const char *domain);
/* True when some block has a domain selector (else every mask is 0). */
bool policy_has_domain_selectors(const struct conf *c);
/* The effective policy of destination d (NULL: domain selectors only) for the blocks of
 * dmask. */
void policy_resolve(const struct conf *c, uint64_t dmask, const struct dest *d,
                    struct policy_eff *out);
/* Messages per second the policy allows (the lowest of its three rates; 0: no limit). */
double policy_msg_rate(const struct policy_eff *p);
/* Prints the effective policy of domain and where each value comes from
 * (`sluice check-config --explain DOMAIN`), then the blocks that would also apply through
 * their MX or IP selectors once DNS answers. */
void policy_explain(const struct conf *c, const char *domain, FILE *out);
#endif
