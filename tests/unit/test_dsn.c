/* Unit tests: RFC 3464 report builder and xtext (dsn/dsn.c), report envelopes (dsn/bounce.c).
 * Report bodies are compared with golden files tests/golden/dsn/NAME.eml (run from the
 * repository root; UPDATE_GOLDEN=1 rewrites them after a deliberate change). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dsn/bounce.h"
#include "dsn/dsn.h"

#define T0 INT64_C(1714564800000) /* 2024-05-01T12:00:00Z */
#define GOLDEN_DIR "tests/golden/dsn/"

static const char orig[] = "From: Sender <sender@src.example>\r\n"
                           "To: bad@d.example\r\n"
                           "Subject: hello\r\n"
                           "Message-ID: <m1@src.example>\r\n"
                           "\r\n"
                           "Body line 1\r\n"
                           ".dot line\r\n";

/* Reads a whole file; NULL when missing. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(1 << 20);
    *len = fread(buf, 1, 1 << 20, f);
    fclose(f);
    return buf;
}

/* Builds r and compares (or, with UPDATE_GOLDEN, writes) the golden file NAME.eml. */
static void check_golden(const char *name, const struct dsn_report *r)
{
    char path[256];
    size_t len, glen = 0;
    char *got = dsn_build(r, &len);
    snprintf(path, sizeof path, GOLDEN_DIR "%s.eml", name);
    if (getenv("UPDATE_GOLDEN")) {
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        fwrite(got, 1, len, f);
        fclose(f);
    }
    char *want = slurp(path, &glen);
    if (!want)
        fail_msg("%s: golden file missing (run with UPDATE_GOLDEN=1 from the repo root)", path);
    if (glen != len || memcmp(got, want, len) != 0)
        fail_msg("%s: got %zu bytes:\n%s\nwant %zu bytes (the golden file)", name, len, got, glen);
    for (size_t i = 0, col = 0; i < len; i++) { /* RFC 5322: CRLF only, lines <= 998 */
        if (got[i] == '\n' && (i == 0 || got[i - 1] != '\r'))
            fail_msg("%s: bare LF at %zu", name, i);
        col = got[i] == '\n' ? 0 : col + 1;
        if (col > 998)
            fail_msg("%s: line over 998 bytes at %zu", name, i);
    }
    free(got);
    free(want);
}

/* A report template: one recipient, full content. */
static struct dsn_report base_report(const struct dsn_rcpt *rc, size_t n)
{
    return (struct dsn_report){.id = "0123456789ABCDEF", .reporting_mta = "mx.sluice.example",
                               .to = "sender@src.example", .orig_qid = "00000000000000AA",
                               .received_from = "client.src.example", .arrival = T0,
                               .now = T0 + 3600000, .nrcpt = n, .rcpts = rc, .msg = orig,
                               .msglen = sizeof orig - 1, .ret = DSN_RET_FULL};
}

/* Every action with its usual status, returned in full. */
static void test_golden_actions(void **state)
{
    (void)state;
    struct {
        const char *name;
        enum dsn_action a;
        const char *status, *diag, *mta;
    } cases[] = {
        {"failed_5xx", DSN_FAILED, "5.1.1", "550 5.1.1 <bad@d.example>: no such user", "mx.d.example"},
        {"failed_nxdomain", DSN_FAILED, "5.4.4", "5.4.4 domain d.example not found (NXDOMAIN)", ""},
        {"delayed_4xx", DSN_DELAYED, "4.4.7", "4.4.1 connect to mx.d.example[192.0.2.1]:25: timeout", ""},
        {"delivered", DSN_DELIVERED, "2.0.0", "250 2.0.0 Ok: queued as 123", "mx.d.example"},
        {"relayed", DSN_RELAYED, "2.0.0", "250 2.0.0 Ok", "mx.d.example"},
        {"expanded", DSN_EXPANDED, "2.0.0", "", ""},
        {"failed_default_status", DSN_FAILED, NULL,
         "5.4.7 message expired, last reply: 4.4.1 connect to mx.d.example[192.0.2.1]:25: "
         "Connection refused", ""},
        {"failed_plain_reply_status", DSN_FAILED, NULL, "550 no such user", "mx.d.example"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct dsn_rcpt rc = {.addr = "bad@d.example", .action = cases[i].a,
                              .status = cases[i].status, .diag = cases[i].diag,
                              .remote_mta = cases[i].mta, .last_attempt = T0 + 1800000,
                              .retry_until = cases[i].a == DSN_DELAYED ? T0 + 3 * 86400000LL : 0};
        struct dsn_report r = base_report(&rc, 1);
        check_golden(cases[i].name, &r);
    }
}

/* RET=HDRS returns only the header block; no content gives two parts. */
static void test_golden_ret(void **state)
{
    (void)state;
    struct dsn_rcpt rc = {.addr = "bad@d.example", .action = DSN_FAILED, .status = "5.1.1",
                          .diag = "550 5.1.1 no such user", .remote_mta = "mx.d.example"};
    struct dsn_report r = base_report(&rc, 1);
    r.ret = DSN_RET_HDRS;
    check_golden("ret_hdrs", &r);
    r.msg = NULL;
    r.msglen = 0;
    check_golden("no_content", &r);
}

/* Several recipients, ORCPT (xtext-decoded), ENVID, a long folded diagnostic. */
static void test_golden_mixed(void **state)
{
    (void)state;
    char longdiag[1500];
    memcpy(longdiag, "550-5.7.1 ", 10);
    for (size_t i = 10; i < sizeof longdiag - 1; i++)
        longdiag[i] = i % 9 == 0 ? ' ' : 'x';
    longdiag[sizeof longdiag - 1] = '\0';
    struct dsn_rcpt rc[] = {
        {.addr = "a@d.example", .orcpt = "rfc822;A+x+2024@old.example", .action = DSN_FAILED,
         .status = "5.7.1", .diag = longdiag, .remote_mta = "mx.d.example", .last_attempt = T0},
        {.addr = "b@d.example", .orcpt = "rfc822;b@d.example", .action = DSN_DELAYED,
         .status = "4.3.0", .diag = "451 4.3.0 try\tlater\r\nInjected: x", .retry_until = T0 + 1},
        {.addr = "c@e.example", .action = DSN_RELAYED, .status = "2.0.0", .diag = "250 ok"},
    };
    struct dsn_report r = base_report(rc, 3);
    r.envid = "ENV-42";
    check_golden("mixed_orcpt_envid", &r);
}

/* UTF-8 addresses: RFC 6533 types, utf-8 address type, 8bit transfer encoding. */
static void test_golden_utf8(void **state)
{
    (void)state;
    struct dsn_rcpt rc = {.addr = "j\xc3\xb6rg@d\xc3\xa4.example", .action = DSN_FAILED,
                          .status = "5.1.1", .diag = "550 5.1.1 unknown", .remote_mta = "mx.example"};
    struct dsn_report r = base_report(&rc, 1);
    r.utf8 = true;
    r.to = "s\xc3\xa9nder@src.example";
    check_golden("utf8_full", &r);
    r.ret = DSN_RET_HDRS;
    check_golden("utf8_hdrs", &r);
}

/* A content that contains the boundary gets another one. */
static void test_boundary_collision(void **state)
{
    (void)state;
    static const char evil[] = "Subject: x\r\n\r\n--=_sluice_0123456789ABCDEF\r\n";
    struct dsn_rcpt rc = {.addr = "bad@d.example", .action = DSN_FAILED};
    struct dsn_report r = base_report(&rc, 1);
    r.msg = evil;
    r.msglen = sizeof evil - 1;
    size_t len;
    char *got = dsn_build(&r, &len);
    if (!strstr(got, "boundary=\"=_sluice_0123456789ABCDEF_1\""))
        fail_msg("got %s, want boundary =_sluice_0123456789ABCDEF_1", got);
    free(got);
}

/* RET policy and Remote-MTA names. */
static void test_bounce_helpers(void **state)
{
    (void)state;
    struct { uint32_t flags; uint64_t size; enum dsn_ret want; } rets[] = {
        {0, 10, DSN_RET_FULL}, {0, 50001, DSN_RET_HDRS}, {MSG_F_RET_FULL, 1 << 30, DSN_RET_FULL},
        {MSG_F_RET_HDRS, 1, DSN_RET_HDRS}, {0, 50000, DSN_RET_FULL},
    };
    for (size_t i = 0; i < sizeof rets / sizeof rets[0]; i++)
        if (bounce_ret(rets[i].flags, rets[i].size, 50000) != rets[i].want)
            fail_msg("bounce_ret case %zu: got %d, want %d", i,
                     (int)bounce_ret(rets[i].flags, rets[i].size, 50000), (int)rets[i].want);
    struct { const char *relay, *want; } mtas[] = {
        {"mx.d.example[192.0.2.1]:25", "mx.d.example"}, {"[192.0.2.1]:25", "192.0.2.1"},
        {"none", ""}, {"", ""},
    };
    char buf[256];
    for (size_t i = 0; i < sizeof mtas / sizeof mtas[0]; i++)
        if (strcmp(bounce_remote_mta(mtas[i].relay, buf, sizeof buf), mtas[i].want) != 0)
            fail_msg("remote_mta(%s): got %s, want %s", mtas[i].relay, buf, mtas[i].want);
}

/* The report envelope: null sender, one recipient, MSG_F_BOUNCE, NOTIFY=NEVER. */
static void test_bounce_envelope(void **state)
{
    (void)state;
    struct dsn_rcpt rc = {.addr = "bad@d.example", .action = DSN_FAILED};
    struct dsn_report r = base_report(&rc, 1);
    struct bounce b;
    size_t len;
    char *body = bounce_build(&b, &r, "sender@src.example", T0, &len);
    assert_string_equal(b.m.sender, "");
    assert_int_equal(b.m.nrcpt, 1);
    assert_string_equal(b.m.rcpts[0].addr, "sender@src.example");
    assert_true(b.m.flags & MSG_F_BOUNCE);
    assert_int_equal(b.r.notify, NOTIFY_NEVER);
    assert_int_equal(b.m.size, len);
    assert_string_equal(r.id, b.qid);
    free(body);
    bounce_clear(&b);
}

/* The report's content flag, from its one scan at bounce_build(): 7-bit text is stored
 * MSG_F_7BIT (smtpc does not scan it again), 8-bit text MSG_F_8BITMIME and never 7BIT. */
static void test_bounce_7bit_flag(void **state)
{
    (void)state;
    static const char orig8[] = "Subject: x\r\n\r\ncaf\xc3\xa9\r\n";
    static const struct {
        const char *name, *addr, *msg;
        enum dsn_ret ret;
        uint32_t want; /* MSG_F_7BIT | MSG_F_8BITMIME | MSG_F_SMTPUTF8 part of the flags */
    } x[] = {
        {"ascii report, full", "bad@d.example", NULL, DSN_RET_FULL, MSG_F_7BIT},
        {"8-bit original returned in full", "bad@d.example", orig8, DSN_RET_FULL, MSG_F_8BITMIME},
        {"8-bit original, headers only", "bad@d.example", orig8, DSN_RET_HDRS, MSG_F_7BIT},
        {"utf-8 recipient", "b\xc3\xa4" "d@d.example", NULL, DSN_RET_HDRS,
         MSG_F_8BITMIME | MSG_F_SMTPUTF8},
    };
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++) {
        struct dsn_rcpt rc = {.addr = x[i].addr, .action = DSN_FAILED, .status = "5.1.1"};
        struct dsn_report r = base_report(&rc, 1);
        r.ret = x[i].ret;
        if (x[i].msg)
            r.msg = x[i].msg, r.msglen = strlen(x[i].msg);
        struct bounce b;
        size_t len;
        char *body = bounce_build(&b, &r, "sender@src.example", T0, &len);
        uint32_t got = b.m.flags & (MSG_F_7BIT | MSG_F_8BITMIME | MSG_F_SMTPUTF8);
        if (got != x[i].want || ((got & MSG_F_7BIT) != 0) == (dsn_has_8bit(body, len) != 0))
            fail_msg("%s: got flags 0x%x, want 0x%x", x[i].name, got, x[i].want);
        free(body);
        bounce_clear(&b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_actions), cmocka_unit_test(test_golden_ret),
        cmocka_unit_test(test_golden_mixed),   cmocka_unit_test(test_golden_utf8),
        cmocka_unit_test(test_boundary_collision),
        cmocka_unit_test(test_bounce_helpers), cmocka_unit_test(test_bounce_envelope),
        cmocka_unit_test(test_bounce_7bit_flag),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
