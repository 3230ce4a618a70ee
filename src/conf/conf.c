/* conf: loads sluice's configuration, one libconfig file, into struct conf (conf.h).
 * Owns the loading: the file, a pre-scan of its text, libconfig's parse, and the walkers
 * that apply the key table (keys.c) to the parsed file, fill in its defaults and free what
 * it allocated. Public functions (contracts in conf.h): conf_init(), conf_load(),
 * conf_load_text(), conf_free(), conf_client_for().
 * What counts as an error: a file that cannot be read or is over CONF_MAX_FILE bytes, a NUL
 * byte, "@include" (one file, one pre-scan), a libconfig syntax error, an integer literal
 * that libconfig 1.5 would silently truncate (it keeps 32 bits of integers written without
 * the L suffix), lists and groups nested deeper than CONF_MAX_DEPTH, then whatever the key
 * table rejects: an unknown key at any level, a wrong type, a value out of its bounds or
 * syntax, a missing required key; last the rules between keys (conf_check_tls(),
 * conf_check_auth(), conf_check_dkim()).
 * The pre-scan also finds the first string where libconfig's grammar has no string: libconfig
 * 1.5 leaks such a token when it reports the syntax error, so only the text before it is
 * given to libconfig, and the error is libconfig's (an earlier one) or "syntax error" on the
 * string's line, as libconfig would say. */
#include "conf/conf.h"

#include <errno.h>
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "conf/keys.h"
#include "core/log.h"
#include "core/xalloc.h"

#define CONF_MAX_FILE (1024 * 1024) /* bytes of configuration file */
#define CONF_MAX_DEPTH 16           /* nested lists and groups */

/* ---- pre-scan ---- */

/* The previous token, as far as where a string may come next matters. */
enum conf_tok { TOK_NONE, TOK_EQUALS, TOK_OPEN_LIST, TOK_COMMA, TOK_STRING, TOK_OTHER };

/* What the pre-scan found (lines; 0 = none) and where it stopped. */
struct conf_scan {
    const char *text, *p, *end; /* end: the text's NUL */
    unsigned line;
    enum conf_tok prev;
    char open[CONF_MAX_DEPTH]; /* the enclosing '{', '[' and '(' */
    size_t depth;
    unsigned include; /* an "@include" */
    unsigned stop;    /* a string where libconfig has none, or nesting too deep */
    bool deep;        /* stop is nesting */
    size_t stop_off;
    unsigned bigint; /* an integer libconfig would truncate (the scan goes on) */
};

/* Counts the newlines in p[0..n). */
static unsigned conf_lines_in(const char *p, size_t n)
{
    unsigned k = 0;
    for (const char *e = p + n; (p = memchr(p, '\n', (size_t)(e - p))) != NULL; p++)
        k++;
    return k;
}

/* Byte classes of the pre-scan (a table, not strspn(): under ASan every strspn() call
 * measures the rest of the text, which made the scan quadratic). */
enum { CC_NUM = 1, CC_NAME = 2, CC_BLANK = 4, CC_STRSTOP = 8 };
static const unsigned char conf_cc[256] = {
    ['a' ... 'z'] = CC_NUM | CC_NAME, ['A' ... 'Z'] = CC_NUM | CC_NAME,
    ['0' ... '9'] = CC_NUM | CC_NAME, ['.'] = CC_NUM, ['_'] = CC_NAME, ['-'] = CC_NAME,
    ['*'] = CC_NAME, [' '] = CC_BLANK, ['\t'] = CC_BLANK, ['\r'] = CC_BLANK, ['\f'] = CC_BLANK,
    ['"'] = CC_STRSTOP, ['\\'] = CC_STRSTOP, ['\n'] = CC_STRSTOP, ['\0'] = CC_STRSTOP,
};

/* Skips the bytes of class cc at p. */
static const char *conf_span(const char *p, unsigned cc)
{
    while (conf_cc[(unsigned char)*p] & cc)
        p++;
    return p;
}

/* The end of the line at p (its newline, or the text's end). */
static const char *conf_eol(const struct conf_scan *sc, const char *p)
{
    const char *nl = memchr(p, '\n', (size_t)(sc->end - p));
    return nl ? nl : sc->end;
}

/* Skips a string token starting at its quote; returns the byte after its closing quote. */
static const char *conf_scan_string(const char *p, unsigned *line)
{
    for (p++;;) {
        while (!(conf_cc[(unsigned char)*p] & CC_STRSTOP))
            p++;
        if (*p == '\0')
            return p;
        if (*p++ == '"')
            return p;
        if (p[-1] == '\n') {
            ++*line;
        } else if (*p != '\0') { /* an escaped byte */
            *line += *p == '\n';
            p++;
        }
    }
}

/* True when a numeric token would not survive libconfig 1.5 unchanged. */
static bool conf_scan_too_big(const char *t, size_t n)
{
    bool hex = n > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X');
    if (memchr(t, '.', n) || (!hex && (memchr(t, 'e', n) || memchr(t, 'E', n))))
        return false; /* a float */
    bool l64 = t[n - 1] == 'L';
    size_t digits = n - l64 - (hex ? 2 : 0);
    if (l64)
        return hex ? digits > 16
                   : digits > 19 || (digits == 19 && strncmp(t, "9223372036854775807", 19) > 0);
    if (hex)
        return digits > 8 || (digits == 8 && strchr("01234567", t[2]) == NULL);
    return digits > 10 || (digits == 10 && strncmp(t, "2147483647", 10) > 0);
}

/* A string token: where libconfig's grammar allows one (a value after '=' or ':', an entry
 * of an array or list, the next part of a string), skipped; elsewhere the scan stops. */
static void conf_scan_quote(struct conf_scan *sc)
{
    bool in_list = sc->depth > 0 && sc->open[sc->depth - 1] != '{';
    if (sc->prev != TOK_EQUALS && sc->prev != TOK_OPEN_LIST && sc->prev != TOK_STRING &&
        !(sc->prev == TOK_COMMA && in_list)) {
        sc->stop = sc->line;
        sc->stop_off = (size_t)(sc->p - sc->text);
        return;
    }
    sc->p = conf_scan_string(sc->p, &sc->line);
    sc->prev = TOK_STRING;
}

/* A one-byte token (or a byte libconfig calls garbage). */
static void conf_scan_punct(struct conf_scan *sc, char ch)
{
    switch (ch) {
    case '=':
    case ':': sc->prev = TOK_EQUALS; break;
    case '[':
    case '(':
    case '{':
        if (sc->depth == CONF_MAX_DEPTH) {
            sc->stop = sc->line, sc->deep = true, sc->stop_off = (size_t)(sc->p - sc->text);
            return;
        }
        sc->open[sc->depth++] = ch;
        sc->prev = ch == '{' ? TOK_OTHER : TOK_OPEN_LIST;
        break;
    case ']':
    case ')':
    case '}':
        sc->depth -= sc->depth > 0;
        sc->prev = TOK_OTHER;
        break;
    case ',': sc->prev = TOK_COMMA; break;
    default: sc->prev = TOK_OTHER; break;
    }
    sc->p++;
}

/* A number: letters, digits, dots, and a sign after an exponent's 'e'. */
static void conf_scan_number(struct conf_scan *sc)
{
    const char *p = conf_span(sc->p, CC_NUM);
    while ((*p == '+' || *p == '-') && (p[-1] | 0x20) == 'e')
        p = conf_span(p + 1, CC_NUM);
    if (sc->bigint == 0 && conf_scan_too_big(sc->p, (size_t)(p - sc->p)))
        sc->bigint = sc->line;
    sc->p = p, sc->prev = TOK_OTHER;
}

/* A comment starting with '/', or a stray '/'. */
static void conf_scan_slash(struct conf_scan *sc)
{
    const char *p = sc->p;
    if (p[1] == '/') {
        sc->p = conf_eol(sc, p);
    } else if (p[1] == '*') {
        const char *end = memmem(p + 2, (size_t)(sc->end - p - 2), "*/", 2);
        sc->p = end ? end + 2 : sc->end;
        sc->line += conf_lines_in(p, (size_t)(sc->p - p));
    } else {
        conf_scan_punct(sc, '/');
    }
}

/* Reads one token (or blank, newline, comment) at sc->p. */
static void conf_scan_token(struct conf_scan *sc)
{
    switch (*sc->p) {
    case '\n': sc->line++, sc->p++; break;
    case ' ':
    case '\t':
    case '\r':
    case '\f': sc->p = conf_span(sc->p, CC_BLANK); break;
    case '#': sc->p = conf_eol(sc, sc->p); break;
    case '/': conf_scan_slash(sc); break;
    case '"': conf_scan_quote(sc); break;
    case '@': sc->include = sc->line; break;
    case '0' ... '9': conf_scan_number(sc); break;
    case 'a' ... 'z':
    case 'A' ... 'Z':
    case '*':
        sc->p = conf_span(sc->p, CC_NAME);
        sc->prev = TOK_OTHER;
        break;
    default: conf_scan_punct(sc, *sc->p); break;
    }
}

/* Scans text[0..len) (no NUL in it, one after it) up to the first "@include" or stop. */
static void conf_scan(struct conf_scan *sc, const char *text, size_t len)
{
    *sc = (struct conf_scan){.text = text, .p = text, .end = text + len, .line = 1};
    while (*sc->p != '\0' && sc->include == 0 && sc->stop == 0)
        conf_scan_token(sc);
}

/* ---- parse ---- */

/* Copies libconfig's error into x; returns -1. */
static int conf_parse_error(struct conf_ctx *x, const config_t *cfg)
{
    const char *file = config_error_file(cfg);
    snprintf(x->err, x->errlen, "%s:%d: %s", file ? file : x->path, config_error_line(cfg),
             config_error_text(cfg) ? config_error_text(cfg) : "parse error");
    return -1;
}

/* Pre-scans NUL-terminated text[0..len) and parses it into cfg; 0/-1. */
static int conf_parse(struct conf_ctx *x, config_t *cfg, const char *text, size_t len)
{
    struct conf_scan sc;
    const char *nul = memchr(text, '\0', len);
    if (nul != NULL) { /* libconfig 1.5 leaks on a NUL byte in a string; no text has one */
        snprintf(x->err, x->errlen, "%s:%u: NUL byte in file", x->path,
                 1 + conf_lines_in(text, (size_t)(nul - text)));
        return -1;
    }
    conf_scan(&sc, text, len);
    if (sc.include != 0) {
        snprintf(x->err, x->errlen, "%s:%u: @include is not supported", x->path, sc.include);
        return -1;
    }
    if (sc.stop != 0 && sc.deep) {
        snprintf(x->err, x->errlen, "%s:%u: lists and groups nested deeper than %d levels",
                 x->path, sc.stop, CONF_MAX_DEPTH);
        return -1;
    }
    if (sc.stop != 0) { /* a stray string: libconfig sees only the text before it */
        char *head = xstrndup(text, sc.stop_off);
        int ok = config_read_string(cfg, head);
        free(head);
        if (!ok)
            return conf_parse_error(x, cfg);
        snprintf(x->err, x->errlen, "%s:%u: syntax error", x->path, sc.stop);
        return -1;
    }
    if (!config_read_string(cfg, text))
        return conf_parse_error(x, cfg);
    if (sc.bigint != 0) {
        snprintf(x->err, x->errlen,
                 "%s:%u: integer out of range for libconfig (write 64-bit integers with an L "
                 "suffix, e.g. 1099511627776L)",
                 x->path, sc.bigint);
        return -1;
    }
    return 0;
}

/* ---- walkers over the key table ---- */

/* Applies setting s to row p at base. */
/* Reads a group key (a relay's ssl or auth block starts from its own defaults). */
static int conf_read_group(struct conf_ctx *x, const config_setting_t *s, const char *key,
                           const struct conf_key *p, void *base)
{
    if (!config_setting_is_group(s))
        return conf_wrong_type(x, s, key, "group");
    if (p->flags & CONF_F_BLOCK)
        conf_init_group(x, p->sub, base);
    if (conf_group(x, s, p->sub, key, base) < 0)
        return -1;
    return (p->flags & CONF_F_BLOCK) ? conf_check_block(x, s, key, p, base) : 0;
}

/* Reads one key by its kind (keys.h orders the kinds so that ranges dispatch). */
static int conf_apply(struct conf_ctx *x, const config_setting_t *s, const char *key,
                      const struct conf_key *p, void *base)
{
    switch (p->kind) {
    case CONF_PATH:
    case CONF_HOST:
    case CONF_TEXT:
    case CONF_MAILBOX:
    case CONF_DELIMS:
    case CONF_ACTION:
    case CONF_REGEX:
    case CONF_NEXTHOP:
    case CONF_LOGPATH: return conf_read_text(x, s, key, p, base);
    case CONF_UINT:
    case CONF_U64:
    case CONF_PORT: return conf_read_number(x, s, key, p, base);
    case CONF_DURATION: return conf_read_duration(x, s, key, p, base);
    case CONF_BOOL: return conf_read_bool(x, s, key, p, base);
    case CONF_TLSMODE ... CONF_ORDER:
    case CONF_MBOXKIND: return conf_read_word(x, s, key, p, base);
    case CONF_RATE: return conf_read_rate(x, s, key, p, base);
    case CONF_SECRET: return conf_read_secret(x, s, key, p, base);
    case CONF_SECRET_FILE: return conf_read_secret_file(x, s, key, p, base);
    case CONF_ROT: return conf_read_rot(x, s, key, p, base);
    case CONF_RETRIES: return conf_read_retries(x, s, key, p, base);
    case CONF_LISTEN ... CONF_ALLOWS: return conf_read_list(x, s, key, p, base);
    case CONF_LINES: return conf_read_lines(x, s, key, p, base);
    case CONF_RELAY_ADDR: return conf_read_relay_addr(x, s, key, p, base);
    case CONF_GROUP: return conf_read_group(x, s, key, p, base);
    case CONF_LOGSPEC: return conf_read_logspec(x, s, key, p, base);
    case CONF_REMOTENETS: return conf_read_remotenets(x, s, key, p, base);
    case CONF_RELAYS: return conf_read_relays(x, s, key, p, base);
    case CONF_POLICIES:
    case CONF_RULES: return conf_read_shaping(x, s, key, p, base);
    case CONF_TRANSPORTS: return conf_read_transports(x, s, key, p, base);
    case CONF_SIGNS: return conf_read_signs(x, s, key, p, base);
    }
    log_panic("conf: unhandled kind %d", (int)p->kind);
}

/* "prefix.name" (or "name" at the top level) for a name of the table, which needs no
 * sanitizing (conf_key() is for names read from the file). */
static void conf_key_join(char *buf, size_t buflen, const char *prefix, const char *name)
{
    size_t pl = strlen(prefix), nl = strlen(name);
    if (pl + 1 + nl >= buflen) {
        conf_key(buf, buflen, prefix, name);
        return;
    }
    memcpy(buf, prefix, pl);
    buf[pl] = '.';
    memcpy(buf + pl + (pl > 0), name, nl + 1);
}

/* Rejects unknown keys in g, then applies the rows of group in table order. Each setting is
 * matched to its row once (libconfig has refused duplicate names). */
int conf_group(struct conf_ctx *x, const config_setting_t *g, enum conf_gid group,
               const char *prefix, void *base)
{
    char key[CONF_KEY_MAX];
    const config_setting_t *set[CONF_GROUP_ROWS] = {NULL};
    const struct conf_key *end, *first = conf_keys_group(group, &end), *p;
    for (int i = 0; i < config_setting_length(g); i++) {
        const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
        const char *name = config_setting_name(s);
        for (p = first; p < end; p++)
            if (p->name[0] == name[0] && strcmp(p->name, name) == 0)
                break;
        if (p == end) {
            conf_key(key, sizeof key, prefix, name);
            return conf_error(x, s, "unknown key '%s'", key);
        }
        set[p - first] = s;
    }
    for (p = first; p < end; p++) {
        const config_setting_t *s = set[p - first];
        if (s == NULL && !(p->flags & CONF_F_REQUIRED))
            continue;
        conf_key_join(key, sizeof key, prefix, p->name);
        if (s == NULL)
            return conf_error(x, g, "missing key '%s'", key);
        if (conf_apply(x, s, key, p, base) < 0)
            return -1;
    }
    return 0;
}

/* Sets row p (hostname) to this host's name: gethostname(), or "localhost". */
static int conf_init_hostname(struct conf_ctx *x, const struct conf_key *p, void *base)
{
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) < 0 || host[0] == '\0')
        snprintf(host, sizeof host, "localhost");
    return conf_set_text(x, NULL, p->name, p, base, host);
}

/* Applies the default of row p to base. */
static int conf_init_row(struct conf_ctx *x, const struct conf_key *p, void *base)
{
    if (p->flags & (CONF_F_HOSTNAME | CONF_F_COMPUTED | CONF_F_INHERIT))
        return (p->flags & CONF_F_HOSTNAME) ? conf_init_hostname(x, p, base) : 0;
    switch (p->kind) {
    case CONF_PATH ... CONF_LOGPATH:
        return p->def ? conf_set_text(x, NULL, p->name, p, base, p->def) : 0;
    case CONF_UINT ... CONF_ROT:
        if (p->defv < p->min || p->defv > p->max)
            return conf_error(x, NULL, "default of '%s' out of range", p->name);
        conf_store_number(p, base, p->defv);
        return 0;
    case CONF_RETRIES: return conf_set_retries(x, NULL, p->name, p, base, p->def);
    case CONF_LISTEN ... CONF_LINES:
        return p->def ? conf_set_list(x, p->name, p, base, p->def) : 0;
    default: return 0; /* groups, log specs and lists of groups start empty */
    }
}

/* Applies the defaults of the rows of group to base, recursively. */
void conf_init_group(struct conf_ctx *x, enum conf_gid group, void *base)
{
    const struct conf_key *end, *p = conf_keys_group(group, &end);
    for (; p < end; p++) {
        if (conf_init_row(x, p, base) < 0)
            log_panic("conf: the default of %s in '%s' is invalid: %s", p->name,
                      conf_group_names[group], x->err);
        if (p->kind == CONF_GROUP)
            conf_init_group(x, p->sub, base);
        else if (p->kind == CONF_LOGSPEC)
            conf_init_group(x, p->sub, (char *)base + p->off);
    }
}

/* Frees what row p owns at base. */
static void conf_free_row(const struct conf_key *p, void *base)
{
    char *field = (char *)base + p->off;
    switch (p->kind) {
    case CONF_PATH ... CONF_LOGPATH:
        free(*(char **)field);
        *(char **)field = NULL;
        break;
    case CONF_RETRIES:
        free(*(unsigned **)field);
        *(unsigned **)field = NULL;
        *(size_t *)((char *)base + p->cnt) = 0;
        break;
    case CONF_LISTEN ... CONF_LINES: conf_free_list(p, base); break;
    case CONF_RELAY_ADDR: {
        struct relay *r = base;
        free(r->address);
        free(r->host);
        r->address = r->host = NULL;
        for (size_t i = 0; i < r->nhosts; i++)
            free(r->hosts[i].host);
        free(r->hosts);
        r->hosts = NULL;
        r->nhosts = 0;
        break;
    }
    case CONF_SECRET:
    case CONF_SECRET_FILE: conf_free_secret(p, base); break;
    case CONF_GROUP: conf_free_group(p->sub, base); break;
    case CONF_LOGSPEC: conf_free_group(p->sub, field); break;
    case CONF_REMOTENETS ... CONF_SIGNS: conf_free_entries(p, base); break;
    default: break; /* numbers */
    }
}

/* Frees what the rows of group own at base, recursively. */
void conf_free_group(enum conf_gid group, void *base)
{
    const struct conf_key *end, *p = conf_keys_group(group, &end);
    for (; p < end; p++)
        conf_free_row(p, base);
}

/* ---- public ---- */

/* Fills c with every default of the key table. */
void conf_init(struct conf *c)
{
    char err[512];
    struct conf_ctx x = {c, "(defaults)", err, sizeof err};
    memset(c, 0, sizeof *c);
    conf_init_group(&x, CONF_G_TOP, c);
}

/* Reports key (a dotted path) as needing `needs`, at the key's line. */
static int conf_needs(struct conf_ctx *x, const config_t *cfg, const char *key, const char *needs)
{
    return conf_error(x, config_lookup(cfg, key), "'%s' needs %s", key, needs);
}

/* smtpd.tls and tls_listen: a key file needs its certificate, client certificates need the
 * CAs that verify them, an implicit TLS listener needs a certificate. (Whether the files
 * load is src/tls/'s business: startup and check-config.) */
static int conf_check_tls(struct conf_ctx *x, const config_t *cfg)
{
    const struct smtpd_tls_conf *t = &x->c->smtpd.tls;
    if (t->key_file && !t->cert_file)
        return conf_needs(x, cfg, "smtpd.tls.key_file", "smtpd.tls.cert_file");
    if (t->ecdsa_cert_file && !t->cert_file)
        return conf_needs(x, cfg, "smtpd.tls.ecdsa_cert_file", "smtpd.tls.cert_file");
    if (t->ecdsa_key_file && !t->ecdsa_cert_file)
        return conf_needs(x, cfg, "smtpd.tls.ecdsa_key_file", "smtpd.tls.ecdsa_cert_file");
    if (t->ask_cert && !t->ca_file)
        return conf_needs(x, cfg, "smtpd.tls.ask_cert", "smtpd.tls.ca_file");
    if (t->require_cert && !t->ca_file)
        return conf_needs(x, cfg, "smtpd.tls.require_cert", "smtpd.tls.ca_file");
    if (t->ca_file && !t->cert_file)
        return conf_needs(x, cfg, "smtpd.tls.ca_file", "smtpd.tls.cert_file");
    if (x->c->smtpd.ntls_listen > 0 && !t->cert_file)
        return conf_needs(x, cfg, "smtpd.tls_listen", "smtpd.tls.cert_file");
    return 0;
}

/* log: a file target needs its path; stderr takes none. */
static int conf_check_log(struct conf_ctx *x, const config_t *cfg)
{
    if (x->c->log.target == LOG_TARGET_FILE && !x->c->log.path)
        return conf_needs(x, cfg, "log.target", "log.path (target \"file\")");
    if (x->c->log.target == LOG_TARGET_STDERR && x->c->log.path)
        return conf_error(x, config_lookup(cfg, "log.path"),
                          "'log.path' needs log.target \"file\" or \"syslog\"");
    return 0;
}

/* smtpd.auth: a known backend, the path it needs, and only the keys that backend reads
 * (keys set in the file: the rows' defaults of the others are not the user's doing). */
static int conf_check_auth(struct conf_ctx *x, const config_t *cfg)
{
    static const char *const names[] = {"file", "pam", "pipe", "dovecot"};
    static const char *const keys[] = {"smtpd.auth.path", "smtpd.auth.pam_service",
                                       "smtpd.auth.timeout", "smtpd.auth.workers"};
    /* which of keys[] each backend reads */
    static const bool reads[4][4] = {{1, 0, 0, 1}, {0, 1, 0, 1}, {1, 0, 1, 0}, {1, 0, 1, 0}};
    const struct smtpd_auth_conf *a = &x->c->smtpd.auth;
    const config_setting_t *g = config_lookup(cfg, "smtpd.auth");
    char q[96];
    if (!g)
        return 0;
    if (!a->backend)
        return conf_error(x, g, "'smtpd.auth' needs backend (\"file\", \"pam\", \"pipe\" or "
                                "\"dovecot\")");
    size_t b = 0;
    while (b < 4 && strcmp(names[b], a->backend) != 0)
        b++;
    if (b == 4)
        return conf_error(x, config_lookup(cfg, "smtpd.auth.backend"),
                          "unknown backend for 'smtpd.auth.backend': %s (want \"file\", \"pam\", "
                          "\"pipe\" or \"dovecot\")",
                          conf_quote(q, sizeof q, a->backend, strlen(a->backend)));
    for (size_t k = 0; k < 4; k++) {
        const config_setting_t *s = config_lookup(cfg, keys[k]);
        if (s && !reads[b][k])
            return conf_error(x, s, "'%s' is not used by backend \"%s\"", keys[k], names[b]);
    }
    if (reads[b][0] && !a->path)
        return conf_error(x, g, "'smtpd.auth' with backend \"%s\" needs path (%s)", names[b],
                          b == 0 ? "the password file" : b == 2 ? "the program" : "the socket");
    if (b == 2 && a->path[0] != '/')
        return conf_error(x, config_lookup(cfg, "smtpd.auth.path"),
                          "'smtpd.auth.path' of backend \"pipe\" must be an absolute path");
    return 0;
}

/* dkim: the header list signs From (RFC 6376 5.4: it must); whether the keys load and fit
 * their algorithm is src/dkim/'s business (startup, check-config, SIGHUP). */
static int conf_check_dkim(struct conf_ctx *x, const config_t *cfg)
{
    for (size_t i = 0; i < x->c->dkim.nheaders; i++)
        if (strcmp(x->c->dkim.headers[i], "from") == 0)
            return 0;
    return conf_error(x, config_lookup(cfg, "dkim.headers"), "'dkim.headers' must name from");
}

/* Parses NUL-terminated text[0..len) over c, naming it x->path in messages. */
static int conf_load_buf(struct conf_ctx *x, const char *text, size_t len)
{
    config_t cfg;
    config_init(&cfg);
    int rc = conf_parse(x, &cfg, text, len);
    if (rc == 0)
        rc = conf_group(x, config_root_setting(&cfg), CONF_G_TOP, "", x->c);
    if (rc == 0)
        rc = conf_check_tls(x, &cfg);
    if (rc == 0)
        rc = conf_check_log(x, &cfg);
    if (rc == 0)
        rc = conf_check_auth(x, &cfg);
    if (rc == 0)
        rc = conf_check_dkim(x, &cfg);
    if (rc == 0 && x->c->ctl.nlisten > 0 && !x->c->ctl.authfile)
        rc = conf_needs(x, &cfg, "ctl.listen", "ctl.authfile");
    config_destroy(&cfg);
    return rc;
}

/* Parses text over c. */
int conf_load_text(const char *name, const char *text, size_t len, struct conf *c, char *err,
                   size_t errlen)
{
    char dummy[8];
    struct conf_ctx x = {c, name, err ? err : dummy, err ? errlen : sizeof dummy};
    x.err[0] = '\0';
    free(c->path);
    c->path = xstrdup(name);
    char *buf = xmalloc(len + 1);
    memcpy(buf, text, len);
    buf[len] = '\0';
    int rc = conf_load_buf(&x, buf, len);
    free(buf);
    return rc;
}

/* Reads the whole file x->path (at most CONF_MAX_FILE bytes) into a NUL-terminated buffer. */
static char *conf_slurp(struct conf_ctx *x, size_t *len)
{
    FILE *f = fopen(x->path, "r");
    if (f == NULL) {
        conf_error(x, NULL, "cannot open: %s", strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    size_t n = 0, cap = 0, got;
    do {
        if (n == cap) {
            cap = cap == 0 ? 8192 : cap * 2 > CONF_MAX_FILE + 1 ? CONF_MAX_FILE + 1 : cap * 2;
            buf = xrealloc(buf, cap + 1);
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
    } while (got > 0 && n <= CONF_MAX_FILE);
    bool bad = ferror(f) != 0;
    fclose(f);
    if (bad || n > CONF_MAX_FILE) {
        conf_error(x, NULL, bad ? "read error" : "file larger than %d bytes", CONF_MAX_FILE);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* Loads the file path over c. */
int conf_load(const char *path, struct conf *c, char *err, size_t errlen)
{
    char dummy[8];
    struct conf_ctx x = {c, path, err ? err : dummy, err ? errlen : sizeof dummy};
    size_t len = 0;
    x.err[0] = '\0';
    free(c->path);
    c->path = xstrdup(path);
    char *text = conf_slurp(&x, &len);
    if (text == NULL)
        return -1;
    int rc = conf_load_buf(&x, text, len);
    free(text);
    return rc;
}

/* Frees everything and zeroes c. */
void conf_free(struct conf *c)
{
    free(c->path);
    conf_free_group(CONF_G_TOP, c);
    memset(c, 0, sizeof *c);
}

/* True when peer host name `host` equals h, ignoring case and one trailing dot. */
static bool conf_host_equal(const char *h, const char *host)
{
    size_t hl = strlen(h), pl = strlen(host);
    if (pl > 0 && host[pl - 1] == '.')
        pl--;
    return hl == pl && strncasecmp(h, host, pl) == 0;
}

/* First remotenet matching the peer's address or name, else the base client. */
const struct client_conf *conf_client_for(const struct conf *c, const struct sockaddr *sa,
                                          const char *host)
{
    for (size_t i = 0; i < c->deliver.nremotenets; i++) {
        const struct remotenet *rn = &c->deliver.remotenets[i];
        if (sa != NULL && cidr_match_any(rn->nets, rn->nnets, sa))
            return &rn->client;
        for (size_t j = 0; host != NULL && j < rn->nhosts; j++)
            if (conf_host_equal(rn->hosts[j], host))
                return &rn->client;
    }
    return &c->deliver.client;
}

/* myorigin, else hostname. */
const char *conf_myorigin(const struct conf *c)
{
    return c->myorigin ? c->myorigin : c->hostname;
}

/* True when what is one of arr[0..n). */
bool conf_allows(char *const *arr, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(arr[i], what) == 0)
            return true;
    return false;
}
