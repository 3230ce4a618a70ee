/* test_tls_client: tls/client against an in-memory OpenSSL server (a BIO pair, no sockets):
 * what a certificate proves (verified / untrusted / anonymous) under each policy, session
 * resumption per peer (several times from one ticket, never across peers or policies), the
 * fallback memory (expiry, bound), and configuration errors. Certificates are made here,
 * in memory, and written to temporary files only where the configuration needs a path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "conf/conf.h"
#include "tls/client.h"

/* A key and its certificate. */
struct cred {
    EVP_PKEY *key;
    X509 *cert;
};

static long serial = 1;

/* Adds extension nid = value to x (issued by issuer). */
static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    assert_non_null(e);
    assert_int_equal(X509_add_ext(x, e, -1), 1);
    X509_EXTENSION_free(e);
}

/* A P-256 key and a certificate for cn with san, signed by ca (NULL: by itself). */
static struct cred cred_new(const char *cn, const char *san, const struct cred *ca, bool is_ca)
{
    struct cred c = {EVP_EC_gen("P-256"), X509_new()};
    assert_non_null(c.key);
    X509_set_version(c.cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(c.cert), serial++);
    X509_gmtime_adj(X509_getm_notBefore(c.cert), -60);
    X509_gmtime_adj(X509_getm_notAfter(c.cert), 86400);
    X509_set_pubkey(c.cert, c.key);
    X509_NAME *n = X509_get_subject_name(c.cert);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(c.cert, ca ? X509_get_subject_name(ca->cert) : n);
    add_ext(c.cert, ca ? ca->cert : c.cert, NID_basic_constraints,
            is_ca ? "critical,CA:TRUE" : "CA:FALSE");
    if (san)
        add_ext(c.cert, ca ? ca->cert : c.cert, NID_subject_alt_name, san);
    assert_true(X509_sign(c.cert, ca ? ca->key : c.key, EVP_sha256()) > 0);
    return c;
}

static void cred_free(struct cred *c)
{
    EVP_PKEY_free(c->key);
    X509_free(c->cert);
}

/* Writes x's PEM to a fresh temporary file; its path in path (64 bytes). */
static void pem_file(X509 *x, EVP_PKEY *key, char *path)
{
    snprintf(path, 64, "/tmp/sluice-test-tls-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    if (x)
        PEM_write_X509(f, x);
    if (key)
        PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
    fclose(f);
}

/* A server context with cred, at most TLS 1.max_minor (ticket keys live in it). */
static SSL_CTX *server_ctx(const struct cred *c, int max_minor)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    assert_int_equal(SSL_CTX_use_certificate(ctx, c->cert), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey(ctx, c->key), 1);
    SSL_CTX_set_max_proto_version(ctx, max_minor == 2 ? TLS1_2_VERSION : TLS1_3_VERSION);
    return ctx;
}

/* Runs a handshake between client and a new SSL of sctx over a BIO pair, then lets the
 * client read the server's tickets. Returns 1 when it completed; frees both SSLs. */
static int handshake(SSL *client, SSL_CTX *sctx, struct tls_client_info *info)
{
    SSL *server = SSL_new(sctx);
    BIO *cb, *sb;
    assert_int_equal(BIO_new_bio_pair(&cb, 0, &sb, 0), 1);
    SSL_set_bio(client, cb, cb);
    SSL_set_bio(server, sb, sb);
    SSL_set_accept_state(server);
    int done = 0;
    for (int i = 0; i < 50 && done != 3; i++) {
        int rc = SSL_do_handshake(client), rs = SSL_do_handshake(server);
        int ec = rc == 1 ? 0 : SSL_get_error(client, rc),
            es = rs == 1 ? 0 : SSL_get_error(server, rs);
        if ((ec && ec != SSL_ERROR_WANT_READ && ec != SSL_ERROR_WANT_WRITE) ||
            (es && es != SSL_ERROR_WANT_READ && es != SSL_ERROR_WANT_WRITE))
            break;
        done = (rc == 1) | (rs == 1) << 1;
    }
    if (done == 3) {
        char b;
        SSL_read(client, &b, 1); /* takes the NewSessionTicket messages in */
        tls_client_info(client, info);
    }
    ERR_clear_error();
    SSL_free(server);
    SSL_free(client);
    return done == 3;
}

/* A configuration with one relay whose ssl block uses ca_file (NULL: no relay). */
static void conf_with_relay(struct conf *c, struct relay *r, char *ca_file)
{
    memset(c, 0, sizeof *c);
    memset(r, 0, sizeof *r);
    if (!ca_file)
        return;
    r->address = "relay";
    r->host = "relay.example";
    r->ssl = (struct relay_ssl){
        .mode = RELAY_TLS_STARTTLS, .verify = true, .ca_file = ca_file, .min_tls = 2};
    c->deliver.relays = r;
    c->deliver.nrelays = 1;
}

struct trust_case {
    const char *what;
    int server;       /* 0 self-signed mx.example, 1 CA-signed mx.example + IP, 2 CA TLS 1.2 only */
    bool relay;       /* the relay's context (CA file) instead of the opportunistic one */
    const char *name; /* expected name */
    unsigned min_tls;
    int want_ok; /* handshake completes */
    enum tls_trust want;
    const char *want_why; /* substring */
    const char *want_version;
};

static const struct trust_case trust_cases[] = {
    {"self-signed, opportunistic", 0, false, "mx.example", 2, 1, TLS_TRUST_UNTRUSTED,
     "self-signed certificate", "TLSv1.3"},
    {"CA-signed, relay trusts the CA, right name", 1, true, "mx.example", 2, 1, TLS_TRUST_VERIFIED,
     "", "TLSv1.3"},
    {"CA-signed, name in brackets as an IP", 1, true, "[192.0.2.7]", 2, 1, TLS_TRUST_VERIFIED, "",
     "TLSv1.3"},
    {"CA-signed, MX name with the root dot", 1, true, "mx.example.", 2, 1, TLS_TRUST_VERIFIED, "",
     "TLSv1.3"},
    {"CA-signed, wrong name", 1, true, "other.example", 2, 1, TLS_TRUST_UNTRUSTED,
     "hostname mismatch", "TLSv1.3"},
    {"CA-signed, wrong IP", 1, true, "192.0.2.8", 2, 1, TLS_TRUST_UNTRUSTED, "IP address mismatch",
     "TLSv1.3"},
    {"CA-signed, no name to check", 1, true, NULL, 2, 1, TLS_TRUST_UNTRUSTED, "no host name",
     "TLSv1.3"},
    {"CA-signed, opportunistic (CA unknown there)", 1, false, "mx.example", 2, 1,
     TLS_TRUST_UNTRUSTED, "unable to get local issuer certificate", "TLSv1.3"},
    {"server at most TLS 1.2, least 1.2", 2, true, "mx.example", 2, 1, TLS_TRUST_VERIFIED, "",
     "TLSv1.2"},
    {"server at most TLS 1.2, least 1.3: no handshake", 2, true, "mx.example", 3, 0,
     TLS_TRUST_ANONYMOUS, NULL, NULL},
};

/* What the certificate proves under each policy; the protocol floor. */
static void test_trust(void **state)
{
    (void)state;
    struct cred ca = cred_new("test CA", NULL, NULL, true);
    struct cred self = cred_new("mx.example", "DNS:mx.example", NULL, false);
    struct cred signed_ = cred_new("mx.example", "DNS:mx.example,IP:192.0.2.7", &ca, false);
    SSL_CTX *srv[3] = {server_ctx(&self, 3), server_ctx(&signed_, 3), server_ctx(&signed_, 2)};
    char ca_path[64], err[256];
    pem_file(ca.cert, NULL, ca_path);
    struct conf c;
    struct relay r;
    conf_with_relay(&c, &r, ca_path);
    struct tls_client *tc = tls_client_create(&c, err, sizeof err);
    if (!tc)
        fail_msg("tls_client_create: %s", err);
    for (size_t i = 0; i < sizeof trust_cases / sizeof trust_cases[0]; i++) {
        const struct trust_case *k = &trust_cases[i];
        char peer[64];
        snprintf(peer, sizeof peer, "case%zu[192.0.2.7]:25", i);
        SSL *ssl = tls_client_ssl(tc, k->relay ? &r : NULL, k->min_tls, k->name, peer);
        assert_non_null(ssl);
        struct tls_client_info info;
        int ok = handshake(ssl, srv[k->server], &info);
        if (ok != k->want_ok)
            fail_msg("%s: handshake got %d, want %d", k->what, ok, k->want_ok);
        if (!ok)
            continue;
        if (info.trust != k->want || !strstr(info.why, k->want_why) ||
            strcmp(info.version, k->want_version) != 0)
            fail_msg("%s: got %s (%s) %s, want %s (%s) %s", k->what, tls_trust_name(info.trust),
                     info.why, info.version, tls_trust_name(k->want), k->want_why, k->want_version);
        assert_false(info.resumed);
        assert_true(info.bits >= 128);
    }
    tls_client_free(tc);
    unlink(ca_path);
    for (int i = 0; i < 3; i++)
        SSL_CTX_free(srv[i]);
    cred_free(&self);
    cred_free(&signed_);
    cred_free(&ca);
}

/* One session resumed many times with its peer, never with another peer or policy. */
static void test_resumption(void **state)
{
    (void)state;
    struct cred self = cred_new("mx.example", "DNS:mx.example", NULL, false);
    SSL_CTX *srv = server_ctx(&self, 3);
    struct conf c;
    struct relay r;
    char err[256];
    conf_with_relay(&c, &r, NULL);
    struct tls_client *tc = tls_client_create(&c, err, sizeof err);
    assert_non_null(tc);
    static const struct {
        const char *peer;
        unsigned min_tls;
        bool want_resumed;
    } steps[] = {
        {"mx.example[192.0.2.1]:25", 2, false}, {"mx.example[192.0.2.1]:25", 2, true},
        {"mx.example[192.0.2.1]:25", 2, true},  {"mx.example[192.0.2.1]:25", 2, true},
        {"mx.example[192.0.2.2]:25", 2, false}, {"mx.example[192.0.2.1]:25", 3, false},
        {"mx.example[192.0.2.2]:25", 2, true},
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        SSL *ssl = tls_client_ssl(tc, NULL, steps[i].min_tls, "mx.example", steps[i].peer);
        struct tls_client_info info;
        assert_int_equal(handshake(ssl, srv, &info), 1);
        if (info.resumed != steps[i].want_resumed)
            fail_msg("step %zu (%s, TLS 1.%u): resumed got %d, want %d", i, steps[i].peer,
                     steps[i].min_tls, info.resumed, steps[i].want_resumed);
        assert_int_equal(info.trust, TLS_TRUST_UNTRUSTED); /* a resumed session keeps it */
    }
    assert_int_equal(tls_client_sessions(tc), 3);
    tls_client_free(tc);
    SSL_CTX_free(srv);
    cred_free(&self);
}

/* The fallback memory: remembered for TLS_CLIENT_FALLBACK_TTL, per peer, bounded. */
static void test_fallback(void **state)
{
    (void)state;
    struct conf c;
    struct relay r;
    char err[256], peer[64];
    conf_with_relay(&c, &r, NULL);
    struct tls_client *tc = tls_client_create(&c, err, sizeof err);
    assert_non_null(tc);
    time_t t0 = 1000000;
    assert_false(tls_client_fallback_active(tc, "a[192.0.2.1]:25", t0));
    tls_client_fallback_note(tc, "a[192.0.2.1]:25", t0);
    assert_true(tls_client_fallback_active(tc, "a[192.0.2.1]:25", t0 + 1));
    assert_false(tls_client_fallback_active(tc, "b[192.0.2.2]:25", t0 + 1));
    assert_true(
        tls_client_fallback_active(tc, "a[192.0.2.1]:25", t0 + TLS_CLIENT_FALLBACK_TTL - 1));
    assert_false(tls_client_fallback_active(tc, "a[192.0.2.1]:25", t0 + TLS_CLIENT_FALLBACK_TTL));
    for (int i = 0; i <= TLS_CLIENT_FALLBACK_MAX; i++) {
        snprintf(peer, sizeof peer, "p%d", i);
        tls_client_fallback_note(tc, peer, t0);
    }
    assert_false(tls_client_fallback_active(tc, "p0", t0 + 1)); /* the oldest went */
    assert_true(tls_client_fallback_active(tc, "p1", t0 + 1));
    snprintf(peer, sizeof peer, "p%d", TLS_CLIENT_FALLBACK_MAX);
    assert_true(tls_client_fallback_active(tc, peer, t0 + 1));
    tls_client_free(tc);
}

/* Files that do not load are configuration errors naming the relay and the file. */
static void test_create_errors(void **state)
{
    (void)state;
    struct cred a = cred_new("client.example", "DNS:client.example", NULL, false);
    struct cred b = cred_new("other.example", "DNS:other.example", NULL, false);
    char cert_path[64], key_path[64], err[512];
    pem_file(a.cert, NULL, cert_path);
    pem_file(NULL, b.key, key_path);
    struct conf c;
    struct relay r;
    conf_with_relay(&c, &r, "/nonexistent/ca.pem");
    assert_null(tls_client_create(&c, err, sizeof err));
    if (!strstr(err, "deliver.relays[0].ssl: ca_file /nonexistent/ca.pem: "))
        fail_msg("got \"%s\", want deliver.relays[0].ssl: ca_file /nonexistent/ca.pem: ...", err);
    r.ssl.ca_file = NULL; /* system store */
    r.ssl.cert_file = cert_path;
    r.ssl.key_file = key_path; /* not the certificate's key */
    assert_null(tls_client_create(&c, err, sizeof err));
    if (!strstr(err, "deliver.relays[0].ssl: key_file "))
        fail_msg("got \"%s\", want deliver.relays[0].ssl: key_file ...", err);
    r.ssl.mode = RELAY_TLS_NONE; /* no context for a relay without TLS */
    struct tls_client *tc = tls_client_create(&c, err, sizeof err);
    assert_non_null(tc);
    tls_client_free(tc);
    unlink(cert_path);
    unlink(key_path);
    cred_free(&a);
    cred_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trust),
        cmocka_unit_test(test_resumption),
        cmocka_unit_test(test_fallback),
        cmocka_unit_test(test_create_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
