/* qid: queue id generation (see qid.h for the layout) and the two clocks. */
#include "core/qid.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t qid_last;

/* Wall clock in milliseconds. */
int64_t clock_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Monotonic clock in milliseconds. */
int64_t clock_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Monotonic clock in microseconds. */
int64_t clock_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Next id: max(now_us, last+1) in the high bits, the pid's low 12 bits below. */
uint64_t qid_next(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t us = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
    if (us <= qid_last)
        us = qid_last + 1;
    qid_last = us;
    return (us << 12) | ((uint64_t)getpid() & 0xfffu);
}

/* 16 upper-case hex digits. */
char *qid_to_text(uint64_t id, char *buf)
{
    snprintf(buf, QID_TEXT_LEN + 1, "%016llX", (unsigned long long)id);
    return buf;
}

/* Inverse of qid_to_text (accepts either case). */
int qid_from_text(const char *s, uint64_t *id)
{
    uint64_t v = 0;
    if (strlen(s) != QID_TEXT_LEN)
        return -1;
    for (int i = 0; i < QID_TEXT_LEN; i++) {
        char c = s[i];
        int d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else
            return -1;
        v = (v << 4) | (uint64_t)d;
    }
    *id = v;
    return 0;
}
