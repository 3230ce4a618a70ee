/* fuzz_duration: duration_parse() on arbitrary bytes; every accepted value must survive
 * duration_to_text() and parse back to itself. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/duration.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One input: parse, then round-trip what parsed. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t ms = 0, back = 0;
    char buf[32];
    if (duration_parse((const char *)data, size, &ms) != 0)
        return 0;
    if (ms > (UINT64_C(1) << 53))
        abort();
    duration_to_text(ms, buf, sizeof buf);
    if (duration_parse(buf, strlen(buf), &back) != 0 || back != ms)
        abort();
    return 0;
}
