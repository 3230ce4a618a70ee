/* router: the suppression check where delivery routes a recipient (contract in router.h).
 *
 * A struct deliver_router in front of the real one: a recipient on the suppression list
 * (active: recorded less than suppression.duration ago) gets a permanent failure
 * "5.1.1 <addr> suppressed ..." without a DNS lookup or a connection; everything else goes
 * to the inner router unchanged. Delivery then treats it as any failed route: the recipient
 * fails (status=bounced) and its sender gets the DSN (dsn/report.c). The failure is handed
 * back from the loop (event_base_once), never inside the lookup call (route.h's rule). */
#include "suppress/router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <event2/event.h>

#include "conf/conf.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "proto/addr.h"
#include "suppress/suppress.h"

struct suppress_router {
    struct event_base *base;
    const struct conf *c;
    struct suppress *sp;
    const struct deliver_router *inner;
    void *inner_arg;
    int64_t (*now)(void);
};

struct suppress_fail {
    route_fn cb;
    void *arg;
    char why[SUPPRESS_ADDR_MAX * 4 + 320];
};

/* The deferred failure of a suppressed recipient. */
static void suppress_router_on_fail(evutil_socket_t fd, short what, void *arg)
{
    struct suppress_fail *f = arg;
    (void)fd;
    (void)what;
    f->cb(f->arg, NULL, OUTCOME_PERMFAIL, f->why);
    free(f);
}

/* UTC date of ms, "2024-01-01 00:00:00Z". */
static void suppress_router_date(int64_t ms, char *buf, size_t len)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%d %H:%M:%SZ", &tm);
}

/* deliver_router.lookup: suppressed recipients fail, the others are routed. */
static void suppress_router_lookup(void *rarg, const char *sender, const char *client_ip,
                                   const char *rcpt, route_fn cb, void *arg)
{
    struct suppress_router *r = rarg;
    struct suppress_entry e;
    int64_t now = r->now();
    if (!r->c->suppression.enabled ||
        suppress_find(r->sp, addr_unrouted(rcpt), now, r->c->suppression.duration, &e) != 1) {
        r->inner->lookup(r->inner_arg, sender, client_ip, rcpt, cb, arg);
        return;
    }
    char at[32], until[32], a[SUPPRESS_ADDR_MAX * 4 + 1], why[SUPPRESS_REASON_MAX * 4 + 1];
    suppress_router_date(e.at, at, sizeof at);
    suppress_router_date(e.at + (int64_t)r->c->suppression.duration, until, sizeof until);
    log_sanitize(a, sizeof a, rcpt, strlen(rcpt));
    log_sanitize(why, sizeof why, e.reason, strlen(e.reason));
    log_info("suppress: <%s> is suppressed until %s (hard bounce %s: %s): failed without a "
             "connection",
             a, until, at, why);
    struct suppress_fail *f = xcalloc(1, sizeof *f);
    f->cb = cb;
    f->arg = arg;
    snprintf(f->why, sizeof f->why,
             "5.1.1 <%s> suppressed until %s after a hard bounce on %s: %.200s", a, until, at, why);
    struct timeval zero = {0, 0};
    if (event_base_once(r->base, -1, EV_TIMEOUT, suppress_router_on_fail, f, &zero) < 0)
        log_panic("suppress: cannot schedule a failure");
}

/* deliver_router.cached: the inner router's. */
static struct dest *suppress_router_cached(void *rarg, const char *domain)
{
    struct suppress_router *r = rarg;
    return r->inner->cached(r->inner_arg, domain);
}

const struct deliver_router suppress_router_ops = {
    .lookup = suppress_router_lookup,
    .cached = suppress_router_cached,
};

struct suppress_router *suppress_router_create(struct event_base *base, const struct conf *c,
                                               struct suppress *sp,
                                               const struct deliver_router *inner, void *inner_arg,
                                               int64_t (*now)(void))
{
    struct suppress_router *r = xcalloc(1, sizeof *r);
    *r = (struct suppress_router){base, c, sp, inner, inner_arg, now};
    return r;
}

void suppress_router_free(struct suppress_router *r)
{
    free(r);
}
