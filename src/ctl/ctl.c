/* ctl: listeners, sessions, authentication and dispatch of the control channel (ctl.h).
 * A session reads one line (at most CTL_LINE_MAX bytes and its CR LF), parses it with
 * ctlproto_parse(), checks the session's attributes, runs the command and writes the
 * reply: status line, body lines (dot-stuffed), ".". Reading is off while a request is
 * being served (an operation waits for its queue commit; auth for the worker threads). */
#include "ctl/ctl.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "auth/auth.h"
#include "conf/conf.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "ctl/internal.h"
#include "deliver/deliver.h"
#include "proto/ctlproto.h"
#include "core/qid.h"
#include "proto/addr.h"
#include "sched/sched.h"
#include "suppress/suppress.h"

#define CTL_TIMEOUT_S 300  /* an idle session ends */
#define CTL_AUTH_TRIES 3   /* bad passwords before the session ends */
#define CTL_USERS_MAX 1024 /* authfile users */
#define CTL_AUTHFILE_MAX (1024 * 1024)

struct ctl {
    struct ctl_env env;
    char *sock_path;
    struct evconnlistener *unix_lev;
    struct evconnlistener **tcp_lev;
    size_t ntcp;
    struct auth *auth;             /* TCP: password checks (file backend, worker threads) */
    struct ctl_authuser *users;    /* TCP: the authfile's users */
    size_t nusers;
    struct ctl_sess *sessions;
    struct ctl_showq *showq; /* mailq_users = "all": the read-only listing socket */
};

struct ctl_sess {
    struct ctl *c;
    struct bufferevent *bev;
    struct ctl_sess *prev, *next;
    char who[160]; /* "uid 0" / "user@1.2.3.4" for the log */
    char peer[64]; /* TCP: the client's address */
    unsigned attrs;      /* CTL_A_* allowed now */
    const struct ctl_authuser *cand; /* auth pending: the user being checked */
    uint64_t auth_id;
    unsigned bad_auth;
    bool tcp;
    bool busy;    /* a request is being served */
    bool closing; /* the client went away while busy: free once done */
    bool quit;    /* close once the reply is written */
    bool in_read; /* inside ctl_sess_read: it goes on by itself after a reply */
    size_t count; /* the operation's count of messages changed */
    char supp_addr[ADDR_MAX + 1]; /* suppress add/remove: the address being edited */
    enum ctl_cmd cmd;
};

static void ctl_sess_read(struct ctl_sess *s);

/* ---- sessions ---------------------------------------------------------------------- */

/* Frees a session now. */
static void ctl_sess_free(struct ctl_sess *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        s->c->sessions = s->next;
    if (s->next)
        s->next->prev = s->prev;
    if (s->auth_id && s->c->auth)
        auth_cancel(s->c->auth, s->auth_id);
    bufferevent_free(s->bev);
    free(s);
}

/* Ends a session: now, or once the request being served is done. */
static void ctl_sess_end(struct ctl_sess *s)
{
    if (s->busy && !s->auth_id) {
        s->closing = true;
        bufferevent_disable(s->bev, EV_READ | EV_WRITE);
        return;
    }
    ctl_sess_free(s);
}

/* Writes a reply: status line, body (dot-stuffed), terminator. */
static void ctl_reply(struct ctl_sess *s, bool ok, const char *text, struct evbuffer *body)
{
    struct evbuffer *out = bufferevent_get_output(s->bev);
    evbuffer_add_printf(out, "%s%s%s\n", ok ? "OK" : "ERR", text && *text ? " " : "",
                        text ? text : (ok ? "" : "failed"));
    size_t n;
    char *line;
    while (body && (line = evbuffer_readln(body, &n, EVBUFFER_EOL_LF))) {
        evbuffer_add_printf(out, "%s%s\n", line[0] == '.' ? "." : "", line);
        free(line);
    }
    evbuffer_add(out, ".\n", 2);
}

/* The request is answered: log it, then read the next one (or end the session). */
static void ctl_done(struct ctl_sess *s, bool ok, const char *text, struct evbuffer *body)
{
    s->busy = false;
    if (s->closing) {
        ctl_sess_free(s);
        return;
    }
    ctl_reply(s, ok, text, body);
    if (ok)
        log_debug("ctl: %s: %s: OK %s", s->who, ctlproto_cmd_name(s->cmd), text ? text : "");
    else
        log_warn("ctl: %s: %s refused: %s", s->who, ctlproto_cmd_name(s->cmd), text);
    bufferevent_enable(s->bev, EV_READ);
    if (!s->in_read)
        ctl_sess_read(s);
}

/* ---- commands ---------------------------------------------------------------------- */

/* sched_apply's done: the writes are durable (or failed). */
static void ctl_on_applied(void *arg, int err)
{
    struct ctl_sess *s = arg;
    char text[128];
    if (err) {
        snprintf(text, sizeof text, "queue write failed: %s", strerror(err));
        ctl_done(s, false, text, NULL);
        return;
    }
    snprintf(text, sizeof text, "%zu message%s", s->count, s->count == 1 ? "" : "s");
    log_info("ctl: %s: %s: %s", s->who, ctlproto_cmd_name(s->cmd), text);
    ctl_done(s, true, text, NULL);
}

/* hold, release, delete, requeue, bounce. */
static void ctl_cmd_msgop(struct ctl_sess *s, const struct ctl_req *r)
{
    static const enum sched_op ops[] = {[CTL_HOLD] = SCHED_HOLD,
                                        [CTL_RELEASE] = SCHED_RELEASE,
                                        [CTL_DELETE] = SCHED_DELETE,
                                        [CTL_REQUEUE] = SCHED_REQUEUE,
                                        [CTL_BOUNCE] = SCHED_BOUNCE};
    struct sched_select sel = {.qid = r->qid, .from = r->from, .to = r->to, .dest = r->dest};
    if (r->qid && sched_view(s->c->env.sched, r->qid, NULL, NULL) < 0) {
        char text[64];
        snprintf(text, sizeof text, "no such message %s", r->qid);
        ctl_done(s, false, text, NULL);
        return;
    }
    s->count = sched_apply(s->c->env.sched, ops[r->cmd], &sel, ctl_on_applied, s);
}

/* pause, resume, forget, flush. */
static void ctl_cmd_dest(struct ctl_sess *s, const struct ctl_req *r)
{
    char text[128];
    const struct ctl_env *e = &s->c->env;
    bool changed;
    switch (r->cmd) {
    case CTL_PAUSE:
    case CTL_RESUME:
        changed = sched_pause(e->sched, r->domain, r->cmd == CTL_PAUSE);
        snprintf(text, sizeof text, "%s %s%s", r->domain,
                 r->cmd == CTL_PAUSE ? "paused" : "resumed", changed ? "" : " already");
        break;
    case CTL_FORGET:
        deliver_forget(e->dl, r->domain);
        snprintf(text, sizeof text, "%s may be tried again", r->domain);
        break;
    default:
        snprintf(text, sizeof text, "%zu recipients made due",
                 sched_flush_domain(e->sched, r->domain, false));
        break;
    }
    log_info("ctl: %s: %s: %s", s->who, ctlproto_cmd_name(r->cmd), text);
    ctl_done(s, true, text, NULL);
}

/* queue, qshape, show, conns, stats: a body. */
static void ctl_cmd_view(struct ctl_sess *s, const struct ctl_req *r)
{
    const struct ctl_env *e = &s->c->env;
    struct evbuffer *body = evbuffer_new();
    switch (r->cmd) {
    case CTL_QUEUE:
        view_queue(e, body, r->json);
        break;
    case CTL_QSHAPE:
        view_qshape(e, body, r->json);
        break;
    case CTL_CONNS:
        view_conns(e, body, r->json);
        break;
    case CTL_STATS:
        view_stats(e, body, r->json);
        break;
    default:
        if (view_show(e, r->qid, body, r->json) < 0) {
            char text[64];
            snprintf(text, sizeof text, "no such message %s", r->qid);
            evbuffer_free(body);
            ctl_done(s, false, text, NULL);
            return;
        }
    }
    ctl_done(s, true, NULL, body);
    evbuffer_free(body);
}

/* kill, reload, version, quit. */
static void ctl_cmd_misc(struct ctl_sess *s, const struct ctl_req *r)
{
    char text[96];
    const struct ctl_env *e = &s->c->env;
    switch (r->cmd) {
    case CTL_KILL:
        if (deliver_kill(e->dl, r->conn) < 0) {
            snprintf(text, sizeof text, "no such connection %llu", (unsigned long long)r->conn);
            ctl_done(s, false, text, NULL);
            return;
        }
        snprintf(text, sizeof text, "connection %llu killed", (unsigned long long)r->conn);
        break;
    case CTL_RELOAD: {
        char msg[1200] = "reloaded";
        log_info("ctl: %s: reload", s->who);
        /* a refused reload (bad file) is an error reply: the running configuration stays */
        bool ok = !e->reload || e->reload(e->reload_arg, msg, sizeof msg) == 0;
        ctl_done(s, ok, msg, NULL);
        return;
    }
    case CTL_VERSION:
        snprintf(text, sizeof text, "sluice %s", e->version ? e->version : "?");
        break;
    default:
        s->quit = true;
        snprintf(text, sizeof text, "bye");
        break;
    }
    ctl_done(s, true, text, NULL);
}

/* suppress_edit's done: the edit is committed (or failed). */
static void ctl_on_supp_edited(void *arg, int rc)
{
    struct ctl_sess *s = arg;
    char text[ADDR_MAX + 64];
    bool add = s->count == 1;
    if (rc < 0)
        snprintf(text, sizeof text, "suppression list write failed");
    else if (!add && rc == 0)
        snprintf(text, sizeof text, "%s is not on the list", s->supp_addr);
    else
        snprintf(text, sizeof text, "%s %s", s->supp_addr, add ? "added" : "removed");
    if (rc > 0 || (add && rc == 0))
        log_info("ctl: %s: suppress: %s", s->who, text);
    ctl_done(s, rc > 0 || (add && rc == 0), text, NULL);
}

/* suppress list [--json] | export | add ADDRESS [REASON] | remove ADDRESS. */
static void ctl_cmd_suppress(struct ctl_sess *s, const struct ctl_req *r)
{
    const struct ctl_env *e = &s->c->env;
    if (!e->suppress) {
        ctl_done(s, false, "the suppression list is off (suppression.enabled)", NULL);
        return;
    }
    if (r->supp == CTL_SUPP_LIST || r->supp == CTL_SUPP_EXPORT) {
        struct evbuffer *body = evbuffer_new();
        bool ok = view_suppress(e, r->supp, r->json, body) == 0;
        ctl_done(s, ok, ok ? NULL : "suppression list read failed", ok ? body : NULL);
        evbuffer_free(body);
        return;
    }
    struct addr_opts o = {.sloppy = true, .utf8 = true};
    size_t n = strlen(r->addr);
    if (addr_parse_path(r->addr, n, &o, s->supp_addr) != (ssize_t)n || !s->supp_addr[0]) {
        ctl_done(s, false, "bad address", NULL);
        return;
    }
    for (char *p = s->supp_addr; *p; p++) /* as the list stores it */
        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
    s->count = r->supp == CTL_SUPP_ADD; /* read back by ctl_on_supp_edited */
    if (suppress_edit(e->suppress, r->supp == CTL_SUPP_ADD, s->supp_addr, clock_wall_ms(),
                      r->reason ? r->reason : "added by ctl", ctl_on_supp_edited, s) < 0)
        ctl_done(s, false, "bad address", NULL);
}

/* ---- authentication (TCP) ------------------------------------------------------------ */

/* The authfile user named user, or NULL. */
static const struct ctl_authuser *ctl_user_find(const struct ctl *c, const char *user)
{
    for (size_t i = 0; i < c->nusers; i++)
        if (strcmp(c->users[i].user, user) == 0)
            return &c->users[i];
    return NULL;
}

/* auth_verify's callback. */
static void ctl_on_auth(void *arg, enum auth_result res, const char *user, const char *reason)
{
    struct ctl_sess *s = arg;
    (void)user;
    s->auth_id = 0;
    if (res == AUTH_OK && s->cand) {
        s->attrs = s->cand->attrs;
        snprintf(s->who, sizeof s->who, "%s@%s", s->cand->user, s->peer);
        log_info("ctl: %s authenticated", s->who);
        ctl_done(s, true, "authenticated", NULL);
        return;
    }
    log_warn("ctl: %s: authentication failed (%s)", s->who, reason ? reason : "");
    if (++s->bad_auth >= CTL_AUTH_TRIES)
        s->quit = true;
    ctl_done(s, false, res == AUTH_TEMPFAIL ? "authentication unavailable, try later"
                                            : "authentication failed", NULL);
}

/* auth USER PASSWORD: the network first, then the password on the worker threads. An
 * unknown user is checked too (against a dummy hash), so timing does not tell. */
static void ctl_cmd_auth(struct ctl_sess *s, const struct ctl_req *r)
{
    if (!s->tcp) {
        ctl_done(s, true, "not needed on the local socket", NULL);
        return;
    }
    const struct ctl_authuser *u = ctl_user_find(s->c, r->user);
    struct sockaddr_storage ss;
    socklen_t sl;
    if (u && u->nnets > 0 &&
        (cidr_sockaddr_parse(s->peer, 0, &ss, &sl) < 0 ||
         !cidr_match_any(u->nets, u->nnets, (struct sockaddr *)&ss))) {
        log_warn("ctl: %s: user %s not allowed from this network", s->who, u->user);
        s->quit = true;
        ctl_done(s, false, "not allowed from this network", NULL);
        return;
    }
    s->cand = u;
    struct auth_request ar = {.user = r->user, .password = r->password, .client = s->peer};
    s->auth_id = auth_verify(s->c->auth, &ar, ctl_on_auth, s);
}

/* ---- dispatch ---------------------------------------------------------------------- */

/* Runs one parsed request the session may run. */
static void ctl_dispatch(struct ctl_sess *s, const struct ctl_req *r)
{
    switch (r->cmd) {
    case CTL_HOLD ... CTL_BOUNCE:
        ctl_cmd_msgop(s, r);
        return;
    case CTL_PAUSE ... CTL_FLUSH:
        ctl_cmd_dest(s, r);
        return;
    case CTL_QUEUE ... CTL_CONNS:
    case CTL_STATS:
        ctl_cmd_view(s, r);
        return;
    case CTL_AUTH:
        ctl_cmd_auth(s, r);
        return;
    case CTL_SUPPRESS:
        ctl_cmd_suppress(s, r);
        return;
    default:
        ctl_cmd_misc(s, r);
        return;
    }
}

/* One request line. */
static void ctl_sess_request(struct ctl_sess *s, const char *line, size_t len)
{
    struct ctl_req *r = xmalloc(sizeof *r);
    char err[CTL_ERR_MAX];
    s->busy = true;
    bufferevent_disable(s->bev, EV_READ);
    if (ctlproto_parse(line, len, r, err, sizeof err) < 0) {
        s->cmd = CTL_QUIT; /* for the log line only */
        log_warn("ctl: %s: bad request: %s", s->who, err);
        s->busy = false;
        ctl_reply(s, false, err, NULL);
        bufferevent_enable(s->bev, EV_READ);
        free(r);
        return;
    }
    s->cmd = r->cmd;
    unsigned need = ctlproto_required_req(r);
    if ((s->attrs & need) != need) {
        ctl_done(s, false, s->attrs ? "not allowed for this user" : "authenticate first (auth USER PASSWORD)", NULL);
    } else {
        ctl_dispatch(s, r);
    }
    OPENSSL_cleanse(r, sizeof *r); /* an auth request carries a password */
    free(r);
}

/* Reads the requests waiting in the input while the session is idle. */
static void ctl_sess_read(struct ctl_sess *s)
{
    struct evbuffer *in = bufferevent_get_input(s->bev);
    s->in_read = true;
    while (!s->busy && !s->quit) {
        size_t n;
        struct evbuffer_ptr eol = evbuffer_search_eol(in, NULL, &n, EVBUFFER_EOL_LF);
        if (eol.pos < 0) {
            if (evbuffer_get_length(in) > CTL_LINE_MAX + 2) {
                ctl_reply(s, false, "request line too long", NULL);
                log_warn("ctl: %s: request line too long: session ended", s->who);
                s->quit = true;
            }
            break;
        }
        if ((size_t)eol.pos > CTL_LINE_MAX + 1) {
            evbuffer_drain(in, (size_t)eol.pos + n);
            log_warn("ctl: %s: request line too long", s->who);
            ctl_reply(s, false, "request line too long", NULL);
            continue;
        }
        char line[CTL_LINE_MAX + 3];
        size_t len = (size_t)eol.pos;
        evbuffer_remove(in, line, len + n);
        ctl_sess_request(s, line, len);
    }
    s->in_read = false;
    if (s->quit && !s->busy && evbuffer_get_length(bufferevent_get_output(s->bev)) == 0)
        ctl_sess_free(s);
}

/* bufferevent read callback. */
static void ctl_on_read(struct bufferevent *bev, void *arg)
{
    (void)bev;
    ctl_sess_read(arg);
}

/* bufferevent write callback: the output drained; a quitting session ends. */
static void ctl_on_write(struct bufferevent *bev, void *arg)
{
    struct ctl_sess *s = arg;
    (void)bev;
    if (s->quit && !s->busy)
        ctl_sess_free(s);
}

/* bufferevent event callback: EOF, error or idle timeout. */
static void ctl_on_event(struct bufferevent *bev, short what, void *arg)
{
    struct ctl_sess *s = arg;
    (void)bev;
    if (what & BEV_EVENT_TIMEOUT)
        log_info("ctl: %s: idle for %d s: session ended", s->who, CTL_TIMEOUT_S);
    ctl_sess_end(s);
}

/* A new session on fd. */
static struct ctl_sess *ctl_sess_new(struct ctl *c, evutil_socket_t fd)
{
    struct ctl_sess *s = xcalloc(1, sizeof *s);
    s->c = c;
    s->bev = bufferevent_socket_new(c->env.base, fd, BEV_OPT_CLOSE_ON_FREE);
    struct timeval tv = {CTL_TIMEOUT_S, 0};
    bufferevent_set_timeouts(s->bev, &tv, &tv);
    bufferevent_setcb(s->bev, ctl_on_read, ctl_on_write, ctl_on_event, s);
    s->next = c->sessions;
    if (c->sessions)
        c->sessions->prev = s;
    c->sessions = s;
    bufferevent_enable(s->bev, EV_READ | EV_WRITE);
    return s;
}

/* True when the peer of a UNIX socket is root, the daemon's user or of its group. */
static bool ctl_peer_ok(evutil_socket_t fd, struct ucred *cr)
{
    socklen_t l = sizeof *cr;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cr, &l) < 0)
        return false;
    return cr->uid == 0 || cr->uid == geteuid() || cr->gid == getegid();
}

/* A client on the UNIX socket: admitted by its credentials, with every attribute. */
static void ctl_on_unix(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
                        int salen, void *arg)
{
    struct ucred cr = {0};
    (void)lev;
    (void)sa;
    (void)salen;
    if (!ctl_peer_ok(fd, &cr)) {
        static const char refused[] = "ERR permission denied\n.\n";
        log_warn("ctl: refused a client on the control socket: uid %d gid %d is neither root "
                 "nor the daemon's user or group",
                 (int)cr.uid, (int)cr.gid);
        ssize_t w = write(fd, refused, sizeof refused - 1);
        (void)w;
        evutil_closesocket(fd);
        return;
    }
    struct ctl_sess *s = ctl_sess_new(arg, fd);
    s->attrs = CTL_A_READ | CTL_A_QUEUE | CTL_A_ADMIN;
    snprintf(s->who, sizeof s->who, "uid %d pid %d", (int)cr.uid, (int)cr.pid);
}

/* A client on a TCP listener: nothing allowed before auth. */
static void ctl_on_tcp(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
                       int salen, void *arg)
{
    (void)lev;
    (void)salen;
    struct ctl_sess *s = ctl_sess_new(arg, fd);
    s->tcp = true;
    cidr_sockaddr_to_text(sa, s->peer, sizeof s->peer);
    snprintf(s->who, sizeof s->who, "%s", s->peer);
}

/* ---- life cycle -------------------------------------------------------------------- */

const char *ctl_socket_path(const struct conf *c, char *buf, size_t len)
{
    if (c->ctl.socket)
        snprintf(buf, len, "%s", c->ctl.socket);
    else
        snprintf(buf, len, "%s/ctl.sock", c->spool);
    return buf;
}

/* Binds the UNIX socket (a stale file is replaced; mode 0660, the daemon user's). */
static int ctl_listen_unix(struct ctl *c, char *err, size_t errlen)
{
    char path[sizeof ((struct sockaddr_un *)0)->sun_path];
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    const char *p = ctl_socket_path(c->env.conf, path, sizeof path);
    if (strlen(p) >= sizeof sun.sun_path - 1) {
        snprintf(err, errlen, "ctl.socket: path too long: %s", p);
        return -1;
    }
    memcpy(sun.sun_path, p, strlen(p) + 1);
    unlink(p);
    mode_t old = umask(0117);
    c->unix_lev = evconnlistener_new_bind(c->env.base, ctl_on_unix, c,
                                          LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 64,
                                          (struct sockaddr *)&sun, sizeof sun);
    umask(old);
    if (!c->unix_lev) {
        snprintf(err, errlen, "ctl.socket %s: %s", p, strerror(errno));
        return -1;
    }
    c->sock_path = xstrdup(p);
    struct passwd *pw = geteuid() == 0 ? getpwnam(c->env.conf->user) : NULL;
    if (pw && chown(p, pw->pw_uid, pw->pw_gid) < 0)
        log_warn("ctl: cannot give %s to %s: %s", p, c->env.conf->user, strerror(errno));
    return 0;
}

/* Reads the authfile's users (attributes and networks; the hashes are src/auth's). */
static int ctl_load_users(struct ctl *c, char *err, size_t errlen)
{
    const char *path = c->env.conf->ctl.authfile;
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "ctl.authfile %s: %s", path, strerror(errno));
        return -1;
    }
    char line[CTL_LINE_MAX + 2], why[CTL_ERR_MAX];
    unsigned lineno = 0;
    int rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        size_t n = strcspn(line, "\n");
        lineno++;
        if (c->nusers == CTL_USERS_MAX) {
            snprintf(why, sizeof why, "more than %d users", CTL_USERS_MAX);
            rc = -1;
        } else {
            c->users = xrealloc(c->users, (c->nusers + 1) * sizeof *c->users);
            int got = line[n] == '\n' || feof(f)
                          ? ctlproto_authline(line, n, &c->users[c->nusers], why, sizeof why)
                          : (snprintf(why, sizeof why, "line too long"), -1);
            rc = got < 0 ? -1 : 0;
            c->nusers += got == 1;
        }
        if (rc < 0)
            snprintf(err, errlen, "%s:%u: %s", path, lineno, why);
    }
    OPENSSL_cleanse(line, sizeof line);
    fclose(f);
    return rc;
}

/* Binds the TCP listeners and loads the authfile. */
static int ctl_listen_tcp(struct ctl *c, char *err, size_t errlen)
{
    const struct conf *cf = c->env.conf;
    if (cf->ctl.nlisten == 0)
        return 0;
    if (ctl_load_users(c, err, errlen) < 0)
        return -1;
    struct auth_conf ac = {.backend = AUTH_BACKEND_FILE, .path = cf->ctl.authfile, .fields = true};
    if (!(c->auth = auth_create(c->env.base, &ac, err, errlen)))
        return -1;
    c->tcp_lev = xcalloc(cf->ctl.nlisten, sizeof *c->tcp_lev);
    for (size_t i = 0; i < cf->ctl.nlisten; i++) {
        struct sockaddr_storage ss;
        int sl = sizeof ss;
        if (evutil_parse_sockaddr_port(cf->ctl.listen[i], (struct sockaddr *)&ss, &sl) < 0) {
            snprintf(err, errlen, "ctl.listen: bad address %s", cf->ctl.listen[i]);
            return -1;
        }
        c->tcp_lev[i] = evconnlistener_new_bind(
            c->env.base, ctl_on_tcp, c,
            LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE, 64,
            (struct sockaddr *)&ss, sl);
        if (!c->tcp_lev[i]) {
            snprintf(err, errlen, "ctl.listen %s: %s", cf->ctl.listen[i], strerror(errno));
            return -1;
        }
        c->ntcp++;
    }
    return 0;
}

struct ctl *ctl_create(const struct ctl_env *env, char *err, size_t errlen)
{
    struct ctl *c = xcalloc(1, sizeof *c);
    c->env = *env;
    if (ctl_listen_unix(c, err, errlen) < 0 || ctl_listen_tcp(c, err, errlen) < 0 ||
        (env->conf->mailq_users == MAILQ_USERS_ALL &&
         !(c->showq = ctl_showq_create(&c->env, err, errlen)))) {
        ctl_free(c);
        return NULL;
    }
    log_info("ctl: control socket %s%s", c->sock_path, c->ntcp ? ", TCP listeners on" : "");
    for (size_t i = 0; i < c->ntcp; i++)
        log_info("ctl: listening on %s", env->conf->ctl.listen[i]);
    return c;
}

void ctl_free(struct ctl *c)
{
    if (!c)
        return;
    while (c->sessions)
        ctl_sess_free(c->sessions);
    ctl_showq_free(c->showq);
    if (c->unix_lev)
        evconnlistener_free(c->unix_lev);
    for (size_t i = 0; i < c->ntcp; i++)
        evconnlistener_free(c->tcp_lev[i]);
    free(c->tcp_lev);
    if (c->sock_path)
        unlink(c->sock_path);
    free(c->sock_path);
    auth_free(c->auth);
    if (c->users)
        OPENSSL_cleanse(c->users, c->nusers * sizeof *c->users);
    free(c->users);
    free(c);
}
