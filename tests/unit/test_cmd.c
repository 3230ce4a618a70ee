/* test_cmd: table-driven tests of cmd_parse: every verb, argument rules, MAIL/RCPT paths and
 * ESMTP parameters in strict and sloppy mode, length and NUL limits. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/cmd.h"

#define S 0 /* strict */
#define L 1 /* sloppy */
#define U 2 /* utf8 */

struct cmd_case {
    const char *in;
    int opts;
    int want;
    enum cmd_verb verb;
    const char *arg;    /* checked when want == CMD_OK */
    const char *addr;   /* checked when want == CMD_OK */
    const char *params; /* "name=value name" rendering, checked when want == CMD_OK */
};

static const struct cmd_case cmd_cases[] = {
    /* HELO / EHLO */
    {"HELO mx.example.com", S, CMD_OK, CMD_HELO, "mx.example.com", "", ""},
    {"ehlo mx.example.com", S, CMD_OK, CMD_EHLO, "mx.example.com", "", ""},
    {"EhLo [192.0.2.1]", S, CMD_OK, CMD_EHLO, "[192.0.2.1]", "", ""},
    {"EHLO   spaced  ", S, CMD_OK, CMD_EHLO, "spaced", "", ""},
    {"EHLO two words", S, CMD_OK, CMD_EHLO, "two words", "", ""},
    {"EHLO", S, CMD_ERR_ARGS, CMD_EHLO, NULL, NULL, NULL},
    {"EHLO ", S, CMD_ERR_ARGS, CMD_EHLO, NULL, NULL, NULL},
    {"HELO", S, CMD_ERR_ARGS, CMD_HELO, NULL, NULL, NULL},
    {"HELO    ", L, CMD_ERR_ARGS, CMD_HELO, NULL, NULL, NULL},
    {"EHLO a\rb", S, CMD_ERR_ARGS, CMD_EHLO, NULL, NULL, NULL},
    {"EHLO a\x1b[2J", S, CMD_ERR_ARGS, CMD_EHLO, NULL, NULL, NULL},
    {"EHLO a\x7f", S, CMD_ERR_ARGS, CMD_EHLO, NULL, NULL, NULL},
    {"EHLO a\tb", S, CMD_OK, CMD_EHLO, "a\tb", "", ""},
    {"EHLOmx", S, CMD_ERR_SYNTAX, CMD_UNKNOWN, NULL, NULL, NULL},
    {"EHLO\tmx", S, CMD_ERR_SYNTAX, CMD_UNKNOWN, NULL, NULL, NULL},
    /* no-argument verbs */
    {"DATA", S, CMD_OK, CMD_DATA, "", "", ""},
    {"data", S, CMD_OK, CMD_DATA, "", "", ""},
    {"RSET", S, CMD_OK, CMD_RSET, "", "", ""},
    {"QUIT", S, CMD_OK, CMD_QUIT, "", "", ""},
    {"QUIT ", S, CMD_OK, CMD_QUIT, "", "", ""},
    {"STARTTLS", S, CMD_OK, CMD_STARTTLS, "", "", ""},
    {"starttls", S, CMD_OK, CMD_STARTTLS, "", "", ""},
    {"DATA x", S, CMD_ERR_ARGS, CMD_DATA, NULL, NULL, NULL},
    {"RSET now", S, CMD_ERR_ARGS, CMD_RSET, NULL, NULL, NULL},
    {"QUIT bye", S, CMD_ERR_ARGS, CMD_QUIT, NULL, NULL, NULL},
    {"STARTTLS x", S, CMD_ERR_ARGS, CMD_STARTTLS, NULL, NULL, NULL},
    {"DATAX", S, CMD_ERR_SYNTAX, CMD_UNKNOWN, NULL, NULL, NULL},
    {"DAT", S, CMD_ERR_SYNTAX, CMD_UNKNOWN, NULL, NULL, NULL},
    /* optional-argument verbs */
    {"NOOP", S, CMD_OK, CMD_NOOP, "", "", ""},
    {"NOOP hello there", S, CMD_OK, CMD_NOOP, "hello there", "", ""},
    {"HELP", S, CMD_OK, CMD_HELP, "", "", ""},
    {"HELP MAIL", S, CMD_OK, CMD_HELP, "MAIL", "", ""},
    {"NOOP \x01", S, CMD_ERR_ARGS, CMD_NOOP, NULL, NULL, NULL},
    /* required-argument verbs */
    {"VRFY postmaster", S, CMD_OK, CMD_VRFY, "postmaster", "", ""},
    {"VRFY", S, CMD_ERR_ARGS, CMD_VRFY, NULL, NULL, NULL},
    {"EXPN list", S, CMD_OK, CMD_EXPN, "list", "", ""},
    {"EXPN", S, CMD_ERR_ARGS, CMD_EXPN, NULL, NULL, NULL},
    {"AUTH PLAIN dGVzdAB0ZXN0AHRlc3Q=", S, CMD_OK, CMD_AUTH, "PLAIN dGVzdAB0ZXN0AHRlc3Q=", "", ""},
    {"AUTH", S, CMD_ERR_ARGS, CMD_AUTH, NULL, NULL, NULL},
    {"ETRN example.com", S, CMD_OK, CMD_ETRN, "example.com", "", ""},
    {"ETRN", S, CMD_ERR_ARGS, CMD_ETRN, NULL, NULL, NULL},
    /* BDAT */
    {"BDAT 1000", S, CMD_OK, CMD_BDAT, "1000", "", ""},
    {"BDAT 0 LAST", S, CMD_OK, CMD_BDAT, "0 LAST", "", ""},
    {"bdat 12 last", S, CMD_OK, CMD_BDAT, "12 last", "", ""},
    {"BDAT 12345678901234567890", S, CMD_OK, CMD_BDAT, "12345678901234567890", "", ""},
    {"BDAT 123456789012345678901", S, CMD_ERR_ARGS, CMD_BDAT, NULL, NULL, NULL},
    {"BDAT", S, CMD_ERR_ARGS, CMD_BDAT, NULL, NULL, NULL},
    {"BDAT x", S, CMD_ERR_ARGS, CMD_BDAT, NULL, NULL, NULL},
    {"BDAT -1", S, CMD_ERR_ARGS, CMD_BDAT, NULL, NULL, NULL},
    {"BDAT 10 FIRST", S, CMD_ERR_ARGS, CMD_BDAT, NULL, NULL, NULL},
    {"BDAT 10 LASTX", S, CMD_ERR_ARGS, CMD_BDAT, NULL, NULL, NULL},
    {"BDAT 10  LAST", S, CMD_ERR_ARGS, CMD_BDAT, NULL, NULL, NULL},
    {"BDAT 10x", S, CMD_ERR_ARGS, CMD_BDAT, NULL, NULL, NULL},
    /* MAIL */
    {"MAIL FROM:<a@b.c>", S, CMD_OK, CMD_MAIL, "", "a@b.c", ""},
    {"mail from:<A@B.C>", S, CMD_OK, CMD_MAIL, "", "A@b.c", ""},
    {"MAIL FROM:<>", S, CMD_OK, CMD_MAIL, "", "", ""},
    {"MAIL FROM:<a@b> SIZE=123 BODY=8BITMIME", S, CMD_OK, CMD_MAIL, "", "a@b", "SIZE=123 BODY=8BITMIME"},
    {"MAIL FROM:<> SIZE=0", S, CMD_OK, CMD_MAIL, "", "", "SIZE=0"},
    {"MAIL FROM:<a@b> SMTPUTF8", S, CMD_OK, CMD_MAIL, "", "a@b", "SMTPUTF8"},
    {"MAIL FROM:<a@b> RET=HDRS ENVID=QQ314159", S, CMD_OK, CMD_MAIL, "", "a@b", "RET=HDRS ENVID=QQ314159"},
    {"MAIL FROM:<a@b> AUTH=<>", S, CMD_OK, CMD_MAIL, "", "a@b", "AUTH=<>"},
    {"MAIL FROM:<a@b> X-Y-1=a+20b", S, CMD_OK, CMD_MAIL, "", "a@b", "X-Y-1=a+20b"},
    {"MAIL FROM:<@r.example:a@b>", S, CMD_OK, CMD_MAIL, "", "a@b", ""},
    {"MAIL FROM: <a@b>", S, CMD_ERR_ARGS, CMD_MAIL, NULL, NULL, NULL},
    {"MAIL FROM: <a@b>", L, CMD_OK, CMD_MAIL, "", "a@b", ""},
    {"MAIL  FROM:<a@b>", S, CMD_ERR_ARGS, CMD_MAIL, NULL, NULL, NULL},
    {"MAIL  FROM:<a@b>", L, CMD_OK, CMD_MAIL, "", "a@b", ""},
    {"MAIL FROM:a@b", S, CMD_ERR_ARGS, CMD_MAIL, NULL, NULL, NULL},
    {"MAIL FROM:a@b SIZE=5", L, CMD_OK, CMD_MAIL, "", "a@b", "SIZE=5"},
    {"MAIL FROM:<a@b>  SIZE=5", S, CMD_ERR_ARGS, CMD_MAIL, NULL, NULL, NULL},
    {"MAIL FROM:<a@b>  SIZE=5  BODY=7BIT  ", L, CMD_OK, CMD_MAIL, "", "a@b", "SIZE=5 BODY=7BIT"},
    {"MAIL FROM:<a@b> ", S, CMD_ERR_ARGS, CMD_MAIL, NULL, NULL, NULL},
    {"MAIL FROM:<a@b> ", L, CMD_OK, CMD_MAIL, "", "a@b", ""},
    {"MAIL FROM:<a@b>SIZE=5", S, CMD_ERR_ARGS, CMD_MAIL, NULL, NULL, NULL},
    {"MAIL FROM:<a@b> SIZE=", S, CMD_ERR_ARGS, CMD_MAIL, NULL, NULL, NULL},
    {"MAIL FROM:<a@b> =5", S, CMD_ERR_ARGS, CMD_MAIL, NULL, NULL, NULL},
    {"MAIL FROM:<a@b> -X=5", S, CMD_ERR_ARGS, CMD_MAIL, NULL, NULL, NULL},
    {"MAIL FROM:<a@b> S_Z=5", S, CMD_ERR_ARGS, CMD_MAIL, NULL, NULL, NULL},
    {"MAIL FROM:<a@b> SIZE=1=2", S, CMD_ERR_ARGS, CMD_MAIL, NULL, NULL, NULL},
    {"MAIL FROM:<a@b> SIZE=\x01", S, CMD_ERR_ARGS, CMD_MAIL, NULL, NULL, NULL},
    {"MAIL FROM:<a@b> ENVID=\xc3\xa9", S, CMD_ERR_ARGS, CMD_MAIL, NULL, NULL, NULL},
    {"MAIL FROM:<a@b> ENVID=\xc3\xa9", U, CMD_OK, CMD_MAIL, "", "a@b", "ENVID=\xc3\xa9"},
    {"MAIL FROM:<a@b> SIZE=5\t", S, CMD_ERR_ARGS, CMD_MAIL, NULL, NULL, NULL},
    {"MAIL FROM:<a@b", S, CMD_ERR_ARGS, CMD_MAIL, NULL, NULL, NULL},
    {"MAIL FROM:", S, CMD_ERR_ARGS, CMD_MAIL, NULL, NULL, NULL},
    {"MAIL FROM", S, CMD_ERR_ARGS, CMD_MAIL, NULL, NULL, NULL},
    {"MAIL", S, CMD_ERR_ARGS, CMD_MAIL, NULL, NULL, NULL},
    {"MAIL TO:<a@b>", S, CMD_ERR_ARGS, CMD_MAIL, NULL, NULL, NULL},
    {"MAIL FROM :<a@b>", L, CMD_ERR_ARGS, CMD_MAIL, NULL, NULL, NULL},
    {"MAIL FROM:<a b@c>", S, CMD_ERR_ARGS, CMD_MAIL, NULL, NULL, NULL},
    {"MAIL FROM:<j\xc3\xb6rg@x.de> SMTPUTF8", S, CMD_ERR_ARGS, CMD_MAIL, NULL, NULL, NULL},
    {"MAIL FROM:<j\xc3\xb6rg@x.de> SMTPUTF8", U, CMD_OK, CMD_MAIL, "", "j\xc3\xb6rg@x.de", "SMTPUTF8"},
    /* RCPT */
    {"RCPT TO:<x@y>", S, CMD_OK, CMD_RCPT, "", "x@y", ""},
    {"rcpt to:<X@Y>", S, CMD_OK, CMD_RCPT, "", "X@y", ""},
    {"RCPT TO:<x@y> NOTIFY=SUCCESS", S, CMD_OK, CMD_RCPT, "", "x@y", "NOTIFY=SUCCESS"},
    {"RCPT TO:<x@y> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;x@y", S, CMD_OK, CMD_RCPT, "", "x@y",
     "NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;x@y"},
    {"RCPT TO:<>", S, CMD_ERR_ARGS, CMD_RCPT, NULL, NULL, NULL},
    {"RCPT TO:<Postmaster>", S, CMD_OK, CMD_RCPT, "", "postmaster", ""},
    {"RCPT TO:<POSTMASTER> NOTIFY=NEVER", S, CMD_OK, CMD_RCPT, "", "postmaster", "NOTIFY=NEVER"},
    {"RCPT TO:< postmaster >", L, CMD_OK, CMD_RCPT, "", "postmaster", ""},
    {"RCPT TO:< postmaster >", S, CMD_ERR_ARGS, CMD_RCPT, NULL, NULL, NULL},
    {"RCPT TO:<postmasterx>", S, CMD_ERR_ARGS, CMD_RCPT, NULL, NULL, NULL},
    {"RCPT TO:<postmaster", S, CMD_ERR_ARGS, CMD_RCPT, NULL, NULL, NULL},
    {"RCPT TO:<Postmaster@Example.COM>", S, CMD_OK, CMD_RCPT, "", "Postmaster@example.com", ""},
    {"MAIL FROM:<Postmaster>", S, CMD_ERR_ARGS, CMD_MAIL, NULL, NULL, NULL},
    {"RCPT TO: <x@y>", S, CMD_ERR_ARGS, CMD_RCPT, NULL, NULL, NULL},
    {"RCPT TO: <x@y>", L, CMD_OK, CMD_RCPT, "", "x@y", ""},
    {"RCPT TO:x@y", L, CMD_OK, CMD_RCPT, "", "x@y", ""},
    {"RCPT FROM:<x@y>", S, CMD_ERR_ARGS, CMD_RCPT, NULL, NULL, NULL},
    {"RCPT TO:<@a,@b:x@y>", S, CMD_OK, CMD_RCPT, "", "x@y", ""},
    {"RCPT", S, CMD_ERR_ARGS, CMD_RCPT, NULL, NULL, NULL},
    /* unknown / malformed verbs */
    {"", S, CMD_ERR_SYNTAX, CMD_UNKNOWN, NULL, NULL, NULL},
    {" ", S, CMD_ERR_SYNTAX, CMD_UNKNOWN, NULL, NULL, NULL},
    {" QUIT", S, CMD_ERR_SYNTAX, CMD_UNKNOWN, NULL, NULL, NULL},
    {"XYZZY", S, CMD_ERR_SYNTAX, CMD_UNKNOWN, NULL, NULL, NULL},
    {"GET / HTTP/1.1", S, CMD_ERR_SYNTAX, CMD_UNKNOWN, NULL, NULL, NULL},
    {"QUIT\r", S, CMD_ERR_SYNTAX, CMD_UNKNOWN, NULL, NULL, NULL},
    {"\xc3\xa9HLO x", S, CMD_ERR_SYNTAX, CMD_UNKNOWN, NULL, NULL, NULL},
    {"MAIL:FROM:<a@b>", S, CMD_ERR_SYNTAX, CMD_UNKNOWN, NULL, NULL, NULL},
};

/* Renders the parameters as "name=value name ..." into buf. */
static void render_params(const struct cmd *c, char *buf, size_t n)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < c->nparams; i++) {
        int k = snprintf(buf + used, n - used, "%s%s%s%s", i ? " " : "", c->params[i].name,
                         c->params[i].value ? "=" : "", c->params[i].value ? c->params[i].value : "");
        if (k < 0 || (size_t)k >= n - used)
            return;
        used += (size_t)k;
    }
}

/* Builds the addr_opts of a table option mask. */
static struct addr_opts opts_of(int m)
{
    struct addr_opts o = {.null_ok = false, .sloppy = (m & L) != 0, .utf8 = (m & U) != 0};
    return o;
}

static void test_cmd_table(void **state)
{
    (void)state;
    struct cmd *c = malloc(sizeof *c);
    assert_non_null(c);
    for (size_t i = 0; i < sizeof cmd_cases / sizeof cmd_cases[0]; i++) {
        const struct cmd_case *tc = &cmd_cases[i];
        struct addr_opts o = opts_of(tc->opts);
        char params[CMD_LINE_MAX + 1];
        size_t len = strlen(tc->in);
        char *line = malloc(len + 1);
        assert_non_null(line);
        memcpy(line, tc->in, len); /* exact size: ASan catches a read past len */
        memset(c, 0x5a, sizeof *c);
        int got = cmd_parse(line, len, &o, c);
        free(line);
        if (got != tc->want)
            fail_msg("case %zu \"%s\": got %d, want %d", i, tc->in, got, tc->want);
        if (c->verb != tc->verb)
            fail_msg("case %zu \"%s\": verb got %d, want %d", i, tc->in, c->verb, tc->verb);
        if (got != CMD_OK)
            continue;
        render_params(c, params, sizeof params);
        if (strcmp(c->arg, tc->arg) != 0)
            fail_msg("case %zu \"%s\": arg got \"%s\", want \"%s\"", i, tc->in, c->arg, tc->arg);
        if (strcmp(c->addr, tc->addr) != 0)
            fail_msg("case %zu \"%s\": addr got \"%s\", want \"%s\"", i, tc->in, c->addr, tc->addr);
        if (strcmp(params, tc->params) != 0)
            fail_msg("case %zu \"%s\": params got \"%s\", want \"%s\"", i, tc->in, params, tc->params);
    }
    free(c);
}

/* RCPT and MAIL keep the first host of a source route in route; other verbs leave it "". */
static void test_cmd_route(void **state)
{
    (void)state;
    struct { const char *in, *addr, *route; } cases[] = {
        {"RCPT TO:<@Relay.Example:u@d.example> NOTIFY=NEVER", "u@d.example", "relay.example"},
        {"RCPT TO:<@a,@b:u@d>", "u@d", "a"},
        {"RCPT TO:<u@d>", "u@d", ""},
        {"MAIL FROM:<@r:s@d>", "s@d", "r"},
        {"NOOP", "", ""},
    };
    struct addr_opts o = opts_of(0);
    struct cmd *c = malloc(sizeof *c);
    assert_non_null(c);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memset(c, 0x5a, sizeof *c);
        if (cmd_parse(cases[i].in, strlen(cases[i].in), &o, c) != CMD_OK ||
            strcmp(c->addr, cases[i].addr) != 0 || strcmp(c->route, cases[i].route) != 0)
            fail_msg("\"%s\": got addr \"%s\" route \"%s\", want \"%s\" \"%s\"", cases[i].in, c->addr,
                     c->route, cases[i].addr, cases[i].route);
    }
    free(c);
}

struct len_case {
    const char *head;
    size_t total; /* line length, padded with 'a' */
    int want;
};

static const struct len_case len_cases[] = {
    {"NOOP ", CMD_LINE_MAX - 2, CMD_OK},
    {"NOOP ", CMD_LINE_MAX - 1, CMD_ERR_TOOLONG},
    {"NOOP ", CMD_LINE_MAX, CMD_ERR_TOOLONG},
    {"NOOP ", 65536, CMD_ERR_TOOLONG},
    {"EHLO ", CMD_LINE_MAX - 2, CMD_OK},
    {"XXXX ", CMD_LINE_MAX - 1, CMD_ERR_TOOLONG},
};

static void test_cmd_length(void **state)
{
    (void)state;
    struct cmd *c = malloc(sizeof *c);
    struct addr_opts o = opts_of(S);
    assert_non_null(c);
    for (size_t i = 0; i < sizeof len_cases / sizeof len_cases[0]; i++) {
        size_t hl = strlen(len_cases[i].head), n = len_cases[i].total;
        char *line = malloc(n);
        assert_non_null(line);
        memcpy(line, len_cases[i].head, hl);
        memset(line + hl, 'a', n - hl);
        int got = cmd_parse(line, n, &o, c);
        if (got != len_cases[i].want)
            fail_msg("len case %zu (%zu bytes): got %d, want %d", i, n, got, len_cases[i].want);
        if (got == CMD_OK && strlen(c->arg) != n - hl)
            fail_msg("len case %zu: arg length got %zu, want %zu", i, strlen(c->arg), n - hl);
        free(line);
    }
    free(c);
}

struct nul_case {
    const char *in;
    size_t len;
    int want;
};

static const struct nul_case nul_cases[] = {
    {"QUIT\0", 5, CMD_ERR_SYNTAX},
    {"\0QUIT", 5, CMD_ERR_SYNTAX},
    {"NOOP a\0b", 8, CMD_ERR_SYNTAX},
    {"MAIL FROM:<a@b>\0 SIZE=1", 23, CMD_ERR_SYNTAX},
    {"RCPT TO:<a\0@b>", 14, CMD_ERR_SYNTAX},
    {"QUIT", 4, CMD_OK},
    {"QUITTING", 4, CMD_OK}, /* len bounds the line */
};

static void test_cmd_nul(void **state)
{
    (void)state;
    struct cmd *c = malloc(sizeof *c);
    struct addr_opts o = opts_of(L);
    assert_non_null(c);
    for (size_t i = 0; i < sizeof nul_cases / sizeof nul_cases[0]; i++) {
        int got = cmd_parse(nul_cases[i].in, nul_cases[i].len, &o, c);
        if (got != nul_cases[i].want)
            fail_msg("nul case %zu: got %d, want %d", i, got, nul_cases[i].want);
    }
    assert_int_equal(cmd_parse(NULL, 0, &o, c), CMD_ERR_SYNTAX);
    free(c);
}

/* Exactly CMD_PARAMS_MAX parameters are accepted, one more is refused. */
static void test_cmd_param_count(void **state)
{
    (void)state;
    struct cmd *c = malloc(sizeof *c);
    struct addr_opts o = opts_of(S);
    char line[CMD_LINE_MAX];
    assert_non_null(c);
    for (size_t np = CMD_PARAMS_MAX - 1; np <= CMD_PARAMS_MAX + 2; np++) {
        size_t n = (size_t)snprintf(line, sizeof line, "MAIL FROM:<a@b>");
        for (size_t i = 0; i < np; i++)
            n += (size_t)snprintf(line + n, sizeof line - n, " P%zu=%zu", i, i);
        int got = cmd_parse(line, n, &o, c);
        int want = np <= CMD_PARAMS_MAX ? CMD_OK : CMD_ERR_ARGS;
        if (got != want)
            fail_msg("%zu params: got %d, want %d", np, got, want);
        if (got == CMD_OK && c->nparams != np)
            fail_msg("%zu params: nparams got %zu, want %zu", np, c->nparams, np);
        if (got == CMD_OK && np == CMD_PARAMS_MAX && strcmp(c->params[np - 1].name, "P15") != 0)
            fail_msg("last param name got \"%s\", want \"P15\"", c->params[np - 1].name);
    }
    free(c);
}

/* A bare parameter list (a milter's ESMTP arguments): the MAIL/RCPT parameter rules. */
static void test_cmd_params_only(void **state)
{
    (void)state;
    struct { const char *in; unsigned opts; int rc; const char *params; } cases[] = {
        {"", 0, CMD_OK, ""},
        {"RET=FULL", 0, CMD_OK, "RET=FULL"},
        {"RET=HDRS ENVID=abc+2Bd", 0, CMD_OK, "RET=HDRS ENVID=abc+2Bd"},
        {"NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a@b", 0, CMD_OK, "NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a@b"},
        {"SMTPUTF8", 0, CMD_OK, "SMTPUTF8"},
        {"  RET=FULL   ENVID=x  ", L, CMD_OK, "RET=FULL ENVID=x"},
        {"  RET=FULL", 0, CMD_ERR_ARGS, ""},
        {"RET=FULL  ENVID=x", 0, CMD_ERR_ARGS, ""},
        {"RET=", 0, CMD_ERR_ARGS, ""},
        {"=FULL", 0, CMD_ERR_ARGS, ""},
        {"RET=A=B", 0, CMD_ERR_ARGS, ""},
        {"X=\x01", 0, CMD_ERR_ARGS, ""},
        {"ORCPT=utf-8;\xc3\xa9@b", 0, CMD_ERR_ARGS, ""},
        {"ORCPT=utf-8;\xc3\xa9@b", U, CMD_OK, "ORCPT=utf-8;\xc3\xa9@b"},
    };
    struct cmd *c = malloc(sizeof *c);
    char params[CMD_LINE_MAX * 2];
    assert_non_null(c);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct addr_opts o = opts_of(cases[i].opts);
        memset(c, 0x5a, sizeof *c);
        int got = cmd_parse_params(cases[i].in, strlen(cases[i].in), &o, c);
        if (got != cases[i].rc)
            fail_msg("\"%s\": got %d, want %d", cases[i].in, got, cases[i].rc);
        if (got != CMD_OK)
            continue;
        render_params(c, params, sizeof params);
        if (strcmp(params, cases[i].params) != 0 || c->verb != CMD_UNKNOWN || c->addr[0])
            fail_msg("\"%s\": params got \"%s\", want \"%s\"", cases[i].in, params,
                     cases[i].params);
    }
    char big[CMD_LINE_MAX];
    memset(big, 'a', sizeof big);
    struct addr_opts strict = opts_of(S);
    assert_int_equal(cmd_parse_params(big, CMD_LINE_MAX - 3, &strict, c), CMD_OK);
    assert_int_equal(cmd_parse_params(big, CMD_LINE_MAX - 2, &strict, c), CMD_ERR_TOOLONG);
    assert_int_equal(cmd_parse_params("A=1\0B", 5, &strict, c), CMD_ERR_SYNTAX);
    free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cmd_table),
        cmocka_unit_test(test_cmd_route),
        cmocka_unit_test(test_cmd_length),
        cmocka_unit_test(test_cmd_nul),
        cmocka_unit_test(test_cmd_param_count),
        cmocka_unit_test(test_cmd_params_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
