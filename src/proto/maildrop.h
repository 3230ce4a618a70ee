/* maildrop: the drop file a non-root `sendmail` leaves in spool/maildrop through the setgid
 * helper sluice-postdrop, and its reader in the daemon (src/pickup/). Pure: no I/O.
 * Format (text head, then the content; docs/sendmail.md):
 *     sluice-maildrop 1\n
 *     S <sender>\n                 "local@domain", or nothing after "S " for the null sender
 *     F <flags>\n                  decimal message flags (the pickup keeps only the ones a
 *                                  local user may set: SMTPUTF8, 8BITMIME, RET)
 *     E <envid>\n                  DSN ENVID, printable ASCII without blanks, may be empty
 *     R <notify> <addr>[ <orcpt>]\n  one line per recipient, 1..MAILDROP_RCPT_MAX of them;
 *                                  notify: decimal NOTIFY_* bits; orcpt without blanks
 *     \n                           the end of the head
 *     <content>                    CRLF lines, no NUL, no bare LF, at most max_body bytes
 * The head is at most MAILDROP_HEAD_MAX bytes. Every address must parse as an SMTP path.
 * maildrop_parse() treats its input as hostile: it returns 0 and fills *d (recipients
 * malloc'ed: maildrop_clear), or -1 with *why set to a static reason and nothing allocated.
 * maildrop_head() formats a head (the writer, tools/submit.c): malloc'ed, *len bytes. */
#ifndef SLUICE_MAILDROP_H
#define SLUICE_MAILDROP_H
#include <stddef.h>
#include <stdint.h>

#include "proto/addr.h"
#include "proto/esmtp.h"

#define MAILDROP_MAGIC "sluice-maildrop 1\n"
#define MAILDROP_RCPT_MAX 10000
#define MAILDROP_LINE_MAX (2 * ADDR_MAX + 32)
#define MAILDROP_HEAD_MAX (MAILDROP_RCPT_MAX * (MAILDROP_LINE_MAX + 1) + 512)

struct maildrop_rcpt {
    char addr[ADDR_MAX + 1];
    char orcpt[ADDR_MAX + 1]; /* "" when none */
    uint8_t notify;
};

struct maildrop {
    char sender[ADDR_MAX + 1]; /* "" = null sender */
    uint32_t flags;
    char envid[ESMTP_ENVID_MAX + 1];
    struct maildrop_rcpt *rcpts;
    size_t nrcpt;
    size_t body_off, body_len; /* the content within the parsed buffer */
};

int maildrop_parse(const char *buf, size_t len, uint64_t max_body, struct maildrop *d,
                   const char **why);
void maildrop_clear(struct maildrop *d);
char *maildrop_head(const char *sender, uint32_t flags, const char *envid,
                    const struct maildrop_rcpt *rcpts, size_t nrcpt, size_t *len);
#endif
