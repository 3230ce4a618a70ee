/* helopat: one row of the HELO/EHLO pattern table (smtpd.helo_patterns; ZMailer's
 * smtpserver.conf "PATTERN MAXLOAD FLAGS" rows). Pure.
 * A row is "GLOB MAXLOAD STYLE" or "GLOB MAXLOAD !TEXT": GLOB an fnmatch(3) pattern of the
 * HELO/EHLO argument (matched case-insensitively; "\[*\]" for address literals), MAXLOAD a
 * load average 0..999 (a client matching the row gets 421 while the 1-minute load average
 * is above it), STYLE the seed's style letters, of which sluice implements "R" (strict
 * MAIL/RCPT syntax; without R the sloppy syntax of smtpd.sloppy_helo), and "-" for none;
 * other letters are refused. "!TEXT" refuses the HELO/EHLO with 550 and TEXT (printable
 * ASCII, at most 200 bytes). */
#ifndef SLUICE_HELOPAT_H
#define SLUICE_HELOPAT_H
#include <stdbool.h>
#include <stddef.h>

#define HELOPAT_GLOB_MAX 255
#define HELOPAT_TEXT_MAX 200

struct helopat {
    char glob[HELOPAT_GLOB_MAX + 1];
    unsigned maxload;
    bool strict; /* R */
    bool refuse; /* !TEXT */
    char text[HELOPAT_TEXT_MAX + 1];
};

/* Parses a row; -1 with *why (static text). */
int helopat_parse(const char *s, size_t len, struct helopat *out, const char **why);
#endif
