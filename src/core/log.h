/* log: process-wide logging to stderr only (one write(2) per line; the daemon's log goes
 * wherever its stderr goes: a terminal, a file or syslog through the service manager)
 * with Postfix-like severities.
 * log_info/log_warn carry on; log_fatal exits(1) (startup, config); log_panic aborts
 * (broken invariant). log_sanitize() makes peer text safe to log. */
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
/* Copies at most len bytes of src into dst (size dstlen, always NUL-terminated), replacing
 * control and non-ASCII bytes with '?'. Returns dst. */
char *log_sanitize(char *dst, size_t dstlen, const char *src, size_t len);
#endif
