/* test_showq: Postfix's mailq text and postqueue -j JSON of a fixed queue (held, active,
 * deferred with two reasons, null sender, a finished message left out, peer bytes made
 * printable) against the golden files tests/golden/mailq.txt and tests/golden/mailq.json
 * (run from the top of the tree; TZ=UTC); the empty queue; the queue names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "queue/showq.h"

#define NOW 1764633600000LL /* Tue Dec  2 00:00:00 2025 UTC */

static struct qrcpt rc(const char *addr, uint8_t state, int64_t next, const char *reply)
{
    return (struct qrcpt){.addr = (char *)addr,
                          .state = state,
                          .next_attempt = next,
                          .last_reply = (char *)reply,
                          .orcpt = (char *)""};
}

/* The fixed queue: five messages. */
static void showq_fixture(struct showq *q)
{
    struct qrcpt r1[] = {rc("u1@a.example", RCPT_PENDING, 0, "")};
    struct qrcpt r2[] = {rc("u2@b.example", RCPT_DEFERRED, NOW + 60000,
                            "4.4.1 connect to mx.b.example[192.0.2.1]:25: Connection refused"),
                         rc("u3@b.example", RCPT_DEFERRED, NOW + 60000,
                            "4.4.1 connect to mx.b.example[192.0.2.1]:25: Connection refused"),
                         rc("u4@c.example", RCPT_DEFERRED, NOW + 60000, "451 4.3.0 try\x01 later"),
                         rc("done@c.example", RCPT_DELIVERED, 0, "250 ok")};
    struct qrcpt r3[] = {rc("held@d.example", RCPT_PENDING, 0, "")};
    struct qrcpt r4[] = {rc("x@e.example", RCPT_DELIVERED, 0, "250 ok")};
    struct qrcpt r5[] = {rc("postmaster@f.example", RCPT_DEFERRED, NOW - 1000, "421 busy")};
    struct qmsg m[] = {
        {.id = 0x6619B9F3CB4E70EBULL,
         .arrival = NOW - 5000,
         .sender = (char *)"a@src.example",
         .size = 524,
         .nrcpt = 1,
         .rcpts = r1},
        {.id = 0x6619B9F48C58C0EBULL,
         .arrival = NOW - 3600000,
         .sender = (char *)"b\"q@src.example",
         .size = 20480,
         .nrcpt = 4,
         .rcpts = r2},
        {.id = 0x6619B9F48C58C0ECULL,
         .arrival = NOW - 86400000,
         .sender = (char *)"c@src.example",
         .size = 3000,
         .flags = MSG_F_HELD,
         .nrcpt = 1,
         .rcpts = r3},
        {.id = 0x6619B9F48C58C0EDULL,
         .arrival = NOW,
         .sender = (char *)"",
         .size = 100,
         .nrcpt = 1,
         .rcpts = r4},
        {.id = 0x6619B9F48C58C0EEULL,
         .arrival = NOW - 7200000,
         .sender = (char *)"",
         .size = 1500,
         .flags = MSG_F_BOUNCE,
         .nrcpt = 1,
         .rcpts = r5},
    };
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
        assert_int_equal(showq_msg(q, &m[i]), 0);
    showq_end(q);
}

/* Formats the fixture into a string (json or text). */
static char *showq_render(int json)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    struct showq q = {.out = f, .now = NOW, .json = json};
    showq_fixture(&q);
    fclose(f);
    return buf;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot open %s (run from the top of the tree)", path);
    char *buf = calloc(1, 65536);
    size_t n = fread(buf, 1, 65535, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* got the render, want the golden file (line by line for a readable failure). */
static void check_golden(int json, const char *path)
{
    char *got = showq_render(json), *want = slurp(path);
    if (strcmp(got, want) != 0) {
        const char *g = got, *w = want;
        for (int line = 1; *g || *w; line++) {
            size_t gl = strcspn(g, "\n"), wl = strcspn(w, "\n");
            if (gl != wl || strncmp(g, w, gl) != 0)
                fail_msg("%s line %d: got \"%.*s\", want \"%.*s\"", path, line, (int)gl, g, (int)wl,
                         w);
            g += gl + (g[gl] != 0);
            w += wl + (w[wl] != 0);
        }
    }
    free(got);
    free(want);
}

static void test_text_golden(void **state)
{
    (void)state;
    check_golden(0, "tests/golden/mailq.txt");
}

static void test_json_golden(void **state)
{
    (void)state;
    check_golden(1, "tests/golden/mailq.json");
}

/* No message: "Mail queue is empty" (text), nothing (JSON). */
static void test_empty(void **state)
{
    (void)state;
    for (int json = 0; json <= 1; json++) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        struct showq q = {.out = f, .now = NOW, .json = json};
        showq_end(&q);
        fclose(f);
        assert_string_equal(buf, json ? "" : "Mail queue is empty\n");
        free(buf);
    }
}

/* The queue names: got showq_queue_name, want the table's. */
static void test_queue_names(void **state)
{
    (void)state;
    static const struct {
        uint8_t state;
        int64_t next;
        uint32_t flags;
        const char *want;
    } t[] = {
        {RCPT_PENDING, 0, 0, "active"},
        {RCPT_DEFERRED, NOW - 1, 0, "active"},
        {RCPT_DEFERRED, NOW + 1, 0, "deferred"},
        {RCPT_PENDING, 0, MSG_F_HELD, "hold"},
        {RCPT_DEFERRED, NOW + 1, MSG_F_HELD, "hold"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        struct qrcpt r = rc("a@b.example", t[i].state, t[i].next, "");
        struct qmsg m = {.sender = (char *)"", .flags = t[i].flags, .nrcpt = 1, .rcpts = &r};
        const char *got = showq_queue_name(&m, NOW);
        if (strcmp(got, t[i].want) != 0)
            fail_msg("case %zu: got %s, want %s", i, got, t[i].want);
    }
}

int main(void)
{
    setenv("TZ", "UTC", 1);
    tzset();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_golden),
        cmocka_unit_test(test_json_golden),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_queue_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
