/* test_esmtp: the ESMTP parameter parser (MAIL/RCPT parameters, xtext, UTF-8), table-driven:
 * each case is a parameter list as cmd_parse() splits it and the expected result. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "proto/cmd.h"
#include "proto/esmtp.h"
#include "queue/record.h"

#define ALL (ESMTP_EXT_SIZE | ESMTP_EXT_8BITMIME | ESMTP_EXT_SMTPUTF8 | ESMTP_EXT_DSN | ESMTP_EXT_DELIVERBY)

/* Splits "A=1 B C=x" into params (in buf). */
static size_t split(char *buf, struct cmd_param *p)
{
    size_t n = 0;
    for (char *tok = strtok(buf, " "); tok && n < CMD_PARAMS_MAX; tok = strtok(NULL, " ")) {
        char *eq = strchr(tok, '=');
        if (eq)
            *eq++ = '\0';
        p[n++] = (struct cmd_param){.name = tok, .value = eq};
    }
    return n;
}

/* Formats a parsed MAIL for comparison. */
static void mail_text(const struct esmtp_mail *m, char *out, size_t len)
{
    snprintf(out, len, "size=%s%llu body=%d utf8=%d ret=%d envid=%s by=%s%lld%c%s",
             m->has_size ? "" : "-", (unsigned long long)m->size, (int)m->body, m->smtputf8,
             (int)m->ret, m->envid, m->has_by ? "" : "-", (long long)m->by_seconds,
             m->by_mode ? m->by_mode : '_', m->by_trace ? "T" : "");
}

static const struct {
    const char *in;
    unsigned allowed;
    int rc;
    const char *want; /* mail_text(), or the name of the bad parameter on error */
} mail_cases[] = {
    {"", ALL, ESMTP_OK, "size=-0 body=0 utf8=0 ret=0 envid= by=-0_"},
    {"SIZE=1000 BODY=8bitmime SMTPUTF8", ALL, ESMTP_OK,
     "size=1000 body=2 utf8=1 ret=0 envid= by=-0_"},
    {"SIZE=99999999999999999999999", ALL, ESMTP_OK,
     "size=18446744073709551615 body=0 utf8=0 ret=0 envid= by=-0_"},
    {"RET=hdrs ENVID=QQ+2B1+3D2", ALL, ESMTP_OK, "size=-0 body=0 utf8=0 ret=2 envid=QQ+1=2 by=-0_"},
    {"RET=FULL", ALL, ESMTP_OK, "size=-0 body=0 utf8=0 ret=1 envid= by=-0_"},
    {"BY=120;R", ALL, ESMTP_OK, "size=-0 body=0 utf8=0 ret=0 envid= by=120R"},
    {"BY=-5;nt", ALL, ESMTP_OK, "size=-0 body=0 utf8=0 ret=0 envid= by=-5NT"},
    {"BY=+999999999;R", ALL, ESMTP_OK, "size=-0 body=0 utf8=0 ret=0 envid= by=999999999R"},
    {"SIZE=1x", ALL, ESMTP_ERR_SYNTAX, "SIZE"},
    {"SIZE", ALL, ESMTP_ERR_SYNTAX, "SIZE"},
    {"SIZE=1 size=2", ALL, ESMTP_ERR_SYNTAX, "size"},
    {"BODY=BINARYMIME", ALL, ESMTP_ERR_SYNTAX, "BODY"},
    {"SMTPUTF8=yes", ALL, ESMTP_ERR_SYNTAX, "SMTPUTF8"},
    {"RET=ALL", ALL, ESMTP_ERR_SYNTAX, "RET"},
    {"ENVID=a+2", ALL, ESMTP_ERR_SYNTAX, "ENVID"},
    {"ENVID=a+0Ab", ALL, ESMTP_ERR_SYNTAX, "ENVID"}, /* decodes to a control character */
    {"ENVID=a+zz", ALL, ESMTP_ERR_SYNTAX, "ENVID"},
    {"BY=0;R", ALL, ESMTP_ERR_SYNTAX, "BY"},
    {"BY=-1;R", ALL, ESMTP_ERR_SYNTAX, "BY"},
    {"BY=1234567890;N", ALL, ESMTP_ERR_SYNTAX, "BY"},
    {"BY=10;X", ALL, ESMTP_ERR_SYNTAX, "BY"},
    {"BY=10;RTT", ALL, ESMTP_ERR_SYNTAX, "BY"},
    {"BY=;R", ALL, ESMTP_ERR_SYNTAX, "BY"},
    {"FOO=1", ALL, ESMTP_ERR_UNKNOWN, "FOO"},
    {"AUTH=<>", ALL, ESMTP_ERR_UNKNOWN, "AUTH"},
    {"RET=FULL", ESMTP_EXT_SIZE, ESMTP_ERR_UNKNOWN, "RET"},
    {"BY=100;R", ALL & ~ESMTP_EXT_DELIVERBY, ESMTP_ERR_UNKNOWN, "BY"},
    {"SIZE=10", 0, ESMTP_ERR_UNKNOWN, "SIZE"},
};

/* MAIL parameters: got the parsed fields or the error, want the table's. */
static void test_mail(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof mail_cases / sizeof mail_cases[0]; i++) {
        char buf[512], got[512];
        struct cmd_param p[CMD_PARAMS_MAX];
        struct esmtp_mail m;
        const char *bad;
        snprintf(buf, sizeof buf, "%s", mail_cases[i].in);
        int rc = esmtp_mail_parse(p, split(buf, p), mail_cases[i].allowed, &m, &bad);
        if (rc == ESMTP_OK)
            mail_text(&m, got, sizeof got);
        else
            snprintf(got, sizeof got, "%s", bad ? bad : "(null)");
        if (rc != mail_cases[i].rc || strcmp(got, mail_cases[i].want) != 0)
            fail_msg("MAIL \"%s\": got %d \"%s\", want %d \"%s\"", mail_cases[i].in, rc, got,
                     mail_cases[i].rc, mail_cases[i].want);
    }
}

static const struct {
    const char *in;
    int rc;
    unsigned notify;
    const char *orcpt;
} rcpt_cases[] = {
    {"", ESMTP_OK, 0, ""},
    {"NOTIFY=NEVER", ESMTP_OK, NOTIFY_NEVER, ""},
    {"NOTIFY=success,Failure,DELAY", ESMTP_OK, NOTIFY_SUCCESS | NOTIFY_FAILURE | NOTIFY_DELAY, ""},
    {"ORCPT=rfc822;a+40b.test NOTIFY=FAILURE", ESMTP_OK, NOTIFY_FAILURE, "rfc822;a@b.test"},
    {"ORCPT=utf-8;j+C3+B6rg@b.test", ESMTP_OK, 0, "utf-8;j\xc3\xb6rg@b.test"},
    {"NOTIFY=NEVER,DELAY", ESMTP_ERR_SYNTAX, 0, ""},
    {"NOTIFY=SUCCESS,SUCCESS", ESMTP_ERR_SYNTAX, 0, ""},
    {"NOTIFY=SUCCESS,", ESMTP_ERR_SYNTAX, 0, ""},
    {"NOTIFY=", ESMTP_ERR_SYNTAX, 0, ""},
    {"NOTIFY=SOMETIMES", ESMTP_ERR_SYNTAX, 0, ""},
    {"ORCPT=rfc822", ESMTP_ERR_SYNTAX, 0, ""},
    {"ORCPT=;a@b", ESMTP_ERR_SYNTAX, 0, ""},
    {"ORCPT=rfc822;", ESMTP_ERR_SYNTAX, 0, ""},
    {"ORCPT=rfc822;a+C3+B6", ESMTP_ERR_SYNTAX, 0, ""}, /* 8-bit in an rfc822 address */
    {"ORCPT=utf-8;a+C3", ESMTP_ERR_SYNTAX, 0, ""},     /* truncated UTF-8 */
    {"ORCPT=rf(c;a", ESMTP_ERR_SYNTAX, 0, ""},
    {"ORCPT=rfc822;a ORCPT=rfc822;b", ESMTP_ERR_SYNTAX, 0, ""},
    {"SIZE=10", ESMTP_ERR_UNKNOWN, 0, ""},
};

/* RCPT parameters: got the NOTIFY bits / ORCPT or the error, want the table's. */
static void test_rcpt(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rcpt_cases / sizeof rcpt_cases[0]; i++) {
        char buf[512];
        struct cmd_param p[CMD_PARAMS_MAX];
        struct esmtp_rcpt r;
        const char *bad;
        snprintf(buf, sizeof buf, "%s", rcpt_cases[i].in);
        int rc = esmtp_rcpt_parse(p, split(buf, p), ESMTP_EXT_DSN, &r, &bad);
        if (rc != rcpt_cases[i].rc ||
            (rc == ESMTP_OK && (r.notify != rcpt_cases[i].notify ||
                                strcmp(r.orcpt, rcpt_cases[i].orcpt) != 0)))
            fail_msg("RCPT \"%s\": got %d notify %u orcpt \"%s\", want %d notify %u orcpt \"%s\"",
                     rcpt_cases[i].in, rc, rc == ESMTP_OK ? r.notify : 0,
                     rc == ESMTP_OK ? r.orcpt : "", rcpt_cases[i].rc, rcpt_cases[i].notify,
                     rcpt_cases[i].orcpt);
    }
}

/* xtext decoding and UTF-8 validation, edge cases. */
static void test_xtext_utf8(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        ssize_t want;
        const char *out;
    } x[] = {{"abc", 3, "abc"},  {"a+2Bb", 3, "a+b"}, {"+41+42", 2, "AB"}, {"+4", -1, ""},
             {"+", -1, ""},      {"a b", -1, ""},     {"a=b", -1, ""},    {"", 0, ""},
             {"abcdefghij", -1, ""}};
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++) {
        char out[8] = "";
        ssize_t n = esmtp_xtext_decode(x[i].in, strlen(x[i].in), out, sizeof out);
        if (n != x[i].want || (n >= 0 && strcmp(out, x[i].out) != 0))
            fail_msg("xtext \"%s\": got %zd \"%s\", want %zd \"%s\"", x[i].in, n, n >= 0 ? out : "",
                     x[i].want, x[i].out);
    }
    static const struct {
        const char *s;
        bool ok;
    } u[] = {{"plain", true},         {"j\xc3\xb6rg", true},    {"\xe7\x94\xa8", true},
             {"\xf0\x9f\x98\x80", true}, {"\xc3", false},       {"\xc0\xaf", false},
             {"\xe0\x80\xaf", false},  {"\xed\xa0\x80", false}, {"\xf4\x90\x80\x80", false},
             {"\xff", false},          {"\x80", false}};
    for (size_t i = 0; i < sizeof u / sizeof u[0]; i++)
        if (esmtp_utf8_valid(u[i].s, strlen(u[i].s)) != u[i].ok)
            fail_msg("utf8 case %zu: got %d, want %d", i, !u[i].ok, u[i].ok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mail),
        cmocka_unit_test(test_rcpt),
        cmocka_unit_test(test_xtext_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
