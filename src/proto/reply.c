/* reply: parser and formatter of SMTP server replies (RFC 5321 §4.2, RFC 3463). Pure: no
 * I/O, no globals, no clock.
 *
 * reply_parse(buf, len, r)   Parses one reply at the start of buf. Returns the bytes consumed
 *                            (through the LF of the last line) and fills *r; 0 when the bytes
 *                            so far are a valid prefix of a reply; -1 when they can never be.
 *                            A line is "NNN" followed by ' ' (last line), '-' (more lines
 *                            follow) or the line end (last line), NNN in 200..599. Lines end
 *                            in CRLF or a bare LF. Every line must carry the first line's code.
 *                            A line over REPLY_LINE_MAX bytes (with its line end) or a reply
 *                            of more than REPLY_LINES_MAX lines is invalid as soon as the
 *                            buffer shows it, so a peer cannot make the caller buffer forever.
 *                            r->enh is the RFC 3463 code "x.y.z" at the start of the first
 *                            line's text when its class x equals the reply's first digit
 *                            (a mismatching code is ignored, as Postfix does). That code and
 *                            the spaces after it are removed from the start of every line's
 *                            text that carries it, so r->text holds only the human text.
 *                            Control bytes in the text become '?'; the text is truncated to
 *                            REPLY_TEXT_MAX - 1 bytes.
 * reply_outcome(r)           2xx OK, 4xx TEMPFAIL, anything else PERMFAIL.
 * reply_to_text(r, buf, n)   "CODE ENH text" on one line, lines joined by ' ', truncated to
 *                            fit n bytes, always NUL-terminated when n > 0.
 * reply_ehlo_caps(r, caps)   The ESMTP keywords of a 2xx EHLO reply (first line skipped, it
 *                            names the server); everything else leaves *caps zeroed.
 */
#include "proto/reply.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

/* Accumulates the joined text of the reply while the lines are walked. */
struct reply_acc {
    struct reply *r;
    size_t tlen; /* bytes used in r->text, excluding the NUL */
};

/* True for an ASCII decimal digit. */
static bool reply_isdigit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* ASCII-only lower-casing, independent of the locale. */
static unsigned char reply_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* Checks the head "NNN[ -]" of a line of n content bytes (line end excluded). When the line
 * is not complete yet only the bytes present are checked. want is the code every line must
 * carry (0 before the first line). Returns the code (or 0 when not known yet), -1 when bad. */
static int reply_check_head(const char *p, size_t n, bool complete, int want)
{
    if (n > 0 && (p[0] < '2' || p[0] > '5'))
        return -1;
    if (n > 1 && !reply_isdigit((unsigned char)p[1]))
        return -1;
    if (n > 2 && !reply_isdigit((unsigned char)p[2]))
        return -1;
    if (n > 3 && p[3] != ' ' && p[3] != '-')
        return -1;
    if (n < 3)
        return complete ? -1 : 0;
    int code = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
    if (want != 0 && code != want)
        return -1;
    return code;
}

/* Reads 1..3 digits at p (n bytes). Returns the digits read, 0 when there are none. */
static size_t reply_digits3(const char *p, size_t n)
{
    size_t i = 0;
    while (i < n && i < 3 && reply_isdigit((unsigned char)p[i]))
        i++;
    if (i < n && reply_isdigit((unsigned char)p[i]))
        return 0; /* a fourth digit: not a valid subject/detail */
    return i;
}

/* Length of an enhanced status code "x.y.z" at the start of t (n bytes), followed by a space
 * or the end of the text; 0 when there is none. cls is the required class digit. */
static size_t reply_enh_len(const char *t, size_t n, char cls)
{
    if (n < 5 || t[0] != cls || (cls != '2' && cls != '4' && cls != '5') || t[1] != '.')
        return 0;
    size_t i = 2;
    size_t d = reply_digits3(t + i, n - i);
    if (d == 0 || i + d >= n || t[i + d] != '.')
        return 0;
    i += d + 1;
    d = reply_digits3(t + i, n - i);
    if (d == 0)
        return 0;
    i += d;
    if (i < n && t[i] != ' ')
        return 0;
    return i;
}

/* Appends one line's text (t, n bytes) to the reply text, stripping the enhanced code when
 * the line starts with it and replacing control bytes. Truncates silently when full. */
static void reply_add_text(struct reply_acc *a, const char *t, size_t n)
{
    struct reply *r = a->r;
    size_t elen = strlen(r->enh);
    if (elen > 0 && n >= elen && memcmp(t, r->enh, elen) == 0 && (n == elen || t[elen] == ' ')) {
        t += elen;
        n -= elen;
        while (n > 0 && *t == ' ') {
            t++;
            n--;
        }
    }
    if (r->nlines > 1 && a->tlen + 1 < REPLY_TEXT_MAX)
        r->text[a->tlen++] = '\n';
    for (size_t i = 0; i < n && a->tlen + 1 < REPLY_TEXT_MAX; i++) {
        unsigned char c = (unsigned char)t[i];
        r->text[a->tlen++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    r->text[a->tlen] = '\0';
}

/* Records one complete, checked line (content p, n bytes, n >= 3) into the reply. */
static void reply_take_line(struct reply_acc *a, const char *p, size_t n, int code)
{
    struct reply *r = a->r;
    const char *t = n > 4 ? p + 4 : p + n;
    size_t tn = n > 4 ? n - 4 : 0;
    if (r->nlines == 0) {
        r->code = code;
        size_t e = reply_enh_len(t, tn, p[0]);
        memcpy(r->enh, t, e);
        r->enh[e] = '\0';
    }
    r->nlines++;
    reply_add_text(a, t, tn);
}

/* Handles the unterminated tail of the buffer: 0 when it may still become a valid line. */
static ssize_t reply_partial(const char *p, size_t avail, int want)
{
    if (avail >= REPLY_LINE_MAX)
        return -1; /* no line end within the limit: the line is already too long */
    size_t n = avail;
    if (n > 0 && p[n - 1] == '\r')
        n--; /* may be the CR of the coming CRLF */
    return reply_check_head(p, n, false, want) < 0 ? -1 : 0;
}

ssize_t reply_parse(const char *buf, size_t len, struct reply *r)
{
    struct reply_acc a = {.r = r, .tlen = 0};
    size_t pos = 0;

    r->code = 0;
    r->enh[0] = '\0';
    r->nlines = 0;
    r->text[0] = '\0';
    for (;;) {
        const char *p = buf + pos;
        size_t avail = len - pos;
        const char *lf = avail > 0 ? memchr(p, '\n', avail < REPLY_LINE_MAX ? avail : REPLY_LINE_MAX) : NULL;
        if (lf == NULL)
            return reply_partial(p, avail, r->code);
        size_t linelen = (size_t)(lf - p) + 1;
        size_t n = linelen - 1;
        if (n > 0 && p[n - 1] == '\r')
            n--;
        int code = reply_check_head(p, n, true, r->code);
        if (code < 0)
            return -1;
        reply_take_line(&a, p, n, code);
        pos += linelen;
        if (n == 3 || p[3] == ' ')
            return (ssize_t)pos;
        if (r->nlines >= REPLY_LINES_MAX)
            return -1;
    }
}

enum outcome reply_outcome(const struct reply *r)
{
    if (r->code >= 200 && r->code <= 299)
        return OUTCOME_OK;
    if (r->code >= 400 && r->code <= 499)
        return OUTCOME_TEMPFAIL;
    return OUTCOME_PERMFAIL;
}

/* Appends n bytes of s to buf (size buflen, *used bytes so far), mapping '\n' to ' ' and
 * stopping when full; keeps buf NUL-terminated. */
static void reply_append(char *buf, size_t buflen, size_t *used, const char *s, size_t n)
{
    for (size_t i = 0; i < n && *used + 1 < buflen; i++)
        buf[(*used)++] = s[i] == '\n' ? ' ' : s[i];
    buf[*used] = '\0';
}

char *reply_to_text(const struct reply *r, char *buf, size_t buflen)
{
    char code[16];
    size_t used = 0;

    if (buflen == 0)
        return buf;
    buf[0] = '\0';
    int cn = snprintf(code, sizeof code, "%03d", r->code);
    reply_append(buf, buflen, &used, code, cn > 0 ? (size_t)cn : 0);
    size_t elen = strnlen(r->enh, sizeof r->enh);
    if (elen > 0) {
        reply_append(buf, buflen, &used, " ", 1);
        reply_append(buf, buflen, &used, r->enh, elen);
    }
    size_t tlen = strnlen(r->text, sizeof r->text);
    if (tlen > 0) {
        reply_append(buf, buflen, &used, " ", 1);
        reply_append(buf, buflen, &used, r->text, tlen);
    }
    return buf;
}

/* True when the keyword at p (n bytes) equals kw, ignoring ASCII case. */
static bool reply_kw_eq(const char *p, size_t n, const char *kw)
{
    if (strlen(kw) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (reply_lower((unsigned char)p[i]) != reply_lower((unsigned char)kw[i]))
            return false;
    return true;
}

/* Parses the SIZE argument (decimal, saturating); 0 when absent or not a number. */
static unsigned long long reply_size_arg(const char *p, size_t n)
{
    size_t i = 0;
    unsigned long long v = 0;
    while (i < n && p[i] == ' ')
        i++;
    for (; i < n && reply_isdigit((unsigned char)p[i]); i++) {
        unsigned d = (unsigned)(p[i] - '0');
        if (v > (ULLONG_MAX - d) / 10)
            return ULLONG_MAX;
        v = v * 10 + d;
    }
    if (i < n && p[i] != ' ')
        return 0; /* "SIZE 12x": not a number */
    return v;
}

/* The EHLO_AUTH_* bits of the mechanism names after "AUTH" (p, n bytes, blank-separated);
 * unknown names are skipped. */
static unsigned reply_auth_mechs(const char *p, size_t n)
{
    static const struct {
        const char *name;
        unsigned bit;
    } mechs[] = {{"PLAIN", EHLO_AUTH_PLAIN}, {"LOGIN", EHLO_AUTH_LOGIN},
                 {"EXTERNAL", EHLO_AUTH_EXTERNAL}};
    unsigned bits = 0;
    size_t i = 0;
    while (i < n) {
        while (i < n && p[i] == ' ')
            i++;
        size_t k = i;
        while (k < n && p[k] != ' ')
            k++;
        for (size_t m = 0; m < sizeof mechs / sizeof mechs[0]; m++)
            if (reply_kw_eq(p + i, k - i, mechs[m].name))
                bits |= mechs[m].bit;
        i = k;
    }
    return bits;
}

/* Applies one capability line (p, n bytes) to *caps. */
static void reply_ehlo_line(const char *p, size_t n, struct ehlo_caps *caps)
{
    size_t k = 0;
    while (k < n && p[k] != ' ' && p[k] != '=')
        k++;
    if (reply_kw_eq(p, k, "PIPELINING"))
        caps->pipelining = true;
    else if (reply_kw_eq(p, k, "SIZE")) {
        caps->size = true;
        caps->size_max = reply_size_arg(p + k, n - k);
    } else if (reply_kw_eq(p, k, "8BITMIME"))
        caps->eightbitmime = true;
    else if (reply_kw_eq(p, k, "ENHANCEDSTATUSCODES"))
        caps->enhancedstatuscodes = true;
    else if (reply_kw_eq(p, k, "STARTTLS"))
        caps->starttls = true;
    else if (reply_kw_eq(p, k, "SMTPUTF8"))
        caps->smtputf8 = true;
    else if (reply_kw_eq(p, k, "DSN"))
        caps->dsn = true;
    else if (reply_kw_eq(p, k, "CHUNKING"))
        caps->chunking = true;
    else if (reply_kw_eq(p, k, "DELIVERBY")) {
        caps->deliverby = true;
        caps->deliverby_min = reply_size_arg(p + k, n - k);
    }
    else if (reply_kw_eq(p, k, "AUTH") && k < n)
        caps->auth |= reply_auth_mechs(p + k + 1, n - k - 1);
}

void reply_ehlo_caps(const struct reply *r, struct ehlo_caps *caps)
{
    memset(caps, 0, sizeof *caps);
    if (r->code < 200 || r->code > 299)
        return;
    const char *t = r->text;
    const char *end = t + strnlen(r->text, sizeof r->text);
    const char *nl = memchr(t, '\n', (size_t)(end - t));
    if (nl == NULL)
        return; /* only the greeting line */
    for (t = nl + 1; t < end; t = nl + 1) {
        nl = memchr(t, '\n', (size_t)(end - t));
        if (nl == NULL)
            nl = end;
        reply_ehlo_line(t, (size_t)(nl - t), caps);
    }
}
