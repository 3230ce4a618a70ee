/* route: recipient -> destination.
 *
 * route_relay_select() (pure) applies the relays block exactly as seed 000 §4.5.4: sender
 * rules (senders: "domain" matches the sender's domain, "local@domain" the whole address;
 * sendernets: the client's IP) take precedence over destdomains; otherwise the first relay
 * whose destdomains patterns admit the recipient's domain (proto/domainpat.h: in order, the
 * first matching pattern decides, a negated one excludes); otherwise the default relay (a relay with
 * neither destdomains nor sender rules), if any. -1 means: look up the MX records.
 *
 * route_lookup() resolves asynchronously to a struct dest: for a relay, its literal IP or the
 * addresses of its host name (several hosts: spread.h); for a source-routed recipient
 * ("@relay:local@domain", stored by smtpd with allow_source_routes, proto/addr.h), the
 * relay host's literal IP or A/AAAA at deliver.client.port (key "route:HOST"), before
 * local delivery, the transport map and the relays; otherwise the domain's MX set. Destinations are shared by key:
 * every domain whose MX set is identical (same names and preferences, mx_key()) maps to the
 * same struct dest, so their recipients ride the same transactions and connections and
 * maxserverconnections counts per destination (seed 001 §3.4). Results are cached per
 * domain for the DNS TTL (60 s .. 1 h; permanent failures 60 s .. 5 min; temporary failures
 * are not cached); concurrent lookups of one domain share one query. Callbacks always run
 * later on the loop, never inside route_lookup(). Destinations live until route_free(). */
#ifndef SLUICE_ROUTE_H
#define SLUICE_ROUTE_H
#include <stddef.h>
#include <stdint.h>

#include "dns/mx.h"
#include "proto/reply.h"

struct event_base;
struct conf;
struct dns;
struct route;
struct peer;

struct dest {
    char *key;             /* "mx:10:a.test,20:b.test" or "relay:ADDRESS" */
    struct mx_host *hosts; /* in preference order (ties shuffled again per connection) */
    size_t nhosts;
    uint16_t port;
    const struct relay *relay; /* the relay (ssl, auth) for "relay:" keys, else NULL; relays
                                  sharing an address share the first one's settings */
    /* "local": delivery on this host through this transport (local/local.h), which
     * deliver/ uses instead of its SMTP one; NULL for every other destination. */
    const struct deliver_transport *transport;
    void *transport_arg;
    int lmtp; /* transport map "lmtp:" next hop: peers speak LMTP (hosts may hold one
                 AF_UNIX address) */
    int lane; /* one host of a relay spreading in parallel (spread.h): hosts holds that
                 host alone, so its connections and limits are that host's */
    /* A lane's backups: the other lanes of its relay, in the order its mail goes to them
     * while its host is down (deliver/ hands its waiting transactions over, so they are
     * sent on the backup's own connections, within the backup's own limits); with
     * backups_random any of them, picked at random. The array is d's; the lanes are
     * shared destinations. NULL, 0 for any other destination. */
    struct dest **backups;
    size_t nbackups;
    int backups_random;
};

/* o == OUTCOME_OK: d is the destination. Otherwise d is NULL and why says what failed,
 * starting with its RFC 3463 code (proto/status.h): TEMPFAIL, retry later (4.4.3 DNS
 * trouble); PERMFAIL, the recipient fails (5.4.4 no such domain or no MX and no address,
 * 5.1.10 null MX, 5.4.4 bad relay address). */
typedef void (*route_fn)(void *arg, struct dest *d, enum outcome o, const char *why);

struct deliver_transport;
struct route *route_create(struct event_base *base, const struct conf *c, struct dns *dns);
void route_free(struct route *r);
/* Reload: later lookups follow c's relays and settings (c must outlive r, as must the one
 * it replaces while lookups made under it are in flight); the result cache is emptied. */
void route_set_conf(struct route *r, const struct conf *c);
/* sender: envelope sender ("" = null); client_ip: text or "" (local); rcpt: "local@domain". */
void route_lookup(struct route *r, const char *sender, const char *client_ip, const char *rcpt,
                  route_fn cb, void *arg);
/* Local delivery (docs/local.md): mail for hostname, smtpd.local_domains and domains whose
 * transport map entry says "local" routes to one shared destination, key "local", delivered
 * by t (never by MX). Without it (tests) such mail fails 4.3.5. */
void route_set_local(struct route *r, const struct deliver_transport *t, void *arg);
/* Transport map next hops "lmtp:unix:PATH", "lmtp:inet:HOST:PORT" and "smtp:HOST[:PORT]"
 * route like relays: one shared destination per next hop (key "transport:NEXTHOP"), a
 * literal address or path without a lookup, HOST's addresses (smtp:HOST without brackets:
 * its MX set), the port given or deliver.port for smtp:.
 *
 * Loops (as Postfix's smtp_addr.c): a destination whose best host is this host (its name is
 * `hostname`, or an address is one of smtpd.listen's addresses, any local interface address
 * for a wildcard listener, at the listener's port) fails 5.4.6 "mail for DOMAIN loops back
 * to myself" before any connect; a less preferred MX that is this host cuts the list
 * before it (we are a backup MX). LMTP next hops are never checked. */

/* Pure: the transport map's next hop for domain (first entry naming it), or NULL. */
const char *route_transport_find(const struct conf *c, const char *domain);
/* Pure: true when domain is delivered on this host (hostname, local_domains, or a transport
 * map entry "local"). */
int route_is_local(const struct conf *c, const char *domain);
/* Pure relay selection (see above). Returns an index into c->deliver.relays or -1. */
int route_relay_select(const struct conf *c, const char *sender, const char *client_ip,
                       const char *domain);
/* Fills peers (capacity max) for one connection to d: hosts in order, equal preferences
 * shuffled, every address of each host with d->port, and d->relay. Returns the count. Peer
 * names point into d (valid while d lives). */
size_t route_peers(const struct dest *d, struct peer *peers, size_t max);
/* The destination a cached MX lookup of domain resolved to, or NULL (no lookup, failed, or
 * expired). Never starts a lookup. */
struct dest *route_cached_dest(struct route *r, const char *domain);
#endif
