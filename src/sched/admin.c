/* admin: the administrator's operations on the scheduler (sched.h "administration"): hold,
 * release, delete, requeue and bounce of selected messages, pause and resume of domains,
 * and the read-only views the control channel formats. Parking: a recipient of a held
 * message or a paused domain is kept out of the heap (S_PARK) with its due time, so the
 * pump never sees it; releasing or resuming puts it back (sched_place). Every queue write
 * of one operation goes in one queue group: one transaction. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf/conf.h"
#include "core/dict.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "proto/ctlproto.h"
#include "queue/queue.h"
#include "sched/internal.h"

#define ADMIN_DOMAIN_MAX 256

/* The lower-cased domain of addr into buf ("" when none). */
static const char *admin_domain(const char *addr, char *buf, size_t cap)
{
    const char *at = strrchr(addr, '@');
    size_t i = 0;
    for (const char *p = at ? at + 1 : ""; *p && i + 1 < cap; p++)
        buf[i++] = (char)((*p >= 'A' && *p <= 'Z') ? *p + 32 : *p);
    buf[i] = '\0';
    return buf;
}

bool sched_parked(const struct sched *s, const struct smsg *m, const struct srcpt *r)
{
    char dom[ADMIN_DOMAIN_MAX];
    if (m->held)
        return true;
    return dict_count(s->paused) > 0 &&
           dict_find(s->paused, admin_domain(r->d.addr, dom, sizeof dom)) != NULL;
}

void sched_place(struct sched *s, struct srcpt *r, int64_t due)
{
    r->hn.key = due;
    if (sched_parked(s, sched_msg_of(r), r)) {
        r->where = S_PARK;
        return;
    }
    r->where = S_WAIT;
    heap_push(&s->wait, &r->hn);
}

/* Takes an unfinished recipient out of the heap (parked ones are out already). */
static void admin_unplace(struct sched *s, struct srcpt *r)
{
    if (r->where == S_WAIT)
        heap_remove(&s->wait, &r->hn);
}

/* True when message m matches every member given in sel. */
static bool admin_match(const struct smsg *m, const struct sched_select *sel)
{
    if (sel->qid && strcmp(sel->qid, m->d.qid) != 0)
        return false;
    if (sel->from && !(strcmp(sel->from, "<>") == 0 ? *m->d.sender == '\0'
                                                     : ctlproto_glob(sel->from, m->d.sender)))
        return false;
    if (!sel->to && !sel->dest)
        return true;
    for (uint32_t i = 0; i < m->nrcpt; i++) {
        const struct srcpt *r = &m->rcpts[i];
        char dom[ADMIN_DOMAIN_MAX];
        if (r->where == S_FINAL)
            continue;
        if ((!sel->to || ctlproto_glob(sel->to, r->d.addr)) &&
            (!sel->dest || ctlproto_glob(sel->dest, admin_domain(r->d.addr, dom, sizeof dom))))
            return true;
    }
    return false;
}

/* ---- the operations on one message --------------------------------------------------- */

/* hold: store the flag; park the waiting recipients (active ones park after their attempt). */
static bool admin_hold(struct sched *s, struct smsg *m)
{
    if (m->held)
        return false;
    m->held = true;
    m->d.flags |= MSG_F_HELD;
    queue_set_flags(s->q, m->d.id, MSG_F_HELD, 0);
    for (uint32_t i = 0; i < m->nrcpt; i++)
        if (m->rcpts[i].where == S_WAIT) {
            heap_remove(&s->wait, &m->rcpts[i].hn);
            m->rcpts[i].where = S_PARK;
        }
    log_info("%s: held by administrator", m->d.qid);
    return true;
}

/* release: clear the flag; parked recipients go back unless their domain is paused. */
static bool admin_release(struct sched *s, struct smsg *m)
{
    if (!m->held)
        return false;
    m->held = false;
    m->d.flags &= ~(uint32_t)MSG_F_HELD;
    queue_set_flags(s->q, m->d.id, 0, MSG_F_HELD);
    for (uint32_t i = 0; i < m->nrcpt; i++)
        if (m->rcpts[i].where == S_PARK)
            sched_place(s, &m->rcpts[i], m->rcpts[i].hn.key);
    log_info("%s: released by administrator", m->d.qid);
    return true;
}

/* delete: the records go now; what is out with delivery is dropped when it comes back. */
static bool admin_delete(struct sched *s, struct smsg *m)
{
    m->deleted = true;
    queue_delete(s->q, m->d.id, m->nrcpt);
    for (uint32_t i = 0; i < m->nrcpt; i++) {
        struct srcpt *r = &m->rcpts[i];
        r->report = 0;
        if (r->where == S_WAIT || r->where == S_PARK) {
            admin_unplace(s, r);
            r->where = S_FINAL;
            m->unfinished--;
        }
    }
    m->npending = 0;
    log_info("%s: removed (deleted by administrator)", m->d.qid);
    sched_msg_release(s, m);
    return true;
}

/* requeue: due now, on disk too; the domains' dead state is forgotten. */
static bool admin_requeue(struct sched *s, struct smsg *m, int64_t now)
{
    for (uint32_t i = 0; i < m->nrcpt; i++) {
        struct srcpt *r = &m->rcpts[i];
        char dom[ADMIN_DOMAIN_MAX];
        if (r->where != S_WAIT && r->where != S_PARK)
            continue;
        admin_unplace(s, r);
        sched_place(s, r, now);
        sched_write_rcpt(s, r, now);
        deliver_forget(s->dl, admin_domain(r->d.addr, dom, sizeof dom));
    }
    log_info("%s: requeued by administrator", m->d.qid);
    return true;
}

/* bounce: every recipient not out with delivery fails now (the outcome path records it and
 * owes the report); those out fail when they come back. */
static bool admin_bounce(struct sched *s, struct smsg *m)
{
    m->bouncing = true;
    m->unfinished++; /* keeps m alive across the outcomes below */
    for (uint32_t i = 0; i < m->nrcpt; i++) {
        struct srcpt *r = &m->rcpts[i];
        if (r->where != S_WAIT && r->where != S_PARK)
            continue;
        admin_unplace(s, r);
        r->where = S_PARK; /* neither in the heap nor in the window */
        sched_on_outcome(s, &r->d, &sched_admin_bounce);
    }
    m->unfinished--;
    log_info("%s: bounced by administrator", m->d.qid);
    if (m->unfinished == 0 && m->npending == 0 && !m->reporting)
        queue_delete(s->q, m->d.id, m->nrcpt); /* nothing owed (NOTIFY=NEVER): done */
    sched_msg_release(s, m);
    return true;
}

/* Applies op to one message. */
static bool admin_one(struct sched *s, enum sched_op op, struct smsg *m, int64_t now)
{
    switch (op) {
    case SCHED_HOLD:
        return admin_hold(s, m);
    case SCHED_RELEASE:
        return admin_release(s, m);
    case SCHED_DELETE:
        return admin_delete(s, m);
    case SCHED_REQUEUE:
        return admin_requeue(s, m, now);
    case SCHED_BOUNCE:
        return admin_bounce(s, m);
    }
    return false;
}

struct admin_pick {
    const struct sched_select *sel;
    struct smsg **v;
    size_t n, cap;
};

/* dict_foreach: collects the matching messages (the table may change once the walk ends). */
static void admin_on_pick(void *arg, const char *key, void *value)
{
    struct admin_pick *p = arg;
    struct smsg *m = value;
    (void)key;
    if (m->deleted || (m->unfinished == 0 && m->npending == 0) || !admin_match(m, p->sel))
        return;
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 64;
        p->v = xrealloc(p->v, p->cap * sizeof *p->v);
    }
    p->v[p->n++] = m;
}

size_t sched_apply(struct sched *s, enum sched_op op, const struct sched_select *sel,
                   void (*done)(void *arg, int err), void *arg)
{
    struct admin_pick p = {.sel = sel};
    if (sel->qid) {
        struct smsg *m = sched_msgs_find(s, sel->qid);
        if (m)
            admin_on_pick(&p, sel->qid, m);
    } else {
        sched_msgs_foreach(s, admin_on_pick, &p);
    }
    size_t changed = 0;
    int64_t now = s->now();
    queue_group_begin(s->q);
    for (size_t i = 0; i < p.n; i++)
        changed += admin_one(s, op, p.v[i], now);
    queue_group_end(s->q, done, arg);
    free(p.v);
    sched_pump(s);
    return changed;
}

/* ---- pause / resume ------------------------------------------------------------------ */

struct admin_dom {
    struct sched *s;
    const char *domain;
};

/* dict_foreach: re-places the recipients of one domain (parks or unparks them). */
static void admin_on_dom(void *arg, const char *key, void *value)
{
    struct admin_dom *a = arg;
    struct smsg *m = value;
    (void)key;
    for (uint32_t i = 0; i < m->nrcpt; i++) {
        struct srcpt *r = &m->rcpts[i];
        if ((r->where != S_WAIT && r->where != S_PARK) ||
            !sched_domain_match(r->d.addr, a->domain, false))
            continue;
        admin_unplace(a->s, r);
        sched_place(a->s, r, r->hn.key);
    }
}

bool sched_pause(struct sched *s, const char *domain, bool on)
{
    char dom[ADMIN_DOMAIN_MAX];
    snprintf(dom, sizeof dom, "%s", domain);
    for (char *p = dom; *p; p++)
        *p = (char)((*p >= 'A' && *p <= 'Z') ? *p + 32 : *p);
    bool was = dict_find(s->paused, dom) != NULL;
    if (was == on)
        return false;
    if (on)
        dict_put(s->paused, dom, s);
    else
        dict_remove(s->paused, dom);
    struct admin_dom a = {s, dom};
    sched_msgs_foreach(s, admin_on_dom, &a);
    log_info("destination %s %s by administrator", dom, on ? "paused" : "resumed");
    sched_pump(s);
    return true;
}

struct admin_names {
    void (*fn)(void *arg, const char *domain);
    void *arg;
};

/* dict_foreach: one paused domain. */
static void admin_on_paused(void *arg, const char *key, void *value)
{
    struct admin_names *a = arg;
    (void)value;
    a->fn(a->arg, key);
}

void sched_paused_foreach(const struct sched *s, void (*fn)(void *arg, const char *domain),
                          void *arg)
{
    struct admin_names a = {fn, arg};
    dict_foreach(s->paused, admin_on_paused, &a);
}

/* ---- views --------------------------------------------------------------------------- */

/* What the view calls a recipient's place. */
static enum sched_where admin_where(const struct smsg *m, const struct srcpt *r)
{
    switch (r->where) {
    case S_WAIT:
        return SCHED_WAITING;
    case S_ACTIVE:
        return SCHED_ACTIVE;
    case S_PARK:
        return m->held ? SCHED_HELD : SCHED_PAUSED;
    }
    return SCHED_DONE;
}

struct admin_view {
    struct sched *s;
    sched_view_fn fn;
    void *arg;
};

/* Builds the view of one message and hands it to fn. */
static void admin_view_one(struct admin_view *a, const struct smsg *m)
{
    struct sched_rcpt_view *rv = xcalloc(m->nrcpt ? m->nrcpt : 1, sizeof *rv);
    for (uint32_t i = 0; i < m->nrcpt; i++) {
        const struct srcpt *r = &m->rcpts[i];
        rv[i] = (struct sched_rcpt_view){.addr = r->d.addr,
                                         .state = r->state,
                                         .where = admin_where(m, r),
                                         .attempts = r->attempts,
                                         .last_attempt = sched_rcpt_last_at(r),
                                         .last_reply = sched_rcpt_reply(r),
                                         .relay = sched_rcpt_relay(r)};
        if (r->where == S_WAIT || r->where == S_PARK)
            rv[i].next = r->hn.key;
    }
    struct sched_msg_view v = {.qid = m->d.qid,
                               .sender = m->d.sender,
                               .arrival = m->arrival,
                               .size = m->size,
                               .held = m->held,
                               .nrcpt = m->nrcpt,
                               .unfinished = m->unfinished,
                               .rcpts = rv};
    a->fn(a->arg, &v);
    free(rv);
}

/* dict_foreach: one message, unless it is only waiting to be freed. */
static void admin_on_view(void *arg, const char *key, void *value)
{
    const struct smsg *m = value;
    (void)key;
    if (!m->deleted)
        admin_view_one(arg, m);
}

void sched_walk(struct sched *s, sched_view_fn fn, void *arg)
{
    struct admin_view a = {s, fn, arg};
    sched_msgs_foreach(s, admin_on_view, &a);
}

int sched_view(struct sched *s, const char *qid, sched_view_fn fn, void *arg)
{
    struct admin_view a = {s, fn, arg};
    const struct smsg *m = sched_msgs_find(s, qid);
    if (!m || m->deleted)
        return -1;
    if (fn)
        admin_view_one(&a, m);
    return 0;
}
