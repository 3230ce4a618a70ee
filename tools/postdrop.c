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
 * 78 configuration. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sysexits.h>
#include <unistd.h>

#include "conf/conf.h"
#include "core/xalloc.h"
#include "pickup/pickup.h"
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

int main(int argc, char **argv)
{
    const char *given = NULL;
    int ch;
    umask(022);
    while ((ch = getopt(argc, argv, "c:")) != -1) {
        if (ch != 'c')
            return fprintf(stderr, "usage: sluice-postdrop [-c FILE] <dropfile\n"), EX_USAGE;
        given = optarg;
    }
    char err[1024];
    struct conf c;
    conf_init(&c);
    if (conf_load(postdrop_conf_path(given), &c, err, sizeof err) < 0) {
        fprintf(stderr, "sluice-postdrop: %s\n", err);
        conf_free(&c);
        return EX_CONFIG;
    }
    int rc = postdrop_run(&c);
    conf_free(&c);
    return rc;
}
