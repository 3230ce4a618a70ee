/* ratelearn: the message rate a destination's replies taught (deliver/ratelearn.c), pure:
 * times come in as arguments (ms). AIMD with a remembered ceiling (TCP's ssthresh, for a
 * receiver's rate limit):
 *  - ratelearn_sent() counts every message the receiver accepted, in slots covering the last
 *    second (RATELEARN_SLOTS x RATELEARN_SLOT_MS: 1000..1020 ms, so a sender paced at the
 *    receiver's rate counts all of it, not 49 of 50);
 *  - the first rate refusal (ratelearn_refused: a reply rule's reduce_rate) sets the
 *    ceiling: the messages accepted in the second before it, which is what the receiver
 *    allows. The rate drops to ceiling x factor (multiplicative decrease) and climbs back
 *    linearly over RATELEARN_CLIMB_MS to the target, ceiling x (1 - RATELEARN_MARGIN) (just
 *    under it), where it stays;
 *  - after `hold` ms at the target (the rule's duration) it probes above: + RATELEARN_PROBE
 *    of the ceiling per second, until a refusal or the policy's rate; twice the ceiling
 *    without one means the limit is gone, and the learned rate is forgotten;
 *  - a later refusal with about the same accepted count (>= ceiling x (1 - 2 x margin))
 *    confirms the ceiling: `refused` + 1 (at most RATELEARN_BACKOFF_MAX), and the next
 *    probe waits hold << refused (a limit refused twice is probed ever more rarely); a
 *    clearly smaller count is a lowered limit: the new ceiling, refused 0. Either way the
 *    rate decreases and climbs again as above;
 *  - refusals within RATELEARN_QUIET_MS of a decrease change nothing (the receiver's window
 *    still holds what was sent before it: they are the same event).
 * The rate in force is the lower of the learned one and the policy's (0: no limit). */
#ifndef SLUICE_RATELEARN_H
#define SLUICE_RATELEARN_H
#include <stdbool.h>
#include <stdint.h>

#define RATELEARN_SLOTS 51       /* the accepted count: 51 slots ... */
#define RATELEARN_SLOT_MS 20     /* ... of 20 ms = the last 1000..1020 ms */
#define RATELEARN_MARGIN 0.03    /* the target is 3 % under the ceiling */
#define RATELEARN_CLIMB_MS 2000  /* from ceiling x factor back to the target */
#define RATELEARN_QUIET_MS 2000  /* refusals this soon after a decrease are the same event */
#define RATELEARN_PROBE 0.02     /* probe: + 2 % of the ceiling per second above the target */
#define RATELEARN_BACKOFF_MAX 6  /* a probe at least every hold << 6 */
#define RATELEARN_MIN 0.01       /* messages per second: the lowest rate learned */

enum ratelearn_phase { RATELEARN_NONE, RATELEARN_CLIMB, RATELEARN_HOLD, RATELEARN_PROBING };

struct ratelearn {
    uint32_t slot[RATELEARN_SLOTS]; /* messages accepted per slot */
    int64_t slot_at;                /* slot index (ms / RATELEARN_SLOT_MS) of the newest */
    double ceiling;                 /* msgs/s at the last refusal level; 0: none learned */
    double from;                    /* the rate right after the last decrease */
    int64_t since;                  /* ms of the last decrease */
    int64_t hold;                   /* ms at the target before probing (<< refused) */
    unsigned refused;               /* refusals at the same ceiling in a row */
    enum ratelearn_phase phase;     /* as of the last ratelearn_rate() */
};

void ratelearn_init(struct ratelearn *rl);
/* The receiver accepted a message at now. */
void ratelearn_sent(struct ratelearn *rl, int64_t now);
/* Messages accepted in the second before now. */
unsigned ratelearn_accepted(struct ratelearn *rl, int64_t now);
/* A rate refusal at now; factor in (0, 1); hold (ms) before probing above the target. True
 * when it acted (false: within RATELEARN_QUIET_MS of the last decrease). */
bool ratelearn_refused(struct ratelearn *rl, int64_t now, double factor, int64_t hold);
/* The rate in force at now (msgs/s, 0: no limit), given the policy's (0: none); updates
 * the phase (the caller logs a change). */
double ratelearn_rate(struct ratelearn *rl, int64_t now, double policy);
/* The target: just under the ceiling (0: nothing learned). */
double ratelearn_target(const struct ratelearn *rl);
#endif
