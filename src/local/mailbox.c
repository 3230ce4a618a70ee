/* mailbox: Maildir, mbox, file and command deliveries as the recipient. See mailbox.h. */
#include "local/mailbox.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAILBOX_BUF 65536

/* Sets text from errno e and returns the outcome it calls for. */
static enum outcome mailbox_err(int e, const char *what, char *text, size_t textlen)
{
    if (e == ENOSPC || e == EDQUOT) {
        snprintf(text, textlen, "4.2.2 %s: %s", what, strerror(e));
        return OUTCOME_TEMPFAIL;
    }
    if (e == EFBIG) {
        snprintf(text, textlen, "5.2.2 %s: mailbox full", what);
        return OUTCOME_PERMFAIL;
    }
    snprintf(text, textlen, "4.3.0 %s: %s", what, strerror(e));
    return OUTCOME_TEMPFAIL;
}

/* Writes all of buf. 0 or -1 with errno. */
static int mailbox_write(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Copies content to out with CRLF -> LF; quote: ">From " for lines starting "From ".
 * Returns bytes written or -1 with errno. */
static long mailbox_copy(int content, int out, int quote)
{
    static char in[MAILBOX_BUF], o[2 * MAILBOX_BUF + 8];
    off_t off = 0;
    long total = 0;
    int bol = 1, cr = 0;
    ssize_t n;
    while ((n = pread(content, in, sizeof in, off)) > 0) {
        size_t k = 0;
        off += n;
        for (ssize_t i = 0; i < n; i++) {
            char c = in[i];
            if (cr && c != '\n')
                o[k++] = '\r';
            cr = c == '\r';
            if (cr)
                continue;
            if (quote && bol && c == 'F' && n - i >= 5 && memcmp(in + i, "From ", 5) == 0)
                o[k++] = '>';
            o[k++] = c;
            bol = c == '\n';
        }
        if (mailbox_write(out, o, k) < 0)
            return -1;
        total += (long)k;
    }
    return n < 0 ? -1 : total;
}

/* Creates dir (0700) when it does not exist. */
static int mailbox_mkdir(const char *dir)
{
    return mkdir(dir, 0700) == 0 || errno == EEXIST ? 0 : -1;
}

/* Maildir delivery; see mailbox.h. */
static enum outcome mailbox_maildir(const struct helper_req *req, const char *home, int content,
                                    char *text, size_t textlen)
{
    char md[HELPER_PATH_MAX + 512], tmp[sizeof md + 256], dst[sizeof tmp + 64], host[256] = "";
    struct timeval tv;
    snprintf(md, sizeof md, "%s/%s", home, req->target);
    size_t l = strlen(md);
    if (l > 1 && md[l - 1] == '/')
        md[l - 1] = '\0';
    snprintf(tmp, sizeof tmp, "%s/tmp", md);
    snprintf(dst, sizeof dst, "%s/new", md);
    if (mailbox_mkdir(md) < 0 || mailbox_mkdir(tmp) < 0 || mailbox_mkdir(dst) < 0 ||
        mailbox_mkdir((snprintf(dst, sizeof dst, "%s/cur", md), dst)) < 0)
        return mailbox_err(errno, "maildir", text, textlen);
    gethostname(host, sizeof host - 1);
    for (char *p = host; *p; p++)
        if (*p == '/' || *p == ':')
            *p = '_';
    gettimeofday(&tv, NULL);
    char name[512];
    snprintf(name, sizeof name, "%lld.M%ldP%ldQ%llu.%s", (long long)tv.tv_sec, (long)tv.tv_usec,
             (long)getpid(), (unsigned long long)req->id, host);
    snprintf(tmp, sizeof tmp, "%s/tmp/%s", md, name);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return mailbox_err(errno, "maildir", text, textlen);
    long size = mailbox_copy(content, fd, 0);
    if (size < 0 || fsync(fd) < 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        return mailbox_err(e, "maildir", text, textlen);
    }
    close(fd);
    snprintf(dst, sizeof dst, "%s/new/%s,S=%ld", md, name, size);
    if (rename(tmp, dst) < 0) {
        int e = errno;
        unlink(tmp);
        return mailbox_err(e, "maildir", text, textlen);
    }
    snprintf(tmp, sizeof tmp, "%s/new", md);
    int dfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    snprintf(text, textlen, "2.0.0 delivered to maildir");
    return OUTCOME_OK;
}

/* Takes USER.lock next to path (O_EXCL; a lock older than 10 minutes is stale). */
static int mailbox_dotlock(const char *lock)
{
    for (int i = 0; i < 60; i++) {
        int fd = open(lock, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0)
            return close(fd), 0;
        if (errno != EEXIST)
            return -1;
        struct stat st;
        if (stat(lock, &st) == 0 && st.st_mtime + 600 < time(NULL))
            unlink(lock);
        else
            sleep(1);
    }
    return errno = EAGAIN, -1;
}

/* Appends the message to path as an mbox message; dotlock: take path.lock too. */
static enum outcome mailbox_append(const struct helper_req *req, const char *path, int dotlock,
                                   int content, char *text, size_t textlen)
{
    char lock[HELPER_PATH_MAX + 128], from[HELPER_TEXT_MAX + 128];
    snprintf(lock, sizeof lock, "%s.lock", path);
    if (dotlock && mailbox_dotlock(lock) < 0)
        return mailbox_err(errno, "mailbox lock", text, textlen);
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    struct stat st;
    enum outcome o = OUTCOME_OK;
    if (fd < 0 || fcntl(fd, F_SETLKW, &fl) < 0 || fstat(fd, &st) < 0) {
        o = mailbox_err(errno, "mailbox", text, textlen);
        goto done;
    }
    if (!S_ISREG(st.st_mode) || st.st_nlink != 1) {
        snprintf(text, textlen, "5.2.0 mailbox is not a regular file");
        o = OUTCOME_PERMFAIL;
        goto done;
    }
    time_t now = time(NULL);
    char date[64];
    strftime(date, sizeof date, "%a %b %e %H:%M:%S %Y", localtime(&now));
    snprintf(from, sizeof from, "From %s  %s\n", req->sender[0] ? req->sender : "MAILER-DAEMON",
             date);
    long n = -1;
    int e = 0;
    if (mailbox_write(fd, from, strlen(from)) < 0 || (n = mailbox_copy(content, fd, 1)) < 0 ||
        mailbox_write(fd, "\n", 1) < 0 || fsync(fd) < 0)
        e = errno;
    else if (req->size_limit && (uint64_t)st.st_size + (uint64_t)n > req->size_limit)
        e = EFBIG;
    if (e == 0) {
        snprintf(text, textlen, "2.0.0 delivered to %s", req->kind == HELPER_FILE ? "file" : "mbox");
        goto done;
    }
    if (ftruncate(fd, st.st_size) == 0) /* never leave half a message */
        fsync(fd);
    o = mailbox_err(e, "mailbox", text, textlen);
done:
    if (fd >= 0)
        close(fd);
    if (dotlock)
        unlink(lock);
    return o;
}

/* Runs the command with the message on stdin; see mailbox.h. */
static enum outcome mailbox_pipe(const struct helper_req *req, const char *home, int content,
                                 int sockfd, char *text, size_t textlen)
{
    int in[2];
    if (pipe(in) < 0)
        return mailbox_err(errno, "pipe", text, textlen);
    pid_t pid = fork();
    if (pid < 0)
        return mailbox_err(errno, "fork", text, textlen);
    if (pid == 0) {
        setpgid(0, 0);
        close(sockfd);
        close(content);
        dup2(in[0], 0);
        close(in[0]);
        close(in[1]);
        int nul = open("/dev/null", O_WRONLY);
        if (nul >= 0) {
            dup2(nul, 1);
            dup2(nul, 2);
        }
        if (chdir(home) < 0 && chdir("/") < 0)
            _exit(75);
        setenv("HOME", home, 1);
        setenv("SENDER", req->sender, 1);
        setenv("PATH", "/usr/bin:/bin", 1);
        execl("/bin/sh", "sh", "-c", req->target, (char *)NULL);
        _exit(75);
    }
    close(in[0]);
    signal(SIGPIPE, SIG_IGN);
    long n = mailbox_copy(content, in[1], 0); /* a command that stops reading: EPIPE */
    (void)n;
    close(in[1]);
    int st = 0;
    uint64_t waited = 0;
    pid_t w;
    while ((w = waitpid(pid, &st, WNOHANG)) == 0 && waited < req->timeout_ms) {
        usleep(10000); /* this child does nothing else: the daemon's loop never waits */
        waited += 10;
    }
    if (w == 0) {
        kill(-pid, SIGKILL);
        waitpid(pid, &st, 0);
        snprintf(text, textlen, "4.3.0 command timed out after %llu s",
                 (unsigned long long)(req->timeout_ms / 1000));
        return OUTCOME_TEMPFAIL;
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
        snprintf(text, textlen, "2.0.0 delivered to command");
        return OUTCOME_OK;
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 75) {
        snprintf(text, textlen, "4.3.0 command exited 75 (temporary failure)");
        return OUTCOME_TEMPFAIL;
    }
    if (WIFEXITED(st))
        snprintf(text, textlen, "5.3.0 command exited %d", WEXITSTATUS(st));
    else
        snprintf(text, textlen, "5.3.0 command killed by signal %d", WTERMSIG(st));
    return OUTCOME_PERMFAIL;
}

/* Dispatches one delivery; see mailbox.h. */
enum outcome mailbox_deliver(const struct helper_req *req, const char *home, int content,
                             int sockfd, char *text, size_t textlen)
{
    char path[HELPER_PATH_MAX + HELPER_USER_MAX + 2];
    switch (req->kind) {
    case HELPER_MAILDIR: return mailbox_maildir(req, home, content, text, textlen);
    case HELPER_MBOX:
        snprintf(path, sizeof path, "%s/%s", req->target, req->user);
        return mailbox_append(req, path, 1, content, text, textlen);
    case HELPER_FILE: return mailbox_append(req, req->target, 0, content, text, textlen);
    case HELPER_PIPE: return mailbox_pipe(req, home, content, sockfd, text, textlen);
    }
    snprintf(text, textlen, "4.3.0 unknown delivery kind");
    return OUTCOME_TEMPFAIL;
}
