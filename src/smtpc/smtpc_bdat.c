/* smtpc CHUNKING (RFC 3030): the content of a transaction as one "BDAT n LAST" chunk instead
 * of DATA, to an SMTP next hop that offers CHUNKING (not over LMTP, whose per-recipient
 * replies to the last chunk are not used here). The chunk is the content as stored: no
 * dot-stuffing, a final CRLF added when it lacks one, and n counts exactly what follows.
 * With PIPELINING it goes out in the same group as MAIL and the RCPTs (RFC 3030 §4.2: BDAT
 * may be pipelined), so a message costs one round trip instead of two (no 354 to wait
 * for). Its one reply settles the recipients still open as the end of DATA would; a server
 * that refused every recipient reads the chunk and refuses it, which settles nothing more.
 *
 * smtpc_bdat_use(c)   true when the current peer's session sends BDAT
 * smtpc_bdat_send(c)  writes the BDAT command and the chunk, expects its reply (EXP_BDAT) */
#include <stdbool.h>
#include <stdio.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "audit/transcript.h"
#include "core/log.h"
#include "smtpc/internal.h"

/* True when the current peer's session sends BDAT instead of DATA. */
bool smtpc_bdat_use(const struct smtpc *c)
{
    return c->caps.chunking && !c->peers[c->cur].lmtp;
}

/* True when the last two bytes of body are CRLF. */
static bool smtpc_bdat_ends_crlf(struct evbuffer *body, size_t len)
{
    char tail[2];
    struct evbuffer_ptr end;
    if (len < 2)
        return false;
    evbuffer_ptr_set(body, &end, len - 2, EVBUFFER_PTR_SET);
    evbuffer_copyout_from(body, &end, tail, 2);
    return tail[0] == '\r' && tail[1] == '\n';
}

/* Writes "BDAT n LAST" and the whole content as that one chunk (moved, not copied). */
void smtpc_bdat_send(struct smtpc *c)
{
    if (c->down) { /* converted to 7 bits: the reply is expected once the chunk is out */
        smtpc_send(c, -1, 0, "BDAT %llu LAST", (unsigned long long)smtpc_down_chunk_len(c));
        smtpc_down_start(c, true);
        return;
    }
    struct evbuffer *out = bufferevent_get_output(c->bev), *body = c->t->body;
    size_t len = body ? evbuffer_get_length(body) : 0;
    bool add_crlf = len > 0 && !smtpc_bdat_ends_crlf(body, len);
    smtpc_send(c, EXP_BDAT, 0, "BDAT %zu LAST", len + (add_crlf ? 2 : 0));
    if (len > 0)
        evbuffer_add_buffer(out, body);
    if (add_crlf)
        evbuffer_add(out, "\r\n", 2);
    log_debug("smtpc %s >>> (%zu body bytes)", c->relay, len);
    if (c->tr) {
        char note[64];
        int n = snprintf(note, sizeof note, "(%zu body bytes)", len);
        transcript_line(c->tr, '>', note, (size_t)n);
    }
}
