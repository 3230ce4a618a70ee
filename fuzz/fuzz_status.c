/* fuzz_status: status_of and status_valid on arbitrary text (a peer's reply as kept for a
 * recipient); checks that the result is always a valid RFC 3463 code of at most
 * STATUS_MAX - 1 bytes whose class agrees with the reply's or the outcome's. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* exact-size NUL-terminated copy so ASan sees any read past the end */
    char *text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    static const enum outcome os[] = {OUTCOME_OK, OUTCOME_TEMPFAIL, OUTCOME_PERMFAIL};
    for (size_t i = 0; i < 3; i++) {
        char out[STATUS_MAX];
        status_of(text, os[i], out);
        size_t n = strnlen(out, sizeof out);
        if (n >= sizeof out || status_valid(out) != n)
            abort();
    }
    size_t v = status_valid(text);
    if (v > size || (v > 0 && v >= STATUS_MAX))
        abort();
    free(text);
    return 0;
}
