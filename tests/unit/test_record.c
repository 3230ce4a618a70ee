/* test_record: round trips of envelope and recipient records, encoder limits and a table of
 * damaged inputs that the decoder must refuse without leaking. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "queue/record.h"

/* Hand-built record bytes for the damage table. */
struct rbuf {
    uint8_t b[256];
    size_t n;
};

/* Appends a little-endian integer of width bytes. */
static void rb_uint(struct rbuf *r, uint64_t v, unsigned width)
{
    for (unsigned i = 0; i < width; i++)
        r->b[r->n++] = (uint8_t)(v >> (8 * i));
}

/* Appends a length-prefixed string with an explicit (possibly lying) length. */
static void rb_str(struct rbuf *r, uint32_t len, const char *s, size_t real)
{
    rb_uint(r, len, 4);
    memcpy(r->b + r->n, s, real);
    r->n += real;
}

/* A valid envelope record built by hand: checks the documented layout too. */
static struct rbuf rb_msg(uint8_t version, uint32_t nrcpt)
{
    struct rbuf r = {.n = 0};
    rb_uint(&r, version, 1);
    rb_uint(&r, 1700000000000ULL, 8);
    rb_uint(&r, 1234, 8);
    rb_uint(&r, nrcpt, 4);
    rb_str(&r, 11, "a@example.o", 11);
    rb_str(&r, 9, "127.0.0.1", 9);
    rb_str(&r, 4, "helo", 4);
    return r;
}

/* A valid recipient record built by hand. */
static struct rbuf rb_rcpt(uint8_t version, uint8_t state)
{
    struct rbuf r = {.n = 0};
    rb_uint(&r, version, 1);
    rb_uint(&r, state, 1);
    rb_uint(&r, 3, 4);
    rb_uint(&r, 99, 8);
    rb_str(&r, 5, "b@x.y", 5);
    rb_str(&r, 3, "250", 3);
    return r;
}

/* Compares two strings, NULL meaning "" on the encoding side. */
static void assert_str_eqn(const char *got, const char *want)
{
    assert_non_null(got);
    assert_string_equal(got, want ? want : "");
}

/* Encodes m, decodes, compares, re-encodes and compares bytes. */
static void check_msg_roundtrip(const struct qmsg *m)
{
    size_t n = record_msg_encode(m, NULL, 0);
    assert_true(n > 0);
    uint8_t *buf = malloc(n), *buf2 = malloc(n);
    assert_int_equal(record_msg_encode(m, buf, n), n);
    struct qmsg d = {.id = 77};
    assert_int_equal(record_msg_decode(buf, n, &d), 0);
    assert_int_equal(d.id, 77); /* id is not part of the record */
    assert_int_equal(d.arrival, m->arrival);
    assert_int_equal(d.size, m->size);
    assert_int_equal(d.nrcpt, m->nrcpt);
    assert_null(d.rcpts);
    assert_str_eqn(d.sender, m->sender);
    assert_str_eqn(d.client_ip, m->client_ip);
    assert_str_eqn(d.helo, m->helo);
    assert_int_equal(record_msg_encode(&d, buf2, n), n);
    assert_memory_equal(buf, buf2, n);
    record_msg_clear(&d);
    free(buf);
    free(buf2);
}

/* Envelopes at the edges of every field round-trip exactly. */
static void test_msg_roundtrip(void **state)
{
    (void)state;
    char *big = malloc(RECORD_STR_MAX + 1);
    memset(big, 'x', RECORD_STR_MAX);
    big[RECORD_STR_MAX] = 0;
    struct qmsg cases[] = {
        {0, 1700000000123LL, "alice@example.org", "192.0.2.1", "mx.example.org", 4096, 2, NULL},
        {0, 0, "", "", "", 0, 0, NULL},
        {0, -1, NULL, NULL, NULL, UINT64_MAX, RECORD_RCPT_MAX, NULL},
        {0, INT64_MIN, "\xc3\xa9t\xc3\xa9@x", "::1", "[127.0.0.1]", 1, 1, NULL},
        {0, INT64_MAX, big, big, big, 7, 3, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_msg_roundtrip(&cases[i]);
    free(big);
}

/* Recipient records in every state round-trip exactly. */
static void test_rcpt_roundtrip(void **state)
{
    (void)state;
    struct qrcpt cases[] = {
        {"bob@example.net", RCPT_PENDING, 0, 0, ""},
        {"c@d", RCPT_DEFERRED, 5, 1700000000000LL, "451 4.7.1 try later"},
        {"e@f", RCPT_DELIVERED, UINT32_MAX, INT64_MAX, "250 2.0.0 ok"},
        {"g@h", RCPT_FAILED, 1, INT64_MIN, "550 5.1.1 no such user"},
        {NULL, RCPT_PENDING, 0, -5, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct qrcpt *r = &cases[i];
        uint8_t buf[512], buf2[512];
        size_t n = record_rcpt_encode(r, buf, sizeof buf);
        assert_true(n > 0 && n <= sizeof buf);
        struct qrcpt d;
        assert_int_equal(record_rcpt_decode(buf, n, &d), 0);
        assert_int_equal(d.state, r->state);
        assert_int_equal(d.attempts, r->attempts);
        assert_int_equal(d.next_attempt, r->next_attempt);
        assert_str_eqn(d.addr, r->addr);
        assert_str_eqn(d.last_reply, r->last_reply);
        assert_int_equal(record_rcpt_encode(&d, buf2, sizeof buf2), n);
        assert_memory_equal(buf, buf2, n);
        record_rcpt_clear(&d);
    }
}

/* A buffer too small is left alone and the needed size is still returned. */
static void test_encode_small_cap(void **state)
{
    (void)state;
    struct qmsg m = {0, 1, "s@x", "1.2.3.4", "h", 10, 1, NULL};
    uint8_t buf[8];
    memset(buf, 0xAA, sizeof buf);
    size_t need = record_msg_encode(&m, buf, sizeof buf);
    assert_int_equal(need, 1 + 8 + 8 + 4 + 4 + 3 + 4 + 7 + 4 + 1);
    for (size_t i = 0; i < sizeof buf; i++)
        assert_int_equal(buf[i], 0xAA);
    struct qrcpt r = {"a@b", RCPT_PENDING, 0, 0, ""};
    size_t rneed = record_rcpt_encode(&r, buf, sizeof buf);
    assert_int_equal(rneed, 1 + 1 + 4 + 8 + 4 + 3 + 4);
    for (size_t i = 0; i < sizeof buf; i++)
        assert_int_equal(buf[i], 0xAA);
}

/* Input the decoder would refuse encodes to nothing (size 0). */
static void test_encode_limits(void **state)
{
    (void)state;
    char *big = malloc(RECORD_STR_MAX + 2);
    memset(big, 'y', RECORD_STR_MAX + 1);
    big[RECORD_STR_MAX + 1] = 0;
    struct qmsg msgs[] = {
        {0, 0, big, "", "", 0, 0, NULL},
        {0, 0, "", big, "", 0, 0, NULL},
        {0, 0, "", "", big, 0, 0, NULL},
        {0, 0, "", "", "", 0, RECORD_RCPT_MAX + 1, NULL},
    };
    for (size_t i = 0; i < sizeof msgs / sizeof msgs[0]; i++)
        assert_int_equal(record_msg_encode(&msgs[i], NULL, 0), 0);
    struct qrcpt rcpts[] = {
        {big, RCPT_PENDING, 0, 0, ""},
        {"a@b", RCPT_PENDING, 0, 0, big},
        {"a@b", RCPT_FAILED + 1, 0, 0, ""},
        {"a@b", 255, 0, 0, ""},
    };
    for (size_t i = 0; i < sizeof rcpts / sizeof rcpts[0]; i++)
        assert_int_equal(record_rcpt_encode(&rcpts[i], NULL, 0), 0);
    free(big);
}

/* Builds one damaged envelope for the table below. */
static struct rbuf damaged_msg(int which)
{
    struct rbuf r = rb_msg(RECORD_VERSION, 1);
    switch (which) {
    case 0: /* version 0 */
        return rb_msg(0, 1);
    case 1: /* future version */
        return rb_msg(RECORD_VERSION + 1, 1);
    case 2: /* too many recipients */
        return rb_msg(RECORD_VERSION, RECORD_RCPT_MAX + 1);
    case 3: /* trailing byte */
        r.b[r.n++] = 0;
        return r;
    case 4: /* sender length beyond the end */
        r.n = 21;
        rb_str(&r, 200, "abc", 3);
        return r;
    case 5: /* string length over RECORD_STR_MAX */
        r.n = 21;
        rb_str(&r, RECORD_STR_MAX + 1, "abc", 3);
        return r;
    case 6: /* length 0xFFFFFFFF (overflow bait) */
        r.n = 21;
        rb_str(&r, UINT32_MAX, "abc", 3);
        return r;
    case 7: /* NUL inside the sender */
        r.b[21 + 4 + 3] = 0;
        return r;
    default: /* empty */
        r.n = 0;
        return r;
    }
}

/* Damaged envelopes are refused with -1 and leave *m untouched. */
static void test_msg_damaged(void **state)
{
    (void)state;
    for (int which = 0; which <= 8; which++) {
        struct rbuf r = damaged_msg(which);
        struct qmsg m = {.id = 5, .sender = (char *)"untouched"};
        int got = record_msg_decode(r.b, r.n, &m);
        if (got != -1)
            fail_msg("case %d: got %d, want -1", which, got);
        assert_string_equal(m.sender, "untouched");
    }
    /* Every strict prefix of a valid record is truncated. */
    struct rbuf ok = rb_msg(RECORD_VERSION, 2);
    struct qmsg m = {0};
    for (size_t n = 0; n < ok.n; n++)
        if (record_msg_decode(ok.b, n, &m) != -1)
            fail_msg("prefix %zu of %zu: got 0, want -1", n, ok.n);
    assert_int_equal(record_msg_decode(ok.b, ok.n, &m), 0);
    assert_string_equal(m.sender, "a@example.o");
    assert_string_equal(m.client_ip, "127.0.0.1");
    assert_int_equal(m.nrcpt, 2);
    record_msg_clear(&m);
}

/* Damaged recipient records are refused with -1. */
static void test_rcpt_damaged(void **state)
{
    (void)state;
    struct rbuf cases[8];
    cases[0] = rb_rcpt(0, RCPT_PENDING);
    cases[1] = rb_rcpt(RECORD_VERSION + 1, RCPT_PENDING);
    cases[2] = rb_rcpt(RECORD_VERSION, RCPT_FAILED + 1);
    cases[3] = rb_rcpt(RECORD_VERSION, 0xFF);
    cases[4] = rb_rcpt(RECORD_VERSION, RCPT_PENDING);
    cases[4].b[cases[4].n++] = 'x'; /* trailing byte */
    cases[5] = rb_rcpt(RECORD_VERSION, RCPT_PENDING);
    cases[5].n = 14;
    rb_str(&cases[5], 1000, "abc", 3); /* address length beyond the end */
    cases[6] = rb_rcpt(RECORD_VERSION, RCPT_PENDING);
    cases[6].b[14 + 4 + 1] = 0; /* NUL in the address */
    cases[7] = rb_rcpt(RECORD_VERSION, RCPT_PENDING);
    cases[7].n = 14;
    rb_str(&cases[7], RECORD_STR_MAX + 1, "abc", 3);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct qrcpt r = {0};
        int got = record_rcpt_decode(cases[i].b, cases[i].n, &r);
        if (got != -1)
            fail_msg("case %zu: got %d, want -1", i, got);
        assert_null(r.addr);
    }
    struct rbuf ok = rb_rcpt(RECORD_VERSION, RCPT_DEFERRED);
    struct qrcpt r;
    for (size_t n = 0; n < ok.n; n++)
        if (record_rcpt_decode(ok.b, n, &r) != -1)
            fail_msg("prefix %zu of %zu: got 0, want -1", n, ok.n);
    assert_int_equal(record_rcpt_decode(ok.b, ok.n, &r), 0);
    assert_int_equal(r.state, RCPT_DEFERRED);
    assert_int_equal(r.attempts, 3);
    assert_int_equal(r.next_attempt, 99);
    assert_string_equal(r.addr, "b@x.y");
    assert_string_equal(r.last_reply, "250");
    record_rcpt_clear(&r);
}

/* record_msg_clear frees recipients too and leaves the message empty. */
static void test_msg_clear(void **state)
{
    (void)state;
    struct qmsg m = {.id = 9, .sender = strdup("a"), .client_ip = strdup(""), .helo = NULL};
    m.nrcpt = 2;
    m.rcpts = calloc(2, sizeof *m.rcpts);
    m.rcpts[0].addr = strdup("x@y");
    m.rcpts[0].last_reply = strdup("");
    record_msg_clear(&m);
    assert_null(m.sender);
    assert_null(m.rcpts);
    assert_int_equal(m.nrcpt, 0);
    assert_int_equal(m.id, 9);
}

/* States have stable names. */
static void test_state_to_text(void **state)
{
    (void)state;
    static const struct {
        uint8_t state;
        const char *want;
    } cases[] = {{RCPT_PENDING, "pending"},
                 {RCPT_DEFERRED, "deferred"},
                 {RCPT_DELIVERED, "delivered"},
                 {RCPT_FAILED, "failed"},
                 {4, "unknown"},
                 {255, "unknown"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *got = record_state_to_text(cases[i].state);
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("state %u: got %s, want %s", cases[i].state, got, cases[i].want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_msg_roundtrip),    cmocka_unit_test(test_rcpt_roundtrip),
        cmocka_unit_test(test_encode_small_cap), cmocka_unit_test(test_encode_limits),
        cmocka_unit_test(test_msg_damaged),      cmocka_unit_test(test_rcpt_damaged),
        cmocka_unit_test(test_msg_clear),        cmocka_unit_test(test_state_to_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
