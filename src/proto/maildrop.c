/* maildrop: parser and formatter of the drop file (format and contracts in maildrop.h).
 * The parser walks the head line by line with a hard bound per line and per head, checks
 * every field, then checks the content's line ends; it never reads past len. */
#include "proto/maildrop.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

/* A field without blanks or control bytes (envid, orcpt); empty allowed. */
static bool maildrop_word_ok(const char *s, size_t n, size_t max)
{
    if (n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
            return false;
    return true;
}

/* A decimal number up to max in n bytes. */
static bool maildrop_num(const char *s, size_t n, uint32_t max, uint32_t *out)
{
    uint64_t v = 0;
    if (n == 0 || n > 10)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > max)
        return false;
    *out = (uint32_t)v;
    return true;
}

/* An SMTP path of n bytes into out ("" for the null path when null_ok). */
static bool maildrop_addr(const char *s, size_t n, bool null_ok, char *out)
{
    char tmp[ADDR_MAX + 3];
    struct addr_opts o = {.null_ok = null_ok, .sloppy = false, .utf8 = true};
    if (n > ADDR_MAX || memchr(s, '<', n) || memchr(s, '>', n))
        return false;
    snprintf(tmp, sizeof tmp, "<%.*s>", (int)n, s);
    return addr_parse_path(tmp, n + 2, &o, out) == (ssize_t)(n + 2) && (null_ok || *out);
}

/* "R <notify> <addr>[ <orcpt>]" after the "R ". */
static bool maildrop_rcpt(const char *s, size_t n, struct maildrop_rcpt *r)
{
    const char *sp = memchr(s, ' ', n);
    uint32_t notify;
    if (!sp || !maildrop_num(s, (size_t)(sp - s), 0xff, &notify))
        return false;
    r->notify = (uint8_t)notify;
    const char *a = sp + 1, *end = s + n;
    const char *sp2 = memchr(a, ' ', (size_t)(end - a));
    size_t alen = (size_t)((sp2 ? sp2 : end) - a);
    if (!maildrop_addr(a, alen, false, r->addr))
        return false;
    r->orcpt[0] = '\0';
    if (!sp2)
        return true;
    size_t olen = (size_t)(end - sp2 - 1);
    if (olen == 0 || !maildrop_word_ok(sp2 + 1, olen, ADDR_MAX))
        return false;
    memcpy(r->orcpt, sp2 + 1, olen);
    r->orcpt[olen] = '\0';
    return true;
}

/* One head line (without its LF) into d; which field is expected comes from its index. */
static const char *maildrop_line(const char *s, size_t n, size_t index, struct maildrop *d,
                                 size_t *cap)
{
    static const char keys[] = "SFE";
    char want = index < 3 ? keys[index] : 'R';
    if (n < 2 || s[0] != want || s[1] != ' ')
        return "head fields out of order or malformed";
    s += 2, n -= 2;
    switch (want) {
    case 'S': return maildrop_addr(s, n, true, d->sender) ? NULL : "bad sender";
    case 'F': return maildrop_num(s, n, UINT32_MAX, &d->flags) ? NULL : "bad flags";
    case 'E':
        if (!maildrop_word_ok(s, n, ESMTP_ENVID_MAX))
            return "bad envid";
        memcpy(d->envid, s, n);
        d->envid[n] = '\0';
        return NULL;
    default:
        if (d->nrcpt >= MAILDROP_RCPT_MAX)
            return "too many recipients";
        xgrow(&d->rcpts, cap, d->nrcpt, sizeof *d->rcpts);
        if (!maildrop_rcpt(s, n, &d->rcpts[d->nrcpt]))
            return "bad recipient";
        d->nrcpt++;
        return NULL;
    }
}

/* The content: CRLF line ends only, no NUL, ends in CRLF unless empty. */
static const char *maildrop_content(const char *s, size_t n, uint64_t max)
{
    if (n > max)
        return "content too large";
    if (memchr(s, '\0', n))
        return "content contains NUL";
    for (const char *p = s; (p = memchr(p, '\n', n - (size_t)(p - s))); p++)
        if (p == s || p[-1] != '\r')
            return "bare LF in content";
    if (n > 0 && (n < 2 || s[n - 2] != '\r' || s[n - 1] != '\n'))
        return "content does not end in CRLF";
    for (const char *p = s; (p = memchr(p, '\r', n - (size_t)(p - s))); p++)
        if ((size_t)(p - s) + 1 >= n || p[1] != '\n')
            return "bare CR in content";
    return NULL;
}

/* Parses a whole drop file. */
int maildrop_parse(const char *buf, size_t len, uint64_t max_body, struct maildrop *d,
                   const char **why)
{
    size_t off = strlen(MAILDROP_MAGIC), cap = 0, index = 0;
    memset(d, 0, sizeof *d);
    *why = NULL;
    if (len < off || memcmp(buf, MAILDROP_MAGIC, off) != 0)
        *why = "not a drop file (bad magic line)";
    while (!*why) {
        size_t room = len - off < MAILDROP_LINE_MAX + 1 ? len - off : MAILDROP_LINE_MAX + 1;
        const char *lf = memchr(buf + off, '\n', room);
        if (!lf || off > MAILDROP_HEAD_MAX) {
            *why = lf ? "head too large" : "head line too long or unterminated";
            break;
        }
        size_t n = (size_t)(lf - (buf + off));
        off += n + 1;
        if (n == 0) {
            if (index < 4)
                *why = "head incomplete (S, F, E and one R line needed)";
            break;
        }
        *why = maildrop_line(buf + off - n - 1, n, index++, d, &cap);
    }
    if (!*why)
        *why = maildrop_content(buf + off, len - off, max_body);
    if (*why) {
        maildrop_clear(d);
        return -1;
    }
    d->body_off = off;
    d->body_len = len - off;
    return 0;
}

/* Frees the recipients. */
void maildrop_clear(struct maildrop *d)
{
    free(d->rcpts);
    d->rcpts = NULL;
    d->nrcpt = 0;
}

/* Formats a head; orcpt values with blanks are left out (the format has no quoting). */
char *maildrop_head(const char *sender, uint32_t flags, const char *envid,
                    const struct maildrop_rcpt *rcpts, size_t nrcpt, size_t *len)
{
    size_t cap = 128 + strlen(sender) + strlen(envid) + nrcpt * (MAILDROP_LINE_MAX + 1);
    char *out = xmalloc(cap);
    size_t o = (size_t)snprintf(out, cap, "%sS %s\nF %u\nE %s\n", MAILDROP_MAGIC, sender,
                                (unsigned)flags, envid);
    for (size_t i = 0; i < nrcpt; i++) {
        const char *oc = rcpts[i].orcpt;
        bool with = *oc && maildrop_word_ok(oc, strlen(oc), ADDR_MAX);
        o += (size_t)snprintf(out + o, cap - o, "R %u %s%s%s\n", (unsigned)rcpts[i].notify,
                              rcpts[i].addr, with ? " " : "", with ? oc : "");
    }
    o += (size_t)snprintf(out + o, cap - o, "\n");
    *len = o;
    return out;
}
