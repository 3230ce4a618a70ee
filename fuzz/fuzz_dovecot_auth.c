/* fuzz_dovecot_auth: proto/dovecot_auth on arbitrary bytes as a (broken or hostile) auth
 * server would send them: the input is split on LF and every line goes through the
 * handshake and the reply parser (exact-size copies so ASan sees over-reads). Checks: the
 * handshake never reports DONE twice nor mechanisms it does not know; a parsed reply has a
 * non-zero id, a valid user, a printable reason within its limit and CONT data inside the
 * line; tab-escaping round trips every line byte for byte. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/dovecot_auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Checks one parsed reply. */
static void check_reply(const struct dovecot_reply *r, const char *line, size_t len)
{
    if (r->id == 0 || (r->user[0] && !sasl_identity_valid(r->user, strlen(r->user))))
        abort();
    size_t rl = strlen(r->reason);
    if (rl > DOVECOT_REASON_MAX)
        abort();
    for (size_t i = 0; i < rl; i++)
        if ((unsigned char)r->reason[i] < 0x20 || (unsigned char)r->reason[i] >= 0x7f)
            abort();
    if (r->kind == DOVECOT_CONT && (r->data < line || r->data + r->datalen > line + len))
        abort();
}

/* Escape then unescape gives the line back. */
static void check_escape(const char *line, size_t len)
{
    char *esc = malloc(2 * len + 1), *back = malloc(len + 1);
    ssize_t n = dovecot_tab_escape(line, len, esc, 2 * len + 1);
    if (n < 0 || memchr(esc, '\t', (size_t)n) || memchr(esc, '\n', (size_t)n) ||
        dovecot_tab_unescape(esc, (size_t)n, back, len + 1) != (ssize_t)len ||
        memcmp(back, line, len) != 0)
        abort();
    free(esc);
    free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct dovecot_handshake h = {0};
    const char *p = (const char *)data, *end = p + size;
    int dones = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        char *line = malloc(n ? n : 1);
        memcpy(line, p, n);
        const char *why;
        int hs = dovecot_handshake_line(&h, line, n, &why);
        dones += hs == DOVECOT_HS_DONE;
        if (dones > 1 || (h.mechs & ~(unsigned)(SASL_MECH_PLAIN | SASL_MECH_LOGIN |
                                                SASL_MECH_EXTERNAL)) || why == NULL)
            abort();
        struct dovecot_reply r;
        if (dovecot_reply_parse(line, n, &r) == 0)
            check_reply(&r, line, n);
        check_escape(line, n);
        free(line);
        p += n + 1;
    }
    return 0;
}
