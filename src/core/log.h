/* log: process-wide logging to stderr only (one write(2) per line; the daemon's log goes
 * wherever its stderr goes: a terminal, a file or syslog through the service manager)
 * with Postfix-like severities.
 * log_info/log_warn carry on; log_fatal exits(1) (startup, config); log_panic aborts
 * (broken invariant). log_sanitize() is the one way peer text (addresses, replies, host
 * names, HELO, protocol lines) gets into a log line, audit record or transcript. */
#ifndef SLUICE_LOG_H
#define SLUICE_LOG_H
#include <stddef.h>

void log_init(const char *progname);
void log_set_verbose(int verbose);
int log_verbose(void);
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void log_panic(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* Room for any n sanitized bytes and the NUL: every byte becomes at most 4 ("\xHH"). */
#define LOG_SANITIZED_SIZE(n) (4 * (size_t)(n) + 1)
/* Copies the len bytes at src (any bytes, NUL included) into dst for a log line: printable
 * ASCII (0x20..0x7e) stays, except '\' which becomes "\\"; every other byte (control,
 * DEL, non-ASCII, UTF-8 too) becomes "\xHH" (lower-case hex). So the result is one line of
 * printable ASCII from which the original bytes can be read back. dst (dstlen bytes) is
 * always NUL-terminated when dstlen > 0; what does not fit is left out, never half an
 * escape (LOG_SANITIZED_SIZE(len) always fits). Pure. Returns dst. */
char *log_sanitize(char *dst, size_t dstlen, const char *src, size_t len);
#endif
