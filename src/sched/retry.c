/* retry: next-attempt computation (see retry.h for the rules). */
#include "sched/retry.h"

/* Index into retries for the n-th failure, restarting in the second half when exhausted. */
static size_t retry_index(size_t nretries, uint32_t attempts, uint32_t rnd)
{
    size_t i = attempts ? attempts - 1 : 0;
    if (i < nretries)
        return i;
    size_t lo = nretries / 2;
    return lo + rnd % (nretries - lo);
}

/* Due time of the next attempt after `attempts` failures. */
int64_t retry_next(const unsigned *retries, size_t nretries, uint64_t interval, unsigned skew,
                   uint32_t attempts, int64_t now, uint32_t rnd)
{
    uint64_t wait = (uint64_t)retries[retry_index(nretries, attempts, rnd)] * interval;
    int64_t due = now + (int64_t)wait;
    if (attempts >= skew && interval > 0) {
        int64_t iv = (int64_t)interval;
        due = (due + iv - 1) / iv * iv;
    }
    return due;
}

/* Expiry check: age >= expiry. */
int retry_expired(int64_t arrival, uint64_t expiry, int64_t now)
{
    return now - arrival >= (int64_t)expiry;
}
