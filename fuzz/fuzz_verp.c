/* fuzz_verp: verp_decode() on arbitrary bytes (first byte pair = delimiters); whatever
 * decodes must encode back to the same address. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dsn/verp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One input: decode, then round-trip what decoded. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char delims[3] = "+=", rcpt[VERP_ADDR_MAX + 1], sender[VERP_ADDR_MAX + 1], back[VERP_ADDR_MAX + 1];
    if (size >= 2 && data[0] && data[1] && data[0] != data[1]) {
        delims[0] = (char)data[0];
        delims[1] = (char)data[1];
        data += 2;
        size -= 2;
    }
    if (verp_decode((const char *)data, size, delims, rcpt, sender, sizeof rcpt) != 0)
        return 0;
    if (verp_encode(sender, rcpt, delims, back, sizeof back) == 0 &&
        (strlen(back) != size || memcmp(back, data, size) != 0))
        abort();
    return 0;
}
