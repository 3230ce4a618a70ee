/* hdr: header field walking and lookup, address-list splitting, RFC 5322 dates (see hdr.h).
 * Pure: no allocation, no I/O, no clock; hdr_date() does its own calendar arithmetic (days
 * to civil date, proleptic Gregorian) rather than gmtime_r(), so it is total over time_t. */
#include "proto/hdr.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define HDR_DATE_LAST 253402300799LL /* 9999-12-31 23:59:59 UTC */
#define HDR_UTCOFF_MAX (99L * 3600 + 59 * 60)

/* Length of the line starting at p (up to and including LF), at most len. */
static size_t hdr_line(const char *p, size_t len)
{
    const char *nl = memchr(p, '\n', len);
    return nl ? (size_t)(nl - p) + 1 : len;
}

/* Parses one field: a name of printable non-colon characters, a colon, continuation lines. */
size_t hdr_next(const char *msg, size_t len, size_t off, struct hdr_field *f)
{
    if (off >= len)
        return 0;
    const char *p = msg + off;
    size_t rest = len - off, n = 0;
    while (n < rest && p[n] != ':' && (unsigned char)p[n] > 32 && (unsigned char)p[n] < 127)
        n++;
    if (n == 0 || n >= rest || p[n] != ':')
        return 0;
    f->name = p;
    f->namelen = n;
    f->raw = p;
    size_t used = hdr_line(p, rest);
    while (used < rest && (p[used] == ' ' || p[used] == '\t'))
        used += hdr_line(p + used, rest - used);
    f->rawlen = used;
    return used;
}

/* Unfolds the value of a field: leading blanks and line ends skipped before copying, so a
 * truncated value keeps as much text as fits. */
size_t hdr_value(const struct hdr_field *f, char *out, size_t cap)
{
    size_t o = 0, i = f->namelen + 1;
    if (cap == 0)
        return 0;
    while (i < f->rawlen &&
           (f->raw[i] == ' ' || f->raw[i] == '\t' || f->raw[i] == '\r' || f->raw[i] == '\n'))
        i++;
    for (; i < f->rawlen && o + 1 < cap; i++) {
        char c = f->raw[i];
        if (c == '\r' || c == '\n')
            continue;
        out[o++] = c == '\t' ? ' ' : c;
    }
    while (o > 0 && out[o - 1] == ' ')
        o--;
    out[o] = '\0';
    return o;
}

/* Finds a field by name within the first HDR_SCAN_MAX bytes. */
ssize_t hdr_find(const char *msg, size_t len, const char *name, char *out, size_t cap)
{
    size_t namelen = strlen(name), off = 0, used;
    struct hdr_field f;
    if (len > HDR_SCAN_MAX)
        len = HDR_SCAN_MAX;
    while ((used = hdr_next(msg, len, off, &f)) > 0) {
        off += used;
        if (f.namelen != namelen || strncasecmp(f.name, name, namelen) != 0)
            continue;
        return out ? (ssize_t)hdr_value(&f, out, cap) : 0;
    }
    return -1;
}

/* Civil date of a day count since 1970-01-01 (>= 0): H. Hinnant's days_from_civil inverse. */
static void hdr_civil(int64_t days, int64_t *y, unsigned *m, unsigned *d)
{
    days += 719468; /* days from 0000-03-01 */
    int64_t era = days / 146097;
    unsigned doe = (unsigned)(days - era * 146097);                       /* 0..146096 */
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* 0..399 */
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               /* 0..365 */
    unsigned mp = (5 * doy + 2) / 153;                                    /* March = 0 */
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* Clamps v to lo..hi. */
static int64_t hdr_clamp(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* RFC 5322 date-time: day-name, DD Mon YYYY HH:MM:SS +hhmm. */
size_t hdr_date(time_t t, long utcoff, char *buf, size_t cap)
{
    static const char *const days[] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    if (cap < HDR_DATE_MAX) {
        if (cap > 0)
            buf[0] = '\0';
        return 0;
    }
    int64_t off = hdr_clamp(utcoff, -HDR_UTCOFF_MAX, HDR_UTCOFF_MAX);
    long mins = (long)(off < 0 ? -off : off) / 60;
    char sign = utcoff < 0 && mins > 0 ? '-' : '+';
    int64_t local = hdr_clamp((int64_t)t, 0, HDR_DATE_LAST) + (sign == '-' ? -mins : mins) * 60;
    local = hdr_clamp(local, 0, HDR_DATE_LAST);
    int64_t day = local / 86400, y;
    unsigned sec = (unsigned)(local % 86400), m, d;
    hdr_civil(day, &y, &m, &d);
    int n = snprintf(buf, cap, "%s, %02u %s %04d %02u:%02u:%02u %c%02ld%02ld", days[day % 7], d,
                     months[m - 1], (int)y, sec / 3600, sec / 60 % 60, sec % 60, sign, mins / 60,
                     mins % 60);
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

/* Emits the addr-spec of one mailbox text (between separators): the part in angle brackets
 * if any, else the text without comments and blanks. */
static int hdr_mailbox(const char *s, size_t len, void (*fn)(void *, const char *), void *arg)
{
    char buf[257];
    size_t o = 0;
    const char *lt = memchr(s, '<', len);
    if (lt) {
        const char *gt = memchr(lt, '>', len - (size_t)(lt - s));
        if (!gt)
            return 0;
        s = lt + 1;
        len = (size_t)(gt - lt - 1);
    }
    int depth = 0;
    bool quoted = false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (quoted) {
            if (c == '"')
                quoted = false;
        } else if (c == '"') {
            quoted = true;
        } else if (c == '(') {
            depth++;
            continue;
        } else if (c == ')' && depth > 0) {
            depth--;
            continue;
        }
        if (depth > 0 || (!quoted && isspace((unsigned char)c)))
            continue;
        if (o + 1 >= sizeof buf)
            return 0;
        buf[o++] = c;
    }
    buf[o] = '\0';
    if (o == 0 || buf[0] == '@' || buf[o - 1] == '@')
        return 0; /* a bare local part ("root") is passed on: the caller qualifies it */
    fn(arg, buf);
    return 1;
}

/* Splits an address list on commas (and group ':' ';') outside quotes, comments, brackets. */
int hdr_addrlist(const char *value, void (*fn)(void *arg, const char *addr), void *arg)
{
    int count = 0, depth = 0;
    bool quoted = false, angle = false;
    const char *start = value;
    for (const char *p = value;; p++) {
        char c = *p;
        if (c == '\0' || (!quoted && depth == 0 && !angle && (c == ',' || c == ';' || c == ':'))) {
            if (c == ':') {
                start = p + 1; /* group display name: drop it */
                continue;
            }
            if (count < HDR_ADDRS_MAX)
                count += hdr_mailbox(start, (size_t)(p - start), fn, arg);
            if (c == '\0')
                break;
            start = p + 1;
        } else if (quoted) {
            if (c == '\\' && p[1])
                p++;
            else if (c == '"')
                quoted = false;
        } else if (c == '"') {
            quoted = true;
        } else if (c == '(') {
            depth++;
        } else if (c == ')' && depth > 0) {
            depth--;
        } else if (c == '<' && depth == 0) {
            angle = true;
        } else if (c == '>' && depth == 0) {
            angle = false;
        }
    }
    return count;
}
