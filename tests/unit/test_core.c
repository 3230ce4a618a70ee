/* Unit tests: core containers (dict, heap), queue ids and the log sanitizer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <regex.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/dict.h"
#include "core/heap.h"
#include "core/hist.h"
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
/* hist: got the cumulative bucket counts and sum, want the table's. */
static void test_hist(void **state)
{
    (void)state;
    static const double le[] = {0.1, 1, 10};
    static const struct {
        double v;
        uint64_t want[4]; /* cumulative after this observation: <=0.1, <=1, <=10, +Inf */
    } t[] = {
        {0.05, {1, 1, 1, 1}}, {0.1, {2, 2, 2, 2}}, {0.5, {2, 3, 3, 3}},
        {10, {2, 3, 4, 4}},   {11, {2, 3, 4, 5}},  {-1, {3, 4, 5, 6}},
    };
    struct hist h;
    struct hist_snapshot s;
    double sum = 0;
    hist_init(&h, le, 3);
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        hist_observe(&h, t[i].v);
        sum += t[i].v > 0 ? t[i].v : 0;
        hist_read(&h, &s);
        for (size_t b = 0; b < 4; b++)
            if (s.cumulative[b] != t[i].want[b])
                fail_msg("after %g: bucket %zu got %llu, want %llu", t[i].v, b,
                         (unsigned long long)s.cumulative[b], (unsigned long long)t[i].want[b]);
        if (s.sum < sum - 1e-6 || s.sum > sum + 1e-6)
            fail_msg("after %g: sum got %g, want %g", t[i].v, s.sum, sum);
    }
}

/* Reads what was appended to path as one string. */
static char *read_all(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf = calloc(1, 8192);
    if (f) {
        size_t n = fread(buf, 1, 8191, f);
        buf[n] = '\0';
        fclose(f);
    }
    return buf;
}

/* log_open: the file and syslog targets write syslog-shaped lines (program/service names,
 * the mail facility); a target that cannot be opened keeps the current one. */
static void test_log_targets(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_core.XXXXXX", file[128], sock[128], err[256], dgram[512];
    assert_non_null(mkdtemp(dir));
    snprintf(file, sizeof file, "%s/mail.log", dir);
    snprintf(sock, sizeof sock, "%s/log.sock", dir);
    log_init("sluice");
    assert_int_equal(log_open(LOG_TARGET_FILE, file, err, sizeof err), 0);
    log_mail("smtp", "QID: to=<%s>, status=sent", "a@b.example");
    log_warn("careful");
    assert_int_equal(log_open(LOG_TARGET_FILE, NULL, err, sizeof err), -1);
    assert_int_equal(log_open(LOG_TARGET_SYSLOG, "/nonexistent/sock", err, sizeof err), -1);
    log_info("still in the file");
    char *got = read_all(file);
    regex_t re;
    assert_int_equal(regcomp(&re,
                             "^[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} [^ ]+ "
                             "sluice/smtp\\[[0-9]+\\]: QID: to=<a@b\\.example>, status=sent\n"
                             "[^\n]* sluice\\[[0-9]+\\]: warning: careful\n"
                             "[^\n]* sluice\\[[0-9]+\\]: still in the file\n$",
                             REG_EXTENDED),
                     0);
    if (regexec(&re, got, 0, NULL, 0) != 0)
        fail_msg("file target: got \"%s\"", got);
    regfree(&re);
    free(got);
    int s = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    memcpy(sun.sun_path, sock, strlen(sock) + 1); /* a short path under /tmp */
    assert_int_equal(bind(s, (struct sockaddr *)&sun, sizeof sun), 0);
    assert_int_equal(log_open(LOG_TARGET_SYSLOG, sock, err, sizeof err), 0);
    static const struct {
        int warn;
        const char *want;
    } t[] = {{0, "<22>"}, {1, "<20>"}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        if (t[i].warn)
            log_warn("w");
        else
            log_mail("qmgr", "QID: removed");
        ssize_t n = recv(s, dgram, sizeof dgram - 1, 0);
        assert_true(n > 0);
        dgram[n] = '\0';
        if (strncmp(dgram, t[i].want, strlen(t[i].want)) != 0 ||
            !strstr(dgram, t[i].warn ? " sluice[" : " sluice/qmgr[") || strchr(dgram, '\n'))
            fail_msg("syslog datagram %zu: got \"%s\", want %s...", i, dgram, t[i].want);
    }
    assert_int_equal(log_open(LOG_TARGET_STDERR, NULL, err, sizeof err), 0);
    close(s);
    unlink(sock);
    unlink(file);
    rmdir(dir);
}

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
        cmocka_unit_test(test_hist),
        cmocka_unit_test(test_log_targets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
