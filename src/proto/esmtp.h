/* esmtp: parser of the ESMTP parameters of MAIL FROM and RCPT TO (after cmd_parse() split
 * them into name[=value] pairs). Pure: no I/O, no clock, no globals.
 * MAIL: SIZE (RFC 1870), BODY=7BIT|8BITMIME (RFC 6152), SMTPUTF8 (RFC 6531, no value),
 *       RET=FULL|HDRS and ENVID=xtext (RFC 3461), BY=[+-]seconds;R|N[T] (RFC 2852).
 * RCPT: NOTIFY=NEVER|SUCCESS,FAILURE,DELAY and ORCPT=addr-type;xtext (RFC 3461).
 * A parameter whose extension is not in `allowed` (ESMTP_EXT_* bits), an unknown parameter
 * and a repeated parameter are errors; names are case-insensitive. Decoded ENVID and ORCPT
 * are printable ASCII (or printable UTF-8 for an ORCPT of type utf-8), at most
 * ESMTP_ENVID_MAX / ESMTP_ORCPT_MAX bytes. An ORCPT of type utf-8 is RFC 6533
 * utf-8-addr-xtext ("\x{HEX}" escapes), or utf-8-addr-unitext (raw UTF-8 too) when SMTPUTF8
 * is offered; "+XX" escapes are accepted there as well (senders that apply RFC 3461 xtext).
 *
 * Encoders, for passing the values on (the inverse of the parsers): esmtp_envid_encode()
 * and esmtp_orcpt_encode() turn the decoded forms stored with a message back into
 * parameter values that esmtp_*_parse() accepts and decodes to the same bytes; they refuse,
 * with an ESMTP_ENC_* reason (esmtp_enc_error_text()), what the parsers would refuse or what
 * does not fit in cap. The codecs below them work on any bytes:
 * decode(encode(x)) == x for every x (xtext), for every NUL-free UTF-8 x (RFC 6533 forms). */
#ifndef SLUICE_ESMTP_H
#define SLUICE_ESMTP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto/cmd.h"

#define ESMTP_ENVID_MAX 100
#define ESMTP_ORCPT_MAX 500

/* Extensions whose parameters a session accepts. */
enum {
    ESMTP_EXT_SIZE = 1,
    ESMTP_EXT_8BITMIME = 2,
    ESMTP_EXT_SMTPUTF8 = 4,
    ESMTP_EXT_DSN = 8,
    ESMTP_EXT_DELIVERBY = 16,
};

/* DSN NOTIFY (RFC 3461 §4.1) of a recipient, as bits; 0 = not given (the default policy
 * applies). The queue stores these bits as they are (queue/record.h). */
enum { NOTIFY_SUCCESS = 1, NOTIFY_FAILURE = 2, NOTIFY_DELAY = 4, NOTIFY_NEVER = 8 };

enum esmtp_body { ESMTP_BODY_NONE, ESMTP_BODY_7BIT, ESMTP_BODY_8BITMIME };
enum esmtp_ret { ESMTP_RET_NONE, ESMTP_RET_FULL, ESMTP_RET_HDRS };

struct esmtp_mail {
    bool has_size;
    uint64_t size; /* saturates at UINT64_MAX */
    enum esmtp_body body;
    bool smtputf8;
    enum esmtp_ret ret;
    char envid[ESMTP_ENVID_MAX + 1]; /* decoded, "" when absent */
    bool has_by;
    int64_t by_seconds; /* -999999999 .. 999999999 */
    char by_mode;       /* 'R' or 'N' */
    bool by_trace;
};

struct esmtp_rcpt {
    uint8_t notify;                  /* NOTIFY_* bits; 0 when absent */
    char orcpt[ESMTP_ORCPT_MAX + 1]; /* "type;decoded-address", "" when absent */
};

enum esmtp_status {
    ESMTP_OK = 0,
    ESMTP_ERR_UNKNOWN = -1, /* 555 5.5.4: parameter not recognised / not offered */
    ESMTP_ERR_SYNTAX = -2,  /* 501 5.5.4: bad value, missing value, repeated parameter */
};

/* Parses MAIL parameters into *m. Returns ESMTP_OK or an error; *bad then points at the
 * offending parameter's name (it points into the struct cmd). */
int esmtp_mail_parse(const struct cmd_param *p, size_t n, unsigned allowed, struct esmtp_mail *m,
                     const char **bad);
/* Parses RCPT parameters into *r; same contract. */
int esmtp_rcpt_parse(const struct cmd_param *p, size_t n, unsigned allowed, struct esmtp_rcpt *r,
                     const char **bad);
/* Decodes xtext (RFC 3461 §4: "+XX" hex escapes, other chars 33..126 but '+' and '=') of
 * len bytes into out (cap bytes, NUL-terminated). Returns the decoded length, or -1 when the
 * input is not xtext or does not fit. */
ssize_t esmtp_xtext_decode(const char *in, size_t len, char *out, size_t cap);

/* Why an encoder refused (its negative return). */
enum esmtp_enc_status {
    ESMTP_ENC_TOOLONG = -1,  /* the encoded form does not fit in cap */
    ESMTP_ENC_NOTASCII = -2, /* ENVID or non-utf-8 ORCPT not printable US-ASCII (RFC 3461) */
    ESMTP_ENC_NOTUTF8 = -3,  /* not well-formed UTF-8, a NUL, or (ORCPT) a control character */
    ESMTP_ENC_NOTYPE = -4,   /* ORCPT not "addr-type;address" with a non-empty address */
};
/* A short English reason for an ESMTP_ENC_* value. */
const char *esmtp_enc_error_text(ssize_t rc);
/* xtext-encodes len bytes (RFC 3461 §4): bytes outside '!'..'~', '+' and '=' become "+XX"
 * (upper-case hex). Into out (cap bytes, NUL-terminated); returns the length or
 * ESMTP_ENC_TOOLONG. The result is the shortest xtext of the bytes. */
ssize_t esmtp_xtext_encode(const char *in, size_t len, char *out, size_t cap);
/* Encodes len bytes of UTF-8 as RFC 6533 utf-8-addr-xtext (unitext false: ASCII only, every
 * non-ASCII character as "\x{HEX}") or utf-8-addr-unitext (unitext true: non-ASCII stays
 * raw UTF-8). Controls, space, '+', '=', '\' and DEL are always "\x{HEX}" (upper case, at
 * least two digits). Returns the length, ESMTP_ENC_NOTUTF8 (malformed UTF-8 or a NUL) or
 * ESMTP_ENC_TOOLONG. */
ssize_t esmtp_uxtext_encode(const char *in, size_t len, bool unitext, char *out, size_t cap);
/* Decodes an RFC 6533 utf-8-addr-xtext (unitext false) or utf-8-addr-unitext (unitext true:
 * raw UTF-8 sequences allowed) of len bytes: "\x{HEX}" (1 to 6 hex digits, either case,
 * U+0001..U+10FFFF but surrogates) and "+XX" escapes, other chars as QCHAR. Returns the
 * decoded length, or -1 when the input is malformed, the result is not NUL-free UTF-8, or it
 * does not fit in cap. The result is never longer than the input. */
ssize_t esmtp_uxtext_decode(const char *in, size_t len, bool unitext, char *out, size_t cap);
/* ENVID value for MAIL FROM from the decoded ENVID (printable ASCII): its xtext. Returns the
 * length (0 for ""), ESMTP_ENC_NOTASCII or ESMTP_ENC_TOOLONG. */
ssize_t esmtp_envid_encode(const char *envid, char *out, size_t cap);
/* ORCPT value for RCPT TO from the decoded "addr-type;address": the type as it is, then the
 * address as xtext, or for type utf-8 as utf-8-addr-xtext / -unitext (unitext: only when the
 * transaction is an SMTPUTF8 one). Returns the length or an ESMTP_ENC_* reason. */
ssize_t esmtp_orcpt_encode(const char *orcpt, bool unitext, char *out, size_t cap);
/* True when s (len bytes) is well-formed UTF-8 (no overlongs, surrogates or > U+10FFFF). */
bool esmtp_utf8_valid(const char *s, size_t len);
#endif
