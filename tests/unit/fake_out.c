/* fake_out: the fake clock, router and transport of fake_out.h. */
#include "fake_out.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/qid.h"
#include "core/xalloc.h"
#include "queue/queue.h"
#include "smtpc/smtpc.h"

enum fc_state { FC_CONNECTING, FC_SESSION, FC_IDLE, FC_QUIT, FC_CLOSED };

struct fake_conn {
    struct fake_out *f;
    int id, dest;
    const struct smtpc_ops *ops;
    void *arg;
    enum fc_state st;
    struct smtpc_txn *cur; /* taken, not played yet */
};

struct fake_route {
    struct fake_route *next;
    route_fn cb;
    void *arg;
    struct dest *d;
    enum outcome o;
    char why[64];
};

int64_t fake_clock = 1000000000000LL;

/* The fake wall clock. */
int64_t fake_now(void)
{
    return fake_clock;
}

/* The destination of a domain "NAME.test", or -1. */
static int fake_dest_of(const struct fake_out *f, const char *domain)
{
    for (int i = 0; i < f->ndests; i++) {
        size_t n = strlen(f->dests[i].name);
        if (strncasecmp(domain, f->dests[i].name, n) == 0 && strcasecmp(domain + n, ".test") == 0)
            return i;
    }
    return -1;
}

/* Router: answers later (fake_run), in the order asked. */
static void fake_lookup(void *rarg, const char *sender, const char *client_ip, const char *rcpt,
                        route_fn cb, void *arg)
{
    struct fake_out *f = rarg;
    (void)sender;
    (void)client_ip;
    const char *at = strrchr(rcpt, '@');
    int i = fake_dest_of(f, at ? at + 1 : "");
    struct fake_route *r = xcalloc(1, sizeof *r);
    r->cb = cb;
    r->arg = arg;
    r->d = i >= 0 ? &f->dests[i].d : NULL;
    r->o = i >= 0 ? OUTCOME_OK : OUTCOME_PERMFAIL;
    snprintf(r->why, sizeof r->why, "%s", i >= 0 ? "" : "5.4.4 no such domain");
    *f->routes_tail = r;
    f->routes_tail = &r->next;
}

/* Router: the cached destination of a domain. */
static struct dest *fake_cached(void *rarg, const char *domain)
{
    struct fake_out *f = rarg;
    int i = fake_dest_of(f, domain);
    return i >= 0 ? &f->dests[i].d : NULL;
}

static const struct deliver_router fake_router = {.lookup = fake_lookup, .cached = fake_cached};

/* Transport: a connection to the destination whose host is peers[0]. */
static void *fake_start(void *targ, struct event_base *base, const struct conf *c,
                        const struct peer *peers, size_t npeers, const struct smtpc_ops *ops,
                        void *arg)
{
    struct fake_out *f = targ;
    (void)base;
    (void)c;
    (void)npeers;
    struct fake_conn *fc = xcalloc(1, sizeof *fc);
    fc->f = f;
    fc->id = f->nconns;
    fc->dest = 0;
    for (int i = 0; i < f->ndests; i++)
        if (strcmp(peers[0].name, f->dests[i].name) == 0)
            fc->dest = i;
    fc->ops = ops;
    fc->arg = arg;
    struct fake_dest *fd = &f->dests[fc->dest];
    fd->opened++;
    if (++fd->open > fd->peak_open)
        fd->peak_open = fd->open;
    if (++f->open > f->peak_open)
        f->peak_open = f->open;
    f->conns = xrealloc(f->conns, (size_t)(f->nconns + 1) * sizeof *f->conns);
    f->conns[f->nconns++] = fc;
    return fc;
}

/* Asks the owner for work, as smtpc's session loop does. */
static void fake_next(struct fake_conn *fc)
{
    struct smtpc_txn *t = fc->ops->next(fc->arg, NULL);
    if (t == SMTPC_TXN_WAIT)
        fc->st = FC_IDLE;
    else if (!t)
        fc->st = FC_QUIT;
    else
        fc->cur = t;
}

/* Ends a connection: closed() last. */
static void fake_close(struct fake_conn *fc, enum outcome o, const char *why)
{
    struct fake_dest *fd = &fc->f->dests[fc->dest];
    if (fc->st == FC_SESSION || fc->st == FC_IDLE || fc->st == FC_QUIT)
        fd->sessions--;
    fd->open--;
    fc->f->open--;
    fc->st = FC_CLOSED;
    fc->ops->closed(fc->arg, NULL, o, why);
}

/* Transport: an idle session gets work (next() at once). */
static void fake_resume(void *conn)
{
    struct fake_conn *fc = conn;
    if (fc->st != FC_IDLE)
        return;
    fc->st = FC_SESSION;
    fake_next(fc);
}

/* Transport: abandon now (shutdown). */
static void fake_abort(void *conn)
{
    struct fake_conn *fc = conn;
    if (fc->cur) {
        for (size_t i = 0; i < fc->cur->nrcpt; i++)
            fc->ops->rcpt_done(fc->arg, fc->cur, i, OUTCOME_TEMPFAIL,
                               "4.3.0 connection aborted (shutdown)", "none");
        struct smtpc_txn *t = fc->cur;
        fc->cur = NULL;
        fc->ops->txn_done(fc->arg, t);
    }
    bool session = fc->st != FC_CONNECTING;
    fake_close(fc, session ? OUTCOME_OK : OUTCOME_TEMPFAIL, "4.3.0 connection aborted (shutdown)");
}

static const struct deliver_transport fake_transport = {
    .start = fake_start, .resume = fake_resume, .abort = fake_abort};

/* The reply a recipient gets: by the start of its local part. */
static enum outcome fake_reply(const char *rcpt, const char **text)
{
    if (strncmp(rcpt, "temp", 4) == 0) {
        *text = "451 4.2.0 try later";
        return OUTCOME_TEMPFAIL;
    }
    if (strncmp(rcpt, "perm", 4) == 0) {
        *text = "550 5.1.1 no such user";
        return OUTCOME_PERMFAIL;
    }
    *text = "250 2.0.0 ok";
    return OUTCOME_OK;
}

/* Plays the transaction a connection took: records it, reports every recipient. */
static void fake_play_txn(struct fake_conn *fc)
{
    struct fake_out *f = fc->f;
    struct smtpc_txn *t = fc->cur;
    struct fake_dest *fd = &f->dests[fc->dest];
    fc->cur = NULL;
    if (f->ntxns < FAKE_TXNS_MAX) {
        struct fake_txn *r = &f->txns[f->ntxns++];
        r->dest = fc->dest;
        r->conn = fc->id;
        r->nrcpt = t->nrcpt;
        snprintf(r->sender, sizeof r->sender, "%s", t->sender);
        snprintf(r->rcpt0, sizeof r->rcpt0, "%s", t->nrcpt ? t->rcpts[0] : "");
        ev_ssize_t n = t->body ? evbuffer_copyout(t->body, r->body, sizeof r->body - 1) : 0;
        r->body[n > 0 ? n : 0] = '\0';
    }
    t->dsn = fd->dsn;
    char relay[64];
    snprintf(relay, sizeof relay, "%s[127.0.0.1]:25", fd->name);
    for (size_t i = 0; i < t->nrcpt; i++) {
        const char *text;
        enum outcome o = fake_reply(t->rcpts[i], &text);
        t->stage = o == OUTCOME_OK ? SMTPC_STAGE_DATA : SMTPC_STAGE_RCPT;
        fc->ops->rcpt_done(fc->arg, t, i, o, text, relay);
    }
    fc->ops->txn_done(fc->arg, t);
}

/* A connect resolves: refused, over the limit, or a session that asks for work. */
static void fake_connect(struct fake_conn *fc)
{
    struct fake_dest *fd = &fc->f->dests[fc->dest];
    if (fd->refuse) {
        fd->refused++;
        fake_close(fc, fd->refuse_perm ? OUTCOME_PERMFAIL : OUTCOME_TEMPFAIL,
                   fd->refuse_perm ? "554 5.7.1 go away" : "4.4.1 connection refused");
    } else if (fd->limit && fd->sessions >= fd->limit) {
        fd->refused++;
        fake_close(fc, OUTCOME_TEMPFAIL, "421 4.7.0 too many connections");
    } else {
        fc->st = FC_SESSION;
        if (++fd->sessions > fd->peak_sessions)
            fd->peak_sessions = fd->sessions;
        fake_next(fc);
    }
}

/* One step of a connection; false when it has nothing to do. */
static bool fake_step(struct fake_conn *fc)
{
    switch (fc->st) {
    case FC_CONNECTING:
        fake_connect(fc);
        return true;
    case FC_SESSION:
        if (fc->cur)
            fake_play_txn(fc);
        else
            fake_next(fc);
        return true;
    case FC_QUIT:
        fake_close(fc, OUTCOME_OK, "");
        return true;
    case FC_IDLE:
    case FC_CLOSED:
        break;
    }
    return false;
}

/* Plays at most `rounds` rounds (see fake_out.h), stopping at one that changes nothing. */
int fake_run_for(struct fake_out *f, int rounds)
{
    int steps = 0, before;
    do {
        before = steps;
        while (f->routes) {
            struct fake_route *r = f->routes;
            f->routes = r->next;
            if (!f->routes)
                f->routes_tail = &f->routes;
            r->cb(r->arg, r->d, r->o, r->why);
            free(r);
            steps++;
        }
        int n = f->nconns; /* connections opened by these steps wait for the next round */
        for (int i = 0; i < n; i++)
            steps += fake_step(f->conns[i]);
    } while (steps != before && --rounds > 0);
    return steps;
}

/* Plays rounds until one changes nothing. */
int fake_run(struct fake_out *f)
{
    return fake_run_for(f, INT_MAX);
}

/* Connections not closed yet. */
int fake_open_conns(const struct fake_out *f)
{
    int n = 0;
    for (int i = 0; i < f->nconns; i++)
        n += f->conns[i]->st != FC_CLOSED;
    return n;
}

/* One blocking pass of the loop (a timer), then whatever it started. */
void fake_loop_once(struct fake_out *f)
{
    event_base_loop(f->base, EVLOOP_ONCE);
    fake_run(f);
}

/* A destination "name" for domain "name.test": one host "name" at 127.0.0.1. */
int fake_dest_add(struct fake_out *f, const char *name)
{
    int i = f->ndests++;
    struct fake_dest *fd = &f->dests[i];
    char key[64];
    snprintf(fd->name, sizeof fd->name, "%s", name);
    snprintf(key, sizeof key, "fake:%s", name);
    fd->d.key = xstrdup(key);
    fd->d.hosts = xcalloc(1, sizeof *fd->d.hosts);
    fd->d.nhosts = 1;
    fd->d.port = 25;
    fd->d.hosts[0].name = fd->name;
    fd->d.hosts[0].pref = 10;
    fd->d.hosts[0].addrs = xcalloc(1, sizeof *fd->d.hosts[0].addrs);
    fd->d.hosts[0].naddrs = 1;
    struct sockaddr_in *sin = (struct sockaddr_in *)fd->d.hosts[0].addrs;
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return i;
}

/* queue_put completion. */
static void fake_on_put(void *arg, int err)
{
    *(int *)arg = err ? -1 : 1;
}

/* Stores a small message content; returns its id. */
uint64_t fake_put_body(struct fake_out *f)
{
    static const char body[] = "Subject: test\r\nMessage-ID: <m@fake.test>\r\n\r\nhello\r\n";
    struct qrcpt r = {.addr = "x@a.test", .state = RCPT_PENDING, .last_reply = "", .orcpt = ""};
    struct qmsg m = {.id = qid_next(),
                     .sender = "s@src.test",
                     .client_ip = "",
                     .helo = "",
                     .envid = "",
                     .size = sizeof body - 1,
                     .nrcpt = 1,
                     .rcpts = &r};
    int done = 0, seen = 0;
    queue_put(f->q, &m, xstrdup(body), sizeof body - 1, fake_on_put, &done);
    queue_barrier(f->q, fake_on_put, &seen); /* visible to readers too, not only durable */
    while (done == 0 || seen == 0)
        event_base_loop(f->base, EVLOOP_ONCE);
    if (done < 0)
        abort();
    return m.id;
}

/* A world: loop, queue in a fresh directory, router and transport. */
struct fake_out *fake_out_create(void)
{
    static int threads;
    char err[256];
    if (!threads++)
        evthread_use_pthreads();
    struct fake_out *f = xcalloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/fake_out.XXXXXX");
    if (!mkdtemp(f->dir))
        abort();
    f->base = event_base_new();
    f->q = queue_open(f->dir, f->base, err, sizeof err);
    if (!f->q) {
        fprintf(stderr, "queue_open: %s\n", err);
        abort();
    }
    f->routes_tail = &f->routes;
    f->io = (struct deliver_io){.router = &fake_router,
                                .router_arg = f,
                                .transport = &fake_transport,
                                .transport_arg = f,
                                .now = fake_now};
    return f;
}

/* nftw callback: removes one entry. */
static int fake_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Frees the world and removes its directory. */
void fake_out_free(struct fake_out *f)
{
    queue_close(f->q);
    event_base_free(f->base);
    nftw(f->dir, fake_rm, 16, FTW_DEPTH | FTW_PHYS);
    for (int i = 0; i < f->nconns; i++)
        free(f->conns[i]);
    free(f->conns);
    while (f->routes) {
        struct fake_route *r = f->routes;
        f->routes = r->next;
        free(r);
    }
    for (int i = 0; i < f->ndests; i++) {
        free(f->dests[i].d.key);
        free(f->dests[i].d.hosts[0].addrs);
        free(f->dests[i].d.hosts);
    }
    free(f);
}
