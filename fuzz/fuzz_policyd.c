/* fuzz_policyd: policyd_reply_parse() on arbitrary bytes (what a policy server answers):
 * a reply is consumed whole or not at all, within POLICYD_REPLY_MAX, with a printable
 * text; policyd_service_parse() and policyd_attr() on the same bytes (an attribute line
 * never carries a control byte). */
#include <stdlib.h>
#include <string.h>

#include "proto/policyd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct policyd_reply r;
    long n = policyd_reply_parse((const char *)data, size, &r);
    if (n > 0) {
        if ((size_t)n > size || n > POLICYD_REPLY_MAX || data[n - 1] != '\n')
            abort();
        for (const char *t = r.text; *t; t++)
            if ((unsigned char)*t < ' ' || (unsigned char)*t >= 0x7f)
                abort();
    }
    struct policyd_service s;
    const char *why;
    if (policyd_service_parse((const char *)data, size, &s, &why) == 0 && s.target[0] == '\0')
        abort();
    char value[600], buf[700];
    size_t o = 0, k = size < sizeof value - 1 ? size : sizeof value - 1;
    memcpy(value, data, k);
    value[k] = '\0';
    if (policyd_attr(buf, sizeof buf, &o, "sender", value) == 0) {
        if (o == 0 || buf[o - 1] != '\n' || memchr(buf, '\n', o - 1) || strlen(buf) != o)
            abort();
    }
    return 0;
}
