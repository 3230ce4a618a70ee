/* Unit tests: DKIM canonicalization (RFC 6376 §3.4, its §3.4.5 example included), the
 * choice of signing entries by From: domain, several signatures, and key checks
 * (src/dkim/). The signatures themselves are verified by python3-dkim in the scenario
 * dkim_rsa_and_ed25519_signatures_verify_with_dkimpy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "conf/conf.h"
#include "dkim/dkim.h"
#include "dkim/dkim_int.h"

static char dir[] = "/tmp/test_dkim.XXXXXX";

/* Writes a new key of type ("RSA" with bits, or "ED25519") to dir/name. */
static void write_key(const char *name, const char *type, unsigned bits)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    EVP_PKEY *k = bits ? EVP_PKEY_Q_keygen(NULL, NULL, type, (size_t)bits)
                       : EVP_PKEY_Q_keygen(NULL, NULL, type);
    assert_non_null(k);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL), 1);
    fclose(f);
    EVP_PKEY_free(k);
}

static int setup(void **state)
{
    (void)state;
    assert_non_null(mkdtemp(dir));
    write_key("rsa.pem", "RSA", 2048);
    write_key("rsa1024.pem", "RSA", 1024);
    write_key("ed.pem", "ED25519", 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    const char *names[] = {"rsa.pem", "rsa1024.pem", "ed.pem"};
    char path[256];
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
    return 0;
}

/* Header fields, relaxed and simple. */
static void test_canon_header(void **state)
{
    (void)state;
    struct {
        const char *in;
        bool relaxed;
        const char *want;
    } cases[] = {
        {"A: X\r\n", true, "a:X\r\n"},               /* RFC 6376 3.4.5 */
        {"B : Y\t\r\n\tZ  \r\n", true, "b:Y Z\r\n"}, /* RFC 6376 3.4.5 */
        {"Subject:  Hello   World \r\n", true, "subject:Hello World\r\n"},
        {"SUBJECT:\r\n folded\r\n\tthree\r\n", true, "subject:folded three\r\n"},
        {"X-Empty:\r\n", true, "x-empty:\r\n"},
        {"From: \"S\xc3\xa9\" <a@b>\r\n", true, "from:\"S\xc3\xa9\" <a@b>\r\n"},
        {"B : Y\t\r\n\tZ  \r\n", false, "B : Y\t\r\n\tZ  \r\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct dkim_buf b = {0};
        dkim_canon_header(cases[i].in, strlen(cases[i].in), cases[i].relaxed, &b);
        if (strcmp(b.p ? b.p : "", cases[i].want) != 0)
            fail_msg("case %zu: got '%s', want '%s'", i, b.p, cases[i].want);
        free(b.p);
    }
}

/* Bodies, relaxed and simple: blanks, trailing empty lines, a missing final CRLF. */
static void test_canon_body(void **state)
{
    (void)state;
    struct {
        const char *in;
        bool relaxed;
        const char *want;
    } cases[] = {
        {" C \r\nD \t E\r\n\r\n\r\n", true, " C\r\nD E\r\n"},      /* RFC 6376 3.4.5 */
        {" C \r\nD \t E\r\n\r\n\r\n", false, " C \r\nD \t E\r\n"}, /* RFC 6376 3.4.5 */
        {"", true, ""},
        {"", false, "\r\n"},
        {"\r\n\r\n", false, "\r\n"},
        {"x", true, "x\r\n"},
        {"a\r\n\r\nb\r\n  \r\n\t\r\n", true, "a\r\n\r\nb\r\n"},
        {"a\r\n  \r\nb\r\n", false, "a\r\n  \r\nb\r\n"},
        {"8-bit \xc3\xbc  x\r\n", true, "8-bit \xc3\xbc x\r\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct dkim_buf b = {0};
        dkim_canon_body(cases[i].in, strlen(cases[i].in), 0, cases[i].relaxed, &b);
        if (strcmp(b.p ? b.p : "", cases[i].want) != 0)
            fail_msg("case %zu: got '%s', want '%s'", i, b.p ? b.p : "", cases[i].want);
        free(b.p);
    }
}

/* A configuration with the given dkim group text (keys in dir). */
static int load(struct conf *c, const char *dkim, char *err, size_t errlen)
{
    char text[2048];
    snprintf(text, sizeof text, "dkim = { %s };", dkim);
    for (char *p; (p = strstr(text, "DIR"));) { /* DIR -> the key directory */
        char rest[2048];
        snprintf(rest, sizeof rest, "%s%s", dir, p + 3);
        snprintf(p, sizeof text - (size_t)(p - text), "%s", rest);
    }
    conf_init(c);
    return conf_load_text("test.conf", text, strlen(text), c, err, errlen);
}

/* Which entries sign which message. */
static void test_sign_choice(void **state)
{
    (void)state;
    const char *cfg =
        "sign = ( { domain = \"a.test\"; selector = \"r\"; key_file = \"DIR/rsa.pem\"; },"
        "{ domain = \"a.test\"; selector = \"e\"; key_file = \"DIR/ed.pem\";"
        "  algorithm = \"ed25519-sha256\"; },"
        "{ domain = \"b.test\"; selector = \"r\"; key_file = \"DIR/rsa.pem\";"
        "  from_domains = [\"*.b.test\"]; } );";
    struct {
        const char *msg;
        int want;
        const char *why;
    } cases[] = {
        {"From: x <u@a.test>\r\nSubject: s\r\n\r\nbody\r\n", 2, ""},
        {"From: u@A.TEST\r\n\r\n", 2, ""},
        {"From: u@sub.b.test\r\n\r\nb\r\n", 1, ""},
        {"From: u@b.test\r\n\r\nb\r\n", 0, "no dkim.sign entry for From: domain b.test"},
        {"From: u@c.test\r\n\r\n", 0, "no dkim.sign entry"},
        {"From: u@a.test\r\nFrom: v@a.test\r\n\r\n", 0, "more than one From: field"},
        {"Subject: none\r\n\r\n", 0, "no From: field"},
        {"From: u@a.test, v@a.test\r\n\r\n", 0, "From: names no single address"},
    };
    struct conf c;
    char err[512], why[256];
    assert_int_equal(load(&c, cfg, err, sizeof err), 0);
    struct dkim_keys *k = dkim_keys_load(&c, err, sizeof err);
    if (!k)
        fail_msg("keys: %s", err);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *out = NULL;
        size_t outlen = 0;
        why[0] = '\0';
        int n =
            dkim_keys_sign(k, cases[i].msg, strlen(cases[i].msg), &out, &outlen, why, sizeof why);
        if (n != cases[i].want || strstr(why, cases[i].why) == NULL)
            fail_msg("case %zu: got %d '%s', want %d '%s'", i, n, why, cases[i].want, cases[i].why);
        size_t sigs = 0, ml = strlen(cases[i].msg);
        out = out ? realloc(out, outlen + 1) : NULL; /* a string, to search it */
        if (out)
            out[outlen] = '\0';
        for (const char *p = out; p && (p = strstr(p, "DKIM-Signature: v=1;")); p++)
            sigs++;
        if ((int)sigs != n || (n > 0 && memcmp(out + outlen - ml, cases[i].msg, ml) != 0))
            fail_msg("case %zu: got %zu fields before the message, want %d", i, sigs, n);
        if (n > 0 && !strstr(out, "h=From:"))
            fail_msg("case %zu: From not signed: %s", i, out);
        free(out);
    }
    dkim_keys_free(k);
    conf_free(&c);
}

/* Keys that do not load or do not fit their algorithm. */
static void test_key_checks(void **state)
{
    (void)state;
    struct {
        const char *entry;
        const char *want;
    } cases[] = {
        {"key_file = \"DIR/ed.pem\";", "rsa-sha256 needs an RSA key"},
        {"key_file = \"DIR/rsa.pem\"; algorithm = \"ed25519-sha256\";",
         "ed25519-sha256 needs an Ed25519 key"},
        {"key_file = \"DIR/rsa1024.pem\";", "under 2048 bits"},
        {"key_file = \"DIR/missing.pem\";", "cannot open"},
        {"key_file = \"/etc/hostname\";", "not a PEM private key"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char cfg[512], err[512];
        struct conf c;
        snprintf(cfg, sizeof cfg, "sign = ( { domain = \"a.test\"; selector = \"s\"; %s } );",
                 cases[i].entry);
        assert_int_equal(load(&c, cfg, err, sizeof err), 0);
        struct dkim_keys *k = dkim_keys_load(&c, err, sizeof err);
        if (k || !strstr(err, cases[i].want))
            fail_msg("case %zu: got %s '%s', want '%s'", i, k ? "loaded" : "refused", err,
                     cases[i].want);
        conf_free(&c);
    }
}

/* Configuration errors of the dkim group. */
static void test_conf_errors(void **state)
{
    (void)state;
    struct {
        const char *cfg;
        const char *want;
    } cases[] = {
        {"headers = [\"subject\"];", "'dkim.headers' must name from"},
        {"canonicalization = \"loose\";", "bad value for 'dkim.canonicalization'"},
        {"sign = ( { domain = \"a.test\"; key_file = \"k\"; } );",
         "missing key 'dkim.sign[0].selector'"},
        {"sign = ( { domain = \"a.test\"; selector = \"s\"; key_file = \"k\"; algorithm = \"dsa\"; "
         "} );",
         "bad value for 'dkim.sign[0].algorithm'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[512] = "";
        struct conf c;
        int rc = load(&c, cases[i].cfg, err, sizeof err);
        if (rc == 0 || !strstr(err, cases[i].want))
            fail_msg("case %zu: got %d '%s', want '%s'", i, rc, err, cases[i].want);
        conf_free(&c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_canon_header), cmocka_unit_test(test_canon_body),
        cmocka_unit_test(test_sign_choice),  cmocka_unit_test(test_key_checks),
        cmocka_unit_test(test_conf_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
