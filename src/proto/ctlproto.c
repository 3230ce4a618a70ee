/* ctlproto: the control channel's request, status and authfile parsers (ctlproto.h). Each
 * command has a shape (what arguments it takes); the parser splits the line into words in a
 * copy, then checks the words against the shape. */
#include "proto/ctlproto.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define CTL_PATTERN_MAX 256
#define CTL_DOMAIN_MAX 253

enum ctl_shape {
    SH_MSGOP,   /* QID | --to P --from P --dest D (at least one) */
    SH_DOMAIN,  /* DOMAIN */
    SH_OPTDOM,  /* [DOMAIN] */
    SH_LIST,    /* [--json] */
    SH_SHOW,    /* QID [--json] */
    SH_CONN,    /* CONN-ID */
    SH_NONE,    /* nothing */
    SH_AUTH,    /* USER PASSWORD... */
    SH_SUPP,    /* list [--json] | export | add ADDR [REASON...] | remove ADDR */
};

static const struct {
    const char *name;
    enum ctl_shape shape;
    unsigned attr;
} ctl_cmds[CTL_NCMDS] = {
    [CTL_HOLD] = {"hold", SH_MSGOP, CTL_A_QUEUE},
    [CTL_RELEASE] = {"release", SH_MSGOP, CTL_A_QUEUE},
    [CTL_DELETE] = {"delete", SH_MSGOP, CTL_A_QUEUE},
    [CTL_REQUEUE] = {"requeue", SH_MSGOP, CTL_A_QUEUE},
    [CTL_BOUNCE] = {"bounce", SH_MSGOP, CTL_A_QUEUE},
    [CTL_PAUSE] = {"pause", SH_DOMAIN, CTL_A_QUEUE},
    [CTL_RESUME] = {"resume", SH_DOMAIN, CTL_A_QUEUE},
    [CTL_FORGET] = {"forget", SH_DOMAIN, CTL_A_QUEUE},
    [CTL_FLUSH] = {"flush", SH_OPTDOM, CTL_A_QUEUE},
    [CTL_QUEUE] = {"queue", SH_LIST, CTL_A_READ},
    [CTL_QSHAPE] = {"qshape", SH_LIST, CTL_A_READ},
    [CTL_SHOW] = {"show", SH_SHOW, CTL_A_READ},
    [CTL_CONNS] = {"conns", SH_LIST, CTL_A_READ},
    [CTL_KILL] = {"kill", SH_CONN, CTL_A_ADMIN},
    [CTL_STATS] = {"stats", SH_LIST, CTL_A_READ},
    [CTL_RELOAD] = {"reload", SH_NONE, CTL_A_ADMIN},
    [CTL_VERSION] = {"version", SH_NONE, 0},
    [CTL_AUTH] = {"auth", SH_AUTH, 0},
    [CTL_QUIT] = {"quit", SH_NONE, 0},
    [CTL_SUPPRESS] = {"suppress", SH_SUPP, CTL_A_QUEUE},
};

/* Writes a reason into err; returns -1. */
static int ctl_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int ctl_fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (errlen)
        vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

const char *ctlproto_cmd_name(enum ctl_cmd c)
{
    return (unsigned)c < CTL_NCMDS ? ctl_cmds[c].name : "?";
}

unsigned ctlproto_required(enum ctl_cmd c)
{
    return (unsigned)c < CTL_NCMDS ? ctl_cmds[c].attr : CTL_A_ADMIN;
}

unsigned ctlproto_required_req(const struct ctl_req *r)
{
    if (r->cmd == CTL_SUPPRESS && (r->supp == CTL_SUPP_LIST || r->supp == CTL_SUPP_EXPORT))
        return CTL_A_READ;
    return ctlproto_required(r->cmd);
}

/* True for a queue id: 16 hex digits. */
static bool ctl_is_qid(const char *w)
{
    size_t n = strlen(w);
    return n == 16 && strspn(w, "0123456789ABCDEFabcdef") == 16;
}

/* True for a DNS name (labels of letters, digits, '-', '_'; no empty label). */
static bool ctl_is_domain(const char *w)
{
    size_t n = strlen(w);
    if (n == 0 || n > CTL_DOMAIN_MAX || w[0] == '.' || w[n - 1] == '.' || strstr(w, ".."))
        return false;
    for (const char *p = w; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.')
            return false;
    return true;
}

/* Lower-cases a word in place. */
static void ctl_lower(char *w)
{
    for (; *w; w++)
        *w = (char)tolower((unsigned char)*w);
}

/* Splits buf into words (in place); returns the count, or -1 when over max. */
static int ctl_split(char *buf, char **words, int max)
{
    int n = 0;
    char *p = buf;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            *p++ = '\0';
        if (!*p)
            return n;
        if (n == max)
            return -1;
        words[n++] = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
    }
}

/* Message operation arguments: one queue id, or selectors. */
static int ctl_shape_msgop(struct ctl_req *r, char **w, int n, char *err, size_t errlen)
{
    if (n == 1 && ctl_is_qid(w[0])) {
        for (char *p = w[0]; *p; p++)
            *p = (char)toupper((unsigned char)*p);
        r->qid = w[0];
        return 0;
    }
    for (int i = 0; i < n; i += 2) {
        const char **slot = strcmp(w[i], "--to") == 0     ? &r->to
                            : strcmp(w[i], "--from") == 0 ? &r->from
                            : strcmp(w[i], "--dest") == 0 ? &r->dest
                                                          : NULL;
        if (!slot)
            return ctl_fail(err, errlen, "expected a queue id (16 hex digits) or --to/--from/--dest");
        if (i + 1 >= n)
            return ctl_fail(err, errlen, "%s needs a pattern", w[i]);
        if (*slot)
            return ctl_fail(err, errlen, "%s given twice", w[i]);
        if (strlen(w[i + 1]) > CTL_PATTERN_MAX)
            return ctl_fail(err, errlen, "pattern too long");
        ctl_lower(w[i + 1]);
        *slot = w[i + 1];
    }
    if (n == 0)
        return ctl_fail(err, errlen, "expected a queue id or --to/--from/--dest");
    return 0;
}

/* [--json] and, for show, one queue id. */
static int ctl_shape_list(struct ctl_req *r, char **w, int n, bool want_qid, char *err,
                          size_t errlen)
{
    for (int i = 0; i < n; i++) {
        if (strcmp(w[i], "--json") == 0 && !r->json) {
            r->json = true;
        } else if (want_qid && !r->qid && ctl_is_qid(w[i])) {
            for (char *p = w[i]; *p; p++)
                *p = (char)toupper((unsigned char)*p);
            r->qid = w[i];
        } else {
            return ctl_fail(err, errlen, "unexpected argument");
        }
    }
    if (want_qid && !r->qid)
        return ctl_fail(err, errlen, "expected a queue id (16 hex digits)");
    return 0;
}

/* One destination domain (optional for flush). */
static int ctl_shape_domain(struct ctl_req *r, char **w, int n, bool optional, char *err,
                            size_t errlen)
{
    if (n == 0 && optional)
        return 0;
    if (n != 1)
        return ctl_fail(err, errlen, "expected one domain");
    if (!ctl_is_domain(w[0]))
        return ctl_fail(err, errlen, "not a domain name");
    ctl_lower(w[0]);
    r->domain = w[0];
    return 0;
}

/* A connection id: a decimal number. */
static int ctl_shape_conn(struct ctl_req *r, char **w, int n, char *err, size_t errlen)
{
    if (n != 1 || strspn(w[0], "0123456789") != strlen(w[0]) || strlen(w[0]) > 18)
        return ctl_fail(err, errlen, "expected a connection id (a number from `conns`)");
    uint64_t v = 0;
    for (const char *p = w[0]; *p; p++)
        v = v * 10 + (uint64_t)(*p - '0');
    r->conn = v;
    return 0;
}

/* suppress: list [--json] | export | add ADDR [REASON...] | remove ADDR. The reason's words
 * are joined again with single blanks (the NULs the split left between them). */
static int ctl_shape_supp(struct ctl_req *r, char **w, int n, char *err, size_t errlen)
{
    static const char usage[] = "usage: suppress list [--json] | export | add ADDRESS [REASON] | remove ADDRESS";
    static const char *const subs[] = {"list", "export", "add", "remove"};
    int i = 0;
    if (n > 0)
        ctl_lower(w[0]);
    while (n > 0 && i < 4 && strcmp(w[0], subs[i]) != 0)
        i++;
    if (n == 0 || i == 4)
        return ctl_fail(err, errlen, "%s", usage);
    r->supp = (enum ctl_supp)i;
    if (r->supp == CTL_SUPP_LIST || r->supp == CTL_SUPP_EXPORT) {
        if (n == 2 && r->supp == CTL_SUPP_LIST && strcmp(w[1], "--json") == 0)
            r->json = true;
        else if (n != 1)
            return ctl_fail(err, errlen, "%s", usage);
        return 0;
    }
    if (n < 2 || (r->supp == CTL_SUPP_REMOVE && n != 2))
        return ctl_fail(err, errlen, "%s", usage);
    char *a = w[1];
    size_t al = strlen(a);
    if (al >= 2 && a[0] == '<' && a[al - 1] == '>') {
        a[--al] = '\0';
        a++, al--;
    }
    if (al == 0 || al > CTL_SUPP_ADDR_MAX || !strchr(a, '@'))
        return ctl_fail(err, errlen, "expected an address (local@domain)");
    r->addr = a;
    if (n > 2) {
        for (char *p = w[2]; p < w[n - 1]; p++)
            if (!*p)
                *p = ' ';
        r->reason = w[2];
    }
    return 0;
}

/* "auth USER PASSWORD": the password is the rest of the original line. */
static int ctl_shape_auth(struct ctl_req *r, const char *line, size_t len, size_t at,
                          char *err, size_t errlen)
{
    /* re-split a fresh copy: "auth" (at offset at) blanks USER blank PASSWORD... */
    size_t i = at + 4;
    while (i < len && (line[i] == ' ' || line[i] == '\t'))
        i++;
    size_t u = i;
    while (i < len && line[i] != ' ' && line[i] != '\t')
        i++;
    size_t ulen = i - u;
    if (ulen == 0 || ulen > CTL_USER_MAX || i >= len)
        return ctl_fail(err, errlen, "usage: auth USER PASSWORD");
    memcpy(r->buf, line, len);
    r->buf[len] = '\0';
    r->buf[i] = '\0';
    r->user = r->buf + u;
    r->password = r->buf + i + 1;
    if (!*r->password)
        return ctl_fail(err, errlen, "usage: auth USER PASSWORD");
    return 0;
}

/* Checks the bytes of a line: printable ASCII and blanks; strips the CR LF. */
static int ctl_line_check(const char *line, size_t *len, char *err, size_t errlen)
{
    if (*len > 0 && line[*len - 1] == '\n')
        (*len)--;
    if (*len > 0 && line[*len - 1] == '\r')
        (*len)--;
    if (*len > CTL_LINE_MAX)
        return ctl_fail(err, errlen, "request line too long (limit %d bytes)", CTL_LINE_MAX);
    for (size_t i = 0; i < *len; i++) {
        unsigned char c = (unsigned char)line[i];
        if ((c < 0x20 && c != '\t') || c > 0x7e)
            return ctl_fail(err, errlen, "control or non-ASCII byte in request");
    }
    return 0;
}

/* Applies the command's shape to the argument words. */
static int ctl_shape(struct ctl_req *r, char **w, int n, char *err, size_t errlen)
{
    switch (ctl_cmds[r->cmd].shape) {
    case SH_MSGOP:
        return ctl_shape_msgop(r, w, n, err, errlen);
    case SH_DOMAIN:
        return ctl_shape_domain(r, w, n, false, err, errlen);
    case SH_OPTDOM:
        return ctl_shape_domain(r, w, n, true, err, errlen);
    case SH_LIST:
        return ctl_shape_list(r, w, n, false, err, errlen);
    case SH_SHOW:
        return ctl_shape_list(r, w, n, true, err, errlen);
    case SH_CONN:
        return ctl_shape_conn(r, w, n, err, errlen);
    case SH_NONE:
        return n == 0 ? 0 : ctl_fail(err, errlen, "%s takes no argument", ctl_cmds[r->cmd].name);
    case SH_SUPP:
        return ctl_shape_supp(r, w, n, err, errlen);
    case SH_AUTH:
        break;
    }
    return ctl_fail(err, errlen, "internal: bad shape");
}

int ctlproto_parse(const char *line, size_t len, struct ctl_req *r, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    if (ctl_line_check(line, &len, err, errlen) < 0)
        return -1;
    memcpy(r->buf, line, len);
    r->buf[len] = '\0';
    char *w[CTL_WORDS_MAX];
    int n = ctl_split(r->buf, w, CTL_WORDS_MAX);
    if (n == 0)
        return ctl_fail(err, errlen, "empty request");
    ctl_lower(w[0]);
    int c = 0;
    while (c < CTL_NCMDS && strcmp(ctl_cmds[c].name, w[0]) != 0)
        c++;
    if (c == CTL_NCMDS)
        return ctl_fail(err, errlen, "unknown command (try: queue, show, hold, release, ...)");
    r->cmd = (enum ctl_cmd)c;
    if (r->cmd == CTL_AUTH)
        return ctl_shape_auth(r, line, len, (size_t)(w[0] - r->buf), err, errlen);
    if (n < 0)
        return ctl_fail(err, errlen, "too many words (limit %d)", CTL_WORDS_MAX);
    return ctl_shape(r, w + 1, n - 1, err, errlen);
}

int ctlproto_status(const char *line, size_t len, bool *ok, char *text, size_t textlen)
{
    size_t skip;
    if (len >= 2 && memcmp(line, "OK", 2) == 0 && (len == 2 || line[2] == ' ')) {
        *ok = true;
        skip = len == 2 ? 2 : 3;
    } else if (len > 4 && memcmp(line, "ERR ", 4) == 0) {
        *ok = false;
        skip = 4;
    } else {
        return -1;
    }
    size_t o = 0;
    for (size_t i = skip; i < len && o + 1 < textlen; i++) {
        unsigned char c = (unsigned char)line[i];
        text[o++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    if (textlen)
        text[o] = '\0';
    return 0;
}

/* Parses the attributes field: comma list of read, queue-ops, admin. */
static int ctl_auth_attrs(char *f, unsigned *attrs, char *err, size_t errlen)
{
    *attrs = 0;
    for (char *save = NULL, *a = strtok_r(f, ",", &save); a; a = strtok_r(NULL, ",", &save)) {
        a += strspn(a, " \t");
        size_t n = strcspn(a, " \t");
        if (n == 4 && strncmp(a, "read", 4) == 0)
            *attrs |= CTL_A_READ;
        else if (n == 9 && strncmp(a, "queue-ops", 9) == 0)
            *attrs |= CTL_A_READ | CTL_A_QUEUE;
        else if (n == 5 && strncmp(a, "admin", 5) == 0)
            *attrs |= CTL_A_READ | CTL_A_QUEUE | CTL_A_ADMIN;
        else
            return ctl_fail(err, errlen, "unknown attribute (want read, queue-ops, admin)");
    }
    return *attrs ? 0 : ctl_fail(err, errlen, "no attribute");
}

/* Parses the networks field: comma list of CIDR blocks. */
static int ctl_auth_nets(char *f, struct ctl_authuser *u, char *err, size_t errlen)
{
    for (char *save = NULL, *a = strtok_r(f, ", \t", &save); a; a = strtok_r(NULL, ", \t", &save)) {
        if (u->nnets == CTL_AUTH_NETS_MAX)
            return ctl_fail(err, errlen, "more than %d networks", CTL_AUTH_NETS_MAX);
        if (cidr_parse(a, strlen(a), &u->nets[u->nnets]) < 0)
            return ctl_fail(err, errlen, "bad network block");
        u->nnets++;
    }
    return 0;
}

int ctlproto_authline(const char *line, size_t len, struct ctl_authuser *u, char *err,
                      size_t errlen)
{
    char buf[CTL_LINE_MAX + 1];
    memset(u, 0, sizeof *u);
    if (len > 0 && line[len - 1] == '\r')
        len--;
    if (len > CTL_LINE_MAX)
        return ctl_fail(err, errlen, "line too long");
    memcpy(buf, line, len);
    buf[len] = '\0';
    if (memchr(buf, '\0', len) || buf[strspn(buf, " \t")] == '\0' || buf[strspn(buf, " \t")] == '#')
        return memchr(buf, '\0', len) ? ctl_fail(err, errlen, "NUL byte") : 0;
    /* the networks are the rest of the line: IPv6 blocks have colons of their own */
    char *f[4] = {buf, NULL, NULL, NULL};
    int nf = 1;
    for (char *p = buf; *p && nf < 4; p++)
        if (*p == ':') {
            *p = '\0';
            f[nf++] = p + 1;
        }
    if (nf < 3)
        return ctl_fail(err, errlen, "want USER:HASH:ATTRIBUTES[:NETWORKS]");
    size_t ul = strlen(f[0]), hl = strlen(f[1]);
    if (ul == 0 || ul > CTL_USER_MAX || strpbrk(f[0], " \t"))
        return ctl_fail(err, errlen, "bad user name");
    if (hl == 0 || hl > CTL_HASH_MAX || strpbrk(f[1], " \t"))
        return ctl_fail(err, errlen, "bad password hash");
    memcpy(u->user, f[0], ul + 1);
    memcpy(u->hash, f[1], hl + 1);
    if (ctl_auth_attrs(f[2], &u->attrs, err, errlen) < 0)
        return -1;
    if (nf == 4 && ctl_auth_nets(f[3], u, err, errlen) < 0)
        return -1;
    return 1;
}

bool ctlproto_glob(const char *p, const char *s)
{
    const char *star = NULL, *back = NULL;
    while (*s) {
        if (*p == '*') {
            star = p++;
            back = s;
        } else if (*p && (*p == '?' || tolower((unsigned char)*p) == tolower((unsigned char)*s))) {
            p++;
            s++;
        } else if (star) {
            p = star + 1;
            s = ++back;
        } else {
            return false;
        }
    }
    while (*p == '*')
        p++;
    return *p == '\0';
}
