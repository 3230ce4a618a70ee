/* queue body files: large contents stored beside LMDB, one file per message.
 *
 * Why: a 1 MB content in LMDB is 256 overflow pages copied three times on its way in (the
 * session's buffer, the writer's dirty pages, the map) and once more on its way out (into
 * the delivery's evbuffer), and the whole content sits in the heap while it is received
 * and while it is sent. A body file is written as the content arrives (smtpd spills into
 * it past a threshold, see smtpd/content.c) and sent from a read-only mmap of it, so the
 * heap holds neither.
 *
 * Layout: <spool>/body/<id as 16 hex digits>, mode 0600. The content of such a message is
 * its LMDB "body" value (the head: our Received header and the client's header block)
 * followed by the file's bytes; its envelope carries MSG_F_BODYFILE.
 *
 * Durability (nothing is acknowledged before it is durable): the writer thread, before the
 * LMDB transaction of a group, starts writeback of every body file the group stores
 * (sync_file_range), then fdatasyncs each (the first sync usually commits the journal for
 * all of them) and fsyncs the body directory once (the new names). Only then is the
 * transaction that references them committed. A file whose sync fails fails its put (EIO
 * or ENOSPC to the done callback) and is removed; so is the file of any put that fails.
 * After a delete is durable (its group's journal sync, the sync before an LMDB commit, or a
 * checkpoint: queue_bodyfile_release) the file is removed (a crash in between leaves an
 * orphan); a delete that rode along unsynced keeps its file until then.
 *
 * Recovery (queue_open in daemon mode): a file in body/ whose message is not in LMDB is an
 * orphan (the put never committed, or the delete did and the unlink did not happen) and
 * is removed. A message whose file is missing cannot be sent: queue_body fails with
 * ENODATA (deliver/ fails its recipients permanently with a report to the sender).
 *
 * Writeback starts while the content still arrives: every queue_bodyfile_write hands a
 * duplicate of the descriptor to the flusher thread, which starts writeback of what is
 * dirty (sync_file_range SYNC_FILE_RANGE_WRITE, which can wait for the device queue, so
 * not on the loop) and closes it. By the end of the message most of it is on disk and the
 * group's fdatasync waits for little: receiving and writing overlap instead of taking
 * turns (every session waits for the same commit, so they would otherwise all send, then
 * all wait for the disk).
 *
 * Threads: queue_bodyfile_open/_write/_discard and queue_put_file run on the loop (the
 * writes go to the page cache, never waiting for the disk); writeback starts on the flusher
 * thread; the sync and the unlinks on the writer. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <lmdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "core/log.h"
#include "core/xalloc.h"
#include "queue/internal.h"
#include "queue/record.h"

static int queue_bodyfile_put(int fd, const char *p, size_t n);

#define BODYFLUSH_MAX 4096 /* descriptors waiting for the flusher; more are dropped (a hint) */

/* One job of the flusher: start the writeback of fd (then close it), or remove path. */
struct bodyflush_job {
    int fd;     /* -1: none */
    char *path; /* malloc'ed, or NULL */
};

/* The flusher thread: descriptors whose dirty pages should start going to disk, and the
 * files of deleted messages (an unlink of a large file takes milliseconds: not on the
 * writer, whose done callbacks the sessions wait for). */
struct queue_bodyflush {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct bodyflush_job jobs[BODYFLUSH_MAX]; /* under mu */
    size_t n;                                 /* under mu */
    int stopping;                             /* under mu */
};

/* Runs one job. */
static void queue_bodyflush_run(struct bodyflush_job *j)
{
    if (j->fd >= 0) {
        sync_file_range(j->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
        close(j->fd);
    }
    if (j->path && unlink(j->path) < 0 && errno != ENOENT)
        log_warn("queue: cannot remove %s: %s", j->path, strerror(errno));
    free(j->path);
}

/* Flusher thread: runs the jobs handed over, in order. */
static void *queue_bodyflush_main(void *arg)
{
    struct queue_bodyflush *f = arg;
    pthread_setname_np(pthread_self(), "sluice-flush"); /* top -H, ps -L */
    struct bodyflush_job *jobs = xcalloc(BODYFLUSH_MAX, sizeof *jobs);
    pthread_mutex_lock(&f->mu);
    for (;;) {
        while (f->n == 0 && !f->stopping)
            pthread_cond_wait(&f->cv, &f->mu);
        size_t n = f->n;
        memcpy(jobs, f->jobs, n * sizeof *jobs);
        f->n = 0;
        int stop = f->stopping;
        pthread_cond_broadcast(&f->cv); /* room again */
        pthread_mutex_unlock(&f->mu);
        for (size_t i = 0; i < n; i++)
            queue_bodyflush_run(&jobs[i]);
        if (stop) {
            free(jobs);
            return NULL;
        }
        pthread_mutex_lock(&f->mu);
    }
}

/* Hands a job to the flusher. A writeback (a hint) is dropped when the flusher is behind;
 * a removal waits for room (or, without a flusher, runs here). */
static void queue_bodyflush_post(struct queue_bodyflush *f, struct bodyflush_job j)
{
    if (!f) {
        if (j.fd >= 0)
            close(j.fd);
        j.fd = -1;
        queue_bodyflush_run(&j);
        return;
    }
    pthread_mutex_lock(&f->mu);
    while (j.path && f->n == BODYFLUSH_MAX && !f->stopping)
        pthread_cond_wait(&f->cv, &f->mu);
    int run_here = f->n == BODYFLUSH_MAX || f->stopping;
    if (!run_here)
        f->jobs[f->n++] = j;
    pthread_cond_signal(&f->cv);
    pthread_mutex_unlock(&f->mu);
    if (run_here) {
        if (j.fd >= 0)
            close(j.fd);
        j.fd = -1;
        queue_bodyflush_run(&j);
    }
}

/* Starts the flusher thread (signals blocked: they belong to the loop); -1 with errno. */
static int queue_bodyflush_start(struct queue *q)
{
    struct queue_bodyflush *f = xcalloc(1, sizeof *f);
    sigset_t all, old;
    sigfillset(&all);
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&f->th, NULL, queue_bodyflush_main, f);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        pthread_mutex_destroy(&f->mu);
        pthread_cond_destroy(&f->cv);
        free(f);
        errno = rc;
        return -1;
    }
    q->bodyflush = f;
    return 0;
}

/* Daemon mode, at close: stops the flusher (after the writebacks it holds) and closes the
 * body directory. */
void queue_bodyfile_close(struct queue *q)
{
    for (size_t i = 0; i < q->nunlinks; i++) /* not durable: left as orphans for the start */
        free(q->unlinks[i]);
    q->nunlinks = 0;
    free(q->unlinks);
    q->unlinks = NULL;
    q->capunlinks = 0;
    struct queue_bodyflush *f = q->bodyflush;
    if (f) {
        pthread_mutex_lock(&f->mu);
        f->stopping = 1;
        pthread_cond_signal(&f->cv);
        pthread_mutex_unlock(&f->mu);
        pthread_join(f->th, NULL);
        pthread_mutex_destroy(&f->mu);
        pthread_cond_destroy(&f->cv);
        free(f);
        q->bodyflush = NULL;
    }
    if (q->body_dirfd >= 0)
        close(q->body_dirfd);
    q->body_dirfd = -1;
}

/* Path of message id's body file (malloc'ed). */
char *queue_bodyfile_path(const struct queue *q, uint64_t id)
{
    char *p = xmalloc(strlen(q->spool) + 32);
    sprintf(p, "%s/body/%016" PRIX64, q->spool, id);
    return p;
}

/* Creates message id's body file for writing; fd, or -1 with errno. *path is malloc'ed. */
int queue_bodyfile_open(struct queue *q, uint64_t id, char **path)
{
    *path = queue_bodyfile_path(q, id);
    int fd = open(*path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        int e = errno;
        free(*path);
        *path = NULL;
        errno = e;
    }
    return fd;
}

/* Writes n bytes to a body file (page cache) and has its writeback started by the flusher;
 * 0, or -1 with errno. */
int queue_bodyfile_write(struct queue *q, int fd, const char *p, size_t n)
{
    if (queue_bodyfile_put(fd, p, n) < 0)
        return -1;
    int dup = q->bodyflush ? fcntl(fd, F_DUPFD_CLOEXEC, 0) : -1;
    if (dup >= 0)
        queue_bodyflush_post(q->bodyflush, (struct bodyflush_job){.fd = dup, .path = NULL});
    return 0;
}

/* write(2) until all of it is written; 0, or -1 with errno. */
static int queue_bodyfile_put(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* A body file that will not be queued: closed and removed; path is freed. */
void queue_bodyfile_discard(int fd, char *path)
{
    if (fd >= 0)
        close(fd);
    if (path && unlink(path) < 0 && errno != ENOENT)
        log_warn("queue: cannot remove %s: %s", path, strerror(errno));
    free(path);
}

/* Queues a message whose content is head (LMDB) + the bytes written to fd (the file at
 * path); the queue takes over head, fd and path (queue.h). */
void queue_put_file(struct queue *q, const struct qmsg *m, char *head, size_t headlen, int fd,
                    char *path, queue_done_fn done, void *arg)
{
    struct qmsg fm = *m;
    fm.flags |= MSG_F_BODYFILE;
    struct queue_op *op = xcalloc(1, sizeof *op);
    op->type = QOP_PUT;
    op->done = done;
    op->arg = arg;
    op->body = op->body_owned = head;
    op->bodylen = headlen;
    op->body_fd = fd;
    op->body_path = path;
    op->bodyfile = 1;
    if (queue_encode_put(op, &fm) < 0) {
        log_warn("queue: message %016llX breaks a record limit", (unsigned long long)m->id);
        op->type = QOP_INVALID;
        op->err = EINVAL;
    }
    queue_enqueue(q, op);
}

/* Fails a put whose body file could not be made durable. */
static void queue_bodyfile_fail(struct queue_op *op, int err, const char *what)
{
    log_warn("queue: %s %s: %s", what, op->body_path, strerror(err));
    op->type = QOP_INVALID;
    op->err = err == ENOSPC || err == EDQUOT ? ENOSPC : EIO;
}

/* Writer thread, before a group's transaction: makes every body file it stores durable
 * (writeback started for all, then one fdatasync each, then the directory once). */
void queue_bodyfile_sync(struct queue *q, struct queue_op *ops)
{
    int any = 0;
    for (struct queue_op *op = ops; op; op = op->next)
        if (op->type == QOP_PUT && op->body_path && op->body_fd >= 0)
            sync_file_range(op->body_fd, 0, 0, SYNC_FILE_RANGE_WRITE);
    for (struct queue_op *op = ops; op; op = op->next) {
        if (op->type != QOP_PUT || !op->body_path || op->body_fd < 0)
            continue;
        if (fdatasync(op->body_fd) < 0)
            queue_bodyfile_fail(op, errno, "fdatasync");
        else
            any = 1;
        close(op->body_fd);
        op->body_fd = -1;
    }
    if (any && fsync(q->body_dirfd) < 0) {
        int e = errno;
        for (struct queue_op *op = ops; op; op = op->next)
            if (op->type == QOP_PUT && op->body_path)
                queue_bodyfile_fail(op, e, "fsync of the directory of");
    }
}

/* Writer thread: hands the files of deletes kept by queue_bodyfile_settle to the flusher
 * (the deletes are durable now: a synced journal write or an LMDB commit). */
void queue_bodyfile_release(struct queue *q)
{
    for (size_t i = 0; i < q->nunlinks; i++)
        queue_bodyflush_post(q->bodyflush, (struct bodyflush_job){.fd = -1,
                                                                  .path = q->unlinks[i]});
    q->nunlinks = 0;
}

/* Writer thread, after a group's outcome is known: removes the files of failed puts and (on
 * the flusher) of committed deletes; while the deletes are not durable yet (durable 0: their
 * journal records ride with the next sync) their files are kept until queue_bodyfile_release,
 * so a crash can never leave a message whose body file is gone. */
void queue_bodyfile_settle(struct queue *q, struct queue_op *ops, int durable)
{
    for (struct queue_op *op = ops; op; op = op->next) {
        if (!op->body_path)
            continue;
        if (op->type != QOP_DELETE && op->body_fd >= 0) { /* never reached the sync */
            close(op->body_fd);
            op->body_fd = -1;
        }
        if (op->type == QOP_DELETE && op->err == 0) {
            if (q->nunlinks == q->capunlinks) {
                q->capunlinks = q->capunlinks ? 2 * q->capunlinks : 64;
                q->unlinks = xrealloc(q->unlinks, q->capunlinks * sizeof *q->unlinks);
            }
            q->unlinks[q->nunlinks++] = op->body_path;
            op->body_path = NULL;
            continue;
        }
        int drop = op->type != QOP_DELETE && op->err != 0;
        if (drop && unlink(op->body_path) < 0 && errno != ENOENT)
            log_warn("queue: cannot remove %s: %s", op->body_path, strerror(errno));
        if (drop)
            log_debug("queue: body file %s of a failed put removed", op->body_path);
        free(op->body_path);
        op->body_path = NULL;
    }
    if (durable)
        queue_bodyfile_release(q);
}

/* The mapping of a body file is dropped with the last evbuffer chain that refers to it. */
static void queue_bodyfile_unmap(const void *data, size_t len, void *extra)
{
    (void)extra;
    munmap((void *)data, len);
}

/* Appends the body file of message id to out (a read-only mapping, by reference). */
int queue_bodyfile_map(const struct queue *q, uint64_t id, struct evbuffer *out)
{
    char *path = queue_bodyfile_path(q, id);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int e = errno;
    free(path);
    if (fd < 0) {
        errno = e == ENOENT ? ENODATA : e;
        return -1;
    }
    struct stat st;
    void *p = NULL;
    int ret = fstat(fd, &st);
    if (ret == 0 && st.st_size > 0) {
        p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
        ret = p == MAP_FAILED ? -1 : 0;
    }
    e = errno;
    close(fd);
    if (ret == 0 && p) {
        madvise(p, (size_t)st.st_size, MADV_SEQUENTIAL);
        if (evbuffer_add_reference(out, p, (size_t)st.st_size, queue_bodyfile_unmap, NULL) < 0) {
            munmap(p, (size_t)st.st_size);
            e = ENOMEM;
            ret = -1;
        }
    }
    errno = e;
    return ret;
}

/* Appends the file part of message id's content when its envelope says it has one (read.c,
 * inside the read transaction of queue_body). 0, or -1 with errno (ENODATA: file missing). */
int queue_bodyfile_append(struct queue *q, MDB_txn *txn, uint64_t id, struct evbuffer *out)
{
    uint8_t k[8];
    queue_be64(k, id);
    MDB_val key = {8, k}, val;
    struct qmsg m;
    if (mdb_get(txn, q->db_msg, &key, &val) != 0 ||
        record_msg_decode(val.mv_data, val.mv_size, &m) < 0)
        return 0; /* no envelope (a tool reading a message being deleted): the head only */
    uint32_t flags = m.flags;
    record_msg_clear(&m);
    if (!(flags & MSG_F_BODYFILE))
        return 0;
    if (queue_bodyfile_map(q, id, out) == 0)
        return 0;
    if (errno == ENODATA)
        log_warn("queue: message %016llX: its body file is missing", (unsigned long long)id);
    return -1;
}

/* Whether name is a body file's (16 hex digits); its id in *id. */
static int queue_bodyfile_name(const char *name, uint64_t *id)
{
    if (strlen(name) != 16 || strspn(name, "0123456789ABCDEF") != 16)
        return 0;
    *id = strtoull(name, NULL, 16);
    return 1;
}

/* Removes the body files whose message is not in LMDB; the count removed, or -1. */
static int queue_bodyfile_orphans(struct queue *q, DIR *dir)
{
    MDB_txn *txn;
    if (mdb_txn_begin(q->env, NULL, MDB_RDONLY, &txn) != 0)
        return -1;
    int removed = 0;
    struct dirent *de;
    while ((de = readdir(dir)) != NULL) {
        uint64_t id;
        if (!queue_bodyfile_name(de->d_name, &id))
            continue;
        uint8_t k[8];
        queue_be64(k, id);
        MDB_val key = {8, k}, val;
        if (mdb_get(txn, q->db_msg, &key, &val) != MDB_NOTFOUND)
            continue;
        if (unlinkat(dirfd(dir), de->d_name, 0) == 0)
            removed++;
    }
    mdb_txn_abort(txn);
    return removed;
}

/* Daemon mode, at open: creates <spool>/body, keeps it open for the directory syncs and
 * removes orphan body files (see the top). 0, or -1 with a message in err. */
int queue_bodyfile_recover(struct queue *q, char *err, size_t errlen)
{
    char *dirpath = xmalloc(strlen(q->spool) + 8);
    sprintf(dirpath, "%s/body", q->spool);
    DIR *dir = NULL;
    if (mkdir(dirpath, 0700) < 0 && errno != EEXIST)
        goto fail;
    if ((dir = opendir(dirpath)) == NULL)
        goto fail;
    q->body_dirfd = dup(dirfd(dir));
    if (q->body_dirfd < 0)
        goto fail;
    fcntl(q->body_dirfd, F_SETFD, FD_CLOEXEC);
    if (queue_bodyflush_start(q) < 0)
        goto fail;
    int n = queue_bodyfile_orphans(q, dir);
    if (n > 0)
        log_info("queue: removed %d orphan body file%s from %s", n, n == 1 ? "" : "s", dirpath);
    closedir(dir);
    free(dirpath);
    return 0;
fail:
    snprintf(err, errlen, "%s: %s", dirpath, strerror(errno));
    if (dir)
        closedir(dir);
    free(dirpath);
    return -1;
}
