/* record: on-disk encoding of queue records. Pure functions, no I/O.
 *
 * Envelope record (key = message id, kept outside the record):
 *   u8 version | i64 arrival | u64 size | u32 nrcpt | str sender | str client_ip | str helo
 *     | u32 flags | i64 deliver_by | str envid
 * Recipient record (key = id + index):
 *   u8 version | u8 state | u32 attempts | i64 next_attempt | str addr | str last_reply
 *     | u8 notify | u8 flags | str orcpt
 * Integers are little-endian, fixed width; str = u32 length + bytes, no NUL.
 *
 * Contracts:
 * - record_*_encode never fails on valid input and always returns the size it needs; it writes
 *   only when cap is large enough. A NULL string encodes as "". Input that the decoder would
 *   refuse (a string longer than RECORD_STR_MAX, more than RECORD_RCPT_MAX recipients, a state
 *   above RCPT_FAILED) encodes to nothing and returns 0, which no valid record has.
 * - record_*_decode accepts exactly what the encoder produces: a bad version, a truncated or
 *   oversized field, a NUL inside a string, an unknown state or trailing bytes give -1 with
 *   nothing left allocated. So decode followed by encode gives back the same bytes.
 */
#include "queue/record.h"

#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

#define RECORD_MSG_FIXED (1 + 8 + 8 + 4)
#define RECORD_RCPT_FIXED (1 + 1 + 4 + 8)

/* Output cursor: counts every byte, stores only while the buffer has room. */
struct record_out {
    uint8_t *buf;
    size_t cap;
    size_t len;
};

/* Input cursor over untrusted bytes; `bad` latches the first failure. */
struct record_in {
    const uint8_t *buf;
    size_t len;
    size_t pos;
    int bad;
};

/* Appends n bytes (stored only when the whole record fits, checked by the caller). */
static void record_put_bytes(struct record_out *o, const void *p, size_t n)
{
    if (o->buf && o->len + n <= o->cap && n > 0)
        memcpy(o->buf + o->len, p, n);
    o->len += n;
}

/* Appends an unsigned integer of `width` bytes, little-endian. */
static void record_put_uint(struct record_out *o, uint64_t v, unsigned width)
{
    uint8_t b[8];
    for (unsigned i = 0; i < width; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    record_put_bytes(o, b, width);
}

/* Appends a length-prefixed string (NULL counts as ""). */
static void record_put_str(struct record_out *o, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    record_put_uint(o, (uint64_t)n, 4);
    record_put_bytes(o, s, n);
}

/* Length of s for the limit checks (NULL counts as ""). */
static size_t record_strlen(const char *s)
{
    return s ? strlen(s) : 0;
}

/* Reads an unsigned little-endian integer of `width` bytes; 0 and bad set when truncated. */
static uint64_t record_get_uint(struct record_in *in, unsigned width)
{
    if (in->bad || in->len - in->pos < width) {
        in->bad = 1;
        return 0;
    }
    uint64_t v = 0;
    for (unsigned i = 0; i < width; i++)
        v |= (uint64_t)in->buf[in->pos + i] << (8 * i);
    in->pos += width;
    return v;
}

/* Reads a length-prefixed string into a fresh NUL-terminated copy; NULL and bad on damage. */
static char *record_get_str(struct record_in *in)
{
    uint64_t n = record_get_uint(in, 4);
    if (in->bad || n > RECORD_STR_MAX || in->len - in->pos < n) {
        in->bad = 1;
        return NULL;
    }
    const uint8_t *p = in->buf + in->pos;
    if (n > 0 && memchr(p, 0, (size_t)n) != NULL) {
        in->bad = 1;
        return NULL;
    }
    in->pos += (size_t)n;
    return xstrndup((const char *)p, (size_t)n);
}

/* Encodes an envelope (recipients' states are separate records). */
size_t record_msg_encode(const struct qmsg *m, uint8_t *buf, size_t cap)
{
    if (m->nrcpt > RECORD_RCPT_MAX || record_strlen(m->sender) > RECORD_STR_MAX ||
        record_strlen(m->client_ip) > RECORD_STR_MAX || record_strlen(m->helo) > RECORD_STR_MAX ||
        record_strlen(m->envid) > RECORD_STR_MAX)
        return 0;
    size_t need = RECORD_MSG_FIXED + 12 + 12 + 4 + record_strlen(m->sender) +
                  record_strlen(m->client_ip) + record_strlen(m->helo) + record_strlen(m->envid);
    struct record_out o = {need <= cap ? buf : NULL, cap, 0};
    record_put_uint(&o, RECORD_VERSION, 1);
    record_put_uint(&o, (uint64_t)m->arrival, 8);
    record_put_uint(&o, m->size, 8);
    record_put_uint(&o, m->nrcpt, 4);
    record_put_str(&o, m->sender);
    record_put_str(&o, m->client_ip);
    record_put_str(&o, m->helo);
    record_put_uint(&o, m->flags, 4);
    record_put_uint(&o, (uint64_t)m->deliver_by, 8);
    record_put_str(&o, m->envid);
    return o.len;
}

/* Decodes an envelope into *m (id and rcpts untouched/NULL); -1 on any damage. */
int record_msg_decode(const uint8_t *buf, size_t len, struct qmsg *m)
{
    struct record_in in = {buf, len, 0, 0};
    struct qmsg t;
    memset(&t, 0, sizeof t);
    if (record_get_uint(&in, 1) != RECORD_VERSION)
        return -1;
    t.arrival = (int64_t)record_get_uint(&in, 8);
    t.size = record_get_uint(&in, 8);
    uint64_t nrcpt = record_get_uint(&in, 4);
    t.sender = record_get_str(&in);
    t.client_ip = record_get_str(&in);
    t.helo = record_get_str(&in);
    t.flags = (uint32_t)record_get_uint(&in, 4);
    t.deliver_by = (int64_t)record_get_uint(&in, 8);
    t.envid = record_get_str(&in);
    if (in.bad || nrcpt > RECORD_RCPT_MAX || in.pos != len) {
        record_msg_clear(&t);
        return -1;
    }
    t.nrcpt = (uint32_t)nrcpt;
    t.id = m->id;
    *m = t;
    return 0;
}

/* Encodes one recipient's state. */
size_t record_rcpt_encode(const struct qrcpt *r, uint8_t *buf, size_t cap)
{
    if (r->state > RCPT_FAILED || record_strlen(r->addr) > RECORD_STR_MAX ||
        record_strlen(r->last_reply) > RECORD_STR_MAX || record_strlen(r->orcpt) > RECORD_STR_MAX)
        return 0;
    size_t need = RECORD_RCPT_FIXED + 8 + 2 + 4 + record_strlen(r->addr) +
                  record_strlen(r->last_reply) + record_strlen(r->orcpt);
    struct record_out o = {need <= cap ? buf : NULL, cap, 0};
    record_put_uint(&o, RECORD_VERSION, 1);
    record_put_uint(&o, r->state, 1);
    record_put_uint(&o, r->attempts, 4);
    record_put_uint(&o, (uint64_t)r->next_attempt, 8);
    record_put_str(&o, r->addr);
    record_put_str(&o, r->last_reply);
    record_put_uint(&o, r->notify, 1);
    record_put_uint(&o, r->flags, 1);
    record_put_str(&o, r->orcpt);
    return o.len;
}

/* Decodes one recipient's state into *r; -1 on any damage. */
int record_rcpt_decode(const uint8_t *buf, size_t len, struct qrcpt *r)
{
    struct record_in in = {buf, len, 0, 0};
    struct qrcpt t;
    memset(&t, 0, sizeof t);
    if (record_get_uint(&in, 1) != RECORD_VERSION)
        return -1;
    uint64_t state = record_get_uint(&in, 1);
    t.attempts = (uint32_t)record_get_uint(&in, 4);
    t.next_attempt = (int64_t)record_get_uint(&in, 8);
    t.addr = record_get_str(&in);
    t.last_reply = record_get_str(&in);
    t.notify = (uint8_t)record_get_uint(&in, 1);
    t.flags = (uint8_t)record_get_uint(&in, 1);
    t.orcpt = record_get_str(&in);
    if (in.bad || state > RCPT_FAILED || in.pos != len) {
        record_rcpt_clear(&t);
        return -1;
    }
    t.state = (uint8_t)state;
    *r = t;
    return 0;
}

/* Frees a recipient's strings and leaves it empty. */
void record_rcpt_clear(struct qrcpt *r)
{
    free(r->addr);
    free(r->last_reply);
    free(r->orcpt);
    r->addr = NULL;
    r->last_reply = NULL;
    r->orcpt = NULL;
}

/* Frees an envelope's strings and recipients and leaves it empty (id kept). */
void record_msg_clear(struct qmsg *m)
{
    free(m->sender);
    free(m->client_ip);
    free(m->helo);
    free(m->envid);
    m->sender = m->client_ip = m->helo = m->envid = NULL;
    if (m->rcpts) {
        for (uint32_t i = 0; i < m->nrcpt; i++)
            record_rcpt_clear(&m->rcpts[i]);
        free(m->rcpts);
    }
    m->rcpts = NULL;
    m->nrcpt = 0;
}

/* Names a recipient state for logs and mailq. */
const char *record_state_to_text(uint8_t state)
{
    switch (state) {
    case RCPT_PENDING:
        return "pending";
    case RCPT_DEFERRED:
        return "deferred";
    case RCPT_DELIVERED:
        return "delivered";
    case RCPT_FAILED:
        return "failed";
    default:
        return "unknown";
    }
}
