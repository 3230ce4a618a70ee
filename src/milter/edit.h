/* edit: applies one milter's end-of-message modifications (milter.h's struct milter_mod, in
 * the order the milter sent them) to a message and its envelope. No I/O, no clock.
 *
 * The message is the whole stored content: header block, empty line, body, every line
 * ending in CRLF. Header indexes count the fields of the whole header block (the
 * receiving MTA's own Received field included, as Postfix counts them):
 *   SMFIR_ADDHEADER      appends the field at the end of the header block;
 *   SMFIR_INSHEADER i    inserts it before field i (0: at the top; past the end: appended);
 *   SMFIR_CHGHEADER i    changes the i-th field of that name (1-based, any case); an empty
 *                        value deletes it; no such field: the field is appended (libmilter);
 *   SMFIR_REPLBODY       the first one replaces the body, later ones append (the milter
 *                        sends a long body in pieces); a bare LF becomes CRLF;
 *   SMFIR_ADDRCPT        adds a recipient ("<a@b>" or "a@b");
 *   SMFIR_ADDRCPT_PAR    the same with ESMTP arguments, parsed as RCPT's (cmd_parse_params,
 *                        esmtp_rcpt_parse): NOTIFY and ORCPT are stored with the recipient
 *                        (ORCPT of type utf-8 raw only in an SMTPUTF8 message); any other
 *                        argument is refused;
 *   SMFIR_DELRCPT        removes every recipient equal to it (any case);
 *   SMFIR_CHGFROM        changes the envelope sender ("<>": the null sender); its ESMTP
 *                        arguments, parsed as MAIL's (esmtp_mail_parse), apply over the
 *                        message's: RET and ENVID replace them, BODY sets or clears
 *                        MSG_F_8BITMIME, SMTPUTF8 sets MSG_F_SMTPUTF8, SIZE is informative
 *                        (the size is known); any other (BY, AUTH, unknown) is refused;
 *   SMFIR_QUARANTINE     sets held and its reason (the caller stores MSG_F_HELD).
 * MSG_F_7BIT (queue/record.h) is cleared when a modification puts an octet >= 0x80 into the
 * message (checked over the inserted bytes only; the rest was 7-bit already).
 * A header value's "\n" (libmilter's folding) becomes CRLF and a continuation line that
 * does not start with a blank gets a tab, so the header block stays well-formed; a field
 * name that is not printable ASCII without ':' is refused. Addresses must be 1..ADDR_MAX
 * printable octets without blanks.
 * milter_edit_apply(): 0, or -1 with err (naming the reply and why: "chgfrom refused: ESMTP
 * argument BY is not applied here") when a modification is refused or the message
 * would grow past max bytes (nothing is half-applied to the envelope: the message text
 * may hold the earlier modifications; the caller then refuses the message). */
#ifndef SLUICE_MILTER_EDIT_H
#define SLUICE_MILTER_EDIT_H
#include <stdbool.h>
#include <stddef.h>

#include "milter/milter.h"
#include "queue/record.h"

struct milter_msg {
    char *text; /* malloc'ed; may be moved by realloc */
    size_t len;
    struct qmsg *env;      /* sender and recipients are edited in place (malloc'ed strings) */
    bool held;             /* quarantined */
    char held_reason[256];
};

int milter_edit_apply(struct milter_msg *m, const struct milter_mod *mods, size_t n,
                      size_t max, char *err, size_t errlen);
/* The offset of the end of the header block (where ADDHEADER goes) and, in *body, of the
 * body (after the empty line; the same offset when there is none). */
size_t milter_edit_header_end(const char *text, size_t len, size_t *body);
#endif
