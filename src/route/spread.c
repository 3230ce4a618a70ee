/* spread: resolving every host of a relay with several hosts, and the destinations they
 * make (failover: one; parallel: one per host). See spread.h for the contract.
 * Invariant: a struct spread_req lives while some of its lookups are outstanding
 * (pending > 0) and is freed right after it has answered. */
#include "route/spread.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "core/xalloc.h"

struct spread_req;

struct spread_one {
    struct spread_req *q;
    size_t i; /* index in rl->hosts */
};

struct spread_req {
    const struct relay *rl;
    dns_mx_fn cb;
    void *arg;
    size_t pending;
    struct mx_host hosts[RELAY_HOSTS_MAX]; /* naddrs 0: not (yet) resolved */
    enum dns_status status[RELAY_HOSTS_MAX];
    char why[256];  /* the first failure's reason */
    uint32_t ttl;
    struct spread_one one[RELAY_HOSTS_MAX];
};

/* Every lookup answered: one result with the hosts that resolved, or the failure. */
static void spread_answer(struct spread_req *q)
{
    struct mx_result *res = xcalloc(1, sizeof *res);
    res->ttl = q->ttl;
    res->hosts = xcalloc(q->rl->nhosts, sizeof *res->hosts);
    bool temp = false;
    for (size_t i = 0; i < q->rl->nhosts; i++) {
        if (q->hosts[i].naddrs > 0)
            res->hosts[res->nhosts++] = q->hosts[i];
        temp |= q->status[i] == DNS_TEMPFAIL;
    }
    if (res->nhosts > 0)
        res->status = DNS_OK;
    else
        res->status = temp ? DNS_TEMPFAIL : q->status[0];
    if (res->status != DNS_OK)
        snprintf(res->why, sizeof res->why, "%s", q->why);
    dns_mx_fn cb = q->cb;
    void *arg = q->arg;
    free(q);
    cb(arg, res);
}

/* One host's lookup ended. */
static void spread_on_host(void *arg, struct mx_result *res)
{
    struct spread_one *o = arg;
    struct spread_req *q = o->q;
    const struct relay_host *rh = &q->rl->hosts[o->i];
    q->status[o->i] = res->status;
    if (res->ttl < q->ttl)
        q->ttl = res->ttl;
    if (res->status == DNS_OK && res->nhosts > 0 && res->hosts[0].naddrs > 0) {
        struct mx_host *h = &q->hosts[o->i];
        h->name = xstrdup(rh->host);
        h->pref = (uint16_t)o->i;
        h->port = rh->port;
        h->addrs = res->hosts[0].addrs;
        h->naddrs = res->hosts[0].naddrs;
        res->hosts[0].addrs = NULL;
        res->hosts[0].naddrs = 0;
    } else if (!q->why[0]) {
        if (q->status[o->i] == DNS_OK) /* an answer without an address */
            q->status[o->i] = DNS_NXDOMAIN;
        snprintf(q->why, sizeof q->why, "%s", res->why[0] ? res->why : "no address");
    }
    mx_result_free(res);
    if (--q->pending == 0)
        spread_answer(q);
}

/* Starts the lookups of every host of rl. */
void spread_resolve(struct dns *d, const struct relay *rl, dns_mx_fn cb, void *arg)
{
    struct spread_req *q = xcalloc(1, sizeof *q);
    q->rl = rl;
    q->cb = cb;
    q->arg = arg;
    q->ttl = UINT32_MAX;
    q->pending = rl->nhosts;
    for (size_t i = 0; i < rl->nhosts; i++) {
        q->one[i] = (struct spread_one){.q = q, .i = i};
        dns_host(d, rl->hosts[i].host, spread_on_host, &q->one[i]);
    }
}

/* A deep copy of hosts[0..n). */
static struct mx_host *spread_copy(const struct mx_host *hosts, size_t n)
{
    struct mx_host *c = xcalloc(n, sizeof *c);
    for (size_t i = 0; i < n; i++) {
        c[i] = hosts[i];
        c[i].name = xstrdup(hosts[i].name);
        c[i].addrs = xcalloc(hosts[i].naddrs, sizeof *c[i].addrs);
        memcpy(c[i].addrs, hosts[i].addrs, hosts[i].naddrs * sizeof *c[i].addrs);
    }
    return c;
}

/* The destinations of a relay's resolved hosts (spread.h). */
size_t spread_plan(const struct relay *rl, const struct mx_host *hosts, size_t n,
                   const char *key, struct spread_dest *out)
{
    bool random = rl->order == RELAY_ORDER_RANDOM;
    if (n == 0)
        return 0;
    if (rl->spread != RELAY_SPREAD_PARALLEL || n == 1) {
        out[0].key = xstrdup(key);
        out[0].hosts = spread_copy(hosts, n);
        out[0].nhosts = n;
        out[0].nbackups = 0;
        for (size_t i = 0; i < n; i++)
            out[0].hosts[i].pref = random ? 0 : (uint16_t)i;
        return 1;
    }
    for (size_t k = 0; k < n; k++) {
        size_t kl = strlen(key) + strlen(hosts[k].name) + 2;
        out[k].key = xmalloc(kl);
        snprintf(out[k].key, kl, "%s#%s", key, hosts[k].name);
        out[k].hosts = spread_copy(&hosts[k], 1); /* its host alone: no backup in a session */
        out[k].hosts[0].pref = 0;
        out[k].nhosts = 1;
        out[k].nbackups = n - 1;
        for (size_t i = 1; i < n; i++) /* the others, following it */
            out[k].backup[i - 1] = (k + i) % n;
    }
    return n;
}
