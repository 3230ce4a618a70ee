/* tls: the inbound server's TLS contexts (OpenSSL 3), built from smtpd.tls (docs/tls.md).
 *
 * One SSL_CTX holds every server certificate: cert_file/key_file and, optionally, a second
 * pair ecdsa_cert_file/ecdsa_key_file of the other key type (OpenSSL then serves each
 * client the one its signature algorithms allow); ca_file completes our chain and verifies
 * client certificates; min_protocol (TLS 1.2 or 1.3); resumption by tickets and the
 * session cache for session_timeout (0: none); with ask_cert/require_cert a client
 * certificate is requested and any is accepted at the TLS level: its verification result
 * is read afterwards (tls_info_get) and the SMTP server decides.
 *
 *   tls_server_create()  builds the context; NULL with "smtpd.tls.KEY PATH: why" in err
 *                        when a file cannot be read or does not fit (startup, check-config).
 *   tls_server_reload()  builds a new context from the same files (SIGHUP) and, on success,
 *                        serves it to new connections; connections in progress keep the
 *                        old one (each SSL holds a reference to its context). Ticket keys
 *                        are carried over, so a ticket issued before stays valid. On
 *                        failure -1 with err, and the old context stays.
 *   tls_server_ssl_new() a new SSL for an accepted connection (NULL: out of memory).
 *   tls_server_describe() the certificates served, for logs: "RSA serial 1F..., ECDSA ...".
 *   tls_server_free()    drops the server's reference (live connections keep theirs).
 * The settings struct must outlive the server. */
#ifndef SLUICE_TLS_TLS_H
#define SLUICE_TLS_TLS_H
#include <stddef.h>

#include <openssl/ssl.h>

struct smtpd_tls_conf;
struct tls_server;

struct tls_server *tls_server_create(const struct smtpd_tls_conf *tc, char *err, size_t errlen);
int tls_server_reload(struct tls_server *t, char *err, size_t errlen);
SSL *tls_server_ssl_new(struct tls_server *t);
const char *tls_server_describe(const struct tls_server *t);
void tls_server_free(struct tls_server *t);
#endif
