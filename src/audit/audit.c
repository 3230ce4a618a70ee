/* audit: grouped-fsync log writer thread and delivery audit records (contracts in audit.h).
 * Invariants: `pending` holds whole records only ([8 bytes time][4 bytes length][bytes]);
 * `queued` counts records ever accepted, `settled` those written or dropped, so a flush
 * waits for settled >= queued-at-call. The thread is the only one that touches the files. */
#include "audit/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "conf/conf.h"
#include "core/log.h"
#include "core/xalloc.h"

#define AUDIT_HDR 12
#define AUDIT_RETRY_MS 1000
#define AUDIT_CLOSE_TRIES 3

struct audit_buf {
    char *p;
    size_t len, cap;
    uint64_t n; /* records */
};

struct audit_log {
    char *tpl; /* effective template */
    unsigned rot;
    uint64_t flush_ms;
    char *dirlog, *sysname;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;      /* wakes the writer */
    pthread_cond_t done_cv; /* wakes flushers */
    struct audit_buf pending;
    uint64_t queued, settled;
    int stopping, flushers, warned_full;
    struct audit_log_stats st;
    /* writer thread only */
    int fd;
    char path[LOGPATH_MAX + 1];
    int64_t cached_sec;
    char cached_path[LOGPATH_MAX + 1];
};

/* Appends bytes to a buffer. */
static void audit_buf_add(struct audit_buf *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        b->p = xrealloc(b->p, cap);
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

/* Creates every missing directory above path (mode 0750). */
static void audit_mkdirs(const char *path)
{
    char dir[LOGPATH_MAX + 1];
    snprintf(dir, sizeof dir, "%s", path);
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0750) < 0 && errno != EEXIST)
            return;
        *p = '/';
    }
}

/* The file a record of time ms goes to (cached per second). NULL when it does not expand. */
static const char *audit_path_for(struct audit_log *l, int64_t ms)
{
    int64_t sec = ms / 1000;
    if (sec == l->cached_sec && l->cached_path[0])
        return l->cached_path;
    struct logpath_vars v = {l->dirlog, l->sysname};
    if (logpath_expand(l->tpl, ms, l->rot, &v, l->cached_path, sizeof l->cached_path) < 0) {
        l->cached_path[0] = '\0';
        return NULL;
    }
    l->cached_sec = sec;
    return l->cached_path;
}

/* Makes path the open file (closing the previous one). 0, or -1. */
static int audit_switch(struct audit_log *l, const char *path)
{
    if (l->fd >= 0 && strcmp(path, l->path) == 0)
        return 0;
    if (l->fd >= 0)
        close(l->fd);
    audit_mkdirs(path);
    l->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (l->fd < 0) {
        log_warn("audit: cannot open %s: %s", path, strerror(errno));
        l->path[0] = '\0';
        return -1;
    }
    snprintf(l->path, sizeof l->path, "%s", path);
    l->st.files++;
    return 0;
}

/* Appends out to the open file and fsyncs it; on failure truncates back (no torn record). */
static int audit_commit(struct audit_log *l, const struct audit_buf *out)
{
    struct stat sb;
    if (fstat(l->fd, &sb) < 0)
        return -1;
    size_t off = 0;
    while (off < out->len) {
        ssize_t n = write(l->fd, out->p + off, out->len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            log_warn("audit: cannot write %s: %s", l->path, n < 0 ? strerror(errno) : "short write");
            if (ftruncate(l->fd, sb.st_size) < 0)
                log_warn("audit: cannot truncate %s: %s", l->path, strerror(errno));
            return -1;
        }
        off += (size_t)n;
    }
    if (fdatasync(l->fd) < 0) {
        log_warn("audit: cannot fsync %s: %s", l->path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Writes the records of g from offset *pos, one file run at a time. Returns 0, or -1 with
 * *pos at the first record not written. */
static int audit_write_group(struct audit_log *l, const struct audit_buf *g, size_t *pos)
{
    struct audit_buf out = {0};
    int rc = 0;
    while (*pos < g->len && rc == 0) {
        int64_t when;
        memcpy(&when, g->p + *pos, 8);
        const char *path = audit_path_for(l, when);
        if (!path || audit_switch(l, path) < 0) {
            rc = -1;
            break;
        }
        size_t run = *pos, nrec = 0;
        out.len = 0;
        while (run < g->len) {
            int64_t w;
            uint32_t n;
            memcpy(&w, g->p + run, 8);
            memcpy(&n, g->p + run + 8, 4);
            const char *p2 = audit_path_for(l, w);
            if (!p2 || strcmp(p2, l->path) != 0)
                break;
            audit_buf_add(&out, g->p + run + AUDIT_HDR, n);
            run += AUDIT_HDR + n;
            nrec++;
        }
        if (audit_commit(l, &out) < 0) {
            rc = -1;
            break;
        }
        *pos = run;
        l->st.records += nrec;
    }
    free(out.p);
    return rc;
}

/* Counts the records of g from offset pos. */
static uint64_t audit_count_from(const struct audit_buf *g, size_t pos)
{
    uint64_t n = 0;
    while (pos < g->len) {
        uint32_t len;
        memcpy(&len, g->p + pos + 8, 4);
        pos += AUDIT_HDR + len;
        n++;
    }
    return n;
}

/* Waits (mutex held) up to ms for a stop or a flush request. */
static void audit_pause(struct audit_log *l, uint64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    while (!l->stopping && l->flushers == 0)
        if (pthread_cond_timedwait(&l->cv, &l->mu, &ts) == ETIMEDOUT)
            break;
}

/* Puts the unwritten tail of g back in front of what arrived meanwhile (mutex held). */
static void audit_requeue(struct audit_log *l, struct audit_buf *g, size_t pos)
{
    struct audit_buf merged = {0};
    audit_buf_add(&merged, g->p + pos, g->len - pos);
    if (l->pending.len)
        audit_buf_add(&merged, l->pending.p, l->pending.len);
    merged.n = audit_count_from(&merged, 0);
    free(l->pending.p);
    l->pending = merged;
}

/* The writer thread: takes everything waiting, writes and fsyncs it, pauses `flush`. */
static void *audit_thread(void *arg)
{
    struct audit_log *l = arg;
    pthread_setname_np(pthread_self(), "sluice-audit"); /* top -H, ps -L */
    int fails = 0;
    pthread_mutex_lock(&l->mu);
    for (;;) {
        while (l->pending.len == 0 && !l->stopping)
            pthread_cond_wait(&l->cv, &l->mu);
        if (l->pending.len == 0 && l->stopping)
            break;
        struct audit_buf g = l->pending;
        memset(&l->pending, 0, sizeof l->pending);
        pthread_mutex_unlock(&l->mu);
        size_t pos = 0;
        int rc = audit_write_group(l, &g, &pos);
        pthread_mutex_lock(&l->mu);
        l->st.groups++;
        uint64_t left = audit_count_from(&g, pos);
        l->settled += g.n - left;
        if (rc < 0) {
            l->st.errors++;
            if (l->stopping && ++fails >= AUDIT_CLOSE_TRIES) {
                log_warn("audit: dropping %llu records after write errors",
                         (unsigned long long)left);
                l->st.dropped += left;
                l->settled += left;
            } else {
                audit_requeue(l, &g, pos);
            }
        } else {
            fails = 0;
        }
        free(g.p);
        pthread_cond_broadcast(&l->done_cv);
        audit_pause(l, rc < 0 ? AUDIT_RETRY_MS : l->flush_ms);
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

/* Starts a log. */
struct audit_log *audit_log_open(const struct logspec *spec, const struct logpath_vars *vars,
                                 char *err, size_t errlen)
{
    char *tpl = spec->path ? logpath_effective(spec->path, spec->rot) : NULL;
    if (!tpl) {
        snprintf(err, errlen, "bad log path template");
        return NULL;
    }
    struct audit_log *l = xcalloc(1, sizeof *l);
    l->tpl = tpl;
    l->rot = spec->rot;
    l->flush_ms = spec->flush;
    l->dirlog = xstrdup(vars && vars->dirlog ? vars->dirlog : ".");
    l->sysname = xstrdup(vars && vars->sysname ? vars->sysname : "localhost");
    l->fd = -1;
    l->cached_sec = -1;
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, NULL);
    pthread_cond_init(&l->done_cv, NULL);
    int rc = pthread_create(&l->thread, NULL, audit_thread, l);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start the log writer: %s", strerror(rc));
        free(l->tpl);
        free(l->dirlog);
        free(l->sysname);
        free(l);
        return NULL;
    }
    return l;
}

/* Queues one record. */
void audit_log_write(struct audit_log *l, int64_t when_ms, const char *line, size_t len)
{
    if (!l)
        return;
    char rec[AUDIT_HDR + AUDIT_LINE_MAX + 1];
    if (len > AUDIT_LINE_MAX)
        len = AUDIT_LINE_MAX;
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    uint32_t n = (uint32_t)len + 1;
    memcpy(rec, &when_ms, 8);
    memcpy(rec + 8, &n, 4);
    for (size_t i = 0; i < len; i++)
        rec[AUDIT_HDR + i] = line[i] == '\n' || line[i] == '\r' ? ' ' : line[i];
    rec[AUDIT_HDR + len] = '\n';
    pthread_mutex_lock(&l->mu);
    if (l->pending.len + AUDIT_HDR + n > AUDIT_PENDING_MAX) {
        l->st.dropped++;
        if (!l->warned_full++)
            log_warn("audit: %s: over %u bytes waiting for the disk; dropping records", l->tpl,
                     AUDIT_PENDING_MAX);
    } else {
        audit_buf_add(&l->pending, rec, AUDIT_HDR + n);
        l->pending.n++;
        l->queued++;
        if (l->pending.n == 1)
            pthread_cond_signal(&l->cv);
    }
    pthread_mutex_unlock(&l->mu);
}

/* Waits for what was queued before the call. */
void audit_log_flush(struct audit_log *l)
{
    if (!l)
        return;
    pthread_mutex_lock(&l->mu);
    uint64_t target = l->queued;
    l->flushers++;
    pthread_cond_signal(&l->cv);
    while (l->settled < target)
        pthread_cond_wait(&l->done_cv, &l->mu);
    l->flushers--;
    pthread_mutex_unlock(&l->mu);
}

/* Flushes and frees. */
void audit_log_close(struct audit_log *l)
{
    if (!l)
        return;
    pthread_mutex_lock(&l->mu);
    l->stopping = 1;
    pthread_cond_signal(&l->cv);
    pthread_mutex_unlock(&l->mu);
    pthread_join(l->thread, NULL);
    if (l->fd >= 0)
        close(l->fd);
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cv);
    pthread_cond_destroy(&l->done_cv);
    free(l->pending.p);
    free(l->tpl);
    free(l->dirlog);
    free(l->sysname);
    free(l);
}

/* Counters. */
void audit_log_get_stats(struct audit_log *l, struct audit_log_stats *st)
{
    pthread_mutex_lock(&l->mu);
    *st = l->st;
    pthread_mutex_unlock(&l->mu);
}

/* ISO 8601 UTC with milliseconds. */
char *audit_time(int64_t ms, char *buf, size_t cap)
{
    time_t t = (time_t)(ms < 0 ? 0 : ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm))
        memset(&tm, 0, sizeof tm);
    snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms < 0 ? 0 : ms % 1000));
    return buf;
}

/* A sanitized field: "-" when empty; blanks become '_' unless keep_blanks. */
static const char *audit_field(const char *s, char *buf, size_t cap, int keep_blanks)
{
    if (!s || !*s)
        return "-";
    log_sanitize(buf, cap, s, strlen(s));
    for (char *p = buf; !keep_blanks && *p; p++)
        if (*p == ' ' || *p == '\t')
            *p = '_';
    return buf;
}

/* The IP between '[' and ']' of "name[ip]:port". */
char *audit_relay_ip(const char *relay, char *out, size_t cap)
{
    const char *a = relay ? strrchr(relay, '[') : NULL, *b = a ? strchr(a, ']') : NULL;
    if (!a || !b || b == a + 1 || (size_t)(b - a) > cap)
        snprintf(out, cap, "-");
    else
        snprintf(out, cap, "%.*s", (int)(b - a - 1), a + 1);
    return out;
}

/* Formats one delivery record. */
size_t audit_format(const struct audit_delivery *d, char *buf, size_t cap)
{
    /* sender and recipient (at most 256 bytes) fit escaped whole; id and reply may be cut */
    char t[32], f[LOG_SANITIZED_SIZE(256)], r[LOG_SANITIZED_SIZE(256)], c[64], ip[64], id[1000],
        rep[8192];
    char relay_ip[64], rip[64];
    audit_relay_ip(d->relay, relay_ip, sizeof relay_ip);
    int n = snprintf(buf, cap,
                     "%s qid=%s from=<%s> to=<%s> received_from=%s delivered_to=%s "
                     "message_id=%s reply=%s",
                     audit_time(d->when, t, sizeof t), audit_field(d->qid, c, sizeof c, 0),
                     d->sender && *d->sender ? audit_field(d->sender, f, sizeof f, 0) : "",
                     audit_field(d->rcpt, r, sizeof r, 0), audit_field(d->client_ip, ip, sizeof ip, 0),
                     audit_field(relay_ip, rip, sizeof rip, 0),
                     audit_field(d->message_id, id, sizeof id, 0),
                     audit_field(d->reply, rep, sizeof rep, 1));
    if (n < 0)
        return 0;
    return (size_t)n < cap ? (size_t)n : cap - 1;
}

/* Formats and queues a delivery record. */
void audit_delivery(struct audit_log *l, const struct audit_delivery *d)
{
    if (!l)
        return;
    char line[AUDIT_LINE_MAX];
    size_t n = audit_format(d, line, sizeof line);
    audit_log_write(l, d->when, line, n);
}
