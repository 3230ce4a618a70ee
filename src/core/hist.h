/* hist: a fixed-bucket histogram whose observations may come from any thread (atomic
 * counters; the sum is kept in millionths so it adds atomically too). The buckets are
 * cumulative when read, as Prometheus wants them ("le" upper bounds, then +Inf).
 *   hist_init(h, le, n)   n (<= HIST_MAX_BUCKETS) increasing upper bounds
 *   hist_observe(h, v)    counts v (>= 0) in the first bucket whose bound is >= v
 *   hist_read(h, out)     a consistent-enough copy: cumulative counts, sum, count */
#ifndef SLUICE_HIST_H
#define SLUICE_HIST_H
#include <stddef.h>
#include <stdint.h>

#define HIST_MAX_BUCKETS 16

struct hist {
    size_t n;
    double le[HIST_MAX_BUCKETS];
    uint64_t bucket[HIST_MAX_BUCKETS + 1]; /* per bucket (not cumulative); [n] = over all */
    uint64_t sum_micro;
};

struct hist_snapshot {
    size_t n;
    double le[HIST_MAX_BUCKETS];
    uint64_t cumulative[HIST_MAX_BUCKETS + 1]; /* [n] = +Inf = count */
    double sum;
};

void hist_init(struct hist *h, const double *le, size_t n);
void hist_observe(struct hist *h, double v);
void hist_read(const struct hist *h, struct hist_snapshot *out);
#endif
