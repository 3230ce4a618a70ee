/* ratelearn: the learned message rate of a destination (ratelearn.h). Pure: no clock, no
 * allocation, no logging (shape.c logs the changes). A clock set back counts into the newest
 * slot and is treated as no time passed. */
#include "deliver/ratelearn.h"

#include <string.h>

/* A new destination: nothing learned. */
void ratelearn_init(struct ratelearn *rl)
{
    memset(rl, 0, sizeof *rl);
}

/* Moves the newest slot to now's, emptying the slots passed over. */
static void ratelearn_advance(struct ratelearn *rl, int64_t now)
{
    int64_t s = now / RATELEARN_SLOT_MS;
    if (s <= rl->slot_at)
        return;
    if (s - rl->slot_at >= RATELEARN_SLOTS)
        memset(rl->slot, 0, sizeof rl->slot);
    else
        for (int64_t i = rl->slot_at + 1; i <= s; i++)
            rl->slot[i % RATELEARN_SLOTS] = 0;
    rl->slot_at = s;
}

/* The receiver accepted one message. */
void ratelearn_sent(struct ratelearn *rl, int64_t now)
{
    ratelearn_advance(rl, now);
    rl->slot[rl->slot_at % RATELEARN_SLOTS]++;
}

/* Messages accepted in the last second. */
unsigned ratelearn_accepted(struct ratelearn *rl, int64_t now)
{
    ratelearn_advance(rl, now);
    unsigned n = 0;
    for (int i = 0; i < RATELEARN_SLOTS; i++)
        n += rl->slot[i];
    return n;
}

/* Just under the ceiling. */
double ratelearn_target(const struct ratelearn *rl)
{
    return rl->ceiling * (1.0 - RATELEARN_MARGIN);
}

/* The learned rate at now (0: none), the phase updated; twice the ceiling while probing
 * without a refusal forgets it. */
static double ratelearn_learned(struct ratelearn *rl, int64_t now)
{
    if (rl->ceiling <= 0) {
        rl->phase = RATELEARN_NONE;
        return 0;
    }
    int64_t t = now > rl->since ? now - rl->since : 0;
    double target = ratelearn_target(rl);
    if (t < RATELEARN_CLIMB_MS) {
        rl->phase = RATELEARN_CLIMB;
        if (rl->from >= target)
            return target;
        return rl->from + (target - rl->from) * (double)t / RATELEARN_CLIMB_MS;
    }
    if (t < RATELEARN_CLIMB_MS + rl->hold) {
        rl->phase = RATELEARN_HOLD;
        return target;
    }
    double r = target + rl->ceiling * RATELEARN_PROBE *
                            (double)(t - RATELEARN_CLIMB_MS - rl->hold) / 1000.0;
    if (r >= 2 * rl->ceiling) { /* no refusal at twice the ceiling: the limit is gone */
        rl->ceiling = 0;
        rl->refused = 0;
        rl->phase = RATELEARN_NONE;
        return 0;
    }
    rl->phase = RATELEARN_PROBING;
    return r;
}

/* A rate refusal: the ceiling is set, confirmed or moved; the rate decreases. */
bool ratelearn_refused(struct ratelearn *rl, int64_t now, double factor, int64_t hold)
{
    if (rl->ceiling > 0 && now >= rl->since && now - rl->since < RATELEARN_QUIET_MS)
        return false;
    double cur = ratelearn_learned(rl, now);
    double a = ratelearn_accepted(rl, now);
    if (a < RATELEARN_MIN)
        a = RATELEARN_MIN;
    if (rl->ceiling > 0 && a >= rl->ceiling * (1.0 - 2 * RATELEARN_MARGIN) &&
        a <= rl->ceiling * (1.0 + 2 * RATELEARN_MARGIN)) {
        if (rl->refused < RATELEARN_BACKOFF_MAX)
            rl->refused++; /* the same limit again: probe it more rarely */
    } else {
        rl->ceiling = a; /* the first limit, or the receiver changed it */
        rl->refused = 0;
    }
    double base = cur > 0 && cur < rl->ceiling ? cur : rl->ceiling;
    rl->from = base * factor < RATELEARN_MIN ? RATELEARN_MIN : base * factor;
    rl->since = now;
    rl->hold = hold << rl->refused;
    rl->phase = RATELEARN_CLIMB;
    return true;
}

/* The rate in force: the lower of the learned one and the policy's (0: no limit). */
double ratelearn_rate(struct ratelearn *rl, int64_t now, double policy)
{
    double r = ratelearn_learned(rl, now);
    if (policy > 0 && (r <= 0 || policy < r))
        return policy;
    return r;
}
