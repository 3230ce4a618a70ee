/* aliases: parser of the /etc/aliases format and of :include: lists. See aliases.h. */
#include "proto/aliases.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Length of the physical line at buf[pos..len) without its newline. */
static size_t aliases_linelen(const char *buf, size_t len, size_t pos)
{
    const char *nl = memchr(buf + pos, '\n', len - pos);
    return nl ? (size_t)(nl - buf - pos) : len - pos;
}

/* True for a line that is blank or a comment. */
static int aliases_skippable(const char *l, size_t n)
{
    size_t i = 0;
    while (i < n && (l[i] == ' ' || l[i] == '\t' || l[i] == '\r'))
        i++;
    return i == n || l[i] == '#';
}

/* Checks the name of an entry. */
static int aliases_name_ok(const char *s, size_t n)
{
    if (n == 0 || n > ALIASES_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= ' ' || c == 0x7f || c == ':' || c == '#' || c == ',' || c == '"')
            return 0;
    }
    return 1;
}

/* Reads one entry; see aliases.h. */
int aliases_next(const char *buf, size_t len, size_t *pos, unsigned *line, struct alias_entry *e,
                 char *err, size_t errlen)
{
    size_t p = *pos, n;
    while (p < len) { /* skip blank and comment lines */
        n = aliases_linelen(buf, len, p);
        if (!aliases_skippable(buf + p, n))
            break;
        p += n + 1;
        ++*line;
    }
    if (p >= len)
        return *pos = len, 0;
    n = aliases_linelen(buf, len, p);
    ++*line;
    e->line = *line;
    if (buf[p] == ' ' || buf[p] == '\t')
        return snprintf(err, errlen, "%u: continuation line without an entry", *line), -1;
    const char *colon = memchr(buf + p, ':', n);
    if (!colon)
        return snprintf(err, errlen, "%u: no ':' after the name", *line), -1;
    e->name = buf + p;
    e->namelen = (size_t)(colon - (buf + p));
    while (e->namelen > 0 && (e->name[e->namelen - 1] == ' ' || e->name[e->namelen - 1] == '\t'))
        e->namelen--;
    if (!aliases_name_ok(e->name, e->namelen))
        return snprintf(err, errlen, "%u: bad alias name", *line), -1;
    e->value = colon + 1;
    size_t end = p + n; /* extend over continuation lines and comments between them */
    while (end + 1 < len && (buf[end + 1] == ' ' || buf[end + 1] == '\t' || buf[end + 1] == '#')) {
        size_t m = aliases_linelen(buf, len, end + 1);
        if (buf[end + 1] == '#' &&
            (end + 2 + m >= len || (buf[end + 2 + m] != ' ' && buf[end + 2 + m] != '\t')))
            break; /* a comment not followed by a continuation ends the entry */
        end += m + 1;
        ++*line;
    }
    e->valuelen = (size_t)(buf + end - e->value);
    if (end - p > ALIASES_ENTRY_MAX)
        return snprintf(err, errlen, "%u: entry longer than %d bytes", e->line,
                        ALIASES_ENTRY_MAX), -1;
    *pos = end < len ? end + 1 : len;
    return 1;
}

/* The kind of target t. */
enum alias_kind aliases_kind(const char *t, size_t len)
{
    if (len > 0 && t[0] == '|')
        return ALIAS_COMMAND;
    if (len > 0 && t[0] == '/')
        return ALIAS_FILE;
    if (len >= 9 && strncasecmp(t, ":include:", 9) == 0)
        return ALIAS_INCLUDE;
    return ALIAS_ADDRESS;
}

/* Copies one target starting at v[*i] into tmp (quotes removed); returns its length or -1. */
static long aliases_token(const char *v, size_t len, size_t *i, char *tmp, char *err,
                          size_t errlen)
{
    size_t o = 0, k = *i;
    int q = 0;
    for (; k < len; k++) {
        unsigned char c = (unsigned char)v[k];
        if (!q && c == ',')
            break;
        if (!q && c == '#' && (k == 0 || v[k - 1] == '\n')) { /* a comment line inside */
            while (k < len && v[k] != '\n')
                k++;
            continue;
        }
        if (c == '"') {
            q = !q;
            continue;
        }
        if (c == '\\' && q && k + 1 < len && v[k + 1] != '\n')
            c = (unsigned char)v[++k];
        else if (c == '\n' || c == '\r' || c == '\t')
            c = ' ';
        if (c < ' ' || c == 0x7f) /* also after a backslash */
            return snprintf(err, errlen, "control byte in a target"), -1;
        if (!q && c == ' ' && (o == 0 || tmp[o - 1] == ' '))
            continue; /* blanks outside quotes fold */
        if (o >= ALIASES_TARGET_MAX)
            return snprintf(err, errlen, "target longer than %d bytes", ALIASES_TARGET_MAX), -1;
        tmp[o++] = (char)c;
    }
    if (q)
        return snprintf(err, errlen, "unterminated quote"), -1;
    while (o > 0 && tmp[o - 1] == ' ')
        o--;
    tmp[o] = '\0';
    *i = k;
    return (long)o;
}

/* Calls fn for every target of value; see aliases.h. */
int aliases_split(const char *value, size_t len, char *tmp, aliases_target_fn fn, void *arg,
                  char *err, size_t errlen)
{
    size_t i = 0;
    int any = 0;
    while (i <= len) {
        long n = aliases_token(value, len, &i, tmp, err, errlen);
        if (n < 0)
            return -1;
        if (n == 0 && (i < len || any))
            return snprintf(err, errlen, "empty target"), -1;
        if (n > 0) {
            any = 1;
            if (fn(arg, aliases_kind(tmp, (size_t)n), tmp, (size_t)n) < 0)
                return snprintf(err, errlen, "bad target \"%.64s\"", tmp), -1;
        }
        i++; /* past the comma (or the end) */
    }
    if (!any)
        return snprintf(err, errlen, "no targets"), -1;
    return 0;
}
