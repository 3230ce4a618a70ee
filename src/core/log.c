/* log: timestamped lines on stderr, one write(2) per line so concurrent writers never tear
 * a line. Severities per STYLE.md: warn carries on, fatal exits 1, panic aborts.
 * log_sanitize() escapes peer text (contract in log.h); every module that puts text it did
 * not write itself into a log line, an audit record or a transcript goes through it, so the
 * same bytes always look the same, whichever field they are in. */
#include "core/log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char *log_prog = "sluice";
static int log_verbosity;
static pid_t log_pid;

/* Remembers the program name shown in every line (and the pid: one getpid per process). */
void log_init(const char *progname)
{
    log_prog = progname;
    log_pid = getpid();
}

/* Turns debug lines on or off. */
void log_set_verbose(int verbose) { log_verbosity = verbose; }

/* Reports whether debug lines are on. */
int log_verbose(void) { return log_verbosity; }

/* Formats one line "Mon DD HH:MM:SS.mmm prog[pid]: level: text" and writes it at once. */
static void log_emit(const char *level, const char *fmt, va_list ap)
{
    char line[4096];
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    localtime_r(&tv.tv_sec, &tm);
    size_t n = strftime(line, sizeof line, "%b %d %H:%M:%S", &tm);
    n += (size_t)snprintf(line + n, sizeof line - n, ".%03d %s[%d]: %s%s", (int)(tv.tv_usec / 1000),
                          log_prog, (int)(log_pid ? log_pid : getpid()), level, *level ? ": " : "");
    if (n < sizeof line) {
        int k = vsnprintf(line + n, sizeof line - n, fmt, ap);
        if (k > 0)
            n += (size_t)k;
    }
    if (n > sizeof line - 2)
        n = sizeof line - 2;
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, n);
    (void)w;
}

/* Debug line, only when verbose. */
void log_debug(const char *fmt, ...)
{
    if (!log_verbosity)
        return;
    va_list ap;
    va_start(ap, fmt);
    log_emit("debug", fmt, ap);
    va_end(ap);
}

/* Informational line (delivery records use this). */
void log_info(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_emit("", fmt, ap);
    va_end(ap);
}

/* Something went wrong but we carry on. */
void log_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_emit("warning", fmt, ap);
    va_end(ap);
}

/* Cannot continue (startup, configuration): exit 1. */
void log_fatal(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_emit("fatal", fmt, ap);
    va_end(ap);
    exit(1);
}

/* Broken invariant: abort for a core dump. */
void log_panic(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_emit("panic", fmt, ap);
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
