/* reply: parses SMTP server replies (RFC 5321 §4.2), single and multiline, from a byte
 * buffer that may hold a partial reply (TCP segments split anywhere). Pure.
 * Limits: one line at most REPLY_LINE_MAX bytes including CRLF, one reply at most
 * REPLY_LINES_MAX lines; beyond either the reply is invalid. Bare LF is accepted as a line
 * end. All lines of one reply must carry the same code. */
#ifndef SLUICE_REPLY_H
#define SLUICE_REPLY_H
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define REPLY_LINE_MAX 2048
#define REPLY_LINES_MAX 128
#define REPLY_TEXT_MAX 4096

/* One delivery outcome (the single enum of STYLE.md). */
enum outcome { OUTCOME_OK, OUTCOME_TEMPFAIL, OUTCOME_PERMFAIL };

struct reply {
    int code;                  /* 200..599 */
    char enh[16];              /* enhanced status "x.y.z" of the first line, or "" (its
                                  class x must equal the code's first digit) */
    size_t nlines;
    char text[REPLY_TEXT_MAX]; /* the text of the lines after "NNN[- ]", joined by '\n',
                                  truncated to fit, NUL-terminated, control bytes -> '?';
                                  a leading enh (and its spaces) is removed from each line */
};

/* Parses one complete reply at buf. Returns bytes consumed (> 0) and fills *r; 0 when more
 * bytes are needed; -1 when the bytes are not a valid reply or exceed the limits. */
ssize_t reply_parse(const char *buf, size_t len, struct reply *r);
/* 2xx -> OK, 4xx -> TEMPFAIL, everything else -> PERMFAIL. */
enum outcome reply_outcome(const struct reply *r);
/* Formats "CODE ENH text" on one line (lines joined by ' ') into buf; returns buf. */
char *reply_to_text(const struct reply *r, char *buf, size_t buflen);

/* SASL mechanisms an EHLO reply announces (RFC 4954 "AUTH mech ..."; the pre-standard
 * "AUTH=mech ..." form counts too). The values equal proto/sasl.h's enum sasl_mech. */
#define EHLO_AUTH_PLAIN 1u
#define EHLO_AUTH_LOGIN 2u
#define EHLO_AUTH_EXTERNAL 4u

/* ESMTP capabilities from an EHLO reply (keywords matched case-insensitively). */
struct ehlo_caps {
    bool pipelining, size, eightbitmime, enhancedstatuscodes, starttls, smtputf8, dsn, chunking;
    unsigned long long size_max; /* SIZE parameter; 0 = none announced */
    unsigned auth;               /* EHLO_AUTH_* announced; 0 = no AUTH (or none we know) */
    bool deliverby;              /* DELIVERBY (RFC 2852) */
    unsigned long long deliverby_min; /* its min-by-time in seconds; 0 = none announced */
};
/* Fills *caps from the lines of a 250 EHLO reply (first line is the greeting name). */
void reply_ehlo_caps(const struct reply *r, struct ehlo_caps *caps);
#endif
