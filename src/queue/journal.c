/* queue journal: record format, replay scan, op payloads and the journal file (journal.h).
 *
 * The parser side reads a file that may be torn by a crash or a power cut: every length is
 * checked against what is left and against JOURNAL_PAYLOAD_MAX before anything is touched,
 * a record counts only when its CRC-32C matches, and the scan stops (never fails) at the
 * first record that does not continue the run. Payload layouts (little-endian; blob = u32
 * length + bytes; str = blob without NUL inside):
 *   PUT    id u64 | bits u8 (1 incoming, 2 expansion, 4 parent reply present)
 *          [parent u64 | parent_state u8 | parent_addr str | parent_reply str]
 *          | envelope blob | nrcpt u32 | nrcpt recipient blobs | body: u64 length + bytes
 *   RCPT   id u64 | idx u32 | recipient blob
 *   DELETE id u64
 *   CLEAR  n u32 | n ids u64
 *   FLAGS  id u64 | set u32 | clear u32 */
#include "queue/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/crc32c.h"
#include "core/log.h"
#include "core/xalloc.h"

struct journal {
    int fd;
    size_t end;  /* where the next write goes */
    size_t size; /* file size (at least JOURNAL_PREALLOC) */
    int dirty;   /* written without a sync since the last one */
};

/* Little-endian stores and loads. */
static void put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++, v >>= 8)
        p[i] = (uint8_t)v;
}

static uint64_t get_le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* Writes the header of the record whose payload (len bytes) is at out + JOURNAL_HDR. */
void journal_rec_seal(uint8_t *out, uint64_t lsn, uint8_t flags, uint8_t type, size_t len)
{
    put_le(out, JOURNAL_MAGIC, 4);
    put_le(out + 8, len, 4);
    out[12] = flags;
    out[13] = type;
    out[14] = out[15] = 0;
    put_le(out + 16, lsn, 8);
    uint32_t crc = crc32c(0, out + 8, JOURNAL_HDR - 8);
    put_le(out + 4, crc32c(crc, out + JOURNAL_HDR, len), 4);
}

/* One record: bytes consumed, 0 when torn (incomplete), -1 when invalid. */
long journal_rec_parse(const uint8_t *p, size_t n, struct journal_rec *r)
{
    if (n < 4)
        return 0;
    if (get_le(p, 4) != JOURNAL_MAGIC)
        return -1;
    if (n < JOURNAL_HDR)
        return 0;
    size_t len = (size_t)get_le(p + 8, 4);
    if (len > JOURNAL_PAYLOAD_MAX || p[14] != 0 || p[15] != 0 || (p[12] & ~JOURNAL_F_END))
        return -1;
    if (n - JOURNAL_HDR < len)
        return 0;
    uint32_t crc = crc32c(0, p + 8, JOURNAL_HDR - 8);
    if (crc32c(crc, p + JOURNAL_HDR, len) != (uint32_t)get_le(p + 4, 4))
        return -1;
    r->flags = p[12];
    r->type = p[13];
    r->lsn = get_le(p + 16, 8);
    r->payload = p + JOURNAL_HDR;
    r->len = len;
    return (long)(JOURNAL_HDR + len);
}

/* Walks the records from offset 0, calling fn for each complete group (see journal.h). */
int journal_scan(const uint8_t *buf, size_t n, journal_group_fn fn, void *arg,
                 struct journal_scan *out)
{
    struct journal_rec *recs = NULL;
    size_t nrec = 0, cap = 0, off = 0, group_off = 0;
    uint64_t prev = 0;
    int ret = 0;
    memset(out, 0, sizeof *out);
    for (;;) {
        struct journal_rec r;
        long k = journal_rec_parse(buf + off, n - off, &r);
        if (k <= 0 || r.lsn == 0 || (prev != 0 && r.lsn != prev + 1))
            break;
        prev = out->max_lsn = r.lsn;
        off += (size_t)k;
        xgrow(&recs, &cap, nrec, sizeof *recs);
        recs[nrec++] = r;
        if (!(r.flags & JOURNAL_F_END))
            continue;
        if (fn && fn(arg, recs, nrec) < 0) {
            ret = -1;
            break;
        }
        group_off = off;
        out->groups++;
        out->last_lsn = r.lsn;
        nrec = 0;
    }
    out->good = group_off;
    free(recs);
    return ret;
}

/* Payload writer: counts every byte, stores those that fit. */
struct jw {
    uint8_t *out;
    size_t cap, n;
};

static void jw_bytes(struct jw *w, const void *p, size_t k)
{
    if (w->out && k && w->n + k <= w->cap)
        memcpy(w->out + w->n, p, k);
    w->n += k;
}

static void jw_int(struct jw *w, uint64_t v, int k)
{
    uint8_t b[8];
    put_le(b, v, k);
    jw_bytes(w, b, (size_t)k);
}

static void jw_blob(struct jw *w, const void *p, size_t k)
{
    jw_int(w, k, 4);
    jw_bytes(w, p, k);
}

/* The PUT payload (layout above). */
static void jw_put(struct jw *w, const struct queue_op *op)
{
    jw_int(w, op->id, 8);
    uint8_t bits = (op->incoming ? 1 : 0) | (op->parent_addr ? 2 : 0) |
                   (op->parent_addr && op->parent_reply ? 4 : 0);
    jw_int(w, bits, 1);
    if (op->parent_addr) {
        jw_int(w, op->parent, 8);
        jw_int(w, op->parent_state, 1);
        jw_blob(w, op->parent_addr, strlen(op->parent_addr));
        if (op->parent_reply)
            jw_blob(w, op->parent_reply, strlen(op->parent_reply));
    }
    jw_blob(w, op->rec, op->reclen);
    jw_int(w, op->nrcpt, 4);
    for (uint32_t i = 0; i < op->nrcpt; i++)
        jw_blob(w, op->rcpts + op->rcptoff[i], op->rcptoff[i + 1] - op->rcptoff[i]);
    jw_int(w, op->bodylen, 8);
    jw_bytes(w, op->body, op->bodylen);
}

/* The payload of op (its size; stores it when out has room for all of it). */
size_t journal_op_encode(const struct queue_op *op, uint8_t *out, size_t cap)
{
    struct jw w = {out, cap, 0};
    switch (op->type) {
    case QOP_PUT:
        jw_put(&w, op);
        break;
    case QOP_RCPT:
        jw_int(&w, op->id, 8);
        jw_int(&w, op->idx, 4);
        jw_blob(&w, op->rec, op->reclen);
        break;
    case QOP_DELETE:
        jw_int(&w, op->id, 8);
        break;
    case QOP_CLEAR:
        jw_int(&w, op->nids, 4);
        for (size_t i = 0; i < op->nids; i++)
            jw_int(&w, op->ids[i], 8);
        break;
    case QOP_FLAGS:
        jw_int(&w, op->id, 8);
        jw_int(&w, op->fl_set, 4);
        jw_int(&w, op->fl_clear, 4);
        break;
    default:
        break;
    }
    return w.n;
}

/* Payload reader: every read is bounds-checked; the first short read marks it bad. */
struct jr {
    const uint8_t *p;
    size_t n, off;
    int bad;
};

static uint64_t jr_int(struct jr *r, int k)
{
    if (r->bad || r->n - r->off < (size_t)k) {
        r->bad = 1;
        return 0;
    }
    uint64_t v = get_le(r->p + r->off, k);
    r->off += (size_t)k;
    return v;
}

/* A blob of at most max bytes: a pointer into the payload, NULL when bad. */
static const uint8_t *jr_blob(struct jr *r, size_t *len, size_t max)
{
    size_t k = (size_t)jr_int(r, 4);
    if (r->bad || k > max || r->n - r->off < k) {
        r->bad = 1;
        return NULL;
    }
    *len = k;
    r->off += k;
    return r->p + r->off - k;
}

/* A copy of a blob as a string; NULL (bad) when it holds a NUL. */
static char *jr_str(struct jr *r)
{
    size_t k = 0;
    const uint8_t *s = jr_blob(r, &k, JOURNAL_STR_MAX);
    if (s == NULL || memchr(s, '\0', k)) {
        r->bad = 1;
        return NULL;
    }
    return xstrndup((const char *)s, k);
}

/* A copy of a blob (at least one byte allocated). */
static uint8_t *jr_copy(struct jr *r, size_t *len)
{
    const uint8_t *s = jr_blob(r, len, JOURNAL_PAYLOAD_MAX);
    if (s == NULL)
        return NULL;
    uint8_t *c = xmalloc(*len ? *len : 1);
    memcpy(c, s, *len);
    return c;
}

/* The recipients of a PUT: nrcpt blobs back to back, with their offsets. */
static void jr_rcpts(struct jr *r, struct queue_op *op)
{
    uint32_t n = (uint32_t)jr_int(r, 4);
    if (r->bad || n > (r->n - r->off) / 4) { /* each blob takes at least 4 bytes */
        r->bad = 1;
        return;
    }
    op->nrcpt = n;
    op->rcptoff = xcalloc((size_t)n + 1, sizeof *op->rcptoff);
    size_t start = r->off;
    for (uint32_t i = 0; i < n && !r->bad; i++) {
        size_t k = 0;
        jr_blob(r, &k, JOURNAL_PAYLOAD_MAX);
        op->rcptoff[i + 1] = op->rcptoff[i] + k;
    }
    if (r->bad)
        return;
    op->rcpts = xmalloc(op->rcptoff[n] + 1);
    size_t off = start;
    for (uint32_t i = 0; i < n; i++) {
        size_t k = op->rcptoff[i + 1] - op->rcptoff[i];
        memcpy(op->rcpts + op->rcptoff[i], r->p + off + 4, k);
        off += 4 + k;
    }
}

/* Decodes a PUT payload into op. */
static void jr_put(struct jr *r, struct queue_op *op)
{
    op->id = jr_int(r, 8);
    uint8_t bits = (uint8_t)jr_int(r, 1);
    op->incoming = bits & 1;
    if (bits & ~7 || (bits & 4 && !(bits & 2)))
        r->bad = 1;
    if (bits & 2 && !r->bad) {
        op->parent = jr_int(r, 8);
        op->parent_state = (uint8_t)jr_int(r, 1);
        op->parent_addr = jr_str(r);
        if (bits & 4)
            op->parent_reply = jr_str(r);
    }
    if (!r->bad)
        op->rec = jr_copy(r, &op->reclen);
    if (!r->bad)
        jr_rcpts(r, op);
    uint64_t blen = jr_int(r, 8);
    if (r->bad || blen != r->n - r->off) {
        r->bad = 1;
        return;
    }
    op->bodylen = (size_t)blen;
    op->body = op->body_owned = xmalloc(op->bodylen ? op->bodylen : 1);
    memcpy(op->body_owned, r->p + r->off, op->bodylen);
    r->off += op->bodylen;
}

/* Decodes the ids of a CLEAR. */
static void jr_clear(struct jr *r, struct queue_op *op)
{
    uint32_t n = (uint32_t)jr_int(r, 4);
    if (r->bad || n > (r->n - r->off) / 8) {
        r->bad = 1;
        return;
    }
    op->nids = n;
    op->ids = xcalloc(n ? n : 1, sizeof *op->ids);
    for (uint32_t i = 0; i < n; i++)
        op->ids[i] = jr_int(r, 8);
}

/* Frees what a failed decode allocated and empties op. */
static void jr_undo(struct queue_op *op)
{
    free(op->rec);
    free(op->rcpts);
    free(op->rcptoff);
    free(op->body_owned);
    free(op->ids);
    free(op->parent_addr);
    free(op->parent_reply);
    memset(op, 0, sizeof *op);
}

/* Fills a zeroed op from a payload of the given type; -1 when malformed. */
int journal_op_decode(uint8_t type, const uint8_t *p, size_t n, struct queue_op *op)
{
    struct jr r = {p, n, 0, 0};
    op->type = (enum queue_op_type)type;
    switch (type) {
    case QOP_PUT:
        jr_put(&r, op);
        break;
    case QOP_RCPT:
        op->id = jr_int(&r, 8);
        op->idx = (uint32_t)jr_int(&r, 4);
        if (!r.bad)
            op->rec = jr_copy(&r, &op->reclen);
        break;
    case QOP_DELETE:
        op->id = jr_int(&r, 8);
        break;
    case QOP_CLEAR:
        jr_clear(&r, op);
        break;
    case QOP_FLAGS:
        op->id = jr_int(&r, 8);
        op->fl_set = (uint32_t)jr_int(&r, 4);
        op->fl_clear = (uint32_t)jr_int(&r, 4);
        break;
    default:
        r.bad = 1;
    }
    if (r.bad || r.off != n) {
        jr_undo(op);
        return -1;
    }
    return 0;
}

/* Writes zeros from the current size up to JOURNAL_PREALLOC and syncs them. */
static int journal_prealloc(struct journal *j)
{
    static const uint8_t zero[65536];
    while (j->size < JOURNAL_PREALLOC) {
        size_t k = JOURNAL_PREALLOC - j->size < sizeof zero ? JOURNAL_PREALLOC - j->size
                                                             : sizeof zero;
        ssize_t w = pwrite(j->fd, zero, k, (off_t)j->size);
        if (w <= 0)
            return -1;
        j->size += (size_t)w;
    }
    return fdatasync(j->fd);
}

/* Opens (creating and preallocating) <spool>/queue.journal. */
struct journal *journal_open(const char *spool, char *err, size_t errlen)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/queue.journal", spool);
    struct journal *j = xcalloc(1, sizeof *j);
    struct stat st;
    j->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (j->fd < 0 || fstat(j->fd, &st) < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto fail;
    }
    j->size = (size_t)st.st_size;
    if (j->size < JOURNAL_PREALLOC) {
        size_t had = j->size;
        if (journal_prealloc(j) < 0) {
            if (errno != ENOSPC && errno != EDQUOT) {
                snprintf(err, errlen, "%s: preallocating: %s", path, strerror(errno));
                goto fail;
            }
            log_warn("queue: %s: no room to preallocate %zu bytes; it grows as written",
                     path, JOURNAL_PREALLOC);
            if (ftruncate(j->fd, (off_t)had) == 0)
                j->size = had;
        }
        int dfd = open(spool, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd); /* the new file's name */
            close(dfd);
        }
    }
    return j;
fail:
    if (j->fd >= 0)
        close(j->fd);
    free(j);
    return NULL;
}

/* Reads the whole file into *buf (malloc'ed, *len bytes). */
int journal_load(struct journal *j, uint8_t **buf, size_t *len)
{
    struct stat st;
    if (fstat(j->fd, &st) < 0)
        return -1;
    size_t n = (size_t)st.st_size, got = 0;
    uint8_t *b = xmalloc(n ? n : 1);
    while (got < n) {
        ssize_t r = pread(j->fd, b + got, n - got, (off_t)got);
        if (r <= 0) {
            if (r == 0)
                break;
            free(b);
            return -1;
        }
        got += (size_t)r;
    }
    *buf = b;
    *len = got;
    return 0;
}

/* Appends buf at the end of the current run and syncs it (one device flush) unless sync is
 * 0 (then the next synced write or journal_sync makes it durable). On failure
 * the first record's magic is overwritten (best effort), so that a group reported failed is
 * not replayed should its bytes reach the disk anyway. */
int journal_write(struct journal *j, const uint8_t *buf, size_t len, int sync)
{
    size_t done = 0;
    while (done < len) {
        ssize_t w = pwrite(j->fd, buf + done, len - done, (off_t)(j->end + done));
        if (w < 0)
            break;
        done += (size_t)w;
    }
    if (done < len || (sync && fdatasync(j->fd) < 0)) {
        int e = errno;
        static const uint8_t zero[4];
        if (pwrite(j->fd, zero, sizeof zero, (off_t)j->end) < 0)
            e = errno ? e : EIO;
        errno = e;
        return -1;
    }
    j->end += len;
    if (j->end > j->size)
        j->size = j->end;
    j->dirty = !sync;
    return 0;
}

int journal_sync(struct journal *j)
{
    if (!j->dirty)
        return 0;
    if (fdatasync(j->fd) < 0)
        return -1;
    j->dirty = 0;
    return 0;
}

/* Starts a new run at offset 0 (the caller made everything before durable elsewhere). A
 * file grown far beyond its preallocation by big groups is cut back to it. */
void journal_reset(struct journal *j)
{
    j->end = 0;
    if (j->size > 4 * JOURNAL_PREALLOC && ftruncate(j->fd, (off_t)JOURNAL_PREALLOC) == 0)
        j->size = JOURNAL_PREALLOC;
}

/* Bytes written since the last reset. */
size_t journal_used(const struct journal *j)
{
    return j->end;
}

/* Closes the file. */
void journal_close(struct journal *j)
{
    if (j == NULL)
        return;
    close(j->fd);
    free(j);
}
