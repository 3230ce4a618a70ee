/* test_journal: the queue journal (src/queue/journal.c, commit.c). The record parser on
 * whole, torn and damaged records; the scan on runs that end cleanly, torn, damaged, out of
 * LSN sequence or in stale bytes; every op's payload round trip and its truncations; and
 * replay in a real daemon-mode queue: LMDB set back to its state at the last checkpoint
 * (what a power cut can leave) comes back whole from the journal, once, and a torn last
 * group is dropped. Table-driven; each queue test works in its own mkdtemp directory. */
#include <errno.h>
#include <fcntl.h>
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
#include <event2/event.h>
#include <event2/thread.h>

#include "core/crc32c.h"
#include "queue/journal.h"
#include "queue/queue.h"

/* ------------------------------------------------------------------ records and scan */

/* Appends one record (payload of len bytes, all 'p'+lsn) to buf at *n. */
static void rec_add(uint8_t *buf, size_t *n, uint64_t lsn, uint8_t flags, size_t len)
{
    memset(buf + *n + JOURNAL_HDR, (int)('p' + lsn), len);
    journal_rec_seal(buf + *n, lsn, flags, QOP_DELETE, len);
    *n += JOURNAL_HDR + len;
}

/* CRC-32C check value (RFC 3720 B.4 and the usual "123456789"). */
static void test_crc32c(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        uint32_t want;
    } rows[] = {{"", 0}, {"123456789", 0xE3069283u}, {"a", 0xC1D04330u}};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        uint32_t got = crc32c(0, rows[i].in, strlen(rows[i].in));
        if (got != rows[i].want)
            fail_msg("crc32c(\"%s\"): got %08X, want %08X", rows[i].in, got, rows[i].want);
    }
    /* in two pieces = at once */
    assert_int_equal(crc32c(crc32c(0, "1234", 4), "56789", 5), 0xE3069283u);
    /* the instruction's way (where the CPU has it) = the table's, any length and alignment */
    uint8_t buf[300];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)(i * 131 + 7);
    for (size_t off = 0; off < 9; off++)
        for (size_t n = 0; n + off <= sizeof buf; n += 7) {
            uint32_t got = crc32c(0x12345678u, buf + off, n);
            uint32_t want = crc32c_table_way(0x12345678u, buf + off, n);
            if (got != want)
                fail_msg("crc32c(off %zu, len %zu): got %08X, want %08X", off, n, got, want);
        }
}

/* One record: whole, torn at every length, each kind of damage. */
static void test_rec_parse(void **state)
{
    (void)state;
    uint8_t good[JOURNAL_HDR + 8];
    size_t n = 0;
    rec_add(good, &n, 7, JOURNAL_F_END, 8);
    struct journal_rec r;
    assert_int_equal(journal_rec_parse(good, n, &r), (long)n);
    assert_int_equal(r.lsn, 7);
    assert_int_equal(r.flags, JOURNAL_F_END);
    assert_int_equal(r.type, QOP_DELETE);
    assert_int_equal(r.len, 8);
    for (size_t k = 0; k < n; k++) /* torn: every shorter prefix is "incomplete" */
        if (journal_rec_parse(good, k, &r) != 0)
            fail_msg("prefix %zu: got %ld, want 0", k, journal_rec_parse(good, k, &r));
    static const struct {
        const char *what;
        size_t off;
        uint8_t xor;
    } rows[] = {
        {"magic", 0, 0x01},   {"crc", 5, 0x80},    {"length", 8, 0x01}, {"flags", 12, 0x02},
        {"type", 13, 0x01},   {"pad", 14, 0x01},   {"lsn", 16, 0x01},   {"payload", 24, 0x20},
        {"last byte", JOURNAL_HDR + 7, 0x01},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        uint8_t bad[sizeof good];
        memcpy(bad, good, sizeof good);
        bad[rows[i].off] ^= rows[i].xor;
        long got = journal_rec_parse(bad, sizeof bad, &r);
        /* a longer length makes it look torn rather than invalid: both stop a replay */
        long want = rows[i].off == 8 ? 0 : -1;
        if (got != want)
            fail_msg("%s damaged: got %ld, want %ld", rows[i].what, got, want);
    }
    uint8_t huge[JOURNAL_HDR] = {0};
    memcpy(huge, good, JOURNAL_HDR);
    huge[11] = 0x7F; /* length far above JOURNAL_PAYLOAD_MAX */
    assert_int_equal(journal_rec_parse(huge, sizeof huge, &r), -1);
}

/* What journal_scan passed to its callback: groups and their record counts. */
struct groups {
    int n;
    size_t sizes[16];
    uint64_t last[16];
};

/* journal_scan callback. */
static int on_group(void *arg, const struct journal_rec *recs, size_t n)
{
    struct groups *g = arg;
    g->sizes[g->n] = n;
    g->last[g->n++] = recs[n - 1].lsn;
    return 0;
}

/* Runs that end cleanly, torn, damaged, out of sequence, or in stale and zero bytes. */
static void test_scan(void **state)
{
    (void)state;
    enum { CLEAN, NO_END, TORN, BADCRC, GAP, STALE, ZEROS, LSN0 };
    static const struct {
        const char *what;
        int kind;
        int want_groups;
        uint64_t want_last, want_max;
    } rows[] = {
        {"two groups, then zeros", CLEAN, 2, 12, 12},
        {"second group without its end", NO_END, 1, 11, 12},
        {"second group's last record torn", TORN, 1, 11, 11},
        {"second group's record damaged", BADCRC, 1, 11, 11},
        {"LSN gap before the second group", GAP, 1, 11, 11},
        {"stale records of an older run follow", STALE, 2, 12, 12},
        {"nothing but zeros (preallocated)", ZEROS, 0, 0, 0},
        {"LSN 0", LSN0, 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        uint8_t buf[1024] = {0};
        size_t n = 0, cut = 0;
        int k = rows[i].kind;
        if (k != ZEROS) {
            rec_add(buf, &n, k == LSN0 ? 0 : 10, 0, 5);
            rec_add(buf, &n, 11, JOURNAL_F_END, 3);
            rec_add(buf, &n, k == GAP ? 13 : 12, k == NO_END ? 0 : JOURNAL_F_END, 9);
        }
        if (k == TORN)
            cut = 4;
        if (k == BADCRC)
            buf[n - 2] ^= 1;
        if (k == STALE) { /* an older run's records (lower LSNs) */
            rec_add(buf, &n, 5, 0, 4);
            rec_add(buf, &n, 6, JOURNAL_F_END, 4);
        }
        struct groups g = {0};
        struct journal_scan js;
        size_t len = k == CLEAN || k == ZEROS ? sizeof buf : n - cut;
        assert_int_equal(journal_scan(buf, len, on_group, &g, &js), 0);
        if (g.n != rows[i].want_groups || (int)js.groups != g.n ||
            js.last_lsn != rows[i].want_last || js.max_lsn != rows[i].want_max)
            fail_msg("%s: got %d groups (last %llu, max %llu), want %d (last %llu, max %llu)",
                     rows[i].what, g.n, (unsigned long long)js.last_lsn,
                     (unsigned long long)js.max_lsn, rows[i].want_groups,
                     (unsigned long long)rows[i].want_last, (unsigned long long)rows[i].want_max);
        if (g.n >= 1 && (g.sizes[0] != 2 || g.last[0] != 11))
            fail_msg("%s: first group got %zu records up to %llu, want 2 up to 11", rows[i].what,
                     g.sizes[0], (unsigned long long)g.last[0]);
    }
}

/* ------------------------------------------------------------------ op payloads */

static uint8_t env_rec[] = {1, 2, 3, 4, 5};
static uint8_t rcpt_recs[] = {'a', 'b', 'c', 'd', 'e', 'f', 'g'};
static size_t rcpt_offs[] = {0, 3, 3, 7}; /* three recipients, the second empty */
static uint64_t clear_ids[] = {3, 9, 27};

/* One op of each type, as the caller's side encodes them. */
static struct queue_op sample_op(int type)
{
    struct queue_op op = {.type = (enum queue_op_type)type, .id = 0x1122334455667788ull};
    switch (type) {
    case QOP_PUT:
        op.rec = env_rec;
        op.reclen = sizeof env_rec;
        op.rcpts = rcpt_recs;
        op.rcptoff = rcpt_offs;
        op.nrcpt = 3;
        op.body = "Subject: x\r\n\r\nbody\r\n";
        op.bodylen = strlen(op.body);
        op.parent = 99;
        op.parent_addr = (char *)"Two@Example.NET";
        op.parent_state = 4;
        op.parent_reply = (char *)"2.0.0 expanded";
        break;
    case QOP_RCPT:
        op.idx = 7;
        op.rec = env_rec;
        op.reclen = sizeof env_rec;
        break;
    case QOP_CLEAR:
        op.id = 0; /* a clear carries ids only */
        op.ids = clear_ids;
        op.nids = 3;
        break;
    case QOP_FLAGS:
        op.fl_set = 0x10;
        op.fl_clear = 0x4;
        break;
    default:
        break;
    }
    return op;
}

/* Frees what journal_op_decode allocated. */
static void op_clear(struct queue_op *op)
{
    free(op->rec);
    free(op->rcpts);
    free(op->rcptoff);
    free(op->body_owned);
    free(op->ids);
    free(op->parent_addr);
    free(op->parent_reply);
}

/* Whether two ops carry the same write. */
static int op_same(const struct queue_op *a, const struct queue_op *b)
{
    if (a->type != b->type || a->id != b->id || a->idx != b->idx || a->reclen != b->reclen ||
        a->nrcpt != b->nrcpt || a->bodylen != b->bodylen || a->nids != b->nids ||
        a->fl_set != b->fl_set || a->fl_clear != b->fl_clear || a->parent != b->parent ||
        a->parent_state != b->parent_state || !a->parent_addr != !b->parent_addr)
        return 0;
    if (a->reclen && memcmp(a->rec, b->rec, a->reclen) != 0)
        return 0;
    for (uint32_t i = 0; i <= a->nrcpt && a->rcptoff; i++)
        if (a->rcptoff[i] != b->rcptoff[i])
            return 0;
    if (a->nrcpt && memcmp(a->rcpts, b->rcpts, a->rcptoff[a->nrcpt]) != 0)
        return 0;
    if (a->bodylen && memcmp(a->body, b->body, a->bodylen) != 0)
        return 0;
    if (a->nids && memcmp(a->ids, b->ids, a->nids * sizeof *a->ids) != 0)
        return 0;
    return !a->parent_addr || (strcmp(a->parent_addr, b->parent_addr) == 0 &&
                               strcmp(a->parent_reply, b->parent_reply) == 0);
}

/* Every op type round-trips; every truncation and an extra byte are refused, cleanly. */
static void test_op_payloads(void **state)
{
    (void)state;
    static const int types[] = {QOP_PUT, QOP_RCPT, QOP_DELETE, QOP_CLEAR, QOP_FLAGS};
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        struct queue_op op = sample_op(types[t]);
        size_t n = journal_op_encode(&op, NULL, 0);
        uint8_t *p = malloc(n + 1);
        assert_int_equal(journal_op_encode(&op, p, n), n);
        struct queue_op got = {0};
        if (journal_op_decode((uint8_t)types[t], p, n, &got) != 0 || !op_same(&op, &got))
            fail_msg("type %d: got a different op back, want the same", types[t]);
        op_clear(&got);
        for (size_t k = 0; k < n; k++) {
            struct queue_op part = {0};
            if (journal_op_decode((uint8_t)types[t], p, k, &part) != -1 || part.rec || part.ids)
                fail_msg("type %d cut at %zu of %zu: got decoded, want -1", types[t], k, n);
        }
        p[n] = 0;
        struct queue_op more = {0};
        if (journal_op_decode((uint8_t)types[t], p, n + 1, &more) != -1)
            fail_msg("type %d with a byte more: got decoded, want -1", types[t]);
        free(p);
    }
    struct queue_op none = {0};
    uint8_t z[8] = {0};
    assert_int_equal(journal_op_decode(QOP_BARRIER, z, sizeof z, &none), -1);
    assert_int_equal(journal_op_decode(200, z, sizeof z, &none), -1);
}

/* ------------------------------------------------------------------ replay in a queue */

struct fixture {
    char dir[64];
    char spool[96];
    struct event_base *base;
    struct queue *q;
    int done;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    strcpy(f->dir, "/tmp/sluice-journal-XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    snprintf(f->spool, sizeof f->spool, "%s/spool", f->dir);
    f->base = event_base_new();
    *state = f;
    return 0;
}

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

/* Counts done callbacks. */
static void on_done(void *arg, int err)
{
    struct fixture *f = arg;
    assert_int_equal(err, 0);
    f->done++;
}

static void open_daemon(struct fixture *f)
{
    char err[256] = "";
    f->q = queue_open(f->spool, f->base, err, sizeof err);
    if (f->q == NULL)
        fail_msg("queue_open: %s", err);
}

/* Runs the loop until want done callbacks came. */
static void wait_done(struct fixture *f, int want)
{
    while (f->done < want)
        event_base_loop(f->base, EVLOOP_ONCE);
}

/* Stores message id with two recipients. */
static void put(struct fixture *f, uint64_t id)
{
    struct qrcpt r[2] = {{.addr = (char *)"a@example.net", .last_reply = (char *)""},
                         {.addr = (char *)"b@example.net", .last_reply = (char *)""}};
    struct qmsg m = {.id = id, .sender = (char *)"s@example.org", .client_ip = (char *)"",
                     .helo = (char *)"", .envid = (char *)"", .nrcpt = 2, .rcpts = r};
    queue_put(f->q, &m, strdup("Subject: j\r\n\r\nbody\r\n"), 20, on_done, f);
}

/* Copies file a to b. */
static void copy_file(const char *a, const char *b)
{
    char buf[65536];
    int in = open(a, O_RDONLY), out = open(b, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(in >= 0 && out >= 0);
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        assert_int_equal(write(out, buf, (size_t)n), n);
    close(in);
    close(out);
}

/* What a scan saw: ids and the state of recipient 1. */
struct seen {
    int n;
    uint64_t ids[16];
    uint8_t state1[16];
};

static int on_msg(void *arg, const struct qmsg *m)
{
    struct seen *s = arg;
    s->ids[s->n] = m->id;
    s->state1[s->n++] = m->nrcpt > 1 ? m->rcpts[1].state : 0;
    return 0;
}

/* Puts, a recipient state and a delete go through the journal; LMDB is then set back to
 * the copy taken right after opening (the last checkpoint). Reopening replays the journal:
 * the same queue, and a second reopen changes nothing (idempotent by LSN). With the last
 * group's record damaged, that group alone is missing. */
static void test_replay_after_lost_lmdb(void **state)
{
    struct fixture *f = *state;
    static const struct {
        const char *what;
        int damage_last;
        int want_n;
    } rows[] = {{"journal intact", 0, 2}, {"last group damaged", 1, 1}};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char mdb[160], snap[160], jpath[160];
        nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        assert_int_equal(mkdir(f->dir, 0700), 0);
        snprintf(mdb, sizeof mdb, "%s/queue.mdb", f->spool);
        snprintf(snap, sizeof snap, "%s/snap.mdb", f->dir);
        snprintf(jpath, sizeof jpath, "%s/queue.journal", f->spool);
        f->done = 0;
        open_daemon(f);
        copy_file(mdb, snap);
        put(f, 0x100);
        put(f, 0x101);
        wait_done(f, 2);
        struct qrcpt r = {.addr = (char *)"b@example.net", .state = RCPT_DELIVERED,
                          .last_reply = (char *)"250 ok"};
        queue_set_rcpt(f->q, 0x100, 1, &r);
        queue_barrier(f->q, on_done, f);
        wait_done(f, 3);
        put(f, 0x102);
        wait_done(f, 4);
        queue_delete(f->q, 0x101, 2);
        queue_barrier(f->q, on_done, f);
        wait_done(f, 5);
        put(f, 0x103); /* the last group */
        wait_done(f, 6);
        queue_close(f->q);
        f->q = NULL;
        copy_file(snap, mdb); /* every LMDB write since the checkpoint lost */
        if (rows[i].damage_last) {
            uint8_t *buf;
            size_t len;
            int fd = open(jpath, O_RDWR);
            struct stat st;
            assert_int_equal(fstat(fd, &st), 0);
            len = (size_t)st.st_size;
            buf = malloc(len);
            assert_int_equal(pread(fd, buf, len, 0), (ssize_t)len);
            struct journal_scan js;
            journal_scan(buf, len, NULL, NULL, &js);
            buf[js.good - 1] ^= 0xFF; /* the last byte of the last group */
            assert_int_equal(pwrite(fd, buf + js.good - 1, 1, (off_t)js.good - 1), 1);
            free(buf);
            close(fd);
        }
        for (int round = 0; round < 2; round++) {
            open_daemon(f);
            struct seen s = {0};
            assert_int_equal(queue_scan(f->q, on_msg, &s), 0);
            int want = rows[i].want_n + 1; /* 0x100, 0x102 (+ 0x103) */
            if (s.n != want || s.ids[0] != 0x100 || s.state1[0] != RCPT_DELIVERED ||
                s.ids[1] != 0x102)
                fail_msg("%s, open %d: got %d messages (first %llx state %u), want %d "
                         "(0x100 delivered, 0x102%s)",
                         rows[i].what, round + 1, s.n, (unsigned long long)s.ids[0],
                         s.state1[0], want, want == 3 ? ", 0x103" : "");
            queue_close(f->q);
            f->q = NULL;
        }
    }
}

int main(void)
{
    evthread_use_pthreads();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c),
        cmocka_unit_test(test_rec_parse),
        cmocka_unit_test(test_scan),
        cmocka_unit_test(test_op_payloads),
        cmocka_unit_test_setup_teardown(test_replay_after_lost_lmdb, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
