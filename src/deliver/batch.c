/* batch: transactions (deliver.h). A routed recipient joins an open batch of its message
 * for its destination while that holds fewer than maxrecips recipients, else a new one;
 * with VERP every recipient gets its own batch and the sender local+rcpt=domain@domain
 * (dsn/verp.h). Open batches wait on their message until nothing of it is left in routing,
 * then go to their destinations' ready FIFOs (batch_release). batch_txn() makes the SMTP
 * transaction of a batch a connection takes: the content is read from the queue then, and
 * the message's Message-ID noted on the first read (for the audit log).
 *
 * Contracts:
 *  - a batch holds a reference on its message from batch_new() to batch_free(), which
 *    calls ops->released() last (the caller may free the message then);
 *  - batch_fail() reports one outcome for each of its recipients, then frees it;
 *  - batch_destroy() frees memory only (shutdown): no outcome, no reference dropped.
 * The arrays of a batch are sized maxrecips once: adding a recipient allocates nothing. */
#include <errno.h>
#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "deliver/internal.h"
#include "dsn/verp.h"
#include "proto/addr.h"
#include "proto/hdr.h"
#include "queue/queue.h"
#include "queue/record.h"

#define BATCH_MSGID_MAX 998  /* longest Message-ID kept for the audit log */
#define BATCH_HDR_SCAN 65536 /* header bytes searched for the Message-ID */

/* A new empty batch of m for dd, on m's open list. */
static struct batch *batch_new(struct deliver *dl, struct deliver_msg *m, struct ddest *dd)
{
    (void)dl;
    struct batch *b = xcalloc(1, sizeof *b);
    b->m = m;
    b->dd = dd;
    b->mnext = m->open;
    m->open = b;
    m->nbatches++;
    return b;
}

/* Frees a batch's memory only. */
void batch_destroy(struct batch *b)
{
    if (b->txn.body)
        evbuffer_free(b->txn.body);
    free(b->r);
    free(b->addrs);
    free(b->orcpts);
    free(b->notify);
    free(b->verp_sender);
    free(b);
}

/* Frees a batch and drops its reference on the message (the caller may free it then). */
void batch_free(struct deliver *dl, struct batch *b)
{
    struct deliver_msg *m = b->m;
    batch_destroy(b);
    m->nbatches--;
    dl->ops->released(dl->arg, m);
}

/* Reports the same outcome for every recipient of a batch, then frees it. */
void batch_fail(struct deliver *dl, struct batch *b, const struct deliver_result *res)
{
    struct deliver_result r = *res;
    if (!r.plan && b->dd) /* the destination's retry schedule decides when it is retried */
        r.plan = &b->dd->pol.plan;
    for (size_t i = 0; i < b->n; i++) {
        deliver_count(dl, b->dd, r.o);
        dl->ops->outcome(dl->arg, b->r[i], &r);
    }
    batch_free(dl, b);
}

/* Room for more recipients: the arrays double up to maxrecips (a batch is allocated at the
 * size it needs: with queuecache 20,000 one-recipient batches, maxrecips-sized arrays cost
 * ~30 MB). */
static void batch_grow(struct batch *b)
{
    size_t cap = b->cap ? b->cap * 2 : 1;
    if (cap > b->dd->pol.maxrecips)
        cap = b->dd->pol.maxrecips;
    b->r = xrealloc(b->r, cap * sizeof *b->r);
    b->addrs = xrealloc(b->addrs, cap * sizeof *b->addrs);
    b->orcpts = xrealloc(b->orcpts, cap * sizeof *b->orcpts);
    b->notify = xrealloc(b->notify, cap * sizeof *b->notify);
    b->cap = cap;
}

/* VERP: a batch of one recipient gets the sender local+rcpt=domain@domain (when encodable). */
static void batch_verp(struct deliver *dl, struct batch *b, const struct deliver_rcpt *r)
{
    char v[VERP_ADDR_MAX + 1];
    if (b->m->verp &&
        verp_encode(b->m->sender, addr_unrouted(r->addr), dl->conf->deliver.verp_delimiters, v,
                    sizeof v) == 0)
        b->verp_sender = xstrdup(v);
}

/* A routed recipient: into an open batch of its message for d (and the policy blocks
 * dmask) with room (the destination's maxrecips), or a new one. The destination's state is
 * looked up only for a new batch. */
void batch_add(struct deliver *dl, struct deliver_msg *m, struct deliver_rcpt *r, struct dest *d,
               uint64_t dmask)
{
    struct batch *b = m->verp ? NULL : m->open;
    while (b && (b->dd->dest != d || b->dd->dmask != dmask || b->n >= b->dd->pol.maxrecips))
        b = b->mnext;
    if (!b) {
        b = batch_new(dl, m, dest_get(dl, d, dmask));
        batch_verp(dl, b, r);
    }
    if (b->n == b->cap)
        batch_grow(b);
    b->r[b->n] = r;
    b->orcpts[b->n] = r->orcpt;
    b->notify[b->n] = r->notify;
    b->addrs[b->n++] = addr_unrouted(r->addr); /* a source route's relay gets local@domain */
}

/* A new batch of b's message for dd holding b's recipients [from, from + n): not on the
 * message's open list (it is ready). */
static struct batch *batch_piece(struct batch *b, size_t from, size_t n, struct ddest *dd)
{
    struct batch *p = xcalloc(1, sizeof *p);
    p->m = b->m;
    p->dd = dd;
    p->m->nbatches++;
    p->handovers = b->handovers;
    p->n = p->cap = n;
    p->r = xmalloc(n * sizeof *p->r);
    p->addrs = xmalloc(n * sizeof *p->addrs);
    p->orcpts = xmalloc(n * sizeof *p->orcpts);
    p->notify = xmalloc(n * sizeof *p->notify);
    memcpy(p->r, b->r + from, n * sizeof *p->r);
    memcpy(p->addrs, b->addrs + from, n * sizeof *p->addrs);
    memcpy(p->orcpts, b->orcpts + from, n * sizeof *p->orcpts);
    memcpy(p->notify, b->notify + from, n * sizeof *p->notify);
    if (b->verp_sender)
        p->verp_sender = xstrdup(b->verp_sender);
    return p;
}

/* Moves a ready batch (popped from its destination) to dd's ready FIFO, in transactions
 * of at most dd's maxrecips (dd may allow fewer than the one it was made for). The caller
 * dispatches dd. */
void batch_move(struct deliver *dl, struct batch *b, struct ddest *dd)
{
    (void)dl;
    size_t max = dd->pol.maxrecips, total = b->n;
    if (b->n > max)
        b->n = max; /* the arrays keep the rest for the pieces */
    b->dd = dd;
    dest_push(dd, b);
    for (size_t from = max; from < total; from += max)
        dest_push(dd, batch_piece(b, from, total - from < max ? total - from : max, dd));
}

/* Moves every open batch of m to its destination's ready FIFO and dispatches it. */
void batch_release(struct deliver *dl, struct deliver_msg *m)
{
    struct batch *b = m->open;
    m->open = NULL;
    while (b) {
        struct batch *next = b->mnext;
        b->mnext = NULL;
        dest_push(b->dd, b);
        dest_dispatch(dl, b->dd);
        b = next;
    }
}

/* The Message-ID header of a message's content (looked for in its first BATCH_HDR_SCAN
 * bytes of its first extent, which queue_body makes the whole head: nothing is copied or
 * linearised, the rest may be a mapped body file): its first word, at most
 * BATCH_MSGID_MAX bytes; "" when it has none. malloc'ed. */
static char *batch_msgid(struct evbuffer *body)
{
    struct evbuffer_iovec v;
    if (evbuffer_peek(body, -1, NULL, &v, 1) < 1)
        return xstrdup("");
    size_t len = v.iov_len > BATCH_HDR_SCAN ? BATCH_HDR_SCAN : v.iov_len;
    const char *p = v.iov_base;
    char val[BATCH_MSGID_MAX + 2];
    if (!p || hdr_find(p, len, "Message-ID", val, sizeof val) < 0)
        return xstrdup("");
    size_t vl = strcspn(val, " \t");
    return xstrndup(val, vl > BATCH_MSGID_MAX ? BATCH_MSGID_MAX : vl);
}

/* The transaction of b for a connection: its content read from the queue. NULL when the
 * content cannot be read (then b has failed TEMPFAIL and is gone). */
struct smtpc_txn *batch_txn(struct deliver *dl, struct batch *b)
{
    struct deliver_msg *m = b->m;
    b->txn.body = evbuffer_new();
    if (queue_body(dl->q, m->id, b->txn.body) < 0) {
        /* ENODATA: its body file is gone (queue/bodyfile.c); no retry can bring it back,
         * so the sender is told now rather than at expiry. */
        bool lost = errno == ENODATA;
        log_warn("%s: cannot read message content from the queue%s", m->qid,
                 lost ? ": its body file is missing" : "");
        batch_fail(dl, b,
                   &(struct deliver_result){
                       .o = lost ? OUTCOME_PERMFAIL : OUTCOME_TEMPFAIL,
                       .reply = lost ? "5.3.0 message content lost from the queue"
                                     : "4.3.0 queue read error",
                       .relay = "none"});
        return NULL;
    }
    if (!m->msgid)
        m->msgid = batch_msgid(b->txn.body);
    b->txn.msgid = m->id;
    b->txn.sender = b->verp_sender ? b->verp_sender : m->sender;
    b->txn.nrcpt = b->n;
    b->txn.rcpts = b->addrs;
    b->txn.orcpts = b->orcpts;
    b->txn.notify = b->notify;
    b->txn.envid = m->envid;
    b->txn.ret = m->flags & (MSG_F_RET_FULL | MSG_F_RET_HDRS);
    b->txn.flags = m->flags & (MSG_F_SMTPUTF8 | MSG_F_BY_RETURN | MSG_F_BY_NOTIFY | MSG_F_BY_TRACE |
                              MSG_F_7BIT);
    b->txn.deliver_by = m->deliver_by;
    b->txn.size = evbuffer_get_length(b->txn.body);
    b->txn.owner = b;
    dl->st.transactions++;
    return &b->txn;
}
