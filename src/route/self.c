/* self: this host's SMTP endpoints and the loop check of a host list (self.h). */
#include "route/self.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf/conf.h"
#include "core/xalloc.h"
#include "dns/mx.h"
#include "proto/cidr.h"

/* One of this host's SMTP endpoints: an address block (a listener's address, or for a
 * wildcard listener every interface address and 127/8) at a port. */
struct route_self {
    struct cidr net;
    uint16_t port;
};

/* Adds "ADDR/PREFIX" at port to this host's endpoints (ignored when it does not parse). */
static void route_self_add(struct route_selfset *s, const char *addr, unsigned prefix, uint16_t port)
{
    char text[INET6_ADDRSTRLEN + 8];
    struct cidr net;
    int n = snprintf(text, sizeof text, "%s/%u", addr, prefix);
    if (n < 0 || (size_t)n >= sizeof text || cidr_parse(text, (size_t)n, &net) < 0)
        return;
    s->v = xrealloc(s->v, (s->n + 1) * sizeof *s->v);
    s->v[s->n++] = (struct route_self){.net = net, .port = port};
}

/* A wildcard listener at port: every interface address, and all of 127/8 and ::1. */
static void route_self_wildcard(struct route_selfset *s, uint16_t port)
{
    struct ifaddrs *ifa = NULL;
    route_self_add(s, "127.0.0.0", 8, port);
    route_self_add(s, "::1", 128, port);
    if (getifaddrs(&ifa) < 0)
        return;
    for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
        char text[INET6_ADDRSTRLEN];
        if (!i->ifa_addr || (i->ifa_addr->sa_family != AF_INET && i->ifa_addr->sa_family != AF_INET6))
            continue;
        int v6 = i->ifa_addr->sa_family == AF_INET6;
        const void *a = v6 ? (const void *)&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr
                           : (const void *)&((struct sockaddr_in *)i->ifa_addr)->sin_addr;
        if (inet_ntop(i->ifa_addr->sa_family, a, text, sizeof text))
            route_self_add(s, text, v6 ? 128 : 32, port);
    }
    freeifaddrs(ifa);
}

/* One smtpd.listen entry ("a.b.c.d:port" or "[v6]:port", checked by conf) as endpoints. */
static void route_self_listen(struct route_selfset *s, const char *l)
{
    char host[INET6_ADDRSTRLEN];
    const char *colon = strrchr(l, ':');
    size_t off = l[0] == '[' ? 1 : 0, hl = colon ? (size_t)(colon - l) : 0;
    if (!colon || hl <= 2 * off || hl - 2 * off >= sizeof host)
        return;
    memcpy(host, l + off, hl - 2 * off);
    host[hl - 2 * off] = '\0';
    uint16_t port = (uint16_t)strtoul(colon + 1, NULL, 10);
    if (strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0)
        route_self_wildcard(s, port);
    else
        route_self_add(s, host, strchr(host, ':') ? 128 : 32, port);
}

/* True when address a (port 0) at port is one of this host's endpoints. */
static bool route_self_match(const struct route_selfset *s, const struct sockaddr_storage *a,
                             uint16_t port)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i].port == port && cidr_match(&s->v[i].net, (const struct sockaddr *)a))
            return true;
    return false;
}

/* True when host h (at its port, else port) is this host: our hostname or one of our
 * endpoints. */
bool route_self_host(const struct route_selfset *s, const char *hostname, const struct mx_host *h,
                     uint16_t port)
{
    bool port_ours = false;
    if (h->port)
        port = h->port;
    for (size_t i = 0; i < s->n; i++)
        port_ours |= s->v[i].port == port;
    if (port_ours && h->name && hostname && strcasecmp(h->name, hostname) == 0)
        return true;
    for (size_t j = 0; j < h->naddrs; j++)
        if (route_self_match(s, &h->addrs[j], port))
            return true;
    return false;
}

/* The loop check of a resolved host list (self.h): hosts that are this host, and
 * every host not more preferred than one, are dropped. -1 (hosts untouched) when that
 * leaves none: the mail would loop back to us. */
int route_self_drop(const struct route_selfset *s, const char *hostname, struct mx_host *h,
                    size_t *n, uint16_t port)
{
    bool found = false;
    uint16_t cut = 0;
    for (size_t i = 0; i < *n; i++)
        if (route_self_host(s, hostname, &h[i], port) && (!found || h[i].pref < cut)) {
            found = true;
            cut = h[i].pref;
        }
    if (!found)
        return 0;
    size_t keep = 0;
    for (size_t i = 0; i < *n; i++)
        keep += h[i].pref < cut;
    if (keep == 0)
        return -1;
    for (size_t i = 0, k = 0; i < *n; i++) {
        if (h[i].pref < cut) {
            h[k++] = h[i];
        } else {
            free(h[i].name);
            free(h[i].addrs);
        }
    }
    *n = keep;
    return 0;
}


/* This host's endpoints: one per smtpd.listen entry (a wildcard: every interface). */
void route_self_init(struct route_selfset *s, const struct conf *c)
{
    s->v = NULL;
    s->n = 0;
    for (size_t i = 0; i < c->smtpd.nlisten; i++)
        route_self_listen(s, c->smtpd.listen[i]);
}

/* Frees the endpoints. */
void route_self_free(struct route_selfset *s)
{
    free(s->v);
    s->v = NULL;
    s->n = 0;
}
