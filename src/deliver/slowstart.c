/* slowstart: the concurrency window of a destination (slowstart.h). Pure: no clock, no
 * allocation, no logging (callers log the changes the functions report). */
#include "deliver/slowstart.h"

/* A window of n, or none (0) when n reaches max. */
static void slowstart_set(struct slowstart *ss, unsigned n)
{
    ss->cap = n >= ss->max ? 0 : n;
    ss->okcount = 0;
}

/* A new destination. */
void slowstart_init(struct slowstart *ss, unsigned initial, unsigned max)
{
    *ss = (struct slowstart){.initial = initial, .max = max ? max : 1};
    slowstart_set(ss, initial ? initial : ss->max);
}

/* Connections allowed now. */
unsigned slowstart_limit(struct slowstart *ss, int64_t now, bool *recovered)
{
    if (ss->until) {
        if (now < ss->until)
            return 0;
        ss->until = 0;
        slowstart_restart(ss);
        *recovered = true;
    }
    return ss->cap ? ss->cap : ss->max;
}

/* One more established session. */
bool slowstart_ok(struct slowstart *ss)
{
    if (!ss->cap)
        return false;
    if (ss->ceiling == 0 || ss->cap < ss->ceiling) {
        slowstart_set(ss, ss->cap + 1);
        return true;
    }
    unsigned every = ss->cap > SLOWSTART_PROBE_MIN ? ss->cap : SLOWSTART_PROBE_MIN;
    if (++ss->okcount < (every << ss->backoff))
        return false;
    if (ss->cap > ss->ceiling) { /* the last probe held: that is the new ceiling */
        ss->ceiling = ss->cap;
        ss->backoff = 0;
    }
    slowstart_set(ss, ss->cap + 1);
    return true;
}

/* A refusal while n sessions worked. */
bool slowstart_lower(struct slowstart *ss, unsigned n)
{
    if (n == 0)
        n = 1;
    ss->okcount = 0;
    if (ss->cap && n >= ss->cap)
        return false;
    if (ss->ceiling && n == ss->ceiling) /* a probe refused at the same limit again */
        ss->backoff += ss->backoff < SLOWSTART_BACKOFF_MAX;
    else
        ss->backoff = 0;
    ss->cap = n;
    ss->ceiling = n;
    return true;
}

/* Multiplicative decrease. */
bool slowstart_reduce(struct slowstart *ss, unsigned current, double factor)
{
    unsigned from = ss->cap ? ss->cap : (current ? current : ss->max);
    unsigned n = (unsigned)((double)from * factor);
    if (n < 1)
        n = 1;
    ss->okcount = 0;
    ss->ceiling = n;
    ss->backoff = 0;
    if (ss->cap && n >= ss->cap)
        return false;
    ss->cap = n >= ss->max ? 0 : n;
    return true;
}

/* No connection until `until`. */
void slowstart_suspend(struct slowstart *ss, int64_t until)
{
    ss->until = until ? until : 1;
}

/* Begin again at initial (without slow start the window stays as it was). */
void slowstart_restart(struct slowstart *ss)
{
    if (ss->initial)
        slowstart_set(ss, ss->initial);
}
