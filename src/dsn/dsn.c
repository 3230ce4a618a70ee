/* dsn: RFC 3464 report builder and RFC 3461 xtext (contracts in dsn.h). The builder appends
 * to one growing buffer; every text that came from outside (addresses, replies, ENVID,
 * ORCPT) is sanitized before it goes into a header-like field. */
#include "dsn/dsn.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/xalloc.h"
#include "proto/hdr.h"
#include "proto/status.h"

#define DSN_FOLD 76
#define DSN_FIELD_MAX 501 /* sanitized address/ORCPT/id bytes kept + 1 (keeps lines < 998) */

struct dsn_out {
    char *p;
    size_t len, cap;
};

/* Appends n bytes. */
static void dsn_put(struct dsn_out *o, const char *s, size_t n)
{
    if (o->len + n + 1 > o->cap) {
        size_t cap = o->cap ? o->cap : 4096;
        while (cap < o->len + n + 1)
            cap *= 2;
        o->p = xrealloc(o->p, cap);
        o->cap = cap;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
    o->p[o->len] = '\0';
}

/* Appends formatted text (short pieces only). */
static void dsn_printf(struct dsn_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void dsn_printf(struct dsn_out *o, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n > 0)
        dsn_put(o, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

/* Copies s into buf (cap) with control bytes replaced by '?'; keeps UTF-8 when utf8, else
 * replaces bytes >= 0x80 too. */
static const char *dsn_clean(const char *s, char *buf, size_t cap, bool utf8)
{
    size_t i = 0;
    for (; s && s[i] && i + 1 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        buf[i] = c < 0x20 || c == 0x7f || (c >= 0x80 && !utf8) ? '?' : (char)c;
    }
    buf[i] = '\0';
    return buf;
}

const char *dsn_action_name(enum dsn_action a)
{
    static const char *const names[] = {"failed", "delayed", "delivered", "relayed", "expanded"};
    return (unsigned)a <= DSN_EXPANDED ? names[a] : "failed";
}

/* RFC 5322 date in UTC (hdr_date() formats it). */
char *dsn_date(int64_t ms, char *buf, size_t cap)
{
    hdr_date((time_t)(ms / 1000), 0, buf, cap);
    return buf;
}

/* True when any byte has the high bit. */
bool dsn_has_8bit(const char *s, size_t len)
{
    for (size_t i = 0; s && i < len; i++)
        if ((unsigned char)s[i] & 0x80)
            return true;
    return false;
}

/* Appends prefix then value folded at blanks into lines of about DSN_FOLD bytes (continuation
 * lines start with one blank). */
static void dsn_field_folded(struct dsn_out *o, const char *prefix, const char *value)
{
    size_t col = strlen(prefix), n = strlen(value);
    bool fresh = true; /* nothing of value on this line yet */
    dsn_printf(o, "%s", prefix);
    for (size_t i = 0; i < n;) {
        size_t w = strcspn(value + i, " ");
        if (w == 0) {
            i++;
            continue;
        }
        if (!fresh && col + 1 + w > DSN_FOLD) {
            dsn_put(o, "\r\n ", 3);
            col = 1;
        } else if (!fresh) {
            dsn_put(o, " ", 1);
            col++;
        }
        dsn_put(o, value + i, w);
        col += w;
        i += w;
        fresh = false;
    }
    dsn_put(o, "\r\n", 2);
}

/* The status code of r: given, else read from its diagnostic as the log reads it
 * (proto/status.h: a reply's or our reason's code, else the action's class .0.0). */
static const char *dsn_status(const struct dsn_rcpt *r, char out[STATUS_MAX])
{
    if (r->status && *r->status)
        return r->status;
    enum outcome o = r->action == DSN_FAILED    ? OUTCOME_PERMFAIL
                     : r->action == DSN_DELAYED ? OUTCOME_TEMPFAIL
                                                : OUTCOME_OK;
    return status_of(r->diag, o, out);
}

/* The worst action of the report (failed > delayed > the rest). */
static enum dsn_action dsn_worst(const struct dsn_report *r)
{
    enum dsn_action w = DSN_DELIVERED;
    for (size_t i = 0; i < r->nrcpt; i++) {
        if (r->rcpts[i].action == DSN_FAILED)
            return DSN_FAILED;
        if (r->rcpts[i].action == DSN_DELAYED)
            w = DSN_DELAYED;
    }
    return w;
}

/* The message header of the report. */
static void dsn_header(struct dsn_out *o, const struct dsn_report *r, const char *boundary)
{
    static const char *const subjects[] = {"Undelivered Mail Returned to Sender",
                                           "Delayed Mail (still being retried)",
                                           "Successful Mail Delivery Report"};
    enum dsn_action w = dsn_worst(r);
    char date[64], to[DSN_FIELD_MAX], mta[300];
    dsn_clean(r->reporting_mta, mta, sizeof mta, false);
    dsn_printf(o, "From: MAILER-DAEMON@%s (Mail Delivery System)\r\n", mta);
    dsn_printf(o, "To: <%s>\r\n", dsn_clean(r->to, to, sizeof to, r->utf8));
    dsn_printf(o, "Subject: %s\r\n", subjects[w == DSN_FAILED ? 0 : w == DSN_DELAYED ? 1 : 2]);
    dsn_printf(o, "Date: %s\r\n", dsn_date(r->now, date, sizeof date));
    dsn_printf(o, "Message-ID: <%s.dsn@%s>\r\n", r->id, mta);
    dsn_printf(o, "Auto-Submitted: auto-replied\r\n");
    dsn_printf(o, "MIME-Version: 1.0\r\n");
    dsn_printf(o, "Content-Type: multipart/report; report-type=delivery-status;\r\n"
                  " boundary=\"%s\"\r\n", boundary);
    dsn_printf(o, "\r\nThis is a MIME-encapsulated message.\r\n\r\n");
}

/* Part 1: the explanation for people. */
static void dsn_human(struct dsn_out *o, const struct dsn_report *r, const char *boundary)
{
    char mta[300], a[DSN_FIELD_MAX], d[DSN_DIAG_MAX + 1], date[64];
    enum dsn_action w = dsn_worst(r);
    dsn_printf(o, "--%s\r\nContent-Description: Notification\r\n", boundary);
    dsn_printf(o, "Content-Type: text/plain; charset=%s\r\n", r->utf8 ? "utf-8" : "us-ascii");
    if (r->utf8)
        dsn_printf(o, "Content-Transfer-Encoding: 8bit\r\n");
    dsn_printf(o, "\r\nThis is the mail system at host %s.\r\n\r\n",
               dsn_clean(r->reporting_mta, mta, sizeof mta, false));
    if (w == DSN_FAILED)
        dsn_printf(o, "I'm sorry to have to inform you that your message could not\r\n"
                      "be delivered to one or more recipients. It's attached below.\r\n");
    else if (w == DSN_DELAYED)
        dsn_printf(o, "Your message could not be delivered yet to one or more recipients.\r\n"
                      "The mail system will keep trying; you do not need to resend it.\r\n");
    else
        dsn_printf(o, "Your message was successfully delivered to the destination(s)\r\n"
                      "listed below, as you asked in your delivery status request.\r\n");
    dsn_printf(o, "\r\n");
    for (size_t i = 0; i < r->nrcpt; i++) {
        const struct dsn_rcpt *rc = &r->rcpts[i];
        dsn_printf(o, "<%s>: %s", dsn_clean(rc->addr, a, sizeof a, r->utf8),
                   dsn_action_name(rc->action));
        if (rc->action == DSN_DELAYED && rc->retry_until)
            dsn_printf(o, " (retried until %s)", dsn_date(rc->retry_until, date, sizeof date));
        dsn_printf(o, "\r\n");
        if (rc->diag && *rc->diag)
            dsn_field_folded(o, "    ", dsn_clean(rc->diag, d, sizeof d, false));
    }
    dsn_printf(o, "\r\n");
}

/* Original-Recipient from ORCPT: "type;xtext" with the rfc822 address decoded. */
static void dsn_orcpt(struct dsn_out *o, const char *orcpt, bool utf8)
{
    char raw[DSN_FIELD_MAX], clean[DSN_FIELD_MAX];
    const char *semi = strchr(orcpt, ';');
    if (!semi || semi == orcpt || semi - orcpt > 40)
        return;
    size_t tl = (size_t)(semi - orcpt);
    const char *val = semi + 1;
    while (*val == ' ')
        val++;
    snprintf(raw, sizeof raw, "%s", val); /* stored decoded (esmtp.h): print as is */
    char type[48];
    dsn_clean(orcpt, type, tl + 1 < sizeof type ? tl + 1 : sizeof type, false);
    dsn_printf(o, "Original-Recipient: %s; %s\r\n", type, dsn_clean(raw, clean, sizeof clean, utf8));
}

/* One per-recipient block of part 2. */
static void dsn_rcpt_fields(struct dsn_out *o, const struct dsn_report *r, const struct dsn_rcpt *rc)
{
    char a[DSN_FIELD_MAX], mta[300], d[DSN_DIAG_MAX + 1], diag[DSN_DIAG_MAX + 32], date[64];
    char st[STATUS_MAX];
    bool u8 = dsn_has_8bit(rc->addr, strlen(rc->addr));
    dsn_printf(o, "\r\nFinal-Recipient: %s; %s\r\n", u8 ? "utf-8" : "rfc822",
               dsn_clean(rc->addr, a, sizeof a, r->utf8));
    if (rc->orcpt && *rc->orcpt)
        dsn_orcpt(o, rc->orcpt, r->utf8);
    dsn_printf(o, "Action: %s\r\n", dsn_action_name(rc->action));
    dsn_printf(o, "Status: %s\r\n", dsn_clean(dsn_status(rc, st), mta, 16, false));
    if (rc->remote_mta && *rc->remote_mta)
        dsn_printf(o, "Remote-MTA: dns; %s\r\n", dsn_clean(rc->remote_mta, mta, sizeof mta, false));
    if (rc->diag && *rc->diag) {
        const char *t = dsn_clean(rc->diag, d, sizeof d, false);
        bool smtp = t[0] >= '2' && t[0] <= '5' && t[1] >= '0' && t[1] <= '9' && t[2] >= '0' &&
                    t[2] <= '9' && (t[3] == ' ' || t[3] == '-' || t[3] == '\0');
        snprintf(diag, sizeof diag, "%s; %s", smtp ? "smtp" : "X-Sluice", t);
        dsn_field_folded(o, "Diagnostic-Code: ", diag);
    }
    if (rc->last_attempt)
        dsn_printf(o, "Last-Attempt-Date: %s\r\n", dsn_date(rc->last_attempt, date, sizeof date));
    if (rc->action == DSN_DELAYED && rc->retry_until)
        dsn_printf(o, "Will-Retry-Until: %s\r\n", dsn_date(rc->retry_until, date, sizeof date));
}

/* Part 2: the machine-readable status. */
static void dsn_status_part(struct dsn_out *o, const struct dsn_report *r, const char *boundary)
{
    char mta[300], buf[DSN_FIELD_MAX], date[64];
    dsn_printf(o, "--%s\r\nContent-Description: Delivery report\r\n", boundary);
    dsn_printf(o, "Content-Type: message/%sdelivery-status\r\n", r->utf8 ? "global-" : "");
    if (r->utf8)
        dsn_printf(o, "Content-Transfer-Encoding: 8bit\r\n");
    dsn_printf(o, "\r\nReporting-MTA: dns; %s\r\n", dsn_clean(r->reporting_mta, mta, sizeof mta, false));
    if (r->orig_qid && *r->orig_qid)
        dsn_printf(o, "X-Sluice-Queue-ID: %s\r\n", dsn_clean(r->orig_qid, buf, 64, false));
    if (r->envid && *r->envid)
        dsn_printf(o, "Original-Envelope-Id: %s\r\n", dsn_clean(r->envid, buf, 101, false));
    if (r->received_from && *r->received_from)
        dsn_printf(o, "Received-From-MTA: dns; %s\r\n", dsn_clean(r->received_from, buf, 256, false));
    dsn_printf(o, "Arrival-Date: %s\r\n", dsn_date(r->arrival, date, sizeof date));
    for (size_t i = 0; i < r->nrcpt; i++)
        dsn_rcpt_fields(o, r, &r->rcpts[i]);
    dsn_printf(o, "\r\n");
}

/* Length of the header block of msg (up to and including the CRLF before the empty line). */
static size_t dsn_header_len(const char *msg, size_t len)
{
    if (len >= 2 && msg[0] == '\r' && msg[1] == '\n')
        return 0;
    for (size_t i = 0; i + 3 < len; i++)
        if (msg[i] == '\r' && msg[i + 1] == '\n' && msg[i + 2] == '\r' && msg[i + 3] == '\n')
            return i + 2;
    return len;
}

/* Part 3: the original message or its header. */
static void dsn_original(struct dsn_out *o, const struct dsn_report *r, const char *boundary)
{
    size_t n = r->ret == DSN_RET_FULL ? r->msglen : dsn_header_len(r->msg, r->msglen);
    const char *type = r->ret == DSN_RET_FULL ? (r->utf8 ? "message/global" : "message/rfc822")
                                              : (r->utf8 ? "message/global-headers"
                                                         : "text/rfc822-headers");
    dsn_printf(o, "--%s\r\nContent-Description: %s\r\nContent-Type: %s\r\n", boundary,
               r->ret == DSN_RET_FULL ? "Undelivered Message" : "Undelivered Message Headers", type);
    if (dsn_has_8bit(r->msg, n))
        dsn_printf(o, "Content-Transfer-Encoding: 8bit\r\n");
    dsn_printf(o, "\r\n");
    dsn_put(o, r->msg, n);
    if (n > 0 && (n < 2 || r->msg[n - 2] != '\r' || r->msg[n - 1] != '\n'))
        dsn_put(o, "\r\n", 2);
    dsn_printf(o, "\r\n");
}

/* Picks a boundary that does not occur in the returned content. */
static void dsn_boundary(const struct dsn_report *r, char *out, size_t cap)
{
    char id[64];
    dsn_clean(r->id, id, sizeof id, false);
    for (unsigned k = 0;; k++) {
        if (k == 0)
            snprintf(out, cap, "=_sluice_%s", id);
        else
            snprintf(out, cap, "=_sluice_%s_%u", id, k);
        if (!r->msg || !memmem(r->msg, r->msglen, out, strlen(out)))
            return;
    }
}

/* Builds the whole report. */
char *dsn_build(const struct dsn_report *r, size_t *len)
{
    struct dsn_out o = {0};
    char boundary[128];
    dsn_boundary(r, boundary, sizeof boundary);
    dsn_header(&o, r, boundary);
    dsn_human(&o, r, boundary);
    dsn_status_part(&o, r, boundary);
    if (r->msg)
        dsn_original(&o, r, boundary);
    dsn_printf(&o, "--%s--\r\n", boundary);
    *len = o.len;
    return o.p;
}
