/* test_dovecot_auth: table-driven tests of proto/dovecot_auth: tab-escaping both ways, the
 * server handshake (order, versions, mechanisms, unknown lines), AUTH/CONT formatting
 * (parameters, escaping, resp last, limits) and OK/CONT/FAIL reply parsing (ids, user=,
 * reason=, temp codes, nologin/proxy, malformed lines). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/dovecot_auth.h"

struct esc_case {
    const char *raw;
    size_t rawlen;
    const char *esc;
};

static const struct esc_case esc_cases[] = {
    {"plain", 5, "plain"},
    {"a\tb", 3, "a\001tb"},
    {"a\nb\rc", 5, "a\001nb\001rc"},
    {"a\001b", 3, "a\0011b"},
    {"a\0b", 3, "a\0010b"},
    {"", 0, ""},
};

/* Escaping and unescaping are inverse. */
static void test_escape(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof esc_cases / sizeof esc_cases[0]; i++) {
        const struct esc_case *tc = &esc_cases[i];
        char out[32], back[32];
        ssize_t n = dovecot_tab_escape(tc->raw, tc->rawlen, out, sizeof out);
        ssize_t m = dovecot_tab_unescape(out, n < 0 ? 0 : (size_t)n, back, sizeof back);
        if (n < 0 || strcmp(out, tc->esc) != 0 || m != (ssize_t)tc->rawlen ||
            memcmp(back, tc->raw, tc->rawlen) != 0) {
            print_message("escape case %zu: got \"%s\" (%zd), back %zd\n", i, out, n, m);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
    char out[8];
    /* other escaped bytes stand for themselves, a trailing escape for nothing */
    assert_int_equal(dovecot_tab_unescape("a\001xb\001", 5, out, sizeof out), 3);
    assert_string_equal(out, "axb");
    assert_int_equal(dovecot_tab_unescape("a\tb", 3, out, sizeof out), -1);
    assert_int_equal(dovecot_tab_unescape("abcdefgh", 8, out, sizeof out), -1);
    assert_int_equal(dovecot_tab_escape("abc\t", 4, out, 5), -1);
}

struct hs_case {
    const char *name;
    const char *lines[8];
    int want[8];
    unsigned mechs; /* when DONE */
};

// clang-format off
static const struct hs_case hs_cases[] = {
    {"dovecot 2.3", {"VERSION\t1\t2", "MECH\tPLAIN\tplaintext", "MECH\tLOGIN\tplaintext",
                     "MECH\tCRAM-MD5\tdictionary\tactive", "SPID\t123", "CUID\t7",
                     "COOKIE\t0123456789abcdef0123456789abcdef", "DONE"},
     {0, 0, 0, 0, 0, 0, 0, 1}, SASL_MECH_PLAIN | SASL_MECH_LOGIN},
    {"no mechs", {"VERSION\t1\t3", "SPID\t1", "DONE"}, {0, 0, 1}, 0},
    {"unknown lines ignored", {"VERSION\t1\t1", "FROBNICATE\tx", "MECH\tEXTERNAL", "DONE"},
     {0, 0, 0, 1}, SASL_MECH_EXTERNAL},
    {"major 2", {"VERSION\t2\t0"}, {-1}, 0},
    {"no version first", {"MECH\tPLAIN"}, {-1}, 0},
    {"version twice", {"VERSION\t1\t2", "VERSION\t1\t2"}, {0, -1}, 0},
    {"malformed version", {"VERSION\t1"}, {-1}, 0},
    {"version not numeric", {"VERSION\tx\t1"}, {-1}, 0},
    {"empty mech", {"VERSION\t1\t2", "MECH\t"}, {0, -1}, 0},
    {"line after done", {"VERSION\t1\t2", "DONE", "MECH\tPLAIN"}, {0, 1, -1}, 0},
};
// clang-format on

/* The handshake accepts Dovecot's lines in order and collects the mechanisms. */
static void test_handshake(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof hs_cases / sizeof hs_cases[0]; i++) {
        const struct hs_case *tc = &hs_cases[i];
        struct dovecot_handshake h = {0};
        for (size_t k = 0; k < 8 && tc->lines[k]; k++) {
            const char *why;
            int got = dovecot_handshake_line(&h, tc->lines[k], strlen(tc->lines[k]), &why);
            if (got != tc->want[k]) {
                print_message("%s line %zu: got %d (%s), want %d\n", tc->name, k, got, why,
                              tc->want[k]);
                bad++;
                break;
            }
            if (got == DOVECOT_HS_DONE && h.mechs != tc->mechs) {
                print_message("%s: mechs got %u, want %u\n", tc->name, h.mechs, tc->mechs);
                bad++;
            }
        }
    }
    assert_int_equal(bad, 0);
}

struct fmt_case {
    struct dovecot_auth_req r;
    const char *want; /* NULL: -1 */
};

static const struct fmt_case fmt_cases[] = {
    {{1, "PLAIN", "smtp", NULL, NULL, false, false, "AHUAcA=="},
     "AUTH\t1\tPLAIN\tservice=smtp\tresp=AHUAcA==\n"},
    {{42, "PLAIN", "smtp", "127.0.0.1", "192.0.2.7", true, true, "AHUAcA=="},
     "AUTH\t42\tPLAIN\tservice=smtp\tlip=127.0.0.1\trip=192.0.2.7\tsecured\tvalid-client-cert"
     "\tresp=AHUAcA==\n"},
    {{4294967295u, "LOGIN", "sm\ttp", NULL, "::1", false, false, NULL},
     "AUTH\t4294967295\tLOGIN\tservice=sm\001ttp\trip=::1\n"},
    {{7, "PLAIN", "smtp", NULL, NULL, false, false, ""},
     "AUTH\t7\tPLAIN\tservice=smtp\tresp=\n"},
    {{0, "PLAIN", "smtp", NULL, NULL, false, false, NULL}, NULL},           /* id 0 */
    {{1, "PL\tAIN", "smtp", NULL, NULL, false, false, NULL}, NULL},         /* tab in mech */
    {{1, "", "smtp", NULL, NULL, false, false, NULL}, NULL},                /* empty mech */
    {{1, "PLAIN", "smtp", NULL, NULL, false, false, "AHU\tx=\tsecured"}, NULL}, /* resp */
};

/* AUTH lines carry every parameter, escaped, with resp last. */
static void test_auth_format(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof fmt_cases / sizeof fmt_cases[0]; i++) {
        char out[256];
        ssize_t n = dovecot_auth_format(&fmt_cases[i].r, out, sizeof out);
        const char *want = fmt_cases[i].want;
        if ((want == NULL) != (n < 0) || (want && strcmp(out, want) != 0)) {
            print_message("auth_format case %zu: got %zd \"%s\"\n", i, n, n >= 0 ? out : "");
            bad++;
        }
    }
    assert_int_equal(bad, 0);
    char out[64];
    struct dovecot_auth_req r = {1, "PLAIN", "smtp", NULL, NULL, false, false, "AAAA"};
    assert_int_equal(dovecot_auth_format(&r, out, 30), -1); /* does not fit */
    char *big = malloc(DOVECOT_LINE_MAX + 1), *line = malloc(DOVECOT_LINE_MAX + 64);
    memset(big, 'A', DOVECOT_LINE_MAX);
    big[DOVECOT_LINE_MAX] = '\0';
    r.resp = big;
    assert_int_equal(dovecot_auth_format(&r, line, DOVECOT_LINE_MAX + 64), -1);
    assert_int_equal(dovecot_cont_format(3, "dXNlcg==", out, sizeof out), 16);
    assert_string_equal(out, "CONT\t3\tdXNlcg==\n");
    assert_int_equal(dovecot_cont_format(3, "a\tb", out, sizeof out), -1);
    assert_int_equal(dovecot_cont_format(0, "", out, sizeof out), -1);
    assert_int_equal(dovecot_hello_format(4242, out, sizeof out), 22);
    assert_string_equal(out, "VERSION\t1\t2\nCPID\t4242\n");
    assert_int_equal(dovecot_hello_format(4242, out, 10), -1);
    free(big);
    free(line);
}

struct reply_case {
    const char *line;
    int want;
    enum dovecot_kind kind;
    uint32_t id;
    const char *user, *reason;
    bool temp, authz, nologin;
};

// clang-format off
static const struct reply_case reply_cases[] = {
    {"OK\t1\tuser=alice", 0, DOVECOT_OK, 1, "alice", "", false, false, false},
    {"OK\t2", 0, DOVECOT_OK, 2, "", "", false, false, false},
    {"OK\t3\tuser=al\001tice\tfoo=bar\tbaz", -1, DOVECOT_OK, 3, "", "", false, false, false},
    {"OK\t3\tuser=a\001lice\tfoo=bar\tbaz", 0, DOVECOT_OK, 3, "alice", "", false, false, false},
    {"OK\t4\tuser=bob\tnologin", 0, DOVECOT_OK, 4, "bob", "", false, false, true},
    {"OK\t4\tuser=bob\tnologin=Y\treason=Go away", 0, DOVECOT_OK, 4, "bob", "Go away", false, false, true},
    {"OK\t5\tuser=bob\tproxy\thost=10.0.0.1", 0, DOVECOT_OK, 5, "bob", "", false, false, true},
    {"OK\t5\tcode=temp_fail", 0, DOVECOT_OK, 5, "", "", false, false, false},
    {"FAIL\t6", 0, DOVECOT_FAIL, 6, "", "", false, false, false},
    {"FAIL\t6\tuser=carol", 0, DOVECOT_FAIL, 6, "carol", "", false, false, false},
    {"FAIL\t7\ttemp", 0, DOVECOT_FAIL, 7, "", "", true, false, false},
    {"FAIL\t7\tcode=temp_fail\treason=db down", 0, DOVECOT_FAIL, 7, "", "db down", true, false, false},
    {"FAIL\t8\tcode=authz_fail", 0, DOVECOT_FAIL, 8, "", "", false, true, false},
    {"FAIL\t9\treason=bad\001nline\x01", 0, DOVECOT_FAIL, 9, "", "bad?line", false, false, false},
    {"FAIL\t9\treason=\xc3\xa9t\xc3\xa9", 0, DOVECOT_FAIL, 9, "", "??t??", false, false, false},
    {"CONT\t10\tVXNlcm5hbWU6", 0, DOVECOT_CONT, 10, "", "", false, false, false},
    {"CONT\t10\t", 0, DOVECOT_CONT, 10, "", "", false, false, false},
    {"CONT\t10", -1, DOVECOT_CONT, 0, "", "", false, false, false},
    {"CONT\t10\tab c", -1, DOVECOT_CONT, 0, "", "", false, false, false},
    {"CONT\t10\tabc\textra", -1, DOVECOT_CONT, 0, "", "", false, false, false},
    {"OK\t4294967295", 0, DOVECOT_OK, 4294967295u, "", "", false, false, false},
    {"OK\t4294967296", -1, DOVECOT_OK, 0, "", "", false, false, false},
    {"OK\t0", -1, DOVECOT_OK, 0, "", "", false, false, false},
    {"OK\t01", -1, DOVECOT_OK, 0, "", "", false, false, false},
    {"OK\t-1", -1, DOVECOT_OK, 0, "", "", false, false, false},
    {"OK\t+1", -1, DOVECOT_OK, 0, "", "", false, false, false},
    {"OK\t", -1, DOVECOT_OK, 0, "", "", false, false, false},
    {"OK", -1, DOVECOT_OK, 0, "", "", false, false, false},
    {"ok\t1", -1, DOVECOT_OK, 0, "", "", false, false, false},
    {"NOTFOUND\t1", -1, DOVECOT_OK, 0, "", "", false, false, false},
    {"", -1, DOVECOT_OK, 0, "", "", false, false, false},
    {"OK\t1\tuser=", -1, DOVECOT_OK, 1, "", "", false, false, false},
    {"OK\t1\tuser=a\0010b", -1, DOVECOT_OK, 1, "", "", false, false, false},
    {"OK\t1\tuser=a\001rb", -1, DOVECOT_OK, 1, "", "", false, false, false},
};
// clang-format on

/* Replies parse into kind, id and the parameters sluice acts on. */
static void test_reply(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof reply_cases / sizeof reply_cases[0]; i++) {
        const struct reply_case *tc = &reply_cases[i];
        struct dovecot_reply r;
        int got = dovecot_reply_parse(tc->line, strlen(tc->line), &r);
        if (got != tc->want) {
            print_message("reply(\"%s\"): got %d, want %d\n", tc->line, got, tc->want);
            bad++;
            continue;
        }
        if (got < 0)
            continue;
        if (r.kind != tc->kind || r.id != tc->id || strcmp(r.user, tc->user) != 0 ||
            strcmp(r.reason, tc->reason) != 0 || r.temp != tc->temp || r.authz != tc->authz ||
            r.nologin != tc->nologin) {
            print_message("reply(\"%s\"): got kind %d id %u user \"%s\" reason \"%s\" "
                          "temp %d authz %d nologin %d\n",
                          tc->line, r.kind, r.id, r.user, r.reason, r.temp, r.authz,
                          r.nologin);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
}

/* Limits: line length, field count; a long reason is cut. */
static void test_reply_limits(void **state)
{
    (void)state;
    struct dovecot_reply r;
    char *line = malloc(DOVECOT_LINE_MAX + 2);
    memcpy(line, "FAIL\t1\treason=", 14);
    memset(line + 14, 'x', DOVECOT_LINE_MAX - 14);
    assert_int_equal(dovecot_reply_parse(line, DOVECOT_LINE_MAX, &r), 0);
    assert_int_equal(strlen(r.reason), DOVECOT_REASON_MAX);
    line[DOVECOT_LINE_MAX] = 'x';
    assert_int_equal(dovecot_reply_parse(line, DOVECOT_LINE_MAX + 1, &r), -1);
    size_t n = (size_t)sprintf(line, "OK\t1");
    for (int i = 0; i < DOVECOT_FIELDS_MAX - 2; i++)
        n += (size_t)sprintf(line + n, "\tx");
    assert_int_equal(dovecot_reply_parse(line, n, &r), 0);
    n += (size_t)sprintf(line + n, "\tx");
    assert_int_equal(dovecot_reply_parse(line, n, &r), -1);
    assert_int_equal(dovecot_reply_parse("OK\t1\n", 5, &r), -1);
    assert_int_equal(dovecot_reply_parse("OK\t1\0x", 6, &r), -1);
    free(line);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape),      cmocka_unit_test(test_handshake),
        cmocka_unit_test(test_auth_format), cmocka_unit_test(test_reply),
        cmocka_unit_test(test_reply_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
