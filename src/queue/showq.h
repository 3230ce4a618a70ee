/* showq: the queue as Postfix's tools print it, for `mailq` / `sendmail -bp` and
 * `sluice mailq --json` (`postqueue -p` and `postqueue -j`). Pure formatting: no I/O but
 * the FILE given, no clock (now is passed), no globals.
 *
 * Text (Postfix's showq): a heading line, then per message a line "QID%c SIZE ARRIVAL
 * SENDER" (QID followed by '!' when held, '*' when active, ' ' when deferred; arrival as
 * asctime's first 20 characters in local time; the null sender is MAILER-DAEMON), then for
 * each recipient not yet final its last reply in parentheses (right-aligned at column 78,
 * printed only when it differs from the previous recipient's) and the address indented 41
 * columns; a blank line between messages; at the end "-- N Kbytes in M Requests." (N: sum
 * of message sizes / 1024) or "Mail queue is empty".
 * JSON: one object per message and line, with postqueue -j's names: queue_name ("hold",
 * "active", "deferred"), queue_id, arrival_time (seconds), message_size, forced_expire
 * (false), sender ("" for the null sender), recipients [{address, delay_reason?}].
 * A message whose every recipient is final (waiting for a report or removal) is skipped.
 * Peer text (addresses, replies) is made printable (text: '?' for a control byte; JSON:
 * escaped). */
#ifndef SLUICE_SHOWQ_H
#define SLUICE_SHOWQ_H
#include <stdint.h>
#include <stdio.h>

#include "queue/record.h"

struct showq {
    FILE *out;
    int64_t now;         /* wall ms: a recipient due by now is active */
    int json;            /* postqueue -j instead of text */
    uint64_t bytes;      /* sizes of the messages shown */
    unsigned long count; /* messages shown */
};

/* The queue name of m as postqueue -j spells it: "hold", "active" or "deferred". */
const char *showq_queue_name(const struct qmsg *m, int64_t now);
/* Prints one message (nothing when no recipient is left). Returns 0. */
int showq_msg(struct showq *q, const struct qmsg *m);
/* Prints the end ("-- N Kbytes in M Requests." or "Mail queue is empty"; nothing in JSON). */
void showq_end(struct showq *q);
#endif
