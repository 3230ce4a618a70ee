/* tls: the inbound server's TLS contexts (contract in tls.h; keys in docs/tls.md).
 *
 * A context is built whole from the files, then swapped in: a reload that fails at any
 * step leaves nothing half-changed. Key files are read by whoever runs the daemon: at
 * startup that is root (before the privilege drop), on SIGHUP it is smtpd's `user`, so a
 * reload needs the files readable by that user (docs/tls.md). */
#include "tls/tls.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "conf/conf.h"
#include "core/xalloc.h"
#include "tls/common.h"

enum { TLS_DESC_MAX = 512, TLS_TICKET_KEYS = 80, TLS_VERIFY_DEPTH = 9 };

struct tls_server {
    const struct smtpd_tls_conf *tc;
    SSL_CTX *ctx;
    char desc[TLS_DESC_MAX];
};

/* The session id context: resumption must be tied to this service (required by OpenSSL
 * once client certificates are verified). */
static const unsigned char TLS_SID_CTX[] = "sluice-smtpd";

/* "RSA", "ECDSA", ... for the key in cert. */
static const char *tls_key_type(X509 *cert)
{
    switch (EVP_PKEY_get_base_id(X509_get0_pubkey(cert))) {
    case EVP_PKEY_RSA: return "RSA";
    case EVP_PKEY_EC: return "ECDSA";
    case EVP_PKEY_ED25519: return "Ed25519";
    case EVP_PKEY_ED448: return "Ed448";
    default: return "other";
    }
}

/* Appends "TYPE serial HEX" of cert to desc. */
static void tls_describe_add(char *desc, size_t len, X509 *cert)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    size_t o = strlen(desc);
    snprintf(desc + o, len - o, "%s%s serial %s", o ? ", " : "", tls_key_type(cert),
             hex ? hex : "?");
    OPENSSL_free(hex);
    BN_free(bn);
}

/* Checks that path can be read; -1 with "smtpd.tls.KEY PATH: why" in err. */
static int tls_readable(const char *key, const char *path, char *err, size_t errlen)
{
    if (access(path, R_OK) == 0)
        return 0;
    snprintf(err, errlen, "smtpd.tls.%s %s: %s", key, path, strerror(errno));
    return -1;
}

/* Loads one certificate (with its chain) and its key into ctx and checks they match.
 * The certificate loaded, or NULL with err. */
static X509 *tls_load_pair(SSL_CTX *ctx, const char *ckey, const char *cert, const char *kkey,
                           const char *key, char *err, size_t errlen)
{
    char e[512];
    if (tls_readable(ckey, cert, err, errlen) < 0 || tls_readable(kkey, key, err, errlen) < 0)
        return NULL;
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
        snprintf(err, errlen, "smtpd.tls.%s %s: no PEM certificate: %s", ckey, cert,
                 tls_errors(e, sizeof e));
        return NULL;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
        snprintf(err, errlen, "smtpd.tls.%s %s: no PEM private key for the certificate: %s",
                 kkey, key, tls_errors(e, sizeof e));
        return NULL;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        snprintf(err, errlen, "smtpd.tls.%s %s: the key does not match the certificate %s: %s",
                 kkey, key, cert, tls_errors(e, sizeof e));
        return NULL;
    }
    return SSL_CTX_get0_certificate(ctx);
}

/* Loads cert_file and the optional ECDSA pair; desc names what is served. */
static int tls_load_certs(SSL_CTX *ctx, const struct smtpd_tls_conf *tc, char *desc,
                          size_t desclen, char *err, size_t errlen)
{
    const char *key = tc->key_file ? tc->key_file : tc->cert_file;
    X509 *first = tls_load_pair(ctx, "cert_file", tc->cert_file,
                                tc->key_file ? "key_file" : "cert_file", key, err, errlen);
    if (!first)
        return -1;
    tls_describe_add(desc, desclen, first);
    if (!tc->ecdsa_cert_file)
        return 0;
    int type1 = EVP_PKEY_get_base_id(X509_get0_pubkey(first));
    if (type1 == EVP_PKEY_EC) {
        snprintf(err, errlen, "smtpd.tls.cert_file %s holds an ECDSA key too: one certificate "
                 "per key type (cert_file RSA, ecdsa_cert_file ECDSA)", tc->cert_file);
        return -1;
    }
    key = tc->ecdsa_key_file ? tc->ecdsa_key_file : tc->ecdsa_cert_file;
    X509 *second = tls_load_pair(ctx, "ecdsa_cert_file", tc->ecdsa_cert_file,
                                 tc->ecdsa_key_file ? "ecdsa_key_file" : "ecdsa_cert_file", key,
                                 err, errlen);
    if (!second)
        return -1;
    if (EVP_PKEY_get_base_id(X509_get0_pubkey(second)) != EVP_PKEY_EC) {
        snprintf(err, errlen, "smtpd.tls.ecdsa_cert_file %s holds an %s key, not an ECDSA one",
                 tc->ecdsa_cert_file, tls_key_type(second));
        return -1;
    }
    tls_describe_add(desc, desclen, second);
    return 0;
}

/* Accepts every client certificate at the TLS level: the result stays readable with
 * SSL_get_verify_result() and the SMTP server decides (ask_cert logs, require_cert 421). */
static int tls_verify_any(int ok, X509_STORE_CTX *store)
{
    (void)ok;
    (void)store;
    return 1;
}

/* ca_file: trust anchors for client certificates (and our own chain); with ask_cert or
 * require_cert, client certificates are requested, naming these CAs. */
static int tls_load_ca(SSL_CTX *ctx, const struct smtpd_tls_conf *tc, char *err, size_t errlen)
{
    char e[512];
    if (!tc->ca_file)
        return 0;
    if (tls_readable("ca_file", tc->ca_file, err, errlen) < 0)
        return -1;
    if (SSL_CTX_load_verify_locations(ctx, tc->ca_file, NULL) != 1) {
        snprintf(err, errlen, "smtpd.tls.ca_file %s: no PEM certificates: %s", tc->ca_file,
                 tls_errors(e, sizeof e));
        return -1;
    }
    if (!tc->ask_cert && !tc->require_cert)
        return 0;
    STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(tc->ca_file);
    if (!names) {
        snprintf(err, errlen, "smtpd.tls.ca_file %s: no CA names: %s", tc->ca_file,
                 tls_errors(e, sizeof e));
        return -1;
    }
    SSL_CTX_set_client_CA_list(ctx, names);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE, tls_verify_any);
    SSL_CTX_set_verify_depth(ctx, TLS_VERIFY_DEPTH);
    return 0;
}

/* Resumption: tickets (TLS 1.2 and 1.3) and the server's session cache live for
 * session_timeout; 0 turns both off. */
static void tls_sessions(SSL_CTX *ctx, uint64_t timeout_ms)
{
    SSL_CTX_set_session_id_context(ctx, TLS_SID_CTX, sizeof TLS_SID_CTX - 1);
    if (timeout_ms == 0) {
        SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
        SSL_CTX_set_num_tickets(ctx, 0);
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
        return;
    }
    SSL_CTX_set_timeout(ctx, (long)((timeout_ms + 999) / 1000));
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
}

/* Builds a complete context from the files; NULL with err. desc names the certificates. */
static SSL_CTX *tls_ctx_build(const struct smtpd_tls_conf *tc, char *desc, size_t desclen,
                              char *err, size_t errlen)
{
    char e[512];
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    desc[0] = '\0';
    if (!ctx) {
        snprintf(err, errlen, "smtpd.tls: cannot create a context: %s", tls_errors(e, sizeof e));
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, tc->min_tls >= 3 ? TLS1_3_VERSION : TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                 SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_dh_auto(ctx, 1);
    if (tls_load_certs(ctx, tc, desc, desclen, err, errlen) < 0 ||
        tls_load_ca(ctx, tc, err, errlen) < 0) {
        ERR_clear_error();
        SSL_CTX_free(ctx);
        return NULL;
    }
    tls_sessions(ctx, tc->session_timeout);
    return ctx;
}

struct tls_server *tls_server_create(const struct smtpd_tls_conf *tc, char *err, size_t errlen)
{
    struct tls_server *t = xcalloc(1, sizeof *t);
    t->tc = tc;
    t->ctx = tls_ctx_build(tc, t->desc, sizeof t->desc, err, errlen);
    if (!t->ctx) {
        free(t);
        return NULL;
    }
    return t;
}

int tls_server_reload(struct tls_server *t, char *err, size_t errlen)
{
    char desc[TLS_DESC_MAX];
    unsigned char keys[TLS_TICKET_KEYS];
    SSL_CTX *ctx = tls_ctx_build(t->tc, desc, sizeof desc, err, errlen);
    if (!ctx)
        return -1;
    if (SSL_CTX_get_tlsext_ticket_keys(t->ctx, keys, sizeof keys) == 1)
        SSL_CTX_set_tlsext_ticket_keys(ctx, keys, sizeof keys);
    OPENSSL_cleanse(keys, sizeof keys);
    SSL_CTX_free(t->ctx); /* connections in progress hold their own reference */
    t->ctx = ctx;
    memcpy(t->desc, desc, sizeof desc);
    return 0;
}

SSL *tls_server_ssl_new(struct tls_server *t)
{
    return SSL_new(t->ctx);
}

const char *tls_server_describe(const struct tls_server *t)
{
    return t->desc;
}

void tls_server_free(struct tls_server *t)
{
    if (!t)
        return;
    SSL_CTX_free(t->ctx);
    free(t);
}
