/* dns: MX and address lookups through libunbound used as a stub resolver, on the loop.
 *
 * dns_create(base, conf, err)  one ub_ctx: ub_ctx_set_fwd() per resolver.forwarders entry
 *     (else ub_ctx_resolvconf()), the stub options below, a resolver thread
 *     (ub_ctx_async), and a persistent read event on ub_fd() that calls ub_process(). Any
 *     libunbound failure -> NULL and ub_strerror() text in err. ub_ctx_zone_*() is never
 *     called: it finalizes the context, after which forwarders would be ignored.
 * dns_mx / dns_host  start a request; the answer is always handed to the callback from a
 *     zero-delay event of the loop, never from inside dns_mx()/dns_host() nor from inside
 *     ub_process() (so a callback may call dns_free()).
 * dns_ptr  the same request machinery: the PTR query in the first slot, then A or AAAA (the
 *     family of the address only) of every kept PTR name; the answer is the first name in
 *     name order whose addresses include the client's (forward-confirmed rDNS). The PTR
 *     names kept are the DNS_PTR_MAX smallest, so the choice never depends on the order of
 *     the answer (unbound rotates rrsets).
 * dns_cancel  unlinks and frees one PTR request after cancelling its queries.
 * dns_free  deletes the context first (no libunbound callback can run after it), then the
 *     pending requests without calling their callbacks, and closes any probe socket.
 * Refused resolvers (below): a forwarder where nothing listens is seen by our own probe,
 *     and lookups then fail at once (DNS_TEMPFAIL, why "... resolver IP@PORT refused ...")
 *     instead of after libunbound's retransmissions.
 *
 * A request is a small state machine: the MX query, then A and AAAA for every kept host in
 * parallel; each query slot (struct dns_q) is the libunbound callback argument and stays
 * valid until the request is freed. A deadline timer (DNS_DEADLINE_MS) cancels whatever is
 * still outstanding, so every request ends even if libunbound never answered.
 * Everything that comes back from DNS is hostile: MX rdata goes through mx_rdata_parse(),
 * address rdata must have the exact length, counts are capped (DNS_MX_MAX, DNS_ADDR_MAX). */
#include "dns/dns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <resolv.h>
#include <stdarg.h>
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

#define DNS_T_A 1
#define DNS_T_PTR 12
#define DNS_T_MX 15
#define DNS_T_AAAA 28
#define DNS_C_IN 1
#define DNS_RCODE_NXDOMAIN 3
#define DNS_LITERAL_TTL 86400

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
 * outbound-msg-retry counts error replies, not timeouts). So dns.c probes the forwarders
 * itself, never blocking: when a request starts and the last probe round is older than
 * DNS_PROBE_FRESH_MS, one ". NS" query goes to every forwarder on a connected UDP socket
 * of our own; a reply, or silence for DNS_PROBE_WAIT_MS, means "not refused" (libunbound's
 * timeouts decide), an ECONNREFUSED / unreachable error means refused. When every
 * forwarder refused, the requests in flight fail at once (DNS_TEMPFAIL, why names the
 * resolver) and so does every new request until a round that is not all refusals; the
 * change is logged once each way. The replies are read only to be discarded (never
 * parsed). Only when the forwarders are all known (resolver.forwarders, or at most
 * MAXNS - 1 servers of /etc/resolv.conf as res_ninit() reads them) is fail-fast used. */
#define DNS_FWD_MAX 16
#define DNS_PROBE_FRESH_MS 1000
#define DNS_PROBE_WAIT_MS 1000

struct dns_req;

/* One libunbound query: the callback argument of ub_resolve_async(). */
struct dns_q {
    struct dns_req *req;
    int id; /* libunbound async id while active */
    int type;
    size_t host; /* index into req->res->hosts (address queries) */
    bool active;
    struct sockaddr_storage *addrs; /* address answers, merged when all are in */
    size_t naddrs;
};

struct dns_req {
    struct dns *d;
    struct dns_req *prev, *next;
    dns_mx_fn cb;
    void *arg;
    /* dns_ptr(): the address, its callback, the id for dns_cancel() and the match */
    bool ptr;
    dns_ptr_fn ptr_cb;
    uint64_t id;
    struct sockaddr_storage ptr_addr;
    size_t ptr_match; /* index of the confirmed host (valid with DNS_OK) */
    char name[MX_NAME_MAX + 1];
    bool fallback_a, implicit, host_only, finished;
    struct mx_result *res;
    struct dns_q mxq;
    struct dns_q *aq; /* 2 per host: A at 2i, AAAA at 2i+1 */
    size_t naq, pending;
    unsigned nsoft, nnx; /* address queries that failed / answered NXDOMAIN */
    struct event *ev_done, *ev_deadline;
};

/* One forwarder as the reachability probe sees it. */
struct dns_fwd {
    struct dns *d;
    struct sockaddr_storage sa;
    socklen_t salen;
    char text[INET6_ADDRSTRLEN + 8]; /* "ip@port" */
    int fd;                          /* probe socket while a probe is out, else -1 */
    struct event *ev;                /* readable fd (the answer or the ICMP error) */
    int err;                         /* last probe: the refusal's errno, 0 when none */
};

struct dns {
    struct event_base *base;
    struct ub_ctx *ub;
    struct event *ev_ub;
    struct dns_req *reqs;
    uint64_t next_id; /* last dns_ptr() id handed out */
    /* reachability probe (see "Refused resolvers" above) */
    struct dns_fwd fwd[DNS_FWD_MAX];
    size_t nfwd;
    bool fwd_all;        /* fwd[] is every server libunbound uses: fail-fast allowed */
    size_t probing;      /* probes of the current round still out */
    int64_t probed_ms;   /* monotonic end of the last round, 0 = none yet */
    bool down;           /* last round: every forwarder refused or unreachable */
    char down_why[160];  /* "resolver 127.0.0.1@53 refused (Connection refused)" */
    struct event *ev_probe_wait;
};

/* A candidate MX host while the answer is being read. */
struct dns_cand {
    uint16_t pref;
    char name[MX_NAME_MAX + 1];
};

/* Uniform 32-bit random source for mx_order(). */
static uint32_t dns_rnd(void *rarg)
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

/* Text for a DNS rcode in reasons. */
static const char *dns_rcode_text(int rcode, char *buf, size_t buflen)
{
    switch (rcode) {
    case 1:
        return "FORMERR";
    case 2:
        return "SERVFAIL";
    case 4:
        return "NOTIMP";
    case 5:
        return "REFUSED";
    default:
        snprintf(buf, buflen, "rcode %d", rcode);
        return buf;
    }
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

/* Keeps the smallest TTL of every answer used. */
static void dns_ttl_seen(struct dns_req *req, int ttl)
{
    uint32_t t = ttl < 0 ? 0 : (uint32_t)ttl;
    if (t < req->res->ttl)
        req->res->ttl = t;
}

/* Ends a request with status and reason; the callback runs from the loop (ev_done). */
__attribute__((format(printf, 3, 4))) static void
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
static void dns_req_free(struct dns_req *req)
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

/* Hands a finished PTR request's answer over: the confirmed name or NULL. */
static void dns_ptr_done(struct dns_req *req)
{
    char name[MX_NAME_MAX + 1];
    const struct mx_result *res = req->res;
    bool ok = res->status == DNS_OK && req->ptr_match < res->nhosts;
    if (ok)
        snprintf(name, sizeof name, "%s", res->hosts[req->ptr_match].name);
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
static void dns_q_cancel(struct dns *d, struct dns_q *q)
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

static void dns_on_answer(void *arg, int err, struct ub_result *r);

/* Starts one query for name; 0, or -1 (logged) when libunbound refuses it. */
static int dns_q_start(struct dns_req *req, struct dns_q *q, const char *name)
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

/* Copies the A or AAAA rdata of r into q->addrs (exact lengths only, capped). */
static void dns_addr_collect(struct dns_q *q, const struct ub_result *r)
{
    size_t want = q->type == DNS_T_A ? 4 : 16, n = 0;
    for (size_t i = 0; r->data && r->data[i]; i++)
        if (r->len[i] >= 0 && (size_t)r->len[i] == want)
            n++;
    if (n > DNS_ADDR_MAX)
        n = DNS_ADDR_MAX;
    if (n == 0)
        return;
    q->addrs = xcalloc(n, sizeof *q->addrs);
    for (size_t i = 0; r->data[i] && q->naddrs < n; i++) {
        if (r->len[i] < 0 || (size_t)r->len[i] != want)
            continue;
        struct sockaddr_storage *ss = &q->addrs[q->naddrs++];
        if (want == 4) {
            struct sockaddr_in *sin = (struct sockaddr_in *)ss;
            sin->sin_family = AF_INET;
            memcpy(&sin->sin_addr, r->data[i], 4);
        } else {
            struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
            sin6->sin6_family = AF_INET6;
            memcpy(&sin6->sin6_addr, r->data[i], 16);
        }
    }
}

/* Merges the A then AAAA answers of every host (at most DNS_ADDR_MAX each); returns how
 * many hosts have at least one address. */
static size_t dns_addr_merge(struct dns_req *req)
{
    size_t with = 0;
    for (size_t i = 0; i < req->res->nhosts; i++) {
        struct mx_host *h = &req->res->hosts[i];
        struct dns_q *a = &req->aq[2 * i], *aaaa = &req->aq[2 * i + 1];
        size_t n = a->naddrs + aaaa->naddrs;
        if (n > DNS_ADDR_MAX)
            n = DNS_ADDR_MAX;
        if (n == 0)
            continue;
        h->addrs = xcalloc(n, sizeof *h->addrs);
        for (size_t k = 0; k < a->naddrs && h->naddrs < n; k++)
            h->addrs[h->naddrs++] = a->addrs[k];
        for (size_t k = 0; k < aaaa->naddrs && h->naddrs < n; k++)
            h->addrs[h->naddrs++] = aaaa->addrs[k];
        with++;
    }
    return with;
}

/* True when the stored address a is the address of sa (family and bytes; no port). */
static bool dns_addr_same(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return false;
    if (a->ss_family == AF_INET)
        return memcmp(&((const struct sockaddr_in *)a)->sin_addr,
                      &((const struct sockaddr_in *)b)->sin_addr, 4) == 0;
    return a->ss_family == AF_INET6 &&
           memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                  &((const struct sockaddr_in6 *)b)->sin6_addr, 16) == 0;
}

/* PTR request, all forward answers in: the first name (in name order) whose addresses
 * include the client's confirms it. */
static void dns_ptr_confirm(struct dns_req *req)
{
    struct mx_result *res = req->res;
    dns_addr_merge(req);
    for (size_t i = 0; i < res->nhosts; i++) {
        for (size_t k = 0; k < res->hosts[i].naddrs; k++) {
            if (dns_addr_same(&res->hosts[i].addrs[k], &req->ptr_addr)) {
                req->ptr_match = i;
                dns_finish(req, DNS_OK, "%s", "");
                return;
            }
        }
    }
    dns_finish(req, DNS_NOMX, "no PTR name of %s resolves back to it%s", req->name,
               req->nsoft ? " (lookup failed)" : "");
}

/* All address queries are in: orders the hosts and decides the status. */
static void dns_addr_finish(struct dns_req *req)
{
    struct mx_result *res = req->res;
    if (req->ptr) {
        dns_ptr_confirm(req);
    } else if (dns_addr_merge(req) > 0) {
        mx_order(res->hosts, res->nhosts, dns_rnd, NULL);
        dns_finish(req, DNS_OK, "%s", "");
    } else if (req->host_only && req->nnx == 2) {
        dns_finish(req, DNS_NXDOMAIN, "host %s does not exist", req->name);
    } else if (req->host_only) {
        dns_finish(req, DNS_TEMPFAIL, "no address for host %s%s", req->name,
                   req->nsoft ? " (lookup failed)" : "");
    } else if (req->implicit && req->nsoft == 0) {
        dns_finish(req, DNS_NOMX, "no MX and no address records for %s", req->name);
    } else {
        dns_finish(req, DNS_TEMPFAIL, "no address for any MX host");
    }
}

/* Starts A and AAAA for every host of req->res (a PTR request: only its address family). */
static void dns_addr_start(struct dns_req *req)
{
    struct mx_result *res = req->res;
    int only = !req->ptr ? 0 : req->ptr_addr.ss_family == AF_INET ? DNS_T_A : DNS_T_AAAA;
    req->naq = res->nhosts * 2;
    req->aq = xcalloc(req->naq, sizeof *req->aq);
    for (size_t i = 0; i < req->naq; i++) {
        struct dns_q *q = &req->aq[i];
        q->req = req;
        q->host = i / 2;
        q->type = i % 2 ? DNS_T_AAAA : DNS_T_A;
        if (only && q->type != only)
            continue;
        if (dns_q_start(req, q, res->hosts[q->host].name) < 0)
            req->nsoft++;
    }
    if (req->pending == 0)
        dns_addr_finish(req);
}

/* One A or AAAA answer. */
static void dns_addr_on_answer(struct dns_req *req, struct dns_q *q, int err, struct ub_result *r)
{
    if (err || r->bogus) {
        req->nsoft++;
    } else if (r->rcode == DNS_RCODE_NXDOMAIN) {
        req->nnx++;
        dns_ttl_seen(req, r->ttl);
    } else if (r->rcode != 0) {
        req->nsoft++;
    } else {
        dns_ttl_seen(req, r->ttl);
        if (r->havedata)
            dns_addr_collect(q, r);
    }
    if (req->pending == 0)
        dns_addr_finish(req);
}

/* Adds a candidate host, keeping the lowest preference of a name seen twice and, when
 * full, the DNS_MX_MAX lowest preferences. */
static void dns_cand_add(struct dns_cand *c, size_t *n, uint16_t pref, const char *name)
{
    for (size_t i = 0; i < *n; i++) {
        if (strcmp(c[i].name, name) == 0) {
            if (pref < c[i].pref)
                c[i].pref = pref;
            return;
        }
    }
    size_t slot = *n;
    if (*n == DNS_MX_MAX) {
        slot = 0;
        for (size_t i = 1; i < *n; i++)
            if (c[i].pref > c[slot].pref)
                slot = i;
        if (pref >= c[slot].pref)
            return;
    } else {
        (*n)++;
    }
    c[slot].pref = pref;
    snprintf(c[slot].name, sizeof c[slot].name, "%s", name);
}

/* Builds the host list from the MX rdata of r, or ends the request (null MX, garbage). */
static void dns_mx_collect(struct dns_req *req, const struct ub_result *r)
{
    struct dns_cand cand[DNS_MX_MAX];
    size_t n = 0, nrec = 0, nbad = 0, nroot = 0;
    uint16_t rootpref = 1;
    for (size_t i = 0; r->data[i]; i++) {
        uint16_t pref;
        char name[MX_NAME_MAX + 1];
        nrec++;
        if (r->len[i] < 0 || mx_rdata_parse((const uint8_t *)r->data[i], (size_t)r->len[i], &pref,
                                            name, sizeof name) < 0) {
            nbad++;
        } else if (strcmp(name, ".") == 0) {
            nroot++;
            rootpref = pref;
        } else {
            dns_cand_add(cand, &n, pref, name);
        }
    }
    if ((nrec == 1 && nroot == 1 && rootpref == 0) || (n == 0 && nbad == 0)) {
        dns_finish(req, DNS_NULLMX, "domain %s accepts no mail (null MX)", req->name);
        return;
    }
    if (n == 0) {
        dns_finish(req, DNS_TEMPFAIL, "no usable MX record for %s (%zu malformed)", req->name,
                   nbad);
        return;
    }
    struct mx_result *res = req->res;
    res->hosts = xcalloc(n, sizeof *res->hosts);
    res->nhosts = n;
    for (size_t i = 0; i < n; i++) {
        res->hosts[i].name = xstrdup(cand[i].name);
        res->hosts[i].pref = cand[i].pref;
    }
    dns_addr_start(req);
}

/* NODATA with fallback_a: the domain itself is the one host, preference 0. */
static void dns_mx_implicit(struct dns_req *req)
{
    req->implicit = true;
    req->res->hosts = xcalloc(1, sizeof *req->res->hosts);
    req->res->nhosts = 1;
    req->res->hosts[0].name = xstrdup(req->name);
    dns_addr_start(req);
}

/* The MX answer: classifies it, or moves on to the address queries. */
static void dns_mx_on_answer(struct dns_req *req, int err, struct ub_result *r)
{
    char buf[32];
    if (!err)
        dns_ttl_seen(req, r->ttl);
    if (err) {
        dns_finish(req, DNS_TEMPFAIL, "MX lookup for %s failed: %s", req->name, ub_strerror(err));
    } else if (r->bogus) {
        dns_finish(req, DNS_TEMPFAIL, "MX lookup for %s: DNSSEC bogus", req->name);
    } else if (r->rcode == DNS_RCODE_NXDOMAIN) {
        dns_finish(req, DNS_NXDOMAIN, "domain %s does not exist", req->name);
    } else if (r->rcode != 0) {
        dns_finish(req, DNS_TEMPFAIL, "MX lookup for %s: %s", req->name,
                   dns_rcode_text(r->rcode, buf, sizeof buf));
    } else if (r->havedata && r->data && r->data[0]) {
        dns_mx_collect(req, r);
    } else if (!req->fallback_a) {
        dns_finish(req, DNS_NOMX, "no MX records for %s", req->name);
    } else {
        dns_mx_implicit(req);
    }
}

/* Adds a PTR name to the sorted list of the DNS_PTR_MAX smallest names (no duplicates). */
static void dns_ptr_cand_add(struct dns_cand *c, size_t *n, const char *name)
{
    size_t at = 0;
    while (at < *n && strcmp(c[at].name, name) < 0)
        at++;
    if ((at < *n && strcmp(c[at].name, name) == 0) || at == DNS_PTR_MAX)
        return;
    size_t keep = *n < DNS_PTR_MAX ? *n : DNS_PTR_MAX - 1;
    memmove(&c[at + 1], &c[at], (keep - at) * sizeof *c);
    snprintf(c[at].name, sizeof c[at].name, "%s", name);
    c[at].pref = 0;
    if (*n < DNS_PTR_MAX)
        (*n)++;
}

/* Parses one PTR rdata (an uncompressed wire name) into name; 0, or -1 if not a host name. */
static int dns_ptr_rdata(const char *rd, int len, char *name, size_t namelen)
{
    uint8_t buf[2 + 256];
    uint16_t pref;
    if (len < 1 || (size_t)len > sizeof buf - 2)
        return -1;
    buf[0] = buf[1] = 0; /* an MX rdata with preference 0 has the same name syntax */
    memcpy(buf + 2, rd, (size_t)len);
    if (mx_rdata_parse(buf, (size_t)len + 2, &pref, name, namelen) < 0 || strcmp(name, ".") == 0)
        return -1;
    return 0;
}

/* The PTR answer: keeps the usable names, then looks up their addresses. */
static void dns_ptr_on_answer(struct dns_req *req, int err, struct ub_result *r)
{
    struct dns_cand cand[DNS_PTR_MAX];
    size_t n = 0;
    if (err || r->bogus || r->rcode != 0 || !r->havedata || !r->data) {
        dns_finish(req, err || r->bogus || (r->rcode != 0 && r->rcode != DNS_RCODE_NXDOMAIN)
                            ? DNS_TEMPFAIL : DNS_NXDOMAIN,
                   "no PTR for %s", req->name);
        return;
    }
    for (size_t i = 0; r->data[i]; i++) {
        char name[MX_NAME_MAX + 1];
        if (dns_ptr_rdata(r->data[i], r->len[i], name, sizeof name) == 0)
            dns_ptr_cand_add(cand, &n, name);
    }
    if (n == 0) {
        dns_finish(req, DNS_NXDOMAIN, "no usable PTR name for %s", req->name);
        return;
    }
    struct mx_result *res = req->res;
    res->hosts = xcalloc(n, sizeof *res->hosts);
    res->nhosts = n;
    for (size_t i = 0; i < n; i++)
        res->hosts[i].name = xstrdup(cand[i].name);
    dns_addr_start(req);
}

/* libunbound callback (from ub_process() on the loop): routes the answer to its stage. */
static void dns_on_answer(void *arg, int err, struct ub_result *r)
{
    struct dns_q *q = arg;
    struct dns_req *req = q->req;
    q->active = false;
    req->pending--;
    if (!err && !r)
        err = UB_NOMEM;
    if (!req->finished) {
        if (q == &req->mxq && req->ptr)
            dns_ptr_on_answer(req, err, r);
        else if (q == &req->mxq)
            dns_mx_on_answer(req, err, r);
        else
            dns_addr_on_answer(req, q, err, r);
    }
    if (r)
        ub_resolve_free(r);
}

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
static bool dns_resolver_down(struct dns *d)
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
    req->id = ++d->next_id;
    req->mxq.type = DNS_T_PTR;
    if (dns_ptr_name(sa, &req->ptr_addr, req->name, sizeof req->name) < 0) {
        snprintf(req->name, sizeof req->name, "(address family %d)", sa ? sa->sa_family : -1);
        dns_finish(req, DNS_TEMPFAIL, "no reverse lookup for %s", req->name);
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
