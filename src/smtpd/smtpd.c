/* smtpd: the inbound ESMTP server's listeners and public API; see smtpd.h for the contract
 * and session.h for how the work is split over src/smtpd/.
 *
 * Owns: one evconnlistener per smtpd.listen, smtpd.submission_listen and smtpd.tls_listen
 * address (SO_REUSEADDR, IPV6_V6ONLY, backlog 1024), the list of sessions and the TLS
 * certificates (src/tls/, when smtpd.tls.cert_file is set). An accepted connection becomes a
 * session (session.c), which checks the connection limits first; on a tls_listen address it
 * is wrapped in TLS at once.
 * A resource error on accept() pauses that listener for a second. */
#include "smtpd/smtpd.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "conf/conf.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "proto/cidr.h"
#include "auth/auth.h"
#include "smtpd/session.h"
#include "tls/tls.h"

static const int SMTPD_BACKLOG = 1024;

/* ---- listening ---- */

/* A connection on an implicit TLS listener: the socket is TLS from its first byte (RFC
 * 8314); the session greets once the handshake is over (starttls.c). Callbacks are
 * deferred as on every TLS bufferevent (see starttls.c). */
static void smtpd_accept_tls(struct smtpd_listener *l, evutil_socket_t fd, struct sockaddr *sa)
{
    SSL *ssl = tls_server_ssl_new(l->sd->tls);
    if (!ssl) {
        log_warn("smtpd: cannot create TLS state for a connection on %s", l->addr);
        evutil_closesocket(fd);
        return;
    }
    struct bufferevent *bev =
        bufferevent_openssl_socket_new(l->sd->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                       BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    if (!bev) { /* libevent freed ssl; the descriptor may be gone with it: not closed again */
        log_warn("smtpd: cannot create a TLS buffer for a connection on %s", l->addr);
        return;
    }
    session_start(l, bev, sa);
}

/* A connection arrived: the session takes it over (limits, greeting). */
static void smtpd_on_accept(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
                            int salen, void *arg)
{
    struct smtpd_listener *l = arg;
    (void)lev;
    (void)salen;
    if (l->tls) {
        smtpd_accept_tls(l, fd, sa);
        return;
    }
    struct bufferevent *bev = bufferevent_socket_new(l->sd->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
        log_warn("smtpd: cannot create a buffer for a connection on %s", l->addr);
        evutil_closesocket(fd);
        return;
    }
    session_start(l, bev, sa);
}

/* accept() failed for lack of resources: pause this listener for a second. */
static void smtpd_on_accept_error(struct evconnlistener *lev, void *arg)
{
    struct smtpd_listener *l = arg;
    int e = EVUTIL_SOCKET_ERROR();
    log_warn("smtpd: accept on %s: %s", l->addr, evutil_socket_error_to_string(e));
    evconnlistener_disable(lev);
    struct timeval tv = {1, 0};
    evtimer_add(l->retry, &tv);
}

/* The pause after an accept error is over. */
static void smtpd_on_retry(evutil_socket_t fd, short what, void *arg)
{
    struct smtpd_listener *l = arg;
    (void)fd;
    (void)what;
    if (l->lev)
        evconnlistener_enable(l->lev);
}

/* Parses "a.b.c.d:port" or "[v6]:port" into a socket address. 0, or -1 when malformed. */
static int smtpd_parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[64];
    const char *h = s, *colon;
    size_t hlen;
    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        if (!rb || rb[1] != ':')
            return -1;
        h = s + 1;
        hlen = (size_t)(rb - h);
        colon = rb + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || memchr(s, ':', (size_t)(colon - s)))
            return -1;
        hlen = (size_t)(colon - s);
    }
    if (hlen == 0 || hlen >= sizeof host || !colon[1])
        return -1;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    unsigned long port = 0;
    for (const char *p = colon + 1; *p; p++) {
        if (*p < '0' || *p > '9' || (port = port * 10 + (unsigned long)(*p - '0')) > 65535)
            return -1;
    }
    return cidr_sockaddr_parse(host, (uint16_t)port, ss, len);
}

/* Opens a bound, non-blocking socket for sa (SO_REUSEADDR; IPv6 only for v6 addresses, so
 * "0.0.0.0" and "[::]" can both be listed). The fd, or -1 with errno. */
static int smtpd_bind(const struct sockaddr *sa, socklen_t len)
{
    int one = 1, e;
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
        goto fail;
    if (sa->sa_family == AF_INET6 &&
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0)
        goto fail;
    if (bind(fd, sa, len) < 0)
        goto fail;
    return fd;
fail:
    e = errno;
    close(fd);
    errno = e;
    return -1;
}

/* Binds and starts listener l on its address. 0, or -1 with a message in err. */
static int smtpd_listen(struct smtpd *sd, struct smtpd_listener *l, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t len;
    const char *key = l->tls ? "smtpd.tls_listen"
                      : l->submission ? "smtpd.submission_listen"
                                      : "smtpd.listen";
    if (smtpd_parse_listen(l->addr, &ss, &len) < 0) {
        snprintf(err, errlen, "%s: bad address \"%s\" (want addr:port or [v6]:port)", key,
                 l->addr);
        return -1;
    }
    int fd = smtpd_bind((struct sockaddr *)&ss, len);
    if (fd < 0) {
        snprintf(err, errlen, "%s %s: %s", key, l->addr, strerror(errno));
        return -1;
    }
    l->lev = evconnlistener_new(sd->base, smtpd_on_accept, l,
                                LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, SMTPD_BACKLOG, fd);
    if (!l->lev) {
        snprintf(err, errlen, "%s %s: listen: %s", key, l->addr, strerror(errno));
        close(fd);
        return -1;
    }
    evconnlistener_set_error_cb(l->lev, smtpd_on_accept_error);
    l->retry = evtimer_new(sd->base, smtpd_on_retry, l);
    if (!l->retry)
        log_panic("smtpd: evtimer_new failed");
    return 0;
}

/* ---- public ---- */

enum smtpd_kind { SMTPD_MTA, SMTPD_SUBMISSION, SMTPD_TLS };

/* Binds listener i of sd on addr. An implicit TLS listener is a submission one (RFC 8314
 * §3.3: port 465 is "submissions"). 0, or -1 with a message in err. */
static int smtpd_add_listener(struct smtpd *sd, size_t i, const char *addr, enum smtpd_kind kind,
                              char *err, size_t errlen)
{
    struct smtpd_listener *l = &sd->listeners[i];
    l->sd = sd;
    l->addr = addr;
    l->submission = kind != SMTPD_MTA;
    l->tls = kind == SMTPD_TLS;
    sd->nlisteners = i + 1;
    if (smtpd_listen(sd, l, err, errlen) < 0)
        return -1;
    log_info("smtpd: listening on %s%s", addr,
             kind == SMTPD_TLS ? " (implicit TLS, submission)"
             : kind == SMTPD_SUBMISSION ? " (submission)"
                                        : "");
    return 0;
}

/* smtpd.tls: builds the certificates' context (none without cert_file). */
static int smtpd_tls_create(struct smtpd *sd, char *err, size_t errlen)
{
    if (!sd->c->smtpd.tls.cert_file)
        return 0;
    sd->tls = tls_server_create(&sd->c->smtpd.tls, err, errlen);
    if (!sd->tls)
        return -1;
    log_info("smtpd: STARTTLS offered; TLS certificates: %s", tls_server_describe(sd->tls));
    return 0;
}

/* smtpd.auth: starts the verifier (none without a backend). */
static int smtpd_auth_create(struct smtpd *sd, char *err, size_t errlen)
{
    const struct smtpd_auth_conf *a = &sd->c->smtpd.auth;
    struct auth_conf ac = {.path = a->path, .pam_service = a->pam_service,
                           .timeout_ms = (unsigned)a->timeout, .workers = a->workers};
    if (!a->backend)
        return 0;
    if (auth_backend_parse(a->backend, &ac.backend) < 0) {
        snprintf(err, errlen, "smtpd.auth.backend: unknown backend \"%s\"", a->backend);
        return -1;
    }
    char why[512];
    sd->auth = auth_create(sd->base, &ac, why, sizeof why);
    if (!sd->auth) {
        snprintf(err, errlen, "smtpd.auth: %s", why);
        return -1;
    }
    sd->auth_ips = xcalloc(SMTPD_AUTH_IPS_MAX, sizeof *sd->auth_ips);
    log_info("smtpd: AUTH PLAIN LOGIN offered (backend %s)%s", a->backend,
             a->allow_cleartext ? ", also without TLS" : "");
    return 0;
}

/* Binds every listen address; NULL with a message in err on failure. */
struct smtpd *smtpd_create(struct event_base *base, const struct conf *c, struct queue *q,
                           smtpd_accepted_fn accepted, void *arg, char *err, size_t errlen)
{
    struct smtpd *sd = xcalloc(1, sizeof *sd);
    size_t n = c->smtpd.nlisten, ns = c->smtpd.nsubmission_listen, nt = c->smtpd.ntls_listen;
    sd->base = base;
    sd->c = c;
    sd->q = q;
    sd->accepted = accepted;
    sd->arg = arg;
    sd->version = "sluice";
    if (n == 0) {
        snprintf(err, errlen, "smtpd.listen: no address");
        goto fail;
    }
    if (smtpd_tls_create(sd, err, errlen) < 0 || smtpd_auth_create(sd, err, errlen) < 0)
        goto fail;
    sd->listeners = xcalloc(n + ns + nt, sizeof *sd->listeners);
    for (size_t i = 0; i < n; i++)
        if (smtpd_add_listener(sd, i, c->smtpd.listen[i], SMTPD_MTA, err, errlen) < 0)
            goto fail;
    for (size_t i = 0; i < ns; i++)
        if (smtpd_add_listener(sd, n + i, c->smtpd.submission_listen[i], SMTPD_SUBMISSION, err,
                               errlen) < 0)
            goto fail;
    for (size_t i = 0; i < nt; i++)
        if (smtpd_add_listener(sd, n + ns + i, c->smtpd.tls_listen[i], SMTPD_TLS, err, errlen) < 0)
            goto fail;
    return sd;
fail:
    smtpd_free(sd);
    return NULL;
}

/* Sets the ETRN callback. */
void smtpd_set_etrn(struct smtpd *s, smtpd_etrn_fn etrn, void *arg)
{
    s->etrn = etrn;
    s->etrn_arg = arg;
}

/* Sets the resolver for the clients' reverse names. */
void smtpd_set_dns(struct smtpd *s, struct dns *d)
{
    s->dns = d;
}

/* Sets the inbound policy. */
void smtpd_set_policy(struct smtpd *s, struct policy_engine *p)
{
    s->policy = p;
}

/* Sets the DKIM signer of accepted messages (NULL: none). */
void smtpd_set_dkim(struct smtpd *s, struct dkim_signer *d)
{
    s->dkim = d;
}

/* Sets the version shown by %V. */
void smtpd_set_version(struct smtpd *s, const char *version)
{
    s->version = version ? version : "sluice";
}

/* Closes every listening socket; sessions go on. */
void smtpd_stop_listening(struct smtpd *s)
{
    for (size_t i = 0; i < s->nlisteners; i++) {
        struct smtpd_listener *l = &s->listeners[i];
        if (l->lev)
            evconnlistener_free(l->lev);
        if (l->retry)
            event_free(l->retry);
        l->lev = NULL;
        l->retry = NULL;
    }
    free(s->listeners);
    s->listeners = NULL;
    s->nlisteners = 0;
}

/* Sessions alive, including those whose client left while their message is committed. */
size_t smtpd_sessions(const struct smtpd *s)
{
    return s->nsessions;
}

/* Stops listening, closes every connection, frees the server. Sessions waiting on the
 * queue are detached and free themselves when the queue reports. */
void smtpd_free(struct smtpd *s)
{
    if (!s)
        return;
    smtpd_stop_listening(s);
    while (s->sessions) {
        struct session *x = s->sessions;
        if (x->state == SESSION_WAIT) {
            session_unlink(x);
            session_free(x);
        } else {
            session_free(x);
        }
    }
    tls_server_free(s->tls); /* a detached session's connection is closed already */
    auth_free(s->auth);      /* every session cancelled its request */
    free(s->auth_ips);
    free(s);
}

/* SIGHUP: new certificates for new connections; sessions in progress keep theirs. */
int smtpd_reload_tls(struct smtpd *s)
{
    char err[1024];
    if (!s->tls)
        return 0;
    if (tls_server_reload(s->tls, err, sizeof err) < 0) {
        log_warn("smtpd: TLS reload failed, the current certificates stay: %s", err);
        return -1;
    }
    log_info("smtpd: TLS certificates reloaded: %s", tls_server_describe(s->tls));
    return 0;
}

/* SIGHUP: re-reads the password file (backend "file"); on error the old one stays. */
int smtpd_reload_auth(struct smtpd *s)
{
    char err[1024];
    if (!s->auth)
        return 0;
    if (auth_reload(s->auth, err, sizeof err) < 0) {
        log_warn("smtpd: AUTH password file reload failed, the current one stays: %s", err);
        return -1;
    }
    if (strcmp(s->c->smtpd.auth.backend, "file") == 0)
        log_info("smtpd: AUTH password file %s reloaded", s->c->smtpd.auth.path);
    return 0;
}

/* Turns server transcripts on (log non-NULL). */
void smtpd_set_transcript(struct smtpd *s, struct audit_log *log, const struct logspec *spec)
{
    s->tlog = log;
    s->tspec = spec;
}
