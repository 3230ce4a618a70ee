/* fuzz_xtext: dsn_xtext_decode() on arbitrary bytes (ORCPT/ENVID values from peers); what
 * decodes must encode to xtext that decodes to the same bytes. Also builds a report with the bytes as the
 * diagnostic, address and ORCPT to check the builder keeps lines within RFC 5322. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dsn/dsn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One input: xtext round trip, then a report with hostile fields. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char dec[1024], enc[3 * 1024 + 1], back[1024], text[2048];
    if (size >= sizeof text)
        return 0;
    /* xtext may encode any byte, so only decode(encode(decode(x))) == decode(x) holds */
    ssize_t n = dsn_xtext_decode((const char *)data, size, dec, sizeof dec);
    if (n >= 0) {
        ssize_t e = dsn_xtext_encode(dec, enc, sizeof enc);
        if (e < 0 || dsn_xtext_decode(enc, (size_t)e, back, sizeof back) != n ||
            memcmp(back, dec, (size_t)n) != 0)
            abort();
    }
    memcpy(text, data, size);
    text[size] = '\0';
    struct dsn_rcpt rc = {.addr = text, .orcpt = text, .action = DSN_FAILED, .diag = text,
                          .remote_mta = text, .status = text};
    struct dsn_report r = {.id = "0123456789ABCDEF", .reporting_mta = "mx.example", .to = text,
                           .envid = text, .nrcpt = 1, .rcpts = &rc, .msg = text, .msglen = size,
                           .utf8 = size & 1, .ret = (size & 2) ? DSN_RET_FULL : DSN_RET_HDRS};
    size_t len, col = 0;
    char *out = dsn_build(&r, &len);
    size_t body = (size_t)(strstr(out, "Content-Description: Undelivered") ? strstr(out, "Content-Description: Undelivered") - out : len);
    for (size_t i = 0; i < body; i++) {
        col = out[i] == '\n' ? 0 : col + 1;
        if (col > 998)
            abort();
    }
    free(out);
    return 0;
}
