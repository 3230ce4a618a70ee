/* fuzz_record: feeds arbitrary bytes to both record decoders (RECORD_VERSION 2). A record
 * that decodes must re-encode to exactly the same bytes and decode again to the same fields,
 * the DSN/DELIVERBY ones included; failures must leave nothing allocated and the output
 * untouched (LeakSanitizer and the sentinel checks). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "queue/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts when a and b differ (NULL never comes out of a successful decode). */
static void fuzz_same_str(const char *a, const char *b)
{
    if (a == NULL || b == NULL || strcmp(a, b) != 0)
        abort();
}

/* Envelope: decode, re-encode byte for byte, decode again and compare. */
static void fuzz_msg(const uint8_t *data, size_t size)
{
    struct qmsg m = {.id = 42, .flags = 0xDEAD}, m2 = {0};
    if (record_msg_decode(data, size, &m) < 0) {
        if (m.id != 42 || m.flags != 0xDEAD || m.sender || m.envid)
            abort();
        return;
    }
    if (m.id != 42 || m.rcpts != NULL || m.nrcpt > RECORD_RCPT_MAX)
        abort();
    size_t n = record_msg_encode(&m, NULL, 0);
    uint8_t *buf = malloc(n ? n : 1);
    if (n != size || record_msg_encode(&m, buf, n) != n || memcmp(buf, data, n) != 0)
        abort();
    if (record_msg_decode(buf, n, &m2) < 0)
        abort();
    if (m.arrival != m2.arrival || m.size != m2.size || m.nrcpt != m2.nrcpt ||
        m.flags != m2.flags || m.deliver_by != m2.deliver_by || m2.rcpts != NULL)
        abort();
    fuzz_same_str(m.sender, m2.sender);
    fuzz_same_str(m.client_ip, m2.client_ip);
    fuzz_same_str(m.helo, m2.helo);
    fuzz_same_str(m.envid, m2.envid);
    record_msg_clear(&m);
    record_msg_clear(&m2);
    free(buf);
}

/* Recipient: same checks. */
static void fuzz_rcpt(const uint8_t *data, size_t size)
{
    struct qrcpt r = {.notify = 0xA5, .flags = 0x5A}, r2 = {0};
    if (record_rcpt_decode(data, size, &r) < 0) {
        if (r.notify != 0xA5 || r.flags != 0x5A || r.addr || r.orcpt)
            abort();
        return;
    }
    if (r.state > RCPT_FAILED)
        abort();
    size_t n = record_rcpt_encode(&r, NULL, 0);
    uint8_t *buf = malloc(n ? n : 1);
    if (n != size || record_rcpt_encode(&r, buf, n) != n || memcmp(buf, data, n) != 0)
        abort();
    if (record_rcpt_decode(buf, n, &r2) < 0)
        abort();
    if (r.state != r2.state || r.attempts != r2.attempts || r.next_attempt != r2.next_attempt ||
        r.notify != r2.notify || r.flags != r2.flags)
        abort();
    fuzz_same_str(r.addr, r2.addr);
    fuzz_same_str(r.last_reply, r2.last_reply);
    fuzz_same_str(r.orcpt, r2.orcpt);
    record_rcpt_clear(&r);
    record_rcpt_clear(&r2);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_msg(data, size);
    fuzz_rcpt(data, size);
    return 0;
}
