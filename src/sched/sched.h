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
/* Called on the loop for every recipient that fails for good (status=bounced: a 5xx, a
 * failed route, expiry), with its last reply text; the suppression list's hook. */
typedef void (*sched_bounced_fn)(void *arg, const char *rcpt, const char *reply);
void sched_set_bounced(struct sched *s, sched_bounced_fn fn, void *arg);
/* Takes a durable message (copies what it needs; m is not kept). Recipients already final
 * are ignored; the others become due at max(their next_attempt, not_before). A message
 * already known (same id) is ignored. */
void sched_add(struct sched *s, const struct qmsg *m, int64_t not_before);
/* Recovers the queue at start, in batches of SCHED_RECOVER_BATCH (recover.c): the first now, the others
 * from the loop, so delivery begins before a large queue is all in memory; every message
 * is recovered once (one that another path adds first is skipped by the scan).
 * Pending/deferred recipients are scheduled no earlier than (start) + delay_start; fully
 * final messages are removed. Returns 0, or -1 when the queue cannot be read at all. */
#define SCHED_RECOVER_BATCH 256 /* messages per batch */
int sched_recover(struct sched *s);
/* True while recovery has not reached the end of the queue. */
bool sched_recovering(const struct sched *s);
/* Loads messages written by other processes (sluice submit) and arms the polling timer
 * (interval_low / interval_high / interval_error). */
void sched_poll_incoming(struct sched *s);
/* Stops scheduling and shuts delivery down (deliver_shutdown: transactions in flight get
 * grace_ms, the rest is deferred); calls done once no connection is left. */
void sched_shutdown(struct sched *s, int64_t grace_ms, void (*done)(void *arg), void *arg);
void sched_get_stats(const struct sched *s, struct sched_stats *st);
/* sendmail -qI QID: the waiting recipients of message qid (text form) become due now (a
 * held message stays held). Returns how many moved (0: unknown id, logged). */
size_t sched_flush_message(struct sched *s, const char *qid);
struct hist;
/* Seconds from arrival to delivery of every delivered recipient (metrics). */
const struct hist *sched_delivery_latency(const struct sched *s);
/* Reload: later decisions (window, retries, expiry, polling, reports) use c, which must
 * outlive the scheduler; recipients already waiting keep their due times. */
void sched_set_conf(struct sched *s, const struct conf *c);
/* ETRN (RFC 1985): every waiting recipient in domain (and its subdomains when asked) becomes
 * due now; domain NULL: every waiting recipient (sendmail -q). Returns how many moved. */
size_t sched_flush_domain(struct sched *s, const char *domain, bool subdomains);

/* ---- administration (admin.c; sluice ctl, docs/admin.md) ---------------------------- *
 * Message operations act on whole messages chosen by a selector; every queue write of one
 * call is one transaction (queue_group_begin/end), and done(arg, err) runs once it is
 * durable (err 0) or failed; the scheduler's memory changes at once:
 *  - hold: MSG_F_HELD is stored; its waiting recipients leave the heap (parked); those out
 *    with delivery finish their attempt and are parked after it. Held recipients are never
 *    attempted, so never expire nor get a delay notice while held; recovery parks them.
 *  - release: the flag goes; parked recipients return to the heap with their due times.
 *  - delete: the message and its records go now, without any report; outcomes of attempts
 *    still out are logged and dropped (never retried).
 *  - requeue: every unfinished recipient becomes due now (also a held one: due when
 *    released), and delivery forgets the dead state of their domains.
 *  - bounce: every unfinished recipient fails with "5.0.0 bounced by administrator" and
 *    its report (a DSN unless NOTIFY=NEVER); those out with delivery fail when their
 *    attempt ends, unless it delivered.
 * Pause (memory only, lost at restart): recipients of that domain (exact, case-insensitive)
 * are parked: no new transactions and so no new connections for it; resume returns them. */
enum sched_op { SCHED_HOLD, SCHED_RELEASE, SCHED_DELETE, SCHED_REQUEUE, SCHED_BOUNCE };
/* A message matches when every given member matches: qid (exact, upper-case hex), from
 * (glob on the sender; "<>" is the null sender), to (glob: any unfinished recipient), dest
 * (glob: the domain of any unfinished recipient). Globs as ctlproto_glob(). */
struct sched_select {
    const char *qid, *from, *to, *dest;
};
/* Applies op; returns how many messages it changed (0: done is still called). */
size_t sched_apply(struct sched *s, enum sched_op op, const struct sched_select *sel,
                   void (*done)(void *arg, int err), void *arg);
/* Pauses (on) or resumes a domain; returns false when it was so already. */
bool sched_pause(struct sched *s, const char *domain, bool on);
/* Calls fn for every paused domain. */
void sched_paused_foreach(const struct sched *s, void (*fn)(void *arg, const char *domain),
                          void *arg);

/* Views: one message at a time, valid during the call. */
enum sched_where { SCHED_WAITING, SCHED_ACTIVE, SCHED_HELD, SCHED_PAUSED, SCHED_DONE };
struct sched_rcpt_view {
    const char *addr;
    uint8_t state; /* enum rcpt_state */
    enum sched_where where;
    uint32_t attempts;
    int64_t next;         /* due time (waiting, held, paused), else 0 */
    int64_t last_attempt; /* 0 = none since start */
    const char *last_reply, *relay;
};
struct sched_msg_view {
    const char *qid;
    const char *sender;
    int64_t arrival;
    uint64_t size;
    bool held;
    uint32_t nrcpt, unfinished;
    const struct sched_rcpt_view *rcpts;
};
typedef void (*sched_view_fn)(void *arg, const struct sched_msg_view *v);
/* Every message in memory (no order). */
void sched_walk(struct sched *s, sched_view_fn fn, void *arg);
/* One message (fn NULL: only whether it is known); -1 when the scheduler does not know qid. */
int sched_view(struct sched *s, const char *qid, sched_view_fn fn, void *arg);
/* The local administrator's flush of one domain (sendmail -qR): as sched_flush_domain, and
 * its destination, even if dead, is tried at once (deliver_revive_now). */
size_t sched_flush_domain_local(struct sched *s, const char *domain);
#endif
