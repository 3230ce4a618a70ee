/* policy: the inbound policy engine (contract in policy.h): configuration, the HELO table,
 * the map stages, the DNSBL lookups and their cache, the policy server sequence.
 *
 * DNSBL cache: one entry per query name ("4.3.2.1.bl.example"), shared by every session,
 * kept for the answer's TTL (at least POLICY_TTL_MIN, at most POLICY_TTL_MAX); a pending
 * entry lists the sessions waiting for it. A session that ends removes itself from the
 * waiters; an entry is never freed while its lookup is pending (the DNS callback holds it)
 * except by policy_free(), which must come after dns_free() (no callback after that).
 * Past POLICY_CACHE_MAX entries the expired ones are dropped. */
#include "policy/policy.h"

#include <fnmatch.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <event2/event.h>

#include "conf/conf.h"
#include "core/dict.h"
#include "core/log.h"
#include "core/qid.h"
#include "core/xalloc.h"
#include "dns/dns.h"
#include "policy/delegate.h"
#include "policy/policydb.h"
#include "proto/addr.h"
#include "proto/cidr.h"
#include "proto/dnsbl.h"
#include "proto/helopat.h"
#include "proto/policyd.h"

#define POLICY_TTL_MIN 10
#define POLICY_TTL_MAX 3600
#define POLICY_CACHE_MAX 10000
#define POLICY_REQ_MAX 8192

struct rbl_wait {
    struct policy_client *pc;
    size_t list;
    struct rbl_wait *next;
};

enum rbl_state { RBL_UNSET, RBL_PENDING, RBL_LISTED, RBL_CLEAN };

/* The names an RHSBL list is asked about (slots of policy_client.rbl after the DNSBLs). */
enum rhs_src { RHS_SENDER, RHS_CLIENT, RHS_HELO, RHS_NSRC };

struct rbl_entry {
    struct policy_engine *p;
    const struct dnsbl_list *l; /* the list asked */
    enum rbl_state state;
    int64_t expires; /* monotonic ms */
    struct rbl_wait *waiters;
    char qname[256];
};

struct policy_engine {
    struct event_base *base;
    const struct conf *c;
    struct dns *dns;
    struct policydb *db;
    char map[1024];
    struct helopat *helo;
    size_t nhelo;
    struct dnsbl_list *lists;
    size_t nlists;
    struct dnsbl_list *rhs; /* RHSBL lists */
    size_t nrhs;
    struct policyd_service *svcs;
    size_t nsvcs;
    struct policyd_service *dsvcs; /* asked at the end of DATA */
    size_t ndsvcs;
    struct policyd_reply deflt;
    struct dict *cache;
};

enum pc_step { PC_IDLE, PC_DNSBL, PC_SERVICE, PC_READY };

struct policy_client {
    struct policy_engine *p;
    bool trusted;
    char ip[64];
    enum rbl_state *rbl; /* per DNSBL list, then RHS_NSRC per RHSBL list */
    char rhs_name[RHS_NSRC][256]; /* the names the RHSBL slots were started for */
    size_t rbl_pending;
    int64_t rbl_deadline; /* monotonic ms */
    struct event *timer;  /* the DNSBL deadline while waiting at RCPT */
    enum pc_step step;
    const struct policyd_service *set; /* the services of this request */
    size_t nset;
    const char *what; /* "Recipient address" or "End-of-data" (reply texts) */
    size_t svc;       /* the service being asked */
    struct delegate_req *req;
    char *request;      /* the request text for the services */
    char rcpt[320];     /* the recipient being asked about (reply texts) */
    char sender[320];   /* the sender of the request (reply texts) */
    char prepend[1024]; /* PREPEND lines of this RCPT so far */
    bool hold;          /* HOLD answered for this RCPT */
    char redirect[320]; /* REDIRECT's address for this RCPT, or "" */
    char action_rule[720];
    bool defer_if_permit, defer_if_reject;
    struct policy_verdict pending; /* DEFER_IF_PERMIT's refusal */
    struct policy_verdict out;
    policy_done_fn done;
    void *arg;
};

/* ---- configuration ---- */

const char *policy_map_path(const struct conf *c, char *buf, size_t len)
{
    snprintf(buf, len, "%s/policy.lmdb", c->spool);
    return buf;
}

int policy_build(const struct conf *c, char *err, size_t errlen)
{
    char map[1024];
    if (c->smtpd.npolicydb == 0) {
        snprintf(err, errlen, "smtpd.policydb is empty: nothing to build");
        return -1;
    }
    return policydb_build(c->smtpd.policydb, c->smtpd.npolicydb,
                          policy_map_path(c, map, sizeof map), err, errlen);
}

/* True when a is older than b (modification times, to the nanosecond). */
static bool policy_older(const struct stat *a, const struct stat *b)
{
    return a->st_mtim.tv_sec < b->st_mtim.tv_sec ||
           (a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec < b->st_mtim.tv_nsec);
}

/* At daemon start: compiles the map when it is missing or older than one of its sources
 * (as `sluice policy-build` would), logged. 0, or -1 + err (a bad source line: FILE:LINE). */
static int policy_build_stale(const struct conf *c, const char *map, char *err, size_t errlen)
{
    struct stat ms, ss;
    char why[1100] = "";
    if (stat(map, &ms) < 0) {
        snprintf(why, sizeof why, "is missing");
    } else {
        for (size_t i = 0; i < c->smtpd.npolicydb && !why[0]; i++)
            if (stat(c->smtpd.policydb[i], &ss) == 0 && policy_older(&ms, &ss))
                snprintf(why, sizeof why, "is older than %.1000s", c->smtpd.policydb[i]);
    }
    if (!why[0])
        return 0;
    log_info("policy: map %s %s: compiling it from smtpd.policydb", map, why);
    if (policy_build(c, err, errlen) < 0)
        return -1;
    log_info("policy: map %s compiled", map);
    return 0;
}

/* Parses the configured lists (conf checked them; a failure here is a broken invariant). */
static void policy_parse_conf(struct policy_engine *p)
{
    const struct conf *c = p->c;
    const char *why;
    p->helo = xcalloc(c->smtpd.nhelo_patterns + 1, sizeof *p->helo);
    p->lists = xcalloc(c->smtpd.ndnsbl + 1, sizeof *p->lists);
    p->rhs = xcalloc(c->smtpd.nrhsbl + 1, sizeof *p->rhs);
    p->svcs = xcalloc(c->smtpd.npolicy_services + 1, sizeof *p->svcs);
    p->dsvcs = xcalloc(c->smtpd.npolicy_services_data + 1, sizeof *p->dsvcs);
    for (size_t i = 0; i < c->smtpd.nhelo_patterns; i++, p->nhelo++)
        if (helopat_parse(c->smtpd.helo_patterns[i], strlen(c->smtpd.helo_patterns[i]), &p->helo[i],
                          &why) < 0)
            log_panic("policy: helo pattern: %s", why);
    for (size_t i = 0; i < c->smtpd.ndnsbl; i++, p->nlists++)
        if (dnsbl_parse(c->smtpd.dnsbl[i], strlen(c->smtpd.dnsbl[i]), &p->lists[i], &why) < 0)
            log_panic("policy: dnsbl: %s", why);
    for (size_t i = 0; i < c->smtpd.nrhsbl; i++, p->nrhs++)
        if (dnsbl_parse(c->smtpd.rhsbl[i], strlen(c->smtpd.rhsbl[i]), &p->rhs[i], &why) < 0)
            log_panic("policy: rhsbl: %s", why);
    for (size_t i = 0; i < c->smtpd.npolicy_services_data; i++, p->ndsvcs++)
        if (policyd_service_parse(c->smtpd.policy_services_data[i],
                                  strlen(c->smtpd.policy_services_data[i]), &p->dsvcs[i], &why) < 0)
            log_panic("policy: policy service: %s", why);
    for (size_t i = 0; i < c->smtpd.npolicy_services; i++, p->nsvcs++)
        if (policyd_service_parse(c->smtpd.policy_services[i], strlen(c->smtpd.policy_services[i]),
                                  &p->svcs[i], &why) < 0)
            log_panic("policy: policy service: %s", why);
    const char *d = c->smtpd.policy_default_action ? c->smtpd.policy_default_action : "DUNNO";
    if (policyd_action_parse(d, strlen(d), &p->deflt) < 0)
        log_panic("policy: policy_default_action");
}

struct policy_engine *policy_create(struct event_base *base, const struct conf *c, struct dns *dns,
                             char *err, size_t errlen)
{
    struct policy_engine *p = xcalloc(1, sizeof *p);
    p->base = base;
    p->c = c;
    p->dns = dns;
    p->cache = dict_create();
    policy_parse_conf(p);
    policy_map_path(c, p->map, sizeof p->map);
    if (c->smtpd.npolicydb > 0 && (policy_build_stale(c, p->map, err, errlen) < 0 ||
                                   !(p->db = policydb_open(p->map, err, errlen)))) {
        policy_free(p);
        return NULL;
    }
    if ((p->nlists > 0 || p->nrhs > 0) && !dns) {
        snprintf(err, errlen, "smtpd.dnsbl and smtpd.rhsbl need the resolver");
        policy_free(p);
        return NULL;
    }
    return p;
}

int policy_reload(struct policy_engine *p)
{
    char err[512];
    if (p->c->smtpd.npolicydb == 0)
        return 0;
    struct policydb *db = policydb_open(p->map, err, sizeof err);
    if (!db) {
        log_warn("policy: reload failed, the current map stays: %s", err);
        return -1;
    }
    policydb_close(p->db);
    p->db = db;
    log_info("policy: map %s reloaded", p->map);
    return 0;
}

/* Frees one cache entry and its waiters (policy_free: no DNS callback can come any more). */
static void policy_entry_free(void *v)
{
    struct rbl_entry *e = v;
    while (e->waiters) {
        struct rbl_wait *w = e->waiters;
        e->waiters = w->next;
        free(w);
    }
    free(e);
}

void policy_free(struct policy_engine *p)
{
    if (!p)
        return;
    dict_free(p->cache, policy_entry_free);
    policydb_close(p->db);
    free(p->helo);
    free(p->lists);
    free(p->rhs);
    free(p->svcs);
    free(p->dsvcs);
    free(p);
}

bool policy_wants_rdns(const struct policy_engine *p)
{
    return p->db || p->nsvcs > 0 || p->nrhs > 0 || p->ndsvcs > 0;
}

/* ---- HELO/EHLO table ---- */

/* Fills a refusal. */
static void policy_refuse(struct policy_verdict *v, unsigned code, const char *status,
                          const char *rule)
{
    v->kind = POLICY_REFUSE;
    v->code = code;
    snprintf(v->status, sizeof v->status, "%s", status);
    snprintf(v->rule, sizeof v->rule, "%s", rule);
}

int policy_helo(struct policy_engine *p, const char *helo, bool *strict, struct policy_verdict *v)
{
    memset(v, 0, sizeof *v);
    for (size_t i = 0; i < p->nhelo; i++) {
        const struct helopat *h = &p->helo[i];
        if (fnmatch(h->glob, helo, FNM_CASEFOLD) != 0)
            continue;
        char rule[300];
        double load[1] = {0};
        snprintf(rule, sizeof rule, "helo_patterns %s", h->glob);
        *strict = h->strict;
        if (h->refuse) {
            policy_refuse(v, 550, "5.7.1", rule);
            snprintf(v->text, sizeof v->text, "<%s>: Helo command rejected: %s", helo, h->text);
        } else if (getloadavg(load, 1) == 1 && load[0] > (double)h->maxload) {
            policy_refuse(v, 421, "4.3.2", rule);
            snprintf(v->text, sizeof v->text,
                     "Service temporarily unavailable: load average "
                     "%.1f over %u, try again later",
                     load[0], h->maxload);
        }
        return 1;
    }
    return 0;
}

/* ---- the map stages ---- */

/* Turns a map record of one stage into a verdict; true when it decides. */
static bool policy_record(const struct policydb_hit *h, const char *what, const char *who,
                          struct policy_verdict *v)
{
    char rule[300];
    const char *attr = h->v.verdict == POLICY_V_REJECT     ? "reject"
                       : h->v.verdict == POLICY_V_TEMPFAIL ? "tempfail"
                       : h->v.verdict == POLICY_V_ACCEPT   ? "accept"
                                                           : "bulk_mail";
    if (h->v.verdict == POLICY_V_NONE && !(h->v.flags & POLICY_A_BULK_MAIL))
        return false;
    snprintf(rule, sizeof rule, "policydb %.250s %s", h->key, attr);
    if (h->v.verdict == POLICY_V_ACCEPT) {
        v->kind = POLICY_ACCEPT;
        snprintf(v->rule, sizeof v->rule, "%s", rule);
        return true;
    }
    bool temp = h->v.verdict == POLICY_V_TEMPFAIL;
    policy_refuse(v, temp ? 450 : 554, temp ? "4.7.1" : "5.7.1", rule);
    const char *text = h->v.text[0]                    ? h->v.text
                       : h->v.verdict == POLICY_V_NONE ? "bulk mail is not accepted"
                                                       : "Access denied";
    snprintf(v->text, sizeof v->text, "<%s>: %s rejected: %s", who, what, text);
    return true;
}

void policy_map_rcpt(struct policy_client *pc, const struct sockaddr *sa,
                     const struct policy_req *r, struct policy_verdict *v)
{
    struct policydb_hit h;
    struct policydb *db = pc->p->db;
    char client[400];
    memset(v, 0, sizeof *v);
    if (!db)
        return;
    snprintf(client, sizeof client, "%s[%s]", r->name, r->ip);
    bool decided = false;
    if (policydb_client(db, sa, r->name, &h) == 1) {
        v->relay |= (h.v.flags & POLICY_A_FULL_RIGHTS) != 0;
        decided = policy_record(&h, "Client host", client, v);
    }
    if (!decided && r->helo[0] && policydb_name(db, r->helo, &h) == 1)
        decided = policy_record(&h, "Helo command", r->helo, v);
    if (!decided && r->sender[0] && policydb_address(db, r->sender, &h) == 1)
        decided = policy_record(&h, "Sender address", r->sender, v);
    if (policydb_address(db, r->rcpt, &h) == 1) {
        v->relay |= (h.v.flags & (POLICY_A_RELAY_TARGET | POLICY_A_LOCAL_NAMES)) != 0;
        if (!decided)
            policy_record(&h, "Recipient address", r->rcpt, v);
    }
}

/* ---- DNSBL ---- */

static void policy_rbl_step(struct policy_client *pc);

/* One list answered for a waiting session. */
static void policy_rbl_answer(struct policy_client *pc, size_t list, enum rbl_state st)
{
    if (pc->rbl[list] != RBL_PENDING)
        return;
    pc->rbl[list] = st;
    pc->rbl_pending--;
    if (pc->rbl_pending == 0 && pc->step == PC_DNSBL)
        policy_rbl_step(pc);
}

/* Classifies the answer of list l: garbage and failures count as clean. */
static enum rbl_state policy_rbl_classify(const struct dnsbl_list *l, struct mx_result *res,
                                          const char *qname)
{
    if (res->status == DNS_NXDOMAIN)
        return RBL_CLEAN;
    if (res->status != DNS_OK) {
        log_info("dnsbl: %s: %s (counted as not listed)", qname, res->why);
        return RBL_CLEAN;
    }
    for (size_t i = 0; i < res->nhosts; i++)
        for (size_t k = 0; k < res->hosts[i].naddrs; k++) {
            const struct sockaddr_storage *ss = &res->hosts[i].addrs[k];
            if (ss->ss_family != AF_INET)
                continue;
            const uint8_t *a = (const uint8_t *)&((const struct sockaddr_in *)ss)->sin_addr;
            enum dnsbl_answer m = dnsbl_match(l, a);
            if (m == DNSBL_LISTED)
                return RBL_LISTED;
            if (m == DNSBL_GARBAGE)
                log_warn("dnsbl: %s answered %u.%u.%u.%u, not a block list code: ignored", qname,
                         a[0], a[1], a[2], a[3]);
        }
    return RBL_CLEAN;
}

/* The lookup of a cache entry ended: store, tell the waiters. */
static void policy_on_rbl(void *arg, struct mx_result *res)
{
    struct rbl_entry *e = arg;
    e->state = policy_rbl_classify(e->l, res, e->qname);
    uint32_t ttl = res->ttl < POLICY_TTL_MIN   ? POLICY_TTL_MIN
                   : res->ttl > POLICY_TTL_MAX ? POLICY_TTL_MAX
                                               : res->ttl;
    e->expires = clock_mono_ms() + (int64_t)ttl * 1000;
    mx_result_free(res);
    while (e->waiters) {
        struct rbl_wait *w = e->waiters;
        e->waiters = w->next;
        policy_rbl_answer(w->pc, w->list, e->state);
        free(w);
    }
}

struct policy_old {
    struct rbl_entry **v;
    size_t n, cap;
};

/* Collects one expired entry. */
static void policy_cache_prune_one(void *arg, const char *key, void *value)
{
    struct policy_old *old = arg;
    struct rbl_entry *e = value;
    (void)key;
    if (e->state == RBL_PENDING || e->expires >= clock_mono_ms())
        return;
    xgrow(&old->v, &old->cap, old->n, sizeof *old->v);
    old->v[old->n++] = e;
}

/* Removes expired entries (past POLICY_CACHE_MAX). */
static void policy_cache_prune(struct policy_engine *p)
{
    struct policy_old old = {NULL, 0, 0};
    if (dict_count(p->cache) < POLICY_CACHE_MAX)
        return;
    dict_foreach(p->cache, policy_cache_prune_one, &old);
    for (size_t i = 0; i < old.n; i++) {
        dict_remove(p->cache, old.v[i]->qname);
        free(old.v[i]);
    }
    free(old.v);
}

static void policy_rbl_lookup(struct policy_client *pc, size_t i, const struct dnsbl_list *l,
                              const char *q);

/* Starts (or joins, or reads from the cache) the lookup of list i for pc. */
static void policy_rbl_start(struct policy_client *pc, size_t i, int fam, const uint8_t *a)
{
    char q[256];
    pc->rbl[i] = RBL_CLEAN;
    if (dnsbl_query_name(&pc->p->lists[i], fam, a, q, sizeof q) == 0)
        policy_rbl_lookup(pc, i, &pc->p->lists[i], q);
}

/* Slot i of pc waits for the query name q of list l (from the cache, or joins or starts
 * the lookup). */
static void policy_rbl_lookup(struct policy_client *pc, size_t i, const struct dnsbl_list *l,
                              const char *q)
{
    struct policy_engine *p = pc->p;
    struct rbl_entry *e = dict_find(p->cache, q);
    if (e && e->state != RBL_PENDING && e->expires < clock_mono_ms()) {
        dict_remove(p->cache, q);
        free(e);
        e = NULL;
    }
    if (e && e->state != RBL_PENDING) {
        pc->rbl[i] = e->state;
        return;
    }
    pc->rbl[i] = RBL_PENDING;
    pc->rbl_pending++;
    struct rbl_wait *w = xcalloc(1, sizeof *w);
    w->pc = pc;
    w->list = i;
    if (!e) {
        policy_cache_prune(p);
        e = xcalloc(1, sizeof *e);
        e->p = p;
        e->l = l;
        e->state = RBL_PENDING;
        snprintf(e->qname, sizeof e->qname, "%s", q);
        dict_put(p->cache, q, e);
        dns_host(p->dns, q, policy_on_rbl, e);
    }
    w->next = e->waiters;
    e->waiters = w;
}

/* Starts every list for the client's address. */
static void policy_rbl_begin(struct policy_client *pc, const struct sockaddr *sa)
{
    const uint8_t *a;
    int fam = 4;
    if (sa->sa_family == AF_INET) {
        a = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
    } else if (sa->sa_family == AF_INET6) {
        const struct in6_addr *in6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        bool m = IN6_IS_ADDR_V4MAPPED(in6);
        a = m ? in6->s6_addr + 12 : in6->s6_addr;
        fam = m ? 4 : 6;
    } else {
        return;
    }
    pc->rbl_deadline = clock_mono_ms() + (int64_t)pc->p->c->smtpd.dnsbl_timeout;
    for (size_t i = 0; i < pc->p->nlists; i++)
        policy_rbl_start(pc, i, fam, a);
}

struct policy_unwait {
    struct policy_client *pc;
    size_t slot; /* SIZE_MAX: every slot */
};

/* Removes pc (its slot) from the waiters of pending entries. */
static void policy_rbl_unwait_one(void *arg, const char *key, void *value)
{
    struct rbl_entry *e = value;
    const struct policy_unwait *u = arg;
    (void)key;
    for (struct rbl_wait **w = &e->waiters; *w;) {
        if ((*w)->pc == u->pc && (u->slot == SIZE_MAX || (*w)->list == u->slot)) {
            struct rbl_wait *x = *w;
            *w = x->next;
            free(x);
        } else {
            w = &(*w)->next;
        }
    }
}

/* Starts RHSBL slot (list j, source k) for name, unless it runs or ran for that name; a
 * new name drops the old lookup's wait. Names that are not host names are not asked. */
static void policy_rhs_start(struct policy_client *pc, size_t j, enum rhs_src k, const char *name)
{
    size_t slot = pc->p->nlists + j * RHS_NSRC + k;
    char q[256];
    if (pc->rbl[slot] != RBL_UNSET && strcmp(pc->rhs_name[k], name) == 0)
        return;
    if (pc->rbl[slot] == RBL_PENDING) {
        struct policy_unwait u = {pc, slot};
        dict_foreach(pc->p->cache, policy_rbl_unwait_one, &u);
        pc->rbl_pending--;
    }
    pc->rbl[slot] = RBL_CLEAN;
    if (dnsbl_query_domain(&pc->p->rhs[j], name, strlen(name), q, sizeof q) == 0)
        policy_rbl_lookup(pc, slot, &pc->p->rhs[j], q);
}

void policy_rhs_begin(struct policy_client *pc, const char *sender, const char *name,
                      const char *helo)
{
    const char *at = sender ? strrchr(sender, '@') : NULL;
    const char *names[RHS_NSRC] = {at ? at + 1 : "", strcmp(name, "unknown") ? name : "", helo};
    if (pc->trusted || pc->p->nrhs == 0)
        return;
    size_t before = pc->rbl_pending;
    for (size_t j = 0; j < pc->p->nrhs; j++)
        for (int k = 0; k < RHS_NSRC; k++)
            policy_rhs_start(pc, j, (enum rhs_src)k, names[k]);
    for (int k = 0; k < RHS_NSRC; k++)
        snprintf(pc->rhs_name[k], sizeof pc->rhs_name[k], "%s", names[k]);
    if (pc->rbl_pending > before || pc->rbl_deadline == 0) /* new lookups: their own time */
        pc->rbl_deadline = clock_mono_ms() + (int64_t)pc->p->c->smtpd.dnsbl_timeout;
}

/* The list and the subject of slot i, for texts ("Client host [IP]", "Sender address [S]"). */
static const struct dnsbl_list *policy_slot(const struct policy_client *pc, size_t i,
                                            const char *sender, char *subj, size_t len)
{
    static const char *const what[RHS_NSRC] = {"Sender address", "Client host", "Helo command"};
    if (i < pc->p->nlists) {
        snprintf(subj, len, "Client host [%s]", pc->ip);
        return &pc->p->lists[i];
    }
    size_t k = (i - pc->p->nlists) % RHS_NSRC;
    snprintf(subj, len, "%s [%.255s]", what[k], k == RHS_SENDER && sender ? sender : pc->rhs_name[k]);
    return &pc->p->rhs[(i - pc->p->nlists) / RHS_NSRC];
}

/* Appends ", zone" (or "zone") to names unless it is there. */
static void policy_names_add(char *names, size_t len, const char *zone)
{
    size_t o = strlen(names), z = strlen(zone);
    for (const char *f = strstr(names, zone); f; f = strstr(f + 1, zone))
        if ((f == names || f[-1] == ' ') && (f[z] == '\0' || f[z] == ','))
            return;
    snprintf(names + o, len - o, "%s%s", o ? ", " : "", zone);
}

/* The block list verdict once every list answered or the deadline passed: each listed
 * slot adds its list's weight (an RHSBL list once, however many of its names it lists). */
static void policy_rbl_verdict(struct policy_client *pc, struct policy_verdict *v)
{
    const char *sender = pc->sender;
    struct policy_engine *p = pc->p;
    char dn[256] = "", rn[256] = "", all[520] = "", subj[300] = "", s1[300];
    long score = 0;
    for (size_t i = 0; i < p->nlists + p->nrhs * RHS_NSRC; i++) {
        if (pc->rbl[i] != RBL_LISTED)
            continue;
        const struct dnsbl_list *l = policy_slot(pc, i, sender, s1, sizeof s1);
        char *names = i < p->nlists ? dn : rn;
        size_t was = strlen(names);
        policy_names_add(names, sizeof dn, l->zone);
        score += strlen(names) > was ? l->weight : 0;
        policy_names_add(all, sizeof all, l->zone);
        if (!subj[0])
            snprintf(subj, sizeof subj, "%s", s1);
    }
    memset(v, 0, sizeof *v);
    if (score < (long)p->c->smtpd.dnsbl_threshold)
        return;
    char rule[300];
    snprintf(rule, sizeof rule, "%s%s%s%s%s score %ld", dn[0] ? "dnsbl " : "", dn,
             dn[0] && rn[0] ? "; " : "", rn[0] ? "rhsbl " : "", rn, score);
    policy_refuse(v, 554, "5.7.1", rule);
    snprintf(v->text, sizeof v->text, "Service unavailable; %s blocked using %s", subj, all);
}

/* ---- policy servers ---- */

static void policy_svc_next(struct policy_client *pc);

/* Ends the asynchronous part with v (or a pass) and tells the session. */
static void policy_finish(struct policy_client *pc, const struct policy_verdict *v)
{
    if (v->kind == POLICY_PASS && pc->defer_if_permit)
        pc->out = pc->pending;
    else
        pc->out = *v;
    if (pc->out.kind != POLICY_REFUSE) {
        memcpy(pc->out.prepend, pc->prepend, sizeof pc->prepend);
        pc->out.hold = pc->hold;
        memcpy(pc->out.redirect, pc->redirect, sizeof pc->redirect);
        if (!pc->out.discard)
            memcpy(pc->out.action_rule, pc->action_rule, sizeof pc->action_rule);
    }
    pc->step = PC_READY;
    pc->done(pc->arg);
}

/* The service's name for logs and rules. */
static const char *policy_svc_name(const struct policyd_service *s, char *buf, size_t len)
{
    snprintf(buf, len, "%s:%s", s->unix_socket ? "unix" : "inet", s->target);
    return buf;
}

/* True when a REDIRECT's text is one address "local@domain" (brackets optional), written
 * to out (ADDR_MAX + 1 bytes), domain lower-cased; other actions: true. */
static bool policy_redirect_parse(const struct policyd_reply *r, char *out)
{
    struct addr_opts o = {.sloppy = true};
    size_t n = strlen(r->text);
    return r->action != POLICYD_REDIRECT ||
           (addr_parse_path(r->text, n, &o, out) == (ssize_t)n && strchr(out, '@') != NULL);
}

/* HOLD and REDIRECT go on, marking this RCPT's verdict; DISCARD ends it as an accept (as
 * Postfix: the later checks no longer matter for a message that is dropped). */
static bool policy_svc_mark(struct policy_client *pc, const struct policyd_reply *r,
                            const char *rule, struct policy_verdict *v)
{
    if (r->action == POLICYD_DISCARD) {
        v->kind = POLICY_ACCEPT;
        v->discard = true;
        snprintf(v->rule, sizeof v->rule, "%s", rule);
        snprintf(v->action_rule, sizeof v->action_rule, "%.290s%s%.400s", rule, r->text[0] ? " " : "",
                 r->text);
        return true;
    }
    if (r->action == POLICYD_HOLD)
        pc->hold = true;
    else
        policy_redirect_parse(r, pc->redirect);
    snprintf(pc->action_rule, sizeof pc->action_rule, "%.290s%s%.400s", rule, r->text[0] ? " " : "",
             r->text);
    return false;
}


/* Applies one service's action: true when it ends the sequence (v filled). */
static bool policy_svc_apply(struct policy_client *pc, const struct policyd_reply *r,
                             const char *name, struct policy_verdict *v)
{
    char rule[300];
    snprintf(rule, sizeof rule, "policy %s %s", name, policyd_action_name(r->action));
    memset(v, 0, sizeof *v);
    switch (r->action) {
    case POLICYD_OK:
        v->kind = POLICY_ACCEPT;
        snprintf(v->rule, sizeof v->rule, "%s", rule);
        return true;
    case POLICYD_REJECT:
    case POLICYD_DEFER: {
        bool soften = r->action == POLICYD_REJECT && pc->defer_if_reject;
        policy_refuse(v, soften ? 450 : r->code, soften ? "4.7.1" : r->status, rule);
        snprintf(v->text, sizeof v->text, "<%s>: %s rejected: %s", pc->rcpt, pc->what,
                 r->text[0] ? r->text : "Access denied");
        return true;
    }
    case POLICYD_DEFER_IF_PERMIT:
        if (!pc->defer_if_permit) {
            pc->defer_if_permit = true;
            policy_refuse(&pc->pending, 450, r->status, rule);
            snprintf(pc->pending.text, sizeof pc->pending.text, "<%s>: %s rejected: %s", pc->rcpt,
                     pc->what, r->text[0] ? r->text : "Service unavailable");
        }
        return false;
    case POLICYD_DEFER_IF_REJECT:
        pc->defer_if_reject = true;
        return false;
    case POLICYD_PREPEND: {
        size_t o = strlen(pc->prepend), n = strlen(r->text);
        if (o + n + 3 > sizeof pc->prepend) {
            log_warn("policy %s: PREPEND dropped: too many header bytes", name);
            return false;
        }
        memcpy(pc->prepend + o, r->text, n);
        memcpy(pc->prepend + o + n, "\r\n", 3);
        return false;
    }
    case POLICYD_HOLD:
    case POLICYD_DISCARD:
    case POLICYD_REDIRECT:
        return policy_svc_mark(pc, r, rule, v);
    case POLICYD_WARN:
    case POLICYD_INFO:
        log_info("policy %s: %s %s", name, policyd_action_name(r->action), r->text);
        return false;
    default:
        return false; /* DUNNO */
    }
}

/* A service answered (r) or failed (why). */
static void policy_on_svc(void *arg, const struct policyd_reply *r, const char *why)
{
    struct policy_client *pc = arg;
    struct policy_engine *p = pc->p;
    const struct policyd_service *s = &pc->set[pc->svc];
    const struct policyd_reply *d = s->has_default ? &s->deflt : &p->deflt;
    char name[200], addr[ADDR_MAX + 1];
    struct policy_verdict v;
    pc->req = NULL;
    policy_svc_name(s, name, sizeof name);
    if (!r) {
        log_warn("policy %s: %s; default action %s", name, why, policyd_action_name(d->action));
        r = d;
    } else if (!policy_redirect_parse(r, addr)) {
        log_warn("policy %s: REDIRECT to something that is not an address; default action %s",
                 name, policyd_action_name(d->action));
        r = d;
    }
    if (policy_svc_apply(pc, r, name, &v)) {
        policy_finish(pc, &v);
        return;
    }
    pc->svc++;
    policy_svc_next(pc);
}

/* Asks the next service, or finishes. */
static void policy_svc_next(struct policy_client *pc)
{
    struct policy_engine *p = pc->p;
    if (pc->svc >= pc->nset) {
        struct policy_verdict v = {0};
        policy_finish(pc, &v);
        return;
    }
    const struct policyd_service *s = &pc->set[pc->svc];
    uint64_t ms = s->timeout_ms ? s->timeout_ms : p->c->smtpd.policy_timeout;
    pc->req = delegate_start(p->base, s, ms, pc->request, policy_on_svc, pc);
}

/* Formats the request of r (Postfix's attributes, SMTPD_POLICY_README). */
static void policy_request(struct policy_client *pc, const struct policy_req *r)
{
    char n[24], sz[24];
    size_t o = 0, cap = POLICY_REQ_MAX;
    char *b = pc->request ? pc->request : xmalloc(cap);
    pc->request = b;
    b[0] = '\0';
    snprintf(n, sizeof n, "%u", r->nrcpt);
    snprintf(sz, sizeof sz, "%llu", (unsigned long long)r->size);
    const char *kv[][2] = {
        {"request", "smtpd_access_policy"},
        {"protocol_state", r->state ? r->state : "RCPT"},
        {"protocol_name", r->proto},
        {"helo_name", r->helo},
        {"queue_id", r->queue_id},
        {"sender", r->sender},
        {"recipient", r->rcpt},
        {"recipient_count", n},
        {"client_address", r->ip},
        {"client_name", r->name},
        {"reverse_client_name", r->name},
        {"instance", r->instance},
        {"sasl_method", ""},
        {"sasl_username", ""},
        {"sasl_sender", ""},
        {"size", sz},
        {"ccert_subject", ""},
        {"ccert_issuer", ""},
        {"ccert_fingerprint", ""},
        {"encryption_protocol", r->tls_proto},
        {"encryption_cipher", r->tls_cipher},
        {"encryption_keysize", ""},
        {"etrn_domain", ""},
        {"stress", ""},
    };
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
        if (policyd_attr(b, cap, &o, kv[i][0], kv[i][1] ? kv[i][1] : "") < 0)
            log_panic("policy: request does not fit");
    if (o + 2 > cap)
        log_panic("policy: request does not fit");
    b[o++] = '\n';
    b[o] = '\0';
}

/* ---- sessions ---- */

struct policy_client *policy_client_create(struct policy_engine *p, const struct sockaddr *sa,
                                           bool trusted)
{
    struct policy_client *pc = xcalloc(1, sizeof *pc);
    pc->p = p;
    pc->trusted = trusted;
    pc->rbl = xcalloc(p->nlists + p->nrhs * RHS_NSRC + 1, sizeof *pc->rbl);
    cidr_sockaddr_to_text(sa, pc->ip, sizeof pc->ip);
    if (!trusted && p->nlists > 0)
        policy_rbl_begin(pc, sa);
    return pc;
}

void policy_client_free(struct policy_client *pc)
{
    if (!pc)
        return;
    if (pc->rbl_pending > 0) {
        struct policy_unwait u = {pc, SIZE_MAX};
        dict_foreach(pc->p->cache, policy_rbl_unwait_one, &u);
    }
    delegate_cancel(pc->req);
    if (pc->timer)
        event_free(pc->timer);
    free(pc->request);
    free(pc->rbl);
    free(pc);
}

/* The DNSBL deadline passed while a RCPT waits. */
static void policy_on_rbl_deadline(evutil_socket_t fd, short what, void *arg)
{
    struct policy_client *pc = arg;
    (void)fd;
    (void)what;
    for (size_t i = 0; i < pc->p->nlists + pc->p->nrhs * RHS_NSRC; i++) {
        char subj[300];
        const struct dnsbl_list *l = policy_slot(pc, i, NULL, subj, sizeof subj);
        if (pc->rbl[i] == RBL_PENDING)
            log_info("%s: %s: no answer for %s within dnsbl_timeout (counted as not listed)",
                     i < pc->p->nlists ? "dnsbl" : "rhsbl", l->zone,
                     i < pc->p->nlists ? subj + strlen("Client host ") : strchr(subj, '['));
    }
    policy_rbl_step(pc);
}

/* The DNSBL step is over (all answered, or the deadline): refuse or go to the services. */
static void policy_rbl_step(struct policy_client *pc)
{
    struct policy_verdict v;
    if (pc->timer)
        evtimer_del(pc->timer);
    policy_rbl_verdict(pc, &v);
    if (v.kind == POLICY_REFUSE) {
        policy_finish(pc, &v);
        return;
    }
    pc->step = PC_SERVICE;
    pc->svc = 0;
    policy_svc_next(pc);
}

/* Waits for the block lists until the deadline. */
static void policy_rbl_wait(struct policy_client *pc)
{
    int64_t left = pc->rbl_deadline - clock_mono_ms();
    if (left < 0)
        left = 0;
    if (!pc->timer && !(pc->timer = evtimer_new(pc->p->base, policy_on_rbl_deadline, pc)))
        log_panic("policy: out of memory");
    struct timeval tv = {(time_t)(left / 1000), (suseconds_t)(left % 1000) * 1000};
    pc->step = PC_DNSBL;
    evtimer_add(pc->timer, &tv);
}

/* Resets the per-request state and formats the request. */
static void policy_ask_init(struct policy_client *pc, const struct policy_req *r,
                            policy_done_fn done, void *arg)
{
    pc->done = done;
    pc->arg = arg;
    pc->defer_if_permit = pc->defer_if_reject = false;
    pc->prepend[0] = '\0';
    pc->hold = false;
    pc->redirect[0] = pc->action_rule[0] = '\0';
    snprintf(pc->sender, sizeof pc->sender, "%.300s", r->sender);
    policy_request(pc, r);
}

int policy_async_data(struct policy_client *pc, const struct policy_req *r, policy_done_fn done,
                      void *arg, struct policy_verdict *v)
{
    memset(v, 0, sizeof *v);
    if (pc->step == PC_READY) {
        *v = pc->out;
        pc->step = PC_IDLE;
        return 1;
    }
    if (pc->trusted || pc->p->ndsvcs == 0)
        return 1;
    policy_ask_init(pc, r, done, arg);
    pc->set = pc->p->dsvcs;
    pc->nset = pc->p->ndsvcs;
    pc->what = "End-of-data";
    snprintf(pc->rcpt, sizeof pc->rcpt, "END-OF-MESSAGE");
    pc->step = PC_SERVICE;
    pc->svc = 0;
    policy_svc_next(pc);
    return 0;
}

int policy_async_rcpt(struct policy_client *pc, const struct policy_req *r, policy_done_fn done,
                      void *arg, struct policy_verdict *v)
{
    memset(v, 0, sizeof *v);
    if (pc->step == PC_READY) {
        *v = pc->out;
        pc->step = PC_IDLE;
        return 1;
    }
    if (pc->trusted || (pc->p->nlists == 0 && pc->p->nrhs == 0 && pc->p->nsvcs == 0))
        return 1;
    policy_rhs_begin(pc, r->sender, r->name, r->helo);
    policy_ask_init(pc, r, done, arg);
    pc->set = pc->p->svcs;
    pc->nset = pc->p->nsvcs;
    pc->what = "Recipient address";
    snprintf(pc->rcpt, sizeof pc->rcpt, "%.300s", r->rcpt);
    if (pc->rbl_pending > 0) {
        policy_rbl_wait(pc);
        return 0;
    }
    policy_rbl_verdict(pc, v);
    if (v->kind == POLICY_REFUSE || pc->p->nsvcs == 0)
        return 1;
    pc->step = PC_SERVICE;
    pc->svc = 0;
    policy_svc_next(pc);
    return 0;
}
