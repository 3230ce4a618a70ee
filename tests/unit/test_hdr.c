/* Unit tests: header walking and lookup, address lists, RFC 5322 dates (proto/hdr.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "proto/hdr.h"

struct got {
    char buf[1024];
};

/* Collects addresses as "a,b,c". */
static void collect(void *arg, const char *a)
{
    struct got *g = arg;
    if (g->buf[0])
        strcat(g->buf, ",");
    strcat(g->buf, a);
}

/* Address lists in the forms MUAs write. */
static void test_addrlist(void **state)
{
    (void)state;
    struct { const char *in; const char *want; int n; } cases[] = {
        {"a@b.test", "a@b.test", 1},
        {"Ann <a@b.test>, c@d.test", "a@b.test,c@d.test", 2},
        {"\"Doe, John\" <j@d.test>", "j@d.test", 1},
        {"j@d.test (John, Doe)", "j@d.test", 1},
        {"team: x@y.test, z@y.test;, w@v.test", "x@y.test,z@y.test,w@v.test", 3},
        {"undisclosed-recipients:;", "", 0},
        {"nobody", "nobody", 1},
        {"root, Ann <ann>", "root,ann", 2},
        {"@x.test, y@", "", 0},
        {"<broken@x.test", "", 0},
        {"", "", 0},
        {" , ,a@b.test,, ", "a@b.test", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct got g = {""};
        int n = hdr_addrlist(cases[i].in, collect, &g);
        if (n != cases[i].n || strcmp(g.buf, cases[i].want) != 0)
            fail_msg("case %zu: got %d '%s', want %d '%s'", i, n, g.buf, cases[i].n, cases[i].want);
    }
}

/* Fields with folding; the block ends at the empty line. */
static void test_walk(void **state)
{
    (void)state;
    const char *msg = "To: a@b.test,\r\n  c@d.test\r\nSubject: hi\r\nBcc: e@f.test\r\n\r\nbody: x\r\n";
    size_t len = strlen(msg), off = 0, used;
    struct hdr_field f;
    char v[256];
    const char *names[] = {"To", "Subject", "Bcc"};
    const char *values[] = {"a@b.test,  c@d.test", "hi", "e@f.test"};
    int i = 0;
    while ((used = hdr_next(msg, len, off, &f)) > 0) {
        assert_true(i < 3);
        assert_int_equal(f.namelen, strlen(names[i]));
        assert_memory_equal(f.name, names[i], f.namelen);
        hdr_value(&f, v, sizeof v);
        assert_string_equal(v, values[i]);
        off += used;
        i++;
    }
    assert_int_equal(i, 3);
    assert_memory_equal(msg + off, "\r\nbody", 6);
}

/* A message with no header block, and a non-field line. */
static void test_no_headers(void **state)
{
    (void)state;
    struct hdr_field f;
    assert_int_equal(hdr_next("just text\r\n", 11, 0, &f), 0);
    assert_int_equal(hdr_next("", 0, 0, &f), 0);
    assert_int_equal(hdr_next(": x\r\n", 5, 0, &f), 0);
}

/* Lookup by name: case, folding, first of two, the end of the block, truncation. */
static void test_find(void **state)
{
    (void)state;
    struct {
        const char *msg, *name;
        size_t cap; /* 0: out = NULL */
        ssize_t want;
        const char *value;
    } cases[] = {
        {"Message-ID: <a@b.test>\r\n\r\nbody\r\n", "Message-ID", 64, 10, "<a@b.test>"},
        {"message-id:<a@b.test>\r\n", "Message-ID", 64, 10, "<a@b.test>"},
        {"Subject: x\r\nMESSAGE-ID:\r\n\t<a@b.test>\r\n\r\n", "message-id", 64, 10, "<a@b.test>"},
        {"Message-ID: <1@x>\r\nMessage-ID: <2@x>\r\n", "Message-ID", 64, 5, "<1@x>"},
        {"Subject: a\nDate: Wed, 01 May 2024 13:00:00 +0000\n", "Date", 64, 31,
         "Wed, 01 May 2024 13:00:00 +0000"},
        {"Subject: x\r\n\r\nMessage-ID: <in@body>\r\n", "Message-ID", 64, -1, ""},
        {"Subject: x\r\nnot a field\r\nMessage-ID: <a@b>\r\n", "Message-ID", 64, -1, ""},
        {"Message-IDs: <a@b>\r\nMessage-I: <c@d>\r\n", "Message-ID", 64, -1, ""},
        {"X-Message-ID: <a@b>\r\n", "Message-ID", 64, -1, ""},
        {"Message-ID: <a@b.test>\r\n", "Message-ID", 4, 3, "<a@"},
        {"Message-ID: <a@b.test>\r\n", "Message-ID", 0, 0, ""},
        {"Message-ID:\r\n", "Message-ID", 64, 0, ""},
        {"Message-ID: <a@b>", "Message-ID", 64, 5, "<a@b>"}, /* no line end */
        {"", "Message-ID", 64, -1, ""},
        {"Date: x\r\n", "", 64, -1, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[64] = "untouched";
        size_t len = strlen(cases[i].msg);
        ssize_t n = hdr_find(cases[i].msg, len, cases[i].name, cases[i].cap ? out : NULL,
                             cases[i].cap);
        const char *got = n < 0 || !cases[i].cap ? "" : out;
        if (n != cases[i].want || strcmp(got, cases[i].value) != 0)
            fail_msg("case %zu: got %zd '%s', want %zd '%s'", i, n, got, cases[i].want,
                     cases[i].value);
    }
}

/* The hard bound: a field starting at or after HDR_SCAN_MAX bytes is not found, one that
 * starts before it is; the caller's len bounds the scan too. */
static void test_find_bound(void **state)
{
    (void)state;
    size_t pad = HDR_SCAN_MAX + 100;
    char *msg = malloc(pad + 64);
    assert_non_null(msg);
    struct { size_t filler; ssize_t want; } cases[] = {
        {HDR_SCAN_MAX - 40, 5},     /* Message-ID field ends before the bound */
        {HDR_SCAN_MAX - 15, 3},     /* crosses it: cut at the bound ("<a@") */
        {HDR_SCAN_MAX, -1},         /* starts at the bound */
        {HDR_SCAN_MAX + 50, -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        /* "X: aaaa...\r\n" of filler bytes, then "Message-ID: <a@b>\r\n" */
        memset(msg, 'a', cases[i].filler);
        memcpy(msg, "X: ", 3);
        memcpy(msg + cases[i].filler - 2, "\r\n", 2);
        size_t len = cases[i].filler;
        len += (size_t)sprintf(msg + len, "Message-ID: <a@b>\r\n\r\n");
        char out[64];
        ssize_t n = hdr_find(msg, len, "Message-ID", out, sizeof out);
        if (n != cases[i].want)
            fail_msg("filler %zu: got %zd, want %zd", cases[i].filler, n, cases[i].want);
    }
    /* a short len hides what lies beyond it */
    const char *m = "Subject: x\r\nMessage-ID: <a@b>\r\n";
    assert_int_equal(hdr_find(m, 12, "Message-ID", NULL, 0), -1);
    assert_int_equal(hdr_find(m, strlen(m), "Message-ID", NULL, 0), 0);
    free(msg);
}

/* RFC 5322 dates: zones, leap days, day/year rollover in the zone, clamping, small buffers. */
static void test_date(void **state)
{
    (void)state;
    struct { int64_t t; long off; size_t cap; const char *want; } cases[] = {
        {0, 0, 64, "Thu, 01 Jan 1970 00:00:00 +0000"},
        {1714568400, 0, 64, "Wed, 01 May 2024 13:00:00 +0000"},
        {1714568400, 7200, 64, "Wed, 01 May 2024 15:00:00 +0200"},
        {1714568400, -(4 * 3600 + 30 * 60), 64, "Wed, 01 May 2024 08:30:00 -0430"},
        {1714568400, 5 * 3600 + 45 * 60, 64, "Wed, 01 May 2024 18:45:00 +0545"},
        {951825600, 0, 64, "Tue, 29 Feb 2000 12:00:00 +0000"},
        {4107542399, 0, 64, "Sun, 28 Feb 2100 23:59:59 +0000"},
        {4107542399, 1, 64, "Sun, 28 Feb 2100 23:59:59 +0000"},     /* seconds of offset dropped */
        {4107542399, 60, 64, "Mon, 01 Mar 2100 00:00:59 +0001"},    /* 2100 is not leap */
        {94694399, 0, 64, "Sun, 31 Dec 1972 23:59:59 +0000"},
        {1704067199, 3600, 64, "Mon, 01 Jan 2024 00:59:59 +0100"},
        {1704067200, -3600, 64, "Sun, 31 Dec 2023 23:00:00 -0100"},
        {1714568400, -30, 64, "Wed, 01 May 2024 13:00:00 +0000"},   /* never "-0000" */
        {1714568400, 1000000, 64, "Sun, 05 May 2024 16:59:00 +9959"}, /* offset clamped */
        {1714568400, LONG_MIN, 64, "Sat, 27 Apr 2024 09:01:00 -9959"},
        {-1, 0, 64, "Thu, 01 Jan 1970 00:00:00 +0000"},
        {INT64_MAX, 0, 64, "Fri, 31 Dec 9999 23:59:59 +0000"},
        {INT64_MIN, -3600, 64, "Thu, 01 Jan 1970 00:00:00 -0100"},
        {253402300799, 3600, 64, "Fri, 31 Dec 9999 23:59:59 +0100"},
        {0, 0, HDR_DATE_MAX, "Thu, 01 Jan 1970 00:00:00 +0000"},
        {0, 0, HDR_DATE_MAX - 1, ""},
        {0, 0, 1, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[64];
        memset(buf, 'x', sizeof buf);
        size_t n = hdr_date((time_t)cases[i].t, cases[i].off, buf, cases[i].cap);
        if (n != strlen(cases[i].want) || strcmp(buf, cases[i].want) != 0)
            fail_msg("case %zu (%lld %+ld): got %zu '%s', want '%s'", i, (long long)cases[i].t,
                     cases[i].off, n, buf, cases[i].want);
    }
    char one = 'x';
    assert_int_equal(hdr_date(0, 0, &one, 0), 0);
    assert_int_equal(one, 'x'); /* cap 0: nothing written */
}

/* Against the C library: every ~10 days (plus a odd second count) from 1970 to 2200. */
static void test_date_matches_gmtime(void **state)
{
    (void)state;
    for (int64_t t = 0; t < 7258118400LL; t += 864001 + 7) {
        time_t tt = (time_t)t;
        struct tm tm;
        char want[64], got[64];
        assert_non_null(gmtime_r(&tt, &tm));
        strftime(want, sizeof want, "%a, %d %b %Y %H:%M:%S +0000", &tm);
        hdr_date(tt, 0, got, sizeof got);
        if (strcmp(got, want) != 0)
            fail_msg("t=%lld: got '%s', want '%s'", (long long)t, got, want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addrlist),
        cmocka_unit_test(test_walk),
        cmocka_unit_test(test_no_headers),
        cmocka_unit_test(test_find),
        cmocka_unit_test(test_find_bound),
        cmocka_unit_test(test_date),
        cmocka_unit_test(test_date_matches_gmtime),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
