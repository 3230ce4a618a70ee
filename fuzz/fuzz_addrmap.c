/* fuzz_addrmap: addrmap_next() and addrmap_split() (the virtual and canonical map format)
 * on arbitrary bytes, both kinds. Every entry lies inside the input, the position only moves
 * forward, and every value handed to the callback is an address addrmap_addr_ok() accepts,
 * within ADDRMAP_ADDR_MAX. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/addrmap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Checks one value. */
static int check_value(void *arg, const char *v, size_t len)
{
    (void)arg;
    if (len == 0 || len > ADDRMAP_ADDR_MAX || !addrmap_addr_ok(v, len, v[0] == '@'))
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    for (int kind = ADDRMAP_VIRTUAL; kind <= ADDRMAP_CANONICAL; kind++) {
        size_t pos = 0, last = 0;
        unsigned line = 0;
        char err[256];
        struct addrmap_entry e;
        int rc;
        while ((rc = addrmap_next(buf, size, &pos, &line, &e, err, sizeof err)) == 1) {
            if (e.key < buf || e.key + e.keylen > buf + size || e.value < buf ||
                e.value + e.valuelen > buf + size || pos > size || pos <= last)
                abort();
            last = pos;
            addrmap_split((enum addrmap_kind)kind, &e, check_value, NULL, err, sizeof err);
        }
        if (rc == 0 && pos != size)
            abort();
    }
    return 0;
}
