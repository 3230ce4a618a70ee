/* fuzz_logpath: logpath_check() and logpath_expand() on arbitrary templates; an accepted
 * template must expand (or report that it does not fit) without overrunning. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/logpath.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One input: check, then expand at a few times for every rotation. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char tpl[LOGPATH_MAX + 1], out[LOGPATH_MAX + 1];
    bool timed;
    if (size > LOGPATH_MAX || memchr(data, 0, size))
        return 0;
    memcpy(tpl, data, size);
    tpl[size] = '\0';
    if (logpath_check(tpl, size, &timed) != 0)
        return 0;
    struct logpath_vars v = {"/var/log/sluice", "mx.example"};
    for (unsigned rot = 0; rot < 4; rot++) {
        ssize_t n = logpath_expand(tpl, INT64_C(1714607999000), rot, &v, out, sizeof out);
        if (n >= 0 && (size_t)n != strlen(out))
            abort();
        char *e = logpath_effective(tpl, rot);
        if (!e)
            abort();
        free(e);
    }
    return 0;
}
