/* cmd: parser of one SMTP command line as received by the server (RFC 5321 §4.1, RFC 1869
 * parameters, RFC 3030 BDAT, RFC 3207 STARTTLS). Pure.
 *
 * cmd_parse(line, len, o, c)
 *   The line comes without its CRLF. Checks, in order: longer than CMD_LINE_MAX - 2 bytes
 *   -> CMD_ERR_TOOLONG; a NUL byte -> CMD_ERR_SYNTAX; the verb (ASCII letters, any case,
 *   followed by a space or the end) unknown -> CMD_ERR_SYNTAX with c->verb CMD_UNKNOWN.
 *   Then the arguments, by verb (errors are CMD_ERR_ARGS, c->verb stays set):
 *     HELO EHLO VRFY EXPN AUTH ETRN   an argument is required
 *     NOOP HELP                       an argument is optional
 *     DATA RSET QUIT STARTTLS         no argument
 *     BDAT                            chunk-size (1..20 digits) [SP "LAST"]
 *     MAIL / RCPT                     "FROM:" / "TO:" (any case), the path, then parameters
 *   c->arg is the argument with surrounding spaces removed ("" when none; always "" for MAIL
 *   and RCPT). Arguments holding control bytes (other than HTAB) are refused, so nothing
 *   built from them (Received: headers, logs) can carry a CR or an escape sequence.
 *   MAIL and RCPT: the path is parsed by addr_parse_path() with o->sloppy and o->utf8, and
 *   null_ok true for MAIL and false for RCPT (o->null_ok is not used). Strictly (RFC 5321)
 *   the path follows the colon directly and the parameters are separated by exactly one
 *   space with none trailing; o->sloppy allows spaces after "MAIL"/"RCPT", after the colon,
 *   between parameters and at the end. "RCPT TO:<Postmaster>" (any case, no domain, RFC 5321
 *   §4.5.1) yields c->addr "postmaster". Parameters: esmtp-keyword ["=" esmtp-value], the
 *   value 1* of %d33-60 / %d62-126 (and octets >= 0x80 with o->utf8); at most CMD_PARAMS_MAX.
 *   c->params[].name/value point into c->buf, so a struct cmd must not be copied by value
 *   while they are in use.
 * cmd_parse_params(s, len, o, c)
 *   The parameter list alone (a milter's ESMTP arguments), split by the same code as the
 *   parameters after a MAIL/RCPT path; the list is taken as if one space preceded it.
 */
#include "proto/cmd.h"

#include <string.h>

/* How a verb takes its argument. */
enum cmd_argrule { CMD_ARG_NONE, CMD_ARG_OPTIONAL, CMD_ARG_REQUIRED, CMD_ARG_BDAT, CMD_ARG_PATH };

#define CMD_BDAT_DIGITS_MAX 20

static const struct {
    const char *name;
    enum cmd_verb verb;
    enum cmd_argrule rule;
} cmd_verbs[] = {
    {"HELO", CMD_HELO, CMD_ARG_REQUIRED},  {"EHLO", CMD_EHLO, CMD_ARG_REQUIRED},
    {"MAIL", CMD_MAIL, CMD_ARG_PATH},      {"RCPT", CMD_RCPT, CMD_ARG_PATH},
    {"DATA", CMD_DATA, CMD_ARG_NONE},      {"RSET", CMD_RSET, CMD_ARG_NONE},
    {"NOOP", CMD_NOOP, CMD_ARG_OPTIONAL},  {"QUIT", CMD_QUIT, CMD_ARG_NONE},
    {"VRFY", CMD_VRFY, CMD_ARG_REQUIRED},  {"EXPN", CMD_EXPN, CMD_ARG_REQUIRED},
    {"HELP", CMD_HELP, CMD_ARG_OPTIONAL},  {"BDAT", CMD_BDAT, CMD_ARG_BDAT},
    {"STARTTLS", CMD_STARTTLS, CMD_ARG_NONE}, {"AUTH", CMD_AUTH, CMD_ARG_REQUIRED},
    {"ETRN", CMD_ETRN, CMD_ARG_REQUIRED},
};

/* ASCII-only upper-casing, independent of the locale. */
static char cmd_upper(char c)
{
    return (c >= 'a' && c <= 'z') ? (char)(c - ('a' - 'A')) : c;
}

/* True for an ASCII letter. */
static bool cmd_isalpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* True for an ASCII letter or digit. */
static bool cmd_isalnum(unsigned char c)
{
    return cmd_isalpha(c) || (c >= '0' && c <= '9');
}

/* True when the n bytes at p equal the upper-case word w, ignoring ASCII case. */
static bool cmd_word_eq(const char *p, size_t n, const char *w)
{
    if (strlen(w) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (cmd_upper(p[i]) != w[i])
            return false;
    return true;
}

/* Finds the verb table index for the n bytes at p; -1 when unknown. */
static int cmd_lookup(const char *p, size_t n)
{
    for (size_t i = 0; i < sizeof cmd_verbs / sizeof cmd_verbs[0]; i++)
        if (cmd_word_eq(p, n, cmd_verbs[i].name))
            return (int)i;
    return -1;
}

/* Trims the spaces around the argument text at p (n bytes, inside c->buf), NUL-terminates it
 * and stores it in c->arg. Returns its length, or -1 when it holds a control byte. */
static ssize_t cmd_take_arg(struct cmd *c, char *p, size_t n)
{
    while (n > 0 && *p == ' ') {
        p++;
        n--;
    }
    while (n > 0 && p[n - 1] == ' ')
        n--;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
            return -1;
    }
    p[n] = '\0';
    c->arg = p;
    return (ssize_t)n;
}

/* Checks a BDAT argument: chunk-size [SP "LAST"]. */
static bool cmd_bdat_ok(const char *a, size_t n)
{
    size_t d = 0;
    while (d < n && a[d] >= '0' && a[d] <= '9')
        d++;
    if (d == 0 || d > CMD_BDAT_DIGITS_MAX)
        return false;
    if (d == n)
        return true;
    return n - d == 5 && a[d] == ' ' && cmd_word_eq(a + d + 1, 4, "LAST");
}

/* Handles every verb but MAIL/RCPT: checks the argument against the verb's rule. */
static int cmd_plain_args(struct cmd *c, enum cmd_argrule rule, char *p, size_t n)
{
    ssize_t an = cmd_take_arg(c, p, n);
    if (an < 0)
        return CMD_ERR_ARGS;
    switch (rule) {
    case CMD_ARG_NONE:
        return an == 0 ? CMD_OK : CMD_ERR_ARGS;
    case CMD_ARG_REQUIRED:
        return an > 0 ? CMD_OK : CMD_ERR_ARGS;
    case CMD_ARG_BDAT:
        return cmd_bdat_ok(c->arg, (size_t)an) ? CMD_OK : CMD_ERR_ARGS;
    case CMD_ARG_OPTIONAL:
    case CMD_ARG_PATH:
        break;
    }
    return CMD_OK;
}

/* Scans one esmtp-param at p (NUL-terminated at end) into c->params. Returns the bytes it
 * spans, or -1 when malformed or one too many. The '=' is replaced by a NUL. */
static ssize_t cmd_scan_param(struct cmd *c, char *p, const char *end, bool utf8)
{
    char *q = p;
    if (q >= end || !cmd_isalnum((unsigned char)*q))
        return -1;
    while (q < end && (cmd_isalnum((unsigned char)*q) || *q == '-'))
        q++;
    const char *value = NULL;
    if (q < end && *q == '=') {
        *q++ = '\0';
        value = q;
        while (q < end) {
            unsigned char ch = (unsigned char)*q;
            if (!((ch >= 33 && ch <= 126 && ch != '=') || (utf8 && ch >= 0x80)))
                break;
            q++;
        }
        if (q == value)
            return -1;
    }
    if ((q < end && *q != ' ') || c->nparams >= CMD_PARAMS_MAX)
        return -1;
    c->params[c->nparams].name = p;
    c->params[c->nparams].value = value;
    c->nparams++;
    return q - p;
}

/* Splits the parameters after a path: p..end inside c->buf. Separating spaces become NULs. */
static int cmd_params(struct cmd *c, char *p, char *end, const struct addr_opts *o)
{
    for (;;) {
        size_t nsp = 0;
        while (p + nsp < end && p[nsp] == ' ')
            p[nsp++] = '\0';
        p += nsp;
        if (p == end)
            return (nsp == 0 || o->sloppy) ? CMD_OK : CMD_ERR_ARGS;
        if (nsp == 0 || (nsp > 1 && !o->sloppy))
            return CMD_ERR_ARGS;
        ssize_t k = cmd_scan_param(c, p, end, o->utf8);
        if (k < 0)
            return CMD_ERR_ARGS;
        p += k;
    }
}

/* Matches "<postmaster>" (any case, spaces inside with sloppy) at p; returns its length. */
static size_t cmd_postmaster(const char *p, size_t n, bool sloppy)
{
    size_t i = 0;
    if (n == 0 || p[0] != '<')
        return 0;
    for (i = 1; sloppy && i < n && p[i] == ' '; i++)
        ;
    if (n - i < 10 || !cmd_word_eq(p + i, 10, "POSTMASTER"))
        return 0;
    for (i += 10; sloppy && i < n && p[i] == ' '; i++)
        ;
    return (i < n && p[i] == '>') ? i + 1 : 0;
}

/* Handles MAIL FROM:<path> [params] and RCPT TO:<path> [params] at p (n bytes). */
static int cmd_path_args(struct cmd *c, char *p, size_t n, const struct addr_opts *o)
{
    const char *kw = c->verb == CMD_MAIL ? "FROM:" : "TO:";
    size_t kn = strlen(kw), i = 0;
    while (i < n && p[i] == ' ' && (i == 0 || o->sloppy))
        i++;
    if (i == 0 || n - i < kn || !cmd_word_eq(p + i, kn, kw))
        return CMD_ERR_ARGS;
    i += kn;
    if (o->sloppy)
        while (i < n && p[i] == ' ')
            i++;
    struct addr_opts ao = {.null_ok = c->verb == CMD_MAIL, .sloppy = o->sloppy, .utf8 = o->utf8};
    ssize_t used = 0;
    size_t pm = c->verb == CMD_RCPT ? cmd_postmaster(p + i, n - i, o->sloppy) : 0;
    if (pm > 0) {
        memcpy(c->addr, "postmaster", sizeof "postmaster");
        used = (ssize_t)pm;
    } else if ((used = addr_parse_path_route(p + i, n - i, &ao, c->addr, c->route)) < 0) {
        return CMD_ERR_ARGS;
    }
    return cmd_params(c, p + i + (size_t)used, p + n, o);
}

/* Empties c and checks the input: at most max octets, no NUL. CMD_OK, or the error. */
static int cmd_begin(struct cmd *c, const char *s, size_t len, size_t max)
{
    c->verb = CMD_UNKNOWN;
    c->addr[0] = c->route[0] = '\0';
    c->nparams = 0;
    c->buf[0] = '\0';
    c->arg = c->buf;
    if (len > max)
        return CMD_ERR_TOOLONG;
    if (len > 0 && memchr(s, '\0', len) != NULL)
        return CMD_ERR_SYNTAX;
    return CMD_OK;
}

int cmd_parse(const char *line, size_t len, const struct addr_opts *o, struct cmd *c)
{
    int rc = cmd_begin(c, line, len, CMD_LINE_MAX - 2);
    if (rc != CMD_OK)
        return rc;
    if (len > 0)
        memcpy(c->buf, line, len);
    c->buf[len] = '\0';
    c->arg = c->buf + len;

    size_t vn = 0;
    while (vn < len && cmd_isalpha((unsigned char)c->buf[vn]))
        vn++;
    int idx = (vn < len && c->buf[vn] != ' ') ? -1 : cmd_lookup(c->buf, vn);
    if (idx < 0)
        return CMD_ERR_SYNTAX;
    c->verb = cmd_verbs[idx].verb;
    if (cmd_verbs[idx].rule == CMD_ARG_PATH)
        return cmd_path_args(c, c->buf + vn, len - vn, o);
    return cmd_plain_args(c, cmd_verbs[idx].rule, c->buf + vn, len - vn);
}

int cmd_parse_params(const char *s, size_t len, const struct addr_opts *o, struct cmd *c)
{
    int rc = cmd_begin(c, s, len, CMD_LINE_MAX - 3);
    if (rc != CMD_OK || len == 0)
        return rc;
    c->buf[0] = ' '; /* the separator cmd_params() wants before the first parameter */
    memcpy(c->buf + 1, s, len);
    c->buf[len + 1] = '\0';
    c->arg = c->buf + len + 1;
    return cmd_params(c, c->buf, c->buf + len + 1, o);
}
