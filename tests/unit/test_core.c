/* Unit tests: core containers (dict, heap), queue ids and the log sanitizer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/dict.h"
#include "core/heap.h"
#include "core/log.h"
#include "core/qid.h"

/* Insert, find, replace, remove over enough keys to force growth. */
static void test_dict(void **state)
{
    (void)state;
    struct dict *d = dict_create();
    char key[32];
    for (long i = 0; i < 5000; i++) {
        snprintf(key, sizeof key, "k%ld", i);
        assert_null(dict_put(d, key, (void *)(i + 1)));
    }
    assert_int_equal(dict_count(d), 5000);
    for (long i = 0; i < 5000; i++) {
        snprintf(key, sizeof key, "k%ld", i);
        assert_ptr_equal(dict_find(d, key), (void *)(i + 1));
    }
    assert_ptr_equal(dict_put(d, "k7", (void *)99), (void *)8);
    assert_ptr_equal(dict_remove(d, "k7"), (void *)99);
    assert_null(dict_find(d, "k7"));
    assert_null(dict_remove(d, "nope"));
    assert_int_equal(dict_count(d), 4999);
    dict_free(d, NULL);
}

struct item {
    struct heap_node hn;
};

/* Pops come out sorted; removal from the middle keeps the order. */
static void test_heap(void **state)
{
    (void)state;
    struct heap h;
    struct item it[1000];
    heap_init(&h);
    srandom(7);
    for (int i = 0; i < 1000; i++) {
        it[i].hn.key = random() % 500;
        heap_push(&h, &it[i].hn);
    }
    for (int i = 0; i < 1000; i += 3)
        heap_remove(&h, &it[i].hn);
    int64_t last = -1;
    size_t n = 0;
    struct heap_node *x;
    while ((x = heap_pop(&h))) {
        assert_true(x->key >= last);
        assert_int_equal(x->idx, HEAP_NONE);
        last = x->key;
        n++;
    }
    assert_int_equal(n, 1000 - 334);
    heap_clear(&h);
}

/* Ids increase and survive the text round trip. */
static void test_qid(void **state)
{
    (void)state;
    uint64_t a = qid_next(), b = qid_next(), c;
    char t[QID_TEXT_LEN + 1];
    assert_true(b > a);
    qid_to_text(b, t);
    assert_int_equal(qid_from_text(t, &c), 0);
    assert_true(c == b);
    assert_int_equal(qid_from_text("XYZ", &c), -1);
    assert_int_equal(qid_from_text("000000000000000G", &c), -1);
}

/* log_sanitize: one escaped form for every peer byte; bounded, escapes never cut. */
static void test_log_sanitize(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        size_t len;    /* 0: strlen(in) */
        size_t dstlen; /* 0: 256 */
        const char *want;
    } cases[] = {
        {"plain <a@b.example> 250 2.0.0 Ok", 0, 0, "plain <a@b.example> 250 2.0.0 Ok"},
        {"j\xc3\xb6rg@b.example", 0, 0, "j\\xc3\\xb6rg@b.example"},
        {"a\r\nb\tc", 0, 0, "a\\x0d\\x0ab\\x09c"},
        {"back\\slash", 0, 0, "back\\\\slash"},
        {"\x7f\x1b[31mred", 0, 0, "\\x7f\\x1b[31mred"},
        {"a\0b", 3, 0, "a\\x00b"},
        {"", 0, 0, ""},
        {"abc\xff", 0, 7, "abc"},            /* "\xff" needs 4 + NUL: left out whole */
        {"abc\xff", 0, 8, "abc\\xff"},
        {"ab\\", 0, 4, "ab"},               /* nor half a "\\" */
        {"abcdef", 0, 4, "abc"},
        {"abc", 0, 1, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[256];
        size_t len = cases[i].len ? cases[i].len : strlen(cases[i].in);
        size_t cap = cases[i].dstlen ? cases[i].dstlen : sizeof out;
        memset(out, 'Z', sizeof out);
        char *r = log_sanitize(out, cap, cases[i].in, len);
        if (r != out || strcmp(out, cases[i].want) != 0)
            fail_msg("case %zu: got \"%s\", want \"%s\"", i, out, cases[i].want);
    }
    /* LOG_SANITIZED_SIZE(n) holds any n bytes whole. */
    char in[64], out[LOG_SANITIZED_SIZE(64)];
    memset(in, 0x80, sizeof in);
    log_sanitize(out, sizeof out, in, sizeof in);
    assert_int_equal(strlen(out), 4 * sizeof in);
    char keep = 'K';
    assert_ptr_equal(log_sanitize(&keep, 0, "x", 1), &keep); /* dstlen 0: nothing written */
    assert_int_equal(keep, 'K');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dict),
        cmocka_unit_test(test_heap),
        cmocka_unit_test(test_qid),
        cmocka_unit_test(test_log_sanitize),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
