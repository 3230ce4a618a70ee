/* sasl: SASL over SMTP (RFC 4954) for both sides, PLAIN (RFC 4616) and LOGIN. Pure: no I/O,
 * no clock, no globals; every output buffer is sized by the caller and every input bounded.
 *
 * Limits (hard): an AUTH command line or a client response line is at most SASL_LINE_MAX
 * bytes without its CRLF (RFC 4954 §4 asks servers to accept 12288 octets); longer lines are
 * SASL_ERR_TOOLONG (500 5.5.6). Each PLAIN/LOGIN field (authorization identity,
 * authentication identity, password) is at most SASL_FIELD_MAX bytes (RFC 4616 §2: 255).
 *
 * Base64 (RFC 4648 §4, via OpenSSL's EVP_EncodeBlock/EVP_DecodeBlock) is strict: only the
 * standard alphabet, length a multiple of 4, '=' padding only at the end, no whitespace,
 * and the unused bits of the last quantum zero (canonical); anything else is
 * SASL_ERR_BASE64. The empty string decodes to zero bytes.
 *
 * Server side: sasl_server_start() takes the AUTH argument (the text after "AUTH" and its
 * space): a mechanism name (RFC 4422 sasl-mech, 1-20 of A-Z 0-9 - _, case-insensitive) and
 * an optional initial response, "=" meaning an empty one. It answers SASL_DONE (credentials
 * complete in s->creds), SASL_CONTINUE (send "334 " + *challenge, then feed the client's next
 * line to sasl_server_step()), or an error. A response line "*" cancels (SASL_ERR_CANCEL).
 * PLAIN: "[authzid] NUL authcid NUL passwd" (exactly two NULs; authcid and passwd non-empty).
 * LOGIN: prompts "Username:" then "Password:"; an initial response is the user name (as
 * many clients send it). Identities must be UTF-8 without control characters (they reach
 * logs and backends); passwords may hold any byte but NUL. sasl_server_clear() wipes the
 * password (call it whatever the outcome).
 *
 * Client side: sasl_client_auth() formats "AUTH MECH [initial-response]" ("=" for an empty
 * one); sasl_plain_format() the PLAIN message; sasl_login_step() answers a LOGIN prompt
 * (by its text when it names the user or the password, else by step: user, then password).
 *
 * MAIL AUTH= (RFC 4954 §5): sasl_mail_auth_parse() decodes the xtext value, "<>" giving ""
 * (identity unknown); sasl_mail_auth_format() encodes a mailbox (or "<>" for NULL/"").
 *
 * sasl_reply() gives the RFC 4954 reply line (code, enhanced code, text, no CRLF) for each
 * status, so the SMTP server and its tests agree on one table. */
#ifndef SLUICE_SASL_H
#define SLUICE_SASL_H
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define SASL_LINE_MAX 12288
#define SASL_FIELD_MAX 255
#define SASL_MECH_MAX 20
/* Largest decoded response: a full line of base64. */
#define SASL_DECODED_MAX (SASL_LINE_MAX / 4 * 3)
/* LOGIN's prompts, base64 of "Username:" and "Password:". */
#define SASL_LOGIN_PROMPT_USER "VXNlcm5hbWU6"
#define SASL_LOGIN_PROMPT_PASS "UGFzc3dvcmQ6"

/* Mechanisms, as bits so a caller can say which it offers. */
enum sasl_mech {
    SASL_MECH_NONE = 0,
    SASL_MECH_PLAIN = 1,
    SASL_MECH_LOGIN = 2,
    SASL_MECH_EXTERNAL = 4
};

enum sasl_status {
    SASL_DONE = 1,         /* credentials complete */
    SASL_CONTINUE = 0,     /* send 334 with the challenge, wait for the next line */
    SASL_ERR_SYNTAX = -1,  /* 501 5.5.2 bad AUTH arguments / malformed PLAIN message */
    SASL_ERR_MECH = -2,    /* 504 5.5.4 mechanism unknown or not offered */
    SASL_ERR_BASE64 = -3,  /* 501 5.5.2 response is not valid base64 */
    SASL_ERR_CANCEL = -4,  /* 501 5.0.0 client sent "*" */
    SASL_ERR_TOOLONG = -5, /* 500 5.5.6 line over SASL_LINE_MAX */
    SASL_ERR_FIELD = -6,   /* 501 5.5.2 an identity/password too long or with bad bytes */
    SASL_ERR_STATE = -7,   /* caller bug: step after DONE or before start (503 5.5.1) */
};

struct sasl_creds {
    char authzid[SASL_FIELD_MAX + 1]; /* "" when none */
    char authcid[SASL_FIELD_MAX + 1];
    char passwd[SASL_FIELD_MAX + 1];
};

struct sasl_server {
    enum sasl_mech mech;
    int step; /* 0 before start; mechanism-specific after; -1 when done */
    struct sasl_creds creds;
};

/* Server: starts an exchange from the AUTH argument (len bytes); offered is a mask of
 * enum sasl_mech. On SASL_CONTINUE *challenge is the base64 text to send after "334 ". */
int sasl_server_start(struct sasl_server *s, const char *arg, size_t len, unsigned offered,
                      const char **challenge);
/* Server: feeds one client response line (no CRLF). Same results as sasl_server_start. */
int sasl_server_step(struct sasl_server *s, const char *line, size_t len, const char **challenge);
/* Wipes the credentials (explicit_bzero) and resets s. */
void sasl_server_clear(struct sasl_server *s);

/* Mechanism by name (len bytes, case-insensitive); SASL_MECH_NONE when unknown. */
enum sasl_mech sasl_mech_parse(const char *name, size_t len);
/* Upper-case name of a mechanism ("PLAIN"), "" for none. */
const char *sasl_mech_name(enum sasl_mech m);
/* Decodes one client response line: "*" is SASL_ERR_CANCEL; else strict base64 into out
 * (cap bytes). Returns the decoded length or a negative enum sasl_status. */
ssize_t sasl_response_decode(const char *line, size_t len, unsigned char *out, size_t cap);
/* Parses a PLAIN message (len bytes) into *c. Returns SASL_DONE or SASL_ERR_SYNTAX /
 * SASL_ERR_FIELD. */
int sasl_plain_parse(const unsigned char *msg, size_t len, struct sasl_creds *c);
/* True when s (len bytes) is an acceptable identity: 1..SASL_FIELD_MAX bytes of UTF-8 with
 * no control characters. */
bool sasl_identity_valid(const char *s, size_t len);

/* Strict base64 decode of in (len bytes) into out (cap bytes). Returns the decoded length,
 * or -1 when in is not canonical base64, longer than SASL_LINE_MAX, or does not fit. */
ssize_t sasl_b64_decode(const char *in, size_t len, unsigned char *out, size_t cap);
/* Base64 of in (len bytes) into out (cap bytes, NUL-terminated). Returns the length, or -1
 * when out is too small (it needs 4 * ceil(len / 3) + 1 bytes). */
ssize_t sasl_b64_encode(const unsigned char *in, size_t len, char *out, size_t cap);

/* Client: base64 PLAIN message for authzid (NULL or "" for none), user, pass into out.
 * Returns the length, or -1 when a field is empty/too long or out too small. */
ssize_t sasl_plain_format(const char *authzid, const char *user, const char *pass, char *out,
                          size_t cap);
/* Client: "AUTH MECH" followed by " " and the base64 initial response when ir != NULL
 * ("=" when ir is ""), into out. Returns the length, or -1 when over SASL_LINE_MAX or cap. */
ssize_t sasl_client_auth(enum sasl_mech m, const char *ir, char *out, size_t cap);
/* Client: answers LOGIN prompt number step (0, 1) whose base64 text is challenge (len bytes)
 * with the base64 of user or pass into out. Returns the length, -1 on a bad challenge, a
 * step past the password, or a too small out. */
ssize_t sasl_login_step(unsigned step, const char *challenge, size_t len, const char *user,
                        const char *pass, char *out, size_t cap);

/* MAIL parameter AUTH= value (len bytes): "<>" gives "", else the decoded xtext mailbox
 * (printable ASCII, at most cap - 1 bytes) in out. Returns its length or -1 when invalid. */
ssize_t sasl_mail_auth_parse(const char *value, size_t len, char *out, size_t cap);
/* xtext of mailbox for AUTH= ("<>" for NULL or ""). Returns the length or -1 when the
 * mailbox holds bytes outside printable ASCII or out is too small. */
ssize_t sasl_mail_auth_format(const char *mailbox, char *out, size_t cap);

/* Reply line for a status, e.g. "535 5.7.8 Authentication credentials invalid". The
 * extra names are verification results, not parser outcomes. */
enum sasl_reply {
    SASL_REPLY_OK = 100,       /* 235 2.7.0 */
    SASL_REPLY_INVALID,        /* 535 5.7.8 */
    SASL_REPLY_TEMPFAIL,       /* 454 4.7.0 */
    SASL_REPLY_REQUIRED,       /* 530 5.7.0 */
    SASL_REPLY_ENCRYPTION,     /* 538 5.7.11 */
    SASL_REPLY_ALREADY,        /* 503 5.5.1 already authenticated */
    SASL_REPLY_IN_TRANSACTION, /* 503 5.5.1 AUTH not allowed during a transaction */
};
/* Takes an enum sasl_status (errors) or an enum sasl_reply. */
const char *sasl_reply(int what);
#endif
