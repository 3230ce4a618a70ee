/* test_reply: table-driven tests of reply_parse (complete, partial at every split point,
 * invalid, limits), reply_outcome, reply_to_text and reply_ehlo_caps. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/reply.h"

enum want { W_OK, W_MORE, W_BAD };

struct parse_case {
    const char *in;
    enum want want;
    const char *rest; /* W_OK: bytes left after the reply */
    int code;
    const char *enh;
    size_t nlines;
    const char *text;
};

static const struct parse_case parse_cases[] = {
    {"250 OK\r\n", W_OK, "", 250, "", 1, "OK"},
    {"250 OK\n", W_OK, "", 250, "", 1, "OK"},
    {"250\r\n", W_OK, "", 250, "", 1, ""},
    {"250\n", W_OK, "", 250, "", 1, ""},
    {"250 \r\n", W_OK, "", 250, "", 1, ""},
    {"220 mx.example.com ESMTP ready\r\n", W_OK, "", 220, "", 1, "mx.example.com ESMTP ready"},
    {"250 2.0.0 Ok: queued as 4F\r\n", W_OK, "", 250, "2.0.0", 1, "Ok: queued as 4F"},
    {"550 5.1.1 <a@b>: User unknown\r\n", W_OK, "", 550, "5.1.1", 1, "<a@b>: User unknown"},
    {"451 4.7.1 Try later\r\n", W_OK, "", 451, "4.7.1", 1, "Try later"},
    {"550 5.7.1\r\n", W_OK, "", 550, "5.7.1", 1, ""},
    {"550 5.7.1   spaced\r\n", W_OK, "", 550, "5.7.1", 1, "spaced"},
    {"550 5.123.456 long\r\n", W_OK, "", 550, "5.123.456", 1, "long"},
    {"550 5.1234.1 not enh\r\n", W_OK, "", 550, "", 1, "5.1234.1 not enh"},
    {"550 5.1.1234 not enh\r\n", W_OK, "", 550, "", 1, "5.1.1234 not enh"},
    {"550 4.1.1 class mismatch\r\n", W_OK, "", 550, "", 1, "4.1.1 class mismatch"},
    {"354 3.0.0 no class 3\r\n", W_OK, "", 354, "", 1, "3.0.0 no class 3"},
    {"550 5.1.1x bad end\r\n", W_OK, "", 550, "", 1, "5.1.1x bad end"},
    {"550 5..1 bad\r\n", W_OK, "", 550, "", 1, "5..1 bad"},
    {"550 5.1. bad\r\n", W_OK, "", 550, "", 1, "5.1. bad"},
    {"550 5.1\r\n", W_OK, "", 550, "", 1, "5.1"},
    {"354 End data with <CR><LF>.<CR><LF>\r\n", W_OK, "", 354, "", 1, "End data with <CR><LF>.<CR><LF>"},
    {"599 top\r\n", W_OK, "", 599, "", 1, "top"},
    {"200 low\r\n", W_OK, "", 200, "", 1, "low"},
    {"250-mx.example.com\r\n250-PIPELINING\r\n250 8BITMIME\r\n", W_OK, "", 250, "", 3,
     "mx.example.com\nPIPELINING\n8BITMIME"},
    {"250-a\n250-b\r\n250 c\n", W_OK, "", 250, "", 3, "a\nb\nc"},
    {"250-a\r\n250\r\n", W_OK, "", 250, "", 2, "a\n"},
    {"250-\r\n250-\r\n250 x\r\n", W_OK, "", 250, "", 3, "\n\nx"},
    {"550-5.1.1 first\r\n550 5.1.1 second\r\n", W_OK, "", 550, "5.1.1", 2, "first\nsecond"},
    {"550-5.1.1 first\r\n550 5.7.1 other\r\n", W_OK, "", 550, "5.1.1", 2, "first\n5.7.1 other"},
    {"250 OK\r\n250 next\r\n", W_OK, "250 next\r\n", 250, "", 1, "OK"},
    {"250-a\r\n250 b\r\n221 bye\r\n", W_OK, "221 bye\r\n", 250, "", 2, "a\nb"},
    {"250 a\tb\x1b[0m\r\n", W_OK, "", 250, "", 1, "a?b?[0m"},
    {"250 a\rb\r\n", W_OK, "", 250, "", 1, "a?b"},
    {"250 caf\xc3\xa9\r\n", W_OK, "", 250, "", 1, "caf\xc3\xa9"},
    {"250 del\x7f\r\n", W_OK, "", 250, "", 1, "del?"},
    /* incomplete */
    {"", W_MORE, NULL, 0, NULL, 0, NULL},
    {"2", W_MORE, NULL, 0, NULL, 0, NULL},
    {"25", W_MORE, NULL, 0, NULL, 0, NULL},
    {"250", W_MORE, NULL, 0, NULL, 0, NULL},
    {"250\r", W_MORE, NULL, 0, NULL, 0, NULL},
    {"250 OK", W_MORE, NULL, 0, NULL, 0, NULL},
    {"250 OK\r", W_MORE, NULL, 0, NULL, 0, NULL},
    {"250-a\r\n", W_MORE, NULL, 0, NULL, 0, NULL},
    {"250-a\r\n25", W_MORE, NULL, 0, NULL, 0, NULL},
    {"250-a\r\n250 b", W_MORE, NULL, 0, NULL, 0, NULL},
    /* invalid */
    {"\r\n", W_BAD, NULL, 0, NULL, 0, NULL},
    {"\n", W_BAD, NULL, 0, NULL, 0, NULL},
    {"x", W_BAD, NULL, 0, NULL, 0, NULL},
    {"2x", W_BAD, NULL, 0, NULL, 0, NULL},
    {"25x", W_BAD, NULL, 0, NULL, 0, NULL},
    {"250x", W_BAD, NULL, 0, NULL, 0, NULL},
    {"25\r\n", W_BAD, NULL, 0, NULL, 0, NULL},
    {"2\r\n", W_BAD, NULL, 0, NULL, 0, NULL},
    {"150 low\r\n", W_BAD, NULL, 0, NULL, 0, NULL},
    {"099 low\r\n", W_BAD, NULL, 0, NULL, 0, NULL},
    {"650 high\r\n", W_BAD, NULL, 0, NULL, 0, NULL},
    {"2500 OK\r\n", W_BAD, NULL, 0, NULL, 0, NULL},
    {"250_OK\r\n", W_BAD, NULL, 0, NULL, 0, NULL},
    {"250\tOK\r\n", W_BAD, NULL, 0, NULL, 0, NULL},
    {"250\r\r\n", W_BAD, NULL, 0, NULL, 0, NULL},
    {" 250 OK\r\n", W_BAD, NULL, 0, NULL, 0, NULL},
    {"250-a\r\n251 b\r\n", W_BAD, NULL, 0, NULL, 0, NULL},
    {"250-a\r\n550 b\r\n", W_BAD, NULL, 0, NULL, 0, NULL},
    {"250-a\r\n25", W_MORE, NULL, 0, NULL, 0, NULL},
    {"250-a\r\n251", W_BAD, NULL, 0, NULL, 0, NULL},
    {"250-a\r\n\r\n", W_BAD, NULL, 0, NULL, 0, NULL},
    {"250-a\r\nhello\r\n", W_BAD, NULL, 0, NULL, 0, NULL},
    {"-250 a\r\n", W_BAD, NULL, 0, NULL, 0, NULL},
    {"abc def\r\n", W_BAD, NULL, 0, NULL, 0, NULL},
    {"\x00\x35\x30 x\r\n", W_BAD, NULL, 0, NULL, 0, NULL},
};

/* Runs reply_parse on in (len bytes) and checks it against the case. */
static void check_parse(size_t i, const struct parse_case *pc, size_t len)
{
    struct reply r;
    ssize_t got = reply_parse(pc->in, len, &r);
    ssize_t want = pc->want == W_BAD ? -1 : pc->want == W_MORE ? 0 : (ssize_t)(len - strlen(pc->rest));
    if (got != want)
        fail_msg("case %zu \"%s\": got %zd, want %zd", i, pc->in, got, want);
    if (pc->want != W_OK)
        return;
    if (r.code != pc->code)
        fail_msg("case %zu: code got %d, want %d", i, r.code, pc->code);
    if (strcmp(r.enh, pc->enh) != 0)
        fail_msg("case %zu: enh got \"%s\", want \"%s\"", i, r.enh, pc->enh);
    if (r.nlines != pc->nlines)
        fail_msg("case %zu: nlines got %zu, want %zu", i, r.nlines, pc->nlines);
    if (strcmp(r.text, pc->text) != 0)
        fail_msg("case %zu: text got \"%s\", want \"%s\"", i, r.text, pc->text);
}

/* Length of a case's input (the NUL-led case counts its bytes explicitly). */
static size_t case_len(const struct parse_case *pc)
{
    if (pc->in[0] == '\0' && pc->want == W_BAD)
        return 7; /* "\0" "50 x\r\n" */
    return strlen(pc->in);
}

static void test_parse_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof parse_cases / sizeof parse_cases[0]; i++)
        check_parse(i, &parse_cases[i], case_len(&parse_cases[i]));
}

/* Every strict prefix of a valid reply needs more bytes; the whole reply parses. */
static void test_parse_split_every_byte(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof parse_cases / sizeof parse_cases[0]; i++) {
        const struct parse_case *pc = &parse_cases[i];
        if (pc->want != W_OK)
            continue;
        size_t full = strlen(pc->in) - strlen(pc->rest);
        for (size_t k = 0; k < full; k++) {
            struct reply r;
            ssize_t got = reply_parse(pc->in, k, &r);
            if (got != 0)
                fail_msg("case %zu prefix %zu: got %zd, want 0", i, k, got);
        }
        check_parse(i, pc, strlen(pc->in));
    }
}

/* Once a prefix is invalid, every longer prefix stays invalid; no prefix of an invalid
 * input claims a complete reply. */
static void test_parse_invalid_monotonic(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof parse_cases / sizeof parse_cases[0]; i++) {
        const struct parse_case *pc = &parse_cases[i];
        if (pc->want != W_BAD)
            continue;
        size_t n = case_len(pc);
        bool bad = false;
        for (size_t k = 0; k <= n; k++) {
            struct reply r;
            ssize_t got = reply_parse(pc->in, k, &r);
            if (got > 0 || (bad && got != -1))
                fail_msg("case %zu prefix %zu: got %zd, want %s", i, k, got, bad ? "-1" : "0 or -1");
            bad = got == -1;
        }
        if (!bad)
            fail_msg("case %zu full: got not -1, want -1", i);
    }
}

/* Builds "CODE<sep>" + fill bytes of 'a' + eol into a fresh buffer; *len gets its size. */
static char *make_line(const char *head, size_t fill, const char *eol, size_t *len)
{
    size_t hl = strlen(head), el = strlen(eol);
    char *b = malloc(hl + fill + el + 1);
    assert_non_null(b);
    memcpy(b, head, hl);
    memset(b + hl, 'a', fill);
    memcpy(b + hl + fill, eol, el + 1);
    *len = hl + fill + el;
    return b;
}

struct long_case {
    const char *head;
    size_t fill;
    const char *eol;
    ssize_t want; /* -2: whole length */
};

static const struct long_case long_cases[] = {
    {"250 ", REPLY_LINE_MAX - 6, "\r\n", -2}, /* exactly the limit with CRLF */
    {"250 ", REPLY_LINE_MAX - 5, "\n", -2},   /* exactly the limit with LF */
    {"250 ", REPLY_LINE_MAX - 5, "\r\n", -1}, /* one over */
    {"250 ", REPLY_LINE_MAX - 4, "\n", -1},   /* one over, bare LF */
    {"250 ", REPLY_LINE_MAX - 5, "", 0},      /* limit - 1 bytes, no LF yet */
    {"250 ", REPLY_LINE_MAX - 6, "\r", 0},    /* limit - 1 bytes ending in CR */
    {"250 ", REPLY_LINE_MAX - 4, "", -1},     /* limit bytes, no LF: can never fit */
    {"250 ", 65536, "", -1},                  /* 64 KiB with no line end */
    {"250 ", 65536, "\r\n", -1},
};

static void test_parse_line_limit(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof long_cases / sizeof long_cases[0]; i++) {
        const struct long_case *lc = &long_cases[i];
        size_t len;
        char *b = make_line(lc->head, lc->fill, lc->eol, &len);
        struct reply r;
        ssize_t got = reply_parse(b, len, &r);
        ssize_t want = lc->want == -2 ? (ssize_t)len : lc->want;
        if (got != want)
            fail_msg("long case %zu (len %zu): got %zd, want %zd", i, len, got, want);
        if (want > 0 && strlen(r.text) != lc->fill)
            fail_msg("long case %zu: text length got %zu, want %zu", i, strlen(r.text), lc->fill);
        free(b);
    }
}

/* Builds nlines lines "250-x" ending with "250 x" when last, else all continuation. */
static char *make_lines(size_t nlines, bool last, size_t *len)
{
    char *b = malloc(nlines * 8 + 1);
    assert_non_null(b);
    size_t n = 0;
    for (size_t i = 0; i < nlines; i++)
        n += (size_t)sprintf(b + n, "250%cx\r\n", (last && i + 1 == nlines) ? ' ' : '-');
    *len = n;
    return b;
}

struct lines_case {
    size_t nlines;
    bool last;
    ssize_t want; /* -2: whole length */
};

static const struct lines_case lines_cases[] = {
    {1, true, -2},
    {REPLY_LINES_MAX - 1, true, -2},
    {REPLY_LINES_MAX, true, -2},
    {REPLY_LINES_MAX + 1, true, -1},
    {REPLY_LINES_MAX - 1, false, 0},
    {REPLY_LINES_MAX, false, -1},   /* a 129th line would be needed */
    {REPLY_LINES_MAX + 50, false, -1},
};

static void test_parse_lines_limit(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof lines_cases / sizeof lines_cases[0]; i++) {
        size_t len;
        char *b = make_lines(lines_cases[i].nlines, lines_cases[i].last, &len);
        struct reply r;
        ssize_t got = reply_parse(b, len, &r);
        ssize_t want = lines_cases[i].want == -2 ? (ssize_t)len : lines_cases[i].want;
        if (got != want)
            fail_msg("lines case %zu (%zu lines): got %zd, want %zd", i, lines_cases[i].nlines, got, want);
        if (want > 0 && r.nlines != lines_cases[i].nlines)
            fail_msg("lines case %zu: nlines got %zu, want %zu", i, r.nlines, lines_cases[i].nlines);
        free(b);
    }
}

/* A reply whose text exceeds REPLY_TEXT_MAX is parsed and its text truncated. */
static void test_parse_text_truncated(void **state)
{
    (void)state;
    char *b = malloc(4 * 2048);
    assert_non_null(b);
    size_t n = 0;
    for (int i = 0; i < 3; i++) {
        n += (size_t)sprintf(b + n, "250%c", i == 2 ? ' ' : '-');
        memset(b + n, 'a' + i, 2000);
        n += 2000;
        memcpy(b + n, "\r\n", 2);
        n += 2;
    }
    struct reply r;
    ssize_t got = reply_parse(b, n, &r);
    if (got != (ssize_t)n)
        fail_msg("got %zd, want %zu", got, n);
    if (strlen(r.text) != REPLY_TEXT_MAX - 1)
        fail_msg("text length got %zu, want %d", strlen(r.text), REPLY_TEXT_MAX - 1);
    if (r.text[2000] != '\n' || r.text[2001] != 'b' || r.text[4001] != '\n' || r.text[4002] != 'c')
        fail_msg("joined text layout wrong");
    free(b);
}

struct outcome_case {
    int code;
    enum outcome want;
};

static const struct outcome_case outcome_cases[] = {
    {200, OUTCOME_OK},       {250, OUTCOME_OK},       {299, OUTCOME_OK},
    {354, OUTCOME_PERMFAIL}, {400, OUTCOME_TEMPFAIL}, {421, OUTCOME_TEMPFAIL},
    {451, OUTCOME_TEMPFAIL}, {499, OUTCOME_TEMPFAIL}, {500, OUTCOME_PERMFAIL},
    {550, OUTCOME_PERMFAIL}, {599, OUTCOME_PERMFAIL}, {0, OUTCOME_PERMFAIL},
};

static void test_outcome(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof outcome_cases / sizeof outcome_cases[0]; i++) {
        struct reply r = {.code = outcome_cases[i].code};
        enum outcome got = reply_outcome(&r);
        if (got != outcome_cases[i].want)
            fail_msg("code %d: got %d, want %d", r.code, got, outcome_cases[i].want);
    }
}

struct text_case {
    const char *in;
    size_t buflen;
    const char *want;
};

static const struct text_case text_cases[] = {
    {"250 OK\r\n", 64, "250 OK"},
    {"250\r\n", 64, "250"},
    {"550 5.1.1 User unknown\r\n", 64, "550 5.1.1 User unknown"},
    {"550 5.1.1\r\n", 64, "550 5.1.1"},
    {"550-5.1.1 line one\r\n550 5.1.1 line two\r\n", 64, "550 5.1.1 line one line two"},
    {"250-a\r\n250-b\r\n250 c\r\n", 64, "250 a b c"},
    {"550 5.1.1 User unknown\r\n", 10, "550 5.1.1"},
    {"550 5.1.1 User unknown\r\n", 4, "550"},
    {"550 5.1.1 User unknown\r\n", 2, "5"},
    {"550 5.1.1 User unknown\r\n", 1, ""},
};

static void test_to_text(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof text_cases / sizeof text_cases[0]; i++) {
        struct reply r;
        char buf[64];
        assert_true(reply_parse(text_cases[i].in, strlen(text_cases[i].in), &r) > 0);
        memset(buf, 'Z', sizeof buf);
        char *got = reply_to_text(&r, buf, text_cases[i].buflen);
        if (got != buf || strcmp(got, text_cases[i].want) != 0)
            fail_msg("case %zu: got \"%s\", want \"%s\"", i, got, text_cases[i].want);
    }
    struct reply r = {.code = 250};
    char one = 'Z';
    assert_ptr_equal(reply_to_text(&r, &one, 0), &one);
    assert_int_equal(one, 'Z');
}

struct caps_case {
    const char *in;
    struct ehlo_caps want;
};

static const struct caps_case caps_cases[] = {
    {"250-mx.example.com Hello\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-8BITMIME\r\n"
     "250-ENHANCEDSTATUSCODES\r\n250-STARTTLS\r\n250-SMTPUTF8\r\n250-DSN\r\n250 CHUNKING\r\n",
     {true, true, true, true, true, true, true, true, 10240000, 0, false, 0}},
    {"250 mx.example.com\r\n", {0}},
    {"250-PIPELINING\r\n250 mx\r\n", {0}}, /* first line is the name: not a keyword */
    {"250-mx\r\n250-pipelining\r\n250 starttls\r\n", {.pipelining = true, .starttls = true}},
    {"250-mx\r\n250-SIZE\r\n250 DSN\r\n", {.size = true, .dsn = true}},
    {"250-mx\r\n250 SIZE 0\r\n", {.size = true}},
    {"250-mx\r\n250 SIZE 99999999999999999999999\r\n", {.size = true, .size_max = ~0ULL}},
    {"250-mx\r\n250 SIZE 12x\r\n", {.size = true}},
    {"250-mx\r\n250 SIZE  5\r\n", {.size = true, .size_max = 5}},
    {"250-mx\r\n250-PIPELININGX\r\n250-XSTARTTLS\r\n250 8BITMIMES\r\n", {0}},
    {"250-mx\r\n250-AUTH PLAIN LOGIN\r\n250-AUTH=LOGIN\r\n250 X-EXPS GSSAPI\r\n",
     {.auth = EHLO_AUTH_PLAIN | EHLO_AUTH_LOGIN}},
    {"250-mx\r\n250 AUTH=login\r\n", {.auth = EHLO_AUTH_LOGIN}},
    {"250-mx\r\n250 auth  GSSAPI  external   CRAM-MD5\r\n", {.auth = EHLO_AUTH_EXTERNAL}},
    {"250-mx\r\n250 AUTH PLAINX XLOGIN PLAI\r\n", {0}},
    {"250-mx\r\n250 AUTH\r\n", {0}},
    {"250-mx\r\n250 AUTHPLAIN\r\n", {0}},
    {"250-mx\r\n250-AUTH CRAM-MD5\r\n250 AUTH PLAIN\r\n", {.auth = EHLO_AUTH_PLAIN}},
    {"250-mx\r\n250 X-AUTH PLAIN\r\n", {0}},
    {"250-mx\r\n250-DSN extra\r\n250 CHUNKING\r\n", {.dsn = true, .chunking = true}},
    {"250-mx\r\n250 DELIVERBY 60\r\n", {.deliverby = true, .deliverby_min = 60}},
    {"250-mx\r\n250 deliverby\r\n", {.deliverby = true}},
    {"250-mx\r\n250 DELIVERBYX\r\n", {0}},
    {"550 5.7.1 go away\r\n", {0}},
    {"421-mx\r\n421 PIPELINING\r\n", {0}},
    {"250-mx\n250-SMTPUTF8\n250 ENHANCEDSTATUSCODES\n", {.smtputf8 = true, .enhancedstatuscodes = true}},
};

static void test_ehlo_caps(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof caps_cases / sizeof caps_cases[0]; i++) {
        struct reply r;
        struct ehlo_caps got;
        const struct ehlo_caps *w = &caps_cases[i].want;
        assert_true(reply_parse(caps_cases[i].in, strlen(caps_cases[i].in), &r) > 0);
        memset(&got, 0xa5, sizeof got);
        reply_ehlo_caps(&r, &got);
        if (got.pipelining != w->pipelining || got.size != w->size || got.eightbitmime != w->eightbitmime ||
            got.enhancedstatuscodes != w->enhancedstatuscodes || got.starttls != w->starttls ||
            got.smtputf8 != w->smtputf8 || got.dsn != w->dsn || got.chunking != w->chunking)
            fail_msg("case %zu: got flags %d%d%d%d%d%d%d%d, want %d%d%d%d%d%d%d%d", i, got.pipelining,
                     got.size, got.eightbitmime, got.enhancedstatuscodes, got.starttls, got.smtputf8,
                     got.dsn, got.chunking, w->pipelining, w->size, w->eightbitmime,
                     w->enhancedstatuscodes, w->starttls, w->smtputf8, w->dsn, w->chunking);
        if (got.size_max != w->size_max)
            fail_msg("case %zu: size_max got %llu, want %llu", i, got.size_max, w->size_max);
        if (got.auth != w->auth)
            fail_msg("case %zu: auth got %#x, want %#x", i, got.auth, w->auth);
        if (got.deliverby != w->deliverby || got.deliverby_min != w->deliverby_min)
            fail_msg("case %zu: deliverby got %d %llu, want %d %llu", i, got.deliverby,
                     got.deliverby_min, w->deliverby, w->deliverby_min);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_table),
        cmocka_unit_test(test_parse_split_every_byte),
        cmocka_unit_test(test_parse_invalid_monotonic),
        cmocka_unit_test(test_parse_line_limit),
        cmocka_unit_test(test_parse_lines_limit),
        cmocka_unit_test(test_parse_text_truncated),
        cmocka_unit_test(test_outcome),
        cmocka_unit_test(test_to_text),
        cmocka_unit_test(test_ehlo_caps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
