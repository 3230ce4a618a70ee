/* fuzz_milter_edit: a milter's end-of-message modifications, as arbitrary bytes, applied to
 * a message (milter/edit.h). The input is split at the first 0xff byte: before it the
 * message text, after it a stream of milter packets (milter_frame, milter_reply_parse); the
 * modification replies among them are applied with a size limit. The result never passes
 * the limit, every recipient stays within ADDR_MAX, and what the ESMTP arguments of
 * SMFIR_CHGFROM / SMFIR_ADDRCPT_PAR set stays within the parser's limits (ENVID, ORCPT,
 * NOTIFY bits). The message's SMTPUTF8 flag is the first byte's low bit. */
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"
#include "proto/addr.h"
#include "proto/esmtp.h"
#include "milter/edit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The modifications of the packet stream p[0..n) (pointers into it). */
static size_t fuzz_mods(const uint8_t *p, size_t n, struct milter_mod *mods, size_t cap)
{
    size_t k = 0;
    struct milter_pkt pkt;
    struct milter_reply r;
    ssize_t used;
    char err[160];
    while (k < cap && (used = milter_frame(p, n, MILTER_PKT_MAX, &pkt)) > 0) {
        if (milter_reply_parse(&pkt, &r, err, sizeof err) == 0)
            mods[k++] = (struct milter_mod){.code = r.code, .index = r.index,
                                            .name = (char *)r.name, .value = (char *)r.value,
                                            .addr = (char *)r.addr, .args = (char *)r.args,
                                            .text = (char *)r.text, .body = (uint8_t *)r.body,
                                            .bodylen = r.bodylen};
        p += used, n -= (size_t)used;
    }
    return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *sep = memchr(data, 0xff, size);
    size_t tlen = sep ? (size_t)(sep - data) : size, max = tlen + 4096;
    struct milter_mod mods[32];
    size_t n = sep ? fuzz_mods(sep + 1, size - tlen - 1, mods, 32) : 0;
    uint32_t flags = size && (data[0] & 1) ? MSG_F_SMTPUTF8 : 0;
    struct qmsg env = {.sender = xstrdup("s@x"), .envid = xstrdup(""), .flags = flags, .nrcpt = 1};
    env.rcpts = xcalloc(1, sizeof *env.rcpts);
    env.rcpts[0] = (struct qrcpt){.addr = xstrdup("r@y"), .last_reply = xstrdup(""), .orcpt = xstrdup("")};
    struct milter_msg m = {.text = xmalloc(tlen + 1), .len = tlen, .env = &env};
    memcpy(m.text, data, tlen);
    char err[200];
    milter_edit_apply(&m, mods, n, max, err, sizeof err);
    if (m.len > max && m.len > tlen)
        abort();
    if (strlen(env.envid) > ESMTP_ENVID_MAX || (env.flags & MSG_F_RET_FULL && env.flags & MSG_F_RET_HDRS))
        abort();
    for (uint32_t i = 0; i < env.nrcpt; i++)
        if (strlen(env.rcpts[i].addr) > ADDR_MAX || strlen(env.rcpts[i].orcpt) > ESMTP_ORCPT_MAX ||
            env.rcpts[i].notify > (NOTIFY_SUCCESS | NOTIFY_FAILURE | NOTIFY_DELAY | NOTIFY_NEVER) ||
            (env.rcpts[i].notify & NOTIFY_NEVER && env.rcpts[i].notify != NOTIFY_NEVER))
            abort();
    free(m.text);
    record_msg_clear(&env);
    return 0;
}
