/* auth_dovecot: the Dovecot backend, a client of Dovecot's auth-client socket (the
 * `service auth { unix_listener ... }` that Postfix's smtpd_sasl_path names), speaking
 * proto/dovecot_auth over one libevent bufferevent.
 *
 * One connection carries every request, multiplexed by id (1, 2, ... per connection). It
 * is opened on demand (first request, or a request after it closed) and kept open while
 * Dovecot keeps it. State: DOWN -> HANDSHAKE (hello sent, reading VERSION..DONE) -> READY.
 * Requests queue in `waiting` until READY, then go out as AUTH PLAIN with the initial
 * response base64(authzid NUL user NUL password), service=, lip=, rip= and "secured" for
 * TLS sessions, and move to `sent`.
 *
 * Replies: OK -> AUTH_OK with Dovecot's user= (else the given name), except OK with
 * nologin/proxy -> AUTH_FAIL (the protocol forbids letting such a user in); FAIL ->
 * AUTH_FAIL, or AUTH_TEMPFAIL with temp / code=temp_fail; CONT (never expected, PLAIN has
 * its initial response) -> AUTH_TEMPFAIL. Replies for unknown ids (cancelled or timed
 * out) are ignored. Malformed lines are logged (sanitized) and ignored; a line longer than
 * DOVECOT_LINE_MAX or a bad handshake (major version, no PLAIN) closes the connection.
 *
 * Dovecot restarts: when a READY connection closes or fails (Dovecot restarted, its auth
 * process died), each request sent on it is queued again once (it goes out on the next
 * connection) and fails AUTH_TEMPFAIL the second time, and the connection is reopened at
 * once if anything waits. A connection that fails before it is READY (socket missing,
 * refused, closed or malformed during the handshake, no PLAIN offered, handshake timeout)
 * fails every pending request with AUTH_TEMPFAIL instead, so a broken Dovecot never makes
 * a reconnect loop; the next request tries again. Every request has its own deadline
 * (timeout_ms from its start) -> AUTH_TEMPFAIL; a handshake that does not
 * finish within timeout_ms closes the connection. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <openssl/crypto.h>

#include "auth/auth_int.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "proto/dovecot_auth.h"

/* base64 of a PLAIN message of three maximal fields */
#define DV_RESP_MAX (4 * ((3 * (SASL_FIELD_MAX + 1) + 2) / 3) + 1)

enum dv_state { DV_DOWN, DV_HANDSHAKE, DV_READY };

struct dv_entry {
    struct auth_dovecot *d;
    struct auth_req *req;
    uint32_t id;         /* 0 while waiting */
    bool retried;        /* already re-queued once after a lost connection */
    struct event *timer; /* the request's deadline */
    char resp[DV_RESP_MAX];
    struct dv_entry *prev, *next;
    struct dv_entry **list; /* &d->waiting or &d->sent */
};

struct auth_dovecot {
    struct event_base *base;
    struct sockaddr_un sun;
    char *service;
    struct timeval timeout;
    struct bufferevent *bev;
    enum dv_state state;
    struct dovecot_handshake hs;
    struct event *hs_timer;
    uint32_t next_id;
    unsigned gen; /* bumped by every close: tells callbacks their connection is gone */
    struct dv_entry *waiting, *waiting_tail, *sent;
};

static void dv_connect(struct auth_dovecot *d);
static void dv_close(struct auth_dovecot *d, const char *why, bool retry);

/* Appends e to a list (waiting keeps FIFO order through its tail). */
static void dv_link(struct auth_dovecot *d, struct dv_entry *e, struct dv_entry **list)
{
    e->list = list;
    e->next = NULL;
    if (list == &d->waiting) {
        e->prev = d->waiting_tail;
        if (d->waiting_tail)
            d->waiting_tail->next = e;
        else
            d->waiting = e;
        d->waiting_tail = e;
        return;
    }
    e->prev = NULL;
    e->next = *list;
    if (*list)
        (*list)->prev = e;
    *list = e;
}

/* Removes e from its list. */
static void dv_unlink(struct auth_dovecot *d, struct dv_entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        *e->list = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else if (e->list == &d->waiting)
        d->waiting_tail = e->prev;
    e->prev = e->next = NULL;
    e->list = NULL;
}

/* Unlinks and frees an entry (its response wiped). */
static void dv_entry_free(struct auth_dovecot *d, struct dv_entry *e)
{
    if (e->list)
        dv_unlink(d, e);
    if (e->req)
        e->req->be = NULL;
    event_free(e->timer);
    OPENSSL_cleanse(e, sizeof *e);
    free(e);
}

/* Finishes an entry's request and frees the entry. */
static void dv_finish(struct auth_dovecot *d, struct dv_entry *e, enum auth_result r,
                      const char *user, const char *reason)
{
    struct auth_req *req = e->req;
    dv_entry_free(d, e);
    auth_req_finish(req, r, user, "dovecot: %s", reason);
}

/* Fails every waiting request. */
static void dv_fail_waiting(struct auth_dovecot *d, const char *reason)
{
    while (d->waiting)
        dv_finish(d, d->waiting, AUTH_TEMPFAIL, NULL, reason);
}

/* Sends one waiting entry: it gets an id and moves to `sent`. */
static void dv_send(struct auth_dovecot *d, struct dv_entry *e)
{
    char line[DOVECOT_LINE_MAX + 2];
    if (++d->next_id == 0)
        d->next_id = 1;
    struct dovecot_auth_req r = {.id = d->next_id, .mech = "PLAIN", .service = d->service,
                                 .lip = e->req->local[0] ? e->req->local : NULL,
                                 .rip = e->req->client[0] ? e->req->client : NULL,
                                 .secured = e->req->secured, .resp = e->resp};
    ssize_t n = dovecot_auth_format(&r, line, sizeof line);
    if (n < 0) {
        dv_finish(d, e, AUTH_TEMPFAIL, NULL, "request does not fit a line");
        return;
    }
    dv_unlink(d, e);
    e->id = r.id;
    dv_link(d, e, &d->sent);
    bufferevent_write(d->bev, line, (size_t)n);
    OPENSSL_cleanse(line, (size_t)n);
}

/* Sends everything waiting (the connection is READY). */
static void dv_flush(struct auth_dovecot *d)
{
    while (d->waiting && d->state == DV_READY)
        dv_send(d, d->waiting);
}

/* Acts on one reply line. */
static void dv_reply(struct auth_dovecot *d, const char *line, size_t len)
{
    struct dovecot_reply r;
    char safe[128];
    if (dovecot_reply_parse(line, len, &r) < 0) {
        log_warn("auth: dovecot: ignoring line \"%s\"", log_sanitize(safe, sizeof safe, line, len));
        return;
    }
    struct dv_entry *e = d->sent;
    while (e && e->id != r.id)
        e = e->next;
    if (e == NULL)
        return; /* cancelled or timed out */
    const char *reason = r.reason[0] ? r.reason : NULL;
    if (r.kind == DOVECOT_CONT)
        dv_finish(d, e, AUTH_TEMPFAIL, NULL, "unexpected CONT");
    else if (r.kind == DOVECOT_OK && r.nologin)
        dv_finish(d, e, AUTH_FAIL, NULL, reason ? reason : "login not allowed (nologin)");
    else if (r.kind == DOVECOT_OK)
        dv_finish(d, e, AUTH_OK, r.user[0] ? r.user : NULL, "ok");
    else if (r.temp)
        dv_finish(d, e, AUTH_TEMPFAIL, NULL, reason ? reason : "temporary failure");
    else
        dv_finish(d, e, AUTH_FAIL, NULL, reason ? reason : "authentication failed");
}

/* Acts on one handshake line; may close the connection. */
static void dv_handshake(struct auth_dovecot *d, const char *line, size_t len)
{
    const char *why;
    int r = dovecot_handshake_line(&d->hs, line, len, &why);
    if (r == DOVECOT_HS_ERROR) {
        dv_close(d, why, false);
        return;
    }
    if (r != DOVECOT_HS_DONE)
        return;
    if (!(d->hs.mechs & SASL_MECH_PLAIN)) {
        dv_close(d, "server offers no PLAIN mechanism", false);
        return;
    }
    evtimer_del(d->hs_timer);
    d->state = DV_READY;
    dv_flush(d);
}

/* Loop: lines from Dovecot. */
static void dv_on_read(struct bufferevent *bev, void *arg)
{
    struct auth_dovecot *d = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    unsigned gen = d->gen;
    size_t len;
    char *line;
    while (d->gen == gen && (line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF)) != NULL) {
        if (d->state == DV_HANDSHAKE)
            dv_handshake(d, line, len);
        else
            dv_reply(d, line, len);
        free(line);
    }
    if (d->gen == gen && evbuffer_get_length(in) > DOVECOT_LINE_MAX)
        dv_close(d, "line too long", false);
}

/* Loop: connected, closed or failed. Only a connection that was READY is worth retrying:
 * one that fails before (refused, closed during the handshake) fails its requests. */
static void dv_on_event(struct bufferevent *bev, short what, void *arg)
{
    struct auth_dovecot *d = arg;
    (void)bev;
    if (what & BEV_EVENT_CONNECTED) {
        char hello[64];
        ssize_t n = dovecot_hello_format((unsigned long)getpid(), hello, sizeof hello);
        bufferevent_write(d->bev, hello, (size_t)n);
        bufferevent_enable(d->bev, EV_READ);
        return;
    }
    char why[160];
    int e = EVUTIL_SOCKET_ERROR();
    snprintf(why, sizeof why, "%s", (what & BEV_EVENT_ERROR) && e ? strerror(e)
                                                                   : "connection closed");
    dv_close(d, why, d->state == DV_READY);
}

/* Loop: the handshake took too long. */
static void dv_on_hs_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    dv_close(arg, "handshake timed out", false);
}

/* Closes the connection. With retry, sent requests are queued again once (else they fail)
 * and the connection is reopened when anything waits; without, everything pending fails. */
static void dv_close(struct auth_dovecot *d, const char *why, bool retry)
{
    if (d->bev == NULL)
        return;
    log_warn("auth: dovecot %s: %s", d->sun.sun_path, why);
    bufferevent_free(d->bev);
    d->bev = NULL;
    d->gen++;
    d->state = DV_DOWN;
    evtimer_del(d->hs_timer);
    while (d->sent) {
        struct dv_entry *e = d->sent;
        if (!retry || e->retried) {
            dv_finish(d, e, AUTH_TEMPFAIL, NULL, why);
            continue;
        }
        dv_unlink(d, e);
        e->retried = true;
        e->id = 0;
        dv_link(d, e, &d->waiting);
    }
    if (!retry)
        dv_fail_waiting(d, why);
    else if (d->waiting)
        dv_connect(d);
}

/* Opens the connection and starts the handshake. */
static void dv_connect(struct auth_dovecot *d)
{
    memset(&d->hs, 0, sizeof d->hs);
    d->next_id = 0;
    d->bev = bufferevent_socket_new(d->base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (d->bev == NULL)
        log_panic("auth: bufferevent_socket_new failed");
    bufferevent_setcb(d->bev, dv_on_read, NULL, dv_on_event, d);
    d->state = DV_HANDSHAKE;
    evtimer_add(d->hs_timer, &d->timeout);
    if (bufferevent_socket_connect(d->bev, (struct sockaddr *)&d->sun, sizeof d->sun) < 0) {
        char why[160];
        snprintf(why, sizeof why, "cannot connect: %s", strerror(errno));
        dv_close(d, why, false);
    }
}

/* Loop: one request's deadline passed. */
static void dv_on_req_timeout(evutil_socket_t fd, short what, void *arg)
{
    struct dv_entry *e = arg;
    (void)fd;
    (void)what;
    dv_finish(e->d, e, AUTH_TEMPFAIL, NULL, "no answer in time");
}

struct auth_dovecot *auth_dovecot_create(struct event_base *base, const char *socket,
                                         const char *service, unsigned timeout_ms, char *err,
                                         size_t errlen)
{
    struct auth_dovecot *d = xcalloc(1, sizeof *d);
    if (strlen(socket) >= sizeof d->sun.sun_path || strpbrk(service, "\t\n\r") ||
        !*service) {
        snprintf(err, errlen, "auth: dovecot socket path too long or bad service name");
        free(d);
        return NULL;
    }
    d->base = base;
    d->sun.sun_family = AF_UNIX;
    snprintf(d->sun.sun_path, sizeof d->sun.sun_path, "%s", socket);
    d->service = xstrdup(service);
    d->timeout.tv_sec = timeout_ms / 1000;
    d->timeout.tv_usec = (long)(timeout_ms % 1000) * 1000;
    d->hs_timer = evtimer_new(base, dv_on_hs_timeout, d);
    return d;
}

void auth_dovecot_start(struct auth_dovecot *d, struct auth_req *req)
{
    struct dv_entry *e = xcalloc(1, sizeof *e);
    if (sasl_plain_format(req->authzid, req->user, req->password, e->resp, sizeof e->resp) <
        0) {
        free(e);
        auth_req_finish(req, AUTH_FAIL, NULL, "dovecot: credentials do not fit PLAIN");
        return;
    }
    e->d = d;
    e->req = req;
    e->timer = evtimer_new(d->base, dv_on_req_timeout, e);
    evtimer_add(e->timer, &d->timeout);
    req->be = e;
    dv_link(d, e, &d->waiting);
    if (d->state == DV_READY)
        dv_flush(d);
    else if (d->state == DV_DOWN)
        dv_connect(d);
}

void auth_dovecot_cancel(struct auth_dovecot *d, struct auth_req *req)
{
    struct dv_entry *e = req->be;
    if (e == NULL)
        return;
    e->req = NULL;
    dv_entry_free(d, e);
}

void auth_dovecot_free(struct auth_dovecot *d)
{
    if (d == NULL)
        return;
    while (d->waiting)
        dv_entry_free(d, d->waiting);
    while (d->sent)
        dv_entry_free(d, d->sent);
    if (d->bev)
        bufferevent_free(d->bev);
    event_free(d->hs_timer);
    free(d->service);
    free(d);
}
