/* mime8to7: the downgrade of an 8-bit MIME message to 7 bits for a next hop without
 * 8BITMIME (RFC 6152 §3, RFC 1652 §3: "convert the message to 7 bit MIME"). Pure: no I/O,
 * no clock, no globals, no allocation (the caller owns the state).
 *
 * What the conversion does (a message is a header block, an empty line, a body; line ends
 * CRLF, a lone LF is taken as one):
 *  - the top-level header must carry MIME-Version (else MIME8TO7_NOT_MIME: the caller
 *    bounces with 5.6.3, a non-MIME 8-bit body cannot be labelled);
 *  - a multipart entity (Content-Type multipart/..., boundary=) is walked part by part, to
 *    MIME8TO7_DEPTH_MAX levels and MIME8TO7_PARTS_MAX entities in all; its preamble and
 *    epilogue are copied and must be 7-bit; a delimiter line may carry at most
 *    MIME8TO7_PAD_MAX blanks after the boundary (transport padding); an outer boundary's
 *    delimiter ends every part nested inside it;
 *  - a message/rfc822 entity whose body holds 8-bit octets is converted as a message of its
 *    own and its Content-Transfer-Encoding becomes 7bit (RFC 2046 §5.2.1);
 *  - any other entity whose body holds an octet >= 0x80 gets "Content-Transfer-Encoding:
 *    quoted-printable" in place of the one it had (7bit, 8bit, binary or none) and its body
 *    encoded (RFC 2045 §6.7: lines of at most 76 characters with soft breaks, "=" and
 *    trailing blanks encoded, CRLF kept as line ends); one already base64 or
 *    quoted-printable but holding 8-bit octets is MIME8TO7_INVALID;
 *  - everything 7-bit is copied byte for byte, so converting a converted message changes
 *    nothing (a message without any 8-bit octet is copied whatever its structure).
 * A header field with an 8-bit octet is MIME8TO7_HEADER (that needs SMTPUTF8, RFC 6532, not
 * a transfer encoding). An entity header over MIME8TO7_HEAD_MAX bytes, nesting deeper than
 * MIME8TO7_DEPTH_MAX or more than MIME8TO7_PARTS_MAX entities is MIME8TO7_LIMIT. The output
 * holds no octet >= 0x80 whenever the verdict is 0.
 *
 * Streaming (peak memory independent of the message size): two passes over the input, each
 * fed in pieces of any size, with one fixed-size struct mime8to7 (about HEAD_MAX bytes).
 *  1. mime8to7_analyse(s, plan) then mime8to7_step() over the whole input (out unused, no
 *     output): mime8to7_verdict(s) is 0 or the MIME8TO7_* reason, and *plan records which
 *     entities (in document order) hold 8-bit octets in their body;
 *  2. mime8to7_emit(s, plan) then mime8to7_step() over the same input: the 7-bit output,
 *     at most cap bytes per call, as the caller's sink drains.
 * mime8to7_step(s, in, len, last, &used, out, cap) consumes up to len input bytes (*used
 * says how many; last: these are the input's final bytes) and writes output to out;
 * returns the output length. With cap >= MIME8TO7_STEP_MIN every call makes progress until
 * mime8to7_done(s); a call with len 0 and last set flushes what is held. The output does
 * not depend on how the input or the output space is split.
 *
 * mime8to7(in, len, out, cap) is both passes over one piece: the output length, or a
 * negative MIME8TO7_* reason; MIME8TO7_SPACE when cap is short (MIME8TO7_OUT_MAX(len) is
 * always enough); input over MIME8TO7_IN_MAX is MIME8TO7_LIMIT (the streaming passes have
 * no such limit).
 *
 * mime8to7_is_8bit(p, n) says whether p holds an octet >= 0x80; mime8to7_copy_8bit() says
 * the same of the bytes it copies, in the copy's own pass (smtpd, pickup and sluice submit
 * note 7-bit content as they store it, MSG_F_7BIT, so smtpc need not scan it again).
 *
 * DKIM: converting changes the signed body, so a signature made before (at ingress) no
 * longer verifies after the downgrade (docs/outbound.md); Postfix has the same limit. */
#ifndef SLUICE_MIME8TO7_H
#define SLUICE_MIME8TO7_H
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define MIME8TO7_IN_MAX (64u * 1024 * 1024)
#define MIME8TO7_DEPTH_MAX 16
#define MIME8TO7_PARTS_MAX 1000
#define MIME8TO7_HEAD_MAX (64u * 1024) /* one entity's header block, its empty line included */
#define MIME8TO7_BOUNDARY_MAX 200      /* RFC 2046 allows 70 */
#define MIME8TO7_PAD_MAX 256           /* blanks after a delimiter's boundary */
#define MIME8TO7_STEP_MIN 32           /* output space a step needs to make progress */
/* The most output len input bytes can need: each byte "=XX" (3), a soft break "=\r\n" per
 * 25 encoded bytes at worst, and the rewritten Content-Transfer-Encoding fields. */
#define MIME8TO7_OUT_MAX(len) ((len) * 3 + (len) / 8 + 64u * (MIME8TO7_PARTS_MAX + 1))

enum {
    MIME8TO7_NOT_MIME = -1, /* no MIME-Version at the top */
    MIME8TO7_HEADER = -2,   /* 8-bit octets in a header field */
    MIME8TO7_INVALID = -3,  /* 8-bit where no encoding can be labelled */
    MIME8TO7_LIMIT = -4,    /* too large, too deep, too many parts */
    MIME8TO7_SPACE = -5,    /* out too small */
};

/* Which entities hold 8-bit octets in their body: bit i for the i-th entity. */
struct mime8to7_plan {
    unsigned char conv[(MIME8TO7_PARTS_MAX + 7) / 8];
};

/* One open entity (private to mime8to7.c). */
struct mime8to7_ent {
    unsigned idx;
    unsigned char phase, kind, mp; /* header/body; leaf, multipart...; preamble/parts/epilogue */
    bool conv, head8, body8, encoded, delim_seen;
    size_t blen;
    char boundary[MIME8TO7_BOUNDARY_MAX + 1];
};

/* The converter's state (private to mime8to7.c; the caller only allocates it). */
struct mime8to7 {
    struct mime8to7_plan *plan;
    bool analyse, verbatim, any8, eof, done, bol, holding;
    int err;
    unsigned depth, parts, qp_col;
    unsigned alive; /* entities whose delimiter the held line may still be */
    char qp_pend[2];
    unsigned qp_npend;
    size_t hold_len, replay, rlen, hlen, hline;
    struct {
        const char *p;
        size_t n;
    } pend[4]; /* output waiting to go out, in order */
    unsigned npend;
    char scratch[16];
    struct mime8to7_ent ent[MIME8TO7_DEPTH_MAX + 1];
    char hold[2 + MIME8TO7_BOUNDARY_MAX + 2 + MIME8TO7_PAD_MAX + 2];
    char head[MIME8TO7_HEAD_MAX + 64];
};

/* Pass 1: reads the input to decide; fills *plan. */
void mime8to7_analyse(struct mime8to7 *s, struct mime8to7_plan *plan);
/* Pass 2: writes the 7-bit form as plan (from pass 1 over the same input) says. */
void mime8to7_emit(struct mime8to7 *s, struct mime8to7_plan *plan);
/* Feeds input, takes output (see above). */
size_t mime8to7_step(struct mime8to7 *s, const char *in, size_t len, bool last, size_t *used,
                     char *out, size_t cap);
/* True once the last input is consumed and every output byte was returned. */
bool mime8to7_done(const struct mime8to7 *s);
/* After pass 1 is done: 0 (convertible) or a negative MIME8TO7_* reason. */
int mime8to7_verdict(const struct mime8to7 *s);

ssize_t mime8to7(const char *in, size_t len, char *out, size_t cap);
/* True when p[0..n) holds an octet >= 0x80. */
int mime8to7_is_8bit(const char *p, size_t n);
/* Copies n bytes from src to dst (not overlapping) and, in the same pass, says whether one
 * of them is >= 0x80 (receivers note 7-bit content as they store it: MSG_F_7BIT). */
bool mime8to7_copy_8bit(char *dst, const char *src, size_t n);
/* Text for a reason ("not MIME", ...). */
const char *mime8to7_error_text(ssize_t why);
#endif
