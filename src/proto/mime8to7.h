/* mime8to7: the downgrade of an 8-bit MIME message to 7 bits for a next hop without
 * 8BITMIME (RFC 6152 §3, RFC 1652 §3: "convert the message to 7 bit MIME"). Pure: no I/O,
 * no clock, no globals, no allocation.
 *
 * mime8to7(in, len, out, cap) reads a whole message (header block, empty line, body; line
 * ends CRLF, a lone LF is taken as one) and writes the 7-bit form into out:
 *  - the top-level header must carry MIME-Version (else MIME8TO7_NOT_MIME: the caller
 *    bounces with 5.6.3, a non-MIME 8-bit body cannot be labelled);
 *  - a multipart entity (Content-Type multipart/..., boundary=) is walked part by part, to
 *    MIME8TO7_DEPTH_MAX levels and MIME8TO7_PARTS_MAX parts in all; its preamble and
 *    epilogue are copied and must be 7-bit;
 *  - a message/rfc822 entity whose body holds 8-bit octets is converted as a message of its
 *    own and its Content-Transfer-Encoding becomes 7bit (RFC 2046 §5.2.1);
 *  - any other entity whose body holds an octet >= 0x80 gets "Content-Transfer-Encoding:
 *    quoted-printable" in place of the one it had (7bit, 8bit, binary or none) and its body
 *    encoded (RFC 2045 §6.7: lines of at most 76 characters with soft breaks, "=" and
 *    trailing blanks encoded, CRLF kept as line ends); one already base64 or
 *    quoted-printable but holding 8-bit octets is MIME8TO7_INVALID;
 *  - everything 7-bit is copied byte for byte, so converting a converted message changes
 *    nothing.
 * A header field with an 8-bit octet is MIME8TO7_HEADER (that needs SMTPUTF8, RFC 6532, not
 * a transfer encoding). Input over MIME8TO7_IN_MAX, or deeper / with more parts than the
 * limits, is MIME8TO7_LIMIT. Returns the output length, or a negative MIME8TO7_* reason;
 * MIME8TO7_SPACE when cap is short (MIME8TO7_OUT_MAX(len) is always enough). The output
 * holds no octet >= 0x80 whenever the result is >= 0.
 *
 * DKIM: converting changes the signed body, so a signature made before (at ingress) no
 * longer verifies after the downgrade (docs/outbound.md); Postfix has the same limit. */
#ifndef SLUICE_MIME8TO7_H
#define SLUICE_MIME8TO7_H
#include <stddef.h>
#include <sys/types.h>

#define MIME8TO7_IN_MAX (64u * 1024 * 1024)
#define MIME8TO7_DEPTH_MAX 16
#define MIME8TO7_PARTS_MAX 1000
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

ssize_t mime8to7(const char *in, size_t len, char *out, size_t cap);
/* True when p[0..n) holds an octet >= 0x80. */
int mime8to7_is_8bit(const char *p, size_t n);
/* Text for a reason ("not MIME", ...). */
const char *mime8to7_error_text(ssize_t why);
#endif
