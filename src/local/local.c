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
#include "core/dict.h"
#include "core/log.h"
#include "core/qid.h"
#include "core/xalloc.h"
#include "deliver/deliver.h"
#include "local/forward.h"
#include "local/helper.h"
#include "local/internal.h"
#include "proto/addr.h"
#include "proto/aliases.h"
#include "proto/mime8to7.h"
#include "queue/queue.h"
#include "route/aliasdb.h"
#include "route/route.h"
#include "smtpc/smtpc.h"

static void lconn_on_kick(evutil_socket_t fd, short what, void *arg);

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
static int local_content(struct smtpc_txn *t, const char *sender, const char *rcpt)
{
    int fd = memfd_create("sluice-local", MFD_CLOEXEC);
    if (fd < 0)
        return -1;
    char hdr[2048];
    int n = snprintf(hdr, sizeof hdr, "Return-Path: <%.900s>\r\nDelivered-To: %.900s\r\n",
                     sender, rcpt);
    size_t blen = evbuffer_get_length(t->body);
    const char *b = (const char *)evbuffer_pullup(t->body, -1);
    if (write(fd, hdr, (size_t)n) != n || (blen && write(fd, b, blen) != (ssize_t)blen)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Frees a request (and a .forward check's memfd). */
static void lreq_free(struct lreq *rq)
{
    if (rq->fwd_fd >= 0)
        close(rq->fwd_fd);
    free(rq->deliver);
    record_msg_clear(&rq->m);
    free(rq);
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
    for (size_t k = 0; k < r->nremote; k++)
        free(r->remote[k]);
    free(r->remote);
    r->remote = NULL;
    r->nremote = 0;
    lc->t->ok = r->expanded ? SMTPC_OK_EXPANDED : SMTPC_OK_DELIVERED;
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

/* Sends target q of recipient i to the helper; a mailbox target with check set first asks
 * for the user's .forward (the delivery is sent when that answer comes: local_on_forward). */
static void lconn_send(struct lconn *lc, size_t i, const struct helper_req *target, int check)
{
    struct local *l = lc->l;
    struct lrcpt *r = &lc->r[i];
    struct helper_req q = *target;
    struct lreq *rq = xcalloc(1, sizeof *rq);
    const char *sender = r->sender[0] ? r->sender : lc->sender;
    q.id = ++l->next_id;
    snprintf(q.sender, sizeof q.sender, "%s", sender);
    *rq = (struct lreq){.id = q.id, .l = l, .lc = lc, .rcpt = i, .fwd_fd = -1};
    int fd;
    if (check && (q.kind == HELPER_MAILDIR || q.kind == HELPER_MBOX)) {
        rq->deliver = xmalloc(sizeof *rq->deliver);
        *rq->deliver = q;
        q.kind = HELPER_FORWARD;
        fd = rq->fwd_fd = memfd_create("sluice-forward", MFD_CLOEXEC);
    } else {
        fd = local_content(lc->t, sender, lc->t->rcpts[i]);
    }
    if (fd < 0 || local_send(l, &q, fd) < 0) {
        lrcpt_note(r, OUTCOME_TEMPFAIL, "4.3.0 cannot hand the mail to the delivery helper");
        if (fd >= 0)
            close(fd);
        free(rq->deliver);
        free(rq);
        return;
    }
    if (rq->fwd_fd < 0)
        close(fd);
    rq->next = l->reqs;
    l->reqs = rq;
    r->pending++;
}

/* Adds the remote addresses of a .forward to recipient i's (each once). */
static void lrcpt_add_remote(struct lrcpt *r, char **addrs, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        int dup = 0;
        for (size_t j = 0; j < r->nremote && !dup; j++)
            dup = strcasecmp(r->remote[j], addrs[k]) == 0;
        if (dup || r->nremote >= LOCAL_TARGETS_MAX)
            continue;
        r->remote = xrealloc(r->remote, (r->nremote + 1) * sizeof *r->remote);
        r->remote[r->nremote++] = xstrdup(addrs[k]);
    }
}

/* The .forward of user q->user (bytes in fd) replaces the mailbox delivery q of recipient
 * i: its entries are expanded as the user (via "forward"), one level (mailboxes found there
 * are delivered without another .forward); an empty one delivers to the mailbox. */
static void lconn_forward(struct lconn *lc, size_t i, const struct helper_req *q, int fd)
{
    struct lrcpt *r = &lc->r[i];
    char *buf = xmalloc(FORWARD_MAX + 1), tmp[ALIASES_TARGET_MAX + 1], err[128];
    ssize_t n = pread(fd, buf, FORWARD_MAX, 0);
    struct lexp x = {.l = lc->l};
    lexp_seen(&x, q->user); /* the user itself is its mailbox (lexp_target), never a loop */
    struct lexp_ctx cx = {&x, q->user, q->user, "forward", 1};
    if (n < 0)
        snprintf(x.err, sizeof x.err, "4.3.0 cannot read the .forward of %s", q->user);
    else if (aliases_split_list(buf, (size_t)n, tmp, lexp_target, &cx, err, sizeof err) < 0)
        snprintf(x.err, sizeof x.err, "4.3.0 .forward of %s: %s", q->user, err);
    free(buf);
    if (x.err[0]) {
        lrcpt_note(r, x.err[0] == '5' ? OUTCOME_PERMFAIL : OUTCOME_TEMPFAIL, x.err);
    } else if (x.nout == 0 && x.nremote == 0) {
        lconn_send(lc, i, q, 0);
    } else {
        log_info("local: %s: delivered by ~%s/.forward (%zu local, %zu remote targets)",
                 lc->t->rcpts[i], q->user, x.nout, x.nremote);
        for (size_t k = 0; k < x.nout; k++)
            lconn_send(lc, i, &x.out[k], 0);
        lrcpt_add_remote(r, x.remote, x.nremote);
    }
    lexp_clear(&x);
}

/* The answer to a .forward check of recipient i (helper text: forward.h). */
static void local_on_forward(struct lconn *lc, size_t i, struct lreq *rq, enum outcome o,
                             const char *text)
{
    if (o != OUTCOME_OK)
        lrcpt_note(&lc->r[i], o, text);
    else if (strcmp(text, "forward") == 0)
        lconn_forward(lc, i, rq->deliver, rq->fwd_fd);
    else {
        if (strncmp(text, "ignored:", 8) == 0)
            log_warn("local: ~%s/.forward %s", rq->deliver->user, text);
        lconn_send(lc, i, rq->deliver, 0);
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
    char canon[ADDR_MAX + 1];
    struct lexp x = {.l = l};
    int vrc = local_canonical(l, rcpt, canon, sizeof canon);
    if (vrc == 0)
        vrc = lexp_virtual(&x, canon);
    if (vrc < 0)
        snprintf(x.err, sizeof x.err, "4.3.0 virtual or canonical map unreadable");
    at = strrchr(canon, '@');
    if (vrc == 0 && at && !route_is_local(l->conf, at + 1)) { /* canonical made it remote */
        lexp_remote(&x, canon);
    } else if (vrc == 0) {
        snprintf(name, sizeof name, "%.*s", at ? (int)(at - canon) : (int)strlen(canon), canon);
        lexp_name(&x, name, "nobody", 0, "alias");
    }
    if (x.err[0]) { /* partly unusable: nothing is delivered, the worst decides */
        lrcpt_note(r, x.err[0] == '5' ? OUTCOME_PERMFAIL : OUTCOME_TEMPFAIL, x.err);
        x.nout = 0;
    } else if (x.nout == 0 && x.nremote == 0) {
        lrcpt_note(r, OUTCOME_PERMFAIL, "5.4.6 alias loop: nothing left to deliver to");
    } else if (x.nremote > 0 && !l->q) {
        lrcpt_note(r, OUTCOME_TEMPFAIL, "4.3.5 no queue for the expansion");
        x.nout = 0;
    } else { /* the remote part is stored once the local targets are done (lconn_settle) */
        if (lc->sender[0]) /* a bounce (null sender) stays one: nothing may answer it */
            snprintf(r->sender, sizeof r->sender, "%s", x.sender);
        r->remote = x.remote;
        r->nremote = x.nremote;
        x.remote = NULL;
        x.nremote = 0;
    }
    for (size_t k = 0; k < x.nout; k++)
        lconn_send(lc, i, &x.out[k], 1);
    lexp_clear(&x);
}

/* The new message of an expansion: the parent's content and sender, the remote addresses
 * as recipients (NOTIFY of the parent without SUCCESS: the parent's own DSN covers it). */
static void lconn_expansion_msg(struct lconn *lc, size_t i, struct qmsg *m)
{
    struct smtpc_txn *t = lc->t;
    struct lrcpt *r = &lc->r[i];
    size_t blen = evbuffer_get_length(t->body);
    memset(m, 0, sizeof *m);
    m->id = qid_next();
    m->arrival = clock_wall_ms();
    m->sender = xstrdup(r->sender[0] ? r->sender : lc->sender);
    m->client_ip = xstrdup("");
    m->helo = xstrdup("");
    m->size = blen;
    m->flags = t->ret; /* the same content: known 7-bit stays so, else one scan says */
    if (t->flags & MSG_F_7BIT)
        m->flags |= MSG_F_7BIT;
    else
        m->flags |= mime8to7_is_8bit((const char *)evbuffer_pullup(t->body, -1), blen)
                        ? MSG_F_8BITMIME : MSG_F_7BIT;
    m->envid = xstrdup(t->envid ? t->envid : "");
    m->nrcpt = (uint32_t)r->nremote;
    m->rcpts = xcalloc(r->nremote, sizeof *m->rcpts);
    uint8_t notify = t->notify ? t->notify[i] : 0;
    for (size_t k = 0; k < r->nremote; k++) {
        m->rcpts[k].addr = r->remote[k];
        m->rcpts[k].last_reply = xstrdup("");
        m->rcpts[k].orcpt = xstrdup("");
        m->rcpts[k].notify = notify & NOTIFY_SUCCESS ? (uint8_t)(notify & ~NOTIFY_SUCCESS) : notify;
        m->rcpts[k].state = RCPT_PENDING;
    }
    free(r->remote); /* the addresses now belong to m */
    r->remote = NULL;
    r->nremote = 0;
}

/* The expansion is durable (err 0: the parent recipient is final in the queue too). */
static void local_on_stored(void *arg, int err)
{
    struct lreq *rq = arg;
    struct local *l = rq->l;
    for (struct lreq **pp = &l->reqs; *pp; pp = &(*pp)->next)
        if (*pp == rq) {
            *pp = rq->next;
            break;
        }
    char qid[QID_TEXT_LEN + 1], text[HELPER_TEXT_MAX];
    qid_to_text(rq->m.id, qid);
    if (err == 0) {
        log_info("local: expanded %u recipients in one commit: %s", rq->m.nrcpt, qid);
        l->accepted(l->accepted_arg, &rq->m);
        snprintf(text, sizeof text, "2.0.0 expanded into %u recipients (queued as %s)",
                 rq->m.nrcpt, qid);
    } else {
        log_warn("local: cannot queue an expansion of %u recipients: %s", rq->m.nrcpt,
                 strerror(err));
        snprintf(text, sizeof text, "4.3.0 cannot queue the expansion: %s", strerror(err));
    }
    struct lconn *lc = rq->lc;
    if (lc) {
        struct lrcpt *r = &lc->r[rq->rcpt];
        lrcpt_note(r, err ? OUTCOME_TEMPFAIL : OUTCOME_OK, text);
        if (--r->pending == 0)
            lconn_report(lc, rq->rcpt);
    }
    lreq_free(rq);
}

/* Recipient i has no target pending: reported, or first its remote part is stored (with
 * the recipient's final state in the same queue transaction) unless a local target failed
 * temporarily (then all of it is retried later and nothing was stored twice). */
static void lconn_settle(struct lconn *lc, size_t i)
{
    struct local *l = lc->l;
    struct lrcpt *r = &lc->r[i];
    if (r->nremote == 0 || (r->text[0] && r->worst == OUTCOME_TEMPFAIL)) {
        lconn_report(lc, i);
        return;
    }
    int failed = r->text[0] && r->worst == OUTCOME_PERMFAIL;
    char reply[HELPER_TEXT_MAX];
    snprintf(reply, sizeof reply, "%s", failed ? r->text : "2.0.0 expanded");
    r->expanded = 1;
    struct lreq *rq = xcalloc(1, sizeof *rq);
    rq->fwd_fd = -1;
    rq->l = l;
    rq->lc = lc;
    rq->rcpt = i;
    lconn_expansion_msg(lc, i, &rq->m);
    rq->next = l->reqs;
    l->reqs = rq;
    r->pending++;
    size_t blen = evbuffer_get_length(lc->t->body);
    char *body = xmalloc(blen ? blen : 1);
    evbuffer_copyout(lc->t->body, body, blen);
    queue_put_expansion(l->q, &rq->m, body, blen, lc->t->msgid, lc->t->rcpts[i],
                        failed ? RCPT_FAILED : RCPT_DELIVERED, reply, local_on_stored, rq);
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
    if (local_canonical(lc->l, lc->t->sender, lc->sender, sizeof lc->sender) < 0)
        snprintf(lc->sender, sizeof lc->sender, "%s", lc->t->sender); /* logged by lookup */
    for (size_t i = 0; i < n; i++)
        lconn_rcpt(lc, i);
    for (size_t i = 0; i < n && lc->t; i++)
        if (lc->r[i].pending == 0)
            lconn_settle(lc, i);
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
        char text[HELPER_TEXT_MAX];
        snprintf(text, sizeof text, "%.*s", (int)sizeof rep->text, rep->text);
        enum outcome o = rep->outcome >= OUTCOME_OK && rep->outcome <= OUTCOME_PERMFAIL
                             ? (enum outcome)rep->outcome
                             : OUTCOME_TEMPFAIL;
        if (lc && rq->deliver)
            local_on_forward(lc, i, rq, o, text);
        else if (lc)
            lrcpt_note(&lc->r[i], o, text);
        lreq_free(rq);
        if (!lc)
            return;
        if (--lc->r[i].pending == 0)
            lconn_settle(lc, i);
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
        for (;;) {
            struct lreq *rq = l->reqs;
            while (rq && rq->id == 0) /* expansions in flight end with their queue write */
                rq = rq->next;
            if (!rq)
                break;
            struct helper_rep gone = {.id = rq->id, .outcome = OUTCOME_TEMPFAIL};
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
    l->nvdbs = c->nvirtual;
    l->vdbs = xcalloc(c->nvirtual ? c->nvirtual : 1, sizeof *l->vdbs);
    for (size_t i = 0; i < c->nvirtual; i++)
        l->vdbs[i] = aliasdb_open(c->virtual[i]);
    l->ncdbs = c->ncanonical;
    l->cdbs = xcalloc(c->ncanonical ? c->ncanonical : 1, sizeof *l->cdbs);
    for (size_t i = 0; i < c->ncanonical; i++)
        l->cdbs[i] = aliasdb_open(c->canonical[i]);
    l->rd_ev = event_new(base, helper_fd, EV_READ | EV_PERSIST, local_on_read, l);
    event_add(l->rd_ev, NULL);
    return l;
}

void local_set_queue(struct local *l, struct queue *q,
                     void (*accepted)(void *arg, const struct qmsg *m), void *arg)
{
    l->q = q;
    l->accepted = accepted;
    l->accepted_arg = arg;
}

void local_free(struct local *l)
{
    if (!l)
        return;
    while (l->reqs) { /* after queue_close: every expansion has reported */
        struct lreq *rq = l->reqs;
        l->reqs = rq->next;
        lreq_free(rq);
    }
    for (size_t i = 0; i < l->ndbs; i++)
        aliasdb_close(l->dbs[i]);
    free(l->dbs);
    for (size_t i = 0; i < l->nvdbs; i++)
        aliasdb_close(l->vdbs[i]);
    free(l->vdbs);
    for (size_t i = 0; i < l->ncdbs; i++)
        aliasdb_close(l->cdbs[i]);
    free(l->cdbs);
    event_free(l->rd_ev);
    close(l->fd);
    free(l);
}

/* Reload: later work reads c. */
void local_set_conf(struct local *l, const struct conf *c)
{
    l->conf = c;
}
