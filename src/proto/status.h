/* status: RFC 3463 enhanced status codes of delivery outcomes, assigned as Postfix assigns
 * them. Pure: no I/O, no globals, no clock.
 *
 * Every outcome text sluice keeps for a recipient (its last reply in the queue, the log line,
 * the DSN Diagnostic-Code) is one of
 *   a server reply   "NNN[ x.y.z] text"  (reply_to_text() of what the peer said), or
 *   our own reason   "x.y.z text"        (status_code() of its class, a space, the text),
 * so the status of an outcome is read back from its text alone, also after a restart (the
 * queue stores only the text): status_of().
 *
 * Classes of our own failures, with the code for a temporary / permanent outcome:
 *   STATUS_CONNECT   4.4.1 / 5.4.1  connection refused, unreachable, no answer, connect timeout
 *   STATUS_SESSION   4.4.2 / 5.4.2  connection lost, or timed out, once it was up
 *   STATUS_PROTOCOL  4.5.0 / 5.5.0  a reply that is not SMTP, or one nothing asked for
 *   STATUS_DNS       4.4.3 / 5.4.3  DNS lookup failed (SERVFAIL, timeout, DNSSEC bogus)
 *   STATUS_NO_ROUTE  4.4.4 / 5.4.4  no such domain (NXDOMAIN), no MX and no address, no
 *                                   usable address for any host, bad relay address
 *   STATUS_NULL_MX   4.1.10 / 5.1.10 the domain publishes a null MX (RFC 7505 §3; Postfix uses
 *                                   5.1.0; the RFC code is more precise)
 *   STATUS_EXPIRED   4.4.7 / 5.4.7  delivery time expired: 5.4.7 in the bounce when `expiry`
 *                                   passed (a delay notice keeps the last attempt's code)
 *   STATUS_LOCAL     4.3.0 / 5.3.0  our own trouble: queue read error, no socket, shutdown
 *   STATUS_SECURITY  4.7.0 / 5.7.0  security policy: SASL authentication to a relay failed,
 *                                   or it cannot be done (no mechanism, no TLS)
 *   STATUS_TLS_NEEDED 4.7.4 / 5.7.4 TLS is required but the server does not offer it
 *   STATUS_TLS       4.7.5 / 5.7.5  TLS is required but the handshake failed, the server
 *                                   refused STARTTLS, or its certificate did not verify
 * OK is always 2.0.0. */
#ifndef SLUICE_STATUS_H
#define SLUICE_STATUS_H
#include <stddef.h>

#include "proto/reply.h"

#define STATUS_MAX 10 /* "5.123.456" and its NUL */

enum status_class {
    STATUS_CONNECT,
    STATUS_SESSION,
    STATUS_PROTOCOL,
    STATUS_DNS,
    STATUS_NO_ROUTE,
    STATUS_NULL_MX,
    STATUS_EXPIRED,
    STATUS_LOCAL,
    STATUS_SECURITY,
    STATUS_TLS_NEEDED,
    STATUS_TLS,
};

/* The code of class c for outcome o (a static string). */
const char *status_code(enum status_class c, enum outcome o);
/* Length of a valid RFC 3463 code "C.S.D" at the start of s (C one of 2, 4, 5; S and D one
 * to three digits) followed by the end or a space; 0 when there is none. */
size_t status_valid(const char *s);
/* The enhanced status of an outcome text into out (STATUS_MAX bytes), as Postfix reads one:
 * a reply "NNN x.y.z ..." whose x is N's class gives x.y.z; any other reply "NNN ..." gives
 * N.0.0; our reason "x.y.z ..." gives x.y.z; anything else the class of o then ".0.0"
 * (2.0.0, 4.0.0, 5.0.0). Returns out. */
char *status_of(const char *text, enum outcome o, char *out);
#endif
