/* logpath: %NAME% path templates of log files (see logpath.h). Pure: no I/O, no clock, no
 * globals; times come in as arguments and are broken down in UTC. */
#include "proto/logpath.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/xalloc.h"

#define LOGPATH_TOKEN_MAX 8

/* The token names, in the order of enum logpath_tok. */
enum logpath_tok { TOK_PCT, TOK_Y, TOK_M, TOK_D, TOK_H, TOK_DT, TOK_DIRLOG, TOK_SYSNAME, TOK_BAD };
static const char *const logpath_names[] = {"", "Y", "M", "D", "H", "DT", "DIRLOG", "SYSNAME"};

/* Reads the token at tpl[i] == '%'; sets *tok and returns its total length, or 0. */
static size_t logpath_token(const char *tpl, size_t len, size_t i, enum logpath_tok *tok)
{
    size_t j = i + 1;
    while (j < len && j - i - 1 <= LOGPATH_TOKEN_MAX && tpl[j] != '%')
        j++;
    if (j >= len || tpl[j] != '%')
        return 0;
    size_t n = j - i - 1;
    for (int k = TOK_PCT; k < TOK_BAD; k++) {
        if (strlen(logpath_names[k]) == n && memcmp(tpl + i + 1, logpath_names[k], n) == 0) {
            *tok = (enum logpath_tok)k;
            return n + 2;
        }
    }
    return 0;
}

/* Checks a template; reports whether it names a time. */
int logpath_check(const char *tpl, size_t len, bool *timed)
{
    bool t = false;
    if (len == 0 || len > LOGPATH_MAX)
        return -1;
    for (size_t i = 0; i < len;) {
        unsigned char ch = (unsigned char)tpl[i];
        if (ch < 0x20 || ch == 0x7f)
            return -1;
        if (ch != '%') {
            i++;
            continue;
        }
        enum logpath_tok tok;
        size_t n = logpath_token(tpl, len, i, &tok);
        if (n == 0)
            return -1;
        t = t || (tok >= TOK_Y && tok <= TOK_DT);
        i += n;
    }
    if (timed)
        *timed = t;
    return 0;
}

/* Parses a rotation name. */
int logpath_rot_parse(const char *s)
{
    static const char *const names[] = {"never", "hourly", "daily", "monthly"};
    for (int i = 0; i < 4; i++)
        if (strcasecmp(s, names[i]) == 0)
            return i;
    return -1;
}

/* The name of a rotation. */
const char *logpath_rot_name(unsigned rot)
{
    static const char *const names[] = {"never", "hourly", "daily", "monthly"};
    return rot < 4 ? names[rot] : "?";
}

/* Breaks ms down in UTC (negative times clamp to the epoch). */
static void logpath_tm(int64_t ms, struct tm *tm)
{
    time_t t = (time_t)(ms < 0 ? 0 : ms / 1000);
    if (!gmtime_r(&t, tm))
        memset(tm, 0, sizeof *tm);
}

/* The %DT% stamp. */
void logpath_stamp(int64_t ms, unsigned rot, char *out, size_t cap)
{
    struct tm tm;
    logpath_tm(ms, &tm);
    int y = tm.tm_year + 1900, mo = tm.tm_mon + 1;
    if (rot == LOGROT_HOURLY)
        snprintf(out, cap, "%04d%02d%02d-%02d", y, mo, tm.tm_mday, tm.tm_hour);
    else if (rot == LOGROT_MONTHLY)
        snprintf(out, cap, "%04d%02d", y, mo);
    else
        snprintf(out, cap, "%04d%02d%02d", y, mo, tm.tm_mday);
}

/* The text of one token for time tm. */
static void logpath_value(enum logpath_tok tok, int64_t ms, const struct tm *tm, unsigned rot,
                          const struct logpath_vars *v, char *buf, size_t cap)
{
    switch (tok) {
    case TOK_PCT: snprintf(buf, cap, "%%"); break;
    case TOK_Y: snprintf(buf, cap, "%04d", tm->tm_year + 1900); break;
    case TOK_M: snprintf(buf, cap, "%02d", tm->tm_mon + 1); break;
    case TOK_D: snprintf(buf, cap, "%02d", tm->tm_mday); break;
    case TOK_H: snprintf(buf, cap, "%02d", tm->tm_hour); break;
    case TOK_DT: logpath_stamp(ms, rot, buf, cap); break;
    case TOK_DIRLOG: {
        const char *d = v && v->dirlog ? v->dirlog : "";
        size_t n = strlen(d);
        snprintf(buf, cap, "%s%s", d, n == 0 || d[n - 1] != '/' ? "/" : "");
        break;
    }
    case TOK_SYSNAME: snprintf(buf, cap, "%s", v && v->sysname ? v->sysname : "localhost"); break;
    case TOK_BAD: buf[0] = '\0'; break;
    }
}

/* Expands tpl for time ms. */
ssize_t logpath_expand(const char *tpl, int64_t ms, unsigned rot, const struct logpath_vars *v,
                       char *out, size_t cap)
{
    size_t len = strlen(tpl), o = 0;
    struct tm tm;
    char val[LOGPATH_MAX + 2];
    if (cap == 0 || logpath_check(tpl, len, NULL) < 0)
        return -1;
    logpath_tm(ms, &tm);
    for (size_t i = 0; i < len;) {
        size_t n = 1;
        if (tpl[i] == '%') {
            enum logpath_tok tok = TOK_BAD;
            n = logpath_token(tpl, len, i, &tok);
            logpath_value(tok, ms, &tm, rot, v, val, sizeof val);
        } else {
            val[0] = tpl[i];
            val[1] = '\0';
        }
        size_t vl = strlen(val);
        if (o + vl >= cap || o + vl > LOGPATH_MAX)
            return -1;
        memcpy(out + o, val, vl);
        o += vl;
        i += n;
    }
    out[o] = '\0';
    return (ssize_t)o;
}

/* tpl with ".%DT%" appended when it rotates without naming a time. */
char *logpath_effective(const char *tpl, unsigned rot)
{
    bool timed = false;
    size_t len = strlen(tpl);
    if (logpath_check(tpl, len, &timed) < 0)
        return NULL;
    if (timed || rot == LOGROT_NEVER)
        return xstrdup(tpl);
    char *s = xmalloc(len + 6);
    memcpy(s, tpl, len);
    memcpy(s + len, ".%DT%", 6);
    return s;
}
