/* local: the local delivery transport, daemon side. See local.h for the contract.
 * Invariants: every request sent to the helper is in l->reqs until its reply (or until the
 * helper's socket fails: then every one of them gets 4.3.0); a request whose connection was
 * aborted has lc == NULL and its reply is dropped. A connection handles one transaction at a
 * time; it reports every recipient, then txn_done, then asks next() again. */
#include "local/local.h"

#include <ctype.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conf/conf.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "deliver/deliver.h"
#include "local/helper.h"
#include "proto/addr.h"
#include "proto/aliases.h"
#include "route/aliasdb.h"
#include "route/route.h"
#include "smtpc/smtpc.h"

struct lconn;

struct lreq {
    struct lreq *next;
    uint64_t id;
    struct lconn *lc; /* NULL once aborted */
    size_t rcpt;
};

struct local {
    struct event_base *base;
    const struct conf *conf;
    int fd;
    struct event *rd_ev;
    struct aliasdb **dbs;
    size_t ndbs;
    struct lreq *reqs;
    uint64_t next_id;
};

struct lrcpt {
    unsigned pending;
    enum outcome worst;
    char text[HELPER_TEXT_MAX];
};

struct lconn {
    struct local *l;
    const struct smtpc_ops *ops;
    void *arg;
    struct event *kick;
    struct smtpc_txn *t; /* the transaction in progress */
    struct lrcpt *r;     /* per recipient of t */
    size_t left;         /* recipients of t not reported */
    int waiting;         /* next() said SMTPC_TXN_WAIT */
};

/* One expansion: what a recipient resolves to. */
struct lexp {
    struct local *l;
    char **seen; /* names and targets expanded so far */
    size_t nseen;
    struct helper_req *out; /* final targets */
    size_t nout;
    int loops, remote;
    char err[HELPER_TEXT_MAX];
};

static void lconn_on_kick(evutil_socket_t fd, short what, void *arg);

/* True (and remembered) when s was seen before in this expansion. */
static int lexp_seen(struct lexp *x, const char *s)
{
    for (size_t i = 0; i < x->nseen; i++)
        if (strcasecmp(x->seen[i], s) == 0)
            return 1;
    x->seen = xrealloc(x->seen, (x->nseen + 1) * sizeof *x->seen);
    x->seen[x->nseen++] = xstrdup(s);
    return 0;
}

/* Adds a final target. */
static void lexp_add(struct lexp *x, enum helper_kind k, const char *user, const char *target)
{
    const struct conf *c = x->l->conf;
    if (x->nout >= LOCAL_TARGETS_MAX)
        return;
    x->out = xrealloc(x->out, (x->nout + 1) * sizeof *x->out);
    struct helper_req *q = &x->out[x->nout++];
    memset(q, 0, sizeof *q);
    q->kind = k;
    snprintf(q->user, sizeof q->user, "%s", user);
    snprintf(q->target, sizeof q->target, "%s", target);
    q->timeout_ms = c->local.command_timeout;
    q->size_limit = c->local.mailbox_size_limit;
}

static void lexp_name(struct lexp *x, const char *name, const char *owner, int depth,
                      const char *via);

struct lexp_ctx {
    struct lexp *x;
    const char *name, *owner, *via;
    int depth;
};

/* One target of an alias or :include: list. */
static int lexp_target(void *arg, enum alias_kind k, const char *t, size_t len)
{
    struct lexp_ctx *cx = arg;
    struct lexp *x = cx->x;
    const struct conf *c = x->l->conf;
    (void)len;
    if (k != ALIAS_ADDRESS && lexp_seen(x, t))
        return 0; /* a duplicate target is delivered once (names: lexp_name) */
    if (k == ALIAS_COMMAND || k == ALIAS_FILE) {
        int ok = k == ALIAS_COMMAND ? conf_allows(c->local.allow_mail_to_commands,
                                                  c->local.nallow_mail_to_commands, cx->via)
                                    : conf_allows(c->local.allow_mail_to_files,
                                                  c->local.nallow_mail_to_files, cx->via);
        if (!ok) {
            snprintf(x->err, sizeof x->err, "5.7.1 mail to %s is not allowed in %s",
                     k == ALIAS_COMMAND ? "commands" : "files", cx->via);
            return 0;
        }
        lexp_add(x, k == ALIAS_COMMAND ? HELPER_PIPE : HELPER_FILE, cx->owner,
                 k == ALIAS_COMMAND ? t + 1 : t);
        return 0;
    }
    if (k == ALIAS_INCLUDE) {
        char *buf = NULL;
        int fd = open(t + 9, O_RDONLY | O_CLOEXEC);
        ssize_t n = -1;
        if (fd >= 0) {
            buf = xmalloc(LOCAL_INCLUDE_MAX + 1);
            n = read(fd, buf, LOCAL_INCLUDE_MAX);
            close(fd);
        }
        char tmp[ALIASES_TARGET_MAX + 1], err[128];
        struct lexp_ctx sub = {x, cx->name, cx->owner, "include", cx->depth};
        if (n < 0 || aliases_split(buf, (size_t)n, tmp, lexp_target, &sub, err, sizeof err) < 0)
            snprintf(x->err, sizeof x->err, "4.3.0 cannot read %s", t);
        free(buf);
        return 0;
    }
    const char *at = strchr(t, '@');
    if (at && !route_is_local(c, at + 1)) {
        x->remote++;
        return 0;
    }
    char local[ALIASES_TARGET_MAX + 1];
    snprintf(local, sizeof local, "%.*s", at ? (int)(at - t) : (int)strlen(t), t);
    if (strcasecmp(local, cx->name) == 0) { /* "root: root, |x": root's own mailbox */
        lexp_add(x, c->local.mailbox == LOCAL_MBOX ? HELPER_MBOX : HELPER_MAILDIR, local,
                 c->local.mailbox == LOCAL_MBOX ? c->local.mail_spool_directory
                                                : c->local.home_mailbox);
        return 0;
    }
    lexp_name(x, local, cx->owner, cx->depth + 1, "alias");
    return 0;
}

/* Expands one local name: its aliases, else the user's mailbox. */
static void lexp_name(struct lexp *x, const char *name, const char *owner, int depth,
                      const char *via)
{
    const struct conf *c = x->l->conf;
    if (depth > LOCAL_DEPTH || lexp_seen(x, name)) {
        x->loops++;
        return;
    }
    for (size_t i = 0; i < x->l->ndbs; i++) {
        char *v = NULL;
        size_t vlen;
        int rc = aliasdb_lookup(x->l->dbs[i], name, &v, &vlen);
        if (rc < 0) {
            snprintf(x->err, sizeof x->err, "4.3.0 alias map unreadable");
            return;
        }
        if (rc == 0)
            continue;
        struct lexp_ctx cx = {x, name, owner, via, depth};
        for (size_t off = 0; off < vlen; off += strlen(v + off) + 1)
            lexp_target(&cx, aliases_kind(v + off, strlen(v + off)), v + off, strlen(v + off));
        free(v);
        return;
    }
    if (!getpwnam(name)) {
        snprintf(x->err, sizeof x->err, "5.1.1 <%s>: user unknown", name);
        return;
    }
    lexp_add(x, c->local.mailbox == LOCAL_MBOX ? HELPER_MBOX : HELPER_MAILDIR, name,
             c->local.mailbox == LOCAL_MBOX ? c->local.mail_spool_directory
                                            : c->local.home_mailbox);
}

/* Frees an expansion. */
static void lexp_clear(struct lexp *x)
{
    for (size_t i = 0; i < x->nseen; i++)
        free(x->seen[i]);
    free(x->seen);
    free(x->out);
}

/* True when the header section of body has "Delivered-To: rcpt". */
static int local_delivered_to(struct evbuffer *body, const char *rcpt)
{
    size_t len = evbuffer_get_length(body);
    const char *b = (const char *)evbuffer_pullup(body, -1), *end = b + len;
    size_t rl = strlen(rcpt);
    for (const char *p = b; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (n <= 1) /* the empty line ends the headers */
            return 0;
        const char *v = p + 13;
        if (n > 13 && strncasecmp(p, "Delivered-To:", 13) == 0) {
            while (v < p + n && (*v == ' ' || *v == '\t'))
                v++;
            if ((size_t)(p + n - v) >= rl && strncasecmp(v, rcpt, rl) == 0)
                return 1;
        }
        p += n + 1;
    }
    return 0;
}

/* A memfd holding the content with Return-Path and Delivered-To first; -1 on failure. */
static int local_content(struct smtpc_txn *t, const char *rcpt)
{
    int fd = memfd_create("sluice-local", MFD_CLOEXEC);
    if (fd < 0)
        return -1;
    char hdr[2048];
    int n = snprintf(hdr, sizeof hdr, "Return-Path: <%.900s>\r\nDelivered-To: %.900s\r\n",
                     t->sender, rcpt);
    size_t blen = evbuffer_get_length(t->body);
    const char *b = (const char *)evbuffer_pullup(t->body, -1);
    if (write(fd, hdr, (size_t)n) != n || (blen && write(fd, b, blen) != (ssize_t)blen)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Sends one request with its content. 0, or -1. */
static int local_send(struct local *l, struct helper_req *q, int content)
{
    char cbuf[CMSG_SPACE(sizeof(int))];
    memset(cbuf, 0, sizeof cbuf);
    struct iovec iov = {q, sizeof *q};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
                        .msg_controllen = sizeof cbuf};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &content, sizeof(int));
    ssize_t r;
    while ((r = sendmsg(l->fd, &mh, MSG_NOSIGNAL)) < 0 && errno == EINTR)
        ;
    return r == (ssize_t)sizeof *q ? 0 : -1;
}

/* Reports recipient i of the current transaction; the transaction ends after the last. */
static void lconn_report(struct lconn *lc, size_t i)
{
    struct lrcpt *r = &lc->r[i];
    lc->ops->rcpt_done(lc->arg, lc->t, i, r->worst, r->text, "local");
    if (--lc->left > 0)
        return;
    struct smtpc_txn *t = lc->t;
    lc->t = NULL;
    free(lc->r);
    lc->r = NULL;
    lc->ops->txn_done(lc->arg, t);
    event_active(lc->kick, 0, 0);
}

/* Records one target's result into recipient i (the worst wins). */
static void lrcpt_note(struct lrcpt *r, enum outcome o, const char *text)
{
    static const int rank[] = {[OUTCOME_OK] = 0, [OUTCOME_PERMFAIL] = 1, [OUTCOME_TEMPFAIL] = 2};
    if (r->text[0] == '\0' || rank[o] > rank[r->worst]) {
        r->worst = o;
        snprintf(r->text, sizeof r->text, "%s", text);
    }
}

/* Expands recipient i and sends its targets to the helper (or notes the failure). */
static void lconn_rcpt(struct lconn *lc, size_t i)
{
    struct local *l = lc->l;
    struct lrcpt *r = &lc->r[i];
    const char *rcpt = lc->t->rcpts[i];
    const char *at = strrchr(rcpt, '@');
    char name[ALIASES_NAME_MAX + 1];
    if (local_delivered_to(lc->t->body, rcpt)) {
        lrcpt_note(r, OUTCOME_PERMFAIL, "5.4.6 mail forwarding loop (Delivered-To) for this recipient");
        return;
    }
    snprintf(name, sizeof name, "%.*s", at ? (int)(at - rcpt) : (int)strlen(rcpt), rcpt);
    struct lexp x = {.l = l};
    lexp_name(&x, name, "nobody", 0, "alias");
    if (x.nout == 0) {
        if (x.err[0])
            lrcpt_note(r, x.err[0] == '5' ? OUTCOME_PERMFAIL : OUTCOME_TEMPFAIL, x.err);
        else if (x.remote)
            lrcpt_note(r, OUTCOME_TEMPFAIL,
                       "4.3.5 aliases to remote addresses are not supported yet");
        else
            lrcpt_note(r, OUTCOME_PERMFAIL, "5.4.6 alias loop: nothing left to deliver to");
    } else if (x.err[0] || x.remote) { /* partly unusable: keep it all in the queue */
        lrcpt_note(r, x.err[0] == '5' ? OUTCOME_PERMFAIL : OUTCOME_TEMPFAIL,
                   x.err[0] ? x.err : "4.3.5 aliases to remote addresses are not supported yet");
        x.nout = 0;
    }
    for (size_t k = 0; k < x.nout; k++) {
        struct helper_req *q = &x.out[k];
        q->id = ++l->next_id;
        snprintf(q->sender, sizeof q->sender, "%s", lc->t->sender);
        int fd = local_content(lc->t, rcpt);
        if (fd < 0 || local_send(l, q, fd) < 0) {
            lrcpt_note(r, OUTCOME_TEMPFAIL, "4.3.0 cannot hand the mail to the delivery helper");
            if (fd >= 0)
                close(fd);
            continue;
        }
        close(fd);
        struct lreq *rq = xcalloc(1, sizeof *rq);
        *rq = (struct lreq){l->reqs, q->id, lc, i};
        l->reqs = rq;
        r->pending++;
    }
    lexp_clear(&x);
}

/* Runs a new transaction: every recipient is expanded and sent; those with nothing pending
 * are reported at once. */
static void lconn_txn(struct lconn *lc)
{
    size_t n = lc->t->nrcpt;
    lc->r = xcalloc(n ? n : 1, sizeof *lc->r);
    lc->left = n;
    lc->t->dsn = 0;
    lc->t->tls = "none";
    lc->t->tls_peer = "";
    for (size_t i = 0; i < n; i++)
        lconn_rcpt(lc, i);
    for (size_t i = 0; i < n && lc->t; i++)
        if (lc->r[i].pending == 0)
            lconn_report(lc, i);
}

/* Asks for the next transaction (from the loop, never inside a caller's callback). */
static void lconn_on_kick(evutil_socket_t fd, short what, void *arg)
{
    struct lconn *lc = arg;
    (void)fd;
    (void)what;
    if (lc->t)
        return;
    struct smtpc_txn *t = lc->ops->next(lc->arg, (struct smtpc *)lc);
    if (t == SMTPC_TXN_WAIT) {
        lc->waiting = 1;
        return;
    }
    if (!t) {
        event_free(lc->kick);
        const struct smtpc_ops *ops = lc->ops;
        void *a = lc->arg;
        ops->closed(a, (struct smtpc *)lc, OUTCOME_OK, "");
        free(lc);
        return;
    }
    lc->t = t;
    lconn_txn(lc);
}

/* A reply from the helper. */
static void local_on_reply(struct local *l, const struct helper_rep *rep)
{
    for (struct lreq **pp = &l->reqs; *pp; pp = &(*pp)->next) {
        struct lreq *rq = *pp;
        if (rq->id != rep->id)
            continue;
        *pp = rq->next;
        struct lconn *lc = rq->lc;
        size_t i = rq->rcpt;
        free(rq);
        if (!lc)
            return;
        char text[HELPER_TEXT_MAX];
        snprintf(text, sizeof text, "%.*s", (int)sizeof rep->text, rep->text);
        enum outcome o = rep->outcome >= OUTCOME_OK && rep->outcome <= OUTCOME_PERMFAIL
                             ? (enum outcome)rep->outcome
                             : OUTCOME_TEMPFAIL;
        lrcpt_note(&lc->r[i], o, text);
        if (--lc->r[i].pending == 0)
            lconn_report(lc, i);
        return;
    }
    log_warn("local: reply for unknown request %llu", (unsigned long long)rep->id);
}

/* The helper's socket is readable: replies, or its end (every pending request: 4.3.0). */
static void local_on_read(evutil_socket_t fd, short what, void *arg)
{
    struct local *l = arg;
    struct helper_rep rep;
    (void)what;
    for (;;) {
        ssize_t n = recv(fd, &rep, sizeof rep, MSG_DONTWAIT);
        if (n == (ssize_t)sizeof rep) {
            local_on_reply(l, &rep);
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        log_warn("local: delivery helper is gone");
        event_del(l->rd_ev);
        while (l->reqs) {
            struct helper_rep gone = {.id = l->reqs->id, .outcome = OUTCOME_TEMPFAIL};
            snprintf(gone.text, sizeof gone.text, "4.3.0 local delivery helper is gone");
            local_on_reply(l, &gone);
        }
        return;
    }
}

/* transport start: a "connection" is a sequence of transactions. */
static void *local_start(void *targ, struct event_base *base, const struct conf *c,
                         const struct peer *peers, size_t npeers, const struct smtpc_ops *ops,
                         void *arg)
{
    (void)c;
    (void)peers;
    (void)npeers;
    struct lconn *lc = xcalloc(1, sizeof *lc);
    lc->l = targ;
    lc->ops = ops;
    lc->arg = arg;
    lc->kick = event_new(base, -1, 0, lconn_on_kick, lc);
    event_active(lc->kick, 0, 0);
    return lc;
}

/* transport resume: a parked connection asks again. */
static void local_resume(void *conn)
{
    struct lconn *lc = conn;
    lc->waiting = 0;
    lconn_on_kick(-1, 0, lc);
}

/* transport abort: unreported recipients 4.3.0, then txn_done and closed, before return. */
static void local_abort(void *conn)
{
    struct lconn *lc = conn;
    for (struct lreq *rq = lc->l->reqs; rq; rq = rq->next)
        if (rq->lc == lc)
            rq->lc = NULL;
    if (lc->t) {
        for (size_t i = 0; i < lc->t->nrcpt && lc->t; i++)
            if (lc->r[i].pending) {
                lc->r[i].pending = 0;
                lrcpt_note(&lc->r[i], OUTCOME_TEMPFAIL, "4.3.0 shutdown during local delivery");
                lconn_report(lc, i);
            }
    }
    event_free(lc->kick);
    const struct smtpc_ops *ops = lc->ops;
    void *a = lc->arg;
    ops->closed(a, (struct smtpc *)lc, OUTCOME_TEMPFAIL, "4.3.0 shutdown");
    free(lc);
}

const struct deliver_transport local_transport = {
    .start = local_start,
    .resume = local_resume,
    .abort = local_abort,
};

struct local *local_create(struct event_base *base, const struct conf *c, int helper_fd)
{
    struct local *l = xcalloc(1, sizeof *l);
    l->base = base;
    l->conf = c;
    l->fd = helper_fd;
    l->ndbs = c->naliases;
    l->dbs = xcalloc(c->naliases ? c->naliases : 1, sizeof *l->dbs);
    for (size_t i = 0; i < c->naliases; i++)
        l->dbs[i] = aliasdb_open(c->aliases[i]);
    l->rd_ev = event_new(base, helper_fd, EV_READ | EV_PERSIST, local_on_read, l);
    event_add(l->rd_ev, NULL);
    return l;
}

void local_free(struct local *l)
{
    if (!l)
        return;
    while (l->reqs) {
        struct lreq *rq = l->reqs;
        l->reqs = rq->next;
        free(rq);
    }
    for (size_t i = 0; i < l->ndbs; i++)
        aliasdb_close(l->dbs[i]);
    free(l->dbs);
    event_free(l->rd_ev);
    close(l->fd);
    free(l);
}
