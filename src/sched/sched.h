/* sched: the scheduler (Mailismus Delivery Task semantics, ZMailer retries).
 *
 * Owns the in-memory view of every queued recipient: a min-heap of waiting recipients by
 * due time, an active window of at most deliver.queuecache recipients (being routed, batched
 * or in a transaction), per-destination ready queues of batches and the outbound
 * connections. Rules:
 *  - recipients of one message for one destination form one transaction of at most
 *    maxrecips recipients; batches of a message are released once every recipient of that
 *    message activated together has been routed;
 *  - a connection carries at most maxmessages transactions; at most maxconnections
 *    connections in total and maxserverconnections per destination; a destination that
 *    cannot get a connection waits in FIFO order for the next free slot;
 *  - a new message is routed at once (no polling); recovered recipients wait delay_start;
 *  - outcomes: OK -> delivered; PERMFAIL -> failed; TEMPFAIL -> deferred with the ZMailer
 *    retry schedule (retry.h), failed once older than expiry. Every change is recorded in
 *    the queue (grouped commits).
 *  - reports (docs/dsn.md): once no recipient of a message is in flight, one RFC 3464
 *    report covers every recipient that owes one: failed (NOTIFY FAILURE or none), delayed
 *    (deferred past delay_warning, NOTIFY DELAY or none, once per message), relayed (NOTIFY
 *    SUCCESS and the next hop did not announce DSN; when it did, the request went on with
 *    the message). Reports go from the null sender to the envelope sender through
 *    queue_put() (MSG_F_BOUNCE) and are scheduled like any message once durable; only then
 *    are the recipients marked RCPT_F_REPORTED / RCPT_F_DELAY_REPORTED. A failed report
 *    (or any null-sender message) is never reported to its sender: failures go to
 *    deliver.double_bounce, or are dropped and logged, whatever their NOTIFY (reports carry
 *    NEVER). Otherwise NOTIFY=NEVER: no report.
 *  - a message is deleted once every recipient is final and nothing is left to report;
 *    recovery sends the reports still owed (at least once: a crash between storing a
 *    report and marking it can send it twice).
 *  - VERP (deliver.verp / verp_domains): one transaction per recipient, sender rewritten
 *    by dsn/verp.h.
 *  - audit record per delivered recipient, event-log object per attempt/expiry/report.
 * The scheduler never touches bytes on disk itself except through queue.h, and never
 * decides protocol matters: smtpc reports, sched decides. */
#ifndef SLUICE_SCHED_H
#define SLUICE_SCHED_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "queue/record.h"

struct event_base;
struct conf;
struct queue;
struct route;
struct sched;

struct sched_stats {
    uint64_t delivered, deferred, bounced; /* recipient outcomes */
    uint64_t connections;                  /* connections opened */
    uint64_t transactions;                 /* transactions started */
    uint64_t messages;                     /* messages in memory */
    uint64_t waiting, active;              /* recipients waiting / in the window */
};

struct sched *sched_create(struct event_base *base, const struct conf *c, struct queue *q,
                           struct route *r);
/* The optional logs (audit/audit.h): delivery audit records, the JSON event log, client
 * transcripts. NULL members are off. Call before any message is added. */
struct audit_log;
struct sched_logs {
    struct audit_log *audit, *events, *transcript;
};
void sched_set_logs(struct sched *s, const struct sched_logs *l);
void sched_free(struct sched *s);
/* Takes a durable message (copies what it needs; m is not kept). Recipients already final
 * are ignored; the others become due at max(their next_attempt, not_before). A message
 * already known (same id) is ignored. */
void sched_add(struct sched *s, const struct qmsg *m, int64_t not_before);
/* Loads the whole queue at start: pending/deferred recipients are scheduled no earlier than
 * now + delay_start; fully final messages are removed. Returns messages loaded, or -1. */
long sched_recover(struct sched *s);
/* Loads messages written by other processes (sluice submit) and arms the polling timer
 * (interval_low / interval_high / interval_error). */
void sched_poll_incoming(struct sched *s);
/* Stops starting connections, lets transactions in flight finish for up to grace_ms, then
 * abandons the rest (deferred); calls done once no connection is left. */
void sched_shutdown(struct sched *s, int64_t grace_ms, void (*done)(void *arg), void *arg);
void sched_get_stats(const struct sched *s, struct sched_stats *st);
/* ETRN (RFC 1985): every waiting recipient in domain (and its subdomains when asked) becomes
 * due now; domain NULL: every waiting recipient (sendmail -q). Returns how many moved. */
size_t sched_flush_domain(struct sched *s, const char *domain, bool subdomains);
#endif
