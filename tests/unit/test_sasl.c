/* test_sasl: table-driven tests of proto/sasl: strict base64 (padding, alphabet, canonical
 * bits, limits), the server exchange for PLAIN and LOGIN (initial responses, "=", "*",
 * NULs, empty and over-long fields, unknown or not offered mechanisms, over-long lines), the
 * client formatting (AUTH line, PLAIN message, LOGIN answers), AUTH= values and the reply
 * table. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/sasl.h"

struct b64_case {
    const char *in;
    ssize_t want; /* decoded length or -1 */
    const char *out;
};

static const struct b64_case b64_cases[] = {
    {"", 0, ""},          {"Zg==", 1, "f"},          {"Zm8=", 2, "fo"},
    {"Zm9v", 3, "foo"},   {"Zm9vYmFy", 6, "foobar"}, {"Zh==", -1, NULL}, /* non-zero unused bits */
    {"Zm9=", -1, NULL},                                                  /* non-zero unused bits */
    {"Zg=", -1, NULL},                                                   /* not a multiple of 4 */
    {"Zg", -1, NULL},                                                    /* missing padding */
    {"Z===", -1, NULL},                                                  /* three pads */
    {"====", -1, NULL},   {"Zg==Zg==", -1, NULL},                        /* padding in the middle */
    {"Zm9v\n", -1, NULL}, {" Zm9v", -1, NULL},       {"Zm9v ", -1, NULL},
    {"Zm-v", -1, NULL}, /* URL-safe alphabet is not base64 */
    {"Zm_v", -1, NULL},   {"Zm9v!A==", -1, NULL},    {"AAECAwQF", 6, "\0\1\2\3\4\5"},
};

/* Decoding is strict and gives the bytes. */
static void test_b64_decode(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof b64_cases / sizeof b64_cases[0]; i++) {
        const struct b64_case *tc = &b64_cases[i];
        unsigned char out[64];
        ssize_t got = sasl_b64_decode(tc->in, strlen(tc->in), out, sizeof out);
        if (got != tc->want || (got > 0 && memcmp(out, tc->out, (size_t)got) != 0)) {
            print_message("decode(\"%s\"): got %zd, want %zd\n", tc->in, got, tc->want);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
}

/* Limits: output capacity, line maximum; encode round trip. */
static void test_b64_limits(void **state)
{
    (void)state;
    unsigned char out[4];
    assert_int_equal(sasl_b64_decode("Zm9vYmFy", 8, out, 3), -1);
    assert_int_equal(sasl_b64_decode("Zm9v", 4, out, 3), 3);
    char *big = malloc(SASL_LINE_MAX + 5);
    unsigned char *dec = malloc(SASL_DECODED_MAX + 3);
    memset(big, 'A', SASL_LINE_MAX + 4);
    assert_int_equal(sasl_b64_decode(big, SASL_LINE_MAX, dec, SASL_DECODED_MAX), SASL_DECODED_MAX);
    assert_int_equal(sasl_b64_decode(big, SASL_LINE_MAX + 4, dec, SASL_DECODED_MAX + 3), -1);
    char enc[16];
    assert_int_equal(sasl_b64_encode((const unsigned char *)"foob", 4, enc, sizeof enc), 8);
    assert_string_equal(enc, "Zm9vYg==");
    assert_int_equal(sasl_b64_encode((const unsigned char *)"foob", 4, enc, 8), -1);
    assert_int_equal(sasl_b64_encode((const unsigned char *)"", 0, enc, 1), 0);
    assert_string_equal(enc, "");
    free(big);
    free(dec);
}

/* One AUTH exchange: the argument, then the client's lines; the outcome of each step. */
struct ex_case {
    const char *name;
    const char *arg;
    unsigned offered;
    const char *lines[3];
    int want[4];                            /* result of start, then of each line */
    const char *challenge[4];               /* challenge after each SASL_CONTINUE */
    const char *authzid, *authcid, *passwd; /* when the last result is SASL_DONE */
};

#define BOTH (SASL_MECH_PLAIN | SASL_MECH_LOGIN)
/* base64 of "\0user\0pass" and friends */
#define P_USER_PASS "AHVzZXIAcGFzcw=="
// clang-format off
static const struct ex_case ex_cases[] = {
    {"plain ir", "PLAIN " P_USER_PASS, BOTH, {NULL}, {SASL_DONE}, {NULL}, "", "user", "pass"},
    {"plain lower-case mech", "plain " P_USER_PASS, BOTH, {NULL}, {SASL_DONE}, {NULL}, "", "user", "pass"},
    {"plain authzid", "PLAIN YWRtaW4AdXNlcgBwYXNz", BOTH, {NULL}, {SASL_DONE}, {NULL}, "admin", "user", "pass"},
    {"plain no ir", "PLAIN", BOTH, {P_USER_PASS}, {SASL_CONTINUE, SASL_DONE}, {""}, "", "user", "pass"},
    {"plain empty ir", "PLAIN =", BOTH, {NULL}, {SASL_ERR_SYNTAX}, {NULL}, NULL, NULL, NULL},
    {"plain one nul", "PLAIN dXNlcgBwYXNz", BOTH, {NULL}, {SASL_ERR_SYNTAX}, {NULL}, NULL, NULL, NULL},
    {"plain three nuls", "PLAIN AHVzZXIAcGFzcwB4", BOTH, {NULL}, {SASL_ERR_SYNTAX}, {NULL}, NULL, NULL, NULL},
    {"plain empty user", "PLAIN AABwYXNz", BOTH, {NULL}, {SASL_ERR_SYNTAX}, {NULL}, NULL, NULL, NULL},
    {"plain empty pass", "PLAIN AHVzZXIA", BOTH, {NULL}, {SASL_ERR_SYNTAX}, {NULL}, NULL, NULL, NULL},
    {"plain ctl in user", "PLAIN AHUKcwBwYXNz", BOTH, {NULL}, {SASL_ERR_FIELD}, {NULL}, NULL, NULL, NULL},
    {"plain bad utf8 user", "PLAIN AHX/cwBwYXNz", BOTH, {NULL}, {SASL_ERR_FIELD}, {NULL}, NULL, NULL, NULL},
    {"plain 8bit pass", "PLAIN AHVzZXIAcP9zcw==", BOTH, {NULL}, {SASL_DONE}, {NULL}, "", "user", "p\xffss"},
    {"plain bad base64", "PLAIN AHVzZXIAcGFzcw=", BOTH, {NULL}, {SASL_ERR_BASE64}, {NULL}, NULL, NULL, NULL},
    {"plain cancel", "PLAIN", BOTH, {"*"}, {SASL_CONTINUE, SASL_ERR_CANCEL}, {""}, NULL, NULL, NULL},
    {"plain bad line", "PLAIN", BOTH, {"%%%%"}, {SASL_CONTINUE, SASL_ERR_BASE64}, {""}, NULL, NULL, NULL},
    {"plain empty line", "PLAIN", BOTH, {""}, {SASL_CONTINUE, SASL_ERR_SYNTAX}, {""}, NULL, NULL, NULL},
    {"login", "LOGIN", BOTH, {"dXNlcg==", "cGFzcw=="}, {SASL_CONTINUE, SASL_CONTINUE, SASL_DONE}, {"VXNlcm5hbWU6", "UGFzc3dvcmQ6"}, "", "user", "pass"},
    {"login ir", "LOGIN dXNlcg==", BOTH, {"cGFzcw=="}, {SASL_CONTINUE, SASL_DONE}, {"UGFzc3dvcmQ6"}, "", "user", "pass"},
    {"login empty ir", "LOGIN =", BOTH, {NULL}, {SASL_ERR_FIELD}, {NULL}, NULL, NULL, NULL},
    {"login cancel at password", "LOGIN", BOTH, {"dXNlcg==", "*"}, {SASL_CONTINUE, SASL_CONTINUE, SASL_ERR_CANCEL}, {"VXNlcm5hbWU6", "UGFzc3dvcmQ6"}, NULL, NULL, NULL},
    {"login empty password", "LOGIN", BOTH, {"dXNlcg==", ""}, {SASL_CONTINUE, SASL_CONTINUE, SASL_ERR_FIELD}, {"VXNlcm5hbWU6", "UGFzc3dvcmQ6"}, NULL, NULL, NULL},
    {"login nul in user", "LOGIN", BOTH, {"dQBy"}, {SASL_CONTINUE, SASL_ERR_FIELD}, {"VXNlcm5hbWU6"}, NULL, NULL, NULL},
    {"login nul in password", "LOGIN dXNlcg==", BOTH, {"cABz"}, {SASL_CONTINUE, SASL_ERR_FIELD}, {"UGFzc3dvcmQ6"}, NULL, NULL, NULL},
    {"login not offered", "LOGIN", SASL_MECH_PLAIN, {NULL}, {SASL_ERR_MECH}, {NULL}, NULL, NULL, NULL},
    {"unknown mech", "CRAM-MD5", BOTH, {NULL}, {SASL_ERR_MECH}, {NULL}, NULL, NULL, NULL},
    {"external not served", "EXTERNAL =", BOTH | SASL_MECH_EXTERNAL, {NULL}, {SASL_ERR_MECH}, {NULL}, NULL, NULL, NULL},
    {"empty arg", "", BOTH, {NULL}, {SASL_ERR_SYNTAX}, {NULL}, NULL, NULL, NULL},
    {"bad mech chars", "PL@IN", BOTH, {NULL}, {SASL_ERR_SYNTAX}, {NULL}, NULL, NULL, NULL},
    {"mech too long", "ABCDEFGHIJKLMNOPQRSTU", BOTH, {NULL}, {SASL_ERR_SYNTAX}, {NULL}, NULL, NULL, NULL},
    {"trailing space", "PLAIN ", BOTH, {NULL}, {SASL_ERR_SYNTAX}, {NULL}, NULL, NULL, NULL},
    {"two args", "PLAIN " P_USER_PASS " x", BOTH, {NULL}, {SASL_ERR_SYNTAX}, {NULL}, NULL, NULL, NULL},
    {"leading space", " PLAIN", BOTH, {NULL}, {SASL_ERR_SYNTAX}, {NULL}, NULL, NULL, NULL},
};
// clang-format on

/* Runs one exchange case; returns the number of mismatches (printed). */
static int ex_run(const struct ex_case *tc)
{
    struct sasl_server s;
    const char *ch = NULL;
    int r = sasl_server_start(&s, tc->arg, strlen(tc->arg), tc->offered, &ch);
    for (size_t i = 0;; i++) {
        if (r != tc->want[i]) {
            print_message("%s: step %zu: got %d, want %d\n", tc->name, i, r, tc->want[i]);
            return 1;
        }
        if (r != SASL_CONTINUE)
            break;
        if (strcmp(ch, tc->challenge[i]) != 0) {
            print_message("%s: challenge %zu: got \"%s\", want \"%s\"\n", tc->name, i, ch,
                          tc->challenge[i]);
            return 1;
        }
        r = sasl_server_step(&s, tc->lines[i], strlen(tc->lines[i]), &ch);
    }
    if (r == SASL_DONE &&
        (strcmp(s.creds.authzid, tc->authzid) != 0 || strcmp(s.creds.authcid, tc->authcid) != 0 ||
         strcmp(s.creds.passwd, tc->passwd) != 0)) {
        print_message("%s: got \"%s\"/\"%s\"/\"%s\"\n", tc->name, s.creds.authzid, s.creds.authcid,
                      s.creds.passwd);
        return 1;
    }
    if (r < 0 && (s.creds.passwd[0] != '\0' || s.mech != SASL_MECH_NONE)) {
        print_message("%s: failed exchange left credentials\n", tc->name);
        return 1;
    }
    sasl_server_clear(&s);
    return 0;
}

/* Every exchange gives its outcomes, challenges and credentials. */
static void test_exchange(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof ex_cases / sizeof ex_cases[0]; i++)
        bad += ex_run(&ex_cases[i]);
    assert_int_equal(bad, 0);
}

/* Field and line limits: 255-byte fields pass, 256 fail; 12288-byte lines pass, more fail. */
static void test_limits(void **state)
{
    (void)state;
    unsigned char msg[2 + 3 * 256];
    char b64[1100], arg[1200];
    struct sasl_server s;
    const char *ch;
    for (size_t flen = 255; flen <= 256; flen++) {
        size_t n = 0;
        msg[n++] = '\0';
        memset(msg + n, 'u', flen), n += flen;
        msg[n++] = '\0';
        memset(msg + n, 'p', flen), n += flen;
        assert_true(sasl_b64_encode(msg, n, b64, sizeof b64) > 0);
        snprintf(arg, sizeof arg, "PLAIN %s", b64);
        int want = flen == 255 ? SASL_DONE : SASL_ERR_FIELD;
        assert_int_equal(sasl_server_start(&s, arg, strlen(arg), BOTH, &ch), want);
        sasl_server_clear(&s);
    }
    char *line = malloc(SASL_LINE_MAX + 2);
    memset(line, 'A', SASL_LINE_MAX + 1);
    assert_int_equal(sasl_server_start(&s, "PLAIN", 5, BOTH, &ch), SASL_CONTINUE);
    assert_int_equal(sasl_server_step(&s, line, SASL_LINE_MAX + 1, &ch), SASL_ERR_TOOLONG);
    assert_int_equal(sasl_server_start(&s, "PLAIN", 5, BOTH, &ch), SASL_CONTINUE);
    /* a full line of valid base64 decodes, then fails as a PLAIN message (no NULs) */
    assert_int_equal(sasl_server_step(&s, line, SASL_LINE_MAX, &ch), SASL_ERR_SYNTAX);
    assert_int_equal(sasl_server_step(&s, "*", 1, &ch), SASL_ERR_STATE);
    memcpy(line, "PLAIN ", 6);
    assert_int_equal(sasl_server_start(&s, line, SASL_LINE_MAX + 1, BOTH, &ch), SASL_ERR_TOOLONG);
    free(line);
}

struct plainfmt_case {
    const char *authzid, *user, *pass;
    const char *want; /* NULL: -1 */
};

static const struct plainfmt_case plainfmt_cases[] = {
    {NULL, "user", "pass", P_USER_PASS},
    {"", "user", "pass", P_USER_PASS},
    {"admin", "user", "pass", "YWRtaW4AdXNlcgBwYXNz"},
    {NULL, "", "pass", NULL},
    {NULL, "user", "", NULL},
};

/* The client's PLAIN message, and its round trip through the server. */
static void test_plain_format(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof plainfmt_cases / sizeof plainfmt_cases[0]; i++) {
        const struct plainfmt_case *tc = &plainfmt_cases[i];
        char out[128];
        ssize_t n = sasl_plain_format(tc->authzid, tc->user, tc->pass, out, sizeof out);
        if ((tc->want == NULL) != (n < 0) || (tc->want && strcmp(out, tc->want) != 0)) {
            print_message("plain_format(%s): got %zd \"%s\", want %s\n", tc->user, n,
                          n >= 0 ? out : "", tc->want ? tc->want : "-1");
            bad++;
        }
    }
    assert_int_equal(bad, 0);
    char out[8];
    assert_int_equal(sasl_plain_format(NULL, "user", "pass", out, sizeof out), -1);
}

struct auth_case {
    enum sasl_mech m;
    const char *ir;
    const char *want;
};

static const struct auth_case auth_cases[] = {
    {SASL_MECH_PLAIN, P_USER_PASS, "AUTH PLAIN " P_USER_PASS},
    {SASL_MECH_PLAIN, NULL, "AUTH PLAIN"},
    {SASL_MECH_LOGIN, NULL, "AUTH LOGIN"},
    {SASL_MECH_EXTERNAL, "", "AUTH EXTERNAL ="},
    {SASL_MECH_NONE, NULL, NULL},
};

/* The client's AUTH line. */
static void test_client_auth(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof auth_cases / sizeof auth_cases[0]; i++) {
        char out[64];
        ssize_t n = sasl_client_auth(auth_cases[i].m, auth_cases[i].ir, out, sizeof out);
        const char *want = auth_cases[i].want;
        if ((want == NULL) != (n < 0) || (want && strcmp(out, want) != 0)) {
            print_message("client_auth(%d): got %zd, want %s\n", auth_cases[i].m, n,
                          want ? want : "-1");
            bad++;
        }
    }
    assert_int_equal(bad, 0);
    char *big = malloc(SASL_LINE_MAX + 1), *out = malloc(SASL_LINE_MAX + 64);
    memset(big, 'A', SASL_LINE_MAX);
    big[SASL_LINE_MAX - 11] = '\0'; /* "AUTH PLAIN " + 12277 = 12288 */
    assert_int_equal(sasl_client_auth(SASL_MECH_PLAIN, big, out, SASL_LINE_MAX + 64),
                     SASL_LINE_MAX);
    big[SASL_LINE_MAX - 11] = 'A';
    big[SASL_LINE_MAX - 10] = '\0';
    assert_int_equal(sasl_client_auth(SASL_MECH_PLAIN, big, out, SASL_LINE_MAX + 64), -1);
    free(big);
    free(out);
}

struct login_case {
    unsigned step;
    const char *challenge;
    const char *want; /* NULL: -1 */
};

static const struct login_case login_cases[] = {
    {0, SASL_LOGIN_PROMPT_USER, "dXNlcg=="},
    {1, SASL_LOGIN_PROMPT_PASS, "cGFzcw=="},
    {0, SASL_LOGIN_PROMPT_PASS, "cGFzcw=="}, /* the prompt's text wins */
    {1, "VXNlciBOYW1lAA==", "dXNlcg=="},     /* "User Name\0" */
    {0, "", "dXNlcg=="},                     /* no text: by step */
    {1, "", "cGFzcw=="},
    {2, SASL_LOGIN_PROMPT_PASS, NULL},
    {0, "VXNlcm5hbWU", NULL}, /* bad base64 */
};

/* The client's LOGIN answers. */
static void test_login_step(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof login_cases / sizeof login_cases[0]; i++) {
        const struct login_case *tc = &login_cases[i];
        char out[64];
        ssize_t n = sasl_login_step(tc->step, tc->challenge, strlen(tc->challenge), "user", "pass",
                                    out, sizeof out);
        if ((tc->want == NULL) != (n < 0) || (tc->want && strcmp(out, tc->want) != 0)) {
            print_message("login_step(%u, %s): got %zd, want %s\n", tc->step, tc->challenge, n,
                          tc->want ? tc->want : "-1");
            bad++;
        }
    }
    assert_int_equal(bad, 0);
}

struct mailauth_case {
    const char *value;
    ssize_t want;
    const char *out;
};

static const struct mailauth_case mailauth_cases[] = {
    {"<>", 0, ""},
    {"user@example.com", 16, "user@example.com"},
    {"e+3Dmc2@example.com", 17, "e=mc2@example.com"},
    {"a+2Bb@x", 5, "a+b@x"},
    {"a+20b@x", 5, "a b@x"},
    {"", -1, NULL},
    {"a=b", -1, NULL},
    {"a+0Ab", -1, NULL}, /* decodes to a control character */
    {"a+FFb", -1, NULL}, /* decodes to 8-bit */
    {"a+2", -1, NULL},
    {"<", 1, "<"}, /* any xtext, as Postfix: some clients send a bare user name */
    {"a b", -1, NULL},
    {"+3C>", 2, "<>"}, /* a mailbox spelled "<>" is not the unknown identity */
};

/* AUTH= values decode, "<>" is the unknown identity; encoding round-trips. */
static void test_mail_auth(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof mailauth_cases / sizeof mailauth_cases[0]; i++) {
        const struct mailauth_case *tc = &mailauth_cases[i];
        char out[64], enc[192], back[64];
        ssize_t n = sasl_mail_auth_parse(tc->value, strlen(tc->value), out, sizeof out);
        if (n != tc->want || (n >= 0 && strcmp(out, tc->out) != 0)) {
            print_message("mail_auth_parse(%s): got %zd, want %zd\n", tc->value, n, tc->want);
            bad++;
            continue;
        }
        if (n < 0)
            continue;
        ssize_t e = sasl_mail_auth_format(out, enc, sizeof enc);
        if (e < 0 || sasl_mail_auth_parse(enc, (size_t)e, back, sizeof back) != n ||
            strcmp(back, out) != 0) {
            print_message("mail_auth round trip of %s failed (%s)\n", tc->value, enc);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
    char enc[8];
    assert_int_equal(sasl_mail_auth_format(NULL, enc, sizeof enc), 2);
    assert_string_equal(enc, "<>");
    assert_int_equal(sasl_mail_auth_format("a\tb", enc, sizeof enc), -1);
    assert_int_equal(sasl_mail_auth_format("abcdefgh", enc, sizeof enc), -1);
    assert_int_equal(sasl_mail_auth_format("<>", enc, sizeof enc), 4);
    assert_string_equal(enc, "+3C>");
}

struct reply_case {
    int what;
    const char *prefix;
};

static const struct reply_case reply_cases[] = {
    {SASL_ERR_SYNTAX, "501 5.5.2 "},     {SASL_ERR_MECH, "504 5.5.4 "},
    {SASL_ERR_BASE64, "501 5.5.2 "},     {SASL_ERR_CANCEL, "501 5.0.0 "},
    {SASL_ERR_TOOLONG, "500 5.5.6 "},    {SASL_ERR_FIELD, "501 5.5.2 "},
    {SASL_ERR_STATE, "503 5.5.1 "},      {SASL_REPLY_OK, "235 2.7.0 "},
    {SASL_REPLY_INVALID, "535 5.7.8 "},  {SASL_REPLY_TEMPFAIL, "454 4.7.0 "},
    {SASL_REPLY_REQUIRED, "530 5.7.0 "}, {SASL_REPLY_ENCRYPTION, "538 5.7.11 "},
    {SASL_REPLY_ALREADY, "503 5.5.1 "},  {SASL_REPLY_IN_TRANSACTION, "503 5.5.1 "},
};

/* Each status has its RFC 4954 reply. */
static void test_reply(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof reply_cases / sizeof reply_cases[0]; i++) {
        const char *got = sasl_reply(reply_cases[i].what);
        if (strncmp(got, reply_cases[i].prefix, strlen(reply_cases[i].prefix)) != 0) {
            print_message("sasl_reply(%d): got \"%s\", want %s...\n", reply_cases[i].what, got,
                          reply_cases[i].prefix);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_b64_decode),   cmocka_unit_test(test_b64_limits),
        cmocka_unit_test(test_exchange),     cmocka_unit_test(test_limits),
        cmocka_unit_test(test_plain_format), cmocka_unit_test(test_client_auth),
        cmocka_unit_test(test_login_step),   cmocka_unit_test(test_mail_auth),
        cmocka_unit_test(test_reply),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
