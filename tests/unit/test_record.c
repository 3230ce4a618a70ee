/* test_record: round trips of envelope and recipient records (RECORD_VERSION 2, with the DSN
 * and DELIVERBY fields), the exact byte layout, encoder limits, and tables of damaged inputs
 * (every truncation, lying lengths, NULs, trailing bytes, version 1 records) that the decoder
 * must refuse without leaking or touching its output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "queue/record.h"

/* Byte offsets in the hand-built v2 records below (rb_msg / rb_rcpt). */
#define MSG_OFF_SENDER 21 /* after version, arrival, size, nrcpt */
#define MSG_OFF_FLAGS 57  /* after sender (4+11), client_ip (4+9), helo (4+4) */
#define MSG_OFF_DELIVER_BY 61
#define MSG_OFF_ENVID 69
#define RCPT_OFF_ADDR 14   /* after version, state, attempts, next_attempt */
#define RCPT_OFF_NOTIFY 30 /* after addr (4+5), last_reply (4+3) */
#define RCPT_OFF_FLAGS 31
#define RCPT_OFF_ORCPT 32

/* Hand-built record bytes for the layout and damage tables. */
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

/* The fields of rb_msg, as a struct for the encoder (rcpts none). */
static struct qmsg rb_msg_fields(uint32_t nrcpt)
{
    return (struct qmsg){.arrival = 1700000000000LL,
                         .sender = (char *)"a@example.o",
                         .client_ip = (char *)"127.0.0.1",
                         .helo = (char *)"helo",
                         .size = 1234,
                         .flags = MSG_F_SMTPUTF8 | MSG_F_RET_HDRS | MSG_F_BY_NOTIFY,
                         .deliver_by = 1700000360000LL,
                         .envid = (char *)"env-1",
                         .nrcpt = nrcpt};
}

/* The version 1 part of an envelope: everything up to and including helo. */
static struct rbuf rb_msg_v1(uint8_t version, uint32_t nrcpt)
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

/* A valid v2 envelope built by hand (same fields as rb_msg_fields): the documented layout. */
static struct rbuf rb_msg(uint8_t version, uint32_t nrcpt)
{
    struct rbuf r = rb_msg_v1(version, nrcpt);
    rb_uint(&r, MSG_F_SMTPUTF8 | MSG_F_RET_HDRS | MSG_F_BY_NOTIFY, 4);
    rb_uint(&r, 1700000360000ULL, 8);
    rb_str(&r, 5, "env-1", 5);
    return r;
}

/* The fields of rb_rcpt, as a struct for the encoder. */
static struct qrcpt rb_rcpt_fields(uint8_t state)
{
    return (struct qrcpt){.addr = (char *)"b@x.y",
                          .state = state,
                          .attempts = 3,
                          .next_attempt = 99,
                          .last_reply = (char *)"250",
                          .notify = NOTIFY_FAILURE | NOTIFY_DELAY,
                          .flags = RCPT_F_DELAY_REPORTED,
                          .orcpt = (char *)"rfc822;B@X.Y"};
}

/* The version 1 part of a recipient record: everything up to and including last_reply. */
static struct rbuf rb_rcpt_v1(uint8_t version, uint8_t state)
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

/* A valid v2 recipient record built by hand (same fields as rb_rcpt_fields). */
static struct rbuf rb_rcpt(uint8_t version, uint8_t state)
{
    struct rbuf r = rb_rcpt_v1(version, state);
    rb_uint(&r, NOTIFY_FAILURE | NOTIFY_DELAY, 1);
    rb_uint(&r, RCPT_F_DELAY_REPORTED, 1);
    rb_str(&r, 12, "rfc822;B@X.Y", 12);
    return r;
}

/* Compares two strings, NULL meaning "" on the encoding side. */
static void assert_str_eqn(const char *got, const char *want)
{
    assert_non_null(got);
    assert_string_equal(got, want ? want : "");
}

/* A malloc'ed string of n copies of c. */
static char *make_big(char c, size_t n)
{
    char *s = malloc(n + 1);
    assert_non_null(s);
    memset(s, c, n);
    s[n] = 0;
    return s;
}

/* Encodes m, decodes, compares every field, re-encodes and compares bytes. */
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
    assert_int_equal(d.flags, m->flags);
    assert_int_equal(d.deliver_by, m->deliver_by);
    assert_int_equal(d.nrcpt, m->nrcpt);
    assert_null(d.rcpts);
    assert_str_eqn(d.sender, m->sender);
    assert_str_eqn(d.client_ip, m->client_ip);
    assert_str_eqn(d.helo, m->helo);
    assert_str_eqn(d.envid, m->envid);
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
    char *big = make_big('x', RECORD_STR_MAX);
    struct qmsg cases[] = {
        {.arrival = 1700000000123LL, .sender = "alice@example.org", .client_ip = "192.0.2.1",
         .helo = "mx.example.org", .size = 4096,
         .flags = MSG_F_SMTPUTF8 | MSG_F_8BITMIME | MSG_F_RET_FULL, .deliver_by = 1700000600000LL,
         .envid = "QQ314159", .nrcpt = 2},
        {.sender = "", .client_ip = "", .helo = "", .envid = ""},
        {.arrival = -1, .size = UINT64_MAX, .flags = UINT32_MAX, .deliver_by = -1,
         .nrcpt = RECORD_RCPT_MAX},
        {.arrival = INT64_MIN, .sender = "\xc3\xa9t\xc3\xa9@x", .client_ip = "::1",
         .helo = "[127.0.0.1]", .size = 1, .flags = 0xFF, .deliver_by = INT64_MIN,
         .envid = "\xc3\xa9nv+2B=id", .nrcpt = 1},
        {.arrival = INT64_MAX, .sender = big, .client_ip = big, .helo = big, .size = 7,
         .flags = 0x80000000u, .deliver_by = INT64_MAX, .envid = big, .nrcpt = 3},
        {.sender = "", .flags = MSG_F_BOUNCE, .envid = big, .nrcpt = 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_msg_roundtrip(&cases[i]);
    free(big);
}

/* Every single message flag bit, and every combination of the defined ones, survives and
 * lands in the documented place. */
static void test_msg_flag_bits(void **state)
{
    (void)state;
    for (unsigned i = 0; i < 32 + 256; i++) {
        struct qmsg m = rb_msg_fields(1);
        m.flags = i < 32 ? 1u << i : i - 32;
        struct rbuf want = rb_msg(RECORD_VERSION, 1);
        for (unsigned b = 0; b < 4; b++)
            want.b[MSG_OFF_FLAGS + b] = (uint8_t)(m.flags >> (8 * b));
        uint8_t got[256];
        size_t n = record_msg_encode(&m, got, sizeof got);
        if (n != want.n || memcmp(got, want.b, n) != 0)
            fail_msg("flags 0x%x: got %zu bytes, want %zu matching the layout", m.flags, n, want.n);
        check_msg_roundtrip(&m);
    }
}

/* MSG_F_7BIT ("content known to be 7-bit"): a record written before the flag existed
 * decodes without it (unknown: smtpc scans), one with it keeps it; it is its own bit, the
 * third of the flags' second byte. */
static void test_msg_7bit_flag(void **state)
{
    (void)state;
    static const struct {
        uint32_t stored; /* the flags word in the record bytes */
        int want_7bit;
    } cases[] = {
        {MSG_F_SMTPUTF8 | MSG_F_RET_HDRS | MSG_F_BY_NOTIFY, 0}, /* an old record */
        {0, 0},
        {MSG_F_8BITMIME | MSG_F_BODYFILE | MSG_F_HELD, 0},
        {MSG_F_7BIT, 1},
        {MSG_F_7BIT | MSG_F_SMTPUTF8 | MSG_F_BODYFILE, 1},
    };
    assert_int_equal(MSG_F_7BIT, 1024);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct rbuf r = rb_msg(RECORD_VERSION, 1);
        for (unsigned b = 0; b < 4; b++)
            r.b[MSG_OFF_FLAGS + b] = (uint8_t)(cases[i].stored >> (8 * b));
        struct qmsg d = {.id = 1};
        assert_int_equal(record_msg_decode(r.b, r.n, &d), 0);
        if (((d.flags & MSG_F_7BIT) != 0) != cases[i].want_7bit || d.flags != cases[i].stored)
            fail_msg("case %zu: got flags 0x%x, want 0x%x (7bit %d)", i, d.flags, cases[i].stored,
                     cases[i].want_7bit);
        assert_int_equal(r.b[MSG_OFF_FLAGS + 1] & 4, cases[i].want_7bit ? 4 : 0);
        check_msg_roundtrip(&d);
        record_msg_clear(&d);
    }
}

/* Compares a decoded recipient with what was encoded. */
static void check_rcpt_fields(const struct qrcpt *d, const struct qrcpt *r)
{
    assert_int_equal(d->state, r->state);
    assert_int_equal(d->attempts, r->attempts);
    assert_int_equal(d->next_attempt, r->next_attempt);
    assert_int_equal(d->notify, r->notify);
    assert_int_equal(d->flags, r->flags);
    assert_str_eqn(d->addr, r->addr);
    assert_str_eqn(d->last_reply, r->last_reply);
    assert_str_eqn(d->orcpt, r->orcpt);
}

/* Encodes r, decodes, compares every field, re-encodes and compares bytes. */
static void check_rcpt_roundtrip(const struct qrcpt *r)
{
    size_t n = record_rcpt_encode(r, NULL, 0);
    assert_true(n > 0);
    uint8_t *buf = malloc(n), *buf2 = malloc(n);
    assert_int_equal(record_rcpt_encode(r, buf, n), n);
    struct qrcpt d;
    memset(&d, 0x5A, sizeof d); /* decode must set every field */
    assert_int_equal(record_rcpt_decode(buf, n, &d), 0);
    check_rcpt_fields(&d, r);
    assert_int_equal(record_rcpt_encode(&d, buf2, n), n);
    assert_memory_equal(buf, buf2, n);
    record_rcpt_clear(&d);
    free(buf);
    free(buf2);
}

/* Recipient records in every state, with the DSN fields at their edges, round-trip. */
static void test_rcpt_roundtrip(void **state)
{
    (void)state;
    char *big = make_big('r', RECORD_STR_MAX);
    struct qrcpt cases[] = {
        {.addr = "bob@example.net", .state = RCPT_PENDING, .last_reply = "", .orcpt = ""},
        {.addr = "c@d", .state = RCPT_DEFERRED, .attempts = 5, .next_attempt = 1700000000000LL,
         .last_reply = "451 4.7.1 try later", .notify = NOTIFY_FAILURE | NOTIFY_DELAY,
         .flags = RCPT_F_DELAY_REPORTED, .orcpt = "rfc822;c@d"},
        {.addr = "e@f", .state = RCPT_DELIVERED, .attempts = UINT32_MAX,
         .next_attempt = INT64_MAX, .last_reply = "250 2.0.0 ok", .notify = NOTIFY_SUCCESS,
         .flags = RCPT_F_REPORTED, .orcpt = "rfc822;E@F"},
        {.addr = "g@h", .state = RCPT_FAILED, .attempts = 1, .next_attempt = INT64_MIN,
         .last_reply = "550 5.1.1 no such user", .notify = NOTIFY_NEVER,
         .flags = RCPT_F_REPORTED | RCPT_F_DELAY_REPORTED, .orcpt = "utf-8;g\\x{E9}@h"},
        {.state = RCPT_PENDING, .next_attempt = -5, .notify = 0xFF, .flags = 0xFF},
        {.addr = big, .state = RCPT_DEFERRED, .last_reply = big,
         .notify = NOTIFY_SUCCESS | NOTIFY_FAILURE | NOTIFY_DELAY, .orcpt = big},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_rcpt_roundtrip(&cases[i]);
    free(big);
}

/* Every notify and recipient-flags byte value survives and lands in the documented place. */
static void test_rcpt_notify_flag_bits(void **state)
{
    (void)state;
    for (unsigned v = 0; v < 256; v++) {
        struct qrcpt r = rb_rcpt_fields(RCPT_DEFERRED);
        r.notify = (uint8_t)v;
        r.flags = (uint8_t)(255 - v);
        struct rbuf want = rb_rcpt(RECORD_VERSION, RCPT_DEFERRED);
        want.b[RCPT_OFF_NOTIFY] = (uint8_t)v;
        want.b[RCPT_OFF_FLAGS] = (uint8_t)(255 - v);
        uint8_t got[256];
        size_t n = record_rcpt_encode(&r, got, sizeof got);
        if (n != want.n || memcmp(got, want.b, n) != 0)
            fail_msg("notify 0x%x: got %zu bytes, want %zu matching the layout", v, n, want.n);
        check_rcpt_roundtrip(&r);
    }
}

/* The encoder writes exactly the documented layout (checked against hand-built bytes). */
static void test_layout(void **state)
{
    (void)state;
    uint8_t got[256];
    struct qmsg m = rb_msg_fields(2);
    struct rbuf want = rb_msg(RECORD_VERSION, 2);
    assert_int_equal(record_msg_encode(&m, got, sizeof got), want.n);
    assert_memory_equal(got, want.b, want.n);
    static const uint8_t states[] = {RCPT_PENDING, RCPT_DEFERRED, RCPT_DELIVERED, RCPT_FAILED};
    for (size_t i = 0; i < sizeof states; i++) {
        struct qrcpt r = rb_rcpt_fields(states[i]);
        struct rbuf rwant = rb_rcpt(RECORD_VERSION, states[i]);
        assert_int_equal(record_rcpt_encode(&r, got, sizeof got), rwant.n);
        assert_memory_equal(got, rwant.b, rwant.n);
    }
}

/* A buffer too small is left alone and the needed size is still returned. */
static void test_encode_small_cap(void **state)
{
    (void)state;
    struct qmsg m = {.arrival = 1, .sender = "s@x", .client_ip = "1.2.3.4", .helo = "h",
                     .size = 10, .flags = 1, .deliver_by = 2, .envid = "e", .nrcpt = 1};
    uint8_t buf[8];
    memset(buf, 0xAA, sizeof buf);
    size_t need = record_msg_encode(&m, buf, sizeof buf);
    assert_int_equal(need, 1 + 8 + 8 + 4 + 4 + 3 + 4 + 7 + 4 + 1 + 4 + 8 + 4 + 1);
    for (size_t i = 0; i < sizeof buf; i++)
        assert_int_equal(buf[i], 0xAA);
    uint8_t *exact = malloc(need);
    memset(exact, 0xAA, need);
    assert_int_equal(record_msg_encode(&m, exact, need - 1), need); /* one byte short */
    for (size_t i = 0; i < need; i++)
        assert_int_equal(exact[i], 0xAA);
    free(exact);
    struct qrcpt r = {.addr = "a@b", .state = RCPT_PENDING, .last_reply = "", .orcpt = "o"};
    size_t rneed = record_rcpt_encode(&r, buf, sizeof buf);
    assert_int_equal(rneed, 1 + 1 + 4 + 8 + 4 + 3 + 4 + 1 + 1 + 4 + 1);
    for (size_t i = 0; i < sizeof buf; i++)
        assert_int_equal(buf[i], 0xAA);
}

/* Input the decoder would refuse encodes to nothing (size 0). */
static void test_encode_limits(void **state)
{
    (void)state;
    char *big = make_big('y', RECORD_STR_MAX + 1);
    struct qmsg msgs[] = {
        {.sender = big},
        {.client_ip = big},
        {.helo = big},
        {.envid = big},
        {.envid = big, .flags = UINT32_MAX, .deliver_by = INT64_MAX},
        {.nrcpt = RECORD_RCPT_MAX + 1},
        {.nrcpt = UINT32_MAX},
    };
    for (size_t i = 0; i < sizeof msgs / sizeof msgs[0]; i++) {
        size_t got = record_msg_encode(&msgs[i], NULL, 0);
        if (got != 0)
            fail_msg("msg case %zu: got %zu, want 0", i, got);
    }
    struct qrcpt rcpts[] = {
        {.addr = big, .last_reply = ""},
        {.addr = "a@b", .last_reply = big},
        {.addr = "a@b", .orcpt = big},
        {.addr = "a@b", .orcpt = big, .notify = NOTIFY_SUCCESS},
        {.addr = "a@b", .state = RCPT_FAILED + 1},
        {.addr = "a@b", .state = 255, .orcpt = "rfc822;a@b"},
    };
    for (size_t i = 0; i < sizeof rcpts / sizeof rcpts[0]; i++) {
        size_t got = record_rcpt_encode(&rcpts[i], NULL, 0);
        if (got != 0)
            fail_msg("rcpt case %zu: got %zu, want 0", i, got);
    }
    free(big);
}

static const char *const damaged_msg_names[] = {
    "version 0",          "future version",       "too many recipients",
    "trailing byte",      "sender past the end",  "sender over RECORD_STR_MAX",
    "sender 0xFFFFFFFF",  "NUL in sender",        "envid past the end",
    "envid over max",     "envid 0xFFFFFFFF",     "NUL in envid",
    "v1 record",          "v1 layout, version 2", "v2 layout, version 1",
    "envid missing",      "empty",
};

/* Builds damaged envelope number `which` (named in damaged_msg_names). */
static struct rbuf damaged_msg(int which)
{
    struct rbuf r = rb_msg(RECORD_VERSION, 1);
    switch (which) {
    case 0:
        return rb_msg(0, 1);
    case 1:
        return rb_msg(RECORD_VERSION + 1, 1);
    case 2:
        return rb_msg(RECORD_VERSION, RECORD_RCPT_MAX + 1);
    case 3:
        r.b[r.n++] = 0;
        return r;
    case 4:
    case 5:
    case 6:
        r.n = MSG_OFF_SENDER;
        rb_str(&r, which == 4 ? 200 : which == 5 ? RECORD_STR_MAX + 1 : UINT32_MAX, "abc", 3);
        return r;
    case 7:
        r.b[MSG_OFF_SENDER + 4 + 3] = 0;
        return r;
    case 8:
    case 9:
    case 10:
        r.n = MSG_OFF_ENVID;
        rb_str(&r, which == 8 ? 6 : which == 9 ? RECORD_STR_MAX + 1 : UINT32_MAX, "env-1", 5);
        return r;
    case 11:
        r.b[MSG_OFF_ENVID + 4 + 2] = 0;
        return r;
    case 12:
        return rb_msg_v1(1, 1);
    case 13:
        return rb_msg_v1(RECORD_VERSION, 1);
    case 14:
        return rb_msg(1, 1);
    case 15:
        r.n = MSG_OFF_ENVID;
        return r;
    default:
        r.n = 0;
        return r;
    }
}

/* Damaged envelopes are refused with -1 and leave *m untouched. */
static void test_msg_damaged(void **state)
{
    (void)state;
    int ncases = (int)(sizeof damaged_msg_names / sizeof damaged_msg_names[0]);
    for (int which = 0; which < ncases; which++) {
        struct rbuf r = damaged_msg(which);
        struct qmsg m = {.id = 5, .sender = "untouched", .envid = "untouched", .flags = 7};
        int got = record_msg_decode(r.b, r.n, &m);
        if (got != -1)
            fail_msg("%s: got %d, want -1", damaged_msg_names[which], got);
        assert_string_equal(m.sender, "untouched");
        assert_string_equal(m.envid, "untouched");
        assert_int_equal(m.flags, 7);
        assert_int_equal(m.id, 5);
    }
}

/* Every strict prefix of a valid envelope (all fields set) is refused; the whole decodes. */
static void test_msg_truncated(void **state)
{
    (void)state;
    struct rbuf ok = rb_msg(RECORD_VERSION, 2);
    struct qmsg m = {.id = 3};
    for (size_t n = 0; n < ok.n; n++)
        if (record_msg_decode(ok.b, n, &m) != -1)
            fail_msg("prefix %zu of %zu: got 0, want -1", n, ok.n);
    assert_null(m.sender);
    assert_int_equal(record_msg_decode(ok.b, ok.n, &m), 0);
    assert_int_equal(m.id, 3);
    assert_int_equal(m.arrival, 1700000000000LL);
    assert_int_equal(m.size, 1234);
    assert_int_equal(m.nrcpt, 2);
    assert_string_equal(m.sender, "a@example.o");
    assert_string_equal(m.client_ip, "127.0.0.1");
    assert_string_equal(m.helo, "helo");
    assert_int_equal(m.flags, MSG_F_SMTPUTF8 | MSG_F_RET_HDRS | MSG_F_BY_NOTIFY);
    assert_int_equal(m.deliver_by, 1700000360000LL);
    assert_string_equal(m.envid, "env-1");
    record_msg_clear(&m);
}

static const char *const damaged_rcpt_names[] = {
    "version 0",          "future version",     "state 4",
    "state 255",          "trailing byte",      "addr past the end",
    "NUL in addr",        "addr over max",      "orcpt past the end",
    "orcpt over max",     "orcpt 0xFFFFFFFF",   "NUL in orcpt",
    "v1 record",          "v1 layout, version 2", "v2 layout, version 1",
    "orcpt missing",      "flags missing",
};

/* Builds damaged recipient record number `which` (named in damaged_rcpt_names). */
static struct rbuf damaged_rcpt(int which)
{
    struct rbuf r = rb_rcpt(RECORD_VERSION, RCPT_PENDING);
    switch (which) {
    case 0:
        return rb_rcpt(0, RCPT_PENDING);
    case 1:
        return rb_rcpt(RECORD_VERSION + 1, RCPT_PENDING);
    case 2:
    case 3:
        return rb_rcpt(RECORD_VERSION, which == 2 ? RCPT_FAILED + 1 : 0xFF);
    case 4:
        r.b[r.n++] = 'x';
        return r;
    case 5:
    case 7:
        r.n = RCPT_OFF_ADDR;
        rb_str(&r, which == 5 ? 1000 : RECORD_STR_MAX + 1, "abc", 3);
        return r;
    case 6:
        r.b[RCPT_OFF_ADDR + 4 + 1] = 0;
        return r;
    case 8:
    case 9:
    case 10:
        r.n = RCPT_OFF_ORCPT;
        rb_str(&r, which == 8 ? 13 : which == 9 ? RECORD_STR_MAX + 1 : UINT32_MAX, "rfc822;B@X.Y",
               12);
        return r;
    case 11:
        r.b[RCPT_OFF_ORCPT + 4 + 6] = 0;
        return r;
    case 12:
        return rb_rcpt_v1(1, RCPT_PENDING);
    case 13:
        return rb_rcpt_v1(RECORD_VERSION, RCPT_PENDING);
    case 14:
        return rb_rcpt(1, RCPT_PENDING);
    case 15:
        r.n = RCPT_OFF_ORCPT;
        return r;
    default:
        r.n = RCPT_OFF_FLAGS;
        return r;
    }
}

/* Damaged recipient records are refused with -1 and leave *r untouched. */
static void test_rcpt_damaged(void **state)
{
    (void)state;
    int ncases = (int)(sizeof damaged_rcpt_names / sizeof damaged_rcpt_names[0]);
    for (int which = 0; which < ncases; which++) {
        struct rbuf b = damaged_rcpt(which);
        struct qrcpt r = {.notify = 9, .flags = 9};
        int got = record_rcpt_decode(b.b, b.n, &r);
        if (got != -1)
            fail_msg("%s: got %d, want -1", damaged_rcpt_names[which], got);
        assert_null(r.addr);
        assert_null(r.orcpt);
        assert_int_equal(r.notify, 9);
        assert_int_equal(r.flags, 9);
    }
}

/* Every strict prefix of a valid recipient record in each state is refused. */
static void test_rcpt_truncated(void **state)
{
    (void)state;
    for (uint8_t st = RCPT_PENDING; st <= RCPT_FAILED; st++) {
        struct rbuf ok = rb_rcpt(RECORD_VERSION, st);
        struct qrcpt r = {0};
        for (size_t n = 0; n < ok.n; n++)
            if (record_rcpt_decode(ok.b, n, &r) != -1)
                fail_msg("state %u, prefix %zu of %zu: got 0, want -1", st, n, ok.n);
        assert_null(r.addr);
        assert_int_equal(record_rcpt_decode(ok.b, ok.n, &r), 0);
        struct qrcpt want = rb_rcpt_fields(st);
        check_rcpt_fields(&r, &want);
        record_rcpt_clear(&r);
        assert_null(r.orcpt);
    }
}

/* record_msg_clear frees every string and the recipients, and leaves the message empty. */
static void test_msg_clear(void **state)
{
    (void)state;
    struct qmsg m = {.id = 9, .sender = strdup("a"), .client_ip = strdup(""), .helo = NULL,
                     .envid = strdup("ENV"), .flags = 3, .deliver_by = 5};
    m.nrcpt = 2;
    m.rcpts = calloc(2, sizeof *m.rcpts);
    m.rcpts[0].addr = strdup("x@y");
    m.rcpts[0].last_reply = strdup("");
    m.rcpts[0].orcpt = strdup("rfc822;x@y");
    m.rcpts[1].orcpt = strdup("");
    record_msg_clear(&m);
    assert_null(m.sender);
    assert_null(m.client_ip);
    assert_null(m.envid);
    assert_null(m.rcpts);
    assert_int_equal(m.nrcpt, 0);
    assert_int_equal(m.id, 9);
    struct qrcpt r = {.addr = strdup("a"), .last_reply = strdup("b"), .orcpt = strdup("c")};
    record_rcpt_clear(&r);
    assert_null(r.addr);
    assert_null(r.last_reply);
    assert_null(r.orcpt);
    record_rcpt_clear(&r); /* twice is harmless */
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
        cmocka_unit_test(test_msg_roundtrip),    cmocka_unit_test(test_msg_flag_bits),
        cmocka_unit_test(test_msg_7bit_flag),
        cmocka_unit_test(test_rcpt_roundtrip),   cmocka_unit_test(test_rcpt_notify_flag_bits),
        cmocka_unit_test(test_layout),           cmocka_unit_test(test_encode_small_cap),
        cmocka_unit_test(test_encode_limits),    cmocka_unit_test(test_msg_damaged),
        cmocka_unit_test(test_msg_truncated),    cmocka_unit_test(test_rcpt_damaged),
        cmocka_unit_test(test_rcpt_truncated),   cmocka_unit_test(test_msg_clear),
        cmocka_unit_test(test_state_to_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
