/* outcome: the one policy that turns what happened to a recipient into its next state.
 * Pure: no clock (now comes in), no randomness (rnd comes in), no I/O, no globals.
 *
 * outcome_decide(recipient state, delivery event, now, rnd, config) -> decision:
 *  - OK                                  -> DELIVERED;
 *  - PERMFAIL (5xx, NXDOMAIN, null MX)   -> FAILED;
 *  - TEMPFAIL (4xx, connect failure, DNS) -> DEFERRED until the ZMailer retry time
 *    (retry.h) after attempts + 1 failures;
 *  - TEMPFAIL once the message is older than deliver.expiry -> EXPIRED (a failure);
 *  - retries, interval, skew and expiry are the destination's (event.plan: a
 *    deliver.policies block may set them), else deliver's;
 *  - TEMPFAIL at or after the DELIVERBY time of a BY=...;R message -> LATE (a failure,
 *    RFC 2852 §4.1.4.1: status 5.4.7);
 *  - a DEFERRED or POSTPONED recipient of a BY= message is due no later than its DELIVERBY
 *    time while that is ahead, so the return (R) or the delay notice (N) comes at that time,
 *    not at the next retry;
 *  - TEMPFAIL without an attempt because the destination is known dead (event.dead_until
 *    != 0), for a recipient already tried before and neither expired nor late ->
 *    POSTPONED: the attempt count stays, the postponement count grows and the recipient
 *    backs off along the retry list (attempts + postponements), never before dead_until.
 *    A never-tried recipient is deferred as a real attempt instead (its record is written
 *    once, with the reason).
 * Reports owed (docs/dsn.md), as the pending report of the recipient (enum dsn_action + 1):
 *  - a failure (FAILED, EXPIRED, LATE) owes "failed" when NOTIFY asks for FAILURE (or none
 *    was given), and always when the message is itself a report or has the null sender
 *    (msg_is_report: the notice goes to double_bounce or is a logged drop, dsn/report.h);
 *    otherwise the recipient is marked reported;
 *  - DELIVERED owes "relayed" (or event.ok_action: "delivered" for a final delivery, local or
 *    LMTP, "expanded" for an alias expansion) with NOTIFY=SUCCESS when the next hop did not take the DSN
 *    request on (event.passed_on); when it did, the recipient is marked reported; a delay
 *    notice still pending for it is moot and dropped; a BY=...;N message relayed to a hop
 *    without DELIVERBY (event.by_relayed) owes "relayed" unless NOTIFY=NEVER (RFC 2852
 *    §4.1.4.2, as sendmail's "Deliver-By notify: relayed");
 *  - DEFERRED and POSTPONED owe "delayed" once per message (msg_delay_done, and
 *    RCPT_F_DELAY_REPORTED of the recipient) when NOTIFY asks for DELAY (or none was
 *    given) and either the message is older than deliver.delay_warning (0 = never) or a
 *    BY=...;N message passed its DELIVERBY time (RFC 2852 §4.1.4.2).
 * Every verdict but POSTPONED is an attempt: its reply, relay and time are recorded and the
 * recipient's record is written. The reply recorded is outcome_reason(): the attempt's own,
 * or for EXPIRED and LATE "5.4.7 message expired, last reply: ..." / "5.4.7 delivery time
 * expired, last reply: ..." (RFC 3463 X.4.7; the last reply keeps its own code, and logs
 * and reports read 5.4.7 from the start, proto/status.h). */
#ifndef SLUICE_OUTCOME_H
#define SLUICE_OUTCOME_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/reply.h"

#define OUTCOME_REASON_MAX 512

struct conf;
struct retry_plan;

enum outcome_verdict {
    OUTCOME_DELIVERED,
    OUTCOME_DEFERRED,
    OUTCOME_FAILED,
    OUTCOME_EXPIRED,   /* failed: deliver.expiry passed */
    OUTCOME_LATE,      /* failed: DELIVERBY time passed (BY mode R) */
    OUTCOME_POSTPONED, /* deferred without an attempt (dead destination) */
};

/* The recipient (and its message) before the event. */
struct outcome_rcpt {
    uint32_t attempts;   /* real attempts so far */
    uint32_t postponed;  /* postponements since the last real attempt */
    uint8_t notify;      /* NOTIFY_* (queue/record.h), 0 = not given */
    uint8_t flags;       /* RCPT_F_* */
    uint8_t report;      /* report pending: enum dsn_action + 1, 0 = none */
    int64_t arrival;     /* the message's, wall ms */
    int64_t deliver_by;  /* the message's DELIVERBY time, wall ms, 0 = none */
    uint32_t msg_flags;  /* MSG_F_* (MSG_F_BY_RETURN, MSG_F_BY_NOTIFY) */
    bool msg_delay_done; /* the message's one delay notice went out already */
    bool msg_is_report;  /* the message is a report or has the null sender */
};

/* What happened. */
struct outcome_event {
    enum outcome o;     /* OK, TEMPFAIL, PERMFAIL */
    bool passed_on;     /* the next hop announced DSN and took the request on */
    bool by_relayed;    /* a BY=...;N message relayed to a hop without DELIVERBY */
    uint8_t ok_action;  /* a success report's action (enum dsn_action + 1), 0 = relayed */
    int64_t dead_until; /* != 0: no attempt was made, the destination is dead until then */
    const struct retry_plan *plan; /* the destination's retries, interval, skew, expiry
                                    * (deliver.policies); NULL: deliver's own */
};

struct outcome_decision {
    enum outcome_verdict verdict;
    int64_t next;      /* DEFERRED / POSTPONED: the due time, wall ms; else 0 */
    uint32_t attempts; /* counters afterwards */
    uint32_t postponed;
    uint8_t flags;  /* RCPT_F_* afterwards */
    uint8_t report; /* report pending afterwards (enum dsn_action + 1, 0 = none) */
};

/* Decides (see above). rnd: any uniform 32-bit value (restart point of the retry list). */
struct outcome_decision outcome_decide(const struct outcome_rcpt *r, const struct outcome_event *e,
                                       int64_t now, uint32_t rnd, const struct conf *c);
/* The reply to record for an attempt with verdict v (see above): reply itself, or the
 * reworded failure written into buf (cap bytes, cut to fit). */
const char *outcome_reason(enum outcome_verdict v, const char *reply, char *buf, size_t cap);
/* True for DELIVERED, FAILED, EXPIRED and LATE: the recipient is final. */
bool outcome_final(enum outcome_verdict v);
/* "delivered", "deferred", "failed", "expired", "late", "postponed". */
const char *outcome_verdict_name(enum outcome_verdict v);
#endif
