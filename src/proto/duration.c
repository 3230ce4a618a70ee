/* duration: configuration durations ("250" = 250 ms, "250ms", "15s", "3m", "2h", "3d").
 * Contract (see duration.h):
 *   duration_parse()   decimal digits plus at most one unit; no sign, blanks or fractions;
 *                      at most DURATION_MAX_INPUT bytes; the result must not exceed 2^53 ms.
 *                      Returns 0 and sets *ms, or -1 (and leaves *ms alone).
 *   duration_to_text() the shortest exact text for ms: the largest unit that divides ms.
 * Pure: no allocation, no globals, no clock. */
#include "proto/duration.h"

#include <stdio.h>
#include <string.h>

#define DURATION_MAX_INPUT 32
#define DURATION_MAX_MS (UINT64_C(1) << 53)

struct duration_unit {
    const char *name;
    uint64_t ms;
};

/* Longest names first so that "ms" is never read as "m" followed by junk. */
static const struct duration_unit duration_units[] = {
    {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000},
};

/* Finds the unit spelled by s[0..len), or returns 0 when there is none. */
static uint64_t duration_unit_ms(const char *s, size_t len)
{
    if (len == 0)
        return 1;
    for (size_t i = 0; i < sizeof duration_units / sizeof duration_units[0]; i++) {
        const char *n = duration_units[i].name;
        if (strlen(n) == len && memcmp(n, s, len) == 0)
            return duration_units[i].ms;
    }
    return 0;
}

/* Parses the digits then the unit; every overflow is checked before it can happen. */
int duration_parse(const char *s, size_t len, uint64_t *ms)
{
    if (s == NULL || len == 0 || len > DURATION_MAX_INPUT)
        return -1;
    size_t i = 0;
    uint64_t v = 0;
    while (i < len && s[i] >= '0' && s[i] <= '9') {
        v = v * 10 + (uint64_t)(s[i] - '0');
        if (v > DURATION_MAX_MS)
            return -1;
        i++;
    }
    if (i == 0)
        return -1;
    uint64_t unit = duration_unit_ms(s + i, len - i);
    if (unit == 0 || v > DURATION_MAX_MS / unit)
        return -1;
    *ms = v * unit;
    return 0;
}

/* Writes ms in the largest unit that divides it exactly ("0ms" for zero). */
char *duration_to_text(uint64_t ms, char *buf, size_t buflen)
{
    if (buf == NULL || buflen == 0)
        return buf;
    size_t best = 0;
    for (size_t i = 1; i < sizeof duration_units / sizeof duration_units[0]; i++)
        if (ms != 0 && ms % duration_units[i].ms == 0)
            best = i;
    snprintf(buf, buflen, "%llu%s", (unsigned long long)(ms / duration_units[best].ms),
             duration_units[best].name);
    return buf;
}
