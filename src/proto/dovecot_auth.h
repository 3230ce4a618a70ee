/* dovecot_auth: the client side of the Dovecot authentication protocol (v1.x), as Postfix's
 * smtpd_sasl_type = dovecot speaks it over Dovecot's auth-client socket. Pure: no I/O, no
 * clock, no globals.
 *
 * Wire format: lines ending in LF, fields separated by TAB, at most DOVECOT_LINE_MAX bytes
 * without the LF and DOVECOT_FIELDS_MAX fields. Values use Dovecot's tab-escaping: \001
 * followed by '0' NUL, '1' \001, 't' TAB, 'r' CR, 'n' LF, any other byte itself; a lone
 * \001 at the end is dropped.
 *
 * Handshake: the client sends dovecot_hello_format() ("VERSION 1 2", "CPID pid"); the
 * server answers VERSION (major must be 1), then SPID, CUID, COOKIE, MECH lines and DONE.
 * dovecot_handshake_line() takes each server line: VERSION must come first, unknown
 * commands are ignored (the protocol says so), the mechanisms sluice knows (PLAIN, LOGIN,
 * EXTERNAL) are collected as enum sasl_mech bits.
 *
 * Requests: dovecot_auth_format() writes "AUTH id mech service=S [lip=] [rip=] [secured]
 * [valid-client-cert] [resp=base64]" (resp last, as the protocol requires);
 * dovecot_cont_format() writes "CONT id base64".
 * Replies: dovecot_reply_parse() reads "OK|CONT|FAIL id [params]". Parameters: user= (a
 * valid identity, at most SASL_FIELD_MAX bytes, else the line is malformed), reason= (kept
 * as printable ASCII, other bytes '?', cut to DOVECOT_REASON_MAX), "temp" or
 * code=temp_fail (temporary), code=authz_fail, and on OK "nologin" or "proxy" which mean
 * the credentials were right but the user must NOT be let in (the protocol requires the
 * client to treat that as a failure). Unknown parameters are ignored. CONT's data must be
 * base64 characters (possibly empty). */
#ifndef SLUICE_DOVECOT_AUTH_H
#define SLUICE_DOVECOT_AUTH_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto/sasl.h"

#define DOVECOT_LINE_MAX 16384
#define DOVECOT_FIELDS_MAX 64
#define DOVECOT_REASON_MAX 200
#define DOVECOT_MAJOR 1
#define DOVECOT_MINOR 2

enum dovecot_kind { DOVECOT_OK, DOVECOT_CONT, DOVECOT_FAIL };

struct dovecot_handshake {
    bool version;   /* the server's VERSION was seen and its major is 1 */
    unsigned minor; /* the server's minor version */
    unsigned mechs; /* enum sasl_mech bits the server offers */
    bool done;      /* DONE seen */
};

enum dovecot_hs_status { DOVECOT_HS_MORE = 0, DOVECOT_HS_DONE = 1, DOVECOT_HS_ERROR = -1 };

struct dovecot_reply {
    enum dovecot_kind kind;
    uint32_t id;
    char user[SASL_FIELD_MAX + 1];        /* user=, "" when absent */
    char reason[DOVECOT_REASON_MAX + 1];  /* reason=, "" when absent */
    bool temp;                            /* FAIL: temporary (temp, code=temp_fail) */
    bool authz;                           /* FAIL: code=authz_fail */
    bool nologin;                         /* OK: nologin or proxy, i.e. no access */
    const char *data;                     /* CONT: base64 data (into the line) */
    size_t datalen;
};

struct dovecot_auth_req {
    uint32_t id;         /* non-zero */
    const char *mech;    /* e.g. "PLAIN" */
    const char *service; /* e.g. "smtp" */
    const char *lip;     /* local IP text, NULL when unknown */
    const char *rip;     /* remote (client) IP text, NULL when unknown */
    bool secured;        /* the client's connection is TLS */
    bool valid_client_cert;
    const char *resp;    /* base64 initial response, NULL for none ("" is an empty one) */
};

/* Client handshake into out. Returns its length or -1 when out is too small. */
ssize_t dovecot_hello_format(unsigned long pid, char *out, size_t cap);
/* Takes one server handshake line (len bytes, no LF). Returns an enum dovecot_hs_status;
 * on error *why is a static description. */
int dovecot_handshake_line(struct dovecot_handshake *h, const char *line, size_t len,
                           const char **why);
/* AUTH request line with its LF into out. Returns the length or -1 when it would exceed
 * DOVECOT_LINE_MAX, out is too small, or mech/service/resp are malformed. */
ssize_t dovecot_auth_format(const struct dovecot_auth_req *r, char *out, size_t cap);
/* CONT line with its LF into out. Returns the length or -1. */
ssize_t dovecot_cont_format(uint32_t id, const char *b64, char *out, size_t cap);
/* Parses one OK/CONT/FAIL line (len bytes, no LF). Returns 0, or -1 when it is another
 * command or malformed. */
int dovecot_reply_parse(const char *line, size_t len, struct dovecot_reply *r);

/* Tab-escapes in (len bytes) into out (cap bytes, NUL-terminated). Returns the length or
 * -1 when out is too small. */
ssize_t dovecot_tab_escape(const char *in, size_t len, char *out, size_t cap);
/* Undoes tab-escaping of in (len bytes) into out (cap bytes, NUL-terminated; the result may
 * hold NULs). Returns the length or -1 when in holds a raw TAB/LF or out is too small. */
ssize_t dovecot_tab_unescape(const char *in, size_t len, char *out, size_t cap);
#endif
