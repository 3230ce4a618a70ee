/* client: one milter connection's state machine (contract in milter.h).
 *
 * States: connecting (the option negotiation is part of it), idle, waiting (a step's reply),
 * dead. One timer bounds each wait (connect, command or content timeout by step); a
 * progress reply restarts it. Results are reported through a zero-delay event, so a
 * callback never runs inside milter_conn_open/step. Input is framed with milter_frame()
 * under the negotiated size limit; a packet is pulled up whole only once it is complete. */
#include "milter/milter.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "core/log.h"
#include "core/xalloc.h"
#include "proto/cidr.h"

enum conn_state { ST_CONNECTING, ST_IDLE, ST_WAITING, ST_DEAD };

struct milter_conn {
    struct bufferevent *bev;
    struct event *timer;  /* the wait's timeout */
    struct event *report; /* zero-delay: runs the callback */
    struct milter_conn_opts opts;
    char name[128];
    enum conn_state state;
    char step;               /* the step waited for */
    struct milter_opts neg;  /* negotiated */
    char *symlist[MILTER_STAGES];
    size_t max;              /* packet size limit */
    milter_conn_fn cb;
    void *arg;
    struct milter_result res;
    size_t modcap;
    uint64_t wait_ms;
};

/* A step's name for logs. */
static const char *conn_step_name(char step)
{
    switch (step) {
    case SMFIC_CONNECT: return "connect";
    case SMFIC_HELO: return "helo";
    case SMFIC_MAIL: return "mail";
    case SMFIC_RCPT: return "rcpt";
    case SMFIC_DATA: return "data";
    case SMFIC_HEADER: return "header";
    case SMFIC_EOH: return "end of header";
    case SMFIC_BODY: return "body";
    case SMFIC_BODYEOB: return "end of message";
    case SMFIC_UNKNOWN: return "unknown command";
    default: return "command";
    }
}

/* Frees the modifications of the last result. */
static void conn_clear(struct milter_conn *c)
{
    for (size_t i = 0; i < c->res.nmods; i++) {
        struct milter_mod *m = &c->res.mods[i];
        free(m->name), free(m->value), free(m->addr), free(m->args), free(m->text), free(m->body);
    }
    free(c->res.mods);
    memset(&c->res, 0, sizeof c->res);
    c->modcap = 0;
}

/* Reports verdict v from the loop (the state becomes next). */
static void conn_finish(struct milter_conn *c, enum milter_verdict v, enum conn_state next)
{
    c->res.verdict = v;
    c->state = next;
    evtimer_del(c->timer);
    event_active(c->report, 0, 0);
}

/* The milter failed: close, and report the default action with the reason. */
static void conn_fail(struct milter_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void conn_fail(struct milter_conn *c, const char *fmt, ...)
{
    if (c->state == ST_DEAD)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->res.why, sizeof c->res.why, fmt, ap);
    va_end(ap);
    log_warn("milter %s: %s: default action %s", c->name, c->res.why,
             c->opts.default_action == MILTER_ACCEPT    ? "accept"
             : c->opts.default_action == MILTER_REJECT ? "reject"
                                                       : "tempfail");
    c->res.failed = true;
    bufferevent_disable(c->bev, EV_READ | EV_WRITE);
    bool had_cb = c->cb != NULL;
    conn_finish(c, c->opts.default_action, ST_DEAD);
    if (!had_cb)
        event_del(c->report); /* nobody waits: the next step learns it at once */
}

/* The report event: runs the waiting callback once. */
static void conn_on_report(evutil_socket_t fd, short what, void *arg)
{
    struct milter_conn *c = arg;
    (void)fd, (void)what;
    milter_conn_fn cb = c->cb;
    c->cb = NULL;
    if (cb)
        cb(c->arg, &c->res);
}

/* Arms the wait's timer. */
static void conn_arm(struct milter_conn *c)
{
    struct timeval tv = {(time_t)(c->wait_ms / 1000), (suseconds_t)(c->wait_ms % 1000) * 1000};
    evtimer_add(c->timer, &tv);
}

/* The timeout of a wait. */
static void conn_on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct milter_conn *c = arg;
    (void)fd, (void)what;
    if (c->state == ST_CONNECTING)
        conn_fail(c, "connect or option negotiation timed out");
    else
        conn_fail(c, "no reply to %s in time", conn_step_name(c->step));
}

/* ---- steps ------------------------------------------------------------------------------ */

/* The protocol flags that skip a step (SMFIP_NO*) and that say it gets no reply (NR). */
static void conn_step_flags(char step, uint32_t *no, uint32_t *nr, int *stage)
{
    *stage = -1;
    switch (step) {
    case SMFIC_CONNECT: *no = SMFIP_NOCONNECT, *nr = SMFIP_NR_CONN, *stage = SMFIM_CONNECT; break;
    case SMFIC_HELO: *no = SMFIP_NOHELO, *nr = SMFIP_NR_HELO, *stage = SMFIM_HELO; break;
    case SMFIC_MAIL: *no = SMFIP_NOMAIL, *nr = SMFIP_NR_MAIL, *stage = SMFIM_ENVFROM; break;
    case SMFIC_RCPT: *no = SMFIP_NORCPT, *nr = SMFIP_NR_RCPT, *stage = SMFIM_ENVRCPT; break;
    case SMFIC_DATA: *no = SMFIP_NODATA, *nr = SMFIP_NR_DATA, *stage = SMFIM_DATA; break;
    case SMFIC_HEADER: *no = SMFIP_NOHDRS, *nr = SMFIP_NR_HDR; break;
    case SMFIC_EOH: *no = SMFIP_NOEOH, *nr = SMFIP_NR_EOH, *stage = SMFIM_EOH; break;
    case SMFIC_BODY: *no = SMFIP_NOBODY, *nr = SMFIP_NR_BODY; break;
    case SMFIC_UNKNOWN: *no = SMFIP_NOUNKNOWN, *nr = SMFIP_NR_UNKN; break;
    case SMFIC_BODYEOB: *no = 0, *nr = 0, *stage = SMFIM_EOM; break;
    default: *no = 0, *nr = 0; break;
    }
}

/* True when name is in the space-separated list ("{x}" and "x" are the same macro). */
static bool conn_in_list(const char *list, const char *name)
{
    size_t nl = strlen(name);
    const char *bare = name;
    if (nl > 2 && name[0] == '{' && name[nl - 1] == '}')
        bare = name + 1, nl -= 2;
    for (const char *p = list; *p;) {
        p += strspn(p, " ,");
        size_t wl = strcspn(p, " ,");
        const char *w = p;
        size_t wn = wl;
        if (wn > 2 && w[0] == '{' && w[wn - 1] == '}')
            w++, wn -= 2;
        if (wn == nl && wn && memcmp(w, bare, nl) == 0)
            return true;
        p += wl;
    }
    return false;
}

/* Queues the SMFIC_MACRO packet of the step (only the macros the milter asked for). */
static void conn_send_macros(struct milter_conn *c, char step, int stage,
                             const struct milter_macros *m)
{
    if (!m || m->n == 0 || stage < 0)
        return;
    const char *names[64], *values[64];
    size_t n = 0;
    for (size_t i = 0; i < m->n && n < 64; i++)
        if (!c->symlist[stage] || conn_in_list(c->symlist[stage], m->names[i]))
            names[n] = m->names[i], values[n++] = m->values[i];
    uint8_t *buf = xmalloc(MILTER_PKT_MAX + 4);
    struct milter_out o = {buf, MILTER_PKT_MAX + 4, 0, 0, false};
    size_t len = milter_fmt_macros(&o, step, names, values, n);
    if (len)
        bufferevent_write(c->bev, buf, len);
    else
        log_warn("milter %s: macros of %s too long: not sent", c->name, conn_step_name(step));
    free(buf);
}

int milter_conn_step(struct milter_conn *c, char step, const struct milter_macros *macros,
                     const uint8_t *pkt, size_t len, milter_conn_fn cb, void *arg)
{
    if (c->cb || c->state == ST_CONNECTING || c->state == ST_WAITING)
        return -1;
    conn_clear(c);
    c->cb = cb, c->arg = arg, c->step = step;
    if (c->state == ST_DEAD) { /* failed earlier, while idle: the default action again */
        c->res.failed = true;
        snprintf(c->res.why, sizeof c->res.why, "the milter failed earlier");
        c->res.verdict = c->opts.default_action;
        event_active(c->report, 0, 0);
        return 0;
    }
    uint32_t no, nr;
    int stage;
    conn_step_flags(step, &no, &nr, &stage);
    conn_send_macros(c, step, stage, macros);
    if (c->neg.protocol & no) { /* declined: nothing of it is sent */
        conn_finish(c, MILTER_CONTINUE, ST_IDLE);
        return 0;
    }
    bufferevent_write(c->bev, pkt, len);
    if (c->neg.protocol & nr) {
        conn_finish(c, MILTER_CONTINUE, ST_IDLE);
        return 0;
    }
    c->state = ST_WAITING;
    bool content = step == SMFIC_HEADER || step == SMFIC_EOH || step == SMFIC_BODY ||
                   step == SMFIC_BODYEOB;
    c->wait_ms = content ? c->opts.content_timeout_ms : c->opts.command_timeout_ms;
    conn_arm(c);
    return 0;
}

void milter_conn_abort(struct milter_conn *c)
{
    static const uint8_t abort_pkt[5] = {0, 0, 0, 1, SMFIC_ABORT};
    if (c && c->state == ST_IDLE)
        bufferevent_write(c->bev, abort_pkt, sizeof abort_pkt);
}

const struct milter_opts *milter_conn_negotiated(const struct milter_conn *c)
{
    return &c->neg;
}

/* ---- replies ---------------------------------------------------------------------------- */

/* The action flag a modification needs. */
static uint32_t conn_mod_action(char code)
{
    switch (code) {
    case SMFIR_ADDHEADER: return SMFIF_ADDHDRS;
    case SMFIR_CHGHEADER: case SMFIR_INSHEADER: return SMFIF_CHGHDRS;
    case SMFIR_REPLBODY: return SMFIF_CHGBODY;
    case SMFIR_ADDRCPT: return SMFIF_ADDRCPT;
    case SMFIR_ADDRCPT_PAR: return SMFIF_ADDRCPT_PAR;
    case SMFIR_DELRCPT: return SMFIF_DELRCPT;
    case SMFIR_CHGFROM: return SMFIF_CHGFROM;
    case SMFIR_QUARANTINE: return SMFIF_QUARANTINE;
    default: return 0;
    }
}

/* A copy of s, or NULL. */
static char *conn_dup(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

/* Records one modification of the end of message. */
static void conn_add_mod(struct milter_conn *c, const struct milter_reply *r)
{
    if (c->res.nmods == c->modcap) {
        c->modcap = c->modcap ? 2 * c->modcap : 8;
        c->res.mods = xrealloc(c->res.mods, c->modcap * sizeof *c->res.mods);
    }
    struct milter_mod *m = &c->res.mods[c->res.nmods++];
    memset(m, 0, sizeof *m);
    m->code = r->code;
    m->index = r->index;
    m->name = conn_dup(r->name), m->value = conn_dup(r->value);
    m->addr = conn_dup(r->addr), m->args = conn_dup(r->args), m->text = conn_dup(r->text);
    if (r->code == SMFIR_REPLBODY) {
        m->body = xmalloc(r->bodylen ? r->bodylen : 1);
        memcpy(m->body, r->body, r->bodylen);
        m->bodylen = r->bodylen;
    }
}

/* The option negotiation's reply. */
static void conn_on_optneg(struct milter_conn *c, const struct milter_reply *r)
{
    char err[160];
    struct milter_opts offer = {MILTER_VERSION, c->opts.actions, c->opts.protocol, {0}};
    if (r->code != SMFIR_OPTNEG) {
        conn_fail(c, "reply %s to the option negotiation", milter_reply_name(r->code));
        return;
    }
    if (milter_negotiate(&offer, &r->opts, &c->neg, err, sizeof err) < 0) {
        conn_fail(c, "%s", err);
        return;
    }
    for (int i = 0; i < MILTER_STAGES; i++) {
        c->symlist[i] = conn_dup(r->opts.symlist[i]);
        c->neg.symlist[i] = c->symlist[i];
    }
    c->max = milter_pkt_max(c->neg.protocol);
    conn_finish(c, MILTER_CONTINUE, ST_IDLE);
}

/* A reply to a step. */
static void conn_on_step_reply(struct milter_conn *c, const struct milter_reply *r)
{
    uint32_t need = conn_mod_action(r->code);
    if (need) {
        if (c->step != SMFIC_BODYEOB || !(c->neg.actions & need))
            conn_fail(c, "%s not allowed at %s", milter_reply_name(r->code), conn_step_name(c->step));
        else
            conn_add_mod(c, r);
        return;
    }
    switch (r->code) {
    case SMFIR_PROGRESS: conn_arm(c); return;
    case SMFIR_CONTINUE: conn_finish(c, MILTER_CONTINUE, ST_IDLE); return;
    case SMFIR_ACCEPT: conn_finish(c, MILTER_ACCEPT, ST_IDLE); return;
    case SMFIR_REJECT: conn_finish(c, MILTER_REJECT, ST_IDLE); return;
    case SMFIR_TEMPFAIL: case SMFIR_CONN_FAIL: case SMFIR_SHUTDOWN:
        conn_finish(c, MILTER_TEMPFAIL, ST_IDLE);
        return;
    case SMFIR_DISCARD: conn_finish(c, MILTER_DISCARD, ST_IDLE); return;
    case SMFIR_SKIP:
        conn_finish(c, c->step == SMFIC_BODY ? MILTER_SKIP : MILTER_CONTINUE, ST_IDLE);
        return;
    case SMFIR_REPLYCODE:
        snprintf(c->res.reply, sizeof c->res.reply, "%s", r->text);
        conn_finish(c, r->smtp_code >= 500 ? MILTER_REJECT : MILTER_TEMPFAIL, ST_IDLE);
        return;
    default:
        conn_fail(c, "reply %s not allowed at %s", milter_reply_name(r->code),
                  conn_step_name(c->step));
    }
}

/* Input: every whole packet is handled while a reply is waited for. */
static void conn_on_read(struct bufferevent *bev, void *arg)
{
    struct milter_conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    while (c->state == ST_CONNECTING || c->state == ST_WAITING) {
        size_t avail = evbuffer_get_length(in);
        uint8_t hdr[4];
        if (avail < 4)
            return;
        evbuffer_copyout(in, hdr, 4);
        size_t n = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 | hdr[3];
        size_t want = n <= c->max ? n + 4 : 4; /* a bad length is refused by milter_frame */
        if (avail < want)
            return;
        struct milter_pkt p;
        struct milter_reply r;
        char err[160];
        ssize_t used = milter_frame(evbuffer_pullup(in, (ssize_t)want), want, c->max, &p);
        if (used <= 0) {
            conn_fail(c, "packet of %zu bytes over the limit of %zu", n, c->max);
            return;
        }
        if (milter_reply_parse(&p, &r, err, sizeof err) < 0) {
            conn_fail(c, "bad reply: %s", err);
            return;
        }
        if (c->state == ST_CONNECTING)
            conn_on_optneg(c, &r);
        else
            conn_on_step_reply(c, &r);
        evbuffer_drain(in, (size_t)used); /* r pointed into it until now */
    }
    if (evbuffer_get_length(in) > 0 && c->state == ST_IDLE)
        conn_fail(c, "reply while no step was waiting");
}

/* Connected, closed or failed. */
static void conn_on_event(struct bufferevent *bev, short what, void *arg)
{
    struct milter_conn *c = arg;
    (void)bev;
    if (what & BEV_EVENT_CONNECTED) {
        uint8_t buf[32];
        struct milter_out o = {buf, sizeof buf, 0, 0, false};
        struct milter_opts offer = {MILTER_VERSION, c->opts.actions, c->opts.protocol, {0}};
        size_t len = milter_fmt_optneg(&o, &offer);
        bufferevent_write(c->bev, buf, len);
        return;
    }
    if (what & BEV_EVENT_EOF)
        conn_fail(c, "the milter closed the connection");
    else
        conn_fail(c, "%s", strerror(EVUTIL_SOCKET_ERROR() ? EVUTIL_SOCKET_ERROR() : EIO));
}

/* ---- lifecycle -------------------------------------------------------------------------- */

/* The socket address of t; its length, or 0. */
static socklen_t conn_addr(const struct milter_target *t, struct sockaddr_storage *ss)
{
    socklen_t len = 0;
    memset(ss, 0, sizeof *ss);
    if (t->unix_socket) {
        struct sockaddr_un *un = (struct sockaddr_un *)ss;
        un->sun_family = AF_UNIX;
        memcpy(un->sun_path, t->path, strnlen(t->path, sizeof un->sun_path - 1));
        return (socklen_t)sizeof *un;
    }
    return cidr_sockaddr_parse(t->host, t->port, ss, &len) == 0 ? len : 0;
}

struct milter_conn *milter_conn_open(struct event_base *base, const struct milter_target *t,
                                     const struct milter_conn_opts *opts, milter_conn_fn cb,
                                     void *arg)
{
    struct milter_conn *c = xcalloc(1, sizeof *c);
    struct sockaddr_storage ss;
    socklen_t len = conn_addr(t, &ss);
    c->opts = *opts;
    snprintf(c->name, sizeof c->name, "%s", opts->name ? opts->name : "?");
    c->cb = cb, c->arg = arg;
    c->max = MILTER_PKT_MAX;
    c->timer = evtimer_new(base, conn_on_timer, c);
    c->report = event_new(base, -1, 0, conn_on_report, c);
    c->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (!c->timer || !c->report || !c->bev)
        log_panic("milter: out of memory");
    bufferevent_setcb(c->bev, conn_on_read, NULL, conn_on_event, c);
    c->state = ST_CONNECTING;
    c->wait_ms = opts->connect_timeout_ms;
    if (len == 0 || bufferevent_socket_connect(c->bev, (struct sockaddr *)&ss, (int)len) < 0) {
        conn_fail(c, "cannot connect: %s", len == 0 ? "bad address" : strerror(errno ? errno : ECONNREFUSED));
        return c;
    }
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    conn_arm(c);
    return c;
}

void milter_conn_free(struct milter_conn *c)
{
    static const uint8_t quit[5] = {0, 0, 0, 1, SMFIC_QUIT};
    if (!c)
        return;
    if (c->state == ST_IDLE) { /* best effort: the milter also sees the close */
        bufferevent_write(c->bev, quit, sizeof quit);
        bufferevent_flush(c->bev, EV_WRITE, BEV_FLUSH);
    }
    conn_clear(c);
    for (int i = 0; i < MILTER_STAGES; i++)
        free(c->symlist[i]);
    bufferevent_free(c->bev);
    event_free(c->timer);
    event_free(c->report);
    free(c);
}
