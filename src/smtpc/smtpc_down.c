/* smtpc 7-bit downgrade, streamed: an 8-bit MIME body for a next hop without 8BITMIME goes
 * out converted (proto/mime8to7.h) piece by piece as the socket drains, so the memory it
 * takes does not grow with the message: the body's own chains (a large body is a read-only
 * mapping of its body file, queue/bodyfile.c) are read in place, never copied whole.
 *
 * smtpc_down_prepare(c)  at the start of a transaction, before MAIL: pass 1 over the body
 *     (can it be converted? which parts) and a counting run of pass 2 (the exact converted
 *     size, for SIZE= and "BDAT n LAST"). The event loop never blocks on it: one loop turn
 *     reads at most SMTPC_DOWN_SLICE body bytes (pass 1 and the count together), and the
 *     rest runs on later turns from a zero-timeout timer the state owns (an entry point),
 *     so other connections are served in between. Returns 0 (ready: c->down set, t->size
 *     the converted size), SMTPC_DOWN_PENDING (c->down set, preparing: the timer runs the
 *     next slice and, once decided, hands the result to smtpc_ext_prepared(), which sends
 *     MAIL or settles the recipients), or the MIME8TO7_*
 *     reason it cannot be converted (nothing kept). A connection that goes away meanwhile
 *     (timeout, peer close, shutdown) releases the transaction, whose smtpc_down_free()
 *     frees the timer with the state: no slice runs after it.
 * smtpc_down_preparing(c)  true while the preparation is under way: nothing is sent.
 * smtpc_down_start(c, bdat)  instead of writing the body: takes the body, writes the first
 *     SMTPC_DOWN_HIGH bytes of converted output (dot-stuffed after DATA; after "BDAT n LAST"
 *     as they are); smtpc_down_pump(c) (from the write callback) writes more each time the
 *     output has drained, so at most SMTPC_DOWN_HIGH + one stuffed chunk is buffered; at
 *     the end the final CRLF and "." (DATA) and the expected reply.
 * smtpc_down_streaming(c)  true while the converted body is still going out: no reply is
 *     awaited for it yet (one that arrives is unexpected and fails the connection).
 * smtpc_down_free(c)  drops the state and its timer (transaction released, connection gone). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "audit/transcript.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "proto/mime8to7.h"
#include "smtpc/internal.h"

#define SMTPC_DOWN_HIGH (64 * 1024)   /* output buffered before waiting for the socket */
#define SMTPC_DOWN_CHUNK (16 * 1024)  /* converted bytes per step */
#define SMTPC_DOWN_SLICE (256 * 1024) /* body bytes read per loop turn while preparing */
#define SMTPC_DOWN_IOV 16             /* body chains looked at per peek */

struct smtpc_down {
    struct mime8to7 m; /* the converter's fixed-size state */
    struct mime8to7_plan plan;
    /* preparing (smtpc_down_prepare) */
    struct event *turn; /* the next slice, on a later loop turn */
    size_t off;         /* body bytes the pass under way has read */
    bool counting;      /* pass 1 said yes: pass 2 is being counted */
    bool ready;         /* the size is known */
    char tail[2];       /* the last two converted bytes counted */
    /* sending */
    struct evbuffer *src; /* the body while it is sent (its chains: the mapping) */
    uint64_t size;        /* converted length */
    bool crlf;            /* the converted content ends in CRLF */
    bool streaming, bdat, bol;
};

/* Counts k converted bytes at buf (thrown away but for the last two). */
static void smtpc_down_tally(struct smtpc_down *d, const char *buf, size_t k)
{
    if (k >= 2) {
        d->tail[0] = buf[k - 2];
    } else if (k == 1) {
        d->tail[0] = d->tail[1];
    }
    if (k >= 1)
        d->tail[1] = buf[k - 1];
    d->size += k;
}

/* Feeds p[0..len) (last: the body's final bytes) to the pass under way. */
static void smtpc_down_feed(struct smtpc_down *d, const char *p, size_t len, bool last)
{
    char buf[SMTPC_DOWN_CHUNK];
    size_t used;
    if (!d->counting) { /* pass 1 reads all it is given */
        mime8to7_step(&d->m, p, len, last, &used, NULL, 0);
        return;
    }
    while (!mime8to7_done(&d->m) && (len > 0 || last)) {
        smtpc_down_tally(d, buf, mime8to7_step(&d->m, p, len, last, &used, buf, sizeof buf));
        p += used;
        len -= used;
    }
}

/* Feeds the pass under way the body from d->off on, *budget bytes at most (spent from it);
 * true once the pass has read the whole body. */
static bool smtpc_down_read(struct smtpc_down *d, struct evbuffer *body, size_t *budget)
{
    size_t total = evbuffer_get_length(body);
    struct evbuffer_ptr at;
    struct evbuffer_iovec v[SMTPC_DOWN_IOV];
    if (total == 0) {
        smtpc_down_feed(d, "", 0, true);
        return true;
    }
    if (d->off < total && *budget > 0 && evbuffer_ptr_set(body, &at, d->off, EVBUFFER_PTR_SET))
        log_panic("smtpc_down: body shorter than what was read of it");
    while (d->off < total && *budget > 0) {
        int n = evbuffer_peek(body, (ssize_t)*budget, &at, v, SMTPC_DOWN_IOV);
        size_t got = 0;
        for (int i = 0; i < n && i < SMTPC_DOWN_IOV && got < *budget; i++) {
            size_t len = v[i].iov_len < *budget - got ? v[i].iov_len : *budget - got;
            got += len;
            smtpc_down_feed(d, v[i].iov_base, len, d->off + got == total);
        }
        if (got == 0)
            log_panic("smtpc_down: no body bytes at %zu of %zu", d->off, total);
        d->off += got;
        *budget -= got;
        if (d->off < total)
            evbuffer_ptr_set(body, &at, got, EVBUFFER_PTR_ADD);
    }
    return d->off == total;
}

/* Runs the preparation on for one loop turn (SMTPC_DOWN_SLICE body bytes at most):
 * SMTPC_DOWN_PENDING while more is to come, 0 once the size is known, or the verdict. */
static int smtpc_down_slice(struct smtpc_down *d, struct evbuffer *body)
{
    size_t budget = SMTPC_DOWN_SLICE;
    for (;;) {
        if (!smtpc_down_read(d, body, &budget))
            return SMTPC_DOWN_PENDING;
        if (d->counting)
            break;
        int why = mime8to7_verdict(&d->m);
        if (why != 0)
            return why;
        d->counting = true; /* pass 2, counted, from the start of the body */
        d->off = 0;
        d->size = 0;
        mime8to7_emit(&d->m, &d->plan);
    }
    d->crlf = d->tail[0] == '\r' && d->tail[1] == '\n';
    d->ready = true;
    return 0;
}

static void smtpc_down_on_turn(evutil_socket_t fd, short what, void *arg);

/* After a slice: the next one on a later loop turn, or the outcome settled (0: the converted
 * size becomes t->size; a verdict: the state is dropped). Returns r. */
static int smtpc_down_after(struct smtpc *c, int r)
{
    static const struct timeval zero = {0, 0};
    struct smtpc_down *d = c->down;
    if (r == SMTPC_DOWN_PENDING) {
        if (!d->turn && !(d->turn = evtimer_new(c->base, smtpc_down_on_turn, c)))
            log_panic("smtpc_down: evtimer_new failed");
        evtimer_add(d->turn, &zero); /* timers run after the loop polled every socket */
    } else if (r == 0) {
        c->t->size = d->size;
    } else {
        smtpc_down_free(c);
    }
    return r;
}

/* Starts deciding and measuring the downgrade of the current transaction's body (above). */
int smtpc_down_prepare(struct smtpc *c)
{
    smtpc_down_free(c);
    struct smtpc_down *d = xcalloc(1, sizeof *d);
    mime8to7_analyse(&d->m, &d->plan);
    c->down = d;
    return smtpc_down_after(c, smtpc_down_slice(d, c->t->body));
}

/* The preparation's timer (an entry point): the next slice; once decided, the transaction
 * goes on. */
static void smtpc_down_on_turn(evutil_socket_t fd, short what, void *arg)
{
    struct smtpc *c = arg;
    (void)fd;
    (void)what;
    smtpc_enter(c);
    if (c->state == SMTPC_SESSION && smtpc_down_preparing(c)) {
        int r = smtpc_down_after(c, smtpc_down_slice(c->down, c->t->body));
        if (r != SMTPC_DOWN_PENDING)
            smtpc_ext_prepared(c, r);
    }
    smtpc_leave(c);
}

/* True while the preparation is under way (nothing of the transaction is sent). */
bool smtpc_down_preparing(const struct smtpc *c)
{
    return c->down && !c->down->ready;
}

/* Appends the converted bytes p[0..n) to out, dot-stuffed unless BDAT. */
static void smtpc_down_put(struct smtpc_down *d, struct evbuffer *out, const char *p, size_t n)
{
    if (d->bdat) {
        evbuffer_add(out, p, n);
        return;
    }
    const char *seg = p, *end = p + n;
    for (const char *q = p; q < end;) {
        if (d->bol && *q == '.') {
            evbuffer_add(out, seg, (size_t)(q - seg));
            evbuffer_add(out, ".", 1);
            seg = q;
        }
        const char *nl = memchr(q, '\n', (size_t)(end - q));
        d->bol = nl != NULL;
        if (!nl)
            break;
        q = nl + 1;
    }
    evbuffer_add(out, seg, (size_t)(end - seg));
}

/* Converts the next piece of the body into out; false once everything is out. */
static bool smtpc_down_step(struct smtpc_down *d, struct evbuffer *out)
{
    char buf[SMTPC_DOWN_CHUNK];
    struct evbuffer_iovec vs[4], v = {.iov_base = "", .iov_len = 0};
    size_t left = evbuffer_get_length(d->src), used;
    int n = left > 0 ? evbuffer_peek(d->src, -1, NULL, vs, 4) : 0;
    for (int i = 0; i < n && i < 4 && v.iov_len == 0; i++)
        v = vs[i]; /* the first chain that holds bytes */
    if (v.iov_len == 0 && left > 0) { /* only empty chains ahead: a few bytes made whole */
        v.iov_len = left < 4096 ? left : 4096;
        v.iov_base = evbuffer_pullup(d->src, (ssize_t)v.iov_len);
    }
    size_t k = mime8to7_step(&d->m, v.iov_base, v.iov_len, v.iov_len == left, &used, buf,
                             sizeof buf);
    evbuffer_drain(d->src, used);
    smtpc_down_put(d, out, buf, k);
    return !mime8to7_done(&d->m);
}

/* The converted body is out: the final CRLF and "." (DATA), the reply expected. */
static void smtpc_down_end(struct smtpc *c)
{
    struct smtpc_down *d = c->down;
    struct evbuffer *out = bufferevent_get_output(c->bev);
    char note[64];
    if (!d->crlf && d->size > 0)
        evbuffer_add(out, "\r\n", 2);
    if (!d->bdat)
        evbuffer_add(out, ".\r\n", 3);
    int n = snprintf(note, sizeof note, "(%llu body bytes, converted)%s",
                     (unsigned long long)d->size, d->bdat ? "" : " .");
    log_debug("smtpc %s >>> %s", c->relay, note);
    if (c->tr)
        transcript_line(c->tr, '>', note, (size_t)n);
    bool bdat = d->bdat;
    smtpc_down_free(c);
    if (bdat)
        smtpc_fifo_push(c, EXP_BDAT, 0);
    else
        smtpc_dot_expect(c);
}

/* Writes converted output until SMTPC_DOWN_HIGH bytes wait in the output or it is over. */
void smtpc_down_pump(struct smtpc *c)
{
    struct smtpc_down *d = c->down;
    if (!d || !d->streaming || !c->bev)
        return;
    struct evbuffer *out = bufferevent_get_output(c->bev);
    while (evbuffer_get_length(out) < SMTPC_DOWN_HIGH)
        if (!smtpc_down_step(d, out)) {
            smtpc_down_end(c);
            smtpc_session_progress(c);
            return;
        }
}

/* Starts sending the converted body (after 354, or after "BDAT n LAST" when bdat). */
void smtpc_down_start(struct smtpc *c, bool bdat)
{
    struct smtpc_down *d = c->down;
    d->src = evbuffer_new();
    evbuffer_add_buffer(d->src, c->t->body);
    d->bdat = bdat;
    d->bol = true;
    d->streaming = true;
    mime8to7_emit(&d->m, &d->plan);
    struct evbuffer *out = bufferevent_get_output(c->bev);
    while (evbuffer_get_length(out) < SMTPC_DOWN_HIGH)
        if (!smtpc_down_step(d, out)) {
            smtpc_down_end(c);
            return;
        }
}

/* The "BDAT n LAST" length of the converted content (a CRLF added when it lacks one). */
uint64_t smtpc_down_chunk_len(const struct smtpc *c)
{
    return c->down->size + (c->down->crlf || c->down->size == 0 ? 0 : 2);
}

bool smtpc_down_streaming(const struct smtpc *c)
{
    return c->down && c->down->streaming;
}

void smtpc_down_free(struct smtpc *c)
{
    if (!c->down)
        return;
    if (c->down->turn)
        event_free(c->down->turn);
    if (c->down->src)
        evbuffer_free(c->down->src);
    free(c->down);
    c->down = NULL;
}
