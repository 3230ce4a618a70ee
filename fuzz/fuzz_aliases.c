/* fuzz_aliases: aliases_next() and aliases_split() on arbitrary bytes. Every entry returned
 * lies inside the input, the position only moves forward, and every target handed to the
 * callback is non-empty, within ALIASES_TARGET_MAX and free of control bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/aliases.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Checks one target. */
static int check_target(void *arg, enum alias_kind k, const char *t, size_t len)
{
    (void)arg;
    if (len == 0 || len > ALIASES_TARGET_MAX || strlen(t) != len || aliases_kind(t, len) != k)
        abort();
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)t[i] < ' ' || (unsigned char)t[i] == 0x7f)
            abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    size_t pos = 0;
    unsigned line = 0;
    char err[256], tmp[ALIASES_TARGET_MAX + 1];
    struct alias_entry e;
    int rc;
    while ((rc = aliases_next(buf, size, &pos, &line, &e, err, sizeof err)) == 1) {
        if (e.name < buf || e.name + e.namelen > buf + size || e.value + e.valuelen > buf + size ||
            pos > size)
            abort();
        aliases_split(e.value, e.valuelen, tmp, check_target, NULL, err, sizeof err);
    }
    if (rc == 0 && pos != size)
        abort();
    return 0;
}
