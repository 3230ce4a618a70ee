/* log: process-wide logging in syslog's shape, to one target: stderr (default), a file, or
 * the local syslog socket with the mail facility. One line per write(2)/send(2), so
 * concurrent writers (the loop, the queue writer, the resolver thread) never tear a line.
 * Severities per STYLE.md: warn carries on, fatal exits 1, panic aborts.
 *
 * Line shape on stderr and in a file (what pflogsumm and fail2ban read; docs/logging.md):
 *     "Mon DD HH:MM:SS HOST PROG[PID]: [level: ]text"
 * PROG is the program name ("sluice") or, for the mail lines of the daemon (log_mail), the
 * program and a Postfix-like service name ("sluice/smtpd", "sluice/qmgr", "sluice/smtp").
 * To syslog the same line goes as an RFC 3164 datagram "<PRI>Mon DD HH:MM:SS PROG[PID]: ..."
 * (facility mail, severity by level), sent without blocking: a full socket drops the line
 * and the next line that gets through says how many were dropped.
 * log_open() switches the target at any time (SIGHUP reload); the new target is opened
 * before the old one is closed, so a target that fails to open keeps the current one.
 * log_sanitize() escapes peer text (contract in log.h); every module that puts text it did
 * not write itself into a log line, an audit record or a transcript goes through it. */
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define LOG_FACILITY_MAIL 2
#define LOG_PROG_MAX 64

/* Syslog severities (RFC 5424 §6.2.1). */
enum { LOG_SEV_CRIT = 2, LOG_SEV_WARNING = 4, LOG_SEV_INFO = 6, LOG_SEV_DEBUG = 7 };

static const char *log_prog = "sluice";
static int log_verbosity;
static pid_t log_pid;
static char log_host[256] = "localhost";
/* The target: under log_mu. fd -1 = stderr. */
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static enum log_target log_target_now = LOG_TARGET_STDERR;
static int log_fd = -1;
static unsigned long log_dropped; /* syslog lines lost to a full socket */

/* Remembers the program name shown in every line, the pid and the host name. */
void log_init(const char *progname)
{
    log_prog = progname;
    log_pid = getpid();
    if (gethostname(log_host, sizeof log_host - 1) < 0 || !log_host[0])
        snprintf(log_host, sizeof log_host, "localhost");
    log_host[strcspn(log_host, ".")] = '\0'; /* syslog shows the short name */
}

/* Turns debug lines on or off. */
void log_set_verbose(int verbose) { log_verbosity = verbose; }

/* Reports whether debug lines are on. */
int log_verbose(void) { return log_verbosity; }

/* The text of a target ("stderr", "file", "syslog"). */
const char *log_target_to_text(enum log_target t)
{
    return t == LOG_TARGET_FILE ? "file" : t == LOG_TARGET_SYSLOG ? "syslog" : "stderr";
}

/* Opens a target's descriptor: the file (append, 0640) or a datagram socket connected to
 * the syslog socket. Returns the fd (-1 for stderr, which needs none) or -2 with err set. */
static int log_target_fd(enum log_target t, const char *path, char *err, size_t errlen)
{
    if (t == LOG_TARGET_STDERR)
        return -1;
    if (t == LOG_TARGET_FILE) {
        int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
        if (fd < 0)
            snprintf(err, errlen, "log file %s: %s", path, strerror(errno));
        return fd < 0 ? -2 : fd;
    }
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sun.sun_path) {
        snprintf(err, errlen, "syslog socket %s: path too long", path);
        return -2;
    }
    strcpy(sun.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
        snprintf(err, errlen, "syslog socket %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -2;
    }
    return fd;
}

/* Switches the log to target t (path: the file, or the syslog socket, NULL = /dev/log). */
int log_open(enum log_target t, const char *path, char *err, size_t errlen)
{
    if (t == LOG_TARGET_SYSLOG && (!path || !*path))
        path = LOG_SYSLOG_SOCKET;
    if (t == LOG_TARGET_FILE && (!path || !*path)) {
        snprintf(err, errlen, "log target file needs log.path");
        return -1;
    }
    int fd = log_target_fd(t, path, err, errlen);
    if (fd == -2)
        return -1;
    pthread_mutex_lock(&log_mu);
    int old = log_fd;
    log_fd = fd;
    log_target_now = t;
    pthread_mutex_unlock(&log_mu);
    if (old >= 0)
        close(old);
    return 0;
}

/* Writes one formatted line (under log_mu) to the current target. */
static void log_write(int sev, const char *prog, const char *stamp, const char *body, size_t blen)
{
    char line[4400];
    pthread_mutex_lock(&log_mu);
    size_t n;
    if (log_target_now == LOG_TARGET_SYSLOG) {
        n = (size_t)snprintf(line, sizeof line, "<%d>%s %s[%d]: %.*s",
                             LOG_FACILITY_MAIL * 8 + sev, stamp, prog,
                             (int)(log_pid ? log_pid : getpid()), (int)blen, body);
        if (n > sizeof line - 1)
            n = sizeof line - 1;
        if (send(log_fd, line, n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
            log_dropped++;
        else if (log_dropped) {
            n = (size_t)snprintf(line, sizeof line, "<%d>%s %s[%d]: warning: %lu log lines dropped "
                                 "(syslog socket full)", LOG_FACILITY_MAIL * 8 + LOG_SEV_WARNING,
                                 stamp, log_prog, (int)(log_pid ? log_pid : getpid()), log_dropped);
            if (send(log_fd, line, n, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
                log_dropped = 0;
        }
    } else {
        n = (size_t)snprintf(line, sizeof line, "%s %s %s[%d]: %.*s\n", stamp, log_host, prog,
                             (int)(log_pid ? log_pid : getpid()), (int)blen, body);
        if (n > sizeof line - 1) {
            n = sizeof line - 1;
            line[n - 1] = '\n';
        }
        ssize_t w = write(log_fd >= 0 ? log_fd : STDERR_FILENO, line, n);
        (void)w;
    }
    pthread_mutex_unlock(&log_mu);
}

/* Formats one line: stamp "Mon DD HH:MM:SS", "level: " unless info, the text. */
static void log_emit(int sev, const char *svc, const char *level, const char *fmt, va_list ap)
{
    char body[4096], stamp[32], prog[LOG_PROG_MAX];
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%b %e %H:%M:%S", &tm);
    if (svc)
        snprintf(prog, sizeof prog, "%s/%s", log_prog, svc);
    else
        snprintf(prog, sizeof prog, "%s", log_prog);
    size_t n = (size_t)snprintf(body, sizeof body, "%s%s", level, *level ? ": " : "");
    int k = vsnprintf(body + n, sizeof body - n, fmt, ap);
    if (k > 0)
        n += (size_t)k;
    if (n > sizeof body - 1)
        n = sizeof body - 1;
    log_write(sev, prog, stamp, body, n);
}

/* Debug line, only when verbose. */
void log_debug(const char *fmt, ...)
{
    if (!log_verbosity)
        return;
    va_list ap;
    va_start(ap, fmt);
    log_emit(LOG_SEV_DEBUG, NULL, "debug", fmt, ap);
    va_end(ap);
}

/* Informational line. */
void log_info(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_emit(LOG_SEV_INFO, NULL, "", fmt, ap);
    va_end(ap);
}

/* A mail line of service svc ("smtpd", "cleanup", "qmgr", "smtp", "pickup"). */
void log_mail(const char *svc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_emit(LOG_SEV_INFO, svc, "", fmt, ap);
    va_end(ap);
}

/* Something went wrong but we carry on. */
void log_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_emit(LOG_SEV_WARNING, NULL, "warning", fmt, ap);
    va_end(ap);
}

/* Cannot continue (startup, configuration): exit 1. */
void log_fatal(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_emit(LOG_SEV_CRIT, NULL, "fatal", fmt, ap);
    va_end(ap);
    exit(1);
}

/* Broken invariant: abort for a core dump. */
void log_panic(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_emit(LOG_SEV_CRIT, NULL, "panic", fmt, ap);
    va_end(ap);
    abort();
}
/* Copies peer text for logging: printable ASCII as is, '\' doubled, any other byte \xHH. */
char *log_sanitize(char *dst, size_t dstlen, const char *src, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    if (dstlen == 0)
        return dst;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)src[i];
        bool plain = c >= 0x20 && c < 0x7f && c != '\\';
        size_t need = plain ? 1 : c == '\\' ? 2 : 4;
        if (o + need >= dstlen)
            break;
        if (plain) {
            dst[o++] = (char)c;
        } else if (c == '\\') {
            dst[o++] = '\\';
            dst[o++] = '\\';
        } else {
            dst[o++] = '\\';
            dst[o++] = 'x';
            dst[o++] = hex[c >> 4];
            dst[o++] = hex[c & 0xf];
        }
    }
    dst[o] = '\0';
    return dst;
}
