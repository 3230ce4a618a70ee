/* router: a deliver_router that fails suppressed recipients at once (router.c) and hands
 * every other recipient to an inner router (the real one: deliver_route). main.c puts it
 * in front of routing when suppression is enabled; the scheduler and delivery are unchanged:
 * the failure arrives as a failed route (permanent, 5.1.1), logged and reported (DSN) as
 * any other. */
#ifndef SLUICE_SUPPRESS_ROUTER_H
#define SLUICE_SUPPRESS_ROUTER_H
#include <stdint.h>

#include "deliver/deliver.h"

struct conf;
struct event_base;
struct suppress;
struct suppress_router;

extern const struct deliver_router suppress_router_ops;

/* The router state (router_arg of suppress_router_ops); everything given must outlive it. */
struct suppress_router *suppress_router_create(struct event_base *base, const struct conf *c,
                                               struct suppress *sp,
                                               const struct deliver_router *inner, void *inner_arg,
                                               int64_t (*now)(void));
void suppress_router_free(struct suppress_router *r);
#endif
