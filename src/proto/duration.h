/* duration: parses configuration durations. Pure, no allocation.
 * Accepted: decimal digits, optionally followed by one unit: "ms", "s", "m", "h", "d".
 * No unit means milliseconds ("250" = 250 ms). No sign, no spaces, no fractions, at most
 * 32 input bytes, result must fit in 2^53 ms. */
#ifndef SLUICE_DURATION_H
#define SLUICE_DURATION_H
#include <stddef.h>
#include <stdint.h>

/* Returns 0 and sets *ms, or -1 on any syntax error or overflow. */
int duration_parse(const char *s, size_t len, uint64_t *ms);
/* Formats ms as the shortest exact form ("250ms", "15s", "3m", "2h", "3d"). Returns buf. */
char *duration_to_text(uint64_t ms, char *buf, size_t buflen);
#endif
