/* fuzz_milter: what a milter sends, as arbitrary bytes: milter_frame() splits the stream
 * into packets (never past the input, never over the size limit) and milter_reply_parse()
 * reads each (every string it returns lies inside the packet and is NUL-terminated there;
 * a reply code is 4NN/5NN); an option negotiation is then checked by milter_negotiate(),
 * whose result never holds more than was offered. The first byte picks the size limit.
 * The same bytes as a smtpd.milters entry go through milter_target_parse(). */
#include <stdlib.h>
#include <string.h>

#include "proto/milter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* abort() unless s is a string inside the packet. */
static void fuzz_inside(const struct milter_pkt *p, const char *s)
{
    if (!s)
        return;
    const uint8_t *u = (const uint8_t *)s;
    if (u < p->data || u >= p->data + p->len || !memchr(u, 0, (size_t)(p->data + p->len - u)))
        abort();
}

/* Checks one parsed reply. */
static void fuzz_check(const struct milter_pkt *p, const struct milter_reply *r)
{
    fuzz_inside(p, r->name);
    fuzz_inside(p, r->value);
    fuzz_inside(p, r->addr);
    fuzz_inside(p, r->args);
    fuzz_inside(p, r->text);
    for (int i = 0; i < MILTER_STAGES; i++)
        fuzz_inside(p, r->opts.symlist[i]);
    if (r->code == SMFIR_REPLYCODE && (r->smtp_code < 400 || r->smtp_code > 599))
        abort();
    if (r->code == SMFIR_OPTNEG) {
        struct milter_opts offer = {6, 0x1ff, 0x1fffff, {0}}, out;
        if (milter_negotiate(&offer, &r->opts, &out, NULL, 0) == 0 &&
            ((out.actions & ~offer.actions) || (out.protocol & ~offer.protocol) ||
             out.version > 6 || out.version < 2))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    char text[256];
    size_t k = size < sizeof text - 1 ? size : sizeof text - 1;
    memcpy(text, data, k);
    text[k] = '\0';
    struct milter_target t;
    if (milter_target_parse(text, &t, NULL, 0) == 0 &&
        (t.unix_socket ? t.path[0] != '/' : (t.port == 0 || !t.host[0])))
        abort();
    size_t max = data[0] & 1 ? MILTER_PKT_MAX : milter_pkt_max(SMFIP_MDS_1M);
    data++, size--;
    while (size > 0) {
        struct milter_pkt p;
        ssize_t n = milter_frame(data, size, max, &p);
        if (n <= 0)
            break;
        if ((size_t)n > size || p.len + 5 != (size_t)n || p.len + 1 > max)
            abort();
        struct milter_reply r;
        if (milter_reply_parse(&p, &r, NULL, 0) == 0)
            fuzz_check(&p, &r);
        data += n, size -= (size_t)n;
    }
    return 0;
}
