/* sluice-postdrop: the small setgid-sluicedrop helper through which a non-root `sendmail`
 * leaves a message for the daemon (Postfix's postdrop). It reads one drop file
 * (proto/maildrop.h) on stdin, at most smtpd.max_message_size + MAILDROP_HEAD_MAX bytes,
 * checks it with the daemon's own parser, writes it as SPOOL/maildrop/.tmp.NAME
 * (O_EXCL, O_NOFOLLOW, mode 0644: the directory, 1730, hides it from everyone but the
 * daemon), fsyncs it, renames it to NAME and syncs the file system (syncfs: the helper may
 * not open the directory to fsync it). Exit 0 only then: the
 * durable drop file is the promise `sendmail` makes (the daemon later moves it into the
 * queue and removes it). The file belongs to the invoking user, which is how the daemon
 * knows who sent it (src/pickup/: the sender is forced to that login unless trusted).
 * Configuration: -c FILE or $SLUICE_CONF only when FILE belongs to root and no one else may
 * write it (a user cannot point the helper at a spool of their choosing); else the default.
 * Exit codes (sysexits.h): 0, 64 usage, 65 bad drop file, 75 cannot write (try later),
 * 78 configuration.
 *
 * `sluice-postdrop -p [-j]` is Postfix's postqueue for users who may not read the spool:
 * `mailq` runs it when mailq_users = "all". The group lets it reach SPOOL/showq.sock
 * (ctl/showq.c), where it asks the daemon for "showq" (-j: "showq --json") and copies the
 * listing to stdout; it sends nothing else, and the socket answers nothing else. Messages
 * are prefixed with argv[0] (mailq passes its own name). Exit 0; 75 when the daemon is not
 * running ("mail system is down", as Postfix's postqueue) or the reply is cut short; 77
 * when mailq_users is "root". */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/time.h>
#include <sysexits.h>
#include <unistd.h>

#include "conf/conf.h"
#include "core/xalloc.h"
#include "ctl/ctl.h"
#include "pickup/pickup.h"
#include "proto/ctlproto.h"
#include "proto/maildrop.h"
#include "tools/tools.h"

#ifdef __SANITIZE_ADDRESS__
/* Sanitized builds: a set-group-id process is not dumpable, so LeakSanitizer can neither read
 * its options from /proc/self/environ nor stop the process to scan it; leave it off here. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "detect_leaks=0";
}
#endif

/* The configuration file: the given one when only root could have written it. */
static const char *postdrop_conf_path(const char *given)
{
    const char *p = given ? given : getenv("SLUICE_CONF");
    struct stat st;
    if (!p || !*p)
        return SLUICE_DEFAULT_CONF;
    if (stat(p, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == 0 && !(st.st_mode & 022))
        return p;
    fprintf(stderr, "sluice-postdrop: ignoring configuration %s (not a root-owned file only "
                    "root may write); using %s\n", p, SLUICE_DEFAULT_CONF);
    return SLUICE_DEFAULT_CONF;
}

/* Reads all of stdin up to max bytes; NULL when larger or unreadable. */
static char *postdrop_read(uint64_t max, size_t *len)
{
    size_t cap = 65536, got = 0;
    char *buf = xmalloc(cap);
    ssize_t n = 0;
    for (;;) {
        if (got == cap) {
            if (cap > max)
                break;
            cap *= 2;
            buf = xrealloc(buf, cap);
        }
        n = read(0, buf + got, cap - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    if (n < 0 || got > max) {
        free(buf);
        return NULL;
    }
    *len = got;
    return buf;
}

/* Writes buf durably as dir/name (temporary name first). 0, or -1 with errno. The helper may
 * not read the directory (mode 1730), so it cannot fsync it: after the rename, syncfs() on
 * the file makes the new directory entry durable with it. */
static int postdrop_write(int dir, const char *name, const char *buf, size_t len)
{
    char tmp[128];
    snprintf(tmp, sizeof tmp, ".tmp.%s", name);
    int fd = openat(dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, buf + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    int e = 0;
    if (off < len || fchmod(fd, 0644) < 0 || fsync(fd) < 0)
        e = errno ? errno : EIO;
    if (!e && (renameat(dir, tmp, dir, name) < 0 || syncfs(fd) < 0))
        e = errno;
    if (close(fd) < 0 && !e)
        e = errno;
    if (e) {
        unlinkat(dir, tmp, 0);
        errno = e;
        return -1;
    }
    return 0;
}

/* Checks and drops the file; returns the exit code. */
static int postdrop_run(const struct conf *c)
{
    size_t len;
    struct maildrop d;
    const char *why;
    char *buf = postdrop_read(c->smtpd.max_message_size + MAILDROP_HEAD_MAX, &len);
    if (!buf)
        return fprintf(stderr, "sluice-postdrop: message unreadable or larger than %llu bytes\n",
                       (unsigned long long)c->smtpd.max_message_size), EX_DATAERR;
    if (maildrop_parse(buf, len, c->smtpd.max_message_size, &d, &why) < 0) {
        fprintf(stderr, "sluice-postdrop: refused: %s\n", why);
        free(buf);
        return EX_DATAERR;
    }
    maildrop_clear(&d);
    char path[4096], name[96];
    struct timeval tv;
    gettimeofday(&tv, NULL);
    snprintf(name, sizeof name, "%lld%06ld.%d.%u", (long long)tv.tv_sec, (long)tv.tv_usec,
             (int)getpid(), (unsigned)getuid());
    snprintf(path, sizeof path, "%s/%s", c->spool, PICKUP_DIR);
    int dir = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC); /* search, not read, permission */
    int rc = dir >= 0 && postdrop_write(dir, name, buf, len) == 0 ? 0 : EX_TEMPFAIL;
    if (rc)
        fprintf(stderr, "sluice-postdrop: cannot write to %s: %s (is sluice-postdrop setgid %s?)\n",
                path, strerror(errno), PICKUP_GROUP);
    if (dir >= 0)
        close(dir);
    free(buf);
    return rc;
}

/* ---- -p: the queue listing through the daemon's showq socket ---- */

/* Connects to the showq socket; the fd, or -1 with the message printed. */
static int postdrop_showq_connect(const struct conf *c, const char *who)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    ctl_showq_path(c, sun.sun_path, sizeof sun.sun_path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0)
        return fd;
    int e = errno;
    if (fd >= 0)
        close(fd);
    if (e == ENOENT || e == ECONNREFUSED)
        fprintf(stderr, "%s: Queue report unavailable - mail system is down (nothing answers "
                        "at %s)\n", who, sun.sun_path);
    else
        fprintf(stderr, "%s: cannot reach %s: %s (is sluice-postdrop setgid %s?)\n", who,
                sun.sun_path, strerror(e), PICKUP_GROUP);
    return -1;
}

/* Copies the reply's body (dot-stuffed, ending in ".") to stdout; the exit code. */
static int postdrop_showq_copy(FILE *in, const char *who)
{
    char *line = NULL, text[CTL_ERR_MAX] = "malformed reply";
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, in);
    bool ok = false, end = false;
    if (n > 0 && line[n - 1] == '\n')
        line[--n] = '\0';
    if (n < 0 || ctlproto_status(line, (size_t)n, &ok, text, sizeof text) < 0 || !ok) {
        fprintf(stderr, "%s: the daemon refused the listing: %s\n", who,
                n < 0 ? "no reply" : text);
        free(line);
        return EX_TEMPFAIL;
    }
    while (!end && (n = getline(&line, &cap, in)) > 0) {
        end = strcmp(line, ".\n") == 0;
        if (!end)
            fputs(line[0] == '.' ? line + 1 : line, stdout);
    }
    free(line);
    if (!end)
        fprintf(stderr, "%s: the listing was cut short (the daemon went away)\n", who);
    return end && fflush(stdout) == 0 ? 0 : EX_TEMPFAIL;
}

/* -p [-j]: asks the daemon for the listing; the exit code. */
static int postdrop_showq(const struct conf *c, const char *who, bool json)
{
    if (c->mailq_users != MAILQ_USERS_ALL) {
        fprintf(stderr, "%s: only root and the user %s may list the queue (mailq_users is "
                        "\"root\")\n", who, c->user);
        return EX_NOPERM;
    }
    int fd = postdrop_showq_connect(c, who);
    if (fd < 0)
        return EX_TEMPFAIL;
    const char *req = json ? "showq --json\n" : "showq\n";
    FILE *in = fdopen(fd, "r");
    if (!in || write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
        fprintf(stderr, "%s: Queue report unavailable - mail system is down (%s)\n", who,
                strerror(errno));
        if (in)
            fclose(in);
        else
            close(fd);
        return EX_TEMPFAIL;
    }
    int rc = postdrop_showq_copy(in, who);
    fclose(in);
    return rc;
}

int main(int argc, char **argv)
{
    const char *given = NULL, *who = argv[0] && *argv[0] ? argv[0] : "sluice-postdrop";
    int ch;
    bool list = false, json = false;
    umask(022);
    while ((ch = getopt(argc, argv, "c:pj")) != -1) {
        if (ch == 'p' || ch == 'j') {
            list = list || ch == 'p';
            json = json || ch == 'j';
            continue;
        }
        if (ch != 'c')
            return fprintf(stderr, "usage: sluice-postdrop [-c FILE] <dropfile\n"
                                   "       sluice-postdrop [-c FILE] -p [-j]\n"), EX_USAGE;
        given = optarg;
    }
    if (json && !list)
        return fprintf(stderr, "sluice-postdrop: -j goes with -p\n"), EX_USAGE;
    char err[1024];
    struct conf c;
    conf_init(&c);
    if (conf_load(postdrop_conf_path(given), &c, err, sizeof err) < 0) {
        fprintf(stderr, "sluice-postdrop: %s\n", err);
        conf_free(&c);
        return EX_CONFIG;
    }
    int rc = list ? postdrop_showq(&c, who, json) : postdrop_run(&c);
    conf_free(&c);
    return rc;
}
