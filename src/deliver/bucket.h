/* bucket: a token bucket (deliver/bucket.c), pure: the clock comes in as an argument (ms).
 * A bucket of `size` tokens refills at `rate` tokens per second; taking one succeeds only
 * when a whole token is there. It holds up to size + BUCKET_LATE tokens: the extra token
 * keeps the lateness of a timer that fired up to one token interval late (a loaded machine,
 * the millisecond clock), which a bucket of one would otherwise lose on every take (at
 * 50/s, 2 ms late per 20 ms is 10 % below the rate). That credit never lets a second hold
 * more than an exact bucket allows: for a rate of at least one a second, the takes counted
 * over the last BUCKET_SLOTS slots of BUCKET_SLOT_MS (1005..1010 ms: a second and at least
 * 5 ms, so a receiver that sees our messages up to 5 ms apart from our clock still counts
 * no more) stay below floor(rate + size - 1) + 1. So in any 1000 ms at most
 * floor(rate + size - 1) tokens are taken (size 1: the rate, whether the receiver counts
 * fixed or sliding seconds), over any interval of T ms at most
 * size + BUCKET_LATE + rate * T / 1000, and a bucket asked at least once per token interval
 * keeps the rate within 1 % (the 5..10 ms added to the second). Rate 0 means no limit. */
#ifndef SLUICE_BUCKET_H
#define SLUICE_BUCKET_H
#include <stdbool.h>
#include <stdint.h>

#define BUCKET_LATE 1.0  /* tokens held above size: a token interval of timer lateness */
#define BUCKET_SLOTS 202 /* takes in the last second and 5 ms: 202 slots ... */
#define BUCKET_SLOT_MS 5  /* ... of 5 ms (the newest one partly) */

struct bucket {
    double rate;   /* tokens per ms; 0 = no limit */
    double size;   /* burst: tokens held (plus BUCKET_LATE) */
    double tokens; /* held at `last` */
    int64_t last;  /* ms */
    uint16_t slot[BUCKET_SLOTS]; /* takes per slot */
    unsigned insecond;           /* their sum */
    int64_t slot_at;             /* slot index (ms / BUCKET_SLOT_MS) of the newest */
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
