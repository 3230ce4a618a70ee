/* sched: the scheduler: ids, states and times only (OpenSMTPD's scheduler_ramqueue.c,
 * Postfix's qmgr_message.c). It never reads message content or headers and never touches
 * a connection: the outbound side is deliver/ (deliver.h), reports are dsn/report.h.
 *
 * Owns the in-memory view of every queued recipient: a min-heap of waiting recipients by
 * due time and an active window of at most deliver.queuecache recipients handed to
 * delivery (deliver_submit) and not yet back. Rules:
 *  - a new message is scheduled at once (no polling); recovered recipients wait
 *    delay_start; messages written by other processes are polled (interval_low /
 *    interval_high / interval_error) and signalled;
 *  - every outcome delivery reports goes through outcome_decide() (sched/outcome.h: the
 *    one policy: delivered, deferred with the ZMailer retry schedule, failed, expired,
 *    late for DELIVERBY, postponed without an attempt for a dead destination) and is
 *    recorded in the queue (grouped commits), except a postponement (memory only);
 *  - reports (docs/dsn.md): which report a recipient owes is part of the decision; once
 *    nothing of a message is held by delivery, every pending report goes to report_send()
 *    by message id and recipient index; the recipients are marked reported only once the
 *    report is durable, and the report is scheduled like any message;
 *  - a message is deleted once every recipient is final and nothing is left to report;
 *    recovery sends the reports still owed (at least once);
 *  - ETRN / queue run (sched_flush_domain): waiting recipients become due now, and
 *    delivery forgets its dead destinations (deliver_revive);
 *  - one Postfix-style log line per attempt (a postponement at debug level), an audit
 *    record per delivered recipient, event-log objects per attempt and expiry. */
#ifndef SLUICE_SCHED_H
#define SLUICE_SCHED_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "queue/record.h"

struct conf;
struct deliver;
struct event_base;
struct queue;
struct sched;

struct sched_stats {
    uint64_t delivered, deferred, bounced; /* recipient outcomes */
    uint64_t connections;                  /* connections opened */
    uint64_t transactions;                 /* transactions started */
    uint64_t messages;                     /* messages in memory */
    uint64_t waiting, active;              /* recipients waiting / in the window */
};

/* Schedules onto dl (the scheduler takes its outcomes: deliver_set_ops). now: the wall clock
 * in ms (clock_wall_ms; tests pass a fake one). */
struct sched *sched_create(struct event_base *base, const struct conf *c, struct queue *q,
                           struct deliver *dl, int64_t (*now)(void));
/* The optional logs (audit/audit.h): delivery audit records, the JSON event log. NULL
 * members are off. Call before any message is added. */
struct audit_log;
struct sched_logs {
    struct audit_log *audit, *events;
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
/* Stops scheduling and shuts delivery down (deliver_shutdown: transactions in flight get
 * grace_ms, the rest is deferred); calls done once no connection is left. */
void sched_shutdown(struct sched *s, int64_t grace_ms, void (*done)(void *arg), void *arg);
void sched_get_stats(const struct sched *s, struct sched_stats *st);
/* ETRN (RFC 1985): every waiting recipient in domain (and its subdomains when asked) becomes
 * due now; domain NULL: every waiting recipient (sendmail -q). Returns how many moved. */
size_t sched_flush_domain(struct sched *s, const char *domain, bool subdomains);
#endif
