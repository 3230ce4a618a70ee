/* slowstart: one destination's concurrency window (deliver/slowstart.c), pure: times come
 * in as arguments (ms). Postfix's initial_destination_concurrency with feedback, and TCP's
 * slow start and congestion avoidance:
 *  - a new destination begins at `initial` connections (0: at max at once);
 *  - each established session grows the window by one while it is below the ceiling (the
 *    window at the last refusal; none yet: up to max), above it by one after `cap`
 *    established sessions (the probe); at max the window disappears (cap 0);
 *  - a refusal lowers the window to what worked (slowstart_lower), and that is the ceiling;
 *  - a suspension (a reply rule) gives no window until its time; then, as after a dead
 *    period (slowstart_restart), the destination begins again at `initial` and climbs fast
 *    back to the ceiling.
 * Every change is reported by the return value so that the caller logs it. */
#ifndef SLUICE_SLOWSTART_H
#define SLUICE_SLOWSTART_H
#include <stdbool.h>
#include <stdint.h>

struct slowstart {
    unsigned cap;     /* current window; 0: max */
    unsigned okcount; /* sessions since the window last changed (above the ceiling) */
    unsigned ceiling; /* window at the last refusal; 0: none */
    unsigned initial; /* 0: no slow start */
    unsigned max;     /* maxserverconnections, >= 1 */
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
