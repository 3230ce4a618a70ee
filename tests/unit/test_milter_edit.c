/* test_milter_edit: milter/edit.h, table-driven: one message and envelope, a list of
 * modifications, the message text and envelope got against the ones wanted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/xalloc.h"
#include "milter/edit.h"

#define MSG "Received: from x\r\nSubject: hi\r\nTo: a@b\r\nSubject: two\r\n\r\nbody\r\n"

struct edit_case {
    const char *name;
    struct milter_mod mods[4];
    size_t nmods;
    size_t max;
    const char *want;      /* the message text, or NULL when refused */
    const char *want_env;  /* "sender|rcpt,rcpt" */
    const char *want_held; /* the reason, or NULL */
};

#define M(c, i, n, v) {.code = (c), .index = (i), .name = (char *)(n), .value = (char *)(v)}
#define A(c, a) {.code = (c), .addr = (char *)(a)}
#define B(b) {.code = SMFIR_REPLBODY, .body = (uint8_t *)(b), .bodylen = sizeof(b) - 1}

static const struct edit_case cases[] = {
    {"add", {M(SMFIR_ADDHEADER, 0, "X-A", "1")}, 1, 4096,
     "Received: from x\r\nSubject: hi\r\nTo: a@b\r\nSubject: two\r\nX-A: 1\r\n\r\nbody\r\n", "s@x|r1@y,r2@y", NULL},
    {"insert top", {M(SMFIR_INSHEADER, 0, "X-T", "t")}, 1, 4096,
     "X-T: t\r\n" MSG, "s@x|r1@y,r2@y", NULL},
    {"insert 1", {M(SMFIR_INSHEADER, 1, "X-T", "t")}, 1, 4096,
     "Received: from x\r\nX-T: t\r\nSubject: hi\r\nTo: a@b\r\nSubject: two\r\n\r\nbody\r\n", "s@x|r1@y,r2@y", NULL},
    {"insert past end", {M(SMFIR_INSHEADER, 99, "X-T", "t")}, 1, 4096,
     "Received: from x\r\nSubject: hi\r\nTo: a@b\r\nSubject: two\r\nX-T: t\r\n\r\nbody\r\n", "s@x|r1@y,r2@y", NULL},
    {"change 2nd", {M(SMFIR_CHGHEADER, 2, "subject", "new")}, 1, 4096,
     "Received: from x\r\nSubject: hi\r\nTo: a@b\r\nsubject: new\r\n\r\nbody\r\n", "s@x|r1@y,r2@y", NULL},
    {"delete 1st", {M(SMFIR_CHGHEADER, 1, "Subject", "")}, 1, 4096,
     "Received: from x\r\nTo: a@b\r\nSubject: two\r\n\r\nbody\r\n", "s@x|r1@y,r2@y", NULL},
    {"delete absent", {M(SMFIR_CHGHEADER, 3, "Subject", "")}, 1, 4096, MSG, "s@x|r1@y,r2@y", NULL},
    {"change absent adds", {M(SMFIR_CHGHEADER, 1, "X-N", "v")}, 1, 4096,
     "Received: from x\r\nSubject: hi\r\nTo: a@b\r\nSubject: two\r\nX-N: v\r\n\r\nbody\r\n", "s@x|r1@y,r2@y", NULL},
    {"folded value", {M(SMFIR_ADDHEADER, 0, "X-F", "a\nb\r\n\tc")}, 1, 4096,
     "Received: from x\r\nSubject: hi\r\nTo: a@b\r\nSubject: two\r\nX-F: a\r\n\tb\r\n\tc\r\n\r\nbody\r\n", "s@x|r1@y,r2@y", NULL},
    {"leading space kept", {M(SMFIR_ADDHEADER, 0, "X-S", " v")}, 1, 4096,
     "Received: from x\r\nSubject: hi\r\nTo: a@b\r\nSubject: two\r\nX-S: v\r\n\r\nbody\r\n", "s@x|r1@y,r2@y", NULL},
    {"bad name", {M(SMFIR_ADDHEADER, 0, "X A", "v")}, 1, 4096, NULL, NULL, NULL},
    {"body in two pieces", {B("new\n"), B("second\r\n")}, 2, 4096,
     "Received: from x\r\nSubject: hi\r\nTo: a@b\r\nSubject: two\r\n\r\nnew\r\nsecond\r\n", "s@x|r1@y,r2@y", NULL},
    {"body CR LF split", {B("a\r"), B("\nb\r\n")}, 2, 4096,
     "Received: from x\r\nSubject: hi\r\nTo: a@b\r\nSubject: two\r\n\r\na\r\nb\r\n", "s@x|r1@y,r2@y", NULL},
    {"too big", {B("0123456789012345678901234567890123456789")}, 1, 80, NULL, NULL, NULL},
    {"rcpts and sender", {A(SMFIR_ADDRCPT, "<n@z>"), A(SMFIR_DELRCPT, "<R1@Y>"), A(SMFIR_CHGFROM, "<>")}, 3, 4096,
     MSG, "|r2@y,n@z", NULL},
    {"bad rcpt", {A(SMFIR_ADDRCPT, "<a b@z>")}, 1, 4096, NULL, NULL, NULL},
    {"empty rcpt", {A(SMFIR_ADDRCPT, "<>")}, 1, 4096, NULL, NULL, NULL},
    {"quarantine", {{.code = SMFIR_QUARANTINE, .text = (char *)"spam?"}}, 1, 4096, MSG, "s@x|r1@y,r2@y", "spam?"},
};

/* The envelope as "sender|rcpt,rcpt". */
static void env_text(const struct qmsg *e, char *buf, size_t cap)
{
    size_t o = (size_t)snprintf(buf, cap, "%s|", e->sender);
    for (uint32_t i = 0; i < e->nrcpt; i++)
        o += (size_t)snprintf(buf + o, cap - o, "%s%s", i ? "," : "", e->rcpts[i].addr);
}

static void run_case(const struct edit_case *c)
{
    struct qmsg env = {.sender = xstrdup("s@x"), .nrcpt = 2};
    env.rcpts = xcalloc(2, sizeof *env.rcpts);
    env.rcpts[0] = (struct qrcpt){.addr = xstrdup("r1@y"), .last_reply = xstrdup(""), .orcpt = xstrdup("")};
    env.rcpts[1] = (struct qrcpt){.addr = xstrdup("r2@y"), .last_reply = xstrdup(""), .orcpt = xstrdup("")};
    struct milter_msg m = {.text = xstrdup(MSG), .len = strlen(MSG), .env = &env};
    char err[200], got_env[512];
    int rc = milter_edit_apply(&m, c->mods, c->nmods, c->max, err, sizeof err);
    if (!c->want) {
        if (rc != -1)
            fail_msg("%s: got %d, want -1", c->name, rc);
    } else {
        if (rc != 0)
            fail_msg("%s: got -1 (%s), want 0", c->name, err);
        if (m.len != strlen(c->want) || memcmp(m.text, c->want, m.len) != 0)
            fail_msg("%s: got\n'%.*s', want\n'%s'", c->name, (int)m.len, m.text, c->want);
        env_text(&env, got_env, sizeof got_env);
        if (strcmp(got_env, c->want_env) != 0)
            fail_msg("%s: got envelope '%s', want '%s'", c->name, got_env, c->want_env);
        if ((c->want_held != NULL) != m.held || (m.held && strcmp(m.held_reason, c->want_held)))
            fail_msg("%s: got held %d '%s'", c->name, m.held, m.held_reason);
    }
    free(m.text);
    record_msg_clear(&env);
}

static void test_edit(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_case(&cases[i]);
}

/* ESMTP arguments of SMFIR_CHGFROM and SMFIR_ADDRCPT_PAR: applied to the envelope, or the
 * modification refused with its reason (and the envelope untouched). */
struct args_case {
    const char *name;
    char code;
    const char *addr, *args;
    uint32_t flags; /* the message's flags before */
    const char *want_err; /* a part of the reason, or NULL when applied */
    const char *want;     /* "sender flags envid|rcpt notify orcpt,..." */
};

static const struct args_case args_cases[] = {
    {"chgfrom no args", SMFIR_CHGFROM, "<n@z>", NULL, MSG_F_RET_FULL, NULL, "n@z 4 old|r1@y 0 ,r2@y 0 "},
    {"chgfrom empty args", SMFIR_CHGFROM, "<n@z>", "", 0, NULL, "n@z 0 old|r1@y 0 ,r2@y 0 "},
    {"chgfrom RET ENVID", SMFIR_CHGFROM, "<n@z>", "RET=HDRS ENVID=env+2B1", MSG_F_RET_FULL, NULL,
     "n@z 8 env+1|r1@y 0 ,r2@y 0 "},
    {"chgfrom RET=FULL", SMFIR_CHGFROM, "<>", "  ret=full ", MSG_F_RET_HDRS, NULL, " 4 old|r1@y 0 ,r2@y 0 "},
    {"chgfrom BODY SMTPUTF8 SIZE", SMFIR_CHGFROM, "<n@z>", "BODY=8BITMIME SMTPUTF8 SIZE=1000", 0, NULL,
     "n@z 3 old|r1@y 0 ,r2@y 0 "},
    {"chgfrom BODY=7BIT", SMFIR_CHGFROM, "<n@z>", "BODY=7BIT", MSG_F_8BITMIME, NULL, "n@z 0 old|r1@y 0 ,r2@y 0 "},
    {"chgfrom BY refused", SMFIR_CHGFROM, "<n@z>", "BY=60;R", 0, "ESMTP argument BY is not applied here", NULL},
    {"chgfrom AUTH refused", SMFIR_CHGFROM, "<n@z>", "AUTH=<>", 0, "ESMTP argument AUTH is not applied", NULL},
    {"chgfrom unknown refused", SMFIR_CHGFROM, "<n@z>", "RET=FULL XFOO=1", 0, "argument XFOO is not applied", NULL},
    {"chgfrom bad RET", SMFIR_CHGFROM, "<n@z>", "RET=ALL", 0, "bad ESMTP argument RET", NULL},
    {"chgfrom repeated", SMFIR_CHGFROM, "<n@z>", "RET=FULL RET=HDRS", 0, "bad ESMTP argument RET", NULL},
    {"chgfrom malformed", SMFIR_CHGFROM, "<n@z>", "RET=", 0, "malformed ESMTP arguments", NULL},
    {"chgfrom control byte", SMFIR_CHGFROM, "<n@z>", "ENVID=a\r\nRSET", 0, "malformed", NULL},
    {"addrcpt_par NOTIFY ORCPT", SMFIR_ADDRCPT_PAR, "<n@z>", "NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;o+2Bx@z", 0,
     NULL, "s@x 0 old|r1@y 0 ,r2@y 0 ,n@z 3 rfc822;o+x@z"},
    {"addrcpt_par NEVER", SMFIR_ADDRCPT_PAR, "n@z", "NOTIFY=NEVER", 0, NULL,
     "s@x 0 old|r1@y 0 ,r2@y 0 ,n@z 8 "},
    {"addrcpt_par no args", SMFIR_ADDRCPT_PAR, "<n@z>", NULL, 0, NULL, "s@x 0 old|r1@y 0 ,r2@y 0 ,n@z 0 "},
    {"addrcpt_par utf-8 ORCPT raw in SMTPUTF8", SMFIR_ADDRCPT_PAR, "<n@z>", "ORCPT=utf-8;\xc3\xa9@z",
     MSG_F_SMTPUTF8, NULL, "s@x 1 old|r1@y 0 ,r2@y 0 ,n@z 0 utf-8;\xc3\xa9@z"},
    {"addrcpt_par utf-8 ORCPT raw refused", SMFIR_ADDRCPT_PAR, "<n@z>", "ORCPT=utf-8;\xc3\xa9@z", 0,
     "bad ESMTP argument ORCPT", NULL},
    {"addrcpt_par RET refused", SMFIR_ADDRCPT_PAR, "<n@z>", "RET=FULL", 0, "ESMTP argument RET is not applied", NULL},
    {"addrcpt_par bad NOTIFY", SMFIR_ADDRCPT_PAR, "<n@z>", "NOTIFY=NEVER,SUCCESS", 0, "bad ESMTP argument NOTIFY", NULL},
    {"addrcpt_par bad rcpt", SMFIR_ADDRCPT_PAR, "<>", "NOTIFY=NEVER", 0, "addrcpt_par refused", NULL},
};

/* The envelope with its ESMTP values: "sender flags envid|rcpt notify orcpt,...". */
static void env_args_text(const struct qmsg *e, char *buf, size_t cap)
{
    size_t o = (size_t)snprintf(buf, cap, "%s %u %s|", e->sender, (unsigned)e->flags, e->envid);
    for (uint32_t i = 0; i < e->nrcpt; i++)
        o += (size_t)snprintf(buf + o, cap - o, "%s%s %u %s", i ? "," : "", e->rcpts[i].addr,
                              (unsigned)e->rcpts[i].notify, e->rcpts[i].orcpt);
}

static void run_args_case(const struct args_case *c)
{
    struct qmsg env = {.sender = xstrdup("s@x"), .envid = xstrdup("old"), .flags = c->flags, .nrcpt = 2};
    env.rcpts = xcalloc(2, sizeof *env.rcpts);
    env.rcpts[0] = (struct qrcpt){.addr = xstrdup("r1@y"), .last_reply = xstrdup(""), .orcpt = xstrdup("")};
    env.rcpts[1] = (struct qrcpt){.addr = xstrdup("r2@y"), .last_reply = xstrdup(""), .orcpt = xstrdup("")};
    struct milter_msg m = {.text = xstrdup(MSG), .len = strlen(MSG), .env = &env};
    struct milter_mod mod = {.code = c->code, .addr = (char *)c->addr, .args = (char *)c->args};
    char err[200] = "", before[1024], got[1024];
    env_args_text(&env, before, sizeof before);
    int rc = milter_edit_apply(&m, &mod, 1, 4096, err, sizeof err);
    env_args_text(&env, got, sizeof got);
    if (c->want_err && (rc != -1 || !strstr(err, c->want_err) || strcmp(got, before) != 0))
        fail_msg("%s: got %d '%s' env '%s', want -1 '%s' env unchanged", c->name, rc, err, got,
                 c->want_err);
    if (!c->want_err && (rc != 0 || strcmp(got, c->want) != 0))
        fail_msg("%s: got %d '%s' env '%s', want '%s'", c->name, rc, err, got, c->want);
    free(m.text);
    record_msg_clear(&env);
}

static void test_edit_args(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof args_cases / sizeof args_cases[0]; i++)
        run_args_case(&args_cases[i]);
}

/* MSG_F_7BIT (content known to be 7-bit) after the modifications: kept while they add
 * only ASCII (deletions included), cleared by the first that adds an octet >= 0x80. */
static void test_edit_7bit_flag(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        struct milter_mod mods[3];
        size_t nmods;
        uint32_t flags, want; /* envelope flags before, after */
    } x[] = {
        {"ascii header", {M(SMFIR_ADDHEADER, 0, "X-A", "1")}, 1, MSG_F_7BIT, MSG_F_7BIT},
        {"ascii body", {B("plain\n")}, 1, MSG_F_7BIT | MSG_F_SMTPUTF8, MSG_F_7BIT | MSG_F_SMTPUTF8},
        {"delete", {M(SMFIR_CHGHEADER, 1, "Subject", "")}, 1, MSG_F_7BIT, MSG_F_7BIT},
        {"8-bit body", {B("caf\xc3\xa9\n")}, 1, MSG_F_7BIT | MSG_F_SMTPUTF8, MSG_F_SMTPUTF8},
        {"8-bit second body piece", {B("a\n"), B("\xe9\n")}, 2, MSG_F_7BIT, 0},
        {"8-bit header added", {M(SMFIR_ADDHEADER, 0, "X-U", "\xc3\xa9")}, 1, MSG_F_7BIT, 0},
        {"8-bit header changed", {M(SMFIR_CHGHEADER, 1, "Subject", "\xc3\xa9")}, 1, MSG_F_7BIT, 0},
        {"8-bit header inserted, then ascii", {M(SMFIR_INSHEADER, 0, "X-U", "\xe9"), B("x\n")}, 2,
         MSG_F_7BIT, 0},
        {"8-bit body, no flag before", {B("\xe9\n")}, 1, MSG_F_8BITMIME, MSG_F_8BITMIME},
        {"ascii body over 8-bit, no flag before: stays unknown", {B("x\n")}, 1, 0, 0},
    };
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++) {
        struct qmsg env = {.sender = xstrdup("s@x"), .flags = x[i].flags};
        struct milter_msg m = {.text = xstrdup(MSG), .len = strlen(MSG), .env = &env};
        char err[200] = "";
        int rc = milter_edit_apply(&m, x[i].mods, x[i].nmods, 4096, err, sizeof err);
        if (rc != 0 || env.flags != x[i].want)
            fail_msg("%s: got %d '%s' flags 0x%x, want 0 flags 0x%x", x[i].name, rc, err,
                     env.flags, x[i].want);
        free(m.text);
        record_msg_clear(&env);
    }
}

static void test_header_end(void **state)
{
    (void)state;
    size_t body;
    assert_int_equal(milter_edit_header_end(MSG, strlen(MSG), &body), strlen(MSG) - 8);
    assert_int_equal(body, strlen(MSG) - 6);
    assert_int_equal(milter_edit_header_end("A: b\r\n", 6, &body), 6);
    assert_int_equal(body, 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_edit), cmocka_unit_test(test_edit_args),
                                       cmocka_unit_test(test_edit_7bit_flag),
                                       cmocka_unit_test(test_header_end)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
