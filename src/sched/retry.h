/* retry: the ZMailer retry schedule (seed 002 scheduler.conf), pure.
 * After the n-th failed attempt (attempts = n >= 1) the recipient waits
 * retries[n-1] * interval; once the list is exhausted the index restarts at a random point
 * in its second half ([nretries/2, nretries)), chosen with rnd. When attempts >= skew the
 * due time is rounded up to the next multiple of interval (wall clock), so retries of many
 * recipients line up and travel together; skew 0 aligns every retry. */
#ifndef SLUICE_RETRY_H
#define SLUICE_RETRY_H
#include <stddef.h>
#include <stdint.h>

/* Returns the wall time (ms) of the next attempt. interval > 0, nretries >= 1. */
int64_t retry_next(const unsigned *retries, size_t nretries, uint64_t interval, unsigned skew,
                   uint32_t attempts, int64_t now, uint32_t rnd);
/* True when a recipient that arrived at `arrival` has outlived expiry at `now`. */
int retry_expired(int64_t arrival, uint64_t expiry, int64_t now);
#endif
