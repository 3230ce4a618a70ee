/* fuzz_sasl: proto/sasl on arbitrary bytes as a client would send them. The first byte picks
 * the offered mechanisms; the rest is an AUTH argument and then response lines separated by
 * LF. Checks: no crash or over-read (exact-size copies), results stay in the enum, a DONE
 * exchange holds credentials within the field limits, and a failed one holds none. Also
 * base64 decode -> encode round trips byte for byte (strict decoding accepts one text per
 * byte string), AUTH= parse -> format -> parse is stable, and LOGIN client answers decode. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/sasl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Checks the invariants of a finished exchange. */
static void check_done(const struct sasl_server *s)
{
    const struct sasl_creds *c = &s->creds;
    if (strlen(c->authcid) == 0 || strlen(c->passwd) == 0 ||
        !sasl_identity_valid(c->authcid, strlen(c->authcid)))
        abort();
    if (c->authzid[0] && !sasl_identity_valid(c->authzid, strlen(c->authzid)))
        abort();
}

/* Runs the server exchange over the lines of text. */
static void fuzz_exchange(unsigned offered, const char *text, size_t len)
{
    struct sasl_server s;
    const char *ch = NULL, *end = text + len;
    const char *nl = memchr(text, '\n', len);
    size_t first = nl ? (size_t)(nl - text) : len;
    char *arg = malloc(first ? first : 1);
    memcpy(arg, text, first);
    int r = sasl_server_start(&s, arg, first, offered, &ch);
    free(arg);
    const char *p = nl ? nl + 1 : end;
    while (r == SASL_CONTINUE && p <= end) {
        if (ch == NULL || (s.mech != SASL_MECH_PLAIN && s.mech != SASL_MECH_LOGIN))
            abort();
        const char *q = memchr(p, '\n', (size_t)(end - p));
        size_t n = q ? (size_t)(q - p) : (size_t)(end - p);
        char *line = malloc(n ? n : 1);
        memcpy(line, p, n);
        r = sasl_server_step(&s, line, n, &ch);
        free(line);
        p += n + 1;
    }
    if (r < SASL_ERR_STATE || r > SASL_DONE)
        abort();
    if (r == SASL_DONE)
        check_done(&s);
    if (r < 0 && (s.creds.passwd[0] || s.creds.authcid[0]))
        abort();
    sasl_server_clear(&s);
}

/* Strict base64: what decodes re-encodes to the same text. */
static void fuzz_b64(const char *text, size_t len)
{
    unsigned char *dec = malloc(len / 4 * 3 + 1);
    ssize_t n = sasl_b64_decode(text, len, dec, len / 4 * 3);
    if (n >= 0) {
        char *enc = malloc(len + 1);
        if (sasl_b64_encode(dec, (size_t)n, enc, len + 1) != (ssize_t)len ||
            memcmp(enc, text, len) != 0)
            abort();
        free(enc);
    }
    free(dec);
}

/* AUTH= values and LOGIN answers. */
static void fuzz_params(const char *text, size_t len)
{
    char out[600], enc[1800], back[600];
    ssize_t n = sasl_mail_auth_parse(text, len, out, sizeof out);
    if (n > 0) {
        ssize_t e = sasl_mail_auth_format(out, enc, sizeof enc);
        if (e < 0 || sasl_mail_auth_parse(enc, (size_t)e, back, sizeof back) != n ||
            memcmp(back, out, (size_t)n) != 0)
            abort();
    }
    char ans[512];
    unsigned char plain[512];
    ssize_t a = sasl_login_step(len & 1, text, len, "user", "secret", ans, sizeof ans);
    if (a >= 0) {
        ssize_t d = sasl_b64_decode(ans, (size_t)a, plain, sizeof plain);
        if (d != 4 && d != 6)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0 || size > 3 * SASL_LINE_MAX)
        return 0;
    unsigned offered = data[0] & (SASL_MECH_PLAIN | SASL_MECH_LOGIN | SASL_MECH_EXTERNAL);
    char *text = malloc(size - 1 ? size - 1 : 1);
    memcpy(text, data + 1, size - 1);
    fuzz_exchange(offered, text, size - 1);
    fuzz_b64(text, size - 1);
    fuzz_params(text, size - 1);
    free(text);
    return 0;
}
