/* report: who owes the envelope sender a delivery report, and storing that report
 * (docs/dsn.md). The scheduler keeps, per recipient, which report is pending (decided by
 * sched/outcome.h with report_wanted()); once nothing of a message is in flight it hands
 * the pending ones here by message id and recipient index, and gets back which were
 * settled.
 *
 * Rules:
 *  - report_wanted(): NOTIFY=NEVER wants nothing; no NOTIFY wants failures and delays;
 *    otherwise what NOTIFY lists (RFC 3461 §4.1).
 *  - report_failure_owed(): a failure owes a report when NOTIFY asks for failures, and
 *    always when the message is itself a report or has the null sender (report_is_report):
 *    such a message is never reported to its (null) sender, and reports carry NOTIFY=NEVER
 *    (RFC 3461 §6.2), which must not swallow the failure: it owes one notice to
 *    deliver.double_bounce, or a logged drop (below);
 *  - report_owed_final(): a final recipient loaded from the queue still owes "failed" or
 *    "relayed" unless RCPT_F_REPORTED (recovery sends what a crash left owed).
 *  - report_send(): a report about a message with the null sender or MSG_F_BOUNCE is never
 *    sent to that sender: a failure goes to deliver.double_bounce instead, every other
 *    report (and a failure when double_bounce is empty or is the failed recipient itself)
 *    is dropped: logged ("undeliverable report dropped (double bounce)", event "drop")
 *    and marked dropped for the caller to settle. The notice to double_bounce is itself a
 *    report, so its own failure is dropped: there is never a loop. The rest become ONE
 *    RFC 3464 report (dsn/bounce.h: null sender, MSG_F_BOUNCE) stored with queue_put();
 *    the original content is read from the queue by message id (RET per bounce_ret()).
 *    Once durable, done() gets the report's envelope (to be scheduled like any message)
 *    and the indexes and actions it covers; only then may the caller mark them reported.
 *    On a queue error done() gets err and nothing is marked (recovery tries again: at
 *    least once). Each recipient's Status is read from its last reply (status_of(),
 *    proto/status.h): a delay notice keeps the last attempt's code, as Postfix does. */
#ifndef SLUICE_REPORT_H
#define SLUICE_REPORT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct audit_log;
struct conf;
struct qmsg;
struct queue;

/* What report_send() needs besides the message: set once by the caller. */
struct report_env {
    const struct conf *c;     /* hostname, double_bounce, bounce_size_limit, expiry */
    struct queue *q;          /* content in, report out */
    struct audit_log *events; /* JSON event log, NULL = off */
};

/* The message reported on. Strings are the caller's, read during report_send() only. */
struct report_msg {
    uint64_t id;
    const char *qid, *sender, *envid, *helo;
    int64_t arrival;
    uint64_t size;
    uint32_t flags; /* MSG_F_* */
};

/* One recipient owed a report. */
struct report_rcpt {
    uint32_t idx;             /* index of the recipient in its message */
    uint8_t action;           /* enum dsn_action */
    const char *addr, *orcpt; /* ORCPT as received, "" = none */
    const char *relay;        /* "name[ip]:port" of the last attempt, "" / "none" = none */
    const char *diag;         /* the last reply (or our reason) */
    int64_t last_attempt;     /* wall ms, 0 = none */
    bool dropped;             /* out: not sent (double bounce); settle it now */
};

/* Result of a stored report. */
struct report_done {
    int err;                   /* 0, or errno: nothing was stored */
    const struct qmsg *report; /* err 0: the report's envelope (valid during the call) */
    size_t n;                  /* recipients of the original it covers */
    const uint32_t *idx;       /* their indexes */
    const uint8_t *action;     /* their actions (enum dsn_action) */
};
typedef void (*report_done_fn)(void *arg, const struct report_done *d);

/* True when a recipient with these NOTIFY bits wants reports of kind bit (NOTIFY_*). */
bool report_wanted(uint8_t notify, uint8_t bit);
/* True when a message with this sender and these MSG_F_* flags is itself a report or has
 * the null sender. */
bool report_is_report(const char *sender, uint32_t msg_flags);
/* True when a failure of a recipient with these NOTIFY bits owes a report (or a logged drop);
 * is_report: report_is_report() of its message. */
bool report_failure_owed(uint8_t notify, bool is_report);
/* For a final recipient (state RCPT_DELIVERED or RCPT_FAILED): the report still owed, as
 * enum dsn_action + 1 (failed, relayed), or 0 when none is (reported already, or not
 * wanted). Any other state: 0. is_report as for report_failure_owed(). */
uint8_t report_owed_final(uint8_t state, uint8_t notify, uint8_t flags, bool is_report);
/* Sends r[0..n) (see above). Returns how many the stored report covers; 0: nothing was
 * stored and done is never called; else done is called exactly once, later, on the loop. */
size_t report_send(const struct report_env *env, const struct report_msg *m, struct report_rcpt *r,
                   size_t n, int64_t now, report_done_fn done, void *arg);
#endif
