/* bounce: report messages for the queue (contracts in bounce.h). */
#include "dsn/bounce.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/qid.h"
#include "core/xalloc.h"

/* Builds the envelope and content of a report. */
char *bounce_build(struct bounce *b, struct dsn_report *r, const char *to, int64_t now, size_t *len)
{
    memset(b, 0, sizeof *b);
    b->m.id = qid_next();
    qid_to_text(b->m.id, b->qid);
    r->id = b->qid;
    r->to = to;
    r->now = now;
    for (size_t i = 0; i < r->nrcpt && !r->utf8; i++)
        r->utf8 = dsn_has_8bit(r->rcpts[i].addr, strlen(r->rcpts[i].addr));
    r->utf8 = r->utf8 || dsn_has_8bit(to, strlen(to));
    char *body = dsn_build(r, len);
    b->m.arrival = now;
    b->m.sender = xstrdup("");
    b->m.client_ip = xstrdup("");
    b->m.helo = xstrdup("");
    b->m.envid = xstrdup("");
    b->m.size = *len;
    /* the one scan of the report, at its making: 8BITMIME, or 7BIT (smtpc then skips its
     * scan at every attempt) */
    b->m.flags = MSG_F_BOUNCE | (r->utf8 ? MSG_F_SMTPUTF8 : 0) |
                 (dsn_has_8bit(body, *len) ? MSG_F_8BITMIME : MSG_F_7BIT);
    b->m.nrcpt = 1;
    b->m.rcpts = &b->r;
    b->r.addr = xstrdup(to);
    b->r.state = RCPT_PENDING;
    b->r.last_reply = xstrdup("");
    b->r.orcpt = xstrdup("");
    b->r.notify = NOTIFY_NEVER; /* RFC 3461 §6.2: no report about a report */
    return body;
}

/* Frees the envelope strings. */
void bounce_clear(struct bounce *b)
{
    b->m.rcpts = NULL;
    b->m.nrcpt = 0;
    record_msg_clear(&b->m);
    record_rcpt_clear(&b->r);
}

/* RET policy. */
enum dsn_ret bounce_ret(uint32_t msg_flags, uint64_t size, uint64_t limit)
{
    if (msg_flags & MSG_F_RET_FULL)
        return DSN_RET_FULL;
    if (msg_flags & MSG_F_RET_HDRS)
        return DSN_RET_HDRS;
    return size > limit ? DSN_RET_HDRS : DSN_RET_FULL;
}

/* "name[ip]:port" -> name (or ip). */
char *bounce_remote_mta(const char *relay, char *out, size_t cap)
{
    const char *lb = relay ? strchr(relay, '[') : NULL, *rb = lb ? strchr(lb, ']') : NULL;
    if (!lb || !rb) {
        snprintf(out, cap, "%s", "");
        return out;
    }
    if (lb > relay)
        snprintf(out, cap, "%.*s", (int)(lb - relay), relay);
    else
        snprintf(out, cap, "%.*s", (int)(rb - lb - 1), lb + 1);
    return out;
}
