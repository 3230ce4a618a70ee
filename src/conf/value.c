/* value: typed scalar values of the configuration, the syntax of the names and addresses
 * in it, and the messages about them (contract in keys.h).
 * Messages: conf_error() writes "FILE:LINE: message" (line 0 for a default or the file);
 * untrusted text is quoted sanitized and cut at 64 bytes; key names are sanitized.
 * Readers: texts (paths, host names, printable text, addresses, VERP delimiters, log path
 * templates), numbers within min..max (an integer below 0 is out of range, as is one that
 * libconfig stores as 64 bits beyond max), durations (a duration_parse() string or integer
 * ms), booleans (true/false, or the seed's "Y"/"N"/"yes"/"no" in any case), rotations and
 * ZMailer retries. Each replaces the old value; conf_set_*() take the text of a default.
 * Public (conf.h): conf_retries_parse(). */
#include "conf/keys.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "core/xalloc.h"
#include "proto/policyd.h"
#include "proto/duration.h"
#include "proto/logpath.h"
#include "proto/nexthop.h"

#define CONF_MAX_RETRIES_TEXT 1024 /* bytes of a retries string */

/* ---- messages ---- */

/* Writes "FILE:LINE: message" for setting s (line 0 when s is NULL) and returns -1. */
int conf_error(struct conf_ctx *x, const config_setting_t *s, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *file = s ? config_setting_source_file(s) : NULL;
    unsigned line = s ? config_setting_source_line(s) : 0;
    snprintf(x->err, x->errlen, "%s:%u: %s", file ? file : x->path, line, msg);
    return -1;
}

/* Quotes untrusted text for a message: sanitized, at most 64 bytes. */
const char *conf_quote(char *buf, size_t buflen, const char *s, size_t len)
{
    char clean[72];
    log_sanitize(clean, sizeof clean, s, len > 64 ? 64 : len);
    snprintf(buf, buflen, "\"%s%s\"", clean, len > 64 ? "..." : "");
    return buf;
}

/* The libconfig type name used in "wrong type" messages. */
const char *conf_type_name(const config_setting_t *s)
{
    switch (config_setting_type(s)) {
    case CONFIG_TYPE_GROUP: return "group";
    case CONFIG_TYPE_INT: return "integer";
    case CONFIG_TYPE_INT64: return "integer";
    case CONFIG_TYPE_FLOAT: return "float";
    case CONFIG_TYPE_STRING: return "string";
    case CONFIG_TYPE_BOOL: return "boolean";
    case CONFIG_TYPE_ARRAY: return "array";
    case CONFIG_TYPE_LIST: return "list";
    default: return "nothing";
    }
}

/* Reports a wrong type for key. */
int conf_wrong_type(struct conf_ctx *x, const config_setting_t *s, const char *key,
                    const char *want)
{
    return conf_error(x, s, "wrong type for '%s': want %s, got %s", key, want, conf_type_name(s));
}

/* Builds "prefix.name" (or "name" at the top level) into buf. */
void conf_key(char *buf, size_t buflen, const char *prefix, const char *name)
{
    char clean[64];
    log_sanitize(clean, sizeof clean, name, strlen(name));
    snprintf(buf, buflen, "%s%s%s", prefix, *prefix ? "." : "", clean);
}

/* ---- syntax ---- */

/* True for a DNS host name: labels of [A-Za-z0-9_-], 1..63 bytes, 253 bytes in all. */
bool conf_is_hostname(const char *s, size_t len)
{
    if (len == 0 || len > 253)
        return false;
    size_t label = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '.') {
            if (label == 0 || s[i - 1] == '-')
                return false;
            label = 0;
        } else if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                   (ch >= '0' && ch <= '9') || ch == '_' || (ch == '-' && label > 0)) {
            if (++label > 63)
                return false;
        } else {
            return false;
        }
    }
    return label > 0 && s[len - 1] != '-';
}

/* Parses a decimal port 1..65535 (no sign, no leading zero) filling all of s. */
int conf_port_parse(const char *s, size_t len, uint16_t *port)
{
    unsigned v = 0;
    if (len == 0 || len > 5 || s[0] == '0')
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v == 0 || v > 65535)
        return -1;
    *port = (uint16_t)v;
    return 0;
}

/* Returns AF_INET / AF_INET6 when s[0..len) is a textual IP address, else 0. */
int conf_ip_family(const char *s, size_t len)
{
    char tmp[64];
    unsigned char bin[16];
    if (len == 0 || len >= sizeof tmp)
        return 0;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    if (inet_pton(AF_INET, tmp, bin) == 1)
        return AF_INET;
    if (inet_pton(AF_INET6, tmp, bin) == 1)
        return AF_INET6;
    return 0;
}

/* Validates a listen address: "a.b.c.d:port" or "[v6]:port". */
bool conf_is_listen(const char *s, size_t len)
{
    uint16_t port;
    const char *colon = memrchr(s, ':', len);
    if (colon == NULL || conf_port_parse(colon + 1, len - (size_t)(colon - s) - 1, &port) < 0)
        return false;
    size_t alen = (size_t)(colon - s);
    if (alen >= 2 && s[0] == '[' && s[alen - 1] == ']')
        return conf_ip_family(s + 1, alen - 2) == AF_INET6;
    return conf_ip_family(s, alen) == AF_INET;
}

/* Validates a resolver forwarder: "ip" or "ip@port" (unbound's syntax). */
bool conf_is_forwarder(const char *s, size_t len)
{
    uint16_t port;
    const char *at = memchr(s, '@', len);
    size_t alen = at ? (size_t)(at - s) : len;
    if (at != NULL && conf_port_parse(at + 1, len - alen - 1, &port) < 0)
        return false;
    return conf_ip_family(s, alen) != 0;
}

/* Validates a glob pattern (smtpd.sloppy_helo): printable ASCII without blanks. */
bool conf_is_pattern(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
            return false;
    return len > 0;
}

bool conf_is_action(const char *s, size_t len)
{
    struct policyd_reply r;
    return policyd_action_parse(s, len, &r) == 0;
}

/* Validates a sender pattern: "domain" or "local@domain" (unquoted local part). */
bool conf_is_sender(const char *s, size_t len)
{
    const char *at = memchr(s, '@', len);
    if (at == NULL)
        return conf_is_hostname(s, len);
    size_t llen = (size_t)(at - s);
    if (llen == 0 || llen > 64)
        return false;
    for (size_t i = 0; i < llen; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch <= ' ' || ch >= 0x7f || strchr("@<>\"(),;:\\[]", ch) != NULL)
            return false;
    }
    return conf_is_hostname(at + 1, len - llen - 1);
}

/* ---- texts ---- */

/* Fetches a string value (type-checked). */
int conf_string(struct conf_ctx *x, const config_setting_t *s, const char *key,
                const char **out)
{
    if (config_setting_type(s) != CONFIG_TYPE_STRING)
        return conf_wrong_type(x, s, key, "string");
    *out = config_setting_get_string(s);
    return 0;
}

/* True for VERP delimiters: two different printable characters, neither a letter, a digit,
 * a blank nor one of @ < > " \ . */
static bool conf_is_delims(const char *s, size_t len)
{
    bool ok = len == 2 && s[0] != s[1];
    for (size_t i = 0; ok && i < len; i++)
        ok = (unsigned char)s[i] > ' ' && (unsigned char)s[i] < 0x7f &&
             !isalnum((unsigned char)s[i]) && strchr("@<>\"\\.", s[i]) == NULL;
    return ok;
}

#define CONF_RE_BOUND 100   /* largest count of a {n,m} repetition */
#define CONF_RE_COPIES 1000 /* product of every {n,m} bound: copies regcomp may expand */
#define CONF_RE_DEPTH 16    /* nested groups */

/* The end of the bracket expression that starts at s[i] ('['): the index of its ']', or
 * len when it is not closed. */
static size_t conf_re_bracket(const char *s, size_t i, size_t len)
{
    i++;
    if (i < len && s[i] == '^')
        i++;
    if (i < len && s[i] == ']')
        i++;
    for (; i < len && s[i] != ']'; i++)
        if (s[i] == '[' && i + 1 < len && strchr(":.=", s[i + 1])) {
            const char *close = memchr(s + i + 2, s[i + 1], len - i - 2);
            if (!close || close + 1 >= s + len || close[1] != ']')
                return len;
            i = (size_t)(close + 1 - s);
        }
    return i;
}

/* The shape checks regcomp(3) does not make: no back-reference (matching time), no
 * quantifier right after another and bounded repetitions whose product stays small
 * (glibc expands them into copies: memory), groups nested at most CONF_RE_DEPTH deep. */
static bool conf_re_shape_ok(const char *s, size_t len)
{
    unsigned long copies = 1;
    int depth = 0;
    bool quant = false; /* the previous token was a quantifier */
    for (size_t i = 0; i < len; i++) {
        bool q = false;
        if (s[i] == '\\') {
            if (++i < len && s[i] >= '1' && s[i] <= '9')
                return false;
        } else if (s[i] == '[') {
            if ((i = conf_re_bracket(s, i, len)) >= len)
                return false;
        } else if (s[i] == '(' || s[i] == ')') {
            depth += s[i] == '(' ? 1 : -1;
            if (depth > CONF_RE_DEPTH)
                return false;
        } else if (s[i] == '*' || s[i] == '+' || s[i] == '?') {
            q = true;
        } else if (s[i] == '{') {
            char *end;
            unsigned long lo = strtoul(s + i + 1, &end, 10), hi = lo;
            if (*end == ',')
                hi = end[1] == '}' ? lo : strtoul(end + 1, &end, 10);
            if (lo > CONF_RE_BOUND || hi > CONF_RE_BOUND || (copies *= hi + 1) > CONF_RE_COPIES)
                return false;
            const char *close = memchr(s + i, '}', len - i);
            if (!close)
                return false;
            i = (size_t)(close - s);
            q = true;
        }
        if (q && quant)
            return false;
        quant = q;
    }
    return true;
}

/* True for an extended regular expression of 1..CONF_MAX_ITEM printable bytes that
 * compiles and passes conf_re_shape_ok(). */
static bool conf_is_regex(const char *str, size_t len)
{
    regex_t re;
    if (len == 0 || len > CONF_MAX_ITEM)
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)str[i] < ' ' || (unsigned char)str[i] == 0x7f)
            return false;
    if (!conf_re_shape_ok(str, len) || regcomp(&re, str, REG_EXTENDED | REG_ICASE | REG_NOSUB) != 0)
        return false;
    regfree(&re);
    return true;
}

/* True for a policy selector: "GLOB", "smtp/GLOB", "mx:GLOB" (or "mx:.suffix"), "ip:CIDR". */
bool conf_is_selector(const char *s, size_t len)
{
    struct cidr c;
    if (len > 3 && strncasecmp(s, "ip:", 3) == 0)
        return cidr_parse(s + 3, len - 3, &c) == 0;
    if (len > 3 && strncasecmp(s, "mx:", 3) == 0)
        return conf_is_pattern(s + 3, len - 3);
    if (len > 5 && strncasecmp(s, "smtp/", 5) == 0)
        s += 5, len -= 5;
    return conf_is_pattern(s, len) && !memchr(s, '/', len) && !memchr(s, ':', len);
}

/* True when str[0..len) is a valid value of text kind p->kind. */
static bool conf_text_ok(const struct conf_key *p, const char *str, size_t len)
{
    switch (p->kind) {
    case CONF_MAILBOX:
        return len == 0 || (len <= 256 && memchr(str, '@', len) && conf_is_sender(str, len));
    case CONF_DELIMS: return conf_is_delims(str, len);
    case CONF_LOGPATH: return logpath_check(str, len, NULL) == 0;
    case CONF_ACTION: return conf_is_action(str, len);
    case CONF_REGEX: return conf_is_regex(str, len);
    case CONF_NEXTHOP: {
        struct nexthop nh;
        const char *why;
        return nexthop_parse(str, len, &nh, &why) == 0;
    }
    default: break;
    }
    bool ok = len > 0 && len <= CONF_MAX_ITEM;
    for (size_t i = 0; ok && i < len; i++)
        ok = (unsigned char)str[i] >= ' ' && (unsigned char)str[i] != 0x7f;
    if (ok && p->kind == CONF_HOST) {
        bool literal = (p->flags & CONF_F_LITERAL) && len > 2 && str[0] == '[' &&
                       str[len - 1] == ']' && conf_ip_family(str + 1, len - 2) != 0;
        ok = literal || conf_is_hostname(str, len);
    }
    return ok;
}

/* Validates str for text row p and stores a copy into its char * at base. */
int conf_set_text(struct conf_ctx *x, const config_setting_t *s, const char *key,
                  const struct conf_key *p, void *base, const char *str)
{
    static const char *const what[] = {
        [CONF_PATH] = "path", [CONF_HOST] = "host name", [CONF_TEXT] = "text",
        [CONF_MAILBOX] = "address",
        [CONF_DELIMS] = "delimiters (want two characters, e.g. \"+=\")",
        [CONF_LOGPATH] = "path template",
        [CONF_ACTION] = ("action (DUNNO, OK, REJECT, DEFER, DEFER_IF_PERMIT, HOLD, DISCARD "
                         "or 4NN/5NN text)"),
        [CONF_REGEX] = "regular expression (extended; no back-reference, stacked quantifier or {n} over 100)",
        [CONF_NEXTHOP] = ("next hop (want local, lmtp:unix:PATH, lmtp:inet:HOST:PORT, "
                          "smtp:[HOST]:PORT, error:TEXT or hold)"),
    };
    char q[96];
    size_t len = strlen(str);
    if (!conf_text_ok(p, str, len))
        return conf_error(x, s, "bad %s for '%s': %s%s", what[p->kind], key,
                          conf_quote(q, sizeof q, str, len),
                          p->kind == CONF_LOGPATH ? " (tokens: %Y% %M% %D% %H% %DT% %DIRLOG% "
                                                    "%SYSNAME% %%)"
                                                  : "");
    char **dst = (char **)((char *)base + p->off);
    free(*dst);
    *dst = xstrdup(str);
    if (p->flags & CONF_F_HOSTNAME) {
        free(x->c->deliver.client.announcehost);
        x->c->deliver.client.announcehost = xstrdup(str);
    }
    return 0;
}

/* Reads a text value of row p. */
int conf_read_text(struct conf_ctx *x, const config_setting_t *s, const char *key,
                   const struct conf_key *p, void *base)
{
    const char *str = NULL;
    if (conf_string(x, s, key, &str) < 0)
        return -1;
    return conf_set_text(x, s, key, p, base, str);
}

/* ---- numbers ---- */

/* Stores v into the field of number row p at base. */
void conf_store_number(const struct conf_key *p, void *base, uint64_t v)
{
    char *field = (char *)base + p->off;
    switch (p->kind) {
    case CONF_UINT:
        *(unsigned *)field = (v == 0 && (p->flags & CONF_F_ZERO_IS_ONE)) ? 1 : (unsigned)v;
        break;
    case CONF_ROT:
    case CONF_MBOXKIND: *(unsigned *)field = (unsigned)v; break;
    case CONF_PORT: *(uint16_t *)field = (uint16_t)v; break;
    case CONF_BOOL:
    case CONF_OVERRIDE: *(bool *)field = v != 0; break;
    case CONF_TLSMODE:
    case CONF_TLSPROTO:
    case CONF_LOGTARGET:
    case CONF_DKIMALG:
    case CONF_CANON:
    case CONF_MILTERACT:
    case CONF_RULE_AT:
    case CONF_RULE_ACTION:
    case CONF_SPREAD:
    case CONF_ORDER: *(unsigned *)field = (unsigned)v; break;
    case CONF_RATE: *(double *)field = (double)v / 1000.0; break;
    case CONF_U64:
    case CONF_DURATION: *(uint64_t *)field = v; break;
    default: log_panic("conf: %s is not a number", p->name);
    }
}

/* Reads an integer (32 or 64 bit) within p's bounds. */
int conf_read_number(struct conf_ctx *x, const config_setting_t *s, const char *key,
                     const struct conf_key *p, void *base)
{
    int t = config_setting_type(s);
    if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64)
        return conf_wrong_type(x, s, key, "integer");
    long long v = config_setting_get_int64(s);
    if (v < 0 || (uint64_t)v < p->min || (uint64_t)v > p->max)
        return conf_error(x, s, "'%s' out of range: %lld not in %llu..%llu", key, v,
                          (unsigned long long)p->min, (unsigned long long)p->max);
    conf_store_number(p, base, (uint64_t)v);
    return 0;
}

/* Reads a rate (CONF_RATE): an integer or a float within p's bounds (thousandths). */
int conf_read_rate(struct conf_ctx *x, const config_setting_t *s, const char *key,
                   const struct conf_key *p, void *base)
{
    int t = config_setting_type(s);
    double v;
    if (t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64)
        v = (double)config_setting_get_int64(s);
    else if (t == CONFIG_TYPE_FLOAT)
        v = config_setting_get_float(s);
    else
        return conf_wrong_type(x, s, key, "number");
    if (!(v * 1000.0 >= (double)p->min && v * 1000.0 <= (double)p->max))
        return conf_error(x, s, "'%s' out of range: %g not in %g..%g", key, v,
                          (double)p->min / 1000.0, (double)p->max / 1000.0);
    *(double *)((char *)base + p->off) = v;
    return 0;
}

/* Reads a duration: a string for duration_parse() or an integer count of ms. */
int conf_read_duration(struct conf_ctx *x, const config_setting_t *s, const char *key,
                       const struct conf_key *p, void *base)
{
    char q[96], a[32], b[32], v[32];
    int t = config_setting_type(s);
    uint64_t ms;
    if (t == CONFIG_TYPE_STRING) {
        const char *str = config_setting_get_string(s);
        if (duration_parse(str, strlen(str), &ms) < 0)
            return conf_error(x, s, "bad duration for '%s': %s", key,
                              conf_quote(q, sizeof q, str, strlen(str)));
    } else if (t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64) {
        long long iv = config_setting_get_int64(s);
        if (iv < 0)
            return conf_error(x, s, "'%s' out of range: %lld not in %s..%s", key, iv,
                              duration_to_text(p->min, a, sizeof a),
                              duration_to_text(p->max, b, sizeof b));
        ms = (uint64_t)iv;
    } else {
        return conf_wrong_type(x, s, key, "duration (string or integer ms)");
    }
    if (ms < p->min || ms > p->max)
        return conf_error(x, s, "'%s' out of range: %s not in %s..%s", key,
                          duration_to_text(ms, v, sizeof v), duration_to_text(p->min, a, sizeof a),
                          duration_to_text(p->max, b, sizeof b));
    conf_store_number(p, base, ms);
    return 0;
}

/* Reads a boolean: libconfig true/false, or the seed's "Y"/"N"/"yes"/"no" (any case). */
int conf_read_bool(struct conf_ctx *x, const config_setting_t *s, const char *key,
                   const struct conf_key *p, void *base)
{
    static const char *const yes[] = {"y", "yes", "true"}, *const no[] = {"n", "no", "false"};
    char q[96];
    if (config_setting_type(s) == CONFIG_TYPE_BOOL) {
        conf_store_number(p, base, config_setting_get_bool(s) != 0);
        return 0;
    }
    if (config_setting_type(s) != CONFIG_TYPE_STRING)
        return conf_wrong_type(x, s, key, "boolean");
    const char *str = config_setting_get_string(s);
    for (size_t i = 0; i < 3; i++) {
        if (strcasecmp(str, yes[i]) == 0 || strcasecmp(str, no[i]) == 0) {
            conf_store_number(p, base, strcasecmp(str, yes[i]) == 0);
            return 0;
        }
    }
    return conf_error(x, s, "bad boolean for '%s': %s (want true/false, Y/N, yes/no)", key,
                      conf_quote(q, sizeof q, str, strlen(str)));
}

/* Reads a log rotation name. */
int conf_read_rot(struct conf_ctx *x, const config_setting_t *s, const char *key,
                  const struct conf_key *p, void *base)
{
    const char *str = NULL;
    char q[96];
    if (conf_string(x, s, key, &str) < 0)
        return -1;
    int rot = logpath_rot_parse(str);
    if (rot < 0)
        return conf_error(x, s, "bad rotation for '%s': %s (want never, hourly, daily or monthly)",
                          key, conf_quote(q, sizeof q, str, strlen(str)));
    conf_store_number(p, base, (uint64_t)rot);
    return 0;
}

/* The words of the word kinds and the values they stand for. */
static const struct {
    enum conf_kind kind;
    const char *word;
    uint64_t value;
} conf_words[] = {
    {CONF_TLSMODE, "none", RELAY_TLS_NONE},     {CONF_TLSMODE, "starttls", RELAY_TLS_STARTTLS},
    {CONF_TLSMODE, "implicit", RELAY_TLS_IMPLICIT}, {CONF_TLSPROTO, "TLSv1.2", 2},
    {CONF_TLSPROTO, "TLSv1.3", 3},              {CONF_OVERRIDE, "external", 1},
    {CONF_LOGTARGET, "stderr", LOG_TARGET_STDERR}, {CONF_LOGTARGET, "file", LOG_TARGET_FILE},
    {CONF_LOGTARGET, "syslog", LOG_TARGET_SYSLOG},
    {CONF_RULE_AT, "any", RULE_AT_ANY},         {CONF_RULE_AT, "greeting", RULE_AT_GREETING},
    {CONF_RULE_AT, "mail", RULE_AT_MAIL},       {CONF_RULE_AT, "rcpt", RULE_AT_RCPT},
    {CONF_RULE_AT, "data", RULE_AT_DATA},       {CONF_RULE_ACTION, "suspend", RULE_SUSPEND},
    {CONF_RULE_ACTION, "reduce_concurrency", RULE_REDUCE_CONCURRENCY},
    {CONF_RULE_ACTION, "reduce_rate", RULE_REDUCE_RATE},
    {CONF_RULE_ACTION, "bounce", RULE_BOUNCE},
    {CONF_SPREAD, "failover", RELAY_SPREAD_FAILOVER}, {CONF_SPREAD, "parallel", RELAY_SPREAD_PARALLEL},
    {CONF_ORDER, "listed", RELAY_ORDER_LISTED}, {CONF_ORDER, "random", RELAY_ORDER_RANDOM},
    {CONF_MBOXKIND, "maildir", LOCAL_MAILDIR},  {CONF_MBOXKIND, "mbox", LOCAL_MBOX},
    {CONF_DKIMALG, "rsa-sha256", DKIM_ALG_RSA_SHA256},
    {CONF_DKIMALG, "ed25519-sha256", DKIM_ALG_ED25519_SHA256},
    {CONF_CANON, "relaxed/relaxed", DKIM_CANON_RELAXED_RELAXED},
    {CONF_CANON, "relaxed/simple", DKIM_CANON_RELAXED_SIMPLE},
    {CONF_CANON, "simple/relaxed", DKIM_CANON_SIMPLE_RELAXED},
    {CONF_CANON, "simple/simple", DKIM_CANON_SIMPLE_SIMPLE},
    {CONF_MILTERACT, "accept", CONF_MILTER_ACCEPT},
    {CONF_MILTERACT, "tempfail", CONF_MILTER_TEMPFAIL},
    {CONF_MILTERACT, "reject", CONF_MILTER_REJECT},
};

/* The word of value v of kind k, "" when none. */
const char *conf_word_name(enum conf_kind k, uint64_t v)
{
    for (size_t i = 0; i < sizeof conf_words / sizeof conf_words[0]; i++)
        if (conf_words[i].kind == k && conf_words[i].value == v)
            return conf_words[i].word;
    return "";
}

/* Reads one of the words of p's kind (case does not matter). */
int conf_read_word(struct conf_ctx *x, const config_setting_t *s, const char *key,
                   const struct conf_key *p, void *base)
{
    const char *str = NULL;
    char q[96], want[64] = "";
    if (conf_string(x, s, key, &str) < 0)
        return -1;
    for (size_t i = 0; i < sizeof conf_words / sizeof conf_words[0]; i++) {
        if (conf_words[i].kind != p->kind)
            continue;
        if (strcasecmp(str, conf_words[i].word) == 0) {
            conf_store_number(p, base, conf_words[i].value);
            return 0;
        }
        snprintf(want + strlen(want), sizeof want - strlen(want), "%s%s", *want ? ", " : "",
                 conf_words[i].word);
    }
    return conf_error(x, s, "bad value for '%s': %s (want %s)", key,
                      conf_quote(q, sizeof q, str, strlen(str)), want);
}

/* ---- retries ---- */

/* Parses str into the retries array/count of p at base. */
int conf_set_retries(struct conf_ctx *x, const config_setting_t *s, const char *key,
                     const struct conf_key *p, void *base, const char *str)
{
    char q[96];
    unsigned *arr;
    size_t n;
    if (conf_retries_parse(str, &arr, &n) < 0)
        return conf_error(x, s,
                          "bad retries for '%s': %s (want 1..64 factors 1..100000 "
                          "separated by blanks)",
                          key, conf_quote(q, sizeof q, str, strlen(str)));
    unsigned **dst = (unsigned **)((char *)base + p->off);
    free(*dst);
    *dst = arr;
    *(size_t *)((char *)base + p->cnt) = n;
    return 0;
}

/* Reads the retries string. */
int conf_read_retries(struct conf_ctx *x, const config_setting_t *s, const char *key,
                      const struct conf_key *p, void *base)
{
    const char *str = NULL;
    if (conf_string(x, s, key, &str) < 0)
        return -1;
    return conf_set_retries(x, s, key, p, base, str);
}

/* Parses blank-separated positive factors; see conf.h. */
int conf_retries_parse(const char *s, unsigned **out, size_t *n)
{
    unsigned v[64];
    size_t count = 0;
    if (s == NULL || strnlen(s, CONF_MAX_RETRIES_TEXT + 1) > CONF_MAX_RETRIES_TEXT)
        return -1;
    for (const char *p = s; *p;) {
        if (*p == ' ' || *p == '\t') {
            p++;
            continue;
        }
        unsigned f = 0;
        const char *start = p;
        while (*p >= '0' && *p <= '9' && p - start < 7)
            f = f * 10 + (unsigned)(*p++ - '0');
        if (p == start || f == 0 || f > 100000 || count == 64 ||
            (*p != '\0' && *p != ' ' && *p != '\t'))
            return -1;
        v[count++] = f;
    }
    if (count == 0)
        return -1;
    *out = xmalloc(count * sizeof **out);
    memcpy(*out, v, count * sizeof **out);
    *n = count;
    return 0;
}
