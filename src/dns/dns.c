/* dns: MX and address lookups through libunbound used as a stub resolver, on the loop.
 *
 * The module is three files around dns/internal.h (the structures they share):
 *   dns.c       (this file) the request: its life cycle (new, deadline, finish, hand-over,
 *               free), starting and cancelling one libunbound query, and the public lookups
 *               dns_mx, dns_host, dns_ptr and dns_cancel
 *   answer.c    reading libunbound's answers: MX, A/AAAA and PTR, the stage after each
 *   resolver.c  the context: forwarders and stub options, dns_create/dns_free, and the
 *               refused-resolver probe
 *
 * dns_mx / dns_host  start a request; the answer is always handed to the callback from a
 *     zero-delay event of the loop, never from inside dns_mx()/dns_host() nor from inside
 *     ub_process() (so a callback may call dns_free()).
 * dns_ptr  the same request machinery: the PTR query in the first slot, then A or AAAA (the
 *     family of the address only) of every kept PTR name; the answer is the first name in
 *     name order whose addresses include the client's (forward-confirmed rDNS). The PTR
 *     names kept are the DNS_PTR_MAX smallest, so the choice never depends on the order of
 *     the answer (unbound rotates rrsets).
 * dns_cancel  unlinks and frees one PTR request after cancelling its queries.
 * A lookup started while every forwarder is known to refuse (resolver.c) fails at once
 *     (DNS_TEMPFAIL, why "... resolver IP@PORT refused ...").
 *
 * A request is a small state machine: the MX query, then A and AAAA for every kept host in
 * parallel; each query slot (struct dns_q) is the libunbound callback argument and stays
 * valid until the request is freed. A deadline timer (DNS_DEADLINE_MS) cancels whatever is
 * still outstanding, so every request ends even if libunbound never answered.
 * Everything that comes back from DNS is hostile: MX rdata goes through mx_rdata_parse(),
 * address rdata must have the exact length, counts are capped (DNS_MX_MAX, DNS_ADDR_MAX). */
#include "dns/dns.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unbound.h>

#include "core/log.h"
#include "core/qid.h"
#include "core/xalloc.h"
#include "dns/internal.h"

#define DNS_LITERAL_TTL 86400

/* Uniform 32-bit random source for mx_order(). */
uint32_t dns_rnd(void *rarg)
{
    (void)rarg;
    uint32_t v;
    if (RAND_bytes((unsigned char *)&v, sizeof v) != 1)
        v = (uint32_t)random() ^ ((uint32_t)random() << 16);
    return v;
}

/* Lower-cases name into out without one trailing dot; 0, or -1 if not a host name. */
static int dns_name_canon(const char *in, char *out, size_t outlen)
{
    size_t len = strlen(in);
    if (len > 0 && in[len - 1] == '.')
        len--;
    if (len == 0 || len > MX_NAME_MAX || len >= outlen)
        return -1;
    size_t label = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c == '.') {
            if (label == 0)
                return -1;
            label = 0;
        } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_') {
            label++;
        } else if (c >= 'A' && c <= 'Z') {
            c = (unsigned char)(c - 'A' + 'a');
            label++;
        } else {
            return -1;
        }
        if (label > 63)
            return -1;
        out[i] = (char)c;
    }
    out[len] = '\0';
    return label == 0 ? -1 : 0;
}

/* Frees the hosts of a result (names and addresses). */
static void dns_hosts_free(struct mx_result *res)
{
    for (size_t i = 0; i < res->nhosts; i++) {
        free(res->hosts[i].name);
        free(res->hosts[i].addrs);
    }
    free(res->hosts);
    res->hosts = NULL;
    res->nhosts = 0;
}

/* Frees a result handed to a callback. NULL is fine. */
void mx_result_free(struct mx_result *res)
{
    if (!res)
        return;
    dns_hosts_free(res);
    free(res);
}

/* Ends a request with status and reason; the callback runs from the loop (ev_done). */
__attribute__((format(printf, 3, 4))) void
dns_finish(struct dns_req *req, enum dns_status status, const char *fmt, ...)
{
    if (req->finished)
        return;
    req->finished = true;
    struct mx_result *res = req->res;
    res->status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->why, sizeof res->why, fmt, ap);
    va_end(ap);
    if (status != DNS_OK)
        dns_hosts_free(res);
    if (res->ttl == UINT32_MAX)
        res->ttl = 0;
    event_del(req->ev_deadline);
    event_active(req->ev_done, EV_TIMEOUT, 1);
}

/* Frees a request, its query slots and (if still owned) its result. */
void dns_req_free(struct dns_req *req)
{
    for (size_t i = 0; i < req->naq; i++)
        free(req->aq[i].addrs);
    free(req->aq);
    mx_result_free(req->res);
    event_free(req->ev_done);
    event_free(req->ev_deadline);
    free(req);
}

/* Removes a request from its resolver's list. */
static void dns_req_unlink(struct dns_req *req)
{
    struct dns *d = req->d;
    if (req->prev)
        req->prev->next = req->next;
    else
        d->reqs = req->next;
    if (req->next)
        req->next->prev = req->prev;
    req->prev = req->next = NULL;
}

/* The address bytes of a PTR request (the cache key): 4 or 16 of them, 0 when none. */
static size_t dns_ptr_key(const struct sockaddr_storage *ss, const uint8_t **p)
{
    if (ss->ss_family == AF_INET) {
        *p = (const uint8_t *)&((const struct sockaddr_in *)ss)->sin_addr;
        return 4;
    }
    if (ss->ss_family == AF_INET6) {
        *p = ((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr;
        return 16;
    }
    return 0;
}

/* Whether the cache holds a fresh answer for the request's address (into ptr_cached). */
static bool dns_ptr_cached(struct dns *d, struct dns_req *req)
{
    const uint8_t *key;
    size_t klen = dns_ptr_key(&req->ptr_addr, &key);
    return klen && ptrcache_get(&d->ptrc, key, klen, clock_mono_us() / 1000, req->ptr_cached,
                                sizeof req->ptr_cached);
}

/* Hands a finished PTR request's answer over: the confirmed name or NULL. The answer is
 * kept in the cache for its TTL, at most a minute; a failure (refused, SERVFAIL, deadline)
 * for PTRCACHE_FAIL_TTL_S, so that a resolver outage does not cost every connection of a
 * client its own lookup. */
static void dns_ptr_done(struct dns_req *req)
{
    char name[MX_NAME_MAX + 1];
    const struct mx_result *res = req->res;
    bool ok = res->status == DNS_OK && req->ptr_match < res->nhosts;
    if (ok)
        snprintf(name, sizeof name, "%s", res->hosts[req->ptr_match].name);
    const uint8_t *key;
    size_t klen = dns_ptr_key(&req->ptr_addr, &key);
    if (req->ptr_hit) {
        ok = req->ptr_cached[0] != '\0';
        snprintf(name, sizeof name, "%s", req->ptr_cached);
    } else if (klen) {
        uint32_t ttl = res->status == DNS_TEMPFAIL ? PTRCACHE_FAIL_TTL_S : res->ttl;
        ptrcache_put(&req->d->ptrc, key, klen, ok ? name : NULL, ttl, clock_mono_us() / 1000);
    }
    dns_ptr_fn cb = req->ptr_cb;
    void *cbarg = req->arg;
    dns_req_free(req);
    cb(cbarg, ok ? name : NULL); /* last: it may call dns_free() */
}

/* Loop event after dns_finish(): unlinks the request and hands the result over. */
static void dns_req_on_done(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct dns_req *req = arg;
    dns_req_unlink(req);
    if (req->ptr) {
        dns_ptr_done(req);
        return;
    }
    struct mx_result *res = req->res;
    req->res = NULL;
    dns_mx_fn cb = req->cb;
    void *cbarg = req->arg;
    dns_req_free(req);
    cb(cbarg, res); /* last: it may call dns_free() */
}

/* Cancels one query if it is still in flight. */
void dns_q_cancel(struct dns *d, struct dns_q *q)
{
    if (!q->active)
        return;
    q->active = false;
    int rc = ub_cancel(d->ub, q->id);
    if (rc != 0 && rc != UB_NOID)
        log_warn("dns: ub_cancel: %s", ub_strerror(rc));
}

/* Deadline timer: cancels what is outstanding and fails the request temporarily. */
static void dns_req_on_deadline(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct dns_req *req = arg;
    dns_q_cancel(req->d, &req->mxq);
    for (size_t i = 0; i < req->naq; i++)
        dns_q_cancel(req->d, &req->aq[i]);
    dns_finish(req, DNS_TEMPFAIL, "DNS lookup for %s timed out after %d ms", req->name,
               DNS_DEADLINE_MS);
}

/* Allocates a request, links it and arms its deadline. */
static struct dns_req *dns_req_new(struct dns *d, dns_mx_fn cb, void *arg)
{
    struct dns_req *req = xcalloc(1, sizeof *req);
    req->d = d;
    req->cb = cb;
    req->arg = arg;
    req->res = xcalloc(1, sizeof *req->res);
    req->res->ttl = UINT32_MAX;
    req->mxq.req = req;
    req->mxq.type = DNS_T_MX;
    req->ev_done = event_new(d->base, -1, 0, dns_req_on_done, req);
    req->ev_deadline = evtimer_new(d->base, dns_req_on_deadline, req);
    if (!req->ev_done || !req->ev_deadline)
        log_panic("dns: event_new failed");
    struct timeval tv = {DNS_DEADLINE_MS / 1000, (DNS_DEADLINE_MS % 1000) * 1000};
    if (evtimer_add(req->ev_deadline, &tv) < 0)
        log_panic("dns: evtimer_add failed");
    req->next = d->reqs;
    if (d->reqs)
        d->reqs->prev = req;
    d->reqs = req;
    return req;
}

/* Starts one query for name; 0, or -1 (logged) when libunbound refuses it. */
int dns_q_start(struct dns_req *req, struct dns_q *q, const char *name)
{
    int rc = ub_resolve_async(req->d->ub, name, q->type, DNS_C_IN, q, dns_on_answer, &q->id);
    if (rc != 0) {
        log_warn("dns: ub_resolve_async %s type %d: %s", name, q->type, ub_strerror(rc));
        return -1;
    }
    q->active = true;
    req->pending++;
    return 0;
}

/* MX lookup of domain, then the addresses of its hosts. */
void dns_mx(struct dns *d, const char *domain, bool fallback_a, dns_mx_fn cb, void *arg)
{
    struct dns_req *req = dns_req_new(d, cb, arg);
    req->fallback_a = fallback_a;
    if (!domain || dns_name_canon(domain, req->name, sizeof req->name) < 0) {
        char safe[80];
        log_sanitize(safe, sizeof safe, domain ? domain : "", domain ? strlen(domain) : 0);
        snprintf(req->name, sizeof req->name, "%s", safe);
        dns_finish(req, DNS_NXDOMAIN, "invalid domain name \"%s\"", safe);
        return;
    }
    if (dns_resolver_down(d))
        dns_finish(req, DNS_TEMPFAIL, "MX lookup for %s failed: %s", req->name, d->down_why);
    else if (dns_q_start(req, &req->mxq, req->name) < 0)
        dns_finish(req, DNS_TEMPFAIL, "MX lookup for %s could not be started", req->name);
}

/* Fills the one host of an IP-literal result; true when host is a literal. */
static bool dns_host_literal(struct dns_req *req, const char *host)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, host, &sin->sin_addr) == 1)
        ss.ss_family = AF_INET;
    else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1)
        ss.ss_family = AF_INET6;
    else
        return false;
    struct mx_result *res = req->res;
    res->hosts = xcalloc(1, sizeof *res->hosts);
    res->nhosts = 1;
    res->hosts[0].name = xstrdup(host);
    res->hosts[0].addrs = xcalloc(1, sizeof ss);
    res->hosts[0].addrs[0] = ss;
    res->hosts[0].naddrs = 1;
    res->ttl = DNS_LITERAL_TTL;
    return true;
}

/* A and AAAA of one host (a relay); an IP literal answers without any query. */
void dns_host(struct dns *d, const char *host, dns_mx_fn cb, void *arg)
{
    struct dns_req *req = dns_req_new(d, cb, arg);
    req->host_only = true;
    if (host && strlen(host) < INET6_ADDRSTRLEN && dns_host_literal(req, host)) {
        snprintf(req->name, sizeof req->name, "%s", host);
        dns_finish(req, DNS_OK, "%s", "");
        return;
    }
    if (!host || dns_name_canon(host, req->name, sizeof req->name) < 0) {
        char safe[80];
        log_sanitize(safe, sizeof safe, host ? host : "", host ? strlen(host) : 0);
        snprintf(req->name, sizeof req->name, "%s", safe);
        dns_finish(req, DNS_NXDOMAIN, "invalid host name \"%s\"", safe);
        return;
    }
    if (dns_resolver_down(d)) {
        dns_finish(req, DNS_TEMPFAIL, "address lookup for %s failed: %s", req->name, d->down_why);
        return;
    }
    req->res->hosts = xcalloc(1, sizeof *req->res->hosts);
    req->res->nhosts = 1;
    req->res->hosts[0].name = xstrdup(req->name);
    dns_addr_start(req);
}

/* Writes the reverse-lookup name of sa (in-addr.arpa / ip6.arpa) into out and keeps the
 * address (a v4-mapped IPv6 address as IPv4); 0, or -1 for another family. */
static int dns_ptr_name(const struct sockaddr *sa, struct sockaddr_storage *keep, char *out,
                        size_t len)
{
    static const char hex[] = "0123456789abcdef";
    memset(keep, 0, sizeof *keep);
    const uint8_t *b;
    if (!sa || (sa->sa_family != AF_INET && sa->sa_family != AF_INET6))
        return -1;
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        if (!IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
            memcpy(keep, s6, sizeof *s6);
            b = s6->sin6_addr.s6_addr;
            size_t o = 0;
            for (int i = 15; i >= 0; i--)
                o += (size_t)snprintf(out + o, len - o, "%c.%c.", hex[b[i] & 15], hex[b[i] >> 4]);
            snprintf(out + o, len - o, "ip6.arpa");
            return 0;
        }
        struct sockaddr_in *sin = (struct sockaddr_in *)keep;
        sin->sin_family = AF_INET;
        memcpy(&sin->sin_addr, s6->sin6_addr.s6_addr + 12, 4);
    } else {
        memcpy(keep, sa, sizeof(struct sockaddr_in));
    }
    b = (const uint8_t *)&((const struct sockaddr_in *)keep)->sin_addr;
    snprintf(out, len, "%u.%u.%u.%u.in-addr.arpa", b[3], b[2], b[1], b[0]);
    return 0;
}

/* Forward-confirmed reverse lookup of sa: PTR, then the addresses of the names. */
uint64_t dns_ptr(struct dns *d, const struct sockaddr *sa, dns_ptr_fn cb, void *arg)
{
    struct dns_req *req = dns_req_new(d, NULL, arg);
    req->ptr = true;
    req->ptr_cb = cb;
    d->st.ptr_lookups++;
    req->id = ++d->next_id;
    req->mxq.type = DNS_T_PTR;
    if (dns_ptr_name(sa, &req->ptr_addr, req->name, sizeof req->name) < 0) {
        snprintf(req->name, sizeof req->name, "(address family %d)", sa ? sa->sa_family : -1);
        dns_finish(req, DNS_TEMPFAIL, "no reverse lookup for %s", req->name);
    } else if (dns_ptr_cached(d, req)) {
        req->ptr_hit = true;
        d->st.ptr_cached++;
        dns_finish(req, DNS_OK, "cached");
    } else if (dns_resolver_down(d)) {
        dns_finish(req, DNS_TEMPFAIL, "PTR lookup for %s failed: %s", req->name, d->down_why);
    } else if (dns_q_start(req, &req->mxq, req->name) < 0) {
        dns_finish(req, DNS_TEMPFAIL, "PTR lookup for %s could not be started", req->name);
    }
    return req->id;
}

/* Drops a pending PTR request without calling its callback. */
void dns_cancel(struct dns *d, uint64_t id)
{
    struct dns_req *req = d ? d->reqs : NULL;
    while (req && !(req->ptr && req->id == id))
        req = req->next;
    if (!req)
        return;
    dns_q_cancel(d, &req->mxq);
    for (size_t i = 0; i < req->naq; i++)
        dns_q_cancel(d, &req->aq[i]);
    dns_req_unlink(req);
    dns_req_free(req);
}

void dns_get_stats(const struct dns *d, struct dns_stats *st)
{
    *st = d ? d->st : (struct dns_stats){0};
}
