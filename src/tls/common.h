/* common: TLS helpers shared by the server (tls.c) and client sides of src/tls/.
 *   tls_info_get()   what a finished handshake agreed on: protocol version, cipher and its
 *                    strength, resumption, the peer's certificate (subject, issuer) and its
 *                    verification result; every text sanitized (log_sanitize) and bounded.
 *   tls_errors()     OpenSSL's error queue as one line (and the queue emptied).
 *   tls_version_name() "TLSv1.2" for a wire version, "unknown" for others.
 * No I/O of their own; callers pass a live SSL. */
#ifndef SLUICE_TLS_COMMON_H
#define SLUICE_TLS_COMMON_H
#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

enum { TLS_NAME_MAX = 256 };

/* The state of one TLS connection once its handshake is over. */
struct tls_info {
    bool active;          /* a handshake finished */
    char version[16];     /* "TLSv1.3" */
    char cipher[64];      /* OpenSSL's name, "TLS_AES_256_GCM_SHA384" */
    int bits, alg_bits;   /* secret bits used / of the algorithm */
    bool resumed;         /* an earlier session was resumed (ticket or cache) */
    bool peer_cert;       /* the peer presented a certificate */
    bool verified;        /* ... and it verified (X509_V_OK) */
    long verify_result;   /* X509_V_* of the peer's certificate */
    char verify_text[96]; /* X509_verify_cert_error_string() of it */
    char subject[TLS_NAME_MAX]; /* RFC 2253 subject of the peer's certificate, or "" */
    char issuer[TLS_NAME_MAX];  /* ... and its issuer */
    char subject_cn[TLS_NAME_MAX]; /* the subject's commonName, or "" */
    char issuer_cn[TLS_NAME_MAX];
};

/* Fills out from ssl after its handshake. */
void tls_info_get(SSL *ssl, struct tls_info *out);
/* OpenSSL's queued errors as "reason; reason" in buf (the queue is emptied); "unknown error"
 * when the queue is empty. Returns buf. */
const char *tls_errors(char *buf, size_t len);
/* The name of a TLS wire version (TLS1_2_VERSION...): "TLSv1.2", or "unknown". */
const char *tls_version_name(int version);
#endif
