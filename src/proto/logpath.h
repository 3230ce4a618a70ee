/* logpath: path templates of sluice's log files (audit, events, transcripts). Pure.
 * Tokens are written %NAME% as in seed 000 (`%DIRLOG%/audit/Y%Y%/delivered-%DT%.log`):
 *   %Y% year (4 digits)   %M% month 01-12   %D% day 01-31   %H% hour 00-23
 *   %DT% the rotation stamp: hourly YYYYMMDD-HH, daily and never YYYYMMDD, monthly YYYYMM
 *   %DIRLOG% the log directory, always ending in '/'   %SYSNAME% this host's name
 *   %% a literal '%'
 * Times are UTC. Anything else after '%' makes the template invalid, as do control bytes,
 * an empty template and one over LOGPATH_MAX bytes. An expansion over LOGPATH_MAX bytes
 * fails. Rotation: a record goes to the file its own timestamp expands to; a template
 * without a time token (%Y% %M% %D% %H% %DT%) and a rotation other than never gets
 * ".%DT%" appended by logpath_effective(). */
#ifndef SLUICE_LOGPATH_H
#define SLUICE_LOGPATH_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define LOGPATH_MAX 1024

enum { LOGROT_NEVER = 0, LOGROT_HOURLY = 1, LOGROT_DAILY = 2, LOGROT_MONTHLY = 3 };

struct logpath_vars {
    const char *dirlog;  /* %DIRLOG% (a '/' is added when missing) */
    const char *sysname; /* %SYSNAME% */
};

/* Checks a template of len bytes. Returns 0 (and *timed = has a time token), or -1. */
int logpath_check(const char *tpl, size_t len, bool *timed);
/* "never"/"hourly"/"daily"/"monthly" (any case) -> LOGROT_*; -1 when unknown. */
int logpath_rot_parse(const char *s);
const char *logpath_rot_name(unsigned rot);
/* The rotation stamp (%DT%) of time ms (UTC) into out (at least 16 bytes). */
void logpath_stamp(int64_t ms, unsigned rot, char *out, size_t cap);
/* Expands a checked template for time ms into out (cap bytes, NUL-terminated). Returns the
 * length, or -1 when the template is invalid or the result does not fit. */
ssize_t logpath_expand(const char *tpl, int64_t ms, unsigned rot, const struct logpath_vars *v,
                       char *out, size_t cap);
/* The template actually used: tpl, plus ".%DT%" when rot rotates and tpl has no time token.
 * Returns a malloc'ed string, or NULL when tpl is invalid. */
char *logpath_effective(const char *tpl, unsigned rot);
#endif
