/* dns answers: what libunbound hands back, read as hostile input, and the stage each answer
 * leads to (see dns/internal.h for the request structures, dns.c for their life cycle).
 *
 * dns_on_answer(q, err, r)  the libunbound callback (from ub_process() on the loop) of every
 *     query slot: routes the answer to the MX, PTR or address stage and frees r.
 * MX stage: MX rdata through mx_rdata_parse(), the DNS_MX_MAX lowest preferences kept (a
 *     name seen twice once); a null MX, NXDOMAIN, an error rcode or only malformed rdata
 *     end the request; no MX record falls back to the domain itself when the request asked
 *     for it (implicit MX, fallback_a).
 * PTR stage: the DNS_PTR_MAX smallest names kept, then their addresses of the client's family.
 * Address stage: dns_addr_start(req) asks A and AAAA of every host at once; each answer's
 *     rdata must have the exact length, counts are capped (DNS_ADDR_MAX); when the last one
 *     is in, the addresses are merged per host and the request finishes (a PTR request
 *     picks the first name whose addresses include the client's). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unbound.h>

#include "core/log.h"
#include "core/xalloc.h"
#include "dns/internal.h"
#include "dns/mx.h"

/* A candidate MX host while the answer is being read. */
struct dns_cand {
    uint16_t pref;
    char name[MX_NAME_MAX + 1];
};

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

/* Keeps the smallest TTL of every answer used. */
static void dns_ttl_seen(struct dns_req *req, int ttl)
{
    uint32_t t = ttl < 0 ? 0 : (uint32_t)ttl;
    if (t < req->res->ttl)
        req->res->ttl = t;
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
void dns_addr_start(struct dns_req *req)
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
void dns_on_answer(void *arg, int err, struct ub_result *r)
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
