/* bucket: a token bucket (deliver/bucket.c), pure: the clock comes in as an argument (ms).
 * A bucket of `size` tokens refills at `rate` tokens per second; taking one succeeds only
 * when a whole token is there. It holds up to size + BUCKET_LATE tokens: the extra token
 * keeps the lateness of a timer that fired up to one token interval late (a loaded
 * machine, the millisecond clock), which a bucket of one would otherwise lose on every take
 * (at 50/s, 2 ms late per 20 ms is 10 % below the rate). So over any interval of T ms at
 * most size + BUCKET_LATE + rate * T / 1000 tokens are taken (one token more than a burst
 * above the rate, and only after lateness or idleness), and a bucket asked at least once
 * per token interval keeps the rate exactly. Rate 0 means no limit. */
#ifndef SLUICE_BUCKET_H
#define SLUICE_BUCKET_H
#include <stdbool.h>
#include <stdint.h>

#define BUCKET_LATE 1.0 /* tokens held above size: a token interval of timer lateness */

struct bucket {
    double rate;   /* tokens per ms; 0 = no limit */
    double size;   /* most tokens held */
    double tokens; /* held at `last` */
    int64_t last;  /* ms */
};

/* A full bucket of size (>= 1) tokens refilled at per_second (0: no limit). */
void bucket_init(struct bucket *b, double per_second, double size, int64_t now);
/* Changes the rate from now on (what was earned at the old rate is kept). */
void bucket_set_rate(struct bucket *b, double per_second, int64_t now);
/* Takes one token: true, or false (nothing taken) when none is there yet. */
bool bucket_take(struct bucket *b, int64_t now);
/* Ms until a token is there (0: now). */
int64_t bucket_wait(struct bucket *b, int64_t now);
/* The rate in tokens per second (0: no limit). */
double bucket_rate(const struct bucket *b);
#endif
