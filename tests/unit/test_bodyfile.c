/* test_bodyfile: body files beside LMDB (queue/bodyfile.c) in daemon mode, with the real
 * writer thread: a put with a file reads back as head + file and carries MSG_F_BODYFILE;
 * a committed delete removes the file; a put that fails removes its file; a discarded file
 * is gone; recovery at open removes orphan files (no message) and keeps the others; a
 * missing file makes queue_body fail with ENODATA. Each test works in its own mkdtemp
 * directory under /tmp, removed afterwards. */
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/thread.h>

#include "queue/queue.h"

/* Per-test state: the spool, the loop, the queue, the done callbacks seen. */
struct fixture {
    char dir[64];
    char spool[96];
    struct event_base *base;
    struct queue *q;
    int done;
    int errs[16];
};

static struct qrcpt one_rcpt = {.addr = (char *)"one@example.net", .state = RCPT_PENDING,
                                .last_reply = (char *)"", .orcpt = (char *)""};

/* Done callback: records the error of the n-th put. */
static void on_done(void *arg, int err)
{
    struct fixture *f = arg;
    f->errs[f->done++ % 16] = err;
}

/* Runs the loop until want done callbacks happened (20 s at most). */
static void wait_done(struct fixture *f, int want)
{
    for (int i = 0; i < 20000 && f->done < want; i++) {
        event_base_loop(f->base, EVLOOP_NONBLOCK);
        if (f->done < want)
            usleep(1000);
    }
    assert_int_equal(f->done, want);
}

/* Opens the queue in daemon mode. */
static void open_daemon(struct fixture *f)
{
    char err[256] = "";
    f->q = queue_open(f->spool, f->base, err, sizeof err);
    if (f->q == NULL)
        fail_msg("queue_open: %s", err);
}

/* Closes the queue (committing what is queued). */
static void close_queue(struct fixture *f)
{
    queue_close(f->q);
    f->q = NULL;
}

/* The path of id's body file. */
static void file_of(const struct fixture *f, uint64_t id, char *path, size_t len)
{
    snprintf(path, len, "%s/body/%016llX", f->spool, (unsigned long long)id);
}

/* Whether id's body file exists. */
static int file_exists(const struct fixture *f, uint64_t id)
{
    char path[160];
    file_of(f, id, path, sizeof path);
    return access(path, F_OK) == 0;
}

/* Waits (10 s at most) until id's body file is gone: committed deletes remove it on the
 * flusher thread, after the commit. */
static void wait_gone(const struct fixture *f, uint64_t id)
{
    for (int i = 0; i < 10000 && file_exists(f, id); i++)
        usleep(1000);
    assert_false(file_exists(f, id));
}

static const char head_text[] = "Received: by test\r\nSubject: big\r\n\r\n";

/* The tail of message id: 200 KB of lines, a few starting with a dot. */
static char *tail_text(uint64_t id, size_t *len)
{
    size_t n = 200 * 1024;
    char *t = malloc(n);
    for (size_t i = 0; i < n; i++)
        t[i] = (char)('a' + (i + id) % 26);
    for (size_t i = 78; i + 1 < n; i += 80) {
        t[i] = '\r';
        t[i + 1] = '\n';
        if (i + 2 < n && i % 800 == 78)
            t[i + 2] = '.';
    }
    t[n - 2] = '\r';
    t[n - 1] = '\n';
    *len = n;
    return t;
}

/* Writes message id's tail into a new body file and queues it with queue_put_file. */
static void put_file(struct fixture *f, uint64_t id)
{
    char *path = NULL;
    size_t tlen;
    char *tail = tail_text(id, &tlen);
    int fd = queue_bodyfile_open(f->q, id, &path);
    assert_true(fd >= 0);
    assert_int_equal(queue_bodyfile_write(f->q, fd, tail, tlen), 0);
    free(tail);
    struct qmsg m = {.id = id, .arrival = 1700000000000LL, .sender = (char *)"s@example.org",
                     .client_ip = (char *)"192.0.2.7", .helo = (char *)"client.example",
                     .size = sizeof head_text - 1 + tlen, .nrcpt = 1, .rcpts = &one_rcpt};
    queue_put_file(f->q, &m, strdup(head_text), sizeof head_text - 1, fd, path, on_done, f);
}

/* Checks that message id's content reads back as head + tail. */
static void check_content(struct fixture *f, uint64_t id)
{
    size_t tlen;
    char *tail = tail_text(id, &tlen);
    struct evbuffer *b = evbuffer_new();
    assert_int_equal(queue_body(f->q, id, b), 0);
    size_t hl = sizeof head_text - 1;
    assert_int_equal(evbuffer_get_length(b), hl + tlen);
    const char *got = (const char *)evbuffer_pullup(b, -1);
    assert_memory_equal(got, head_text, hl);
    assert_memory_equal(got + hl, tail, tlen);
    evbuffer_free(b);
    free(tail);
}

/* Flags of the envelope scan finds first. */
static int first_flags(void *arg, const struct qmsg *m)
{
    *(uint32_t *)arg = m->flags;
    return -1;
}

/* Fresh spool path and loop. */
static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    strcpy(f->dir, "/tmp/sluice-bodyfile-XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    snprintf(f->spool, sizeof f->spool, "%s/spool", f->dir);
    f->base = event_base_new();
    *state = f;
    return 0;
}

/* nftw callback removing one entry. */
static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    queue_close(f->q);
    event_base_free(f->base);
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* A put with a body file: durable, head + file read back, MSG_F_BODYFILE, mode 0600; a
 * committed delete removes the file. */
static void test_put_read_delete(void **state)
{
    struct fixture *f = *state;
    open_daemon(f);
    put_file(f, 0x100);
    wait_done(f, 1);
    assert_int_equal(f->errs[0], 0);
    check_content(f, 0x100);
    uint32_t flags = 0;
    assert_int_equal(queue_scan(f->q, first_flags, &flags), 0);
    assert_true(flags & MSG_F_BODYFILE);
    char path[160];
    struct stat st;
    file_of(f, 0x100, path, sizeof path);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    queue_delete(f->q, 0x100, 1);
    queue_barrier(f->q, on_done, f);
    wait_done(f, 2);
    wait_gone(f, 0x100);
}

/* A put that fails (a duplicate id) removes its file; the first message keeps its own
 * content in LMDB. A discarded file is gone. */
static void test_failed_put_and_discard(void **state)
{
    struct fixture *f = *state;
    open_daemon(f);
    struct qmsg m = {.id = 0x200, .sender = (char *)"", .nrcpt = 1, .rcpts = &one_rcpt};
    queue_put(f->q, &m, strdup("x\r\n"), 3, on_done, f);
    wait_done(f, 1);
    put_file(f, 0x200);
    wait_done(f, 2);
    assert_int_equal(f->errs[1], EEXIST);
    assert_false(file_exists(f, 0x200));
    char *path = NULL;
    int fd = queue_bodyfile_open(f->q, 0x201, &path);
    assert_true(fd >= 0);
    assert_true(file_exists(f, 0x201));
    queue_bodyfile_discard(fd, path);
    assert_false(file_exists(f, 0x201));
}

/* Recovery: a body file without its message (a crash before the commit, or after a
 * delete's commit) is removed at open; the file of a queued message stays and reads back. */
static void test_orphan_removed_at_open(void **state)
{
    struct fixture *f = *state;
    open_daemon(f);
    put_file(f, 0x300);
    wait_done(f, 1);
    char *path = NULL;
    int fd = queue_bodyfile_open(f->q, 0x301, &path); /* written, never committed */
    assert_true(fd >= 0);
    assert_int_equal(queue_bodyfile_write(f->q, fd, "orphan\r\n", 8), 0);
    close(fd);
    free(path);
    close_queue(f);
    assert_true(file_exists(f, 0x301));
    open_daemon(f);
    assert_false(file_exists(f, 0x301));
    assert_true(file_exists(f, 0x300));
    check_content(f, 0x300);
}

/* A message whose body file is missing: queue_body fails with ENODATA (not ENOENT: the
 * envelope is there, the content is lost), and the daemon's open does not fail. */
static void test_missing_file_is_enodata(void **state)
{
    struct fixture *f = *state;
    open_daemon(f);
    put_file(f, 0x400);
    wait_done(f, 1);
    close_queue(f);
    char path[160];
    file_of(f, 0x400, path, sizeof path);
    assert_int_equal(unlink(path), 0);
    open_daemon(f);
    struct evbuffer *b = evbuffer_new();
    errno = 0;
    assert_int_equal(queue_body(f->q, 0x400, b), -1);
    assert_int_equal(errno, ENODATA);
    evbuffer_free(b);
}

int main(void)
{
    evthread_use_pthreads();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_put_read_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_put_and_discard, setup, teardown),
        cmocka_unit_test_setup_teardown(test_orphan_removed_at_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_file_is_enodata, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
