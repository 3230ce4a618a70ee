/* content: the message content of a transaction (contract in session.h).
 *
 * DATA (RFC 5321 §4.1.1.4): read line by line, dot-unstuffed, up to <CRLF>.<CRLF>; a
 * lone dot line before or after a bare LF is content and kept as "." (so "\n.\n" cannot end
 * a message and start a hidden one: no SMTP smuggling); lines longer than CONTENT_CHUNK are
 * consumed in pieces. Bare LFs in content are accepted from every client (stored as CRLF). BDAT (RFC 3030): exactly the announced
 * octets, in pieces of at most CONTENT_CHUNK; a chunk outside a valid transaction is read
 * and dropped (503 after it). Both feed content_feed(), which
 *   - normalises every line end to CRLF (a bare LF gets its CR; a CR not before LF stays),
 *   - notes NUL octets (554 5.6.0 at the end) and lines over 998 octets (554 5.6.0 at the
 *     end, or split with CRLF when smtpd.split_long_lines),
 *   - counts the content against max_message_size while reading; past it the content is
 *     dropped at once and only counted: nothing is ever buffered beyond the limit. Content
 *     refused for another reason first (NUL, a long line) is still counted, so the size
 *     wins: over the limit is always 552 5.3.4, at the end of DATA or at once for the BDAT
 *     chunk that passes it (RFC 3030 §4), however long its lines.
 * At the end: more than max_hops Received headers is 554 5.4.6 (a mail loop); a spool short
 * of min_free_space is 452 4.3.1; on a submission listener missing Date and Message-ID
 * headers are added; then the message goes to queue_put() and the 250 waits for it to be
 * durable; with dkim.sign and a trusted or authenticated client, the message is DKIM-signed
 * on dkim's worker thread first (content_commit). The content starts with our Received header (RFC 5321 §4.4): client HELO, its
 * forward-confirmed reverse name ("unknown" when none, as Postfix) and IP, protocol (SMTP,
 * ESMTP, UTF8SMTP; ESMTPS, UTF8SMTPS under TLS: RFC 3848, RFC 6531), queue id, the recipient
 * when there is one; under TLS two comments as Postfix writes them, the protocol and cipher
 * and the client certificate (starttls_received):
 *   Received: from HELO (NAME [IP]) by HOST (sluice) with ESMTP id QID for <rcpt>; date
 *   Received: from HELO (NAME [IP])
 *           (using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))
 *           (No client certificate requested)
 *           by HOST (sluice) with ESMTPS id QID for <rcpt>; date
 * After AUTH (smtpd.auth.rcvd_auth_user) a comment "(authenticated as USER)" follows them
 * and the protocol gains its "A" (ESMTPA, ESMTPSA: RFC 3848).
 * Large contents (past SPILL_AT octets) are not held in memory: the head (our Received and
 * the client's header block) stays in s->body, everything after it goes to the message's
 * body file in SPILL_CHUNK pieces as it arrives (queue_bodyfile_open/_write, page cache
 * only) and the message is queued with queue_put_file, which makes the file durable before
 * the commit. Not when the message is DKIM-signed on the way in or passes milters (the
 * signer and the milter chain take it whole and may change it).
 * A file that cannot be written refuses the message with 452 4.3.1 at its end.
 * Every byte that goes into body is checked for octets >= 0x80 in the pass that puts it
 * there (the usual line in its copy, mime8to7_copy_8bit; the others octet by octet; our
 * own header lines and insertions as they are written): content without one is stored with
 * MSG_F_7BIT (queue/record.h), so smtpc need not scan it before each delivery attempt.
 * Milter edits clear the flag when they add an 8-bit octet (milter/edit.c); a DKIM
 * signature added on the way in is checked (content_on_signed).
 * The accepted message's log line names the user (", sasl_method=PLAIN, sasl_username=U"
 * after client=, as Postfix) and ends with tls=VERSION/CIPHER, or tls=none. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "audit/transcript.h"
#include "conf/conf.h"
#include "core/log.h"
#include "core/qid.h"
#include "core/xalloc.h"
#include "dkim/dkim.h"
#include "proto/hdr.h"
#include "proto/mime8to7.h"
#include "queue/queue.h"
#include "smtpd/session.h"

enum { CONTENT_CHUNK = 8192, CONTENT_BODY_INITIAL = 4096 };
/* Body files (queue/bodyfile.c): past SPILL_AT octets of content, what follows the header
 * block goes to the message's body file as it arrives, SPILL_CHUNK at a time; a header
 * block that has not ended after SPILL_HDR_MAX octets is cut there. */
enum { SPILL_AT = 65536, SPILL_CHUNK = 65536, SPILL_HDR_MAX = 1048576 };

/* RFC 5322 date of ms in the local zone (hdr_date() formats it). */
void content_date(int64_t ms, char *buf, size_t len)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!localtime_r(&t, &tm))
        tm.tm_gmtoff = 0;
    hdr_date(t, tm.tm_gmtoff, buf, len);
}

void content_begin(struct session *s)
{
    char qid[QID_TEXT_LEN + 1], date[64], forc[ADDR_MAX + 16], tls[512], au[320];
    if (s->txn.id == 0) /* given at MAIL (verbs.c) */
        s->txn.id = qid_next();
    qid_to_text(s->txn.id, qid);
    content_date(clock_wall_ms(), date, sizeof date);
    forc[0] = '\0';
    if (s->txn.nrcpt == 1) /* addr_parse_path() let no control octet through */
        snprintf(forc, sizeof forc, "\r\n\tfor <%s>", s->txn.rcpts[0].addr);
    s->body_cap = CONTENT_BODY_INITIAL + (s->prepend ? strlen(s->prepend) : 0);
    s->body = xmalloc(s->body_cap);
    starttls_received(s, tls, sizeof tls);
    authn_received(s, au, sizeof au);
    int n = snprintf(s->body, s->body_cap,
                     "%sReceived: from %s (%s [%s%s])\r\n%s%s\tby %.255s (sluice) with %s id %s%s; "
                     "%s\r\n",
                     s->prepend ? s->prepend : "", s->helo, s->rdns, s->v6 ? "IPv6:" : "", s->ip, tls,
                     au, session_host(s),
                     policy_protocol(s), qid, forc, date);
    if (n < 0 || (size_t)n >= s->body_cap)
        log_panic("smtpd: Received header does not fit (%d bytes)", n);
    s->body_len = s->hdr_len = (size_t)n;
    s->saw8 = mime8to7_is_8bit(s->body, s->body_len); /* HELO, PREPEND: a few hundred bytes */
    content_spill_discard(s);
    /* whole in memory: a message DKIM-signed on the way in, or given to milters */
    s->spill_off = (s->sd->dkim && (s->trusted || s->authenticated)) || s->milters;
    s->content = 0;
    s->refusal = REFUSE_NONE;
    s->line_len = 0;
    s->cr_pending = false;
    s->content_started = true;
}

void content_open(struct session *s, enum session_state next)
{
    content_begin(s);
    s->state = next;
    if (next == SESSION_DATA) {
        s->bol = s->bol_crlf = true;
        session_reply(s, "354 End data with <CR><LF>.<CR><LF>");
    }
}

/* True when the content passed max_message_size, whatever else refused it before. */
static bool content_over_size(const struct session *s)
{
    return s->refusal == REFUSE_SIZE || s->content > s->sd->c->smtpd.max_message_size;
}

/* Records the first reason to refuse the message; the content is dropped from then on. */
static void content_refuse(struct session *s, enum content_refusal why)
{
    if (s->refusal == REFUSE_NONE)
        s->refusal = why;
    free(s->body);
    s->body = NULL;
    s->body_len = s->body_cap = 0;
    content_spill_discard(s);
}

uint64_t content_size(const struct session *s)
{
    return s->body_len + s->spill_len;
}

void content_spill_discard(struct session *s)
{
    if (s->spill_path)
        queue_bodyfile_discard(s->spill_fd, s->spill_path);
    s->spill_path = NULL;
    s->spill_fd = -1;
    s->spill_len = 0;
    s->spill_keep = 0;
}

/* Writes what follows the head to the body file; false (the content refused) when the
 * file does not take it. */
static bool content_spill_flush(struct session *s)
{
    size_t n = s->body_len - s->spill_keep;
    if (n == 0)
        return true;
    if (queue_bodyfile_write(s->sd->q, s->spill_fd, s->body + s->spill_keep, n) < 0) {
        log_warn("client=[%s]: cannot write %s: %s", s->ip, s->spill_path, strerror(errno));
        content_refuse(s, REFUSE_SPOOL);
        return false;
    }
    s->spill_len += n;
    s->body_len = s->spill_keep;
    return true;
}

/* Where the head ends: after the client's header block (its empty line); body_len when
 * that block passed SPILL_HDR_MAX; 0 while it goes on. spill_keep remembers how far the
 * search went, so a long header block is not searched again from its start. */
static size_t content_head_end(struct session *s)
{
    const char *h = s->body + s->hdr_len;
    size_t n = s->body_len - s->hdr_len;
    if (n >= 2 && h[0] == '\r' && h[1] == '\n')
        return s->hdr_len + 2;
    size_t from = s->spill_keep > s->hdr_len + 3 ? s->spill_keep - 3 : s->hdr_len;
    const char *e = memmem(s->body + from, s->body_len - from, "\r\n\r\n", 4);
    if (e)
        return (size_t)(e - s->body) + 4;
    s->spill_keep = s->body_len;
    return n >= SPILL_HDR_MAX ? s->body_len : 0;
}

/* Past SPILL_AT octets of content, moves what follows the head to the body file (opened
 * then), and from then on every SPILL_CHUNK octets (see the file comment). */
static void content_spill(struct session *s)
{
    if (s->spill_path) {
        if (s->body_len - s->spill_keep >= SPILL_CHUNK)
            content_spill_flush(s);
        return;
    }
    if (s->spill_off || s->body_len - s->hdr_len < SPILL_AT)
        return;
    size_t end = content_head_end(s);
    if (end == 0)
        return;
    s->spill_fd = queue_bodyfile_open(s->sd->q, s->txn.id, &s->spill_path);
    if (s->spill_fd < 0) {
        log_warn("client=[%s]: cannot create a body file: %s; the content stays in memory",
                 s->ip, strerror(errno));
        s->spill_off = true;
        return;
    }
    s->spill_keep = end;
    content_spill_flush(s);
}

/* Counts the content produced so far: past max_message_size it is refused (and dropped
 * from then on), else a large one goes on to its body file (content_spill). */
static void content_account(struct session *s)
{
    s->content = s->body_len - s->hdr_len + s->spill_len;
    if (s->content > s->sd->c->smtpd.max_message_size)
        content_refuse(s, REFUSE_SIZE);
    else
        content_spill(s);
}

/* Makes room for n more bytes in the body (never past hdr_len + max + slack). */
static void content_room(struct session *s, size_t n)
{
    if (s->body_len + n <= s->body_cap)
        return;
    size_t cap = s->body_cap * 2, most = s->hdr_len + s->sd->c->smtpd.max_message_size + n;
    if (most > s->hdr_len && cap > most)
        cap = most;
    if (cap < s->body_len + n)
        cap = s->body_len + n;
    s->body = xrealloc(s->body, cap);
    s->body_cap = cap;
}

/* Appends one octet of a line (splitting or refusing at 998 octets). */
static void content_octet(struct session *s, char c)
{
    if (s->line_len == SMTPD_LINE_OCTETS) {
        if (!s->sd->c->smtpd.split_long_lines) {
            content_refuse(s, REFUSE_LONG);
            return;
        }
        s->body[s->body_len++] = '\r';
        s->body[s->body_len++] = '\n';
        s->line_len = 0;
    }
    s->body[s->body_len++] = c;
    s->line_len++;
    s->saw8 |= (unsigned char)c >= 0x80;
}

/* Transforms n input octets into the body (see the file comment). */
static void content_transform(struct session *s, const char *p, size_t n)
{
    for (size_t i = 0; i < n && s->body; i++) {
        char c = p[i];
        if (c == '\n') {
            s->body[s->body_len++] = '\r';
            s->body[s->body_len++] = '\n';
            s->line_len = 0;
            s->cr_pending = false;
            continue;
        }
        if (s->cr_pending) {
            s->cr_pending = false;
            content_octet(s, '\r');
            if (!s->body)
                return;
        }
        if (c == '\r') {
            s->cr_pending = true;
        } else if (c == '\0') {
            content_refuse(s, REFUSE_NUL);
        } else {
            content_octet(s, c);
        }
    }
}

/* Feeds n content octets (any framing) through the hygiene rules into the body. */
static void content_feed(struct session *s, const char *p, size_t n)
{
    if (!s->body) {
        s->content += n;
        return;
    }
    /* worst case: every octet becomes CRLF, plus a split and a pending CR */
    content_room(s, 2 * n + n / SMTPD_LINE_OCTETS * 2 + 4);
    content_transform(s, p, n);
    if (!s->body) {
        s->content += n;
        return;
    }
    content_account(s);
}

/* Feeds one content line (n octets at p, without its line end) and the CRLF that ends it.
 * The usual line (no CR, no NUL, at most 998 octets, at a line start) is copied as it is;
 * anything else goes through content_feed's rules octet by octet. */
static void content_line(struct session *s, const char *p, size_t n)
{
    if (s->body && s->line_len == 0 && !s->cr_pending && n <= SMTPD_LINE_OCTETS &&
        !memchr(p, '\r', n) && !memchr(p, '\0', n)) {
        content_room(s, n + 2);
        s->saw8 |= mime8to7_copy_8bit(s->body + s->body_len, p, n);
        memcpy(s->body + s->body_len + n, "\r\n", 2);
        s->body_len += n + 2;
        content_account(s);
        return;
    }
    content_feed(s, p, n);
    content_feed(s, "\n", 1); /* the line end, CRLF whatever the client sent */
}

/* Moves n input bytes through content_feed (or drops them when discarding). */
static void content_take(struct session *s, struct evbuffer *in, size_t n, bool discard)
{
    char buf[CONTENT_CHUNK];
    while (n > 0) {
        size_t k = n < sizeof buf ? n : sizeof buf;
        if (discard || !s->body) {
            evbuffer_drain(in, k);
            s->content += k;
        } else {
            evbuffer_remove(in, buf, k);
            content_feed(s, buf, k);
        }
        n -= k;
    }
}

/* The reception lines of an accepted message in Postfix's shape: smtpd's "client=" (with
 * Postfix's sasl_method and sasl_username after AUTH, then sluice's submission and tls) and cleanup's "message-id=". The qmgr line
 * "from=<>, size=, nrcpt= (queue active)" follows from the scheduler. */
static void content_log_received(struct session *s, const char *qid)
{
    char id[LOG_SANITIZED_SIZE(sizeof s->msgid)], sasl[SASL_FIELD_MAX * 4 + 64];
    const char *name = s->rdns[0] ? s->rdns : "unknown";
    authn_log_text(s, sasl, sizeof sasl);
    log_mail("smtpd", "%s: client=%s[%s]%s%s, tls=%s%s%s", qid, name, s->ip, sasl,
             s->submission ? ", submission" : "", s->tls.active ? s->tls.version : "none",
             s->tls.active ? "/" : "", s->tls.active ? s->tls.cipher : "");
    log_mail("cleanup", "%s: message-id=%s%s%s", qid, s->msgid[0] == '<' ? "" : "<",
             log_sanitize(id, sizeof id, s->msgid, strlen(s->msgid)),
             s->msgid[0] == '<' ? "" : ">");
}

/* Called by the queue once the message is durable (err 0) or failed. */
static void content_on_queued(void *arg, int err)
{
    struct session *s = arg;
    char qid[QID_TEXT_LEN + 1];
    qid_to_text(s->txn.id, qid);
    s->state = SESSION_CMD;
    if (err == 0) {
        session_reply(s, "250 2.0.0 Ok: queued as %s", qid);
        if (s->sd) {
            s->sd->st.received++;
            hist_observe(&s->sd->accept_latency, (double)(clock_mono_us() - s->queued_us) / 1e6);
        }
        content_log_received(s, qid);
        if (s->sd && s->sd->accepted)
            s->sd->accepted(s->sd->arg, &s->txn);
    } else {
        log_warn("%s: client=[%s]: queue write failed: %s", qid, s->ip, strerror(err));
        session_reply(s, "452 4.3.1 Insufficient system storage");
    }
    session_txn_reset(s);
    if (!s->bev) {
        session_free(s);
        return;
    }
    if (!s->in_process)
        session_run(s);
}

/* dkim_signer_submit() finished: the message (signed or not) goes to the queue, unless the
 * server was freed meanwhile (nothing was acknowledged: the client sends it again). */
static void content_on_signed(void *arg, char *body, size_t len)
{
    struct session *s = arg;
    if (!s->sd) {
        free(body);
        s->state = SESSION_CMD;
        session_txn_reset(s);
        session_free(s);
        return;
    }
    /* the signatures come first (dkim.h): only they are new */
    if (len > s->txn.size && mime8to7_is_8bit(body, len - (size_t)s->txn.size))
        s->txn.flags &= ~(uint32_t)MSG_F_7BIT;
    s->txn.size = len;
    queue_put(s->sd->q, &s->txn, body, len, content_on_queued, s);
}

/* Hands the complete message to the queue: after DKIM signing (off the loop) when signing
 * is configured and the client may send as our domains (trusted network or AUTH). */
static void content_commit(struct session *s, char *body, size_t len)
{
    if (s->spill_path) { /* never DKIM-signed or milter-changed: content_begin kept those whole */
        queue_put_file(s->sd->q, &s->txn, body, len, s->spill_fd, s->spill_path,
                       content_on_queued, s);
        s->spill_path = NULL;
        s->spill_fd = -1;
        return;
    }
    if (s->sd->dkim && (s->trusted || s->authenticated)) {
        char qid[QID_TEXT_LEN + 1];
        qid_to_text(s->txn.id, qid);
        dkim_signer_submit(s->sd->dkim, qid, body, len, content_on_signed, s);
        return;
    }
    queue_put(s->sd->q, &s->txn, body, len, content_on_queued, s);
}

/* Counts the Received fields of the client's header block (loop detection). */
static unsigned content_hops(const struct session *s)
{
    struct hdr_field f;
    size_t off = s->hdr_len, used;
    unsigned hops = 0;
    while ((used = hdr_next(s->body, s->body_len, off, &f)) > 0) {
        hops += f.namelen == 8 && strncasecmp(f.name, "Received", 8) == 0;
        off += used;
    }
    return hops;
}

/* Inserts text at offset off of the body. */
static void content_insert(struct session *s, size_t off, const char *text, size_t n)
{
    content_room(s, n);
    memmove(s->body + off + n, s->body + off, s->body_len - off);
    memcpy(s->body + off, text, n);
    s->body_len += n;
    s->saw8 |= mime8to7_is_8bit(text, n);
}

/* Submission (RFC 6409 §8.2, §8.3): adds Date and Message-ID at the end of the header block
 * when the client did not send them. */
static void content_submission_fix(struct session *s)
{
    struct hdr_field f;
    size_t off = s->hdr_len, used;
    while ((used = hdr_next(s->body, s->body_len, off, &f)) > 0)
        off += used;
    const char *h = s->body + s->hdr_len; /* the client's header block, after our Received */
    bool date = hdr_find(h, off - s->hdr_len, "Date", NULL, 0) >= 0;
    bool msgid = hdr_find(h, off - s->hdr_len, "Message-ID", NULL, 0) >= 0;
    char add[512], d[64], qid[QID_TEXT_LEN + 1];
    int n = 0;
    content_date(clock_wall_ms(), d, sizeof d);
    qid_to_text(s->txn.id, qid);
    if (!date)
        n += snprintf(add + n, sizeof add - (size_t)n, "Date: %s\r\n", d);
    if (!msgid)
        n += snprintf(add + n, sizeof add - (size_t)n, "Message-ID: <%s@%.255s>\r\n", qid,
                      session_host(s));
    if (n > 0 && (size_t)n < sizeof add)
        content_insert(s, off, add, (size_t)n);
}

/* Refuses the message with reply text; closes the transaction. */
static void content_fail(struct session *s, const char *reply, const char *why)
{
    log_info("client=[%s]: message refused: %s", s->ip, why);
    session_reply(s, "%s", reply);
    session_txn_reset(s);
    s->state = SESSION_CMD;
}

/* The policy servers' HOLD, DISCARD and REDIRECT of this transaction (smtpd/policy.c).
 * DISCARD: the client gets its 250, the message is dropped and logged; true. REDIRECT: the
 * recipients are replaced by the one address (the first keeps its NOTIFY and ORCPT); HOLD:
 * the message is stored with MSG_F_HELD (until sluice ctl release). */
static bool content_policy_actions(struct session *s)
{
    char qid[QID_TEXT_LEN + 1], from[ADDR_MAX * 4 + 1];
    const char *snd = s->txn.sender ? s->txn.sender : "";
    qid_to_text(s->txn.id, qid);
    log_sanitize(from, sizeof from, snd, strlen(snd));
    if (s->pol_discard) {
        log_mail("cleanup", "%s: discard: END-OF-MESSAGE from %s[%s]: policy DISCARD; from=<%s> "
                 "nrcpt=%u", qid, s->rdns[0] ? s->rdns : "unknown", s->ip, from, s->txn.nrcpt);
        session_reply(s, "250 2.0.0 Ok: queued as %s", qid);
        session_txn_reset(s);
        s->state = SESSION_CMD;
        return true;
    }
    if (s->pol_redirect && s->txn.nrcpt > 0) {
        for (uint32_t i = 1; i < s->txn.nrcpt; i++)
            record_rcpt_clear(&s->txn.rcpts[i]);
        s->txn.nrcpt = 1;
        free(s->txn.rcpts[0].addr);
        s->txn.rcpts[0].addr = xstrdup(s->pol_redirect);
        log_mail("cleanup", "%s: redirect: policy REDIRECT; from=<%s> to=<%s>", qid, from,
                 s->pol_redirect);
    }
    if (s->pol_hold) {
        s->txn.flags |= MSG_F_HELD;
        log_mail("cleanup", "%s: hold: policy HOLD; from=<%s>", qid, from);
    }
    return false;
}

/* The content's own refusals (size, NUL, long lines, hops): true when it was refused. */
static bool content_refused(struct session *s, const struct conf *c)
{
    if (content_over_size(s)) {
        content_fail(s, "552 5.3.4 Error: message exceeds fixed maximum message size",
                     "over max_message_size");
        return true;
    }
    switch (s->refusal) {
    case REFUSE_NUL:
        content_fail(s, "554 5.6.0 Error: message contains NUL octets", "NUL octets");
        return true;
    case REFUSE_LONG:
        content_fail(s, "554 5.6.0 Error: message has lines longer than 998 octets",
                     "line over 998 octets");
        return true;
    case REFUSE_SPOOL:
        content_fail(s, "452 4.3.1 Insufficient system storage", "body file not written");
        return true;
    case REFUSE_SIZE: /* content_over_size() */
    case REFUSE_NONE: break;
    }
    if (content_hops(s) > c->smtpd.max_hops) {
        content_fail(s, "554 5.4.6 Error: too many hops (mail loop?)", "too many Received");
        return true;
    }
    return false;
}

static void content_queue(struct session *s);

/* The content is complete (final dot, or BDAT LAST): checks it, then queues it. */
static void content_end(struct session *s)
{
    const struct conf *c = s->sd->c;
    if ((s->cr_pending || s->line_len > 0) && s->body) { /* BDAT content without final CRLF */
        s->cr_pending = false;
        content_feed(s, "\n", 1);
    }
    if (s->spill_path && s->body)
        content_spill_flush(s);
    if (content_refused(s, c))
        return;
    char pre[1024];
    if (policy_data_check(s, pre, sizeof pre) <= 0)
        return;
    if (pre[0]) { /* PREPEND at the end of DATA: above our Received header */
        size_t n = strlen(pre);
        content_insert(s, 0, pre, n);
        s->hdr_len += n;
    }
    if (content_policy_actions(s))
        return;
    if (!policy_space_ok(s->sd, content_size(s))) {
        content_fail(s, "452 4.3.1 Insufficient system storage", "spool below min_free_space");
        return;
    }
    if (s->submission)
        content_submission_fix(s);
    if (!s->saw8)
        s->txn.flags |= MSG_F_7BIT; /* milter edits that add an 8-bit octet clear it */
    if (milters_content(s))
        return; /* content_milters_done() follows */
    content_queue(s);
}

/* The message is final: stored, then the 250 (content_on_queued). */
static void content_queue(struct session *s)
{
    s->txn.arrival = clock_wall_ms();
    if (s->txn.flags & (MSG_F_BY_RETURN | MSG_F_BY_NOTIFY))
        s->txn.deliver_by = s->txn.arrival + s->by_seconds * 1000;
    s->txn.client_ip = xstrdup(s->ip);
    s->txn.helo = xstrdup(s->helo);
    s->txn.size = content_size(s);
    char *body = s->body;
    size_t len = s->body_len;
    if (hdr_find(body, len, "Message-ID", s->msgid, sizeof s->msgid) < 0)
        s->msgid[0] = '\0';
    s->queued_us = clock_mono_us();
    s->body = NULL;
    s->body_len = s->body_cap = s->hdr_len = 0;
    s->state = SESSION_WAIT;
    if (s->tr) {
        char note[64];
        int n = snprintf(note, sizeof note, "(%llu body bytes)",
                         (unsigned long long)s->txn.size);
        transcript_line(s->tr, '*', note, (size_t)n);
    }
    content_commit(s, body, len);
}

void content_milters_done(struct session *s, bool discard)
{
    char qid[QID_TEXT_LEN + 1], from[ADDR_MAX * 4 + 1];
    const char *snd = s->txn.sender ? s->txn.sender : "";
    qid_to_text(s->txn.id, qid);
    log_sanitize(from, sizeof from, snd, strlen(snd));
    if (discard || s->txn.nrcpt == 0) { /* acknowledged, not stored (as Postfix's DISCARD) */
        log_mail("cleanup", "%s: milter-discard: END-OF-MESSAGE from %s[%s]: %s; from=<%s> "
                 "proto=%s helo=<%s>", qid, s->rdns, s->ip,
                 discard ? "milter triggers DISCARD action" : "milter removed every recipient",
                 from, policy_protocol(s), s->helo);
        session_reply(s, "250 2.0.0 Ok: queued as %s", qid);
        session_txn_reset(s);
        return;
    }
    if (s->milter_held)
        s->txn.flags |= MSG_F_HELD;
    content_queue(s);
}

void content_policy_resume(struct session *s)
{
    s->state = SESSION_CMD;
    if (!s->bev || s->closing)
        return;
    content_end(s);
    if (s->state != SESSION_WAIT && !s->in_process)
        session_run(s);
}

/* Consumes the start of a long line that has no LF yet, keeping a trailing CR (it may be
 * the CR of the CRLF). Returns 1 if something was consumed, 0 to wait for more input. */
static int content_data_partial(struct session *s, struct evbuffer *in)
{
    size_t len = evbuffer_get_length(in);
    if (len < CONTENT_CHUNK)
        return 0;
    char first = 0, last = 0;
    struct evbuffer_ptr p;
    evbuffer_ptr_set(in, &p, len - 1, EVBUFFER_PTR_SET);
    evbuffer_copyout_from(in, &p, &last, 1);
    evbuffer_copyout(in, &first, 1);
    if (s->bol && first == '.') { /* dot-stuffed: the line cannot be the lone dot */
        evbuffer_drain(in, 1);
        len--;
    }
    content_take(s, in, len - (last == '\r' ? 1 : 0), false);
    s->bol = false;
    return 1;
}

/* Takes every complete line of in's first extent in one pass (no evbuffer call per line),
 * with the rules of content_read_data; 0 when that extent holds no complete line. */
static int content_read_lines(struct session *s, struct evbuffer *in)
{
    struct evbuffer_iovec v;
    if (evbuffer_peek(in, -1, NULL, &v, 1) < 1 || v.iov_len == 0)
        return 0;
    const char *start = v.iov_base, *q = start, *end = start + v.iov_len, *nl;
    while ((nl = memchr(q, '\n', (size_t)(end - q))) != NULL) {
        size_t eol = nl > q && nl[-1] == '\r' ? 2 : 1;
        size_t n = (size_t)(nl - q) + 1 - eol;
        if (s->bol && s->bol_crlf && n == 1 && *q == '.' && eol == 2) {
            evbuffer_drain(in, (size_t)(nl + 1 - start));
            content_end(s);
            return 1;
        }
        if (s->bol && n > 1 && *q == '.') /* unstuffing, as below */
            content_line(s, q + 1, n - 1);
        else
            content_line(s, q, n);
        s->bol = true;
        s->bol_crlf = eol == 2;
        q = nl + 1;
    }
    if (q == start)
        return 0;
    evbuffer_drain(in, (size_t)(q - start));
    return 1;
}

int content_read_data(struct session *s, struct evbuffer *in)
{
    if (content_read_lines(s, in))
        return 1;
    size_t eol = 0;
    struct evbuffer_ptr p = evbuffer_search_eol(in, NULL, &eol, EVBUFFER_EOL_CRLF);
    if (p.pos < 0)
        return content_data_partial(s, in);
    size_t n = (size_t)p.pos;
    char first = 0;
    if (n > 0)
        evbuffer_copyout(in, &first, 1);
    /* Only <CRLF>.<CRLF> ends the content: a dot line next to a bare LF is content (no SMTP
     * smuggling: "\n.\n" cannot end a message here and start a hidden one). */
    if (s->bol && s->bol_crlf && n == 1 && first == '.' && eol == 2) {
        evbuffer_drain(in, n + eol);
        content_end(s);
        return 1;
    }
    /* Unstuffing: a leading dot is dropped from a longer line; the lone dot line that did
     * not end the content (next to a bare LF) is kept as it came. */
    if (s->bol && first == '.' && n > 1) {
        evbuffer_drain(in, 1);
        n--;
    }
    content_take(s, in, n, false);
    evbuffer_drain(in, eol);
    content_feed(s, "\n", 1); /* the line end, CRLF whatever the client sent */
    s->bol = true;
    s->bol_crlf = eol == 2;
    return 1;
}

/* A BDAT chunk has been read completely: answers it. */
static void content_bdat_done(struct session *s)
{
    s->state = SESSION_CMD;
    if (s->bdat_discard) {
        session_reply(s, "503 5.5.1 Error: %s", s->in_mail ? "need RCPT command"
                                                            : "need MAIL command");
        return;
    }
    if (s->bdat_last) {
        content_end(s);
        return;
    }
    if (content_over_size(s)) { /* RFC 3030 §4: the transaction failed */
        content_fail(s, "552 5.3.4 Error: message exceeds fixed maximum message size",
                     "over max_message_size");
        return;
    }
    session_reply(s, "250 2.0.0 Ok: %llu octets received", (unsigned long long)s->bdat_size);
}

int content_read_bdat(struct session *s, struct evbuffer *in)
{
    size_t avail = evbuffer_get_length(in);
    if (s->bdat_left > 0 && avail == 0)
        return 0;
    size_t n = s->bdat_left < avail ? (size_t)s->bdat_left : avail;
    content_take(s, in, n, s->bdat_discard);
    s->bdat_left -= n;
    if (s->bdat_left == 0)
        content_bdat_done(s);
    return 1;
}
