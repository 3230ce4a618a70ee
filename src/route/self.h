/* self: this host's SMTP endpoints, for route's loop check (route.h: a destination whose
 * best host is this host fails 5.4.6, as Postfix's smtp_addr.c).
 *
 * route_self_init() collects an address block per smtpd.listen entry at its port (a
 * wildcard listener: every interface address, 127/8 and ::1); route_self_free() frees it.
 * route_self_host(): true when host h, at h->port or else port, is this host: its name is
 * hostname (at one of our ports) or one of its addresses is one of our endpoints.
 * route_self_drop(): the loop check of an MX-ordered host list: hosts that are this host,
 * and every host not more preferred than one, are dropped (we are a backup MX); -1 (the
 * list untouched) when that leaves none. */
#ifndef SLUICE_ROUTE_SELF_H
#define SLUICE_ROUTE_SELF_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conf;
struct mx_host;
struct route_self;

struct route_selfset {
    struct route_self *v;
    size_t n;
};

void route_self_init(struct route_selfset *s, const struct conf *c);
void route_self_free(struct route_selfset *s);
bool route_self_host(const struct route_selfset *s, const char *hostname, const struct mx_host *h,
                     uint16_t port);
int route_self_drop(const struct route_selfset *s, const char *hostname, struct mx_host *h,
                    size_t *n, uint16_t port);
#endif
