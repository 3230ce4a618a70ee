/* dns resolver: the libunbound context of a struct dns and the refused-resolver probe.
 *
 * dns_create(base, conf, err)  one ub_ctx: ub_ctx_set_fwd() per resolver.forwarders entry
 *     (else ub_ctx_resolvconf()), the stub options below, a resolver thread
 *     (ub_ctx_async), and a persistent read event on ub_fd() that calls ub_process(). Any
 *     libunbound failure -> NULL and ub_strerror() text in err. ub_ctx_zone_*() is never
 *     called: it finalizes the context, after which forwarders would be ignored.
 * dns_free  deletes the context first (no libunbound callback can run after it), then the
 *     pending requests without calling their callbacks, and closes any probe socket.
 * dns_resolver_down(d)  (dns/internal.h) asked by every lookup before its first query.
 * Refused resolvers (below): a forwarder where nothing listens is seen by our own probe,
 *     and lookups then fail at once (DNS_TEMPFAIL, why "... resolver IP@PORT refused ...")
 *     instead of after libunbound's retransmissions. */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unbound.h>
#include <unistd.h>

#include "conf/conf.h"
#include "core/log.h"
#include "core/qid.h"
#include "core/xalloc.h"
#include "dns/internal.h"
/* Stub settings. The infra-* values bound how long an unanswered forwarder takes to fail
 * (about 5 s instead of 17 s) and let a forwarder that was down be used again within a
 * minute; "test." is an RFC 6761 default local zone that would otherwise never reach the
 * forwarders; so are the reverse zones of loopback (127.in-addr.arpa, ::1) and, without
 * unblock-lan-zones, those of RFC 1918 and RFC 6303 (a client on the LAN would always be
 * "unknown"): the forwarders decide. A zone of our own replaces a built-in one, and a
 * transparent zone without data passes every query on ("nodefault" given through
 * ub_ctx_set_option() is ignored by libunbound 1.17). The iterator alone means no DNSSEC
 * validation (no trust anchor is loaded). */
static const char *const dns_options[][2] = {
    {"do-not-query-localhost:", "no"},
    {"local-zone:", "test. transparent"},
    {"local-zone:", "127.in-addr.arpa. transparent"},
    {"local-zone:", "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa. "
                    "transparent"},
    {"unblock-lan-zones:", "yes"},
    {"module-config:", "iterator"},
    {"infra-cache-max-rtt:", "3000"},
    {"infra-keep-probing:", "yes"},
    {"infra-host-ttl:", "60"},
};

/* Refused resolvers. libunbound ignores an ICMP error on its connected UDP socket (a
 * forwarder where nothing listens: ECONNREFUSED; util/netevent.c comm_point_udp_callback
 * returns without a word) and gives up only after its own retransmissions, about 5 s with
 * the infra-* values above; no option changes that (udp-connect is already on, and
 * outbound-msg-retry counts error replies, not timeouts). So sluice probes the forwarders
 * itself, never blocking: when a request starts and the last probe round is older than
 * DNS_PROBE_FRESH_MS, one ". NS" query goes to every forwarder on a connected UDP socket
 * of our own; a reply, or silence for DNS_PROBE_WAIT_MS, means "not refused" (libunbound's
 * timeouts decide), an ECONNREFUSED / unreachable error means refused. When every
 * forwarder refused, the requests in flight fail at once (DNS_TEMPFAIL, why names the
 * resolver) and so does every new request until a round that is not all refusals; the
 * change is logged once each way. The replies are read only to be discarded (never
 * parsed). Only when the forwarders are all known (resolver.forwarders, or at most
 * MAXNS - 1 servers of /etc/resolv.conf as res_ninit() reads them) is fail-fast used. */
#define DNS_PROBE_FRESH_MS 1000
#define DNS_PROBE_WAIT_MS 1000

/* The ub_fd() is readable: let libunbound deliver the answers that are in. */
static void dns_on_readable(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct dns *d = arg;
    int rc = ub_process(d->ub);
    if (rc != 0)
        log_warn("dns: ub_process: %s", ub_strerror(rc));
}

/* ---- refused resolvers: the reachability probe ---- */

/* Adds a forwarder address to the probe's list ("ip@port" for logs). */
static void dns_fwd_add(struct dns *d, const struct sockaddr *sa, socklen_t salen)
{
    char ip[INET6_ADDRSTRLEN];
    const void *a;
    uint16_t port;
    if (d->nfwd == DNS_FWD_MAX || salen > sizeof d->fwd[0].sa) {
        d->fwd_all = false;
        return;
    }
    if (sa->sa_family == AF_INET) {
        a = &((const struct sockaddr_in *)sa)->sin_addr;
        port = ntohs(((const struct sockaddr_in *)sa)->sin_port);
    } else {
        a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        port = ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
    }
    struct dns_fwd *f = &d->fwd[d->nfwd++];
    memcpy(&f->sa, sa, salen);
    f->salen = salen;
    snprintf(f->text, sizeof f->text, "%s@%u", inet_ntop(sa->sa_family, a, ip, sizeof ip) ? ip : "?",
             port);
}

/* A resolver.forwarders entry ("ip" or "ip@port", validated by conf) for the probe; one
 * that does not read back (cannot happen after conf) turns fail-fast off. */
static void dns_fwd_parse(struct dns *d, const char *text)
{
    char ip[INET6_ADDRSTRLEN + 1];
    unsigned long port = 53;
    const char *at = strchr(text, '@');
    size_t iplen = at ? (size_t)(at - text) : strlen(text);
    char *end = NULL;
    if (at)
        port = strtoul(at + 1, &end, 10);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port)};
    if (iplen >= sizeof ip || port == 0 || port > 65535 || (at && (end == at + 1 || *end))) {
        d->fwd_all = false;
        return;
    }
    memcpy(ip, text, iplen);
    ip[iplen] = '\0';
    if (inet_pton(AF_INET, ip, &sin.sin_addr) == 1)
        dns_fwd_add(d, (struct sockaddr *)&sin, sizeof sin);
    else if (inet_pton(AF_INET6, ip, &sin6.sin6_addr) == 1)
        dns_fwd_add(d, (struct sockaddr *)&sin6, sizeof sin6);
    else
        d->fwd_all = false;
}

/* The servers of /etc/resolv.conf as the C library reads them. It keeps at most MAXNS: with
 * that many the file may name more (libunbound uses them all), so fail-fast stays off. */
static void dns_fwd_resolvconf(struct dns *d)
{
    struct __res_state rs;
    memset(&rs, 0, sizeof rs);
    if (res_ninit(&rs) != 0) {
        d->fwd_all = false;
        return;
    }
    for (int i = 0; i < rs.nscount && i < MAXNS; i++) {
        if (rs.nsaddr_list[i].sin_family == AF_INET)
            dns_fwd_add(d, (struct sockaddr *)&rs.nsaddr_list[i], sizeof rs.nsaddr_list[i]);
        else if (rs._u._ext.nsaddrs[i])
            dns_fwd_add(d, (struct sockaddr *)rs._u._ext.nsaddrs[i], sizeof(struct sockaddr_in6));
        else
            d->fwd_all = false;
    }
    if (rs.nscount >= MAXNS)
        d->fwd_all = false;
    res_nclose(&rs);
}

/* True for the errors that say nobody will ever answer at that address. */
static bool dns_probe_refusal(int e)
{
    return e == ECONNREFUSED || e == EHOSTUNREACH || e == ENETUNREACH || e == EHOSTDOWN ||
           e == ENETDOWN;
}

/* Ends one forwarder's probe: closes its socket and counts it in. */
static void dns_probe_close(struct dns_fwd *f)
{
    if (f->ev) {
        event_free(f->ev);
        f->ev = NULL;
    }
    if (f->fd >= 0) {
        close(f->fd);
        f->fd = -1;
        f->d->probing--;
    }
}

/* Fails every request still waiting for libunbound: the resolvers refused. */
static void dns_fail_pending(struct dns *d)
{
    for (struct dns_req *req = d->reqs; req; req = req->next) {
        if (req->finished || req->pending == 0)
            continue;
        dns_q_cancel(d, &req->mxq);
        for (size_t i = 0; i < req->naq; i++)
            dns_q_cancel(d, &req->aq[i]);
        dns_finish(req, DNS_TEMPFAIL, "DNS lookup for %s failed: %s", req->name, d->down_why);
    }
}

/* A probe round is complete: decides whether the resolvers are down, logs a change. */
static void dns_probe_end(struct dns *d)
{
    event_del(d->ev_probe_wait);
    d->probed_ms = clock_mono_ms();
    bool down = d->nfwd > 0;
    for (size_t i = 0; i < d->nfwd; i++)
        down = down && dns_probe_refusal(d->fwd[i].err);
    if (!down) {
        if (d->down)
            log_info("dns: a resolver answers again: lookups go through");
        d->down = false;
        return;
    }
    const struct dns_fwd *f = &d->fwd[0];
    snprintf(d->down_why, sizeof d->down_why, "resolver%s %s%s %s (%s)", d->nfwd > 1 ? "s" : "",
             f->text, d->nfwd > 1 ? " and the others" : "",
             f->err == ECONNREFUSED ? "refused" : "unreachable", strerror(f->err));
    if (!d->down)
        log_warn("dns: %s: every lookup fails at once until a resolver answers", d->down_why);
    d->down = true;
    dns_fail_pending(d);
}

/* A probe socket is readable: a reply (the forwarder answers) or its ICMP error. */
static void dns_probe_on_readable(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct dns_fwd *f = arg;
    char buf[512];
    ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return; /* EV_PERSIST: wait on */
    f->err = n < 0 ? errno : 0;
    dns_probe_close(f);
    if (f->d->probing == 0)
        dns_probe_end(f->d);
}

/* DNS_PROBE_WAIT_MS passed: a forwarder still silent is not refused. */
static void dns_probe_on_wait(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct dns *d = arg;
    for (size_t i = 0; i < d->nfwd; i++)
        dns_probe_close(&d->fwd[i]);
    dns_probe_end(d);
}

/* Sends one ". IN NS" query (RD) to f on a connected UDP socket; a send error is the result
 * at once. Any failure of our own (no socket) leaves err 0: not refused. */
static void dns_probe_send(struct dns *d, struct dns_fwd *f)
{
    uint32_t id = dns_rnd(NULL);
    const uint8_t q[17] = {(uint8_t)(id >> 8), (uint8_t)id, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0,
                           0, 0, 2, 0, 1};
    f->err = 0;
    f->fd = socket(f->sa.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (f->fd < 0)
        return;
    d->probing++;
    if (connect(f->fd, (struct sockaddr *)&f->sa, f->salen) < 0 ||
        send(f->fd, q, sizeof q, MSG_DONTWAIT) < 0) {
        f->err = dns_probe_refusal(errno) ? errno : 0;
        dns_probe_close(f);
        return;
    }
    f->ev = event_new(d->base, f->fd, EV_READ | EV_PERSIST, dns_probe_on_readable, f);
    if (!f->ev || event_add(f->ev, NULL) < 0)
        dns_probe_close(f);
}

/* Starts a probe round (every forwarder at once). */
static void dns_probe_start(struct dns *d)
{
    for (size_t i = 0; i < d->nfwd; i++)
        dns_probe_send(d, &d->fwd[i]);
    if (d->probing == 0) {
        dns_probe_end(d);
        return;
    }
    struct timeval tv = {DNS_PROBE_WAIT_MS / 1000, (DNS_PROBE_WAIT_MS % 1000) * 1000};
    if (evtimer_add(d->ev_probe_wait, &tv) < 0)
        log_panic("dns: evtimer_add failed");
}

/* Before a request's first query: true when it must fail at once (the last round, still
 * fresh, found every forwarder refusing; why in d->down_why). A stale round is renewed. */
bool dns_resolver_down(struct dns *d)
{
    if (!d->fwd_all)
        return false;
    int64_t now = clock_mono_ms();
    bool fresh = d->probed_ms != 0 && now - d->probed_ms < DNS_PROBE_FRESH_MS;
    if (!fresh && d->probing == 0) {
        dns_probe_start(d);
        fresh = d->probing == 0; /* every send failed at once: that round is the answer */
    }
    return fresh && d->down;
}

/* Applies forwarders (or resolv.conf) and the stub options; 0, or -1 with err set. */
static int dns_configure(struct dns *d, const struct conf *c, char *err, size_t errlen)
{
    struct ub_ctx *ub = d->ub;
    int rc;
    size_t nfwd = c ? c->resolver.nforwarders : 0;
    d->fwd_all = true;
    for (size_t i = 0; i < nfwd; i++) {
        const char *f = c->resolver.forwarders[i];
        if (!f || (rc = ub_ctx_set_fwd(ub, f)) != 0) {
            snprintf(err, errlen, "resolver forwarder \"%s\": %s", f ? f : "(null)",
                     f ? ub_strerror(rc) : "missing");
            return -1;
        }
        dns_fwd_parse(d, f);
    }
    if (nfwd == 0 && (rc = ub_ctx_resolvconf(ub, NULL)) != 0) {
        snprintf(err, errlen, "reading /etc/resolv.conf: %s", ub_strerror(rc));
        return -1;
    }
    if (nfwd == 0)
        dns_fwd_resolvconf(d);
    for (size_t i = 0; i < sizeof dns_options / sizeof dns_options[0]; i++) {
        if ((rc = ub_ctx_set_option(ub, dns_options[i][0], dns_options[i][1])) != 0) {
            snprintf(err, errlen, "libunbound option %s %s: %s", dns_options[i][0],
                     dns_options[i][1], ub_strerror(rc));
            return -1;
        }
    }
    if ((rc = ub_ctx_async(ub, 1)) != 0) {
        snprintf(err, errlen, "libunbound resolver thread: %s", ub_strerror(rc));
        return -1;
    }
    return 0;
}

/* Creates the stub resolver context and hooks its result pipe into the loop. */
struct dns *dns_create(struct event_base *base, const struct conf *c, char *err, size_t errlen)
{
    struct dns *d = xcalloc(1, sizeof *d);
    d->base = base;
    for (size_t i = 0; i < DNS_FWD_MAX; i++) {
        d->fwd[i].d = d;
        d->fwd[i].fd = -1;
    }
    d->ev_probe_wait = evtimer_new(base, dns_probe_on_wait, d);
    d->ub = ub_ctx_create();
    if (!d->ev_probe_wait || !d->ub) {
        snprintf(err, errlen, "%s failed", d->ub ? "evtimer_new" : "ub_ctx_create");
        goto fail;
    }
    if (dns_configure(d, c, err, errlen) < 0)
        goto fail;
    int fd = ub_fd(d->ub);
    if (fd < 0) {
        snprintf(err, errlen, "libunbound has no result descriptor");
        goto fail;
    }
    d->ev_ub = event_new(base, fd, EV_READ | EV_PERSIST, dns_on_readable, d);
    if (!d->ev_ub || event_add(d->ev_ub, NULL) < 0) {
        snprintf(err, errlen, "cannot watch the libunbound descriptor");
        goto fail;
    }
    return d;
fail:
    if (d->ev_ub)
        event_free(d->ev_ub);
    if (d->ev_probe_wait)
        event_free(d->ev_probe_wait);
    if (d->ub)
        ub_ctx_delete(d->ub);
    free(d);
    return NULL;
}

/* Deletes the context (stopping its thread), then drops pending requests silently. */
void dns_free(struct dns *d)
{
    if (!d)
        return;
    event_free(d->ev_ub);
    ub_ctx_delete(d->ub);
    for (size_t i = 0; i < d->nfwd; i++)
        dns_probe_close(&d->fwd[i]);
    event_free(d->ev_probe_wait);
    while (d->reqs) {
        struct dns_req *req = d->reqs;
        d->reqs = req->next;
        dns_req_free(req);
    }
    free(d);
}
