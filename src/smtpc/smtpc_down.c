/* smtpc 7-bit downgrade, streamed: an 8-bit MIME body for a next hop without 8BITMIME goes
 * out converted (proto/mime8to7.h) piece by piece as the socket drains, so the memory it
 * takes does not grow with the message: the body's own chains (a large body is a read-only
 * mapping of its body file, queue/bodyfile.c) are read in place, never copied whole.
 *
 * smtpc_down_prepare(c)  at the start of a transaction: pass 1 over the body (can it be
 *     converted? which parts) and a counting run of pass 2 (the converted size, for SIZE=
 *     and BDAT); returns 0, or the MIME8TO7_* reason it cannot be converted. Sets
 *     c->down and t->size.
 * smtpc_down_start(c, bdat)  instead of writing the body: takes the body, writes the first
 *     SMTPC_DOWN_HIGH bytes of converted output (dot-stuffed after DATA; after "BDAT n LAST"
 *     as they are); smtpc_down_pump(c) (from the write callback) writes more each time the
 *     output has drained, so at most SMTPC_DOWN_HIGH + one stuffed chunk is buffered; at
 *     the end the final CRLF and "." (DATA) and the expected reply.
 * smtpc_down_streaming(c)  true while the converted body is still going out: no reply is
 *     awaited for it yet (one that arrives is unexpected and fails the connection).
 * smtpc_down_free(c)  drops the state (transaction released, connection gone). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "audit/transcript.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "proto/mime8to7.h"
#include "smtpc/internal.h"

#define SMTPC_DOWN_HIGH (64 * 1024) /* output buffered before waiting for the socket */
#define SMTPC_DOWN_CHUNK (16 * 1024) /* converted bytes per step */

struct smtpc_down {
    struct mime8to7 m; /* the converter's fixed-size state */
    struct mime8to7_plan plan;
    struct evbuffer *src; /* the body while it is sent (its chains: the mapping) */
    uint64_t size;        /* converted length */
    bool crlf;            /* the converted content ends in CRLF */
    bool streaming, bdat, bol;
};

/* Pass 1 over the body's chains, read in place; 0 or the verdict. */
static int smtpc_down_analyse(struct smtpc_down *d, struct evbuffer_iovec *v, int n)
{
    size_t used;
    mime8to7_analyse(&d->m, &d->plan);
    for (int i = 0; i < n; i++)
        mime8to7_step(&d->m, v[i].iov_base, v[i].iov_len, i == n - 1, &used, NULL, 0);
    if (n == 0)
        mime8to7_step(&d->m, "", 0, true, &used, NULL, 0);
    return mime8to7_verdict(&d->m);
}

/* Pass 2 counted, output thrown away: the converted size and whether it ends in CRLF. */
static void smtpc_down_count(struct smtpc_down *d, struct evbuffer_iovec *v, int n)
{
    char buf[SMTPC_DOWN_CHUNK], tail[2] = {0, 0};
    size_t used;
    mime8to7_emit(&d->m, &d->plan);
    d->size = 0;
    for (int i = 0; i < n || !mime8to7_done(&d->m);) {
        const char *p = i < n ? v[i].iov_base : "";
        size_t len = i < n ? v[i].iov_len : 0;
        size_t k = mime8to7_step(&d->m, p, len, i >= n - 1, &used, buf, sizeof buf);
        if (k >= 2) {
            tail[0] = buf[k - 2];
        } else if (k == 1) {
            tail[0] = tail[1];
        }
        if (k >= 1)
            tail[1] = buf[k - 1];
        d->size += k;
        if (i < n && used == len)
            i++;
        else if (i < n) {
            v[i].iov_base = (char *)v[i].iov_base + used;
            v[i].iov_len -= used;
        }
    }
    d->crlf = tail[0] == '\r' && tail[1] == '\n';
}

/* Decides and measures the downgrade of the current transaction's body (see above). */
int smtpc_down_prepare(struct smtpc *c)
{
    struct evbuffer *body = c->t->body;
    int n = evbuffer_peek(body, -1, NULL, NULL, 0);
    struct evbuffer_iovec *v = xcalloc(n > 0 ? (size_t)n : 1, sizeof *v);
    n = n > 0 ? evbuffer_peek(body, -1, NULL, v, n) : 0;
    struct smtpc_down *d = xcalloc(1, sizeof *d);
    int why = smtpc_down_analyse(d, v, n);
    if (why == 0)
        smtpc_down_count(d, v, n);
    free(v);
    if (why != 0) {
        free(d);
        return why;
    }
    smtpc_down_free(c);
    c->down = d;
    c->t->size = d->size;
    return 0;
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
    if (c->down->src)
        evbuffer_free(c->down->src);
    free(c->down);
    c->down = NULL;
}
