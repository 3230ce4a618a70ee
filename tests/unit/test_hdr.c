/* Unit tests: header walking and address lists (proto/hdr.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
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
        {"nobody", "", 0},
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addrlist),
        cmocka_unit_test(test_walk),
        cmocka_unit_test(test_no_headers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
