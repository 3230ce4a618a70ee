/* local/internal.h: what local.c (the transport: requests to the helper, results,
 * expansions stored) and expand.c (what a recipient resolves to: canonical, virtual,
 * aliases, :include:) share. Not for other modules. */
#ifndef SLUICE_LOCAL_INTERNAL_H
#define SLUICE_LOCAL_INTERNAL_H
#include <stddef.h>
#include <stdint.h>

#include "core/dict.h"
#include "deliver/deliver.h"
#include "local/helper.h"
#include "proto/addr.h"
#include "proto/aliases.h"
#include "queue/queue.h"
#include "route/aliasdb.h"
#include "smtpc/smtpc.h"

struct lconn;

struct lreq {
    struct lreq *next;
    uint64_t id; /* 0: a queue_put_expansion in flight, not a helper request */
    struct local *l;
    struct lconn *lc; /* NULL once aborted */
    size_t rcpt;
    struct qmsg m; /* expansion: the new message (its strings owned) */
    struct helper_req *deliver; /* a .forward check: the mailbox delivery it stands for */
    int fwd_fd;                 /* a .forward check: the memfd the helper fills */
};

struct local {
    struct event_base *base;
    const struct conf *conf;
    int fd;
    struct event *rd_ev;
    struct aliasdb **dbs;
    size_t ndbs;
    struct aliasdb **vdbs, **cdbs; /* virtual and canonical maps */
    size_t nvdbs, ncdbs;
    struct lreq *reqs;
    uint64_t next_id;
    struct queue *q; /* expansions to remote addresses are stored here (local_set_queue) */
    void (*accepted)(void *arg, const struct qmsg *m);
    void *accepted_arg;
};

struct lrcpt {
    unsigned pending;
    enum outcome worst;
    char text[HELPER_TEXT_MAX];
    char **remote; /* remote addresses of the expansion, stored once the local ones are done */
    size_t nremote;
    int expanded; /* its mail went on to remote addresses: a success DSN says expanded */
    char sender[ADDR_MAX + 1]; /* the expansion's envelope sender (owner- alias), else "" */
};

struct lconn {
    struct local *l;
    const struct smtpc_ops *ops;
    void *arg;
    struct event *kick;
    char sender[ADDR_MAX + 1]; /* t's sender after the canonical maps */
    struct smtpc_txn *t; /* the transaction in progress */
    struct lrcpt *r;     /* per recipient of t */
    size_t left;         /* recipients of t not reported */
    int waiting;         /* next() said SMTPC_TXN_WAIT */
};

/* One expansion: what a recipient resolves to. */
struct lexp {
    struct local *l;
    struct dict *seen; /* names and targets expanded so far (lowercase) */
    struct helper_req *out; /* final targets */
    size_t nout;
    char **remote; /* remote addresses (each once) */
    size_t nremote;
    int loops;
    char err[HELPER_TEXT_MAX];
    char sender[ADDR_MAX + 1]; /* "owner-NAME@myorigin" when the recipient's own alias NAME
                                  has an owner- alias (the expansion's sender), else "" */
};

struct lexp_ctx {
    struct lexp *x;
    const char *name, *owner, *via;
    int depth;
};

int lexp_seen(struct lexp *x, const char *s);
void lexp_remote(struct lexp *x, const char *addr);
void lexp_add(struct lexp *x, enum helper_kind k, const char *user, const char *target);
int lexp_target(void *arg, enum alias_kind k, const char *t, size_t len);
void lexp_name(struct lexp *x, const char *name, const char *owner, int depth,
                      const char *via);
int local_map_lookup(struct aliasdb **dbs, size_t n, const char *addr, char **out,
                            size_t *outlen);
int local_canonical(struct local *l, const char *addr, char *out, size_t outlen);
int lexp_virtual(struct lexp *x, const char *rcpt);
void lexp_clear(struct lexp *x);
#endif
