/* Unit tests: core containers (dict, heap) and queue ids. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "core/dict.h"
#include "core/heap.h"
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dict),
        cmocka_unit_test(test_heap),
        cmocka_unit_test(test_qid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
