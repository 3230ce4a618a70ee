/* route: relay rules, per-domain MX resolution with caching, and shared destinations.
 * See route.h for the contract. Invariants: an entry in `entries` (keyed by domain or
 * "relay#N") is RESOLVING while exactly one DNS query for it is outstanding, and its
 * waiters are answered when that query ends; `dests` owns every struct dest by key. Every
 * answer goes through the note FIFO so callbacks never run inside route_lookup(). */
#include "route/route.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <sys/un.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf/conf.h"
#include "core/dict.h"
#include "core/log.h"
#include "core/qid.h"
#include "core/xalloc.h"
#include "dns/dns.h"
#include "proto/addr.h"
#include "proto/cidr.h"
#include "proto/domainpat.h"
#include "proto/nexthop.h"
#include "proto/peer.h"
#include "proto/status.h"
#include "route/self.h"
#include "route/spread.h"

#define ROUTE_WHY_MAX 640
#define ROUTE_TTL_MIN 60
#define ROUTE_TTL_MAX 3600
#define ROUTE_NEG_TTL_MAX 300

enum route_state { ROUTE_EMPTY, ROUTE_RESOLVING, ROUTE_READY };

struct route_waiter {
    route_fn cb;
    void *arg;
    struct route_waiter *next;
};

struct route_entry {
    struct route *r;
    const struct conf *conf; /* the configuration it was made under (relay is its index) */
    bool detached;           /* dropped by a reload while resolving: freed once answered */
    char *name;  /* domain, or relay host */
    int relay;   /* relay index or -1 */
    bool srcroute; /* a source-routed recipient's relay host (name: the host) */
    const char *nexthop; /* transport map next hop (lmtp:, smtp:; the conf's), or NULL */
    enum route_state state;
    struct dest *dest;   /* READY and OK: the destination, or the first of the lanes */
    struct dest *lanes[RELAY_HOSTS_MAX]; /* a parallel relay: one per host (spread.h) */
    size_t nlanes, next_lane;            /* recipients go to the lanes in turn */
    enum outcome o;      /* READY: OK or PERMFAIL */
    char why[ROUTE_WHY_MAX];
    int64_t expires;     /* mono ms */
    struct route_waiter *waiters;
};

struct route_note {
    struct route_note *next;
    route_fn cb;
    void *arg;
    struct dest *dest;
    enum outcome o;
    char why[];
};

struct route {
    struct event_base *base;
    const struct conf *conf;
    struct dns *dns;
    struct dict *entries;
    struct dict *dests;
    struct event *flush_ev;
    struct route_note *notes, **notes_tail;
    struct dest local; /* "local" (route_set_local) */
    struct route_selfset self; /* this host's endpoints (loop check, self.h) */
};

/* Runs every queued answer (new ones queued meanwhile wait for the next round). */
static void route_on_flush(evutil_socket_t fd, short what, void *arg)
{
    struct route *r = arg;
    struct route_note *n = r->notes;
    (void)fd;
    (void)what;
    r->notes = NULL;
    r->notes_tail = &r->notes;
    while (n) {
        struct route_note *next = n->next;
        n->cb(n->arg, n->dest, n->o, n->why);
        free(n);
        n = next;
    }
}

/* Queues one answer for the next loop iteration. */
static void route_note(struct route *r, route_fn cb, void *arg, struct dest *d, enum outcome o,
                       const char *why)
{
    size_t wl = strlen(why);
    struct route_note *n = xmalloc(sizeof *n + wl + 1);
    n->next = NULL;
    n->cb = cb;
    n->arg = arg;
    n->dest = d;
    n->o = o;
    memcpy(n->why, why, wl + 1);
    *r->notes_tail = n;
    r->notes_tail = &n->next;
    event_active(r->flush_ev, 0, 0);
}

/* Creates the router. */
struct route *route_create(struct event_base *base, const struct conf *c, struct dns *dns)
{
    struct route *r = xcalloc(1, sizeof *r);
    r->base = base;
    r->conf = c;
    r->dns = dns;
    r->entries = dict_create();
    r->dests = dict_create();
    r->notes_tail = &r->notes;
    r->flush_ev = event_new(base, -1, 0, route_on_flush, r);
    route_self_init(&r->self, c);
    return r;
}

/* Frees a host array with its names and addresses. */
static void route_hosts_free(struct mx_host *h, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(h[i].name);
        free(h[i].addrs);
    }
    free(h);
}

/* dict_free callback for destinations. */
static void route_dest_free(void *p)
{
    struct dest *d = p;
    route_hosts_free(d->hosts, d->nhosts);
    free(d->backups);
    free(d->key);
    free(d);
}

/* dict_free callback for cache entries (waiters are gone by the time we free). */
static void route_entry_free(void *p)
{
    struct route_entry *e = p;
    while (e->waiters) {
        struct route_waiter *w = e->waiters;
        e->waiters = w->next;
        free(w);
    }
    free(e->name);
    free(e);
}

/* Reload: an entry still resolving is detached (its answer still reaches its waiters, then
 * it is freed); any other is freed. */
static void route_entry_drop(void *p)
{
    struct route_entry *e = p;
    if (e->state == ROUTE_RESOLVING)
        e->detached = true;
    else
        route_entry_free(e);
}

/* Reload: later lookups use c; the cache is emptied, so every domain and relay is resolved
 * again under the new rules (destinations stay: connections and batches hold them). */
void route_set_conf(struct route *r, const struct conf *c)
{
    r->conf = c;
    dict_free(r->entries, route_entry_drop);
    r->entries = dict_create();
}

/* Frees the router, its cache and every destination. */
void route_free(struct route *r)
{
    if (!r)
        return;
    while (r->notes) {
        struct route_note *n = r->notes;
        r->notes = n->next;
        free(n);
    }
    event_free(r->flush_ev);
    route_self_free(&r->self);
    dict_free(r->entries, route_entry_free);
    dict_free(r->dests, route_dest_free);
    free(r);
}

/* True when sender matches one of a relay's sender rules ("domain" or "local@domain"). */
static bool route_sender_match(const struct relay *rl, const char *sender)
{
    const char *dom = addr_domain(sender);
    for (size_t i = 0; i < rl->nsenders; i++) {
        const char *rule = rl->senders[i];
        if (strchr(rule, '@') ? strcasecmp(rule, sender) == 0 : strcasecmp(rule, dom) == 0)
            return true;
    }
    return false;
}

/* True when the client's IP lies in the relay's sendernets. */
static bool route_net_match(const struct relay *rl, const char *client_ip)
{
    struct sockaddr_storage ss;
    socklen_t len;
    if (rl->nsendernets == 0 || !client_ip || !*client_ip)
        return false;
    if (cidr_sockaddr_parse(client_ip, 0, &ss, &len) < 0)
        return false;
    return cidr_match_any(rl->sendernets, rl->nsendernets, (struct sockaddr *)&ss);
}

/* Relay selection: sender rules, then destdomains, then the default relay. */
int route_relay_select(const struct conf *c, const char *sender, const char *client_ip,
                       const char *domain)
{
    int dflt = -1;
    for (size_t i = 0; i < c->deliver.nrelays; i++) {
        const struct relay *rl = &c->deliver.relays[i];
        if ((*sender && route_sender_match(rl, sender)) || route_net_match(rl, client_ip))
            return (int)i;
    }
    for (size_t i = 0; i < c->deliver.nrelays; i++) {
        const struct relay *rl = &c->deliver.relays[i];
        if (domainpat_match(rl->destdomains, rl->ndestdomains, domain) == 1)
            return (int)i; /* a negated pattern that matches first excludes the domain */
        if (dflt < 0 && rl->ndestdomains == 0 && rl->nsenders == 0 && rl->nsendernets == 0)
            dflt = (int)i;
    }
    return dflt;
}

/* The first relay of the table with rl's address (relays sharing an address share one
 * destination, so they share its settings: the first one's); NULL for NULL. */
static const struct relay *route_relay_first(const struct conf *c, const struct relay *rl)
{
    for (size_t i = 0; rl && i < c->deliver.nrelays; i++)
        if (strcmp(c->deliver.relays[i].address, rl->address) == 0)
            return &c->deliver.relays[i];
    return rl;
}

/* The shared destination for key, created on first use; takes over hosts either way. */
static struct dest *route_dest_set(struct route *r, const struct conf *c, const char *key,
                                   struct mx_host *hosts, size_t nhosts, uint16_t port,
                                   const struct relay *rl)
{
    struct dest *d = dict_find(r->dests, key);
    if (!d) {
        d = xcalloc(1, sizeof *d);
        d->key = xstrdup(key);
        dict_put(r->dests, key, d);
    } else {
        route_hosts_free(d->hosts, d->nhosts);
    }
    d->hosts = hosts;
    d->nhosts = nhosts;
    d->port = port;
    d->relay = route_relay_first(c, rl);
    return d;
}

/* The destination for the next recipient of a READY entry: its one destination, or the
 * lanes of a parallel relay in turn (so one message's recipients are divided evenly). */
static struct dest *route_entry_pick(struct route_entry *e)
{
    if (e->o != OUTCOME_OK)
        return NULL;
    if (e->nlanes == 0)
        return e->dest;
    return e->lanes[e->next_lane++ % e->nlanes];
}

/* Answers every waiter of e with its current result. */
static void route_entry_answer(struct route_entry *e)
{
    struct route_waiter *w = e->waiters;
    e->waiters = NULL;
    while (w) {
        struct route_waiter *next = w->next;
        route_note(e->r, w->cb, w->arg, route_entry_pick(e), e->o, e->why);
        free(w);
        w = next;
    }
}

/* Clamps a TTL in seconds and turns it into an expiry time. */
static int64_t route_expiry(uint32_t ttl, uint32_t lo, uint32_t hi)
{
    if (ttl < lo)
        ttl = lo;
    if (ttl > hi)
        ttl = hi;
    return clock_mono_ms() + (int64_t)ttl * 1000;
}

/* Turns a DNS status into the entry's outcome and reason text, which starts with its
 * RFC 3463 code (proto/status.h, as Postfix's smtp_addr.c): no such domain or no MX and no
 * address 5.4.4, null MX 5.1.10, any temporary DNS failure 4.4.3. */
static void route_entry_fail(struct route_entry *e, const struct mx_result *res)
{
    const char *what = e->relay >= 0 || e->srcroute ? "relay host" : "domain";
    switch (res->status) {
    case DNS_NXDOMAIN:
        e->o = OUTCOME_PERMFAIL;
        snprintf(e->why, sizeof e->why, "%s %s %s not found (NXDOMAIN)",
                 status_code(STATUS_NO_ROUTE, e->o), what, e->name);
        break;
    case DNS_NULLMX:
        e->o = OUTCOME_PERMFAIL;
        snprintf(e->why, sizeof e->why, "%s domain %s accepts no mail (null MX)",
                 status_code(STATUS_NULL_MX, e->o), e->name);
        break;
    case DNS_NOMX:
        e->o = OUTCOME_PERMFAIL;
        snprintf(e->why, sizeof e->why, "%s domain %s has no MX records",
                 status_code(STATUS_NO_ROUTE, e->o), e->name);
        break;
    default:
        e->o = OUTCOME_TEMPFAIL;
        snprintf(e->why, sizeof e->why, "%s DNS lookup for %s %s failed: %s",
                 status_code(STATUS_DNS, e->o), what, e->name,
                 res->why[0] ? res->why : "temporary failure");
        break;
    }
}

/* The port an entry's destination is reached at: the relay's, the next hop's, or
 * deliver.port. */
static uint16_t route_entry_port(const struct route_entry *e)
{
    struct nexthop nh;
    const char *why;
    if (e->relay >= 0)
        return e->conf->deliver.relays[e->relay].port;
    if (e->nexthop && nexthop_parse(e->nexthop, strlen(e->nexthop), &nh, &why) == 0 && nh.port)
        return nh.port;
    return e->conf->deliver.port;
}

/* A destination resolved to hosts: the loop check (not for LMTP), then the shared
 * destination; the entry becomes READY either way. */
static void route_entry_ready(struct route *r, struct route_entry *e, const char *key,
                              struct mx_host *hosts, size_t nhosts, int lmtp)
{
    const struct relay *rl = e->relay >= 0 ? &e->conf->deliver.relays[e->relay] : NULL;
    uint16_t port = route_entry_port(e);
    e->state = ROUTE_READY;
    if (!lmtp && route_self_drop(&r->self, r->conf->hostname, hosts, &nhosts, port) < 0) {
        route_hosts_free(hosts, nhosts);
        e->o = OUTCOME_PERMFAIL;
        snprintf(e->why, sizeof e->why, "5.4.6 mail for %s loops back to myself",
                 e->nexthop ? e->nexthop : e->name);
        char w[LOG_SANITIZED_SIZE(sizeof e->why)];
        log_warn("route: %s", log_sanitize(w, sizeof w, e->why, strlen(e->why)));
        return;
    }
    e->dest = route_dest_set(r, e->conf, key, hosts, nhosts, port, rl);
    e->dest->lmtp = lmtp;
    e->o = OUTCOME_OK;
    e->why[0] = '\0';
}

/* Marks d as a lane of a parallel relay (or not: sd has no backups) with the backups
 * sd names among lanes. */
static void route_lane_set(struct dest *d, struct dest *const *lanes,
                           const struct spread_dest *sd, bool random)
{
    free(d->backups);
    d->backups = NULL;
    d->nbackups = sd->nbackups;
    d->lane = sd->nbackups > 0;
    d->backups_random = random;
    if (sd->nbackups > 0)
        d->backups = xcalloc(sd->nbackups, sizeof *d->backups);
    for (size_t i = 0; i < sd->nbackups; i++)
        d->backups[i] = lanes[sd->backup[i]];
}

/* A relay with several hosts resolved (spread.h): hosts that are this host are dropped
 * one by one (each is a peer of its own, not a backup MX), then its destinations are made:
 * one for failover, one per host (the lanes) for parallel. Takes over hosts. */
static void route_entry_spread(struct route *r, struct route_entry *e, const char *key,
                               struct mx_host *hosts, size_t n)
{
    const struct relay *rl = &e->conf->deliver.relays[e->relay];
    struct spread_dest sd[RELAY_HOSTS_MAX];
    size_t keep = 0;
    for (size_t i = 0; i < n; i++) {
        if (route_self_host(&r->self, r->conf->hostname, &hosts[i], rl->port)) {
            free(hosts[i].name);
            free(hosts[i].addrs);
        } else {
            hosts[keep++] = hosts[i];
        }
    }
    size_t nd = spread_plan(rl, hosts, keep, key, sd);
    route_hosts_free(hosts, keep);
    e->state = ROUTE_READY;
    if (nd == 0) {
        e->o = OUTCOME_PERMFAIL;
        snprintf(e->why, sizeof e->why, "5.4.6 mail for relay %s loops back to myself",
                 rl->address);
        log_warn("route: %s", e->why);
        return;
    }
    for (size_t i = 0; i < nd; i++) {
        e->lanes[i] = route_dest_set(r, e->conf, sd[i].key, sd[i].hosts, sd[i].nhosts,
                                     rl->port, rl);
        free(sd[i].key);
    }
    e->nlanes = nd > 1 ? nd : 0;
    for (size_t i = 0; i < nd; i++)
        route_lane_set(e->lanes[i], e->lanes, &sd[i], rl->order == RELAY_ORDER_RANDOM);
    e->dest = e->lanes[0];
    e->o = OUTCOME_OK;
    e->why[0] = '\0';
}

/* The key of an entry's shared destination: its relay, its next hop, or its MX set. */
static void route_entry_key(const struct route_entry *e, const struct mx_result *res,
                            char *key, size_t cap)
{
    if (e->relay >= 0)
        snprintf(key, cap, "relay:%s", e->conf->deliver.relays[e->relay].address);
    else if (e->srcroute)
        snprintf(key, cap, "route:%s", e->name);
    else if (e->nexthop)
        snprintf(key, cap, "transport:%s", e->nexthop);
    else if (mx_key(res->hosts, res->nhosts, key, cap) < 0)
        snprintf(key, cap, "domain:%s", e->name);
}

/* DNS answer for an entry: build or update the destination, cache, answer waiters. */
static void route_on_dns(void *arg, struct mx_result *res)
{
    struct route_entry *e = arg;
    struct route *r = e->r;
    if (res->status == DNS_OK) {
        char key[4096];
        route_entry_key(e, res, key, sizeof key);
        if (e->relay >= 0 && e->conf->deliver.relays[e->relay].nhosts > 1)
            route_entry_spread(r, e, key, res->hosts, res->nhosts);
        else
            route_entry_ready(r, e, key, res->hosts, res->nhosts,
                              e->nexthop && strncmp(e->nexthop, "lmtp:", 5) == 0);
        res->hosts = NULL;
        res->nhosts = 0;
        e->expires = route_expiry(res->ttl, ROUTE_TTL_MIN,
                                  e->o == OUTCOME_OK ? ROUTE_TTL_MAX : ROUTE_NEG_TTL_MAX);
    } else {
        route_entry_fail(e, res);
        e->state = e->o == OUTCOME_PERMFAIL ? ROUTE_READY : ROUTE_EMPTY;
        e->expires = route_expiry(res->ttl, ROUTE_TTL_MIN, ROUTE_NEG_TTL_MAX);
        char w[LOG_SANITIZED_SIZE(sizeof e->why)]; /* the domain is peer text */
        log_sanitize(w, sizeof w, e->why, strlen(e->why));
        if (res->status != DNS_TEMPFAIL)
            log_info("route: %s", w);
        else
            log_warn("route: %s", w);
    }
    mx_result_free(res);
    route_entry_answer(e);
    if (e->detached)
        route_entry_free(e);
}

/* A relay or next hop given as an IP address (host, port 0 in it), or for LMTP a UNIX
 * socket path: its destination needs no lookup. */
static void route_literal(struct route *r, struct route_entry *e, const char *host, int unix_path,
                          int lmtp)
{
    struct mx_host *h = xcalloc(1, sizeof *h);
    socklen_t len;
    h->name = xstrdup("");
    h->addrs = xcalloc(1, sizeof *h->addrs);
    if (unix_path) {
        struct sockaddr_un *un = (struct sockaddr_un *)h->addrs;
        un->sun_family = AF_UNIX;
        snprintf(un->sun_path, sizeof un->sun_path, "%s", host); /* <= 107: nexthop.h */
        h->naddrs = 1;
        free(h->name);
        h->name = xstrdup("lmtp");
    } else if (cidr_sockaddr_parse(host, 0, h->addrs, &len) == 0) {
        h->naddrs = 1;
    }
    char key[600];
    route_entry_key(e, NULL, key, sizeof key);
    e->expires = INT64_MAX;
    if (h->naddrs == 0) {
        route_hosts_free(h, 1);
        e->state = ROUTE_READY;
        e->o = OUTCOME_PERMFAIL;
        snprintf(e->why, sizeof e->why, "%s bad relay address",
                 status_code(STATUS_NO_ROUTE, e->o));
        return;
    }
    route_entry_ready(r, e, key, h, 1, lmtp);
}

/* Starts resolving a transport map next hop (lmtp:, smtp:). */
static void route_nexthop_resolve(struct route *r, struct route_entry *e)
{
    struct nexthop nh;
    const char *why;
    struct sockaddr_storage ss;
    socklen_t len;
    char host[300];
    if (nexthop_parse(e->nexthop, strlen(e->nexthop), &nh, &why) < 0 || nh.hostlen >= sizeof host) {
        route_literal(r, e, "", 0, 0); /* conf checked it: not reached */
        route_entry_answer(e);
        return;
    }
    memcpy(host, nh.host, nh.hostlen);
    host[nh.hostlen] = '\0';
    int lmtp = nh.kind != NEXTHOP_SMTP;
    if (nh.kind == NEXTHOP_LMTP_UNIX || cidr_sockaddr_parse(host, 0, &ss, &len) == 0) {
        route_literal(r, e, host, nh.kind == NEXTHOP_LMTP_UNIX, lmtp);
        route_entry_answer(e);
    } else if (nh.kind == NEXTHOP_SMTP && !nh.literal) {
        dns_mx(r->dns, host, r->conf->deliver.fallbackMX_A, route_on_dns, e);
    } else {
        dns_host(r->dns, host, route_on_dns, e);
    }
}

/* Starts resolving a source route's relay host: an address literal ("[192.0.2.1]",
 * "[ipv6:...]") without a lookup, a name by its A/AAAA records. */
static void route_srcroute_resolve(struct route *r, struct route_entry *e)
{
    const char *h = e->name;
    size_t n = strlen(h);
    if (h[0] != '[' || n < 3) {
        dns_host(r->dns, h, route_on_dns, e);
        return;
    }
    char ip[ADDR_MAX + 1];
    size_t off = strncmp(h + 1, "ipv6:", 5) == 0 ? 6 : 1;
    snprintf(ip, sizeof ip, "%.*s", (int)(n - off - 1), h + off);
    route_literal(r, e, ip, 0, 0);
    route_entry_answer(e);
}

/* Starts resolving an entry (which has at least one waiter). */
static void route_entry_resolve(struct route *r, struct route_entry *e)
{
    e->state = ROUTE_RESOLVING;
    if (e->srcroute) {
        route_srcroute_resolve(r, e);
        return;
    }
    if (e->nexthop) {
        route_nexthop_resolve(r, e);
        return;
    }
    if (e->relay < 0) {
        dns_mx(r->dns, e->name, e->conf->deliver.fallbackMX_A, route_on_dns, e);
        return;
    }
    const struct relay *rl = &e->conf->deliver.relays[e->relay];
    if (rl->nhosts > 1) {
        spread_resolve(r->dns, rl, route_on_dns, e);
    } else if (rl->literal) {
        route_literal(r, e, rl->host, 0, 0);
        route_entry_answer(e);
    } else {
        dns_host(r->dns, rl->host, route_on_dns, e);
    }
}

/* Resolves one recipient: relay rules first, then the domain's MX set (cached). */
/* Local delivery and the transport map's error/hold entries; see route.h. */
void route_set_local(struct route *r, const struct deliver_transport *t, void *arg)
{
    r->local.key = "local";
    r->local.transport = t;
    r->local.transport_arg = arg;
}

/* The first transport map entry naming domain, or NULL. */
const char *route_transport_find(const struct conf *c, const char *domain)
{
    for (size_t i = 0; i < c->ntransport; i++)
        for (size_t j = 0; j < c->transport[i].ndomains; j++)
            if (strcasecmp(c->transport[i].domains[j], domain) == 0)
                return c->transport[i].nexthop;
    return NULL;
}

/* True when domain is delivered on this host. */
int route_is_local(const struct conf *c, const char *domain)
{
    const char *nh = route_transport_find(c, domain);
    if (nh)
        return strcmp(nh, "local") == 0;
    if (c->hostname && strcasecmp(domain, c->hostname) == 0)
        return 1;
    for (size_t i = 0; i < c->smtpd.nlocal_domains; i++)
        if (strcasecmp(domain, c->smtpd.local_domains[i]) == 0)
            return 1;
    return 0;
}

/* Answers a lookup the transport map or local delivery decides; 0 when neither does. */
static int route_lookup_local(struct route *r, const char *domain, route_fn cb, void *arg)
{
    char why[ROUTE_WHY_MAX];
    const char *nh = route_transport_find(r->conf, domain);
    if (nh && strncmp(nh, "error:", 6) == 0) {
        const char *t = nh + 6;
        int coded = (t[0] == '4' || t[0] == '5') && t[1] == '.';
        snprintf(why, sizeof why, "%s%s", coded ? "" : "5.0.0 ", t);
        route_note(r, cb, arg, NULL, t[0] == '4' ? OUTCOME_TEMPFAIL : OUTCOME_PERMFAIL, why);
        return 1;
    }
    if (nh && strcmp(nh, "hold") == 0) {
        route_note(r, cb, arg, NULL, OUTCOME_TEMPFAIL, "4.3.2 held by the transport map");
        return 1;
    }
    if (!route_is_local(r->conf, domain))
        return 0;
    if (!r->local.transport)
        route_note(r, cb, arg, NULL, OUTCOME_TEMPFAIL, "4.3.5 local delivery is not running");
    else
        route_note(r, cb, arg, &r->local, OUTCOME_OK, "");
    return 1;
}

/* The cache entry named name, made on first use for its relay, next hop or source route
 * host (srchost), else the domain. */
static struct route_entry *route_entry_get(struct route *r, const char *name, int relay,
                                           const char *nh, const char *srchost,
                                           const char *domain)
{
    struct route_entry *e = dict_find(r->entries, name);
    if (e)
        return e;
    e = xcalloc(1, sizeof *e);
    e->r = r;
    e->conf = r->conf;
    e->relay = relay;
    e->nexthop = nh;
    e->srcroute = srchost != NULL;
    e->name = xstrdup(srchost  ? srchost
                      : nh     ? nh
                      : relay >= 0 ? r->conf->deliver.relays[relay].host
                                   : domain);
    dict_put(r->entries, name, e);
    return e;
}

void route_lookup(struct route *r, const char *sender, const char *client_ip, const char *rcpt,
                  route_fn cb, void *arg)
{
    char host[ADDR_MAX + 1];
    const char *domain = addr_domain(rcpt);
    bool routed = addr_route_host(rcpt, host, sizeof host) > 0; /* "@relay:local@domain" */
    if (!routed && route_lookup_local(r, domain, cb, arg))
        return; /* mail for a local domain never goes out by MX */
    const char *nh = routed ? NULL : route_transport_find(r->conf, domain); /* lmtp:, smtp: */
    int relay = routed || nh ? -1 : route_relay_select(r->conf, sender, client_ip, domain);
    char name[NEXTHOP_MAX + ADDR_MAX + 16];
    if (routed)
        snprintf(name, sizeof name, "route#%s", host);
    else if (nh)
        snprintf(name, sizeof name, "transport#%s", nh);
    else if (relay >= 0)
        snprintf(name, sizeof name, "relay#%d", relay);
    else
        snprintf(name, sizeof name, "%s", domain);
    struct route_entry *e = route_entry_get(r, name, relay, nh, routed ? host : NULL, domain);
    if (e->state == ROUTE_READY && e->expires > clock_mono_ms()) {
        route_note(r, cb, arg, route_entry_pick(e), e->o, e->why);
        return;
    }
    struct route_waiter *w = xmalloc(sizeof *w);
    w->cb = cb;
    w->arg = arg;
    w->next = e->waiters;
    e->waiters = w;
    if (e->state != ROUTE_RESOLVING)
        route_entry_resolve(r, e);
}

/* Uniform random 32-bit numbers for tie shuffling. */
static uint32_t route_rand(void *arg)
{
    (void)arg;
    return (uint32_t)random() ^ ((uint32_t)random() << 16);
}

/* Peers for one connection: hosts by preference (ties shuffled), each address with port. */
size_t route_peers(const struct dest *d, struct peer *peers, size_t max)
{
    if (d->transport && max > 0) { /* local: one pseudo peer, no address */
        memset(&peers[0], 0, sizeof peers[0]);
        peers[0].name = d->key;
        return 1;
    }
    struct mx_host tmp[64];
    size_t nh = d->nhosts < 64 ? d->nhosts : 64, n = 0;
    memcpy(tmp, d->hosts, nh * sizeof *tmp);
    mx_order(tmp, nh, route_rand, NULL);
    for (size_t i = 0; i < nh && n < max; i++) {
        uint16_t port = tmp[i].port ? tmp[i].port : d->port;
        for (size_t j = 0; j < tmp[i].naddrs && n < max; j++) {
            struct peer *p = &peers[n++];
            memset(p, 0, sizeof *p);
            p->sa = tmp[i].addrs[j];
            if (p->sa.ss_family == AF_UNIX) {
                /* set below */
            } else if (p->sa.ss_family == AF_INET6) {
                ((struct sockaddr_in6 *)&p->sa)->sin6_port = htons(port);
                p->salen = sizeof(struct sockaddr_in6);
            } else {
                ((struct sockaddr_in *)&p->sa)->sin_port = htons(port);
                p->salen = sizeof(struct sockaddr_in);
            }
            p->name = tmp[i].name;
            p->relay = d->relay;
            p->lmtp = d->lmtp;
            if (p->sa.ss_family == AF_UNIX) /* LMTP socket: no port */
                p->salen = sizeof(struct sockaddr_un);
        }
    }
    return n;
}

/* The destination of a domain's cached MX result, if any. */
struct dest *route_cached_dest(struct route *r, const char *domain)
{
    struct route_entry *e = dict_find(r->entries, domain);
    if (!e || e->state != ROUTE_READY || e->o != OUTCOME_OK || e->expires <= clock_mono_ms())
        return NULL;
    return e->dest;
}
