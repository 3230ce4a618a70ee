/* tls/client: the OpenSSL 3 client side of outbound SMTP (docs/tls.md "Outbound").
 *
 * Contexts, built once by tls_client_create() from the configuration (before the daemon
 * drops privileges, so a client key readable only by root loads):
 *   - the opportunistic context, for every server reached without a relay ssl block
 *     (anonssl): nothing is required of the peer's certificate; the system CA store is
 *     loaded only so that the log can say whether the peer would have verified;
 *   - one context per relay whose ssl block asks for TLS: its ca_file (else the system
 *     store) and its client certificate (cert_file, key_file) for servers that ask for one
 *     and for SASL EXTERNAL.
 * Every context: TLS 1.2 at least (per connection TLS 1.3 when min_tls says so), no
 * renegotiation, the peer certificate checked after the handshake (SSL_VERIFY_NONE: the
 * caller decides from tls_client_info() what a failed verification means).
 *
 * Sessions: tls_client_ssl() resumes the session last saved for the same context, expected
 * name, least protocol and peer ("name[ip]:port"), when there is one that has not expired;
 * every new session the server grants is saved (SSL_CTX_sess_set_new_cb). The cache holds at
 * most TLS_CLIENT_SCACHE_MAX sessions (the oldest goes first), each for at most
 * TLS_CLIENT_SCACHE_TTL seconds (less when the server's ticket lifetime is shorter), and
 * may be resumed any number of times meanwhile (a fresh copy per connection).
 *
 * Fallback memory: tls_client_fallback_note() remembers for TLS_CLIENT_FALLBACK_TTL seconds
 * that a handshake with a peer failed, so an opportunistic client sends to it in cleartext
 * meanwhile instead of failing a handshake on every connection (at most
 * TLS_CLIENT_FALLBACK_MAX peers, the oldest forgotten first).
 *
 * Errors: tls_client_create() returns NULL with the reason (a CA file or certificate that
 * does not load, a key that does not match); tls_client_ssl() returns NULL only when OpenSSL
 * cannot allocate. Nothing here does I/O on a socket: the caller hands the SSL to a libevent
 * OpenSSL bufferevent, which owns it from then on. */
#ifndef SLUICE_TLS_CLIENT_H
#define SLUICE_TLS_CLIENT_H
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/ssl.h>

struct conf;
struct relay;
struct tls_client;

#define TLS_CLIENT_SCACHE_MAX 1000
#define TLS_CLIENT_SCACHE_TTL 3600
#define TLS_CLIENT_FALLBACK_MAX 10000
#define TLS_CLIENT_FALLBACK_TTL 3600

/* What the peer's certificate proved: none was shown; one was shown but does not chain to
 * a trusted CA or does not name the expected host; both hold. */
enum tls_trust { TLS_TRUST_ANONYMOUS, TLS_TRUST_UNTRUSTED, TLS_TRUST_VERIFIED };

/* The result of a completed handshake. */
struct tls_client_info {
    char version[16]; /* "TLSv1.3" */
    char cipher[64];  /* "TLS_AES_256_GCM_SHA384" */
    int bits;         /* secret bits of the cipher */
    enum tls_trust trust;
    bool resumed;  /* an earlier session was resumed */
    char why[160]; /* why not verified ("" when verified) */
};

/* Builds the contexts for c (which must outlive the result). NULL with err on failure. */
struct tls_client *tls_client_create(const struct conf *c, char *err, size_t errlen);
void tls_client_free(struct tls_client *tc);
/* A new SSL in connect state for one peer: relay r's context when r asks for TLS in its ssl
 * block, else the opportunistic one; TLS 1.min_tls at least; name is the expected host
 * (also sent as SNI; an IP address is checked against the certificate's IP names; "" or
 * NULL: no name); peer is "name[ip]:port". The cached session of the same (context, name,
 * min_tls, peer) is set for resumption. NULL only when OpenSSL fails to allocate. */
SSL *tls_client_ssl(struct tls_client *tc, const struct relay *r, unsigned min_tls,
                    const char *name, const char *peer);
/* Fills *out after the handshake of ssl completed. */
void tls_client_info(SSL *ssl, struct tls_client_info *out);
/* "anonymous", "untrusted", "verified". */
const char *tls_trust_name(enum tls_trust t);
/* Text of an OpenSSL error code (as bufferevent_get_openssl_error() returns) into buf;
 * code 0 gives "connection closed or reset". Returns buf. */
const char *tls_client_error_text(unsigned long code, char *buf, size_t len);
/* Remembers that a handshake with peer failed (now: seconds since the epoch). */
void tls_client_fallback_note(struct tls_client *tc, const char *peer, time_t now);
/* True while a failed handshake with peer is remembered. */
bool tls_client_fallback_active(struct tls_client *tc, const char *peer, time_t now);
/* Number of sessions cached (for tests and statistics). */
size_t tls_client_sessions(const struct tls_client *tc);
#endif
