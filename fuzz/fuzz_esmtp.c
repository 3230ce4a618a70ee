/* fuzz_esmtp: the ESMTP parameter parser behind MAIL/RCPT. The first byte picks the verb
 * (bit 0), the offered extensions (bits 1-5) and sloppy syntax (bit 6); the rest is the text
 * after "MAIL FROM:" / "RCPT TO:", parsed by cmd_parse() and then by esmtp_*_parse(). The
 * raw bytes also go through esmtp_xtext_decode() and esmtp_utf8_valid(). Checks the
 * documented limits of the results (printable ENVID, bounded ORCPT, NOTIFY bits). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/cmd.h"
#include "proto/esmtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts unless a parsed MAIL keeps the header's promises. */
static void check_mail(const struct esmtp_mail *m)
{
    size_t n = strnlen(m->envid, sizeof m->envid);
    if (n > ESMTP_ENVID_MAX)
        abort();
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)m->envid[i] < 32 || (unsigned char)m->envid[i] > 126)
            abort();
    if (m->has_by && (m->by_seconds > 999999999 || m->by_seconds < -999999999 ||
                      (m->by_mode != 'R' && m->by_mode != 'N') ||
                      (m->by_mode == 'R' && m->by_seconds <= 0)))
        abort();
}

/* Aborts unless a parsed RCPT keeps the header's promises. */
static void check_rcpt(const struct esmtp_rcpt *r)
{
    if (strnlen(r->orcpt, sizeof r->orcpt) > ESMTP_ORCPT_MAX)
        abort();
    if ((r->notify & NOTIFY_NEVER) && r->notify != NOTIFY_NEVER)
        abort();
    if (r->notify & ~(NOTIFY_SUCCESS | NOTIFY_FAILURE | NOTIFY_DELAY | NOTIFY_NEVER))
        abort();
    if (r->orcpt[0] && !strchr(r->orcpt, ';'))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char line[CMD_LINE_MAX + 64], out[256];
    struct cmd c;
    if (size < 1)
        return 0;
    uint8_t flags = data[0];
    const char *rest = (const char *)data + 1;
    size_t n = size - 1;
    esmtp_utf8_valid(rest, n);
    esmtp_xtext_decode(rest, n, out, sizeof out);
    const char *verb = (flags & 1) ? "RCPT TO:" : "MAIL FROM:";
    size_t vl = strlen(verb);
    if (n > CMD_LINE_MAX)
        n = CMD_LINE_MAX;
    memcpy(line, verb, vl);
    memcpy(line + vl, rest, n);
    struct addr_opts o = {.null_ok = true, .sloppy = (flags & 64) != 0, .utf8 = true};
    if (cmd_parse(line, vl + n, &o, &c) != CMD_OK)
        return 0;
    unsigned allowed = (flags >> 1) & 31;
    const char *bad;
    if (flags & 1) {
        struct esmtp_rcpt r;
        if (esmtp_rcpt_parse(c.params, c.nparams, allowed, &r, &bad) == ESMTP_OK)
            check_rcpt(&r);
        else if (!bad)
            abort();
    } else {
        struct esmtp_mail m;
        if (esmtp_mail_parse(c.params, c.nparams, allowed, &m, &bad) == ESMTP_OK)
            check_mail(&m);
        else if (!bad)
            abort();
    }
    return 0;
}
