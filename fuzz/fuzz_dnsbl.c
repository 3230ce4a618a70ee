/* fuzz_dnsbl: dnsbl_parse() and helopat_parse() on arbitrary bytes (configuration entries),
 * dnsbl_query_domain() on them as a name (a HELO or sender domain):
 * an accepted list has a zone and sane ranges and its query names fit; answers outside
 * 127/8 are never "listed". */
#include <stdlib.h>
#include <string.h>

#include "proto/dnsbl.h"
#include "proto/helopat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct dnsbl_list l;
    struct helopat h;
    const char *why;
    if (dnsbl_parse((const char *)data, size, &l, &why) == 0) {
        char q[300];
        uint8_t a6[16] = {0x20, 0x01, 0x0d, 0xb8}, a4[4] = {192, 0, 2, 1};
        if (l.zone[0] == '\0' || l.weight < -1000 || l.weight > 1000)
            abort();
        for (int k = 0; k < 4; k++)
            for (unsigned r = 0; r < l.oct[k].n; r++)
                if (l.oct[k].lo[r] > l.oct[k].hi[r])
                    abort();
        dnsbl_query_name(&l, 4, a4, q, sizeof q);
        dnsbl_query_name(&l, 6, a6, q, sizeof q);
        if (dnsbl_query_domain(&l, (const char *)data, size, q, sizeof q) == 0 &&
            strlen(q) >= sizeof q)
            abort();
        uint8_t ans[4] = {size > 0 ? data[0] : 10, 0, 0, 2};
        if (ans[0] != 127 && dnsbl_match(&l, ans) == DNSBL_LISTED)
            abort();
    }
    if (helopat_parse((const char *)data, size, &h, &why) == 0 &&
        (h.glob[0] == '\0' || h.maxload > 999 || (h.refuse && h.text[0] == '\0')))
        abort();
    return 0;
}
