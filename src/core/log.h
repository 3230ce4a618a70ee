/* log: process-wide logging in syslog's line shape to stderr (default), a file, or the
 * local syslog socket (facility mail), with Postfix-like severities and service names.
 * log_info/log_warn carry on; log_fatal exits(1) (startup, config); log_panic aborts
 * (broken invariant). log_sanitize() is the one way peer text (addresses, replies, host
 * names, HELO, protocol lines) gets into a log line, audit record or transcript. */
#ifndef SLUICE_LOG_H
#define SLUICE_LOG_H
#include <stddef.h>

enum log_target { LOG_TARGET_STDERR, LOG_TARGET_FILE, LOG_TARGET_SYSLOG };
#define LOG_SYSLOG_SOCKET "/dev/log"

/* Names the program in every line ("sluice"); remembers the pid and the short host name. */
void log_init(const char *progname);
/* Switches every later line to target t: path is the file (appended to, created 0640) or
 * the syslog socket (NULL or "": /dev/log); stderr takes none. The new target is opened
 * first: 0, or -1 with the reason in err and the current target kept. Thread-safe. */
int log_open(enum log_target t, const char *path, char *err, size_t errlen);
const char *log_target_to_text(enum log_target t);
void log_set_verbose(int verbose);
int log_verbose(void);
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A mail line in Postfix's shape, shown as program "PROG/svc" (svc: "smtpd", "cleanup",
 * "qmgr", "smtp", "pickup"), so pflogsumm --syslog-name=sluice reads it. */
void log_mail(const char *svc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
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
