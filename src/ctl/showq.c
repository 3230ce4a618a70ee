/* ctl/showq: the read-only queue listing socket SPOOL/showq.sock, bound only when
 * mailq_users = "all" (Postfix's public showq service). It is a listener of its own, not
 * the control socket: a client (any uid; the spool, mode 0710 group sluicedrop, lets only
 * the set-group-id helper sluice-postdrop reach it) sends one line, "showq" or
 * "showq --json", and gets the listing built from the scheduler's memory (view_showq:
 * Postfix's mailq text or postqueue -j), as a control reply: "OK", the dot-stuffed body,
 * "."; then the connection ends. Anything else (another command, an over-long line) gets
 * "ERR ..." and the end: no other command exists here, so nothing can be changed
 * through this socket. The listing shows what Postfix's mailq shows every user (ids, sizes,
 * times, senders, recipients, delay reasons), never content. */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "conf/conf.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "ctl/internal.h"

#define SHOWQ_LINE_MAX 64   /* bytes of the request line */
#define SHOWQ_TIMEOUT_S 30  /* a client that says nothing is dropped */

struct ctl_showq {
    const struct ctl_env *env;
    char *path;
    struct evconnlistener *lev;
    struct showq_sess *sessions;
};

struct showq_sess {
    struct ctl_showq *sq;
    struct bufferevent *bev;
    struct showq_sess *prev, *next;
    int uid;
    bool done; /* the reply is queued: end once it is written */
};

const char *ctl_showq_path(const struct conf *c, char *buf, size_t len)
{
    snprintf(buf, len, "%s/showq.sock", c->spool);
    return buf;
}

/* Frees one session. */
static void showq_sess_free(struct showq_sess *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        s->sq->sessions = s->next;
    if (s->next)
        s->next->prev = s->prev;
    bufferevent_free(s->bev);
    free(s);
}

/* Queues a reply (status, dot-stuffed body, terminator); the session ends once written. */
static void showq_reply(struct showq_sess *s, const char *status, struct evbuffer *body)
{
    struct evbuffer *out = bufferevent_get_output(s->bev);
    evbuffer_add_printf(out, "%s\n", status);
    size_t n;
    char *line;
    while (body && (line = evbuffer_readln(body, &n, EVBUFFER_EOL_LF))) {
        evbuffer_add_printf(out, "%s%s\n", line[0] == '.' ? "." : "", line);
        free(line);
    }
    evbuffer_add(out, ".\n", 2);
    s->done = true;
    bufferevent_disable(s->bev, EV_READ);
}

/* The request line (without its LF): "showq" or "showq --json", else refused. */
static void showq_request(struct showq_sess *s, const char *line, size_t len)
{
    if (len && line[len - 1] == '\r')
        len--;
    bool text = len == 5 && memcmp(line, "showq", 5) == 0;
    bool json = len == 12 && memcmp(line, "showq --json", 12) == 0;
    if (!text && !json) {
        log_warn("ctl: showq socket: uid %d: refused a request other than showq", s->uid);
        showq_reply(s, "ERR this socket only lists the queue (showq [--json])", NULL);
        return;
    }
    struct evbuffer *body = evbuffer_new();
    view_showq(s->sq->env, body, json);
    showq_reply(s, "OK", body);
    evbuffer_free(body);
    log_debug("ctl: showq socket: uid %d: listed the queue", s->uid);
}

/* bufferevent read callback: one line, at most SHOWQ_LINE_MAX bytes. */
static void showq_on_read(struct bufferevent *bev, void *arg)
{
    struct showq_sess *s = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t n;
    if (s->done)
        return;
    struct evbuffer_ptr eol = evbuffer_search_eol(in, NULL, &n, EVBUFFER_EOL_LF);
    if (eol.pos < 0 ? evbuffer_get_length(in) > SHOWQ_LINE_MAX : eol.pos > SHOWQ_LINE_MAX) {
        log_warn("ctl: showq socket: uid %d: request line too long", s->uid);
        showq_reply(s, "ERR request line too long", NULL);
        return;
    }
    if (eol.pos < 0)
        return;
    char line[SHOWQ_LINE_MAX + 1];
    evbuffer_remove(in, line, (size_t)eol.pos);
    showq_request(s, line, (size_t)eol.pos);
}

/* bufferevent write callback: the reply is out. */
static void showq_on_write(struct bufferevent *bev, void *arg)
{
    (void)bev;
    if (((struct showq_sess *)arg)->done)
        showq_sess_free(arg);
}

/* bufferevent event callback: EOF, error or timeout. */
static void showq_on_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    (void)what;
    showq_sess_free(arg);
}

/* A client: any uid (logged). */
static void showq_on_accept(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
                            int salen, void *arg)
{
    struct ctl_showq *sq = arg;
    struct ucred cr = {.uid = (uid_t)-1};
    socklen_t l = sizeof cr;
    (void)lev;
    (void)sa;
    (void)salen;
    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &l);
    struct showq_sess *s = xcalloc(1, sizeof *s);
    s->sq = sq;
    s->uid = (int)cr.uid;
    s->bev = bufferevent_socket_new(sq->env->base, fd, BEV_OPT_CLOSE_ON_FREE);
    struct timeval tv = {SHOWQ_TIMEOUT_S, 0};
    bufferevent_set_timeouts(s->bev, &tv, &tv);
    bufferevent_setcb(s->bev, showq_on_read, showq_on_write, showq_on_event, s);
    s->next = sq->sessions;
    if (sq->sessions)
        sq->sessions->prev = s;
    sq->sessions = s;
    bufferevent_enable(s->bev, EV_READ | EV_WRITE);
}

struct ctl_showq *ctl_showq_create(const struct ctl_env *env, char *err, size_t errlen)
{
    struct ctl_showq *sq = xcalloc(1, sizeof *sq);
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    char path[sizeof sun.sun_path + 16];
    sq->env = env;
    ctl_showq_path(env->conf, path, sizeof path);
    if (strlen(path) >= sizeof sun.sun_path) {
        snprintf(err, errlen, "showq socket: path too long: %s", path);
        free(sq);
        return NULL;
    }
    memcpy(sun.sun_path, path, strlen(path) + 1);
    unlink(path);
    mode_t old = umask(0111); /* 0666: the spool directory decides who reaches it */
    sq->lev = evconnlistener_new_bind(env->base, showq_on_accept, sq,
                                      LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 16,
                                      (struct sockaddr *)&sun, sizeof sun);
    umask(old);
    if (!sq->lev) {
        snprintf(err, errlen, "showq socket %s: %s", path, strerror(errno));
        free(sq);
        return NULL;
    }
    sq->path = xstrdup(path);
    struct passwd *pw = geteuid() == 0 ? getpwnam(env->conf->user) : NULL;
    if (pw && chown(path, pw->pw_uid, pw->pw_gid) < 0)
        log_warn("ctl: cannot give %s to %s: %s", path, env->conf->user, strerror(errno));
    log_info("ctl: showq socket %s (mailq_users = all)", path);
    return sq;
}

void ctl_showq_free(struct ctl_showq *sq)
{
    if (!sq)
        return;
    while (sq->sessions)
        showq_sess_free(sq->sessions);
    evconnlistener_free(sq->lev);
    unlink(sq->path);
    free(sq->path);
    free(sq);
}
