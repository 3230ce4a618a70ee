/* common: TLS helpers shared by both sides of src/tls/ (contract in common.h).
 * Every text taken from a certificate is the peer's and goes through log_sanitize(), so it
 * fits in one log line or header comment whatever bytes the certificate holds. */
#include "tls/common.h"

#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "core/log.h"

/* The name of a wire version. */
const char *tls_version_name(int version)
{
    switch (version) {
    case TLS1_VERSION: return "TLSv1";
    case TLS1_1_VERSION: return "TLSv1.1";
    case TLS1_2_VERSION: return "TLSv1.2";
    case TLS1_3_VERSION: return "TLSv1.3";
    default: return "unknown";
    }
}

/* OpenSSL's error queue as one sanitized line; the queue is emptied. */
const char *tls_errors(char *buf, size_t len)
{
    size_t o = 0;
    unsigned long e;
    buf[0] = '\0';
    /* the reason strings (loaded by the first SSL_CTX_new(), maybe not made yet) */
    OPENSSL_init_ssl(OPENSSL_INIT_LOAD_SSL_STRINGS | OPENSSL_INIT_LOAD_CRYPTO_STRINGS, NULL);
    while ((e = ERR_get_error()) != 0) {
        char one[256], clean[LOG_SANITIZED_SIZE(64)];
        const char *r = ERR_reason_error_string(e);
        if (r)
            snprintf(one, sizeof one, "%s", r);
        else
            ERR_error_string_n(e, one, sizeof one);
        log_sanitize(clean, sizeof clean, one, strnlen(one, 64));
        if (o + 1 < len) {
            int n = snprintf(buf + o, len - o, "%s%s", o ? "; " : "", clean);
            o = n < 0 ? o : o + (size_t)n < len ? o + (size_t)n : len - 1;
        }
    }
    if (o == 0)
        snprintf(buf, len, "unknown error");
    return buf;
}

/* The RFC 2253 form of name, sanitized into buf ("" on failure). */
static void tls_name_text(const X509_NAME *name, char *buf, size_t len)
{
    buf[0] = '\0';
    BIO *b = BIO_new(BIO_s_mem());
    if (!b)
        return;
    if (X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253) >= 0) {
        char *p = NULL;
        long n = BIO_get_mem_data(b, &p);
        if (n > 0 && p)
            log_sanitize(buf, len, p, (size_t)n < len ? (size_t)n : len);
    }
    BIO_free(b);
}

/* The first commonName of name as UTF-8, sanitized into buf ("" when there is none). */
static void tls_name_cn(const X509_NAME *name, char *buf, size_t len)
{
    buf[0] = '\0';
    int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
    if (i < 0)
        return;
    const ASN1_STRING *v = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
    unsigned char *utf8 = NULL;
    int n = v ? ASN1_STRING_to_UTF8(&utf8, v) : -1;
    if (n > 0)
        log_sanitize(buf, len, (const char *)utf8, (size_t)n < len ? (size_t)n : len);
    OPENSSL_free(utf8);
}

/* The peer certificate's names and verification result. */
static void tls_info_peer(SSL *ssl, struct tls_info *out)
{
    X509 *cert = SSL_get1_peer_certificate(ssl);
    if (!cert)
        return;
    out->peer_cert = true;
    out->verify_result = SSL_get_verify_result(ssl);
    out->verified = out->verify_result == X509_V_OK;
    snprintf(out->verify_text, sizeof out->verify_text, "%s",
             X509_verify_cert_error_string(out->verify_result));
    tls_name_text(X509_get_subject_name(cert), out->subject, sizeof out->subject);
    tls_name_text(X509_get_issuer_name(cert), out->issuer, sizeof out->issuer);
    tls_name_cn(X509_get_subject_name(cert), out->subject_cn, sizeof out->subject_cn);
    tls_name_cn(X509_get_issuer_name(cert), out->issuer_cn, sizeof out->issuer_cn);
    X509_free(cert);
}

/* What the handshake of ssl agreed on. */
void tls_info_get(SSL *ssl, struct tls_info *out)
{
    memset(out, 0, sizeof *out);
    out->active = true;
    snprintf(out->version, sizeof out->version, "%s", tls_version_name(SSL_version(ssl)));
    const SSL_CIPHER *c = SSL_get_current_cipher(ssl);
    snprintf(out->cipher, sizeof out->cipher, "%s", c ? SSL_CIPHER_get_name(c) : "unknown");
    out->bits = c ? SSL_CIPHER_get_bits(c, &out->alg_bits) : 0;
    out->resumed = SSL_session_reused(ssl) == 1;
    out->verify_result = X509_V_OK;
    tls_info_peer(ssl, out);
}
