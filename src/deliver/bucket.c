/* bucket: token buckets for message and connection rates (bucket.h). Pure: no clock, no
 * allocation. Time going backwards (a wall clock set back) earns nothing and never takes
 * tokens away; takes then count into the newest slot. */
#include "deliver/bucket.h"

#include <math.h>
#include <string.h>

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

/* Moves the newest slot to now's, emptying the slots passed over. */
static void bucket_advance(struct bucket *b, int64_t now)
{
    int64_t s = now / BUCKET_SLOT_MS;
    if (s <= b->slot_at)
        return;
    if (s - b->slot_at >= BUCKET_SLOTS) {
        memset(b->slot, 0, sizeof b->slot);
        b->insecond = 0;
    } else {
        for (int64_t i = b->slot_at + 1; i <= s; i++) {
            b->insecond -= b->slot[i % BUCKET_SLOTS];
            b->slot[i % BUCKET_SLOTS] = 0;
        }
    }
    b->slot_at = s;
}

/* The most an exact bucket takes in one second, or 0 when the window is not kept (below
 * one a second the credit cannot fill a second; above 65534 the slots would not hold it). */
static unsigned bucket_most(const struct bucket *b)
{
    double most = floor(b->rate * 1000.0 + b->size - 1.0);
    return b->rate * 1000.0 < 1.0 || most >= 65535 ? 0 : (unsigned)most;
}

/* True when the last second already holds what an exact bucket would allow in one. */
static bool bucket_second_full(struct bucket *b, int64_t now)
{
    unsigned most = bucket_most(b);
    if (!most)
        return false;
    bucket_advance(b, now);
    return b->insecond >= most;
}

/* A full bucket. */
void bucket_init(struct bucket *b, double per_second, double size, int64_t now)
{
    memset(b, 0, sizeof *b);
    b->rate = per_second > 0 ? per_second / 1000.0 : 0;
    b->size = size < 1 ? 1 : size;
    b->tokens = b->size;
    b->last = now;
    b->slot_at = now / BUCKET_SLOT_MS;
}

/* New rate from now on. */
void bucket_set_rate(struct bucket *b, double per_second, int64_t now)
{
    bucket_refill(b, now);
    b->rate = per_second > 0 ? per_second / 1000.0 : 0;
}

/* Takes one token when one is there (and the last second has room). */
bool bucket_take(struct bucket *b, int64_t now)
{
    if (b->rate == 0)
        return true;
    bucket_refill(b, now);
    if (b->tokens < 1.0 || bucket_second_full(b, now))
        return false;
    b->tokens -= 1.0;
    if (bucket_most(b)) {
        bucket_advance(b, now);
        b->slot[b->slot_at % BUCKET_SLOTS]++;
        b->insecond++;
    }
    return true;
}

/* Ms until one token is there (a full second: until its oldest slot passes). */
int64_t bucket_wait(struct bucket *b, int64_t now)
{
    if (b->rate == 0)
        return 0;
    bucket_refill(b, now);
    if (b->tokens < 1.0)
        return (int64_t)ceil((1.0 - b->tokens) / b->rate);
    if (bucket_second_full(b, now))
        return BUCKET_SLOT_MS - now % BUCKET_SLOT_MS;
    return 0;
}

/* Tokens per second. */
double bucket_rate(const struct bucket *b)
{
    return b->rate * 1000.0;
}
