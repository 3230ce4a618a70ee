/* slowstart: one destination's concurrency window (deliver/slowstart.c), pure: times come
 * in as arguments (ms). Postfix's initial_destination_concurrency with feedback, and TCP's
 * slow start and congestion avoidance:
 *  - a new destination begins at `initial` connections (0: at max at once);
 *  - each established session grows the window by one while it is below the ceiling (the
 *    window at the last refusal; none yet: up to max), above it by one after
 *    `max(cap, SLOWSTART_PROBE_MIN) << backoff` established sessions (the probe); at max the
 *    window disappears;
 *  - a refusal lowers the window to what worked (slowstart_lower), and that is the ceiling;
 *    the window holds there, and since a refused probe is a wasted connection, the probe
 *    waits at least SLOWSTART_PROBE_MIN sessions (refused probes are at most 1/256 of the
 *    sessions); one refused at the same ceiling again doubles the sessions before the next
 *    (backoff + 1, at most SLOWSTART_BACKOFF_MAX: Postfix's feedback hysteresis), so a
 *    stable limit costs the refusal that found it and a few probes over a long run; a
 *    refusal at another level, a reduction or a probe that held (the window grew again
 *    past it) starts over at backoff 0;
 *  - a suspension (a reply rule) gives no window until its time; then, as after a dead
 *    period (slowstart_restart), the destination begins again at `initial` and climbs fast
 *    back to the ceiling.
 * Every change is reported by the return value so that the caller logs it. */
#ifndef SLUICE_SLOWSTART_H
#define SLUICE_SLOWSTART_H
#include <stdbool.h>
#include <stdint.h>

#define SLOWSTART_PROBE_MIN 256 /* sessions at the ceiling before the first probe above it */
#define SLOWSTART_BACKOFF_MAX 6  /* a probe at least every max(cap, 256) * 64 sessions */

struct slowstart {
    unsigned cap;     /* current window; 0: max */
    unsigned okcount; /* sessions since the window last changed (above the ceiling) */
    unsigned ceiling; /* window at the last refusal; 0: none */
    unsigned initial; /* 0: no slow start */
    unsigned max;     /* maxserverconnections, >= 1 */
    unsigned backoff; /* probes refused at the ceiling in a row: it waits max(cap, 256) << backoff */
    int64_t until;    /* suspended until (ms); 0: not suspended */
};

void slowstart_init(struct slowstart *ss, unsigned initial, unsigned max);
/* Connections allowed at once now: 0 while suspended. A suspension that has ended is
 * forgotten here and the window begins again (*recovered set true, else untouched). */
unsigned slowstart_limit(struct slowstart *ss, int64_t now, bool *recovered);
/* A session was established: true when the window grew. */
bool slowstart_ok(struct slowstart *ss);
/* A refusal while n sessions worked (n >= 1): true when the window went down to n. */
bool slowstart_lower(struct slowstart *ss, unsigned n);
/* Multiplies the window (or, without one, `current` connections) by factor (at least 1
 * stays); the result is the new ceiling. True when it changed. */
bool slowstart_reduce(struct slowstart *ss, unsigned current, double factor);
/* No connection until `until`; then the window begins again. */
void slowstart_suspend(struct slowstart *ss, int64_t until);
/* After a suspension: begin again at initial (the ceiling is kept; without slow start the
 * window stays). A dead destination forgets everything instead: slowstart_init(). */
void slowstart_restart(struct slowstart *ss);
#endif
