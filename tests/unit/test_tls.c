/* test_tls: the server TLS contexts (tls/tls.h) and the shared helpers (tls/common.h),
 * table-driven. The certificates are made here (OpenSSL, in a temporary directory): a test
 * CA, two RSA and one ECDSA server certificates, a client certificate of the CA and one of
 * another CA. Handshakes run in memory (BIO pairs) between a client SSL and
 * tls_server_ssl_new(), so what a real peer would see is checked without sockets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "conf/conf.h"
#include "tls/common.h"
#include "tls/tls.h"

static char dir[64];

/* Path of fixture file name into buf. */
static const char *fx(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", dir, name);
    return buf;
}

/* ---- fixtures ---- */

/* Adds extension nid = value to x (issued by iss). */
static void cert_ext(X509 *x, X509 *iss, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, iss ? iss : x, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    assert_non_null(e);
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
}

/* A certificate for cn with key, signed by iss/iss_key (self-signed when iss is NULL). */
static X509 *cert_make(EVP_PKEY *key, const char *cn, long serial, X509 *iss, EVP_PKEY *iss_key)
{
    X509 *x = X509_new();
    assert_non_null(x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, key);
    X509_NAME *n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const unsigned char *)"sluice unit", -1, -1,
                               0);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, iss ? X509_get_subject_name(iss) : n);
    cert_ext(x, iss, NID_basic_constraints, iss ? "critical,CA:FALSE" : "critical,CA:TRUE");
    assert_true(X509_sign(x, iss_key ? iss_key : key, EVP_sha256()) > 0);
    return x;
}

/* Writes x to NAME.crt and key to NAME.key. */
static void fixture_write(const char *name, X509 *x, EVP_PKEY *key)
{
    char p[128], n[64];
    snprintf(n, sizeof n, "%s.crt", name);
    FILE *f = fopen(fx(p, sizeof p, n), "w");
    assert_non_null(f);
    assert_true(PEM_write_X509(f, x));
    fclose(f);
    snprintf(n, sizeof n, "%s.key", name);
    f = fopen(fx(p, sizeof p, n), "w");
    assert_non_null(f);
    assert_true(PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL));
    fclose(f);
}

/* One leaf: key (RSA or P-256), certificate by iss, written as NAME.crt/.key. */
static void fixture_leaf(const char *name, bool ec, const char *cn, long serial, X509 *iss,
                         EVP_PKEY *iss_key)
{
    EVP_PKEY *k = ec ? EVP_EC_gen("P-256") : EVP_RSA_gen(2048);
    assert_non_null(k);
    X509 *x = cert_make(k, cn, serial, iss, iss_key);
    fixture_write(name, x, k);
    X509_free(x);
    EVP_PKEY_free(k);
}

/* Every file the tests use, in a fresh directory. */
static int fixtures_setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/sluice-test-tls-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    EVP_PKEY *ca_key = EVP_RSA_gen(2048), *other_key = EVP_EC_gen("P-256");
    X509 *ca = cert_make(ca_key, "Unit CA", 1, NULL, NULL);
    X509 *other = cert_make(other_key, "Other CA", 2, NULL, NULL);
    fixture_write("ca", ca, ca_key);
    fixture_leaf("rsa1", false, "mx.test", 0x11, ca, ca_key);
    fixture_leaf("rsa2", false, "mx.test", 0x12, ca, ca_key);
    fixture_leaf("ec", true, "mx.test", 0x21, ca, ca_key);
    fixture_leaf("client", true, "client.test", 0x31, ca, ca_key);
    fixture_leaf("stranger", false, "stranger.test", 0x41, other, other_key);
    X509_free(ca);
    X509_free(other);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(other_key);
    char p[128];
    FILE *f = fopen(fx(p, sizeof p, "garbage.pem"), "w");
    fputs("not PEM at all\n", f);
    fclose(f);
    return 0;
}

/* Removes the directory. */
static int fixtures_teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* ---- helpers ---- */

/* A settings struct with every path given as a fixture name (NULL: unset); free with
 * conf_tls_free. */
struct tls_case_conf {
    const char *cert, *key, *ecdsa_cert, *ecdsa_key, *ca;
    bool ask, require;
    unsigned min; /* TLS 1.min (0: 1.2) */
    uint64_t session_ms;
};

static char *fx_dup(const char *name)
{
    char p[128];
    return name ? strdup(fx(p, sizeof p, name)) : NULL;
}

static void conf_tls_fill(struct smtpd_tls_conf *tc, const struct tls_case_conf *cc)
{
    memset(tc, 0, sizeof *tc);
    tc->cert_file = fx_dup(cc->cert);
    tc->key_file = fx_dup(cc->key);
    tc->ecdsa_cert_file = fx_dup(cc->ecdsa_cert);
    tc->ecdsa_key_file = fx_dup(cc->ecdsa_key);
    tc->ca_file = fx_dup(cc->ca);
    tc->ask_cert = cc->ask;
    tc->require_cert = cc->require;
    tc->min_tls = cc->min ? cc->min : 2;
    tc->session_timeout = cc->session_ms;
    tc->handshake_timeout = 60000;
}

static void conf_tls_free(struct smtpd_tls_conf *tc)
{
    free(tc->cert_file);
    free(tc->key_file);
    free(tc->ecdsa_cert_file);
    free(tc->ecdsa_key_file);
    free(tc->ca_file);
}

/* A client context trusting the test CA, limited to [min, max] (0: any), presenting
 * certificate NAME when given, accepting only signature algorithms sigalgs (or NULL). */
static SSL_CTX *client_ctx(int min, int max, const char *name, const char *sigalgs)
{
    char p[128], n[64];
    SSL_CTX *c = SSL_CTX_new(TLS_client_method());
    assert_non_null(c);
    assert_int_equal(SSL_CTX_load_verify_locations(c, fx(p, sizeof p, "ca.crt"), NULL), 1);
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER, NULL);
    if (min)
        SSL_CTX_set_min_proto_version(c, min);
    if (max)
        SSL_CTX_set_max_proto_version(c, max);
    if (sigalgs)
        assert_int_equal(SSL_CTX_set1_sigalgs_list(c, sigalgs), 1);
    if (name) {
        snprintf(n, sizeof n, "%s.crt", name);
        assert_int_equal(SSL_CTX_use_certificate_file(c, fx(p, sizeof p, n), SSL_FILETYPE_PEM), 1);
        snprintf(n, sizeof n, "%s.key", name);
        assert_int_equal(SSL_CTX_use_PrivateKey_file(c, fx(p, sizeof p, n), SSL_FILETYPE_PEM), 1);
    }
    return c;
}

/* Runs a handshake in memory between a client of cctx and a new server SSL of t. Returns
 * true when both sides finished; *srv gets the server SSL (caller frees), *peer the serial
 * of the certificate the client received (0 when none). */
static bool handshake(struct tls_server *t, SSL_CTX *cctx, SSL **srv, long *peer)
{
    SSL *c = SSL_new(cctx), *s = tls_server_ssl_new(t);
    BIO *cb, *sb;
    assert_non_null(c);
    assert_non_null(s);
    assert_int_equal(BIO_new_bio_pair(&cb, 0, &sb, 0), 1);
    SSL_set_bio(c, cb, cb);
    SSL_set_bio(s, sb, sb);
    SSL_set_connect_state(c);
    SSL_set_accept_state(s);
    int rc = 0, rs = 0;
    for (int i = 0; i < 20 && (rc != 1 || rs != 1); i++) {
        rc = rc == 1 ? 1 : SSL_do_handshake(c);
        rs = rs == 1 ? 1 : SSL_do_handshake(s);
        if ((rc <= 0 && SSL_get_error(c, rc) != SSL_ERROR_WANT_READ) ||
            (rs <= 0 && SSL_get_error(s, rs) != SSL_ERROR_WANT_READ))
            break;
    }
    X509 *pc = SSL_get1_peer_certificate(c);
    *peer = pc ? ASN1_INTEGER_get(X509_get0_serialNumber(pc)) : 0;
    X509_free(pc);
    SSL_free(c);
    ERR_clear_error();
    *srv = s;
    return rc == 1 && rs == 1;
}

/* ---- tests ---- */

/* tls_version_name: every wire version sluice can meet. */
static void test_version_names(void **state)
{
    (void)state;
    static const struct {
        int v;
        const char *want;
    } cases[] = {{TLS1_VERSION, "TLSv1"},     {TLS1_1_VERSION, "TLSv1.1"},
                 {TLS1_2_VERSION, "TLSv1.2"}, {TLS1_3_VERSION, "TLSv1.3"},
                 {0x0300, "unknown"},         {0, "unknown"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (strcmp(tls_version_name(cases[i].v), cases[i].want) != 0)
            fail_msg("0x%04x: got %s, want %s", (unsigned)cases[i].v, tls_version_name(cases[i].v),
                     cases[i].want);
}

/* tls_errors: empty queue, one error, two joined, a buffer too small; the queue empties. */
static void test_errors_text(void **state)
{
    (void)state;
    char buf[128], tiny[8];
    ERR_clear_error();
    assert_string_equal(tls_errors(buf, sizeof buf), "unknown error");
    ERR_raise(ERR_LIB_SSL, SSL_R_WRONG_VERSION_NUMBER);
    assert_string_equal(tls_errors(buf, sizeof buf), "wrong version number");
    assert_int_equal(ERR_peek_error(), 0);
    ERR_raise(ERR_LIB_SSL, SSL_R_WRONG_VERSION_NUMBER);
    ERR_raise(ERR_LIB_SSL, SSL_R_UNSUPPORTED_PROTOCOL);
    assert_string_equal(tls_errors(buf, sizeof buf), "wrong version number; unsupported protocol");
    ERR_raise(ERR_LIB_SSL, SSL_R_UNSUPPORTED_PROTOCOL);
    tls_errors(tiny, sizeof tiny);
    assert_int_equal(strlen(tiny), sizeof tiny - 1);
    assert_int_equal(ERR_peek_error(), 0);
}

struct create_case {
    const char *name;
    struct tls_case_conf conf;
    const char *want; /* a substring of the error, or NULL: success */
    const char *desc; /* success: tls_server_describe() */
};

static const struct create_case create_cases[] = {
    {"RSA", {.cert = "rsa1.crt", .key = "rsa1.key"}, NULL, "RSA serial 11"},
    {"ECDSA alone", {.cert = "ec.crt", .key = "ec.key"}, NULL, "ECDSA serial 21"},
    {"RSA and ECDSA",
     {.cert = "rsa1.crt", .key = "rsa1.key", .ecdsa_cert = "ec.crt", .ecdsa_key = "ec.key"},
     NULL,
     "RSA serial 11, ECDSA serial 21"},
    {"CA and client certificates",
     {.cert = "rsa1.crt", .key = "rsa1.key", .ca = "ca.crt", .require = true},
     NULL,
     "RSA serial 11"},
    {"missing certificate",
     {.cert = "none.crt", .key = "rsa1.key"},
     "smtpd.tls.cert_file /tmp/",
     NULL},
    {"missing key",
     {.cert = "rsa1.crt", .key = "none.key"},
     "none.key: No such file or directory",
     NULL},
    {"garbage certificate",
     {.cert = "garbage.pem", .key = "rsa1.key"},
     "garbage.pem: no PEM certificate: ",
     NULL},
    {"key not in the certificate file", {.cert = "rsa1.crt"}, "smtpd.tls.cert_file /tmp/", NULL},
    {"key of another certificate",
     {.cert = "rsa1.crt", .key = "rsa2.key"},
     "key values mismatch",
     NULL},
    {"key of another type",
     {.cert = "rsa1.crt", .key = "ec.key"},
     "the key does not match the certificate",
     NULL},
    {"RSA in the ECDSA slot",
     {.cert = "rsa1.crt", .key = "rsa1.key", .ecdsa_cert = "rsa2.crt", .ecdsa_key = "rsa2.key"},
     "holds an RSA key, not an ECDSA one",
     NULL},
    {"two ECDSA",
     {.cert = "ec.crt", .key = "ec.key", .ecdsa_cert = "ec.crt", .ecdsa_key = "ec.key"},
     "holds an ECDSA key too",
     NULL},
    {"garbage CA file",
     {.cert = "rsa1.crt", .key = "rsa1.key", .ca = "garbage.pem"},
     "smtpd.tls.ca_file",
     NULL},
};

/* tls_server_create: what loads, and the error naming the key and file of what does not. */
static void test_create(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof create_cases / sizeof create_cases[0]; i++) {
        const struct create_case *cc = &create_cases[i];
        struct smtpd_tls_conf tc;
        char err[1024] = "";
        conf_tls_fill(&tc, &cc->conf);
        struct tls_server *t = tls_server_create(&tc, err, sizeof err);
        if (cc->want && (t || !strstr(err, cc->want)))
            fail_msg("%s: got %s \"%s\", want error with \"%s\"", cc->name, t ? "success" : "error",
                     err, cc->want);
        if (!cc->want && !t)
            fail_msg("%s: got error \"%s\", want success", cc->name, err);
        if (t && strcmp(tls_server_describe(t), cc->desc) != 0)
            fail_msg("%s: got \"%s\", want \"%s\"", cc->name, tls_server_describe(t), cc->desc);
        assert_int_equal(ERR_peek_error(), 0); /* no error left behind for the next one */
        tls_server_free(t);
        conf_tls_free(&tc);
    }
}

struct hs_case {
    const char *name;
    struct tls_case_conf conf;
    int cmin, cmax;      /* client protocol range (0: any) */
    const char *ccert;   /* client certificate fixture */
    const char *sigalgs; /* client signature algorithms */
    bool ok;             /* handshake finishes */
    const char *version; /* tls_info */
    long served;         /* serial of the server certificate received */
    bool peer_cert, verified;
    const char *subject_cn, *issuer_cn;
};

#define RSA_EC .cert = "rsa1.crt", .key = "rsa1.key", .ecdsa_cert = "ec.crt", .ecdsa_key = "ec.key"
static const struct hs_case hs_cases[] = {
    {"TLS 1.3", {RSA_EC}, 0, 0, NULL, NULL, true, "TLSv1.3", 0, false, false, "", ""},
    {"TLS 1.2", {RSA_EC}, 0, TLS1_2_VERSION, NULL, NULL, true, "TLSv1.2", 0, false, false, "", ""},
    {"ECDSA signatures only",
     {RSA_EC},
     0,
     0,
     NULL,
     "ECDSA+SHA256",
     true,
     "TLSv1.3",
     0x21,
     false,
     false,
     "",
     ""},
    {"RSA signatures only",
     {RSA_EC},
     0,
     0,
     NULL,
     "rsa_pss_rsae_sha256",
     true,
     "TLSv1.3",
     0x11,
     false,
     false,
     "",
     ""},
    {"min TLS 1.3, client 1.2",
     {RSA_EC, .min = 3},
     0,
     TLS1_2_VERSION,
     NULL,
     NULL,
     false,
     NULL,
     0,
     false,
     false,
     NULL,
     NULL},
    {"TLS 1.1 client",
     {RSA_EC},
     TLS1_1_VERSION,
     TLS1_1_VERSION,
     NULL,
     NULL,
     false,
     NULL,
     0,
     false,
     false,
     NULL,
     NULL},
    {"client certificate not asked",
     {RSA_EC},
     0,
     0,
     "client",
     NULL,
     true,
     "TLSv1.3",
     0,
     false,
     false,
     "",
     ""},
    {"client certificate verified",
     {RSA_EC, .ca = "ca.crt", .ask = true},
     0,
     0,
     "client",
     NULL,
     true,
     "TLSv1.3",
     0,
     true,
     true,
     "client.test",
     "Unit CA"},
    {"client certificate of another CA",
     {RSA_EC, .ca = "ca.crt", .require = true},
     0,
     TLS1_2_VERSION,
     "stranger",
     NULL,
     true,
     "TLSv1.2",
     0,
     true,
     false,
     "stranger.test",
     "Other CA"},
    {"asked, none given",
     {RSA_EC, .ca = "ca.crt", .ask = true},
     0,
     0,
     NULL,
     NULL,
     true,
     "TLSv1.3",
     0,
     false,
     false,
     "",
     ""},
};

/* Handshakes against the server context: protocol, certificate choice, client
 * certificates, and the tls_info the server side reads afterwards. */
static void test_handshakes(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof hs_cases / sizeof hs_cases[0]; i++) {
        const struct hs_case *hc = &hs_cases[i];
        struct smtpd_tls_conf tc;
        char err[1024];
        conf_tls_fill(&tc, &hc->conf);
        struct tls_server *t = tls_server_create(&tc, err, sizeof err);
        if (!t)
            fail_msg("%s: %s", hc->name, err);
        SSL_CTX *cctx = client_ctx(hc->cmin, hc->cmax, hc->ccert, hc->sigalgs);
        SSL *srv;
        long served;
        bool ok = handshake(t, cctx, &srv, &served);
        if (ok != hc->ok)
            fail_msg("%s: got handshake %s, want %s", hc->name, ok ? "ok" : "failed",
                     hc->ok ? "ok" : "failed");
        if (ok) {
            struct tls_info ti;
            tls_info_get(srv, &ti);
            if (!ti.active || strcmp(ti.version, hc->version) != 0 || ti.bits < 128)
                fail_msg("%s: got %s/%s %d bits, want %s", hc->name, ti.version, ti.cipher, ti.bits,
                         hc->version);
            if (hc->served && served != hc->served)
                fail_msg("%s: got certificate serial %lx, want %lx", hc->name, served, hc->served);
            if (ti.peer_cert != hc->peer_cert || ti.verified != hc->verified ||
                strcmp(ti.subject_cn, hc->subject_cn) != 0 ||
                strcmp(ti.issuer_cn, hc->issuer_cn) != 0)
                fail_msg(
                    "%s: got peer_cert %d verified %d cn \"%s\" issuer \"%s\" (%s), want %d %d "
                    "\"%s\" \"%s\"",
                    hc->name, ti.peer_cert, ti.verified, ti.subject_cn, ti.issuer_cn,
                    ti.verify_text, hc->peer_cert, hc->verified, hc->subject_cn, hc->issuer_cn);
            if (ti.peer_cert)
                assert_non_null(strstr(ti.subject, "CN="));
        }
        SSL_free(srv);
        SSL_CTX_free(cctx);
        tls_server_free(t);
        conf_tls_free(&tc);
    }
}

/* Copies fixture src over fixture dst. */
static void fx_copy(const char *src, const char *dst)
{
    char a[128], b[128], cmd[300];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", fx(a, sizeof a, src), fx(b, sizeof b, dst));
    assert_int_equal(system(cmd), 0);
}

/* The 80 bytes of ticket keys of the context behind a new SSL of t. */
static void ticket_keys(struct tls_server *t, unsigned char keys[80])
{
    SSL *s = tls_server_ssl_new(t);
    assert_int_equal(SSL_CTX_get_tlsext_ticket_keys(SSL_get_SSL_CTX(s), keys, 80), 1);
    SSL_free(s);
}

/* tls_server_reload: new files are served to new connections, an SSL made before keeps
 * its context, a file that fails keeps the current context, ticket keys carry over. */
static void test_reload(void **state)
{
    (void)state;
    struct smtpd_tls_conf tc;
    char err[1024];
    unsigned char k1[80], k2[80];
    fx_copy("rsa1.crt", "live.crt");
    fx_copy("rsa1.key", "live.key");
    conf_tls_fill(
        &tc, &(struct tls_case_conf){.cert = "live.crt", .key = "live.key", .session_ms = 3600000});
    struct tls_server *t = tls_server_create(&tc, err, sizeof err);
    assert_non_null(t);
    SSL *before = tls_server_ssl_new(t);
    ticket_keys(t, k1);
    fx_copy("rsa2.crt", "live.crt");
    fx_copy("rsa2.key", "live.key");
    if (tls_server_reload(t, err, sizeof err) != 0)
        fail_msg("reload: %s", err);
    assert_string_equal(tls_server_describe(t), "RSA serial 12");
    assert_int_equal(ASN1_INTEGER_get(X509_get0_serialNumber(SSL_get_certificate(before))), 0x11);
    ticket_keys(t, k2);
    assert_memory_equal(k1, k2, sizeof k1);
    SSL_free(before); /* the old context goes with its last SSL */
    fx_copy("garbage.pem", "live.crt");
    assert_int_equal(tls_server_reload(t, err, sizeof err), -1);
    assert_non_null(strstr(err, "live.crt: no PEM certificate"));
    assert_string_equal(tls_server_describe(t), "RSA serial 12");
    SSL_CTX *cctx = client_ctx(0, 0, NULL, NULL);
    SSL *srv;
    long served;
    assert_true(handshake(t, cctx, &srv, &served));
    assert_int_equal(served, 0x12);
    SSL_free(srv);
    SSL_CTX_free(cctx);
    tls_server_free(t);
    conf_tls_free(&tc);
}

/* session_timeout: the ticket lifetime; 0 turns tickets and the session cache off. */
static void test_sessions(void **state)
{
    (void)state;
    static const struct {
        uint64_t ms;
        long timeout;
        bool tickets;
    } cases[] = {{3600000, 3600, true}, {1500, 2, true}, {0, 0, false}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct smtpd_tls_conf tc;
        char err[1024];
        conf_tls_fill(&tc, &(struct tls_case_conf){
                               .cert = "rsa1.crt", .key = "rsa1.key", .session_ms = cases[i].ms});
        struct tls_server *t = tls_server_create(&tc, err, sizeof err);
        assert_non_null(t);
        SSL *s = tls_server_ssl_new(t);
        SSL_CTX *ctx = SSL_get_SSL_CTX(s);
        bool tickets = !(SSL_CTX_get_options(ctx) & SSL_OP_NO_TICKET);
        if (tickets != cases[i].tickets ||
            (cases[i].tickets && SSL_CTX_get_timeout(ctx) != cases[i].timeout) ||
            (!cases[i].tickets && SSL_CTX_get_session_cache_mode(ctx) != SSL_SESS_CACHE_OFF))
            fail_msg("session_timeout %llu ms: got tickets %d timeout %ld, want %d %ld",
                     (unsigned long long)cases[i].ms, tickets, SSL_CTX_get_timeout(ctx),
                     cases[i].tickets, cases[i].timeout);
        SSL_free(s);
        tls_server_free(t);
        conf_tls_free(&tc);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_names), cmocka_unit_test(test_errors_text),
        cmocka_unit_test(test_create),        cmocka_unit_test(test_handshakes),
        cmocka_unit_test(test_reload),        cmocka_unit_test(test_sessions),
    };
    return cmocka_run_group_tests(tests, fixtures_setup, fixtures_teardown);
}
