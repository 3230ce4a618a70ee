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
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_edit), cmocka_unit_test(test_header_end)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
