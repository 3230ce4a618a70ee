/* dns internal: the structures and the contract between the files of src/dns/ (only they
 * include this header).
 *
 * dns.c       a request's life cycle and the public lookups (dns_mx, dns_host, dns_ptr,
 *             dns_cancel); dns_finish() ends a request, dns_q_start()/dns_q_cancel() drive
 *             one libunbound query
 * answer.c    dns_on_answer(), the callback of every query, and the stages it leads to;
 *             dns_addr_start() asks the addresses of a request's hosts
 * resolver.c  dns_create/dns_free, the forwarders, and dns_resolver_down() (the probe)
 *
 * Everything runs on the loop thread: libunbound's callbacks come from ub_process(), which
 * resolver.c calls when ub_fd() is readable. */
#ifndef SLUICE_DNS_INTERNAL_H
#define SLUICE_DNS_INTERNAL_H
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <event2/event.h>
#include <unbound.h>

#include "dns/dns.h"
#include "dns/mx.h"
#include "dns/ptrcache.h"

#define DNS_T_A 1
#define DNS_T_PTR 12
#define DNS_T_MX 15
#define DNS_T_AAAA 28
#define DNS_C_IN 1
#define DNS_RCODE_NXDOMAIN 3

/* Forwarders the refused-resolver probe follows (resolver.c). */
#define DNS_FWD_MAX 16

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
    bool ptr_hit;     /* answered from d->ptrc: ptr_cached ("" = no confirmed name) */
    char ptr_cached[PTRCACHE_NAME_MAX + 1];
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
    struct ptrcache ptrc; /* dns_ptr answers, kept up to a minute (dns/ptrcache.h) */
    struct dns_stats st;
};

/* Uniform 32-bit random source for mx_order(). */
uint32_t dns_rnd(void *rarg);

/* Ends a request with status and reason; the callback runs from the loop (ev_done). */
__attribute__((format(printf, 3, 4))) void
dns_finish(struct dns_req *req, enum dns_status status, const char *fmt, ...);

/* Frees a request, its query slots and (if still owned) its result. */
void dns_req_free(struct dns_req *req);

/* Cancels one query if it is still in flight. */
void dns_q_cancel(struct dns *d, struct dns_q *q);

/* Starts one query for name; 0, or -1 (logged) when libunbound refuses it. */
int dns_q_start(struct dns_req *req, struct dns_q *q, const char *name);

/* Starts A and AAAA for every host of req->res (a PTR request: only its address family). */
void dns_addr_start(struct dns_req *req);

/* libunbound callback (from ub_process() on the loop): routes the answer to its stage. */
void dns_on_answer(void *arg, int err, struct ub_result *r);

/* Before a request's first query: true when it must fail at once (the last round, still
 * fresh, found every forwarder refusing; why in d->down_why). A stale round is renewed. */
bool dns_resolver_down(struct dns *d);


#endif
