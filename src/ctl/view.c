/* view: the read-only views of the control channel, rendered as text (aligned columns for
 * people) or JSON (for programs): the per-destination summary (`queue`, ZMailer's mailq -Q),
 * Postfix's qshape age histogram, one message (`show`), the connections (`conns`, ZMailer
 * SHOW THREADS) and the statistics (`stats`: counters apart from gauges). A destination
 * here is a recipient domain; its connections and dead state are those of the route
 * destination that domain resolved to (deliver_dest_view). `showq` (the showq socket) is
 * Postfix's mailq or postqueue -j (queue/showq.h) built from the scheduler's messages. `suppress list|export` prints the
 * suppression list (suppress.h) in `sluice suppress`'s columns, or JSON. */
#include <event2/buffer.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit/event.h"
#include "core/dict.h"
#include "core/log.h"
#include "core/qid.h"
#include "core/xalloc.h"
#include "ctl/internal.h"
#include "deliver/deliver.h"
#include "queue/queue.h"
#include "queue/showq.h"
#include "conf/conf.h"
#include "proto/ctlproto.h"
#include "sched/sched.h"
#include "suppress/suppress.h"

#define VIEW_STR_MAX (2048 * 6 + 16) /* event_json_str's worst case */

void view_json_str(struct evbuffer *out, const char *s)
{
    char *buf = xmalloc(VIEW_STR_MAX);
    size_t off = 0;
    event_json_str(buf, VIEW_STR_MAX, &off, s);
    evbuffer_add(out, buf, off);
    free(buf);
}

const char *view_time(int64_t ms, char *buf)
{
    if (ms <= 0)
        return "-";
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

/* A time as JSON: its text in quotes, or null. */
static void view_json_time(struct evbuffer *out, int64_t ms)
{
    char t[32];
    if (ms <= 0)
        evbuffer_add_printf(out, "null");
    else
        evbuffer_add_printf(out, "\"%s\"", view_time(ms, t));
}

/* The lower-case domain of addr into buf. */
static const char *view_domain(const char *addr, char *buf, size_t cap)
{
    const char *at = strrchr(addr, '@');
    size_t i = 0;
    for (const char *p = at ? at + 1 : addr; *p && i + 1 < cap; p++)
        buf[i++] = (char)((*p >= 'A' && *p <= 'Z') ? *p + 32 : *p);
    buf[i] = '\0';
    return buf;
}

/* ---- queue: one row per destination domain -------------------------------------------- */

struct view_dest {
    uint32_t rcpts, active, held, paused;
    int64_t oldest, next, last_time;
    char *last_error;
};

struct view_acc {
    struct dict *d;
    char **names;
    size_t n, cap;
};

/* The row of domain, made on first use. */
static struct view_dest *view_row(struct view_acc *a, const char *domain)
{
    struct view_dest *v = dict_find(a->d, domain);
    if (v)
        return v;
    v = xcalloc(1, sizeof *v);
    dict_put(a->d, domain, v);
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 32;
        a->names = xrealloc(a->names, a->cap * sizeof *a->names);
    }
    a->names[a->n++] = xstrdup(domain);
    return v;
}

/* sched_walk: adds the unfinished recipients of one message to their domains' rows. */
static void view_on_queue_msg(void *arg, const struct sched_msg_view *m)
{
    struct view_acc *a = arg;
    for (uint32_t i = 0; i < m->nrcpt; i++) {
        const struct sched_rcpt_view *r = &m->rcpts[i];
        char dom[256];
        if (r->where == SCHED_DONE)
            continue;
        struct view_dest *v = view_row(a, view_domain(r->addr, dom, sizeof dom));
        v->rcpts++;
        v->active += r->where == SCHED_ACTIVE;
        v->held += r->where == SCHED_HELD;
        v->paused += r->where == SCHED_PAUSED;
        if (!v->oldest || m->arrival < v->oldest)
            v->oldest = m->arrival;
        if (r->where == SCHED_WAITING && (!v->next || r->next < v->next))
            v->next = r->next;
        if (r->last_attempt > v->last_time && r->last_reply && *r->last_reply) {
            v->last_time = r->last_attempt;
            free(v->last_error);
            v->last_error = xstrdup(r->last_reply);
        }
    }
}

/* sched_paused_foreach: a paused domain has a row even when nothing waits for it. */
static void view_on_paused(void *arg, const char *domain)
{
    view_row(arg, domain);
}

/* qsort: names in order. */
static int view_cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The state word of a destination. */
static const char *view_state(const struct ctl_env *e, const char *domain,
                              struct deliver_dest_view *dv)
{
    bool known = deliver_dest_view(e->dl, domain, dv) == 0;
    if (!known)
        memset(dv, 0, sizeof *dv);
    return dv->dead_until ? "dead" : "active";
}

/* Prints one destination row. */
static void view_queue_row(const struct ctl_env *e, struct evbuffer *out, bool json,
                           const char *name, const struct view_dest *v, bool paused)
{
    struct deliver_dest_view dv;
    const char *state = view_state(e, name, &dv);
    if (paused)
        state = "paused";
    const char *err = v->last_error ? v->last_error : (dv.dead_why ? dv.dead_why : "");
    char t1[32], t2[32], san[512];
    if (!json) {
        log_sanitize(san, sizeof san, err, strlen(err));
        evbuffer_add_printf(out, "%-30s %6" PRIu32 " %6" PRIu32 " %6" PRIu32 " %-20s %-20s %5u %-6s %s\n",
                            name, v->rcpts, v->active, v->held, view_time(v->oldest, t1),
                            view_time(v->next, t2), dv.nconn, state, *san ? san : "-");
        return;
    }
    evbuffer_add_printf(out, "{\"destination\":");
    view_json_str(out, name);
    evbuffer_add_printf(out, ",\"recipients\":%" PRIu32 ",\"active\":%" PRIu32 ",\"held\":%" PRIu32
                             ",\"oldest\":",
                        v->rcpts, v->active, v->held);
    view_json_time(out, v->oldest);
    evbuffer_add_printf(out, ",\"next_attempt\":");
    view_json_time(out, v->next);
    evbuffer_add_printf(out, ",\"last_error\":");
    view_json_str(out, err);
    evbuffer_add_printf(out, ",\"connections\":%u,\"state\":\"%s\",\"route\":", dv.nconn, state);
    view_json_str(out, dv.key ? dv.key : "");
    evbuffer_add_printf(out, "}\n");
}

/* sched_paused_foreach: notes a paused domain. */
static void view_on_paused_mark(void *arg, const char *domain)
{
    dict_put(arg, domain, arg);
}

void view_queue(const struct ctl_env *e, struct evbuffer *out, bool json)
{
    struct view_acc a = {.d = dict_create()};
    struct dict *paused = dict_create();
    sched_walk(e->sched, view_on_queue_msg, &a);
    sched_paused_foreach(e->sched, view_on_paused, &a);
    sched_paused_foreach(e->sched, view_on_paused_mark, paused);
    if (a.n > 1)
        qsort(a.names, a.n, sizeof *a.names, view_cmp_names);
    if (!json)
        evbuffer_add_printf(out, "%-30s %6s %6s %6s %-20s %-20s %5s %-6s %s\n", "DESTINATION",
                            "RCPTS", "ACTIVE", "HELD", "OLDEST", "NEXT", "CONNS", "STATE",
                            "LAST-ERROR");
    for (size_t i = 0; i < a.n; i++) {
        struct view_dest *v = dict_find(a.d, a.names[i]);
        view_queue_row(e, out, json, a.names[i], v, dict_find(paused, a.names[i]) != NULL);
        free(v->last_error);
        free(a.names[i]);
    }
    free(a.names);
    dict_free(a.d, free);
    dict_free(paused, NULL);
}

/* ---- qshape: Postfix's age histogram, per domain --------------------------------------- */

/* Upper bounds of the age buckets in minutes (Postfix qshape's defaults); the last bucket
 * is everything older. */
static const unsigned view_buckets[] = {5, 10, 20, 40, 80, 160, 320, 640, 1280};
#define VIEW_NB (sizeof view_buckets / sizeof view_buckets[0] + 1)

struct view_shape_row {
    uint32_t total;
    uint32_t n[VIEW_NB];
};

struct view_shape {
    struct view_acc a;
    int64_t now;
    struct view_shape_row total;
};

/* The bucket of an age in minutes. */
static size_t view_bucket(int64_t minutes)
{
    size_t b = 0;
    while (b < VIEW_NB - 1 && minutes > (int64_t)view_buckets[b])
        b++;
    return b;
}

/* sched_walk: counts each unfinished recipient of a message by domain and age. */
static void view_on_shape_msg(void *arg, const struct sched_msg_view *m)
{
    struct view_shape *sh = arg;
    size_t b = view_bucket((sh->now - m->arrival) / 60000);
    for (uint32_t i = 0; i < m->nrcpt; i++) {
        char dom[256];
        if (m->rcpts[i].where == SCHED_DONE)
            continue;
        const char *d = view_domain(m->rcpts[i].addr, dom, sizeof dom);
        struct view_shape_row *row = dict_find(sh->a.d, d);
        if (!row) {
            view_row(&sh->a, d); /* makes the name entry */
            row = xcalloc(1, sizeof *row);
            free(dict_put(sh->a.d, d, row));
        }
        row->total++;
        row->n[b]++;
        sh->total.total++;
        sh->total.n[b]++;
    }
}

/* Prints one qshape row. */
static void view_shape_row(struct evbuffer *out, bool json, const char *name,
                           const struct view_shape_row *r)
{
    if (json) {
        evbuffer_add_printf(out, "{\"domain\":");
        view_json_str(out, name);
        evbuffer_add_printf(out, ",\"total\":%" PRIu32 ",\"counts\":[", r->total);
        for (size_t b = 0; b < VIEW_NB; b++)
            evbuffer_add_printf(out, "%s%" PRIu32, b ? "," : "", r->n[b]);
        evbuffer_add_printf(out, "]}\n");
        return;
    }
    evbuffer_add_printf(out, "%30s %6" PRIu32, name, r->total);
    for (size_t b = 0; b < VIEW_NB; b++)
        evbuffer_add_printf(out, " %5" PRIu32, r->n[b]);
    evbuffer_add_printf(out, "\n");
}

void view_qshape(const struct ctl_env *e, struct evbuffer *out, bool json)
{
    struct view_shape sh = {.a = {.d = dict_create()}, .now = clock_wall_ms()};
    sched_walk(e->sched, view_on_shape_msg, &sh);
    if (sh.a.n > 1)
        qsort(sh.a.names, sh.a.n, sizeof *sh.a.names, view_cmp_names);
    if (json) {
        evbuffer_add_printf(out, "{\"buckets_minutes\":[");
        for (size_t b = 0; b + 1 < VIEW_NB; b++)
            evbuffer_add_printf(out, "%s%u", b ? "," : "", view_buckets[b]);
        evbuffer_add_printf(out, "]}\n");
    } else {
        evbuffer_add_printf(out, "%30s %6s", "", "T");
        for (size_t b = 0; b + 1 < VIEW_NB; b++)
            evbuffer_add_printf(out, " %5u", view_buckets[b]);
        evbuffer_add_printf(out, " %4u+\n", view_buckets[VIEW_NB - 2]);
    }
    view_shape_row(out, json, "TOTAL", &sh.total);
    for (size_t i = 0; i < sh.a.n; i++) {
        view_shape_row(out, json, sh.a.names[i], dict_find(sh.a.d, sh.a.names[i]));
        free(sh.a.names[i]);
    }
    free(sh.a.names);
    dict_free(sh.a.d, free);
}

/* ---- show: one message ----------------------------------------------------------------- */

static const char *const view_where_names[] = {"waiting", "active", "held", "paused", "done"};

/* sched_view: one message as text or JSON (arg: struct view_out). */
struct view_out {
    struct evbuffer *out;
    bool json;
};

/* Text form of one message. */
static void view_show_text(struct evbuffer *out, const struct sched_msg_view *m)
{
    char t[32], s1[600], s2[2048];
    evbuffer_add_printf(out, "queue_id: %s\narrival: %s\nsize: %" PRIu64 "\nsender: <%s>\n",
                        m->qid, view_time(m->arrival, t), m->size,
                        log_sanitize(s1, sizeof s1, m->sender, strlen(m->sender)));
    evbuffer_add_printf(out, "held: %s\nrecipients: %" PRIu32 " (%" PRIu32 " unfinished)\n",
                        m->held ? "yes" : "no", m->nrcpt, m->unfinished);
    for (uint32_t i = 0; i < m->nrcpt; i++) {
        const struct sched_rcpt_view *r = &m->rcpts[i];
        const char *lr = r->last_reply ? r->last_reply : "";
        evbuffer_add_printf(out, "rcpt: <%s> state=%s/%s attempts=%" PRIu32 " next=%s last=%s\n",
                            log_sanitize(s1, sizeof s1, r->addr, strlen(r->addr)),
                            record_state_to_text(r->state), view_where_names[r->where],
                            r->attempts, view_time(r->next, t),
                            *lr ? log_sanitize(s2, sizeof s2, lr, strlen(lr)) : "-");
    }
}

/* JSON form of one message. */
static void view_show_json(struct evbuffer *out, const struct sched_msg_view *m)
{
    evbuffer_add_printf(out, "{\"queue_id\":\"%s\",\"arrival_time\":", m->qid);
    view_json_time(out, m->arrival);
    evbuffer_add_printf(out, ",\"message_size\":%" PRIu64 ",\"sender\":", m->size);
    view_json_str(out, m->sender);
    evbuffer_add_printf(out, ",\"held\":%s,\"recipients\":[", m->held ? "true" : "false");
    for (uint32_t i = 0; i < m->nrcpt; i++) {
        const struct sched_rcpt_view *r = &m->rcpts[i];
        evbuffer_add_printf(out, "%s{\"address\":", i ? "," : "");
        view_json_str(out, r->addr);
        evbuffer_add_printf(out, ",\"state\":\"%s\",\"where\":\"%s\",\"attempts\":%" PRIu32
                                 ",\"next_attempt\":",
                            record_state_to_text(r->state), view_where_names[r->where],
                            r->attempts);
        view_json_time(out, r->next);
        evbuffer_add_printf(out, ",\"last_reply\":");
        view_json_str(out, r->last_reply);
        evbuffer_add_printf(out, ",\"relay\":");
        view_json_str(out, r->relay);
        evbuffer_add_printf(out, "}");
    }
    evbuffer_add_printf(out, "]}\n");
}

/* sched_view callback. */
static void view_on_show(void *arg, const struct sched_msg_view *m)
{
    struct view_out *o = arg;
    if (o->json)
        view_show_json(o->out, m);
    else
        view_show_text(o->out, m);
}

int view_show(const struct ctl_env *e, const char *qid, struct evbuffer *out, bool json)
{
    struct view_out o = {out, json};
    return sched_view(e->sched, qid, view_on_show, &o);
}

/* ---- showq: Postfix's mailq from the scheduler's memory -------------------------------- */

/* sched_walk: one message as a struct qmsg for queue/showq (which only reads it; the
 * strings stay the scheduler's). */
static void view_on_showq_msg(void *arg, const struct sched_msg_view *m)
{
    struct qrcpt *r = xcalloc(m->nrcpt ? m->nrcpt : 1, sizeof *r);
    struct qmsg q = {.arrival = m->arrival, .sender = (char *)m->sender, .size = m->size,
                     .flags = m->held ? MSG_F_HELD : 0, .nrcpt = m->nrcpt, .rcpts = r};
    for (uint32_t i = 0; i < m->nrcpt; i++) {
        const struct sched_rcpt_view *v = &m->rcpts[i];
        r[i].addr = (char *)v->addr;
        r[i].state = v->state;
        r[i].next_attempt = v->where == SCHED_ACTIVE ? 0 : v->next; /* active: due */
        r[i].last_reply = (char *)(v->last_reply ? v->last_reply : "");
    }
    if (qid_from_text(m->qid, &q.id) == 0)
        showq_msg(arg, &q);
    free(r);
}

void view_showq(const struct ctl_env *e, struct evbuffer *out, bool json)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return;
    struct showq sq = {.out = f, .now = clock_wall_ms(), .json = json};
    sched_walk(e->sched, view_on_showq_msg, &sq);
    showq_end(&sq);
    fclose(f);
    evbuffer_add(out, buf, len);
    free(buf);
}

/* ---- conns, stats ---------------------------------------------------------------------- */

/* deliver_conns callback: one connection. */
static void view_on_conn(void *arg, const struct deliver_conn_view *v)
{
    struct view_out *o = arg;
    char t[32];
    if (!o->json) {
        evbuffer_add_printf(o->out, "%8" PRIu64 " %-10s %5u %-20s %s\n", v->id, v->state,
                            v->nmsgs, view_time(v->started, t), v->dest);
        return;
    }
    evbuffer_add_printf(o->out, "{\"id\":%" PRIu64 ",\"state\":\"%s\",\"messages\":%u,\"since\":",
                        v->id, v->state, v->nmsgs);
    view_json_time(o->out, v->started);
    evbuffer_add_printf(o->out, ",\"destination\":");
    view_json_str(o->out, v->dest);
    evbuffer_add_printf(o->out, "}\n");
}

void view_conns(const struct ctl_env *e, struct evbuffer *out, bool json)
{
    struct view_out o = {out, json};
    if (!json)
        evbuffer_add_printf(out, "%8s %-10s %5s %-20s %s\n", "ID", "STATE", "MSGS", "SINCE",
                            "DESTINATION");
    deliver_conns(e->dl, view_on_conn, &o);
}

/* sched_walk: counts held messages. */
static void view_on_count_held(void *arg, const struct sched_msg_view *m)
{
    *(uint64_t *)arg += m->held;
}

/* sched_paused_foreach: counts paused destinations. */
static void view_on_count_paused(void *arg, const char *domain)
{
    (void)domain;
    (*(uint64_t *)arg)++;
}

void view_stats(const struct ctl_env *e, struct evbuffer *out, bool json)
{
    struct sched_stats ss;
    struct queue_stats qs;
    uint64_t held = 0, paused = 0;
    sched_get_stats(e->sched, &ss);
    queue_get_stats(e->q, &qs);
    sched_walk(e->sched, view_on_count_held, &held);
    sched_paused_foreach(e->sched, view_on_count_paused, &paused);
    const char *fmt =
        json ? "{\"counters\":{\"delivered\":%" PRIu64 ",\"deferred\":%" PRIu64
               ",\"bounced\":%" PRIu64 ",\"connections\":%" PRIu64 ",\"transactions\":%" PRIu64
               ",\"commits\":%" PRIu64 ",\"messages_committed\":%" PRIu64
               "},\"gauges\":{\"messages\":%" PRIu64 ",\"recipients_waiting\":%" PRIu64
               ",\"recipients_active\":%" PRIu64 ",\"messages_held\":%" PRIu64
               ",\"destinations_paused\":%" PRIu64 "}}\n"
             : "counters:\n  delivered %" PRIu64 "\n  deferred %" PRIu64 "\n  bounced %" PRIu64
               "\n  connections %" PRIu64 "\n  transactions %" PRIu64 "\n  commits %" PRIu64
               "\n  messages_committed %" PRIu64 "\ngauges:\n  messages %" PRIu64
               "\n  recipients_waiting %" PRIu64 "\n  recipients_active %" PRIu64
               "\n  messages_held %" PRIu64 "\n  destinations_paused %" PRIu64 "\n";
    evbuffer_add_printf(out, fmt, ss.delivered, ss.deferred, ss.bounced, ss.connections,
                        ss.transactions, qs.commits, qs.msgs_committed, ss.messages, ss.waiting,
                        ss.active, held, paused);
}

/* ---- suppress list / export ------------------------------------------------------------ */

struct view_supp {
    struct evbuffer *out;
    uint64_t duration;
    int64_t now;
    enum ctl_supp how;
    bool json;
};

/* One suppression entry as a line: text (list), JSON (list --json) or TSV (export); the
 * same columns as `sluice suppress list|export`. */
static int view_on_supp(void *arg, const struct suppress_entry *e)
{
    const struct view_supp *v = arg;
    int64_t until = e->at + (int64_t)v->duration;
    char reason[sizeof e->reason], at[32], un[32];
    for (size_t i = 0; i <= strlen(e->reason); i++)
        reason[i] = (unsigned char)e->reason[i] < 0x20 && e->reason[i] ? ' ' : e->reason[i];
    if (v->how == CTL_SUPP_EXPORT) {
        evbuffer_add_printf(v->out, "%s\t%lld\t%lld\t%d\t%s\n", e->addr, (long long)(e->at / 1000),
                            (long long)(until / 1000), until > v->now, reason);
    } else if (v->json) {
        evbuffer_add_printf(v->out, "{\"address\":");
        view_json_str(v->out, e->addr);
        evbuffer_add_printf(v->out, ",\"recorded\":");
        view_json_time(v->out, e->at);
        evbuffer_add_printf(v->out, ",\"until\":");
        view_json_time(v->out, until);
        evbuffer_add_printf(v->out, ",\"active\":%s,\"reason\":", until > v->now ? "true" : "false");
        view_json_str(v->out, reason);
        evbuffer_add_printf(v->out, "}\n");
    } else {
        evbuffer_add_printf(v->out, "%s  %s  %s%s  %s\n", e->addr, view_time(e->at, at),
                            until > v->now ? "until " : "expired ", view_time(until, un), reason);
    }
    return 0;
}

int view_suppress(const struct ctl_env *e, enum ctl_supp how, bool json, struct evbuffer *out)
{
    struct view_supp v = {out, e->conf->suppression.duration, clock_wall_ms(), how, json};
    return suppress_walk(e->suppress, view_on_supp, &v);
}
