/* hdr: header field walking and address-list splitting (see hdr.h). Pure: no allocation,
 * no I/O. */
#include "proto/hdr.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

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

/* Unfolds the value of a field. */
size_t hdr_value(const struct hdr_field *f, char *out, size_t cap)
{
    size_t o = 0;
    if (cap == 0)
        return 0;
    for (size_t i = f->namelen + 1; i < f->rawlen && o + 1 < cap; i++) {
        char c = f->raw[i];
        if (c == '\r' || c == '\n')
            continue;
        out[o++] = c == '\t' ? ' ' : c;
    }
    while (o > 0 && out[o - 1] == ' ')
        o--;
    size_t start = 0;
    while (start < o && out[start] == ' ')
        start++;
    memmove(out, out + start, o - start);
    o -= start;
    out[o] = '\0';
    return o;
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
    if (o == 0 || !strchr(buf, '@') || buf[0] == '@' || buf[o - 1] == '@')
        return 0;
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
