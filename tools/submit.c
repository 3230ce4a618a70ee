/* submit: `sluice submit` and the `sendmail` name. Reads a message on stdin, stores it in the
 * queue with one committed (fsync'ed) LMDB transaction, wakes the daemon, and exits 0 only
 * then. Local submission never needs the SMTP listener (LMDB is multi-process safe).
 * Options (the ones MUAs and scripts use):
 *   -c FILE, --config FILE   configuration (else $SLUICE_CONF, else /etc/sluice/sluice.conf)
 *   -f SENDER, -r SENDER   envelope sender ("<>" or "" = null sender)
 *   -F NAME            full name for the From header added when the message has none
 *   -t                 recipients from To/Cc/Bcc (added to those on the command line); Bcc removed
 *   -i, -oi            a line with a single dot does not end the message
 *   -N DSN             NOTIFY for every recipient: "never" or a list of success,failure,delay
 *   -R RET             DSN RET: "full" or "hdrs";   -V ENVID  DSN envelope id (printable ASCII)
 *   -v                 after storing, follow the message in the queue and print every
 *                      recipient's state changes until each is final (seed 002 -v)
 *   -bm                deliver mail (the default);  -bs  SMTP on stdin/stdout
 *   -bp                list the queue (= mailq);    -q   ask the daemon to run the queue now
 *   -qR DOMAIN         ask the daemon to deliver what waits for DOMAIN now (as ETRN)
 *   -qI QID            ask the daemon to try message QID's waiting recipients now
 *   --help             usage on stdout, exit 0
 * Anything else: "unsupported option", a missing argument "option -c needs an argument",
 * exit 64 (EX_USAGE). Exit codes (sysexits.h): 0 stored, 64 usage, 65 bad message data, 75
 * temporary failure (queue unavailable, disk full, the spool below smtpd.min_free_space, -q
 * with no daemon running), 78 configuration error.
 * -q: a datagram on spool/incoming.sock asks the running daemon for a queue run: every
 * deferred recipient becomes due now (and dead-destination marks are forgotten). With no
 * daemon bound to that socket (or one that cannot take the request) nothing would happen:
 * -q says so and exits 75. -qR and -qI (value attached or as the next argument) travel the
 * same way; the daemon checks the value (a domain name, a queue id) and logs what it did.
 * Content stored: a Received header, Date / Message-ID / From when missing, the headers
 * (without Bcc), the body; every line ends in CRLF. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "conf/conf.h"
#include "core/log.h"
#include "core/qid.h"
#include "core/xalloc.h"
#include "dkim/dkim.h"
#include "proto/addr.h"
#include "proto/cmd.h"
#include "proto/esmtp.h"
#include "proto/hdr.h"
#include "proto/maildrop.h"
#include "proto/mime8to7.h"
#include "queue/queue.h"
#include "tools/submit.h"
#include "tools/tools.h"

/* The name submit's own diagnostics carry: "sluice submit", "sendmail", or -L TAG. */
const char *submit_who = "sluice submit";


/* Adds one recipient (qualified with @myorigin when it has no domain). */
static void submit_add_rcpt(void *arg, const char *a)
{
    struct submit *s = arg;
    char tmp[ADDR_MAX + 2], out[ADDR_MAX + 1];
    struct addr_opts o = {.null_ok = false, .sloppy = true, .utf8 = true};
    if (!strchr(a, '@'))
        snprintf(tmp, sizeof tmp, "%s@%s", a, conf_myorigin(s->conf));
    else
        snprintf(tmp, sizeof tmp, "%s", a);
    if (addr_parse_path(tmp, strlen(tmp), &o, out) < 0 || !*out) {
        fprintf(stderr, "%s: bad recipient address: %s%s\n", submit_who, a,
                s->errmail ? " (-oem: reported to the sender by mail)" : "");
        if (!s->errmail) {
            s->bad = 1;
            return;
        }
        log_sanitize(out, sizeof out, a, strlen(a));
        xgrow(&s->failed, &s->fcap, s->nfailed, sizeof *s->failed);
        s->failed[s->nfailed++] = xstrdup(out);
        return;
    }
    for (size_t i = 0; i < s->nrcpt; i++)
        if (strcmp(s->rcpts[i], out) == 0)
            return;
    xgrow(&s->rcpts, &s->cap, s->nrcpt, sizeof *s->rcpts);
    xgrow(&s->notify, &s->ncap, s->nrcpt, sizeof *s->notify);
    xgrow(&s->orcpt, &s->ocap, s->nrcpt, sizeof *s->orcpt);
    s->notify[s->nrcpt] = s->notify_all;
    s->orcpt[s->nrcpt] = xstrdup("");
    s->rcpts[s->nrcpt++] = xstrdup(out);
}

/* Forgets every recipient and the message (between -bs transactions). */
static void submit_reset(struct submit *s)
{
    for (size_t i = 0; i < s->nrcpt; i++) {
        free(s->rcpts[i]);
        free(s->orcpt[i]);
    }
    for (size_t i = 0; i < s->nfailed; i++)
        free(s->failed[i]);
    s->nrcpt = s->nfailed = 0;
    s->bad = 0;
    s->flags = 0;
    s->envid[0] = '\0';
    free(s->msg);
    s->msg = NULL;
    s->len = 0;
}

/* Reads stdin, normalising line ends to CRLF; stops at "." alone unless dot_ok. Returns 0,
 * or an exit code. */
static int submit_read(struct submit *s, bool dot_ok, bool unstuff, uint64_t max)
{
    char *line = NULL;
    size_t cap = 0, alloc = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, stdin)) > 0) {
        size_t l = (size_t)n;
        if (memchr(line, '\0', l)) {
            fprintf(stderr, "%s: message contains NUL bytes\n", submit_who);
            free(line);
            return EX_DATAERR;
        }
        while (l > 0 && (line[l - 1] == '\n' || line[l - 1] == '\r'))
            l--;
        if (!dot_ok && l == 1 && line[0] == '.')
            break;
        char *p = line;
        if (unstuff && l > 0 && line[0] == '.')
            p++, l--;
        if (s->len + l + 2 > max) {
            fprintf(stderr, "%s: message larger than %llu bytes\n", submit_who, (unsigned long long)max);
            free(line);
            return EX_DATAERR;
        }
        if (s->len + l + 2 >= alloc) {
            alloc = (s->len + l + 2) * 2 + 4096;
            s->msg = xrealloc(s->msg, alloc);
        }
        memcpy(s->msg + s->len, p, l);
        memcpy(s->msg + s->len + l, "\r\n", 2);
        s->len += l + 2;
    }
    free(line);
    if (ferror(stdin)) {
        fprintf(stderr, "%s: read error: %s\n", submit_who, strerror(errno));
        return EX_IOERR;
    }
    return 0;
}

/* Appends bytes to a growing buffer; true when one of them is >= 0x80 (checked in the copy:
 * the stored content is built only here, so its MSG_F_7BIT costs no pass of its own). */
static bool submit_put(char **buf, size_t *len, size_t *cap, const char *p, size_t n)
{
    if (n == 0)
        return false; /* p may be NULL (an empty message) */
    if (*len + n + 1 > *cap) {
        *cap = (*len + n + 1) * 2;
        *buf = xrealloc(*buf, *cap);
    }
    bool saw8 = mime8to7_copy_8bit(*buf + *len, p, n);
    *len += n;
    return saw8;
}

/* Adds "From: "Full Name" <sender>" (-F) or "From: <sender>"; the name is quoted, with
 * control characters dropped. */
static bool submit_from(struct submit *s, char **out, size_t *len, size_t *cap)
{
    char line[ADDR_MAX + 600], name[520];
    size_t o = 0;
    for (const char *f = s->fullname; f && *f && o + 3 < sizeof name; f++) {
        if ((unsigned char)*f < ' ' || *f == 0x7f)
            continue;
        if (*f == '"' || *f == '\\')
            name[o++] = '\\';
        name[o++] = *f;
    }
    name[o] = '\0';
    int n = o ? snprintf(line, sizeof line, "From: \"%s\" <%s>\r\n", name, s->sender)
              : snprintf(line, sizeof line, "From: <%s>\r\n", s->sender);
    return submit_put(out, len, cap, line, (size_t)n);
}

/* Builds the stored content: trace and missing headers, the headers without Bcc (collecting
 * recipients with -t), then the body; *saw8: whether it holds an octet >= 0x80. */
static char *submit_content(struct submit *s, bool from_headers, uint64_t id, size_t *outlen,
                            bool *saw8)
{
    char *out = NULL, qid[QID_TEXT_LEN + 1], date[64], line[1024];
    size_t len = 0, cap = 0, off = 0, used;
    struct hdr_field f;
    time_t now = time(NULL);
    struct tm tm;
    if (!localtime_r(&now, &tm))
        tm.tm_gmtoff = 0;
    hdr_date(now, tm.tm_gmtoff, date, sizeof date);
    qid_to_text(id, qid);
    int n = snprintf(line, sizeof line, "Received: by %s (sluice, from uid %d)\r\n\tid %s; %s\r\n",
                     s->conf->hostname, (int)getuid(), qid, date);
    bool high = submit_put(&out, &len, &cap, line, (size_t)n);
    char *value = xmalloc(HDR_FIELD_MAX);
    while ((used = hdr_next(s->msg, s->len, off, &f)) > 0) {
        bool bcc = f.namelen == 3 && strncasecmp(f.name, "Bcc", 3) == 0;
        if (from_headers && (bcc || (f.namelen == 2 && strncasecmp(f.name, "To", 2) == 0) ||
                             (f.namelen == 2 && strncasecmp(f.name, "Cc", 2) == 0))) {
            hdr_value(&f, value, HDR_FIELD_MAX);
            hdr_addrlist(value, submit_add_rcpt, s);
        }
        if (!bcc)
            high |= submit_put(&out, &len, &cap, f.raw, f.rawlen);
        off += used;
    }
    free(value);
    bool has_date = hdr_find(s->msg, off, "Date", NULL, 0) >= 0;
    bool has_msgid = hdr_find(s->msg, off, "Message-ID", NULL, 0) >= 0;
    bool has_from = hdr_find(s->msg, off, "From", NULL, 0) >= 0;
    if (!has_date)
        n = snprintf(line, sizeof line, "Date: %s\r\n", date),
        high |= submit_put(&out, &len, &cap, line, (size_t)n);
    if (!has_msgid)
        n = snprintf(line, sizeof line, "Message-ID: <%s@%s>\r\n", qid, s->conf->hostname),
        high |= submit_put(&out, &len, &cap, line, (size_t)n);
    if (!has_from && *s->sender)
        high |= submit_from(s, &out, &len, &cap);
    if (off < s->len && !(s->len - off >= 2 && s->msg[off] == '\r' && s->msg[off + 1] == '\n'))
        submit_put(&out, &len, &cap, "\r\n", 2); /* body without separating empty line */
    high |= submit_put(&out, &len, &cap, s->msg + off, s->len - off);
    *outlen = len;
    *saw8 = high;
    return out;
}

/* The default sender: login name @ hostname. */
static void submit_default_sender(struct submit *s)
{
    struct passwd *pw = getpwuid(getuid());
    snprintf(s->sender, sizeof s->sender, "%s@%s", pw ? pw->pw_name : "nobody", s->conf->hostname);
}

/* Sets the envelope sender from -f; "<>" or "" is the null sender. */
static int submit_set_sender(struct submit *s, const char *arg)
{
    struct addr_opts o = {.null_ok = true, .sloppy = true, .utf8 = true};
    char tmp[ADDR_MAX + 2];
    if (!strchr(arg, '@') && strcmp(arg, "<>") != 0 && *arg)
        snprintf(tmp, sizeof tmp, "%s@%s", arg, conf_myorigin(s->conf));
    else
        snprintf(tmp, sizeof tmp, "%s", *arg ? arg : "<>");
    if (addr_parse_path(tmp, strlen(tmp), &o, s->sender) < 0) {
        fprintf(stderr, "%s: bad sender address: %s\n", submit_who, arg);
        return -1;
    }
    return 0;
}

/* False (with a message) when the spool's filesystem is below smtpd.min_free_space. */
static bool submit_space_ok(const struct conf *c)
{
    struct statvfs v;
    if (c->smtpd.min_free_space == 0 || statvfs(c->spool, &v) < 0)
        return true; /* a missing spool is created by queue_open */
    if ((uint64_t)v.f_bavail * v.f_frsize >= c->smtpd.min_free_space)
        return true;
    fprintf(stderr, "%s: spool %s is below smtpd.min_free_space, try again later\n", submit_who,
            c->spool);
    return false;
}

/* dkim.sign: signs the message as the daemon signs what trusted clients send; a key this
 * user cannot read, or a signing error, leaves it unsigned with a warning (never lost).
 * *saw8 also says whether the signatures (first in the new message) hold an 8-bit octet. */
static void submit_dkim(const struct conf *c, char **body, size_t *len, bool *saw8)
{
    char err[512], *out = NULL;
    size_t outlen = 0;
    if (c->dkim.nsign == 0)
        return;
    struct dkim_keys *k = dkim_keys_load(c, err, sizeof err);
    if (!k) {
        fprintf(stderr, "%s: %s: message not signed\n", submit_who, err);
        return;
    }
    int n = dkim_keys_sign(k, *body, *len, &out, &outlen, err, sizeof err);
    dkim_keys_free(k);
    if (n < 0)
        fprintf(stderr, "%s: dkim: %s: message not signed\n", submit_who, err);
    if (n <= 0)
        return;
    *saw8 |= outlen > *len && mime8to7_is_8bit(out, outlen - *len);
    free(*body);
    *body = out;
    *len = outlen;
}

/* The envelope's recipients: the valid ones pending, then (-oem) the malformed ones already
 * failed, so that the scheduler owes their sender a failure DSN as for any other bounce. */
static struct qrcpt *submit_rcpts(const struct submit *s)
{
    struct qrcpt *r = xcalloc(s->nrcpt + s->nfailed, sizeof *r);
    for (size_t i = 0; i < s->nrcpt; i++)
        r[i] = (struct qrcpt){.addr = s->rcpts[i], .state = RCPT_PENDING, .last_reply = "",
                              .notify = s->notify[i], .orcpt = s->orcpt[i]};
    for (size_t i = 0; i < s->nfailed; i++)
        r[s->nrcpt + i] = (struct qrcpt){.addr = s->failed[i], .state = RCPT_FAILED,
                                         .last_reply = "553 5.1.3 bad recipient address syntax",
                                         .notify = s->notify_all, .orcpt = ""};
    return r;
}

/* ---- non-root submission: the drop file through sluice-postdrop ---- */

/* True when this user cannot write the queue itself (the spool is the daemon's): then the
 * message goes through the setgid helper. Root and the daemon's user write the queue,
 * except with non_smtpd_milters: then every message goes through the maildrop, so that the
 * daemon's pickup asks the milters (docs/milter.md). */
static bool submit_via_drop(const struct conf *c)
{
    if (c->nnon_smtpd_milters > 0)
        return true; /* every submission passes the daemon's pickup and its milters */
    return getuid() != 0 && access(c->spool, W_OK | X_OK) < 0 && errno == EACCES;
}

/* Writes all of buf to fd; false on error. */
static bool submit_write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        buf += n, len -= (size_t)n;
    }
    return true;
}

/* Runs the helper with head + content on its stdin; its exit status is ours. */
static int submit_postdrop(const struct conf *c, const char *head, size_t hlen, const char *body,
                           size_t blen)
{
    char helper[4200];
    int fds[2];
    tool_helper_path(helper, sizeof helper);
    if (pipe2(fds, O_CLOEXEC) < 0)
        return EX_OSERR;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[0], 0);
        if (c->path)
            execl(helper, "sluice-postdrop", "-c", c->path, (char *)NULL);
        else
            execl(helper, "sluice-postdrop", (char *)NULL);
        fprintf(stderr, "%s: cannot run %s: %s\n", submit_who, helper, strerror(errno));
        _exit(EX_UNAVAILABLE);
    }
    close(fds[0]);
    signal(SIGPIPE, SIG_IGN);
    bool ok = pid > 0 && submit_write_all(fds[1], head, hlen) &&
              submit_write_all(fds[1], body, blen);
    close(fds[1]);
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) < 0)
        return EX_OSERR;
    int rc = WIFEXITED(st) ? WEXITSTATUS(st) : EX_SOFTWARE;
    return rc == 0 && !ok ? EX_IOERR : rc; /* 0 only for a whole, durable drop file */
}

/* Non-root: the message as a drop file; exit 0 means the file is durable in the maildrop. */
static int submit_drop(struct submit *s, bool from_headers)
{
    size_t len, hlen;
    bool saw8; /* the pickup notes MSG_F_7BIT itself */
    char *body = submit_content(s, from_headers, qid_next(), &len, &saw8);
    int rc = 0;
    if (s->nrcpt == 0 || s->bad || s->nfailed) {
        fprintf(stderr, "%s: %s\n", submit_who,
                s->nfailed ? "bad recipient (-oem cannot report it for a non-root sender)"
                           : s->bad ? "bad recipient" : "no recipients");
        rc = s->nrcpt == 0 && !s->bad && !s->nfailed ? EX_USAGE : EX_DATAERR;
    }
    struct maildrop_rcpt *r = xcalloc(s->nrcpt + 1, sizeof *r);
    for (size_t i = 0; i < s->nrcpt && rc == 0; i++) {
        snprintf(r[i].addr, sizeof r[i].addr, "%s", s->rcpts[i]);
        snprintf(r[i].orcpt, sizeof r[i].orcpt, "%s", s->orcpt[i]);
        r[i].notify = s->notify[i];
    }
    char *head = rc ? NULL : maildrop_head(s->sender, s->flags, s->envid, r, s->nrcpt, &hlen);
    if (rc == 0)
        rc = submit_postdrop(s->conf, head, hlen, body, len);
    free(head);
    free(r);
    free(body);
    return rc;
}

/* Stores the message: one committed transaction, then a wakeup for the daemon. */
static int submit_store(struct submit *s, bool from_headers)
{
    char err[512];
    if (submit_via_drop(s->conf))
        return submit_drop(s, from_headers);
    if (!submit_space_ok(s->conf))
        return EX_TEMPFAIL;
    struct queue *q = queue_open(s->conf->spool, NULL, err, sizeof err);
    if (!q) {
        fprintf(stderr, "%s: %s\n", submit_who, err);
        return EX_TEMPFAIL;
    }
    int rc = EX_TEMPFAIL;
    for (int tries = 0; tries < 3; tries++) {
        struct qmsg m = {.id = qid_next(), .arrival = clock_wall_ms(), .sender = s->sender,
                         .client_ip = "", .helo = "", .flags = s->flags, .envid = s->envid};
        size_t len;
        bool saw8;
        char *body = submit_content(s, from_headers && tries == 0, m.id, &len, &saw8);
        submit_dkim(s->conf, &body, &len, &saw8);
        m.flags |= saw8 ? 0 : MSG_F_7BIT;
        if (s->nrcpt + s->nfailed == 0 || s->bad) {
            fprintf(stderr, "%s: %s\n", submit_who, s->bad ? "bad recipient" : "no recipients");
            free(body);
            rc = s->bad ? EX_DATAERR : EX_USAGE;
            break;
        }
        struct qrcpt *r = submit_rcpts(s);
        m.rcpts = r;
        m.nrcpt = (uint32_t)(s->nrcpt + s->nfailed);
        m.size = len;
        int st = queue_put_sync(q, &m, body, len);
        int e = errno;
        free(r);
        free(body);
        if (st == 0) {
            s->id = m.id;
            rc = 0;
            break;
        }
        fprintf(stderr, "%s: cannot store message: %s\n", submit_who, strerror(e));
        if (e != EEXIST)
            break;
    }
    queue_close(q);
    if (rc == 0)
        queue_notify_incoming(s->conf->spool);
    return rc;
}

/* ---- -v: following the message ---- */

struct submit_follow {
    uint64_t id;
    bool found, final;
    uint8_t *seen; /* last state printed per recipient (0xff: none yet) */
    size_t nseen;
};

/* queue_scan callback: prints the state changes of the followed message. */
static int submit_follow_msg(void *arg, const struct qmsg *m)
{
    struct submit_follow *f = arg;
    char reply[512];
    if (m->id != f->id)
        return 0;
    f->found = true;
    f->final = true;
    if (!f->seen) {
        f->nseen = m->nrcpt;
        f->seen = xmalloc(m->nrcpt + 1);
        memset(f->seen, 0xff, m->nrcpt + 1);
    }
    for (uint32_t i = 0; i < m->nrcpt && i < f->nseen; i++) {
        const struct qrcpt *r = &m->rcpts[i];
        f->final &= r->state == RCPT_DELIVERED || r->state == RCPT_FAILED;
        if (f->seen[i] == r->state)
            continue;
        f->seen[i] = r->state;
        log_sanitize(reply, sizeof reply, r->last_reply, strlen(r->last_reply));
        printf("sluice: <%s>: %s%s%s%s\n", r->addr, record_state_to_text(r->state),
               *reply ? " (" : "", reply, *reply ? ")" : "");
    }
    fflush(stdout);
    return -1;
}

/* Polls the queue until every recipient of message id is final or the message is gone
 * (the daemon removes a message once every recipient is delivered). */
static int submit_follow(const struct conf *c, uint64_t id)
{
    char err[512], qid[QID_TEXT_LEN + 1];
    struct submit_follow f = {.id = id};
    struct queue *q = queue_open(c->spool, NULL, err, sizeof err);
    if (!q) {
        fprintf(stderr, "%s: %s\n", submit_who, err);
        return EX_TEMPFAIL;
    }
    qid_to_text(id, qid);
    printf("sluice: %s queued, following its delivery\n", qid);
    for (;;) {
        f.found = false;
        if (queue_scan(q, submit_follow_msg, &f) < 0)
            break;
        if (!f.found || f.final)
            break;
        usleep(200 * 1000);
    }
    printf("sluice: %s %s\n", qid, f.found ? "done: every recipient is final"
                                          : "done: the message has left the queue");
    free(f.seen);
    queue_close(q);
    return 0;
}

/* ---- -bs: SMTP on stdin/stdout ---- */

/* Writes one reply line. */
__attribute__((format(printf, 1, 2))) static void submit_bs_reply(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fputs("\r\n", stdout);
    fflush(stdout);
}

/* -bs MAIL: sender and message parameters. */
static void submit_bs_mail(struct submit *s, const struct cmd *c, bool *in_mail)
{
    struct esmtp_mail m;
    const char *bad;
    if (*in_mail) {
        submit_bs_reply("503 5.5.1 Error: nested MAIL command");
        return;
    }
    if (esmtp_mail_parse(c->params, c->nparams, ESMTP_EXT_SIZE | ESMTP_EXT_8BITMIME |
                         ESMTP_EXT_SMTPUTF8 | ESMTP_EXT_DSN, &m, &bad) != ESMTP_OK) {
        submit_bs_reply("501 5.5.4 Bad parameter");
        return;
    }
    if (m.has_size && m.size > s->conf->smtpd.max_message_size) {
        submit_bs_reply("552 5.3.4 Message size exceeds fixed limit");
        return;
    }
    snprintf(s->sender, sizeof s->sender, "%s", c->addr);
    snprintf(s->envid, sizeof s->envid, "%s", m.envid);
    s->flags = (m.smtputf8 ? MSG_F_SMTPUTF8 : 0) | (m.body == ESMTP_BODY_8BITMIME ? MSG_F_8BITMIME : 0) |
               (m.ret == ESMTP_RET_FULL ? MSG_F_RET_FULL : 0) |
               (m.ret == ESMTP_RET_HDRS ? MSG_F_RET_HDRS : 0);
    *in_mail = true;
    submit_bs_reply("250 2.1.0 Ok");
}

/* -bs RCPT: one recipient (a local user may send anywhere). */
static void submit_bs_rcpt(struct submit *s, const struct cmd *c, bool in_mail)
{
    struct esmtp_rcpt r;
    const char *bad;
    if (!in_mail) {
        submit_bs_reply("503 5.5.1 Error: need MAIL command");
        return;
    }
    if (esmtp_rcpt_parse(c->params, c->nparams, ESMTP_EXT_DSN, &r, &bad) != ESMTP_OK) {
        submit_bs_reply("501 5.5.4 Bad parameter");
        return;
    }
    size_t before = s->nrcpt;
    submit_add_rcpt(s, c->addr);
    if (s->bad) {
        s->bad = 0;
        submit_bs_reply("501 5.1.3 Bad recipient address syntax");
        return;
    }
    if (s->nrcpt > before) {
        s->notify[before] = r.notify;
        free(s->orcpt[before]);
        s->orcpt[before] = xstrdup(r.orcpt);
    }
    submit_bs_reply("250 2.1.5 Ok");
}

/* -bs DATA: reads the content up to the dot and stores the message. */
static void submit_bs_data(struct submit *s, bool *in_mail)
{
    char qid[QID_TEXT_LEN + 1];
    if (!*in_mail || s->nrcpt == 0) {
        submit_bs_reply("503 5.5.1 Error: need %s command", *in_mail ? "RCPT" : "MAIL");
        return;
    }
    submit_bs_reply("354 End data with <CR><LF>.<CR><LF>");
    int rc = submit_read(s, false, true, s->conf->smtpd.max_message_size);
    if (rc == 0)
        rc = submit_store(s, false);
    qid_to_text(s->id, qid);
    if (rc == 0)
        submit_bs_reply("250 2.0.0 Ok: queued as %s", qid);
    else if (rc == EX_DATAERR)
        submit_bs_reply("554 5.6.0 Error: message refused");
    else
        submit_bs_reply("451 4.3.0 Error: queue unavailable");
    submit_reset(s);
    *in_mail = false;
}

/* Runs one -bs command; returns false after QUIT. */
static bool submit_bs_command(struct submit *s, const char *line, size_t n, bool *in_mail)
{
    struct cmd c;
    const struct addr_opts o = {.null_ok = true, .sloppy = true, .utf8 = true};
    int r = cmd_parse(line, n, &o, &c);
    if (r != CMD_OK) {
        submit_bs_reply(r == CMD_ERR_ARGS ? "501 5.5.4 Syntax error in parameters"
                                          : "500 5.5.1 Error: command not recognized");
        return true;
    }
    switch (c.verb) {
    case CMD_HELO: submit_bs_reply("250 %s", s->conf->hostname); break;
    case CMD_EHLO:
        submit_bs_reply("250-%s\r\n250-PIPELINING\r\n250-SIZE %llu\r\n250-8BITMIME\r\n"
                        "250-ENHANCEDSTATUSCODES\r\n250-DSN\r\n250 SMTPUTF8",
                        s->conf->hostname, (unsigned long long)s->conf->smtpd.max_message_size);
        break;
    case CMD_MAIL: submit_bs_mail(s, &c, in_mail); break;
    case CMD_RCPT: submit_bs_rcpt(s, &c, *in_mail); break;
    case CMD_DATA: submit_bs_data(s, in_mail); break;
    case CMD_RSET:
        submit_reset(s);
        *in_mail = false;
        submit_bs_reply("250 2.0.0 Ok");
        break;
    case CMD_NOOP: submit_bs_reply("250 2.0.0 Ok"); break;
    case CMD_QUIT: submit_bs_reply("221 2.0.0 Bye"); return false;
    default: submit_bs_reply("502 5.5.1 Error: command not available with -bs"); break;
    }
    return true;
}

/* -bs: an SMTP session on stdin/stdout (as a local MUA would run it). */
static int submit_bs(struct submit *s)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    bool in_mail = false, go = true;
    submit_bs_reply("220 %s ESMTP sluice", s->conf->hostname);
    while (go && (n = getline(&line, &cap, stdin)) > 0) {
        size_t l = (size_t)n;
        while (l > 0 && (line[l - 1] == '\n' || line[l - 1] == '\r'))
            l--;
        if (l + 2 > CMD_LINE_MAX) {
            submit_bs_reply("500 5.5.2 line too long");
            continue;
        }
        go = submit_bs_command(s, line, l, &in_mail);
    }
    free(line);
    return 0;
}

/* ----asks the running daemon for a queue run (every deferred recipient is tried now);
 * without a daemon to take the request that is a temporary failure, not a success. */
static int submit_queue_run(const char *who, const struct conf *c, const struct submit_opts *o)
{
    int rc = o->run_kind ? queue_notify_request(c->spool, o->run_kind, o->run_value)
                         : queue_notify_flush(c->spool);
    if (rc == 0) {
        if (o->run_kind)
            printf("%s: delivery of %s %s requested\n", who,
                   o->run_kind == 'R' ? "domain" : "message", o->run_value);
        else
            printf("%s: queue run requested\n", who);
        return 0;
    }
    int e = errno;
    if (e == ENOENT || e == ECONNREFUSED)
        fprintf(stderr, "%s: no sluice daemon is running for spool %s (nothing listens on "
                        "%s/incoming.sock): no queue run; start it with `sluice run`\n",
                who, c->spool, c->spool);
    else
        fprintf(stderr, "%s: cannot ask the daemon for a queue run (%s/incoming.sock: %s)\n",
                who, c->spool, strerror(e));
    return EX_TEMPFAIL;
}

/* Reads, stores (and with -v follows) one message given on the command line/stdin. */
static int submit_message(struct submit *s, const struct submit_opts *o, int argc, char **argv)
{
    int rc = 0;
    for (int i = optind; rc == 0 && i < argc; i++)
        submit_add_rcpt(s, argv[i]);
    if (rc == 0)
        rc = submit_read(s, o->dot_ok, false, s->conf->smtpd.max_message_size);
    if (rc == 0)
        rc = submit_store(s, o->t);
    if (rc == 0 && o->verbose)
        rc = submit_follow(s->conf, s->id);
    return rc;
}

/* Runs what the options ask for: a queue run, an SMTP session or one message. */
static int submit_mode(struct submit *s, const struct submit_opts *o, const char *who, int argc,
                       char **argv)
{
    if ((o->queue_run || o->mode == 's') && optind < argc) {
        fprintf(stderr, "%s: %s takes no recipients (got %s)\n", who, o->queue_run ? "-q" : "-bs",
                argv[optind]);
        return EX_USAGE;
    }
    if (o->queue_run)
        return submit_queue_run(who, s->conf, o);
    if (o->mode == 's')
        return submit_bs(s);
    return submit_message(s, o, argc, argv);
}

/* Entry point. */
int tool_submit(int argc, char **argv, int as_sendmail)
{
    const char *who = as_sendmail ? "sendmail" : "sluice submit";
    struct submit_opts o = {.mode = 'm'};
    int rc = submit_getopt(argc, argv, who, &o);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    submit_who = who = o.tag ? o.tag : who;
    const char *path = tool_conf_path(o.path, NULL);
    if (o.mode == 'i') { /* -bi: newaliases, as Postfix's sendmail does */
        char *av[] = {"newaliases", "-c", (char *)path, NULL};
        optind = 0; /* a fresh getopt scan */
        return tool_newaliases(3, av);
    }
    if (o.mode == 'p') {
        char *av[] = {"mailq", "-c", (char *)path, NULL};
        optind = 0; /* a fresh getopt scan */
        return tool_mailq(3, av, as_sendmail);
    }
    struct conf c;
    if (tool_load_conf(path, &c) < 0)
        return EX_CONFIG;
    struct submit s = {.conf = &c, .fullname = o.fullname, .errmail = o.errmail,
                       .flags = o.body8 ? MSG_F_8BITMIME : 0};
    if (o.from ? submit_set_sender(&s, o.from) < 0 : (submit_default_sender(&s), 0))
        rc = EX_USAGE;
    if (rc == 0 && submit_dsn_opts(&s, &o) < 0)
        rc = EX_USAGE;
    if (rc == 0)
        rc = submit_mode(&s, &o, who, argc, argv);
    submit_reset(&s);
    free(s.rcpts);
    free(s.notify);
    free(s.orcpt);
    free(s.failed);
    conf_free(&c);
    return rc;
}
