/* pickup: drop files from spool/maildrop into the queue (contract in pickup.h). Reading a
 * drop file is a bounded read of a local regular file, as smtpd's own spool work; the fsync
 * happens on the queue's writer thread, never on the loop. */
#include "pickup/pickup.h"

#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "conf/conf.h"
#include "core/dict.h"
#include "core/log.h"
#include "core/qid.h"
#include "core/xalloc.h"
#include "dkim/dkim.h"
#include "milter/chain.h"
#include "proto/hdr.h"
#include "proto/maildrop.h"
#include "proto/mime8to7.h"
#include "queue/queue.h"

#define PICKUP_RESCAN_S 60
/* What a local user may ask for; MSG_F_BOUNCE and DELIVERBY bits are the daemon's. */
#define PICKUP_FLAGS (MSG_F_SMTPUTF8 | MSG_F_8BITMIME | MSG_F_RET_FULL | MSG_F_RET_HDRS)

struct pickup {
    struct event_base *base;
    const struct conf *conf;
    struct queue *q;
    int dirfd, ino;
    struct event *ino_ev, *timer;
    struct dict *busy; /* names whose put is in flight */
    struct dkim_signer *dkim; /* pickup_set_dkim(), or NULL */
    pickup_stored_fn stored;
    void *arg;
};

/* One put in flight: the envelope the scheduler gets once it is durable. */
struct pickup_job {
    struct pickup *p;
    char name[NAME_MAX + 1];
    struct qmsg m;
    struct maildrop d;
    char *content; /* the message to store (while the milters have it: NULL) */
    size_t clen;
    struct milter_chain *mil; /* non_smtpd_milters, while they are asked */
    struct milter_msg *mmsg;
    uint32_t mstep; /* 0 connect, 1 HELO, 2 MAIL, 3.. RCPT, then the content */
};

/* Spool 0710 group PICKUP_GROUP (the helper may pass through it), maildrop 1730. */
int pickup_prepare_spool(const char *spool, uid_t owner)
{
    char path[4096];
    struct group *g = getgrnam(PICKUP_GROUP);
    if (!g) {
        log_warn("pickup: group %s does not exist: non-root sendmail is off (create it: "
                 "groupadd --system %s)", PICKUP_GROUP, PICKUP_GROUP);
        return -1;
    }
    snprintf(path, sizeof path, "%s/%s", spool, PICKUP_DIR);
    if (mkdir(path, 01730) < 0 && errno != EEXIST)
        return log_warn("pickup: cannot create %s: %s", path, strerror(errno)), -1;
    int sfd = open(spool, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int mfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int rc = sfd >= 0 && mfd >= 0 && fchown(sfd, (uid_t)-1, g->gr_gid) == 0 &&
                     fchmod(sfd, 0710) == 0 && fchown(mfd, owner, g->gr_gid) == 0 &&
                     fchmod(mfd, 01730) == 0
                 ? 0 : -1;
    if (rc < 0)
        log_warn("pickup: cannot give %s to group %s: %s", path, PICKUP_GROUP, strerror(errno));
    if (sfd >= 0)
        close(sfd);
    if (mfd >= 0)
        close(mfd);
    return rc;
}

/* Trusted: root, the daemon's own user, or a name in trusted_users. */
static bool pickup_trusted(const struct pickup *p, uid_t uid, const char *login)
{
    if (uid == 0 || uid == getuid())
        return true;
    for (size_t i = 0; i < p->conf->ntrusted_users; i++)
        if (strcmp(p->conf->trusted_users[i], login) == 0)
            return true;
    return false;
}

/* Reads a whole drop file into a malloc'ed buffer; NULL on error (errno). */
static char *pickup_read(struct pickup *p, const char *name, struct stat *st, size_t *len)
{
    uint64_t max = p->conf->smtpd.max_message_size + MAILDROP_HEAD_MAX;
    int fd = openat(p->dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    char *buf = NULL;
    if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode) || (uint64_t)st->st_size > max) {
        errno = errno ? errno : EFBIG;
        goto out;
    }
    buf = xmalloc((size_t)st->st_size + 1);
    size_t got = 0;
    ssize_t n;
    while (got < (size_t)st->st_size && (n = read(fd, buf + got, (size_t)st->st_size - got)) > 0)
        got += (size_t)n;
    *len = got;
out:
    close(fd);
    return buf;
}

/* The envelope sender: the drop file's for a trusted owner, else the owner's login. */
static void pickup_sender(struct pickup *p, struct pickup_job *j, uid_t uid, char *out, size_t cap)
{
    struct passwd *pw = getpwuid(uid);
    char login[64];
    snprintf(login, sizeof login, "%s", pw ? pw->pw_name : "nobody");
    if (pickup_trusted(p, uid, login)) {
        snprintf(out, cap, "%s", j->d.sender);
        return;
    }
    snprintf(out, cap, "%s@%s", login, p->conf->hostname);
    if (strcmp(out, j->d.sender) != 0)
        log_info("pickup: %s: sender changed from <%s> to <%s> (uid %u is not trusted)",
                 j->name, j->d.sender, out, (unsigned)uid);
}

/* The stored content: a Received line only the daemon writes, then the dropped content;
 * MSG_F_7BIT when neither holds an octet >= 0x80 (checked in the copy's own pass). */
static char *pickup_content(struct pickup *p, struct pickup_job *j, const char *buf, uid_t uid,
                            size_t *len)
{
    char qid[QID_TEXT_LEN + 1], date[HDR_DATE_MAX];
    time_t now = time(NULL);
    struct tm tm;
    if (!localtime_r(&now, &tm))
        tm.tm_gmtoff = 0;
    hdr_date(now, tm.tm_gmtoff, date, sizeof date);
    qid_to_text(j->m.id, qid);
    size_t cap = j->d.body_len + 512;
    char *out = xmalloc(cap);
    int n = snprintf(out, cap, "Received: by %s (sluice pickup, from userid %u)\r\n\tid %s; %s\r\n",
                     p->conf->hostname, (unsigned)uid, qid, date);
    bool saw8 = mime8to7_is_8bit(out, (size_t)n);
    saw8 |= mime8to7_copy_8bit(out + n, buf + j->d.body_off, j->d.body_len);
    if (!saw8)
        j->m.flags |= MSG_F_7BIT;
    *len = (size_t)n + j->d.body_len;
    return out;
}

/* The job is over: its name may be picked up again (when the file is still there). */
static void pickup_job_free(struct pickup_job *j)
{
    dict_remove(j->p->busy, j->name);
    milter_chain_free(j->mil);
    if (j->mmsg)
        free(j->mmsg->text);
    free(j->mmsg);
    free(j->content);
    record_msg_clear(&j->m);
    maildrop_clear(&j->d);
    free(j);
}

/* The put is durable (or failed): remove the file and hand the message on, or retry later. */
static void pickup_on_stored(void *arg, int err)
{
    struct pickup_job *j = arg;
    struct pickup *p = j->p;
    char qid[QID_TEXT_LEN + 1];
    if (err) {
        log_warn("pickup: %s: cannot store: %s; kept for the next scan", j->name, strerror(err));
    } else {
        if (unlinkat(p->dirfd, j->name, 0) < 0)
            log_warn("pickup: %s: stored as %s but cannot remove: %s", j->name,
                     qid_to_text(j->m.id, qid), strerror(errno));
        log_info("pickup: %s: queued as %s", j->name, qid_to_text(j->m.id, qid));
        char from[LOG_SANITIZED_SIZE(ADDR_MAX)]; /* Postfix's pickup line (pflogsumm) */
        log_mail("pickup", "%s: sender=<%s>", qid,
                 log_sanitize(from, sizeof from, j->m.sender, strlen(j->m.sender)));
        p->stored(p->arg, &j->m);
    }
    pickup_job_free(j);
}

/* Moves a drop file that does not parse aside (never deleted: it is someone's mail). */
static void pickup_reject(struct pickup *p, const char *name, const char *why)
{
    char bad[NAME_MAX + 8];
    snprintf(bad, sizeof bad, ".bad.%s", name);
    log_warn("pickup: %s: %s; kept as %s/%s/%s", name, why, p->conf->spool, PICKUP_DIR, bad);
    if (renameat(p->dirfd, name, p->dirfd, bad) < 0)
        log_warn("pickup: cannot rename %s: %s", name, strerror(errno));
}

/* Builds the queue envelope of a parsed drop file. */
static void pickup_envelope(struct pickup *p, struct pickup_job *j, uid_t uid)
{
    char sender[ADDR_MAX + 80];
    pickup_sender(p, j, uid, sender, sizeof sender);
    j->m = (struct qmsg){.id = qid_next(), .arrival = clock_wall_ms(), .sender = xstrdup(sender),
                         .client_ip = xstrdup(""), .helo = xstrdup(""),
                         .flags = j->d.flags & PICKUP_FLAGS,
                         .envid = xstrdup(j->d.envid),
                         .nrcpt = (uint32_t)j->d.nrcpt};
    j->m.rcpts = xcalloc(j->d.nrcpt ? j->d.nrcpt : 1, sizeof *j->m.rcpts);
    for (size_t i = 0; i < j->d.nrcpt; i++)
        j->m.rcpts[i] = (struct qrcpt){.addr = xstrdup(j->d.rcpts[i].addr), .state = RCPT_PENDING,
                                       .last_reply = xstrdup(""), .notify = j->d.rcpts[i].notify,
                                       .orcpt = xstrdup(j->d.rcpts[i].orcpt)};
}

/* dkim_signer_submit() finished: the message (signed or not) goes to the queue. */
static void pickup_on_signed(void *arg, char *content, size_t len)
{
    struct pickup_job *j = arg;
    if (len > j->m.size && mime8to7_is_8bit(content, len - (size_t)j->m.size))
        j->m.flags &= ~(uint32_t)MSG_F_7BIT; /* the signatures come first (dkim.h) */
    j->m.size = len;
    queue_put(j->p->q, &j->m, content, len, pickup_on_stored, j);
}

/* Stores the job's message: DKIM-signed first (off the loop) when dkim.sign is set. */
static void pickup_store(struct pickup *p, struct pickup_job *j)
{
    char *content = j->content;
    size_t clen = j->clen;
    j->content = NULL;
    j->m.size = clen;
    if (p->dkim) { /* off the loop, then queue_put */
        char qid[QID_TEXT_LEN + 1];
        qid_to_text(j->m.id, qid);
        dkim_signer_submit(p->dkim, qid, content, clen, pickup_on_signed, j);
        return;
    }
    queue_put(p->q, &j->m, content, clen, pickup_on_stored, j);
}

/* ---- non_smtpd_milters (docs/milter.md) ---------------------------------------------------- */

static void pickup_milter_next(struct pickup_job *j);

/* A refusal by the milters: reject bounces (every recipient failed with the milter's reply,
 * the DSN goes to the sender), tempfail keeps the file for a later scan, discard removes it. */
static void pickup_milter_refused(struct pickup_job *j, const struct milter_chain_result *r)
{
    char qid[QID_TEXT_LEN + 1], reply[600];
    qid_to_text(j->m.id, qid);
    snprintf(reply, sizeof reply, "%s", r->reply[0] ? r->reply
                                        : r->verdict == MILTER_REJECT ? "550 5.7.1 Command rejected"
                                        : "451 4.7.1 Service unavailable - try again later");
    log_mail("pickup", "%s: milter-%s: %s: %s; from=<%s> milter=<%s>%s%s", qid,
             r->verdict == MILTER_DISCARD ? "discard" : "reject", j->name,
             r->verdict == MILTER_DISCARD ? "milter triggers DISCARD action" : reply,
             j->m.sender, r->name, r->failed ? " failed: " : r->why[0] ? " " : "", r->why);
    if (r->verdict == MILTER_TEMPFAIL) {
        log_info("pickup: %s: kept for the next scan (milter tempfail)", j->name);
        pickup_job_free(j);
        return;
    }
    if (r->verdict == MILTER_DISCARD || j->m.nrcpt == 0) {
        if (unlinkat(j->p->dirfd, j->name, 0) < 0)
            log_warn("pickup: %s: cannot remove: %s", j->name, strerror(errno));
        pickup_job_free(j);
        return;
    }
    for (uint32_t i = 0; i < j->m.nrcpt; i++) { /* the scheduler bounces them at once */
        j->m.rcpts[i].state = RCPT_FAILED;
        free(j->m.rcpts[i].last_reply);
        j->m.rcpts[i].last_reply = xstrdup(reply);
    }
    pickup_store(j->p, j);
}

/* The milters answered a step (or the content). */
static void pickup_on_milter(void *arg, const struct milter_chain_result *r)
{
    struct pickup_job *j = arg;
    char qid[QID_TEXT_LEN + 1];
    if (j->mmsg) { /* the content: take the (changed) message back */
        j->content = j->mmsg->text, j->clen = j->mmsg->len;
        if (j->mmsg->held) {
            j->m.flags |= MSG_F_HELD;
            log_mail("pickup", "%s: milter-hold: %s: %s", qid_to_text(j->m.id, qid), j->name,
                     j->mmsg->held_reason);
        }
        free(j->mmsg);
        j->mmsg = NULL;
        j->mstep = UINT32_MAX;
    }
    if (r->verdict != MILTER_CONTINUE || j->m.nrcpt == 0) {
        pickup_milter_refused(j, r);
        return;
    }
    if (j->mstep == UINT32_MAX) {
        pickup_store(j->p, j);
        return;
    }
    pickup_milter_next(j);
}


/* Local submissions are signed as the daemon signs its trusted clients' mail (dkim.h). */
void pickup_set_dkim(struct pickup *p, struct dkim_signer *d)
{
    p->dkim = d;
}

/* Sends the next step of a submission to the milters: a connect from localhost
 * [127.0.0.1], HELO localhost, MAIL, each RCPT (as Postfix does for non-SMTP mail), then
 * the content. */
static void pickup_milter_next(struct pickup_job *j)
{
    const struct conf *c = j->p->conf;
    char qid[QID_TEXT_LEN + 1], path[ADDR_MAX + 3];
    uint8_t buf[1024];
    struct milter_out o = {buf, sizeof buf, 0, 0, false};
    const char *names[6], *values[6], *argv[1] = {path};
    size_t n = 0, len;
    char step;
    uint32_t k = j->mstep++;
    qid_to_text(j->m.id, qid);
    if (k == 0) {
        names[0] = "j", values[0] = c->hostname, names[1] = "{daemon_name}", values[1] = c->hostname;
        names[2] = "{client_addr}", values[2] = "127.0.0.1", names[3] = "{client_name}";
        values[3] = "localhost", names[4] = "_", values[4] = "localhost [127.0.0.1]", n = 5;
        step = SMFIC_CONNECT, len = milter_fmt_connect(&o, "localhost", '4', 0, "127.0.0.1");
    } else if (k == 1) {
        argv[0] = "localhost";
        step = SMFIC_HELO, len = milter_fmt_strings(&o, SMFIC_HELO, argv, 1);
    } else if (k == 2) {
        snprintf(path, sizeof path, "<%s>", j->m.sender);
        names[0] = "{mail_addr}", values[0] = j->m.sender, names[1] = "i", values[1] = qid, n = 2;
        step = SMFIC_MAIL, len = milter_fmt_strings(&o, SMFIC_MAIL, argv, 1);
    } else if (k - 3 < j->m.nrcpt) {
        snprintf(path, sizeof path, "<%s>", j->m.rcpts[k - 3].addr);
        names[0] = "{rcpt_addr}", values[0] = j->m.rcpts[k - 3].addr, names[1] = "i";
        values[1] = qid, n = 2;
        step = SMFIC_RCPT, len = milter_fmt_strings(&o, SMFIC_RCPT, argv, 1);
    } else {
        names[0] = "i", values[0] = qid, n = 1;
        struct milter_macros m = {names, values, n};
        j->mmsg = xcalloc(1, sizeof *j->mmsg);
        *j->mmsg = (struct milter_msg){.text = j->content, .len = j->clen, .env = &j->m};
        j->content = NULL;
        milter_chain_message(j->mil, j->mmsg, j->clen + c->smtpd.max_message_size + 65536, &m,
                             pickup_on_milter, j);
        return;
    }
    struct milter_macros m = {names, values, n};
    if (len == 0 || milter_chain_step(j->mil, step, &m, buf, len, pickup_on_milter, j) < 0)
        log_panic("pickup: %s: milter step %u cannot be sent", j->name, (unsigned)k);
}

/* non_smtpd_milters: the submission passes the milters before it is stored. */
static void pickup_milter_start(struct pickup *p, struct pickup_job *j)
{
    struct milter_conn_opts o;
    milter_opts_from_conf(p->conf, &o);
    j->mil = milter_chain_create(p->base, p->conf->non_smtpd_milters, p->conf->nnon_smtpd_milters,
                                 &o);
    pickup_milter_next(j);
}

/* Picks up one drop file. */
static void pickup_one(struct pickup *p, const char *name)
{
    struct stat st;
    size_t len = 0;
    const char *why;
    if (dict_find(p->busy, name) || strlen(name) > NAME_MAX)
        return;
    char *buf = pickup_read(p, name, &st, &len);
    if (!buf) {
        if (errno != ENOENT)
            pickup_reject(p, name, "not a readable regular file within the size limit");
        return;
    }
    struct pickup_job *j = xcalloc(1, sizeof *j);
    j->p = p;
    snprintf(j->name, sizeof j->name, "%s", name);
    if (maildrop_parse(buf, len, p->conf->smtpd.max_message_size, &j->d, &why) < 0) {
        pickup_reject(p, name, why);
        free(j);
        free(buf);
        return;
    }
    pickup_envelope(p, j, st.st_uid);
    j->content = pickup_content(p, j, buf, st.st_uid, &j->clen);
    free(buf);
    dict_put(p->busy, j->name, j);
    if (p->conf->nnon_smtpd_milters > 0) {
        pickup_milter_start(p, j);
        return;
    }
    pickup_store(p, j);
}

/* Picks up every drop file present ("." names are the helper's temporary files). */
void pickup_scan(struct pickup *p)
{
    int fd = openat(p->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        log_warn("pickup: cannot read %s/%s: %s", p->conf->spool, PICKUP_DIR, strerror(errno));
        if (fd >= 0)
            close(fd);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            pickup_one(p, e->d_name);
    closedir(d);
}

/* inotify: a helper renamed a finished file into the directory. */
static void pickup_on_inotify(evutil_socket_t fd, short what, void *arg)
{
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    (void)what;
    while (read(fd, buf, sizeof buf) > 0)
        ;
    pickup_scan(arg);
}

/* The periodic rescan (a missed or overflowed event costs at most a minute). */
static void pickup_on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    pickup_scan(arg);
}

/* Starts watching spool/maildrop. */
struct pickup *pickup_create(struct event_base *base, const struct conf *c, struct queue *q,
                             pickup_stored_fn stored, void *arg)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", c->spool, PICKUP_DIR);
    int dirfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dirfd < 0) {
        log_info("pickup: no %s (%s): non-root sendmail is off", path, strerror(errno));
        return NULL;
    }
    struct pickup *p = xcalloc(1, sizeof *p);
    *p = (struct pickup){.base = base, .conf = c, .q = q, .dirfd = dirfd, .busy = dict_create(),
                         .stored = stored, .arg = arg};
    p->ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (p->ino >= 0 && inotify_add_watch(p->ino, path, IN_MOVED_TO | IN_CLOSE_WRITE) >= 0) {
        p->ino_ev = event_new(base, p->ino, EV_READ | EV_PERSIST, pickup_on_inotify, p);
        event_add(p->ino_ev, NULL);
    } else {
        log_warn("pickup: inotify on %s: %s; scanning every %d s", path, strerror(errno),
                 PICKUP_RESCAN_S);
    }
    p->timer = event_new(base, -1, EV_PERSIST, pickup_on_timer, p);
    struct timeval tv = {PICKUP_RESCAN_S, 0};
    event_add(p->timer, &tv);
    return p;
}

/* Stops watching. Jobs in flight keep p alive through the queue's callbacks: call after
 * queue_close (which waits for them). */
void pickup_free(struct pickup *p)
{
    if (!p)
        return;
    if (p->ino_ev)
        event_free(p->ino_ev);
    event_free(p->timer);
    if (p->ino >= 0)
        close(p->ino);
    close(p->dirfd);
    dict_free(p->busy, NULL);
    free(p);
}

/* Reload: later pickups read c. */
void pickup_set_conf(struct pickup *p, const struct conf *c)
{
    p->conf = c;
}
