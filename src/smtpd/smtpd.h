/* smtpd: the inbound ESMTP server (minimal set of the delivery-core issue).
 * Listens on smtpd.listen; EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT; advertises
 * PIPELINING, SIZE, 8BITMIME, ENHANCEDSTATUSCODES. Relaying only for clients in
 * smtpd.trusted_networks (others: 554 5.7.1 at RCPT). Command lines over 1000 bytes:
 * 500 5.5.2. DATA is dot-unstuffed, capped at max_message_size while reading (552 5.3.4),
 * and prefixed with a Received header. The 250 after DATA is sent only once queue_put()
 * reports the message durable; a queue failure gives 452 4.3.1. Then accepted() hands the
 * message to the scheduler. */
#ifndef SLUICE_SMTPD_H
#define SLUICE_SMTPD_H
#include <stddef.h>

#include "queue/record.h"

struct event_base;
struct conf;
struct queue;
struct smtpd;

/* Called on the loop after the 250 for a durable message; m is valid during the call only. */
typedef void (*smtpd_accepted_fn)(void *arg, const struct qmsg *m);

/* Binds every listen address. NULL with a message in err on failure. */
struct smtpd *smtpd_create(struct event_base *base, const struct conf *c, struct queue *q,
                           smtpd_accepted_fn accepted, void *arg, char *err, size_t errlen);
/* Stops accepting new connections; sessions in progress go on. */
void smtpd_stop_listening(struct smtpd *s);
/* Number of sessions still open, counting one whose client left while its message is
 * being committed (it ends when the queue reports). */
size_t smtpd_sessions(const struct smtpd *s);
/* Closes every session and frees. A session whose queue_put is pending is detached: no
 * reply, no accepted() call; it frees itself when the queue reports (queue_close() runs the
 * last callbacks), so call this before queue_close(). */
void smtpd_free(struct smtpd *s);
#endif
