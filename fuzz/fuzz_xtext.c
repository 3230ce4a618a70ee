/* fuzz_xtext: the xtext codecs on arbitrary bytes (ORCPT/ENVID values from peers).
 * esmtp_xtext_decode(): what decodes must encode to xtext that
 * decodes to the same bytes (xtext may encode any byte, so decode(encode(decode(x))) ==
 * decode(x)), and the canonical encoding is never longer than the input. The RFC 6533 forms
 * (esmtp_uxtext_*, both with and without raw UTF-8): the same round trip, and the 7-bit form
 * is ASCII. The bytes as a stored ORCPT / ENVID: what esmtp_orcpt_encode() and
 * esmtp_envid_encode() produce must parse back (esmtp_*_parse) to the same value. Also builds
 * a report with the bytes as the diagnostic, address and ORCPT to check the builder keeps
 * lines within RFC 5322. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dsn/dsn.h"
#include "proto/cmd.h"
#include "proto/esmtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* esmtp_xtext_*: the same round trip; the canonical form is at most as long as the input. */
static void check_esmtp_xtext(const char *in, size_t size)
{
    char dec[1024], enc[3 * 1024 + 1], back[1024];
    ssize_t n = esmtp_xtext_decode(in, size, dec, sizeof dec);
    if (n < 0)
        return;
    ssize_t e = esmtp_xtext_encode(dec, (size_t)n, enc, sizeof enc);
    if (e < 0 || (size_t)e > size || esmtp_xtext_decode(enc, (size_t)e, back, sizeof back) != n ||
        memcmp(back, dec, (size_t)n) != 0)
        abort();
}

/* esmtp_uxtext_*: decode, then both forms round-trip; the xtext form is printable ASCII. */
static void check_esmtp_uxtext(const char *in, size_t size, bool unitext)
{
    char dec[1024], enc[10 * 1024 + 1], back[1024];
    ssize_t n = esmtp_uxtext_decode(in, size, unitext, dec, sizeof dec);
    if (n < 0)
        return;
    if ((size_t)n > size)
        abort();
    for (int form = 0; form < 2; form++) {
        ssize_t e = esmtp_uxtext_encode(dec, (size_t)n, form, enc, sizeof enc);
        if (e < 0 || esmtp_uxtext_decode(enc, (size_t)e, form, back, sizeof back) != n ||
            memcmp(back, dec, (size_t)n) != 0)
            abort();
        for (ssize_t k = 0; !form && k < e; k++)
            if ((unsigned char)enc[k] < 0x21 || (unsigned char)enc[k] > 0x7e)
                abort();
    }
}

/* text as a stored ORCPT and ENVID: what the encoders produce parses back to text. */
static void check_encoders(const char *text, bool unitext)
{
    char enc[ESMTP_ORCPT_MAX + 1];
    const char *bad;
    struct esmtp_rcpt r;
    struct esmtp_mail m;
    struct cmd_param p = {.name = "ORCPT", .value = enc};
    unsigned allowed = ESMTP_EXT_DSN | (unitext ? ESMTP_EXT_SMTPUTF8 : 0);
    if (esmtp_orcpt_encode(text, unitext, enc, sizeof enc) > 0 &&
        (esmtp_rcpt_parse(&p, 1, allowed, &r, &bad) != ESMTP_OK || strcmp(r.orcpt, text) != 0))
        abort();
    p.name = "ENVID";
    if (esmtp_envid_encode(text, enc, ESMTP_ENVID_MAX + 1) > 0 &&
        (esmtp_mail_parse(&p, 1, allowed, &m, &bad) != ESMTP_OK || strcmp(m.envid, text) != 0))
        abort();
}

/* One input: the codecs, the encoders, then a report with hostile fields. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char text[2048];
    if (size >= sizeof text)
        return 0;
    check_esmtp_xtext((const char *)data, size);
    check_esmtp_uxtext((const char *)data, size, size & 1);
    memcpy(text, data, size);
    text[size] = '\0';
    check_encoders(text, size & 1);
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
