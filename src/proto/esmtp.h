/* esmtp: parser of the ESMTP parameters of MAIL FROM and RCPT TO (after cmd_parse() split
 * them into name[=value] pairs). Pure: no I/O, no clock, no globals.
 * MAIL: SIZE (RFC 1870), BODY=7BIT|8BITMIME (RFC 6152), SMTPUTF8 (RFC 6531, no value),
 *       RET=FULL|HDRS and ENVID=xtext (RFC 3461), BY=[+-]seconds;R|N[T] (RFC 2852).
 * RCPT: NOTIFY=NEVER|SUCCESS,FAILURE,DELAY and ORCPT=addr-type;xtext (RFC 3461).
 * A parameter whose extension is not in `allowed` (ESMTP_EXT_* bits), an unknown parameter
 * and a repeated parameter are errors; names are case-insensitive. Decoded ENVID and ORCPT
 * are printable ASCII (or UTF-8 for an ORCPT of type utf-8), at most ESMTP_ENVID_MAX /
 * ESMTP_ORCPT_MAX bytes. esmtp_xtext_decode() is exposed for the fuzz harness and tools. */
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
/* True when s (len bytes) is well-formed UTF-8 (no overlongs, surrogates or > U+10FFFF). */
bool esmtp_utf8_valid(const char *s, size_t len);
#endif
