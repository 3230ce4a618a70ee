/* rbl: the DNSBL and RHSBL lookups of the policy engine (docs/policy.md): one cache entry
 * per query name shared by every session, kept for the answer's TTL; a session waits at
 * RCPT until its lists answered or their deadline passed; a list that times out counts 0.
 * Contracts in policy/internal.h and policy.h. */
#include "policy/internal.h"

/* ---- DNSBL ---- */


/* One list answered for a waiting session. */
void policy_rbl_answer(struct policy_client *pc, size_t list, enum rbl_state st)
{
    if (pc->rbl[list] != RBL_PENDING)
        return;
    pc->rbl[list] = st;
    pc->rbl_pending--;
    if (pc->rbl_pending == 0 && pc->step == PC_DNSBL)
        policy_rbl_step(pc);
}

/* Classifies the answer of list l: garbage and failures count as clean. */
enum rbl_state policy_rbl_classify(const struct dnsbl_list *l, struct mx_result *res,
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
void policy_on_rbl(void *arg, struct mx_result *res)
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
void policy_cache_prune_one(void *arg, const char *key, void *value)
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
void policy_cache_prune(struct policy_engine *p)
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

void policy_rbl_lookup(struct policy_client *pc, size_t i, const struct dnsbl_list *l,
                              const char *q);

/* Starts (or joins, or reads from the cache) the lookup of list i for pc. */
void policy_rbl_start(struct policy_client *pc, size_t i, int fam, const uint8_t *a)
{
    char q[256];
    pc->rbl[i] = RBL_CLEAN;
    if (dnsbl_query_name(&pc->p->lists[i], fam, a, q, sizeof q) == 0)
        policy_rbl_lookup(pc, i, &pc->p->lists[i], q);
}

/* Slot i of pc waits for the query name q of list l (from the cache, or joins or starts
 * the lookup). */
void policy_rbl_lookup(struct policy_client *pc, size_t i, const struct dnsbl_list *l,
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
void policy_rbl_begin(struct policy_client *pc, const struct sockaddr *sa)
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

/* Removes pc (its slot) from the waiters of pending entries. */
void policy_rbl_unwait_one(void *arg, const char *key, void *value)
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
void policy_rhs_start(struct policy_client *pc, size_t j, enum rhs_src k, const char *name)
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
const struct dnsbl_list *policy_slot(const struct policy_client *pc, size_t i,
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
void policy_names_add(char *names, size_t len, const char *zone)
{
    size_t o = strlen(names), z = strlen(zone);
    for (const char *f = strstr(names, zone); f; f = strstr(f + 1, zone))
        if ((f == names || f[-1] == ' ') && (f[z] == '\0' || f[z] == ','))
            return;
    snprintf(names + o, len - o, "%s%s", o ? ", " : "", zone);
}

/* The block list verdict once every list answered or the deadline passed: each listed
 * slot adds its list's weight (an RHSBL list once, however many of its names it lists). */
void policy_rbl_verdict(struct policy_client *pc, struct policy_verdict *v)
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

/* The DNSBL deadline passed while a RCPT waits. */
void policy_on_rbl_deadline(evutil_socket_t fd, short what, void *arg)
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
void policy_rbl_step(struct policy_client *pc)
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
void policy_rbl_wait(struct policy_client *pc)
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

