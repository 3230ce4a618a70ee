/* smtpc extensions a transaction needs from the next hop, checked before MAIL goes out
 * (smtpc_txn.c calls smtpc_ext_check() once per transaction, then smtpc_ext_params() for
 * the MAIL line). docs/outbound.md.
 *
 * SMTPUTF8 (RFC 6531): the message needs it when an envelope address holds a non-ASCII
 *   octet, or when it was received with SMTPUTF8 and its header holds one. Offered: MAIL
 *   carries SMTPUTF8 whenever the message was received with it or needs it. Not offered: a
 *   message that needs it for its sender or header fails whole, a recipient with a UTF-8
 *   address fails alone, both "5.6.7" (never sent as bare UTF-8; no downgrade is made).
 * 8BITMIME (RFC 6152): BODY=8BITMIME only when offered and the content holds an 8-bit
 *   octet. Not offered: an 8-bit MIME message is converted to 7 bits (proto/mime8to7.h:
 *   each 8-bit part quoted-printable), streamed as it is sent (smtpc_down.c; SIZE= and BDAT
 *   carry the converted length);
 *   one that is not MIME, or cannot be converted, fails "5.6.3".
 *   Whether the content holds an 8-bit octet: a message stored with MSG_F_7BIT (its receiver
 *   saw none, queue/record.h) is trusted as 7-bit and not scanned, its header neither (for
 *   SMTPUTF8); one without the flag (stored by a sluice before it existed) is scanned here,
 *   once per transaction, on the loop (not sliced: a few ms for 50 MB). A DKIM signature made at
 *   ingress does not survive the conversion (Postfix has the same limit).
 * DELIVERBY (RFC 2852, as sendmail does it): for a BY= message to an SMTP next hop (not
 *   LMTP: that is the final delivery) MAIL carries BY=<seconds left>;R|N[T] when DELIVERBY is
 *   offered (seconds left = the by-time minus now, rounded down; N may go negative). Mode R
 *   with no time left fails "4.4.7" (the scheduler turns a temporary failure after the
 *   by-time into the 5.4.7 return); mode R to a hop without DELIVERBY, or whose min-by-time
 *   is above the time left, fails "5.4.7" (§4.1.4.1: the message must not be relayed where
 *   the deadline cannot be kept); mode N to a hop without DELIVERBY is relayed and sets
 *   t->by_relayed (§4.1.4.2: the sender is owed a "relayed" notice). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "core/log.h"
#include "core/qid.h"
#include "core/xalloc.h"
#include "proto/mime8to7.h"
#include "queue/record.h"
#include "smtpc/internal.h"

/* True when bytes [from, to) of buf hold an octet >= 0x80. */
static bool smtpc_ext_8bit_range(struct evbuffer *buf, size_t from, size_t to)
{
    int n = evbuffer_peek(buf, -1, NULL, NULL, 0);
    if (n <= 0 || from >= to)
        return false;
    struct evbuffer_iovec *v = xcalloc((size_t)n, sizeof *v);
    evbuffer_peek(buf, -1, NULL, v, n);
    bool found = false;
    size_t at = 0;
    for (int i = 0; i < n && !found && at < to; i++) {
        size_t a = from > at ? from - at : 0, e = v[i].iov_len;
        if (at + e > to)
            e = to - at;
        if (a < e)
            found = mime8to7_is_8bit((const char *)v[i].iov_base + a, e - a);
        at += v[i].iov_len;
    }
    free(v);
    return found;
}

/* True when s holds an octet >= 0x80. */
static bool smtpc_ext_utf8(const char *s)
{
    return s && mime8to7_is_8bit(s, strlen(s));
}

/* SMTPUTF8: decides c->smtputf8, or fails what cannot go without it. */
static void smtpc_ext_smtputf8(struct smtpc *c)
{
    static const char why[] = "5.6.7 the next hop does not offer SMTPUTF8 (RFC 6531): "
                              "a UTF-8 address or header cannot be sent to it";
    struct smtpc_txn *t = c->t;
    bool asked = (t->flags & MSG_F_SMTPUTF8) != 0, rcpt8 = false;
    for (size_t i = 0; i < t->nrcpt && !rcpt8; i++)
        rcpt8 = smtpc_ext_utf8(t->rcpts[i]);
    c->smtputf8 = false;
    if (!asked && !rcpt8 && !smtpc_ext_utf8(t->sender))
        return;
    if (c->caps.smtputf8) {
        c->smtputf8 = true;
        return;
    }
    size_t hend = 0;
    if (asked && t->body && !(t->flags & MSG_F_7BIT)) {
        struct evbuffer_ptr p = evbuffer_search(t->body, "\r\n\r\n", 4, NULL);
        hend = p.pos < 0 ? evbuffer_get_length(t->body) : (size_t)p.pos;
    }
    if (smtpc_ext_utf8(t->sender) || (hend && smtpc_ext_8bit_range(t->body, 0, hend))) {
        smtpc_rcpt_report_rest(c, OUTCOME_PERMFAIL, why);
        return;
    }
    for (size_t i = 0; i < t->nrcpt; i++)
        if (smtpc_ext_utf8(t->rcpts[i]))
            smtpc_rcpt_report_one(c, i, OUTCOME_PERMFAIL, why);
}

/* The 7-bit downgrade is decided (n: 0 or the MIME8TO7_* reason): the converted body goes,
 * or the recipients fail 5.6.3. */
static void smtpc_ext_downgraded(struct smtpc *c, int n)
{
    struct smtpc_txn *t = c->t;
    char why[200], qid[QID_TEXT_LEN + 1];
    if (n < 0) {
        snprintf(why, sizeof why, "5.6.3 the next hop does not offer 8BITMIME and the content "
                 "cannot be converted: %s", mime8to7_error_text(n));
        smtpc_rcpt_report_rest(c, OUTCOME_PERMFAIL, why);
        return;
    }
    c->body8 = false;
    log_info("%s: 8-bit content converted to 7-bit MIME for %s (no 8BITMIME): %llu -> %llu bytes",
             qid_to_text(t->msgid, qid), c->relay, (unsigned long long)evbuffer_get_length(t->body),
             (unsigned long long)t->size);
}

/* DELIVERBY: fails what cannot be relayed in time, notes an N relay without the extension,
 * and sets c->by_left for BY=. */
static void smtpc_ext_by(struct smtpc *c)
{
    struct smtpc_txn *t = c->t;
    bool ret = (t->flags & MSG_F_BY_RETURN) != 0;
    c->by_send = false;
    if (!t->deliver_by || !(t->flags & (MSG_F_BY_RETURN | MSG_F_BY_NOTIFY)))
        return;
    int64_t ms = t->deliver_by - clock_wall_ms();
    c->by_left = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    if (c->by_left > 999999999)
        c->by_left = 999999999;
    if (c->by_left < -999999999)
        c->by_left = -999999999;
    if (ret && c->by_left <= 0)
        smtpc_rcpt_report_rest(c, OUTCOME_TEMPFAIL, "4.4.7 delivery time expired before the "
                                                    "message could be relayed (DELIVERBY)");
    else if (ret && !c->caps.deliverby)
        smtpc_rcpt_report_rest(c, OUTCOME_PERMFAIL, "5.4.7 the next hop does not offer "
                                                    "DELIVERBY: a BY=...;R message is not relayed "
                                                    "there (RFC 2852 4.1.4.1)");
    else if (ret && (unsigned long long)c->by_left < c->caps.deliverby_min)
        smtpc_rcpt_report_rest(c, OUTCOME_PERMFAIL, "5.4.7 the message cannot be delivered in "
                                                    "time: the next hop's DELIVERBY minimum is "
                                                    "longer than the time left");
    else if (!c->caps.deliverby)
        t->by_relayed = 1;
    else
        c->by_send = true;
}

/* The checks after the 8BITMIME one. */
static void smtpc_ext_after_8bit(struct smtpc *c)
{
    if (c->nleft > 0 && !c->peers[c->cur].lmtp)
        smtpc_ext_by(c);
}

/* Checks a new transaction's needs against the server's extensions (see above); may settle
 * recipients (the caller tests c->nleft), or leave a downgrade preparing over later loop
 * turns (smtpc_down_preparing(c); smtpc_ext_prepared() goes on). */
void smtpc_ext_check(struct smtpc *c)
{
    struct smtpc_txn *t = c->t;
    t->by_relayed = 0;
    c->by_send = false;
    c->body8 = t->body && !(t->flags & MSG_F_7BIT) &&
               smtpc_ext_8bit_range(t->body, 0, evbuffer_get_length(t->body));
    smtpc_ext_smtputf8(c);
    if (c->nleft > 0 && c->body8 && !c->caps.eightbitmime) {
        int n = smtpc_down_prepare(c);
        if (n == SMTPC_DOWN_PENDING)
            return;
        smtpc_ext_downgraded(c, n);
    }
    smtpc_ext_after_8bit(c);
}

/* The downgrade's preparation ended over later loop turns: the rest as smtpc_ext_check(). */
void smtpc_ext_prepared(struct smtpc *c, int why)
{
    smtpc_ext_downgraded(c, why);
    smtpc_ext_after_8bit(c);
    smtpc_txn_ready(c);
}

/* Appends SMTPUTF8, BODY=8BITMIME and BY= to the MAIL parameters at params + off. */
size_t smtpc_ext_params(const struct smtpc *c, char *params, size_t cap, size_t off)
{
    const struct smtpc_txn *t = c->t;
    if (off < cap && c->caps.eightbitmime && c->body8)
        off += (size_t)snprintf(params + off, cap - off, " BODY=8BITMIME");
    if (off < cap && c->smtputf8)
        off += (size_t)snprintf(params + off, cap - off, " SMTPUTF8");
    if (off < cap && c->by_send)
        off += (size_t)snprintf(params + off, cap - off, " BY=%lld;%c%s", (long long)c->by_left,
                                (t->flags & MSG_F_BY_RETURN) ? 'R' : 'N',
                                (t->flags & MSG_F_BY_TRACE) ? "T" : "");
    return off < cap ? off : cap - 1;
}
