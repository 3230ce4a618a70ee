/* dsn: builds RFC 3464 delivery status notifications (multipart/report), and the xtext
 * coding of RFC 3461 parameters. Pure: no I/O, no clock (times come in), no globals.
 *
 * dsn_build() returns the whole message (header and body, CRLF line ends, lines of at most
 * 998 bytes) of a report about some recipients of one message:
 *   part 1 text/plain: a human-readable explanation, one paragraph per recipient;
 *   part 2 message/delivery-status (message/global-delivery-status when utf8, RFC 6533):
 *     Reporting-MTA, [Original-Envelope-Id], [Received-From-MTA], Arrival-Date, then per
 *     recipient Final-Recipient, [Original-Recipient] (from ORCPT, xtext-decoded),
 *     Action, Status, [Remote-MTA], [Diagnostic-Code], [Last-Attempt-Date],
 *     [Will-Retry-Until] (delayed only);
 *   part 3 the original: message/rfc822 (RET full) or text/rfc822-headers (RET headers);
 *     message/global and message/global-headers when utf8; no part 3 when there is no
 *     content (msg NULL).
 * The boundary is "=_sluice_ID" plus a counter if the content contains it. Diagnostic text is
 * sanitized (control bytes -> '?') and folded; at most DSN_DIAG_MAX bytes of it, and 500 bytes
 * of an address, ORCPT or ENVID, are kept, so no line exceeds 998 bytes. */
#ifndef SLUICE_DSN_H
#define SLUICE_DSN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define DSN_DIAG_MAX 900

enum dsn_action { DSN_FAILED, DSN_DELAYED, DSN_DELIVERED, DSN_RELAYED, DSN_EXPANDED };
enum dsn_ret { DSN_RET_HDRS, DSN_RET_FULL };

struct dsn_rcpt {
    const char *addr;       /* final recipient */
    const char *orcpt;      /* ORCPT decoded ("rfc822;a+b@c"), NULL or "" = none */
    enum dsn_action action;
    const char *status;     /* "5.1.1"; NULL = read from diag (status_of(), proto/status.h) */
    const char *remote_mta; /* host name of the remote MTA, NULL or "" = none */
    const char *diag;       /* SMTP reply ("550 5.1.1 no such user") or our reason */
    int64_t last_attempt;   /* wall ms, 0 = none */
    int64_t retry_until;    /* wall ms (delayed), 0 = none */
};

struct dsn_report {
    const char *id;            /* report's queue id: Message-ID and boundary */
    const char *reporting_mta; /* our host name */
    const char *to;            /* the envelope sender we report to */
    const char *orig_qid;      /* queue id of the original message */
    const char *envid;         /* ENVID (decoded), NULL or "" = none */
    const char *received_from; /* HELO name of the client we got it from, or NULL */
    int64_t arrival, now;      /* wall ms */
    size_t nrcpt;
    const struct dsn_rcpt *rcpts;
    const char *msg;           /* original content (CRLF), NULL = none */
    size_t msglen;
    enum dsn_ret ret;
    bool utf8;                 /* RFC 6533 types (SMTPUTF8 message or UTF-8 addresses) */
};

/* Builds the report; returns a malloc'ed buffer of *len bytes. */
char *dsn_build(const struct dsn_report *r, size_t *len);
/* "failed", "delayed", "delivered", "relayed", "expanded". */
const char *dsn_action_name(enum dsn_action a);
/* RFC 5322 date of ms (UTC, "+0000") into buf (at least HDR_DATE_MAX = 32 bytes; "" when
 * cap is smaller). Returns buf. */
char *dsn_date(int64_t ms, char *buf, size_t cap);
/* True when s holds a byte >= 0x80. */
bool dsn_has_8bit(const char *s, size_t len);
#endif
