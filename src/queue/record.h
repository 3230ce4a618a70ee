/* record: the on-disk encoding of queue records (message envelope, recipient state). Pure;
 * the decoder treats its input as untrusted (a damaged spool must not crash the daemon).
 * Layout: version byte, then fields; integers little-endian fixed width; strings as
 * u32 length + bytes (no NUL). Strings are limited to RECORD_STR_MAX bytes; a message has
 * at most RECORD_RCPT_MAX recipients. */
#ifndef SLUICE_RECORD_H
#define SLUICE_RECORD_H
#include <stddef.h>
#include <stdint.h>

#define RECORD_VERSION 1
#define RECORD_STR_MAX 65536
#define RECORD_RCPT_MAX 100000

enum rcpt_state { RCPT_PENDING = 0, RCPT_DEFERRED = 1, RCPT_DELIVERED = 2, RCPT_FAILED = 3 };

struct qrcpt {
    char *addr;          /* "local@domain", malloc'ed */
    uint8_t state;       /* enum rcpt_state */
    uint32_t attempts;
    int64_t next_attempt; /* wall ms; 0 = as soon as possible */
    char *last_reply;     /* malloc'ed, "" when none */
};

struct qmsg {
    uint64_t id;
    int64_t arrival;  /* wall ms */
    char *sender;     /* "" = null sender */
    char *client_ip;  /* "127.0.0.1", or "" for local submission */
    char *helo;       /* client's HELO/EHLO argument, or "" */
    uint64_t size;    /* content bytes */
    uint32_t nrcpt;
    struct qrcpt *rcpts;
};

/* Envelope (without recipients' states: those are separate records). Encodes into buf when
 * cap is large enough; always returns the size needed. NULL strings encode as "". Returns 0
 * (writes nothing) when m breaks a limit the decoder enforces (a string over RECORD_STR_MAX,
 * nrcpt over RECORD_RCPT_MAX); a valid record is never empty. */
size_t record_msg_encode(const struct qmsg *m, uint8_t *buf, size_t cap);
/* Decodes an envelope; on success fills id-less fields of *m (strings malloc'ed, nrcpt set,
 * rcpts NULL) and returns 0; -1 on any damage (nothing left allocated). */
int record_msg_decode(const uint8_t *buf, size_t len, struct qmsg *m);
/* Same contract as record_msg_encode (0 also for a state above RCPT_FAILED). */
size_t record_rcpt_encode(const struct qrcpt *r, uint8_t *buf, size_t cap);
/* Decodes a recipient record into *r (strings malloc'ed); 0, or -1 on any damage (nothing
 * left allocated). Decoding then encoding gives back the same bytes. */
int record_rcpt_decode(const uint8_t *buf, size_t len, struct qrcpt *r);
/* Frees the strings and recipients of m (not m itself). */
void record_msg_clear(struct qmsg *m);
void record_rcpt_clear(struct qrcpt *r);
const char *record_state_to_text(uint8_t state);
#endif
