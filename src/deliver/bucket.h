/* bucket: a token bucket (deliver/bucket.c), pure: the clock comes in as an argument (ms).
 * A bucket of `size` tokens refills at `rate` tokens per second; taking one succeeds only
 * when a whole token is there. So over any interval of T ms at most size + rate * T / 1000
 * tokens are taken (never more than one burst above the rate), and a bucket that is always
 * asked falls behind the rate by less than one token. Rate 0 means no limit. */
#ifndef SLUICE_BUCKET_H
#define SLUICE_BUCKET_H
#include <stdbool.h>
#include <stdint.h>

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
