/* test_esmtp: the ESMTP parameter parser (MAIL/RCPT parameters, xtext, UTF-8) and the
 * encoders that pass ENVID/ORCPT on, table-driven: each case is a parameter list as
 * cmd_parse() splits it (or a value to encode) and the expected result; round trips check
 * decode(encode(x)) == x and parse(encode(stored)) == stored. */
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
    {"ENVID=id+2Bx+20y+3Dz+5C~", ALL, ESMTP_OK,
     "size=-0 body=0 utf8=0 ret=0 envid=id+x y=z\\~ by=-0_"},
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
    unsigned allowed; /* 0 = ESMTP_EXT_DSN */
} rcpt_cases[] = {
    {"", ESMTP_OK, 0, "", 0},
    {"NOTIFY=NEVER", ESMTP_OK, NOTIFY_NEVER, "", 0},
    {"NOTIFY=success,Failure,DELAY", ESMTP_OK, NOTIFY_SUCCESS | NOTIFY_FAILURE | NOTIFY_DELAY, "", 0},
    {"ORCPT=rfc822;a+40b.test NOTIFY=FAILURE", ESMTP_OK, NOTIFY_FAILURE, "rfc822;a@b.test", 0},
    {"ORCPT=utf-8;j+C3+B6rg@b.test", ESMTP_OK, 0, "utf-8;j\xc3\xb6rg@b.test", 0},
    {"ORCPT=rfc822;plus+2Btag@example.net", ESMTP_OK, 0, "rfc822;plus+tag@example.net", 0},
    {"ORCPT=rfc822;+22a+20b+3Dc+22@example.net", ESMTP_OK, 0, "rfc822;\"a b=c\"@example.net", 0},
    {"ORCPT=RFC822;a+2bb@x", ESMTP_OK, 0, "RFC822;a+b@x", 0}, /* lower-case hex, type kept */
    /* RFC 6533 utf-8-addr-xtext, and -unitext only when SMTPUTF8 is offered */
    {"ORCPT=utf-8;j\\x{F6}rg\\x{2B}x@b.test", ESMTP_OK, 0, "utf-8;j\xc3\xb6rg+x@b.test", 0},
    {"ORCPT=UTF-8;\\x{7528}\\x{1f600}@b.test", ESMTP_OK, 0,
     "UTF-8;\xe7\x94\xa8\xf0\x9f\x98\x80@b.test", 0},
    {"ORCPT=utf-8;j\xc3\xb6rg\\x{3D}@b.test", ESMTP_OK, 0, "utf-8;j\xc3\xb6rg=@b.test",
     ESMTP_EXT_DSN | ESMTP_EXT_SMTPUTF8},
    {"ORCPT=utf-8;j\xc3\xb6rg@b.test", ESMTP_ERR_SYNTAX, 0, "", 0}, /* unitext, no SMTPUTF8 */
    {"ORCPT=utf-8;a\\x{0A}b@b.test", ESMTP_ERR_SYNTAX, 0, "", 0},   /* a control character */
    {"ORCPT=utf-8;a\\x{D800}b", ESMTP_ERR_SYNTAX, 0, "", 0},         /* a surrogate */
    {"ORCPT=utf-8;a\\b", ESMTP_ERR_SYNTAX, 0, "", 0},                /* '\' not escaped */
    {"ORCPT=rfc822;a\\x{2B}b", ESMTP_OK, 0, "rfc822;a\\x{2B}b", 0}, /* xtext: '\' is plain */
    {"NOTIFY=NEVER,DELAY", ESMTP_ERR_SYNTAX, 0, "", 0},
    {"NOTIFY=SUCCESS,SUCCESS", ESMTP_ERR_SYNTAX, 0, "", 0},
    {"NOTIFY=SUCCESS,", ESMTP_ERR_SYNTAX, 0, "", 0},
    {"NOTIFY=", ESMTP_ERR_SYNTAX, 0, "", 0},
    {"NOTIFY=SOMETIMES", ESMTP_ERR_SYNTAX, 0, "", 0},
    {"ORCPT=rfc822", ESMTP_ERR_SYNTAX, 0, "", 0},
    {"ORCPT=;a@b", ESMTP_ERR_SYNTAX, 0, "", 0},
    {"ORCPT=rfc822;", ESMTP_ERR_SYNTAX, 0, "", 0},
    {"ORCPT=rfc822;a+C3+B6", ESMTP_ERR_SYNTAX, 0, "", 0}, /* 8-bit in an rfc822 address */
    {"ORCPT=utf-8;a+C3", ESMTP_ERR_SYNTAX, 0, "", 0},     /* truncated UTF-8 */
    {"ORCPT=rf(c;a", ESMTP_ERR_SYNTAX, 0, "", 0},
    {"ORCPT=rfc822;a ORCPT=rfc822;b", ESMTP_ERR_SYNTAX, 0, "", 0},
    {"SIZE=10", ESMTP_ERR_UNKNOWN, 0, "", 0},
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
        unsigned allowed = rcpt_cases[i].allowed ? rcpt_cases[i].allowed : ESMTP_EXT_DSN;
        int rc = esmtp_rcpt_parse(p, split(buf, p), allowed, &r, &bad);
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

/* Bytes of a case: len when set, else strlen. */
#define CASE_LEN(c) ((c).len ? (c).len : strlen((c).in))

/* xtext encoding: got the text or the error, want the table's (cap bounds the output). */
static void test_xtext_encode(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        size_t len, cap;
        ssize_t want;
        const char *out;
    } x[] = {
        {"plus+tag@example.net", 0, 64, 22, "plus+2Btag@example.net"},
        {"a=b c", 0, 64, 9, "a+3Db+20c"},
        {"\x01\x1f\x7f\t", 0, 64, 12, "+01+1F+7F+09"},
        {"j\xc3\xb6rg", 0, 64, 9, "j+C3+B6rg"},
        {"a\0b", 3, 64, 5, "a+00b"},
        {"!~\\\"", 0, 64, 4, "!~\\\""},
        {"", 0, 1, 0, ""},
        {"abc", 0, 4, 3, "abc"},     /* exactly fits */
        {"abc", 0, 3, ESMTP_ENC_TOOLONG, ""},
        {"ab+", 0, 6, 5, "ab+2B"},   /* exactly fits */
        {"ab+", 0, 5, ESMTP_ENC_TOOLONG, ""},
        {"", 0, 0, ESMTP_ENC_TOOLONG, ""},
    };
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++) {
        char out[64] = "";
        ssize_t n = esmtp_xtext_encode(x[i].in, CASE_LEN(x[i]), out, x[i].cap);
        if (n != x[i].want || (n >= 0 && strcmp(out, x[i].out) != 0))
            fail_msg("xtext encode case %zu: got %zd \"%s\", want %zd \"%s\"", i, n,
                     n >= 0 ? out : "", x[i].want, x[i].out);
    }
}

/* Checks decode(encode(in)) == in for xtext, and that the encoding is canonical. */
static void xtext_round_trip(const char *in, size_t len)
{
    static char enc[3 * 1024 + 1], back[1024 + 1];
    ssize_t e = esmtp_xtext_encode(in, len, enc, sizeof enc);
    ssize_t d = e < 0 ? -1 : esmtp_xtext_decode(enc, (size_t)e, back, sizeof back);
    if (d != (ssize_t)len || memcmp(back, in, len) != 0)
        fail_msg("xtext round trip of %zu bytes \"%.40s\": got %zd bytes back, want %zu", len, in,
                 d, len);
}

/* xtext round trips: every single byte, odd strings, the longest values. */
static void test_xtext_round_trip(void **state)
{
    (void)state;
    char b[1024];
    for (int c = 0; c < 256; c++) {
        b[0] = (char)c;
        xtext_round_trip(b, 1);
    }
    static const char *odd[] = {"plus+2Btag@example.net", "a=b c", "+++===   ", "\\x{2B}",
                                "\r\n.\r\n", "j\xc3\xb6rg@\xe7\x94\xa8.example"};
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++)
        xtext_round_trip(odd[i], strlen(odd[i]));
    memset(b, '+', sizeof b);
    xtext_round_trip(b, sizeof b); /* 3 KiB encoded */
    for (size_t i = 0; i < sizeof b; i++)
        b[i] = (char)(i * 7);
    xtext_round_trip(b, sizeof b);
}

/* RFC 6533 encoding, both forms: got the text or the error, want the table's. */
static void test_uxtext_encode(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        bool unitext;
        size_t cap;
        ssize_t want;
        const char *out;
    } x[] = {
        {"plus+tag@example.net", false, 64, 25, "plus\\x{2B}tag@example.net"},
        {"a=b c\\d", false, 64, 22, "a\\x{3D}b\\x{20}c\\x{5C}d"},
        {"\x01\x7f", false, 64, 12, "\\x{01}\\x{7F}"},
        {"j\xc3\xb6rg", false, 64, 9, "j\\x{F6}rg"},
        {"j\xc3\xb6rg", true, 64, 5, "j\xc3\xb6rg"},
        {"\xe7\x94\xa8\xf0\x9f\x98\x80", false, 64, 17, "\\x{7528}\\x{1F600}"},
        {"\xf4\x8f\xbf\xbf", false, 64, 10, "\\x{10FFFF}"},
        {"\xc2\x80", false, 64, 6, "\\x{80}"},
        {"\xc2\x80+", true, 64, 8, "\xc2\x80\\x{2B}"},
        {"ab", false, 3, 2, "ab"}, /* exactly fits */
        {"ab", false, 2, ESMTP_ENC_TOOLONG, ""},
        {"a+", false, 8, 7, "a\\x{2B}"},
        {"a+", false, 7, ESMTP_ENC_TOOLONG, ""},
        {"\xc3", false, 64, ESMTP_ENC_NOTUTF8, ""},
        {"\xed\xa0\x80", true, 64, ESMTP_ENC_NOTUTF8, ""}, /* surrogate */
        {"\xc0\xaf", true, 64, ESMTP_ENC_NOTUTF8, ""},     /* overlong */
    };
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++) {
        char out[64] = "";
        ssize_t n = esmtp_uxtext_encode(x[i].in, strlen(x[i].in), x[i].unitext, out, x[i].cap);
        if (n != x[i].want || (n >= 0 && strcmp(out, x[i].out) != 0))
            fail_msg("uxtext encode \"%s\" unitext %d: got %zd \"%s\", want %zd \"%s\"", x[i].in,
                     x[i].unitext, n, n >= 0 ? out : "", x[i].want, x[i].out);
    }
    char nul[] = "a\0b";
    assert_int_equal(esmtp_uxtext_encode(nul, 3, true, (char[8]){0}, 8), ESMTP_ENC_NOTUTF8);
}

/* RFC 6533 decoding: got the bytes or -1, want the table's. */
static void test_uxtext_decode(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        bool unitext;
        ssize_t want;
        const char *out;
    } x[] = {
        {"plus\\x{2B}tag", false, 8, "plus+tag"},
        {"\\x{e9}\\x{1F600}\\x{10ffff}", false, 10, "\xc3\xa9\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf"},
        {"\\x{9}\\x{041}", false, 2, "\tA"},  /* 1 to 6 digits, any code point */
        {"a+2Bb+C3+A9", false, 5, "a+b\xc3\xa9"}, /* xtext escapes too */
        {"j\xc3\xb6rg", true, 5, "j\xc3\xb6rg"},
        {"j\xc3\xb6rg", false, -1, ""},         /* raw UTF-8 needs unitext */
        {"j\xc3rg", true, -1, ""},              /* malformed raw UTF-8 */
        {"+C3", false, -1, ""},                 /* escapes that do not make UTF-8 */
        {"\\x{0}", false, -1, ""},
        {"+00", false, -1, ""},
        {"\\x{D800}", false, -1, ""},
        {"\\x{110000}", false, -1, ""},
        {"\\x{0000041}", false, -1, ""},         /* 7 digits */
        {"\\x{}", false, -1, ""},
        {"\\x{41", false, -1, ""},
        {"\\x{4G}", false, -1, ""},
        {"\\X{41}", false, -1, ""},
        {"a\\b", false, -1, ""},
        {"a=b", false, -1, ""},
        {"a b", false, -1, ""},
        {"a\x7f", true, -1, ""},
        {"+4", false, -1, ""},
        {"", false, 0, ""},
        {"abcdefghijklmnop", false, -1, ""}, /* does not fit in 16 bytes */
    };
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++) {
        char out[16] = "";
        ssize_t n = esmtp_uxtext_decode(x[i].in, strlen(x[i].in), x[i].unitext, out, sizeof out);
        if (n != x[i].want || (n >= 0 && memcmp(out, x[i].out, (size_t)n + 1) != 0))
            fail_msg("uxtext decode \"%s\" unitext %d: got %zd \"%s\", want %zd \"%s\"", x[i].in,
                     x[i].unitext, n, n >= 0 ? out : "", x[i].want, x[i].out);
    }
}

/* Checks decode(encode(in)) == in for both RFC 6533 forms. */
static void uxtext_round_trip(const char *in, size_t len)
{
    static char enc[10 * 1024 + 1], back[1024 + 1];
    for (int unitext = 0; unitext < 2; unitext++) {
        ssize_t e = esmtp_uxtext_encode(in, len, unitext, enc, sizeof enc);
        ssize_t d = e < 0 ? -1 : esmtp_uxtext_decode(enc, (size_t)e, unitext, back, sizeof back);
        if (d != (ssize_t)len || memcmp(back, in, len) != 0)
            fail_msg("uxtext round trip (unitext %d) of \"%.40s\": got %zd bytes back, want %zu",
                     unitext, in, d, len);
        for (ssize_t k = 0; !unitext && k < e; k++)
            if ((unsigned char)enc[k] < 0x21 || (unsigned char)enc[k] > 0x7e)
                fail_msg("utf-8-addr-xtext of \"%.40s\" has byte 0x%02x", in, enc[k] & 0xff);
    }
}

/* RFC 6533 round trips: every ASCII character but NUL, odd strings, the longest values. */
static void test_uxtext_round_trip(void **state)
{
    (void)state;
    char b[1024];
    for (int c = 1; c < 128; c++) {
        b[0] = (char)c;
        uxtext_round_trip(b, 1);
    }
    static const char *odd[] = {"plus+tag@example.net", "a=b c\\d", "\\x{41}", "+2B",
                                "j\xc3\xb6rg@\xe7\x94\xa8.example", "\xf0\x9f\x98\x80\x01\x7f",
                                "\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf\xf4\x8f\xbf\xbf"};
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++)
        uxtext_round_trip(odd[i], strlen(odd[i]));
    memset(b, '+', sizeof b);
    uxtext_round_trip(b, sizeof b); /* 6 KiB encoded */
    for (size_t i = 0; i + 4 <= sizeof b; i += 4)
        memcpy(b + i, "\xf0\x9f\x98\x80", 4);
    uxtext_round_trip(b, sizeof b);
}

/* Parses ORCPT=value with the given extensions; returns the stored ORCPT or NULL. */
static const char *orcpt_parse(const char *value, unsigned allowed, struct esmtp_rcpt *r)
{
    const char *bad;
    struct cmd_param p = {.name = "ORCPT", .value = value};
    return esmtp_rcpt_parse(&p, 1, allowed, r, &bad) == ESMTP_OK ? r->orcpt : NULL;
}

/* ORCPT encoding for RCPT TO: got the value or the reason, want the table's; every value
 * produced parses back to what was stored. */
static void test_orcpt_encode(void **state)
{
    (void)state;
    static const struct {
        const char *stored;
        bool unitext;
        ssize_t want;
        const char *out;
    } x[] = {
        {"rfc822;plus+tag@example.net", false, 29, "rfc822;plus+2Btag@example.net"},
        {"rfc822;\"a b=c\"@example.net", false, 30, "rfc822;\"a+20b+3Dc\"@example.net"},
        {"RFC822;x\\y@z", false, 12, "RFC822;x\\y@z"},
        {"x400;c=us;a= ;p=x", false, 25, "x400;c+3Dus;a+3D+20;p+3Dx"},
        {"utf-8;j\xc3\xb6rg+x@b.test", false, 29, "utf-8;j\\x{F6}rg\\x{2B}x@b.test"},
        {"utf-8;j\xc3\xb6rg+x@b.test", true, 25, "utf-8;j\xc3\xb6rg\\x{2B}x@b.test"},
        {"utf-8;plain@b.test", false, 18, "utf-8;plain@b.test"},
        {"rfc822;j\xc3\xb6rg@b.test", false, ESMTP_ENC_NOTASCII, ""},
        {"rfc822;a\tb@c", false, ESMTP_ENC_NOTASCII, ""},
        {"utf-8;a\tb@c", false, ESMTP_ENC_NOTUTF8, ""},
        {"utf-8;\xff@c", true, ESMTP_ENC_NOTUTF8, ""},
        {"plus+tag@example.net", false, ESMTP_ENC_NOTYPE, ""},
        {";a@b", false, ESMTP_ENC_NOTYPE, ""},
        {"rfc822;", false, ESMTP_ENC_NOTYPE, ""},
        {"rf c;a@b", false, ESMTP_ENC_NOTYPE, ""},
    };
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++) {
        char out[128] = "";
        struct esmtp_rcpt r;
        ssize_t n = esmtp_orcpt_encode(x[i].stored, x[i].unitext, out, sizeof out);
        if (n != x[i].want || (n >= 0 && strcmp(out, x[i].out) != 0))
            fail_msg("ORCPT encode \"%s\" unitext %d: got %zd \"%s\" (%s), want %zd \"%s\"",
                     x[i].stored, x[i].unitext, n, n >= 0 ? out : "", esmtp_enc_error_text(n),
                     x[i].want, x[i].out);
        unsigned allowed = ESMTP_EXT_DSN | (x[i].unitext ? ESMTP_EXT_SMTPUTF8 : 0);
        const char *back = n > 0 ? orcpt_parse(out, allowed, &r) : NULL;
        if (n > 0 && (!back || strcmp(back, x[i].stored) != 0))
            fail_msg("ORCPT \"%s\" sent as \"%s\": parsed back as \"%s\"", x[i].stored, out,
                     back ? back : "(refused)");
    }
}

/* ENVID encoding for MAIL FROM: got the value or the reason, want the table's; what is
 * produced parses back to the stored ENVID. */
static void test_envid_encode(void **state)
{
    (void)state;
    static const struct {
        const char *stored;
        ssize_t want;
        const char *out;
    } x[] = {
        {"QQ+1=2", 10, "QQ+2B1+3D2"},
        {"id with spaces\\and~", 23, "id+20with+20spaces\\and~"},
        {"", 0, ""},
        {"a\tb", ESMTP_ENC_NOTASCII, ""},
        {"\xc3\xa9", ESMTP_ENC_NOTASCII, ""},
    };
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++) {
        char out[64] = "";
        ssize_t n = esmtp_envid_encode(x[i].stored, out, sizeof out);
        if (n != x[i].want || (n >= 0 && strcmp(out, x[i].out) != 0))
            fail_msg("ENVID encode \"%s\": got %zd \"%s\", want %zd \"%s\"", x[i].stored, n,
                     n >= 0 ? out : "", x[i].want, x[i].out);
        struct cmd_param p = {.name = "ENVID", .value = out};
        struct esmtp_mail m;
        const char *bad;
        if (n > 0 && (esmtp_mail_parse(&p, 1, ESMTP_EXT_DSN, &m, &bad) != ESMTP_OK ||
                      strcmp(m.envid, x[i].stored) != 0))
            fail_msg("ENVID \"%s\" sent as \"%s\": parsed back as \"%s\"", x[i].stored, out,
                     m.envid);
    }
}

/* The limits: ESMTP_ORCPT_MAX / ESMTP_ENVID_MAX bytes, decoded on input and encoded on
 * output; one more is refused both ways. */
static void test_max_lengths(void **state)
{
    (void)state;
    char stored[ESMTP_ORCPT_MAX + 2], enc[ESMTP_ORCPT_MAX + 1], big[3 * ESMTP_ORCPT_MAX];
    struct esmtp_rcpt r;
    for (size_t len = ESMTP_ORCPT_MAX; len <= ESMTP_ORCPT_MAX + 1; len++) {
        memcpy(stored, "rfc822;", 7);
        memset(stored + 7, 'a', len - 7);
        stored[len] = '\0';
        ssize_t n = esmtp_orcpt_encode(stored, false, enc, sizeof enc);
        const char *back = orcpt_parse(stored, ESMTP_EXT_DSN, &r);
        bool fits = len <= ESMTP_ORCPT_MAX;
        if ((n == (ssize_t)len) != fits || (back != NULL) != fits ||
            (fits && strcmp(back, stored) != 0))
            fail_msg("ORCPT of %zu bytes: got encode %zd, parse %s, want %s", len, n,
                     back ? "ok" : "refused", fits ? "both" : "neither");
    }
    /* 164 '+' encode to 7 + 492 = 499 bytes, 165 to 502 */
    for (size_t plus = 164; plus <= 165; plus++) {
        memcpy(stored, "rfc822;", 7);
        memset(stored + 7, '+', plus);
        stored[7 + plus] = '\0';
        ssize_t n = esmtp_orcpt_encode(stored, false, enc, sizeof enc);
        ssize_t want = plus == 164 ? 499 : ESMTP_ENC_TOOLONG;
        if (n != want)
            fail_msg("ORCPT of %zu '+': got %zd, want %zd", plus, n, want);
    }
    /* decoded 500 bytes sent as 1500 bytes of xtext: accepted (no longer than the limit) */
    memcpy(big, "rfc822;", 7);
    for (size_t i = 0; i < ESMTP_ORCPT_MAX - 7; i++)
        memcpy(big + 7 + 3 * i, "+2B", 3);
    big[7 + 3 * (ESMTP_ORCPT_MAX - 7)] = '\0';
    const char *back = orcpt_parse(big, ESMTP_EXT_DSN, &r);
    assert_non_null(back);
    assert_int_equal(strlen(back), ESMTP_ORCPT_MAX);
    char envid[ESMTP_ENVID_MAX + 2], envenc[ESMTP_ENVID_MAX + 1];
    memset(envid, 'e', sizeof envid - 1);
    envid[ESMTP_ENVID_MAX] = '\0';
    assert_int_equal(esmtp_envid_encode(envid, envenc, sizeof envenc), ESMTP_ENVID_MAX);
    envid[ESMTP_ENVID_MAX] = 'e';
    envid[ESMTP_ENVID_MAX + 1] = '\0';
    assert_int_equal(esmtp_envid_encode(envid, envenc, sizeof envenc), ESMTP_ENC_TOOLONG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mail),
        cmocka_unit_test(test_rcpt),
        cmocka_unit_test(test_xtext_utf8),
        cmocka_unit_test(test_xtext_encode),
        cmocka_unit_test(test_xtext_round_trip),
        cmocka_unit_test(test_uxtext_encode),
        cmocka_unit_test(test_uxtext_decode),
        cmocka_unit_test(test_uxtext_round_trip),
        cmocka_unit_test(test_orcpt_encode),
        cmocka_unit_test(test_envid_encode),
        cmocka_unit_test(test_max_lengths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
