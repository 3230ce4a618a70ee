/* bucket: token buckets for message and connection rates (bucket.h). Pure: no clock, no
 * allocation. Time going backwards (a wall clock set back) earns nothing and never takes
 * tokens away. */
#include "deliver/bucket.h"

#include <math.h>

/* Adds what was earned since b->last, up to size + BUCKET_LATE. */
static void bucket_refill(struct bucket *b, int64_t now)
{
    if (now > b->last) {
        b->tokens += (double)(now - b->last) * b->rate;
        if (b->tokens > b->size + BUCKET_LATE)
            b->tokens = b->size + BUCKET_LATE;
    }
    if (now > b->last || b->last - now > 1000)
        b->last = now; /* a clock set back by more than a second: start again from it */
}

/* A full bucket. */
void bucket_init(struct bucket *b, double per_second, double size, int64_t now)
{
    b->rate = per_second > 0 ? per_second / 1000.0 : 0;
    b->size = size < 1 ? 1 : size;
    b->tokens = b->size;
    b->last = now;
}

/* New rate from now on. */
void bucket_set_rate(struct bucket *b, double per_second, int64_t now)
{
    bucket_refill(b, now);
    b->rate = per_second > 0 ? per_second / 1000.0 : 0;
}

/* Takes one token when one is there. */
bool bucket_take(struct bucket *b, int64_t now)
{
    if (b->rate == 0)
        return true;
    bucket_refill(b, now);
    if (b->tokens < 1.0)
        return false;
    b->tokens -= 1.0;
    return true;
}

/* Ms until one token is there. */
int64_t bucket_wait(struct bucket *b, int64_t now)
{
    if (b->rate == 0)
        return 0;
    bucket_refill(b, now);
    if (b->tokens >= 1.0)
        return 0;
    return (int64_t)ceil((1.0 - b->tokens) / b->rate);
}

/* Tokens per second. */
double bucket_rate(const struct bucket *b)
{
    return b->rate * 1000.0;
}
