/* auth: the front of the verifier (see auth.h for the contract): it owns the requests and
 * dispatches them to the configured backend (auth_file.c, auth_pam.c, auth_pipe.c,
 * auth_dovecot.c; crypt and PAM share the worker pool of auth_pool.c).
 *
 * Every request lives on one list until its callback has run or it is cancelled. A backend
 * finishes a request with auth_req_finish(), which stores the outcome and activates the
 * request's event; the callback runs from that event, so it never runs inside
 * auth_verify() and a cancel between finish and callback still suppresses it. The
 * password copy is wiped (OPENSSL_cleanse) before a request's memory is freed. */
#include "auth/auth.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <openssl/crypto.h>

#include "auth/auth_int.h"
#include "core/log.h"
#include "core/xalloc.h"

struct auth {
    struct event_base *base;
    enum auth_backend backend;
    struct auth_pool *pool;
    struct auth_file *file;
    struct auth_pam *pam;
    struct auth_pipe *pipe;
    struct auth_dovecot *dovecot;
    struct auth_req *live;
    size_t nlive;
    uint64_t next_id;
};

int auth_backend_parse(const char *name, enum auth_backend *b)
{
    static const struct {
        const char *name;
        enum auth_backend b;
    } names[] = {{"file", AUTH_BACKEND_FILE},
                 {"pam", AUTH_BACKEND_PAM},
                 {"pipe", AUTH_BACKEND_PIPE},
                 {"dovecot", AUTH_BACKEND_DOVECOT}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(name, names[i].name) == 0) {
            *b = names[i].b;
            return 0;
        }
    }
    return -1;
}

const char *auth_result_name(enum auth_result r)
{
    return r == AUTH_OK ? "ok" : r == AUTH_FAIL ? "fail" : "tempfail";
}

/* Creates the backend named by c; -1 with err set. */
static int auth_backend_create(struct auth *a, const struct auth_conf *c, char *err,
                               size_t errlen)
{
    unsigned timeout = c->timeout_ms ? c->timeout_ms : AUTH_TIMEOUT_DEFAULT_MS;
    bool needs_path = c->backend != AUTH_BACKEND_PAM;
    if (needs_path && (c->path == NULL || *c->path == '\0')) {
        snprintf(err, errlen, "auth: backend needs a path");
        return -1;
    }
    if (c->pam_service && (*c->pam_service == '\0' || strlen(c->pam_service) > 100)) {
        snprintf(err, errlen, "auth: PAM service name must be 1..100 bytes");
        return -1;
    }
    switch (c->backend) {
    case AUTH_BACKEND_FILE:
    case AUTH_BACKEND_PAM: {
        unsigned n = c->workers ? c->workers : AUTH_WORKERS_DEFAULT;
        if (n > AUTH_WORKERS_MAX) {
            snprintf(err, errlen, "auth: workers must be 1..%d", AUTH_WORKERS_MAX);
            return -1;
        }
        if (!(a->pool = auth_pool_create(a->base, n, err, errlen)))
            return -1;
        if (c->backend == AUTH_BACKEND_PAM)
            a->pam = auth_pam_create(c->pam_service ? c->pam_service : "smtp", a->pool);
        else
            a->file = auth_file_create(c->path, c->fields, a->pool, err, errlen);
        return a->pam || a->file ? 0 : -1;
    }
    case AUTH_BACKEND_PIPE:
        a->pipe = auth_pipe_create(a->base, c->path, timeout, err, errlen);
        return a->pipe ? 0 : -1;
    case AUTH_BACKEND_DOVECOT:
        a->dovecot = auth_dovecot_create(a->base, c->path, c->service ? c->service : "smtp",
                                         timeout, err, errlen);
        return a->dovecot ? 0 : -1;
    }
    snprintf(err, errlen, "auth: unknown backend");
    return -1;
}

struct auth *auth_create(struct event_base *base, const struct auth_conf *c, char *err,
                         size_t errlen)
{
    struct auth *a = xcalloc(1, sizeof *a);
    a->base = base;
    a->backend = c->backend;
    a->next_id = 1;
    if (auth_backend_create(a, c, err, errlen) < 0) {
        auth_free(a);
        return NULL;
    }
    return a;
}

/* Unlinks and frees a request (its password wiped). */
static void auth_req_free(struct auth_req *req)
{
    struct auth *a = req->a;
    if (req->prev)
        req->prev->next = req->next;
    else
        a->live = req->next;
    if (req->next)
        req->next->prev = req->prev;
    a->nlive--;
    event_free(req->ev);
    OPENSSL_cleanse(req, sizeof *req);
    free(req);
}

/* Loop: runs the callback of a finished request, then frees it. */
static void auth_req_on_done(evutil_socket_t fd, short what, void *arg)
{
    struct auth_req *req = arg;
    (void)fd;
    (void)what;
    auth_done_fn cb = req->cb;
    void *cbarg = req->arg;
    char user[SASL_FIELD_MAX + 1], reason[AUTH_REASON_MAX];
    enum auth_result r = req->result;
    snprintf(user, sizeof user, "%s", req->out_user);
    snprintf(reason, sizeof reason, "%s", req->reason);
    auth_req_free(req);
    cb(cbarg, r, user, reason);
}

void auth_req_finish(struct auth_req *req, enum auth_result r, const char *user,
                     const char *fmt, ...)
{
    if (req->finished)
        log_panic("auth: request %llu finished twice", (unsigned long long)req->id);
    req->finished = true;
    req->result = r;
    req->be = NULL;
    snprintf(req->out_user, sizeof req->out_user, "%s", user ? user : req->user);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(req->reason, sizeof req->reason, fmt, ap);
    va_end(ap);
    OPENSSL_cleanse(req->password, sizeof req->password);
    event_active(req->ev, EV_TIMEOUT, 1);
}

/* Copies a request field; false when it does not fit. */
static bool auth_copy(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n >= cap)
        return false;
    memcpy(dst, src ? src : "", n + 1);
    return true;
}

/* Hands a request to the backend. */
static void auth_dispatch(struct auth *a, struct auth_req *req)
{
    bool foreign = req->authzid[0] && strcmp(req->authzid, req->user) != 0;
    if (foreign && a->backend != AUTH_BACKEND_DOVECOT) {
        auth_req_finish(req, AUTH_FAIL, NULL, "authorization identity not permitted");
        return;
    }
    switch (a->backend) {
    case AUTH_BACKEND_FILE:
        auth_file_start(a->file, req);
        break;
    case AUTH_BACKEND_PAM:
        auth_pam_start(a->pam, req);
        break;
    case AUTH_BACKEND_PIPE:
        auth_pipe_start(a->pipe, req);
        break;
    case AUTH_BACKEND_DOVECOT:
        auth_dovecot_start(a->dovecot, req);
        break;
    }
}

uint64_t auth_verify(struct auth *a, const struct auth_request *r, auth_done_fn cb, void *arg)
{
    struct auth_req *req = xcalloc(1, sizeof *req);
    req->a = a;
    req->id = a->next_id++;
    req->cb = cb;
    req->arg = arg;
    req->ev = event_new(a->base, -1, 0, auth_req_on_done, req);
    if (!req->ev)
        log_panic("auth: event_new failed");
    req->next = a->live;
    if (a->live)
        a->live->prev = req;
    a->live = req;
    a->nlive++;
    req->secured = r->secured;
    bool ok = auth_copy(req->authzid, sizeof req->authzid, r->authzid) &&
              auth_copy(req->user, sizeof req->user, r->user) &&
              auth_copy(req->password, sizeof req->password, r->password) &&
              auth_copy(req->client, sizeof req->client, r->client) &&
              auth_copy(req->local, sizeof req->local, r->local);
    if (!ok || req->user[0] == '\0' || req->password[0] == '\0')
        auth_req_finish(req, AUTH_FAIL, "", "malformed credentials");
    else
        auth_dispatch(a, req);
    return req->id;
}

/* Tells the backend to forget an unfinished request. */
static void auth_backend_cancel(struct auth *a, struct auth_req *req)
{
    switch (a->backend) {
    case AUTH_BACKEND_FILE:
        auth_file_cancel(req);
        break;
    case AUTH_BACKEND_PAM:
        auth_pam_cancel(req);
        break;
    case AUTH_BACKEND_PIPE:
        auth_pipe_cancel(a->pipe, req);
        break;
    case AUTH_BACKEND_DOVECOT:
        auth_dovecot_cancel(a->dovecot, req);
        break;
    }
}

void auth_cancel(struct auth *a, uint64_t id)
{
    for (struct auth_req *req = a->live; req; req = req->next) {
        if (req->id != id)
            continue;
        if (!req->finished)
            auth_backend_cancel(a, req);
        auth_req_free(req);
        return;
    }
}

int auth_reload(struct auth *a, char *err, size_t errlen)
{
    if (a->backend != AUTH_BACKEND_FILE)
        return 0;
    return auth_file_reload(a->file, err, errlen);
}

size_t auth_pending(const struct auth *a)
{
    return a->nlive;
}

void auth_free(struct auth *a)
{
    if (a == NULL)
        return;
    while (a->live)
        auth_cancel(a, a->live->id);
    auth_file_free(a->file);
    auth_pam_free(a->pam);
    auth_pool_free(a->pool); /* after the backends: it frees their unfinished jobs */
    auth_pipe_free(a->pipe);
    auth_dovecot_free(a->dovecot);
    free(a);
}
