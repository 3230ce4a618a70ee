/* delegate: policy delegation requests over a socket (contract in delegate.h). */
#include "policy/delegate.h"

#include <arpa/inet.h>
#include <errno.h>
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

struct delegate_req {
    struct bufferevent *bev;
    struct event *timer; /* the timeout, or the zero-delay report of an early failure */
    delegate_fn cb;
    void *arg;
    char why[160];
    bool failed; /* the timer reports why instead of a timeout */
};

/* Frees the request (no callback). */
void delegate_cancel(struct delegate_req *q)
{
    if (!q)
        return;
    if (q->bev)
        bufferevent_free(q->bev);
    if (q->timer)
        event_free(q->timer);
    free(q);
}

/* Ends the request with a reply or a reason, then frees it. */
static void delegate_end(struct delegate_req *q, const struct policyd_reply *r, const char *why)
{
    delegate_fn cb = q->cb;
    void *arg = q->arg;
    char w[sizeof q->why];
    snprintf(w, sizeof w, "%s", why ? why : "");
    delegate_cancel(q);
    cb(arg, r, r ? NULL : w);
}

/* Input arrived: a complete reply ends the request. */
static void delegate_on_read(struct bufferevent *bev, void *arg)
{
    struct delegate_req *q = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t len = evbuffer_get_length(in);
    size_t n = len < POLICYD_REPLY_MAX ? len : POLICYD_REPLY_MAX;
    const char *buf = (const char *)evbuffer_pullup(in, (ssize_t)n);
    struct policyd_reply r;
    long rc = policyd_reply_parse(buf, n, &r);
    if (rc > 0)
        delegate_end(q, &r, NULL);
    else if (rc < 0 || len >= POLICYD_REPLY_MAX)
        delegate_end(q, NULL,
                     "a reply that is not a policy reply (no action=, bad line, or too long)");
}

/* Connected, closed or failed. */
static void delegate_on_event(struct bufferevent *bev, short what, void *arg)
{
    struct delegate_req *q = arg;
    (void)bev;
    if (what & BEV_EVENT_CONNECTED)
        return;
    if (what & BEV_EVENT_EOF) {
        delegate_end(q, NULL, "the server closed the connection before a complete reply");
        return;
    }
    char why[128];
    snprintf(why, sizeof why, "%s", strerror(EVUTIL_SOCKET_ERROR() ? EVUTIL_SOCKET_ERROR() : EIO));
    delegate_end(q, NULL, why);
}

/* The timeout passed, or an early failure is being reported. */
static void delegate_on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct delegate_req *q = arg;
    (void)fd;
    (void)what;
    delegate_end(q, NULL, q->failed ? q->why : "timed out");
}

/* Fills the address of svc; its length, or 0. */
static socklen_t delegate_addr(const struct policyd_service *svc, struct sockaddr_storage *ss)
{
    socklen_t len = 0;
    memset(ss, 0, sizeof *ss);
    if (svc->unix_socket) {
        struct sockaddr_un *un = (struct sockaddr_un *)ss;
        un->sun_family = AF_UNIX;
        memcpy(un->sun_path, svc->target, strnlen(svc->target, sizeof un->sun_path - 1));
        return (socklen_t)sizeof *un;
    }
    return cidr_sockaddr_parse(svc->host, svc->port, ss, &len) == 0 ? len : 0;
}

struct delegate_req *delegate_start(struct event_base *base, const struct policyd_service *svc,
                                    uint64_t timeout_ms, const char *request, delegate_fn cb,
                                    void *arg)
{
    struct delegate_req *q = xcalloc(1, sizeof *q);
    struct sockaddr_storage ss;
    socklen_t len = delegate_addr(svc, &ss);
    q->cb = cb;
    q->arg = arg;
    q->timer = evtimer_new(base, delegate_on_timer, q);
    q->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (!q->timer || !q->bev)
        log_panic("delegate: out of memory");
    struct timeval tv = {(time_t)(timeout_ms / 1000), (suseconds_t)(timeout_ms % 1000) * 1000};
    bufferevent_setcb(q->bev, delegate_on_read, NULL, delegate_on_event, q);
    bufferevent_setwatermark(q->bev, EV_READ, 0, POLICYD_REPLY_MAX + 1);
    if (len == 0 || bufferevent_socket_connect(q->bev, (struct sockaddr *)&ss, (int)len) < 0) {
        snprintf(q->why, sizeof q->why, "cannot connect: %s",
                 len == 0 ? "bad address" : strerror(errno ? errno : ECONNREFUSED));
        q->failed = true;
        tv.tv_sec = 0, tv.tv_usec = 0;
    } else {
        evbuffer_add(bufferevent_get_output(q->bev), request, strlen(request));
        bufferevent_enable(q->bev, EV_READ | EV_WRITE);
    }
    evtimer_add(q->timer, &tv);
    return q;
}
