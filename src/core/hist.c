/* hist: fixed-bucket histograms with atomic counters (contract in hist.h). */
#include "core/hist.h"

#include <string.h>

#include "core/log.h"

/* Sets the bucket bounds (increasing) and zeroes the counts. */
void hist_init(struct hist *h, const double *le, size_t n)
{
    if (n > HIST_MAX_BUCKETS)
        log_panic("hist: %zu buckets", n);
    memset(h, 0, sizeof *h);
    h->n = n;
    memcpy(h->le, le, n * sizeof *le);
}

/* Counts one observation. */
void hist_observe(struct hist *h, double v)
{
    size_t i = 0;
    if (v < 0)
        v = 0;
    while (i < h->n && v > h->le[i])
        i++;
    __atomic_fetch_add(&h->bucket[i], 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&h->sum_micro, (uint64_t)(v * 1e6 + 0.5), __ATOMIC_RELAXED);
}

/* Copies the counts, made cumulative. */
void hist_read(const struct hist *h, struct hist_snapshot *out)
{
    uint64_t acc = 0;
    out->n = h->n;
    memcpy(out->le, h->le, sizeof out->le);
    for (size_t i = 0; i <= h->n; i++) {
        acc += __atomic_load_n(&h->bucket[i], __ATOMIC_RELAXED);
        out->cumulative[i] = acc;
    }
    out->sum = (double)__atomic_load_n(&h->sum_micro, __ATOMIC_RELAXED) / 1e6;
}
