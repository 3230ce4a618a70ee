/* submit: `sluice submit` and the `sendmail` name. Reads a message on stdin, stores it in the
 * queue with one committed (fsync'ed) LMDB transaction, wakes the daemon, and exits 0 only
 * then. Local submission never needs the SMTP listener.
 * Options: -c FILE, -f SENDER / -r SENDER, -t (recipients from To/Cc/Bcc; Bcc removed),
 * -i / -oi (a line with a single dot does not end the message). Anything else: "unsupported
 * option", exit 64 (EX_USAGE). Exit codes (sysexits.h): 0 stored, 64 usage, 65 bad message
 * data, 75 temporary failure (queue unavailable, disk full), 78 configuration error.
 * Content stored: a Received header, Date / Message-ID / From when missing, the headers
 * (without Bcc), the body; every line ends in CRLF. */
#include <errno.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "conf/conf.h"
#include "core/qid.h"
#include "core/xalloc.h"
#include "proto/addr.h"
#include "proto/hdr.h"
#include "queue/queue.h"
#include "tools/tools.h"

struct submit {
    const struct conf *conf;
    char sender[ADDR_MAX + 1];
    char **rcpts;
    size_t nrcpt, cap;
    int bad; /* a recipient was malformed */
    char *msg; /* CRLF-normalised input */
    size_t len;
};

/* Adds one recipient (qualified with @hostname when it has no domain). */
static void submit_add_rcpt(void *arg, const char *a)
{
    struct submit *s = arg;
    char tmp[ADDR_MAX + 2], out[ADDR_MAX + 1];
    struct addr_opts o = {.null_ok = false, .sloppy = true, .utf8 = true};
    if (!strchr(a, '@'))
        snprintf(tmp, sizeof tmp, "%s@%s", a, s->conf->hostname);
    else
        snprintf(tmp, sizeof tmp, "%s", a);
    if (addr_parse_path(tmp, strlen(tmp), &o, out) < 0 || !*out) {
        fprintf(stderr, "sluice submit: bad recipient address: %s\n", a);
        s->bad = 1;
        return;
    }
    for (size_t i = 0; i < s->nrcpt; i++)
        if (strcmp(s->rcpts[i], out) == 0)
            return;
    xgrow(&s->rcpts, &s->cap, s->nrcpt, sizeof *s->rcpts);
    s->rcpts[s->nrcpt++] = xstrdup(out);
}

/* Reads stdin, normalising line ends to CRLF; stops at "." alone unless dot_ok. Returns 0,
 * or an exit code. */
static int submit_read(struct submit *s, bool dot_ok, uint64_t max)
{
    char *line = NULL;
    size_t cap = 0, alloc = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, stdin)) > 0) {
        size_t l = (size_t)n;
        if (memchr(line, '\0', l)) {
            fprintf(stderr, "sluice submit: message contains NUL bytes\n");
            free(line);
            return EX_DATAERR;
        }
        while (l > 0 && (line[l - 1] == '\n' || line[l - 1] == '\r'))
            l--;
        if (!dot_ok && l == 1 && line[0] == '.')
            break;
        if (s->len + l + 2 > max) {
            fprintf(stderr, "sluice submit: message larger than %llu bytes\n", (unsigned long long)max);
            free(line);
            return EX_DATAERR;
        }
        if (s->len + l + 2 >= alloc) {
            alloc = (s->len + l + 2) * 2 + 4096;
            s->msg = xrealloc(s->msg, alloc);
        }
        memcpy(s->msg + s->len, line, l);
        memcpy(s->msg + s->len + l, "\r\n", 2);
        s->len += l + 2;
    }
    free(line);
    if (ferror(stdin)) {
        fprintf(stderr, "sluice submit: read error: %s\n", strerror(errno));
        return EX_IOERR;
    }
    return 0;
}

/* Appends bytes to a growing buffer. */
static void submit_put(char **buf, size_t *len, size_t *cap, const char *p, size_t n)
{
    if (*len + n + 1 > *cap) {
        *cap = (*len + n + 1) * 2;
        *buf = xrealloc(*buf, *cap);
    }
    memcpy(*buf + *len, p, n);
    *len += n;
}

/* Builds the stored content: trace and missing headers, the headers without Bcc (collecting
 * recipients with -t), then the body. */
static char *submit_content(struct submit *s, bool from_headers, uint64_t id, size_t *outlen)
{
    char *out = NULL, qid[QID_TEXT_LEN + 1], date[64], line[1024];
    size_t len = 0, cap = 0, off = 0, used;
    bool has_date = false, has_msgid = false, has_from = false;
    struct hdr_field f;
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S %z", &tm);
    qid_to_text(id, qid);
    int n = snprintf(line, sizeof line, "Received: by %s (sluice, from uid %d)\r\n\tid %s; %s\r\n",
                     s->conf->hostname, (int)getuid(), qid, date);
    submit_put(&out, &len, &cap, line, (size_t)n);
    char *value = xmalloc(HDR_FIELD_MAX);
    while ((used = hdr_next(s->msg, s->len, off, &f)) > 0) {
        bool bcc = f.namelen == 3 && strncasecmp(f.name, "Bcc", 3) == 0;
        has_date |= f.namelen == 4 && strncasecmp(f.name, "Date", 4) == 0;
        has_msgid |= f.namelen == 10 && strncasecmp(f.name, "Message-ID", 10) == 0;
        has_from |= f.namelen == 4 && strncasecmp(f.name, "From", 4) == 0;
        if (from_headers && (bcc || (f.namelen == 2 && strncasecmp(f.name, "To", 2) == 0) ||
                             (f.namelen == 2 && strncasecmp(f.name, "Cc", 2) == 0))) {
            hdr_value(&f, value, HDR_FIELD_MAX);
            hdr_addrlist(value, submit_add_rcpt, s);
        }
        if (!bcc)
            submit_put(&out, &len, &cap, f.raw, f.rawlen);
        off += used;
    }
    free(value);
    if (!has_date)
        n = snprintf(line, sizeof line, "Date: %s\r\n", date), submit_put(&out, &len, &cap, line, (size_t)n);
    if (!has_msgid)
        n = snprintf(line, sizeof line, "Message-ID: <%s@%s>\r\n", qid, s->conf->hostname),
        submit_put(&out, &len, &cap, line, (size_t)n);
    if (!has_from && *s->sender)
        n = snprintf(line, sizeof line, "From: <%s>\r\n", s->sender),
        submit_put(&out, &len, &cap, line, (size_t)n);
    if (off < s->len && !(s->len - off >= 2 && s->msg[off] == '\r' && s->msg[off + 1] == '\n'))
        submit_put(&out, &len, &cap, "\r\n", 2); /* body without separating empty line */
    submit_put(&out, &len, &cap, s->msg + off, s->len - off);
    *outlen = len;
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
        snprintf(tmp, sizeof tmp, "%s@%s", arg, s->conf->hostname);
    else
        snprintf(tmp, sizeof tmp, "%s", *arg ? arg : "<>");
    if (addr_parse_path(tmp, strlen(tmp), &o, s->sender) < 0) {
        fprintf(stderr, "sluice submit: bad sender address: %s\n", arg);
        return -1;
    }
    return 0;
}

/* Stores the message: one committed transaction, then a wakeup for the daemon. */
static int submit_store(struct submit *s, bool from_headers)
{
    char err[512];
    struct queue *q = queue_open(s->conf->spool, NULL, err, sizeof err);
    if (!q) {
        fprintf(stderr, "sluice submit: %s\n", err);
        return EX_TEMPFAIL;
    }
    int rc = EX_TEMPFAIL;
    for (int tries = 0; tries < 3; tries++) {
        struct qmsg m = {.id = qid_next(), .arrival = clock_wall_ms(), .sender = s->sender,
                         .client_ip = "", .helo = ""};
        size_t len;
        char *body = submit_content(s, from_headers && tries == 0, m.id, &len);
        if (s->nrcpt == 0 || s->bad) {
            fprintf(stderr, "sluice submit: %s\n", s->bad ? "bad recipient" : "no recipients");
            free(body);
            rc = s->bad ? EX_DATAERR : EX_USAGE;
            break;
        }
        struct qrcpt *r = xcalloc(s->nrcpt, sizeof *r);
        for (size_t i = 0; i < s->nrcpt; i++)
            r[i] = (struct qrcpt){.addr = s->rcpts[i], .state = RCPT_PENDING, .last_reply = ""};
        m.rcpts = r;
        m.nrcpt = (uint32_t)s->nrcpt;
        m.size = len;
        int st = queue_put_sync(q, &m, body, len);
        int e = errno;
        free(r);
        free(body);
        if (st == 0) {
            rc = 0;
            break;
        }
        fprintf(stderr, "sluice submit: cannot store message: %s\n", strerror(e));
        if (e != EEXIST)
            break;
    }
    queue_close(q);
    if (rc == 0)
        queue_notify_incoming(s->conf->spool);
    return rc;
}

/* Entry point. */
int tool_submit(int argc, char **argv, int as_sendmail)
{
    const char *path = getenv("SLUICE_CONF") ? getenv("SLUICE_CONF") : SLUICE_DEFAULT_CONF;
    const char *from = NULL;
    bool t = false, dot_ok = false;
    int ch;
    opterr = 0;
    while ((ch = getopt(argc, argv, "c:f:r:tio:")) != -1) {
        switch (ch) {
        case 'c': path = optarg; break;
        case 'f': case 'r': from = optarg; break;
        case 't': t = true; break;
        case 'i': dot_ok = true; break;
        case 'o':
            if (strcmp(optarg, "i") == 0) {
                dot_ok = true;
                break;
            }
            fprintf(stderr, "sluice submit: unsupported option -o%s\n", optarg);
            return EX_USAGE;
        default:
            fprintf(stderr, "sluice %s: unsupported option -%c\n", as_sendmail ? "sendmail" : "submit",
                    optopt);
            return EX_USAGE;
        }
    }
    struct conf c;
    if (tool_load_conf(path, &c) < 0)
        return EX_CONFIG;
    struct submit s = {.conf = &c};
    int rc = 0;
    if (from ? submit_set_sender(&s, from) < 0 : (submit_default_sender(&s), 0))
        rc = EX_USAGE;
    for (int i = optind; rc == 0 && i < argc; i++)
        submit_add_rcpt(&s, argv[i]);
    if (rc == 0)
        rc = submit_read(&s, dot_ok, c.smtpd.max_message_size);
    if (rc == 0)
        rc = submit_store(&s, t);
    for (size_t i = 0; i < s.nrcpt; i++)
        free(s.rcpts[i]);
    free(s.rcpts);
    free(s.msg);
    conf_free(&c);
    return rc;
}
