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

#include "policy/internal.h"

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
void policy_refuse(struct policy_verdict *v, unsigned code, const char *status,
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

/* ---- policy servers ---- */


/* Ends the asynchronous part with v (or a pass) and tells the session. */
void policy_finish(struct policy_client *pc, const struct policy_verdict *v)
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
void policy_svc_next(struct policy_client *pc)
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
