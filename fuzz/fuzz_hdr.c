/* Fuzz: header walking, unfolding and address-list splitting (proto/hdr.c). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/hdr.h"

static void sink(void *arg, const char *a)
{
    size_t *n = arg;
    *n += strlen(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *msg = (const char *)data;
    size_t off = 0, used, total = 0;
    struct hdr_field f;
    static char value[HDR_FIELD_MAX];
    while ((used = hdr_next(msg, size, off, &f)) > 0) {
        if (off + used > size)
            abort();
        hdr_value(&f, value, sizeof value);
        hdr_addrlist(value, sink, &total);
        off += used;
    }
    return 0;
}
