/* conf: sluice's configuration, one libconfig file loaded into struct conf (conf.h).
 * Owns: the parameter tables (name, type, default, bounds) and their validation.
 * Public functions:
 *   conf_defaults()      every default; hostname from gethostname() ("localhost" if none).
 *   conf_load()          reads FILE over a struct filled by conf_defaults(). Returns 0, or -1
 *                        with "FILE:LINE: message" in err; on -1 the struct is partly loaded
 *                        but still consistent (conf_free() releases it).
 *   conf_free()          releases everything; the struct may then be filled again.
 *   conf_client_for()    the remotenet override for a peer, else the base client settings.
 *   conf_retries_parse() ZMailer "retries" factors.
 * What counts as an error: an unknown key at any level, a value of the wrong type, a value out
 * of its bounds, a malformed duration / CIDR / address / host name, a list longer than its
 * hard maximum, an integer literal that libconfig 1.5 would silently truncate (it keeps
 * 32 bits of integers written without the L suffix) and "@include" (one file, one pre-scan):
 * a pre-scan of the text rejects those two, and NUL bytes.
 * Keys are applied in table order, not file order, so that hostname is known before
 * announcehost, the base client before its remotenets, and deliver.client.port before the
 * relays that default to it. */
#include "conf/conf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libconfig.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/xalloc.h"
#include "proto/duration.h"

#define CONF_MAX_FILE (1024 * 1024) /* bytes of configuration file */
#define CONF_MAX_LIST 1024          /* entries in any list */
#define CONF_MAX_ITEM 512           /* bytes of one string value */
#define CONF_MAX_RETRIES_TEXT 1024  /* bytes of a retries string */
#define CONF_KEY_MAX 160            /* bytes of a key path in messages */

enum conf_kind {
    CONF_PATH,       /* char *, non-empty, no control bytes */
    CONF_HOST,       /* char *, host name (or "[ip]" when CONF_F_LITERAL) */
    CONF_UINT,       /* unsigned */
    CONF_U64,        /* uint64_t */
    CONF_PORT,       /* uint16_t */
    CONF_DURATION,   /* uint64_t ms */
    CONF_BOOL,       /* bool */
    CONF_RETRIES,    /* unsigned *retries + size_t nretries (adjacent in struct conf) */
    CONF_GROUP,      /* nested table, same base */
    CONF_LISTEN,     /* char ** + size_t */
    CONF_CIDRS,      /* struct cidr * + size_t */
    CONF_FORWARDERS, /* char ** + size_t */
    CONF_DOMAINS,    /* char ** + size_t, lower-cased */
    CONF_SENDERS,    /* char ** + size_t, lower-cased */
    CONF_RNET_IP,    /* struct remotenet nets/hosts */
    CONF_RELAY_ADDR, /* struct relay address/host/port/literal */
    CONF_REMOTENETS, /* struct conf deliver.remotenets */
    CONF_RELAYS,     /* struct conf deliver.relays */
    CONF_LOGSPEC,    /* struct logspec: template string, or group path/rot/flush[/peers] */
    CONF_MAILBOX,    /* char *, "" or local@domain (deliver.double_bounce) */
    CONF_DELIMS,     /* char *, two VERP delimiters (deliver.verp_delimiters) */
    CONF_TEXT,       /* char *, non-empty printable text (smtpd.hdr220) */
    CONF_LINES,      /* char ** + size_t, printable lines, may be empty (smtpd.help) */
    CONF_PATTERNS,   /* char ** + size_t, glob patterns without blanks, lower-cased */
    CONF_TLS_MODE,   /* unsigned enum relay_tls_mode: "none", "starttls", "implicit" */
    CONF_TLS_PROTO,  /* unsigned TLS minor version: "TLSv1.2" -> 2, "TLSv1.3" -> 3 */
    CONF_AUTH_OVERRIDE, /* bool relay_auth.external: "external" (the only override) */
    CONF_SECRET,     /* char *, 1..255 bytes without control bytes, never quoted in errors */
    CONF_SECRET_FILE, /* char *: the first line of a file only its owner (root, the sluice
                         user or us) may read */
    CONF_RELAY_SSL,  /* struct relay_ssl: group, defaults first */
    CONF_RELAY_AUTH, /* struct relay_auth: group, defaults first */
};

#define CONF_F_ZERO_IS_ONE 0x1 /* maxpipeline: 0 means 1 */
#define CONF_F_LITERAL 0x2     /* announcehost: "[ip]" allowed */
#define CONF_F_HOSTNAME 0x4    /* hostname: announcehost follows it unless set */
#define CONF_F_NONEMPTY 0x8    /* list must have at least one entry */
#define CONF_F_PEERS 0x10      /* logspec: a transcript, "peers" allowed */

struct conf_param {
    const char *name;
    enum conf_kind kind;
    size_t off; /* value (or array pointer) within the base object */
    size_t cnt; /* element count within the base object, for lists */
    uint64_t min, max;
    unsigned flags;
    const struct conf_param *sub; /* CONF_GROUP */
};

struct conf_ctx {
    struct conf *c;
    const char *path;
    char *err;
    size_t errlen;
};

/* A list item collector: validates item[0..len) and appends it to the list at base. */
typedef int (*conf_item_fn)(struct conf_ctx *x, const config_setting_t *s, const char *key,
                            const char *item, size_t len, void *base,
                            const struct conf_param *p);

#define DUR_S UINT64_C(1000)
#define DUR_M (60 * DUR_S)
#define DUR_H (60 * DUR_M)
#define DUR_D (24 * DUR_H)
#define FIELD(T, f) offsetof(T, f)
#define LIST(T, a, n) offsetof(T, a), offsetof(T, n)

/* Opportunistic TLS (anonssl) relative to struct type T at member path P. */
#define CONF_ANONSSL_KEYS(T, P)                                                                 \
    {"latent", CONF_BOOL, FIELD(T, P.anonssl.latent), 0, 0, 0, 0, NULL},                        \
        {"mandatory", CONF_BOOL, FIELD(T, P.anonssl.mandatory), 0, 0, 0, 0, NULL},              \
        {"min_protocol", CONF_TLS_PROTO, FIELD(T, P.anonssl.min_tls), 0, 0, 0, 0, NULL},       \
        {NULL, 0, 0, 0, 0, 0, 0, NULL}
static const struct conf_param conf_anonssl_base_keys[] = {
    CONF_ANONSSL_KEYS(struct conf, deliver.client)};
static const struct conf_param conf_anonssl_rnet_keys[] = {
    CONF_ANONSSL_KEYS(struct remotenet, client)};

/* The settings a remotenet may override, relative to struct type T at member path P, with
 * the anonssl table A of the same base. */
#define CONF_CLIENT_KEYS(T, P, A)                                                               \
    {"announcehost", CONF_HOST, FIELD(T, P.announcehost), 0, 0, 0, CONF_F_LITERAL, NULL},       \
        {"maxpipeline", CONF_UINT, FIELD(T, P.maxpipeline), 0, 0, 1000, CONF_F_ZERO_IS_ONE, NULL}, \
        {"timeout", CONF_DURATION, FIELD(T, P.timeout), 0, DUR_S, DUR_H, 0, NULL},              \
        {"mindatarate", CONF_U64, FIELD(T, P.mindatarate), 0, 1, UINT64_C(1000000000000), 0, NULL}, \
        {"sayHELO", CONF_BOOL, FIELD(T, P.sayHELO), 0, 0, 0, 0, NULL},                          \
        {"fallbackHELO", CONF_BOOL, FIELD(T, P.fallbackHELO), 0, 0, 0, 0, NULL},                \
        {"sendQUIT", CONF_BOOL, FIELD(T, P.sendQUIT), 0, 0, 0, 0, NULL},                        \
        {"waitQUIT", CONF_BOOL, FIELD(T, P.waitQUIT), 0, 0, 0, 0, NULL},                        \
        {"anonssl", CONF_GROUP, 0, 0, 0, 0, 0, A}

static const struct conf_param conf_remotenet_keys[] = {
    {"ip", CONF_RNET_IP, 0, 0, 0, 0, 0, NULL},
    CONF_CLIENT_KEYS(struct remotenet, client, conf_anonssl_rnet_keys),
    {NULL, 0, 0, 0, 0, 0, 0, NULL},
};

#define RELAY_SSL(n, k) {#n, k, FIELD(struct relay_ssl, n), 0, 0, 0, 0, NULL}
static const struct conf_param conf_relay_ssl_keys[] = {
    RELAY_SSL(mode, CONF_TLS_MODE),
    RELAY_SSL(verify, CONF_BOOL),
    RELAY_SSL(ca_file, CONF_PATH),
    {"verify_name", CONF_HOST, FIELD(struct relay_ssl, verify_name), 0, 0, 0, CONF_F_LITERAL, NULL},
    {"min_protocol", CONF_TLS_PROTO, FIELD(struct relay_ssl, min_tls), 0, 0, 0, 0, NULL},
    RELAY_SSL(cert_file, CONF_PATH),
    RELAY_SSL(key_file, CONF_PATH),
    {NULL, 0, 0, 0, 0, 0, 0, NULL},
};

#define RELAY_AUTH(n, k) {#n, k, FIELD(struct relay_auth, n), 0, 0, 0, 0, NULL}
static const struct conf_param conf_relay_auth_keys[] = {
    RELAY_AUTH(enabled, CONF_BOOL),
    RELAY_AUTH(initrsp, CONF_BOOL),
    {"override", CONF_AUTH_OVERRIDE, FIELD(struct relay_auth, external), 0, 0, 0, 0, NULL},
    RELAY_AUTH(allow_cleartext, CONF_BOOL),
    RELAY_AUTH(username, CONF_SECRET),
    RELAY_AUTH(password, CONF_SECRET),
    {"password_file", CONF_SECRET_FILE, FIELD(struct relay_auth, password), 0, 0, 0, 0, NULL},
    {NULL, 0, 0, 0, 0, 0, 0, NULL},
};

static const struct conf_param conf_relay_keys[] = {
    {"address", CONF_RELAY_ADDR, 0, 0, 0, 0, 0, NULL},
    {"destdomains", CONF_DOMAINS, LIST(struct relay, destdomains, ndestdomains), 0, 0, 0, NULL},
    {"senders", CONF_SENDERS, LIST(struct relay, senders, nsenders), 0, 0, 0, NULL},
    {"sendernets", CONF_CIDRS, LIST(struct relay, sendernets, nsendernets), 0, 0, 0, NULL},
    {"ssl", CONF_RELAY_SSL, FIELD(struct relay, ssl), 0, 0, 0, 0, conf_relay_ssl_keys},
    {"auth", CONF_RELAY_AUTH, FIELD(struct relay, auth), 0, 0, 0, 0, conf_relay_auth_keys},
    {NULL, 0, 0, 0, 0, 0, 0, NULL},
};

static const struct conf_param conf_client_keys[] = {
    CONF_CLIENT_KEYS(struct conf, deliver.client, conf_anonssl_base_keys),
    {"port", CONF_PORT, FIELD(struct conf, deliver.port), 0, 1, 65535, 0, NULL},
    {"fallbackMX_A", CONF_BOOL, FIELD(struct conf, deliver.fallbackMX_A), 0, 0, 0, 0, NULL},
    {"remotenets", CONF_REMOTENETS, 0, 0, 0, 0, 0, NULL},
    {"transcript", CONF_LOGSPEC, FIELD(struct conf, deliver.transcript), 0, 0, 0, CONF_F_PEERS,
     NULL},
    {NULL, 0, 0, 0, 0, 0, 0, NULL},
};

#define DELIVER_UINT(n, lo, hi) {#n, CONF_UINT, FIELD(struct conf, deliver.n), 0, lo, hi, 0, NULL}
#define DELIVER_DUR(n, lo, hi) {#n, CONF_DURATION, FIELD(struct conf, deliver.n), 0, lo, hi, 0, NULL}
static const struct conf_param conf_deliver_keys[] = {
    DELIVER_UINT(queuecache, 1, 10000000),
    DELIVER_UINT(maxconnections, 1, 100000),
    DELIVER_UINT(maxserverconnections, 1, 100000),
    DELIVER_UINT(maxmessages, 1, 100000),
    DELIVER_UINT(maxrecips, 1, 100000),
    DELIVER_DUR(interval_low, 1, DUR_H),
    DELIVER_DUR(interval_high, 1, DUR_D),
    DELIVER_DUR(interval_error, 1, DUR_D),
    DELIVER_DUR(delay_start, 0, DUR_D),
    {"retries", CONF_RETRIES, LIST(struct conf, deliver.retries, deliver.nretries), 0, 0, 0, NULL},
    DELIVER_DUR(interval, DUR_S, DUR_D),
    DELIVER_UINT(skew, 0, 1000),
    DELIVER_DUR(expiry, DUR_S, 365 * DUR_D),
    DELIVER_DUR(idlemax, 0, DUR_H),
    {"client", CONF_GROUP, 0, 0, 0, 0, 0, conf_client_keys},
    {"relays", CONF_RELAYS, 0, 0, 0, 0, 0, NULL},
    {"audit", CONF_LOGSPEC, FIELD(struct conf, deliver.audit), 0, 0, 0, 0, NULL},
    {"event_log", CONF_LOGSPEC, FIELD(struct conf, deliver.event_log), 0, 0, 0, 0, NULL},
    DELIVER_DUR(delay_warning, 0, 365 * DUR_D),
    {"double_bounce", CONF_MAILBOX, FIELD(struct conf, deliver.double_bounce), 0, 0, 0, 0, NULL},
    {"bounce_size_limit", CONF_U64, FIELD(struct conf, deliver.bounce_size_limit), 0, 0,
     UINT64_C(1) << 40, 0, NULL},
    {"verp", CONF_BOOL, FIELD(struct conf, deliver.verp), 0, 0, 0, 0, NULL},
    {"verp_domains", CONF_DOMAINS, LIST(struct conf, deliver.verp_domains, deliver.nverp_domains),
     0, 0, 0, NULL},
    {"verp_delimiters", CONF_DELIMS, FIELD(struct conf, deliver.verp_delimiters), 0, 0, 0, 0, NULL},
    {NULL, 0, 0, 0, 0, 0, 0, NULL},
};

#define SMTPD_UINT(n, lo, hi) {#n, CONF_UINT, FIELD(struct conf, smtpd.n), 0, lo, hi, 0, NULL}
#define SMTPD_DUR(n, lo, hi) {#n, CONF_DURATION, FIELD(struct conf, smtpd.n), 0, lo, hi, 0, NULL}
static const struct conf_param conf_smtpd_keys[] = {
    {"listen", CONF_LISTEN, LIST(struct conf, smtpd.listen, smtpd.nlisten), 0, 64, CONF_F_NONEMPTY,
     NULL},
    {"trusted_networks", CONF_CIDRS,
     LIST(struct conf, smtpd.trusted_networks, smtpd.ntrusted_networks), 0, 0, 0, NULL},
    {"transcript", CONF_LOGSPEC, FIELD(struct conf, smtpd.transcript), 0, 0, 0, CONF_F_PEERS, NULL},
    {"max_message_size", CONF_U64, FIELD(struct conf, smtpd.max_message_size), 0, 1024,
     UINT64_C(1) << 40, 0, NULL},
    {"submission_listen", CONF_LISTEN,
     LIST(struct conf, smtpd.submission_listen, smtpd.nsubmission_listen), 0, 64, 0, NULL},
    {"local_domains", CONF_DOMAINS, LIST(struct conf, smtpd.local_domains, smtpd.nlocal_domains),
     0, 0, 0, NULL},
    {"relay_domains", CONF_DOMAINS, LIST(struct conf, smtpd.relay_domains, smtpd.nrelay_domains),
     0, 0, 0, NULL},
    {"sloppy_helo", CONF_PATTERNS, LIST(struct conf, smtpd.sloppy_helo, smtpd.nsloppy_helo), 0, 0,
     0, NULL},
    {"sloppy_networks", CONF_CIDRS,
     LIST(struct conf, smtpd.sloppy_networks, smtpd.nsloppy_networks), 0, 0, 0, NULL},
    {"bare_newline_networks", CONF_CIDRS,
     LIST(struct conf, smtpd.bare_newline_networks, smtpd.nbare_newline_networks), 0, 0, 0, NULL},
    {"hdr220", CONF_TEXT, FIELD(struct conf, smtpd.hdr220), 0, 0, 0, 0, NULL},
    {"help", CONF_LINES, LIST(struct conf, smtpd.help, smtpd.nhelp), 0, 100, 0, NULL},
    SMTPD_UINT(vrfy_code, 252, 502),
    SMTPD_UINT(expn_code, 252, 502),
    SMTPD_DUR(deliverby, 0, DUR_D),
    SMTPD_UINT(max_connections, 1, 100000),
    SMTPD_UINT(max_connections_per_ip, 1, 100000),
    SMTPD_UINT(max_recipients, 100, 100000),
    SMTPD_UINT(max_error_recipients, 1, 100000),
    SMTPD_DUR(tarpit_initial, 0, DUR_M),
    SMTPD_UINT(tarpit_factor, 0, 100),
    SMTPD_DUR(command_timeout, DUR_S, DUR_H),
    SMTPD_DUR(session_timeout, DUR_S, DUR_D),
    {"min_free_space", CONF_U64, FIELD(struct conf, smtpd.min_free_space), 0, 0, UINT64_C(1) << 50,
     0, NULL},
    SMTPD_UINT(max_hops, 1, 1000),
    {"split_long_lines", CONF_BOOL, FIELD(struct conf, smtpd.split_long_lines), 0, 0, 0, 0, NULL},
    SMTPD_DUR(rdns_timeout, 0, DUR_M),
    {NULL, 0, 0, 0, 0, 0, 0, NULL},
};

static const struct conf_param conf_resolver_keys[] = {
    {"forwarders", CONF_FORWARDERS, LIST(struct conf, resolver.forwarders, resolver.nforwarders),
     0, 16, 0, NULL},
    {NULL, 0, 0, 0, 0, 0, 0, NULL},
};

static const struct conf_param conf_root_keys[] = {
    {"spool", CONF_PATH, FIELD(struct conf, spool), 0, 0, 0, 0, NULL},
    {"hostname", CONF_HOST, FIELD(struct conf, hostname), 0, 0, 0, CONF_F_HOSTNAME, NULL},
    {"user", CONF_PATH, FIELD(struct conf, user), 0, 0, 0, 0, NULL},
    {"smtpd", CONF_GROUP, 0, 0, 0, 0, 0, conf_smtpd_keys},
    {"resolver", CONF_GROUP, 0, 0, 0, 0, 0, conf_resolver_keys},
    {"deliver", CONF_GROUP, 0, 0, 0, 0, 0, conf_deliver_keys},
    {NULL, 0, 0, 0, 0, 0, 0, NULL},
};

static int conf_group(struct conf_ctx *x, const config_setting_t *g, const char *prefix,
                      const struct conf_param *tab, void *base);
static int conf_relay_check(struct conf_ctx *x, const config_setting_t *g, const char *k,
                            const struct relay *r);

/* ---- messages ---- */

/* Writes "FILE:LINE: message" for setting s (line 0 when s is NULL) and returns -1. */
static int __attribute__((format(printf, 3, 4)))
conf_error(struct conf_ctx *x, const config_setting_t *s, const char *fmt, ...)
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
static const char *conf_quote(char *buf, size_t buflen, const char *s, size_t len)
{
    char clean[72];
    log_sanitize(clean, sizeof clean, s, len > 64 ? 64 : len);
    snprintf(buf, buflen, "\"%s%s\"", clean, len > 64 ? "..." : "");
    return buf;
}

/* The libconfig type name used in "wrong type" messages. */
static const char *conf_type_name(const config_setting_t *s)
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
static int conf_wrong_type(struct conf_ctx *x, const config_setting_t *s, const char *key,
                           const char *want)
{
    return conf_error(x, s, "wrong type for '%s': want %s, got %s", key, want, conf_type_name(s));
}

/* Builds "prefix.name" (or "name" at the root) into buf. */
static void conf_key(char *buf, size_t buflen, const char *prefix, const char *name)
{
    char clean[64];
    log_sanitize(clean, sizeof clean, name, strlen(name));
    snprintf(buf, buflen, "%s%s%s", prefix, *prefix ? "." : "", clean);
}

/* ---- syntax of values ---- */

/* True for a DNS host name: labels of [A-Za-z0-9_-], 1..63 bytes, 253 bytes in all. */
static bool conf_is_hostname(const char *s, size_t len)
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
static int conf_port_parse(const char *s, size_t len, uint16_t *port)
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
static int conf_ip_family(const char *s, size_t len)
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
static bool conf_is_listen(const char *s, size_t len)
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
static bool conf_is_forwarder(const char *s, size_t len)
{
    uint16_t port;
    const char *at = memchr(s, '@', len);
    size_t alen = at ? (size_t)(at - s) : len;
    if (at != NULL && conf_port_parse(at + 1, len - alen - 1, &port) < 0)
        return false;
    return conf_ip_family(s, alen) != 0;
}

/* Validates a glob pattern (smtpd.sloppy_helo): printable ASCII without blanks. */
static bool conf_is_pattern(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
            return false;
    return len > 0;
}

/* Validates a sender pattern: "domain" or "local@domain" (unquoted local part). */
static bool conf_is_sender(const char *s, size_t len)
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

/* ---- scalar values ---- */

/* Fetches a string value (type-checked). */
static int conf_string(struct conf_ctx *x, const config_setting_t *s, const char *key,
                       const char **out)
{
    if (config_setting_type(s) != CONFIG_TYPE_STRING)
        return conf_wrong_type(x, s, key, "string");
    *out = config_setting_get_string(s);
    return 0;
}

/* Fetches an integer value (32 or 64 bit) and checks it against min..max. */
static int conf_integer(struct conf_ctx *x, const config_setting_t *s, const char *key,
                        const struct conf_param *p, uint64_t *out)
{
    int t = config_setting_type(s);
    if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64)
        return conf_wrong_type(x, s, key, "integer");
    long long v = config_setting_get_int64(s);
    if (v < 0 || (uint64_t)v < p->min || (uint64_t)v > p->max)
        return conf_error(x, s, "'%s' out of range: %lld not in %llu..%llu", key, v,
                          (unsigned long long)p->min, (unsigned long long)p->max);
    *out = (uint64_t)v;
    return 0;
}

/* Reads a duration: a string for duration_parse() or an integer count of ms. */
static int conf_duration(struct conf_ctx *x, const config_setting_t *s, const char *key,
                         const struct conf_param *p, uint64_t *out)
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
    *out = ms;
    return 0;
}

/* Reads a boolean: libconfig true/false, or the seed's "Y"/"N"/"yes"/"no" (any case). */
static int conf_bool(struct conf_ctx *x, const config_setting_t *s, const char *key, bool *out)
{
    static const char *const yes[] = {"y", "yes", "true"}, *const no[] = {"n", "no", "false"};
    char q[96];
    if (config_setting_type(s) == CONFIG_TYPE_BOOL) {
        *out = config_setting_get_bool(s) != 0;
        return 0;
    }
    if (config_setting_type(s) != CONFIG_TYPE_STRING)
        return conf_wrong_type(x, s, key, "boolean");
    const char *str = config_setting_get_string(s);
    for (size_t i = 0; i < 3; i++) {
        if (strcasecmp(str, yes[i]) == 0 || strcasecmp(str, no[i]) == 0) {
            *out = strcasecmp(str, yes[i]) == 0;
            return 0;
        }
    }
    return conf_error(x, s, "bad boolean for '%s': %s (want true/false, Y/N, yes/no)", key,
                      conf_quote(q, sizeof q, str, strlen(str)));
}

/* Reads a path or host name string into the char * at dst (replacing the old value). */
static int conf_text(struct conf_ctx *x, const config_setting_t *s, const char *key,
                     const struct conf_param *p, char **dst)
{
    const char *str = NULL;
    char q[96];
    if (conf_string(x, s, key, &str) < 0)
        return -1;
    size_t len = strlen(str);
    bool ok = len > 0 && len <= CONF_MAX_ITEM;
    for (size_t i = 0; ok && i < len; i++)
        ok = (unsigned char)str[i] >= ' ' && (unsigned char)str[i] != 0x7f;
    if (ok && p->kind == CONF_HOST) {
        bool literal = (p->flags & CONF_F_LITERAL) && len > 2 && str[0] == '[' &&
                       str[len - 1] == ']' && conf_ip_family(str + 1, len - 2) != 0;
        ok = literal || conf_is_hostname(str, len);
    }
    if (!ok)
        return conf_error(x, s, "bad %s for '%s': %s",
                          p->kind == CONF_HOST ? "host name" : p->kind == CONF_TEXT ? "text" : "path",
                          key, conf_quote(q, sizeof q, str, len));
    free(*dst);
    *dst = xstrdup(str);
    if (p->flags & CONF_F_HOSTNAME) {
        free(x->c->deliver.client.announcehost);
        x->c->deliver.client.announcehost = xstrdup(str);
    }
    return 0;
}

/* Reads the retries string into the array/count pair at base. */
static int conf_retries(struct conf_ctx *x, const config_setting_t *s, const char *key,
                        const struct conf_param *p, void *base)
{
    const char *str = NULL;
    char q[96];
    unsigned *arr;
    size_t n;
    if (conf_string(x, s, key, &str) < 0)
        return -1;
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

/* ---- lists ---- */

/* Appends one element of size elsz to the array at *arrp holding *n elements. */
static void *conf_push(void *arrp, size_t *n, size_t elsz)
{
    void **arr = arrp;
    *arr = xrealloc(*arr, (*n + 1) * elsz);
    void *slot = (char *)*arr + *n * elsz;
    memset(slot, 0, elsz);
    (*n)++;
    return slot;
}

/* Frees a string array and zeroes it. */
static void conf_free_strings(char ***arr, size_t *n)
{
    for (size_t i = 0; i < *n; i++)
        free((*arr)[i]);
    free(*arr);
    *arr = NULL;
    *n = 0;
}

/* Appends a copy (lower-cased when asked) of item to the string list of p at base. */
static void conf_push_string(void *base, const struct conf_param *p, const char *item, size_t len,
                             bool lower)
{
    char ***arr = (char ***)((char *)base + p->off);
    char **slot = conf_push(arr, (size_t *)((char *)base + p->cnt), sizeof(char *));
    *slot = xstrndup(item, len);
    for (size_t i = 0; lower && i < len; i++)
        (*slot)[i] = (char)tolower((unsigned char)(*slot)[i]);
}

/* Collects a listen address, forwarder, domain or sender after validating it. */
static int conf_item_string(struct conf_ctx *x, const config_setting_t *s, const char *key,
                            const char *item, size_t len, void *base, const struct conf_param *p)
{
    char q[96];
    bool ok;
    const char *what;
    switch (p->kind) {
    case CONF_LISTEN: ok = conf_is_listen(item, len), what = "listen address"; break;
    case CONF_FORWARDERS: ok = conf_is_forwarder(item, len), what = "forwarder"; break;
    case CONF_DOMAINS: ok = conf_is_hostname(item, len), what = "domain"; break;
    case CONF_PATTERNS: ok = conf_is_pattern(item, len), what = "pattern"; break;
    default: ok = conf_is_sender(item, len), what = "sender"; break;
    }
    if (!ok)
        return conf_error(x, s, "bad %s in '%s': %s", what, key, conf_quote(q, sizeof q, item, len));
    conf_push_string(base, p, item, len,
                     p->kind == CONF_DOMAINS || p->kind == CONF_SENDERS || p->kind == CONF_PATTERNS);
    return 0;
}

/* Collects a CIDR block. */
static int conf_item_cidr(struct conf_ctx *x, const config_setting_t *s, const char *key,
                          const char *item, size_t len, void *base, const struct conf_param *p)
{
    char q[96];
    struct cidr c;
    if (cidr_parse(item, len, &c) < 0)
        return conf_error(x, s, "bad CIDR in '%s': %s", key, conf_quote(q, sizeof q, item, len));
    struct cidr *slot = conf_push((char *)base + p->off, (size_t *)((char *)base + p->cnt),
                                  sizeof c);
    *slot = c;
    return 0;
}

/* Appends item to nets when it is a CIDR block, else (lower-cased) to names when it is a
 * host/domain name; otherwise an error naming `what`. Shared by remotenets and peers. */
static int conf_net_or_name(struct conf_ctx *x, const config_setting_t *s, const char *key,
                            const char *item, size_t len, struct cidr **nets, size_t *nnets,
                            char ***names, size_t *nnames, const char *what)
{
    struct cidr c;
    char q[96];
    if (cidr_parse(item, len, &c) == 0) {
        *(struct cidr *)conf_push(nets, nnets, sizeof c) = c;
        return 0;
    }
    if (!conf_is_hostname(item, len))
        return conf_error(x, s, "bad CIDR or %s in '%s': %s", what, key,
                          conf_quote(q, sizeof q, item, len));
    char **slot = conf_push(names, nnames, sizeof(char *));
    *slot = xstrndup(item, len);
    for (char *h = *slot; *h; h++)
        *h = (char)tolower((unsigned char)*h);
    return 0;
}

/* Collects a remotenet "ip" entry: a CIDR block, else a host name. */
static int conf_item_rnet(struct conf_ctx *x, const config_setting_t *s, const char *key,
                          const char *item, size_t len, void *base, const struct conf_param *p)
{
    struct remotenet *rn = base;
    (void)p;
    return conf_net_or_name(x, s, key, item, len, &rn->nets, &rn->nnets, &rn->hosts, &rn->nhosts,
                            "host name");
}

/* Splits a seed-style single string on seps and feeds each non-empty piece to fn. */
static int conf_split(struct conf_ctx *x, const config_setting_t *s, const char *key,
                      const char *str, const char *seps, conf_item_fn fn, void *base,
                      const struct conf_param *p, size_t *count)
{
    size_t i = 0, len = strlen(str);
    while (i < len) {
        size_t n = strcspn(str + i, seps);
        if (n > 0) {
            if (n > CONF_MAX_ITEM)
                return conf_error(x, s, "too long (max %d bytes) entry in '%s'", CONF_MAX_ITEM,
                                  key);
            if (++*count > (p->max ? p->max : CONF_MAX_LIST))
                return 0; /* the caller reports the count */
            if (fn(x, s, key, str + i, n, base, p) < 0)
                return -1;
        }
        i += n + (i + n < len);
    }
    return 0;
}

/* Feeds every string of an array/list (or of one seed-style separated string) to fn. */
static int conf_list(struct conf_ctx *x, const config_setting_t *s, const char *key,
                     const char *seps, conf_item_fn fn, void *base, const struct conf_param *p)
{
    size_t count = 0, max = p->max ? p->max : CONF_MAX_LIST;
    int t = config_setting_type(s);
    if (t == CONFIG_TYPE_STRING) {
        if (conf_split(x, s, key, config_setting_get_string(s), seps, fn, base, p, &count) < 0)
            return -1;
    } else if (t == CONFIG_TYPE_ARRAY || t == CONFIG_TYPE_LIST) {
        for (int i = 0; i < config_setting_length(s); i++) {
            const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
            if (config_setting_type(e) != CONFIG_TYPE_STRING)
                return conf_error(x, s, "wrong type for '%s': want list of strings, got %s in it",
                                  key, conf_type_name(e));
            const char *str = config_setting_get_string(e);
            size_t len = strlen(str);
            if (len == 0 || len > CONF_MAX_ITEM)
                return conf_error(x, s, "empty or too long (max %d bytes) entry in '%s'",
                                  CONF_MAX_ITEM, key);
            if (++count > max)
                break;
            if (fn(x, s, key, str, len, base, p) < 0)
                return -1;
        }
    } else {
        return conf_wrong_type(x, s, key, "list of strings");
    }
    if (count > max)
        return conf_error(x, s, "more than %zu entries in '%s'", max, key);
    if (count == 0 && (p->flags & CONF_F_NONEMPTY))
        return conf_error(x, s, "'%s' must not be empty", key);
    return 0;
}

/* Replaces a whole list value of p at base with the entries of s. */
static int conf_list_value(struct conf_ctx *x, const config_setting_t *s, const char *key,
                           const struct conf_param *p, void *base)
{
    void *arr = (char *)base + p->off;
    size_t *n = (size_t *)((char *)base + p->cnt);
    if (p->kind == CONF_CIDRS) {
        free(*(struct cidr **)arr);
        *(struct cidr **)arr = NULL;
        *n = 0;
        return conf_list(x, s, key, ", \t", conf_item_cidr, base, p);
    }
    conf_free_strings(arr, n);
    return conf_list(x, s, key, ", \t", conf_item_string, base, p);
}

/* Reads text lines (smtpd.help): a list of strings, each printable, possibly empty, or one
 * string (one line). Replaces the old value. */
static int conf_lines(struct conf_ctx *x, const config_setting_t *s, const char *key,
                      const struct conf_param *p, void *base)
{
    int t = config_setting_type(s);
    bool one = t == CONFIG_TYPE_STRING;
    if (!one && t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST)
        return conf_wrong_type(x, s, key, "list of strings");
    size_t count = one ? 1 : (size_t)config_setting_length(s);
    if (count > p->max)
        return conf_error(x, s, "more than %llu entries in '%s'", (unsigned long long)p->max, key);
    conf_free_strings((char ***)((char *)base + p->off), (size_t *)((char *)base + p->cnt));
    for (size_t i = 0; i < count; i++) {
        const config_setting_t *e = one ? s : config_setting_get_elem(s, (unsigned)i);
        if (config_setting_type(e) != CONFIG_TYPE_STRING)
            return conf_error(x, s, "wrong type for '%s': want list of strings, got %s in it",
                              key, conf_type_name(e));
        const char *str = config_setting_get_string(e);
        size_t len = strlen(str);
        bool ok = len <= CONF_MAX_ITEM;
        for (size_t k = 0; ok && k < len; k++)
            ok = (unsigned char)str[k] >= ' ' && (unsigned char)str[k] != 0x7f;
        if (!ok)
            return conf_error(x, s, "bad line (control bytes, or over %d bytes) in '%s'",
                              CONF_MAX_ITEM, key);
        conf_push_string(base, p, str, len, false);
    }
    return 0;
}

/* ---- relays and remotenets ---- */

/* Parses "host", "host:port", "[ip]", "[ip]:port" (or a bare IP) into r. */
static int conf_relay_parse(struct relay *r, const char *s, uint16_t defport)
{
    size_t len = strlen(s), hlen = len;
    const char *host = s, *port = NULL;
    bool literal = false;
    if (len == 0 || len > 300)
        return -1;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (close == NULL || (close[1] != '\0' && close[1] != ':'))
            return -1;
        host = s + 1, hlen = (size_t)(close - s) - 1, literal = true;
        port = close[1] == ':' ? close + 2 : NULL;
    } else if (conf_ip_family(s, len) == AF_INET6) {
        literal = true;
    } else if ((port = strchr(s, ':')) != NULL) {
        hlen = (size_t)(port++ - s);
    }
    if (literal ? conf_ip_family(host, hlen) == 0 : !conf_is_hostname(host, hlen))
        return -1;
    r->port = defport;
    if (port != NULL && conf_port_parse(port, strlen(port), &r->port) < 0)
        return -1;
    r->literal = literal || conf_ip_family(host, hlen) == AF_INET;
    r->host = xstrndup(host, hlen);
    r->address = xstrdup(s);
    return 0;
}

/* Reads a relay's "address" key. */
static int conf_relay_address(struct conf_ctx *x, const config_setting_t *s, const char *key,
                              struct relay *r)
{
    const char *str = NULL;
    char q[96];
    if (conf_string(x, s, key, &str) < 0)
        return -1;
    if (conf_relay_parse(r, str, x->c->deliver.port) < 0)
        return conf_error(x, s,
                          "bad relay address for '%s': %s (want host, host:port, [ip] or "
                          "[ip]:port)",
                          key, conf_quote(q, sizeof q, str, strlen(str)));
    return 0;
}

/* Reads a list of groups (remotenets, relays): checks the shape and the size, then hands
 * each group with its display key ("key[i]") to each(). */
static int conf_group_list(struct conf_ctx *x, const config_setting_t *s, const char *key,
                           int (*each)(struct conf_ctx *, const config_setting_t *, const char *))
{
    if (config_setting_type(s) != CONFIG_TYPE_LIST)
        return conf_wrong_type(x, s, key, "list of groups");
    if (config_setting_length(s) > CONF_MAX_LIST)
        return conf_error(x, s, "more than %d entries in '%s'", CONF_MAX_LIST, key);
    for (int i = 0; i < config_setting_length(s); i++) {
        const config_setting_t *g = config_setting_get_elem(s, (unsigned)i);
        char k[CONF_KEY_MAX + 16];
        snprintf(k, sizeof k, "%s[%d]", key, i);
        if (!config_setting_is_group(g))
            return conf_wrong_type(x, g, k, "group");
        if (each(x, g, k) < 0)
            return -1;
    }
    return 0;
}

/* One remotenet group: inherits the base client settings, needs `ip`. */
static int conf_remotenet_one(struct conf_ctx *x, const config_setting_t *g, const char *k)
{
    struct conf *c = x->c;
    struct remotenet *rn = conf_push(&c->deliver.remotenets, &c->deliver.nremotenets, sizeof *rn);
    rn->client = c->deliver.client;
    rn->client.announcehost = xstrdup(c->deliver.client.announcehost);
    if (conf_group(x, g, k, conf_remotenet_keys, rn) < 0)
        return -1;
    if (rn->nnets + rn->nhosts == 0)
        return conf_error(x, g, "missing key '%s.ip'", k);
    return 0;
}

/* Reads deliver.client.remotenets: a list of groups, each inheriting the base client. */
static int conf_remotenets(struct conf_ctx *x, const config_setting_t *s, const char *key)
{
    return conf_group_list(x, s, key, conf_remotenet_one);
}

/* One relay group: needs `address`. */
static int conf_relay_one(struct conf_ctx *x, const config_setting_t *g, const char *k)
{
    struct relay *r = conf_push(&x->c->deliver.relays, &x->c->deliver.nrelays, sizeof *r);
    if (conf_group(x, g, k, conf_relay_keys, r) < 0)
        return -1;
    if (r->address == NULL)
        return conf_error(x, g, "missing key '%s.address'", k);
    return conf_relay_check(x, g, k, r);
}

/* Reads deliver.relays: a list of groups, each with an address. */
static int conf_relays(struct conf_ctx *x, const config_setting_t *s, const char *key)
{
    return conf_group_list(x, s, key, conf_relay_one);
}

/* ---- TLS and authentication of the client (docs/tls.md "Outbound") ---- */

/* Reads a word from a fixed set: relay ssl.mode, a min_protocol, auth.override. */
static int conf_choice(struct conf_ctx *x, const config_setting_t *s, const char *key,
                       const struct conf_param *p, char *field)
{
    static const struct {
        enum conf_kind kind;
        const char *word;
        unsigned value;
    } words[] = {
        {CONF_TLS_MODE, "none", RELAY_TLS_NONE},     {CONF_TLS_MODE, "starttls", RELAY_TLS_STARTTLS},
        {CONF_TLS_MODE, "implicit", RELAY_TLS_IMPLICIT}, {CONF_TLS_PROTO, "TLSv1.2", 2},
        {CONF_TLS_PROTO, "TLSv1.3", 3},              {CONF_AUTH_OVERRIDE, "external", 1},
    };
    const char *str = NULL, *want = p->kind == CONF_TLS_MODE    ? "none, starttls or implicit"
                                    : p->kind == CONF_TLS_PROTO ? "TLSv1.2 or TLSv1.3"
                                                                : "external";
    char q[96];
    if (conf_string(x, s, key, &str) < 0)
        return -1;
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        if (words[i].kind != p->kind || strcasecmp(str, words[i].word) != 0)
            continue;
        if (p->kind == CONF_AUTH_OVERRIDE)
            *(bool *)field = true;
        else
            *(unsigned *)field = words[i].value;
        return 0;
    }
    return conf_error(x, s, "bad value for '%s': %s (want %s)", key,
                      conf_quote(q, sizeof q, str, strlen(str)), want);
}

/* True for a credential: 1..255 bytes (RFC 4616 §2), no control bytes. */
static bool conf_is_secret(const char *s, size_t len)
{
    if (len == 0 || len > 255)
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < ' ' || (unsigned char)s[i] == 0x7f)
            return false;
    return true;
}

/* Wipes and frees the secret at *p. */
static void conf_secret_free(char **p)
{
    if (*p) {
        explicit_bzero(*p, strlen(*p));
        free(*p);
        *p = NULL;
    }
}

/* Replaces the secret at dst with len bytes of str, wiping the old one. */
static void conf_secret_set(char **dst, const char *str, size_t len)
{
    conf_secret_free(dst);
    *dst = xstrndup(str, len);
}

/* Reads a user name or password; the value never appears in a message. */
static int conf_secret(struct conf_ctx *x, const config_setting_t *s, const char *key, char **dst)
{
    const char *str = NULL;
    if (conf_string(x, s, key, &str) < 0)
        return -1;
    if (!conf_is_secret(str, strlen(str)))
        return conf_error(x, s, "bad value for '%s' (want 1..255 bytes without control bytes)",
                          key);
    conf_secret_set(dst, str, strlen(str));
    return 0;
}

/* True when uid may own a secret file: root, the process, or the configured user. */
static bool conf_secret_owner_ok(const struct conf *c, uid_t uid)
{
    if (uid == 0 || uid == getuid() || uid == geteuid())
        return true;
    struct passwd *pw = c->user ? getpwnam(c->user) : NULL;
    return pw != NULL && pw->pw_uid == uid;
}

/* Reads the first line of a secret file (at most 255 bytes) after checking that only its
 * owner may read it; the file's content never appears in a message. */
static int conf_secret_file(struct conf_ctx *x, const config_setting_t *s, const char *key,
                            char **dst)
{
    const char *path = NULL;
    char q[96], buf[512];
    if (conf_string(x, s, key, &path) < 0)
        return -1;
    int fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        int err = errno;
        if (fd >= 0)
            close(fd);
        return conf_error(x, s, "cannot read '%s' %s: %s", key,
                          conf_quote(q, sizeof q, path, strlen(path)), strerror(err));
    }
    const char *bad = !S_ISREG(st.st_mode)                 ? "is not a regular file"
                      : (st.st_mode & (S_IRWXG | S_IRWXO)) ? "is accessible by group or others "
                                                             "(chmod 600)"
                      : !conf_secret_owner_ok(x->c, st.st_uid) ? "must belong to root or the "
                                                                 "sluice user"
                                                               : NULL;
    ssize_t n = bad ? 0 : read(fd, buf, sizeof buf - 1);
    close(fd);
    if (bad)
        return conf_error(x, s, "'%s' %s %s", key, conf_quote(q, sizeof q, path, strlen(path)),
                          bad);
    buf[n > 0 ? n : 0] = '\0';
    size_t len = strcspn(buf, "\r\n");
    if (n < 0 || (size_t)n == sizeof buf - 1 || !conf_is_secret(buf, len)) {
        explicit_bzero(buf, sizeof buf);
        return conf_error(x, s, "'%s' %s: want one line of 1..255 bytes without control bytes",
                          key, conf_quote(q, sizeof q, path, strlen(path)));
    }
    conf_secret_set(dst, buf, len);
    explicit_bzero(buf, sizeof buf);
    return 0;
}

/* Reads a relay's ssl group: mode "starttls" and verify on unless it says otherwise. */
static int conf_relay_ssl(struct conf_ctx *x, const config_setting_t *s, const char *key,
                          const struct conf_param *p, void *base)
{
    struct relay_ssl *ssl = (struct relay_ssl *)((char *)base + p->off);
    if (!config_setting_is_group(s))
        return conf_wrong_type(x, s, key, "group");
    ssl->mode = RELAY_TLS_STARTTLS;
    ssl->verify = true;
    ssl->min_tls = 2;
    if (conf_group(x, s, key, p->sub, ssl) < 0)
        return -1;
    if (ssl->key_file && !ssl->cert_file)
        return conf_error(x, s, "'%s.key_file' needs '%s.cert_file'", key, key);
    return 0;
}

/* Reads a relay's auth group (enabled unless it says otherwise) and checks that it can
 * work: credentials (or EXTERNAL with a client certificate), one source of the password. */
static int conf_relay_auth(struct conf_ctx *x, const config_setting_t *s, const char *key,
                           const struct conf_param *p, void *base)
{
    struct relay *r = base;
    struct relay_auth *a = &r->auth;
    if (!config_setting_is_group(s))
        return conf_wrong_type(x, s, key, "group");
    a->enabled = true;
    a->initrsp = true;
    if (config_setting_get_member(s, "password") && config_setting_get_member(s, "password_file"))
        return conf_error(x, s, "'%s': password and password_file both given", key);
    if (conf_group(x, s, key, p->sub, a) < 0)
        return -1;
    if (!a->enabled)
        return 0;
    if (!a->external && (!a->username || !a->password))
        return conf_error(x, s, "'%s' needs username and password (or password_file)", key);
    return 0;
}

/* Checks what a relay's ssl and auth blocks need of each other (after both are read). */
static int conf_relay_check(struct conf_ctx *x, const config_setting_t *g, const char *k,
                            const struct relay *r)
{
    if (!r->auth.enabled)
        return 0;
    g = config_setting_get_member(g, "auth"); /* the messages point at the auth block */
    if (r->auth.external && (!r->ssl.cert_file || r->ssl.mode == RELAY_TLS_DEFAULT ||
                             r->ssl.mode == RELAY_TLS_NONE))
        return conf_error(x, g, "'%s.auth.override = \"external\"' needs '%s.ssl' with "
                          "mode starttls or implicit and a cert_file", k, k);
    if (r->ssl.mode == RELAY_TLS_NONE && !r->auth.allow_cleartext)
        return conf_error(x, g, "'%s.auth' with '%s.ssl.mode = \"none\"' would send the "
                          "password in cleartext: set '%s.auth.allow_cleartext = true'", k, k, k);
    return 0;
}

/* ---- reports and logs (deliver.audit, event_log, transcript, double_bounce, verp) ---- */

/* Frees a log spec and zeroes it (keeps nothing). */
static void conf_free_logspec(struct logspec *l)
{
    free(l->path);
    free(l->nets);
    conf_free_strings(&l->domains, &l->ndomains);
    l->path = NULL;
    l->nets = NULL;
    l->nnets = 0;
}

/* Collects a transcript "peers" entry: a CIDR block, else a domain. */
static int conf_item_peer(struct conf_ctx *x, const config_setting_t *s, const char *key,
                          const char *item, size_t len, void *base, const struct conf_param *p)
{
    struct logspec *l = base;
    (void)p;
    return conf_net_or_name(x, s, key, item, len, &l->nets, &l->nnets, &l->domains, &l->ndomains,
                            "domain");
}

/* Sets a log spec's path template (checked, see audit/logpath.h). */
static int conf_logspec_path(struct conf_ctx *x, const config_setting_t *s, const char *key,
                             struct logspec *l)
{
    const char *str = NULL;
    char q[96];
    if (conf_string(x, s, key, &str) < 0)
        return -1;
    if (logpath_check(str, strlen(str), NULL) < 0)
        return conf_error(x, s,
                          "bad path template for '%s': %s (tokens: %%Y%% %%M%% %%D%% %%H%% %%DT%% "
                          "%%DIRLOG%% %%SYSNAME%% %%%%)",
                          key, conf_quote(q, sizeof q, str, strlen(str)));
    free(l->path);
    l->path = xstrdup(str);
    return 0;
}

/* Reads one member of a log spec group. */
static int conf_logspec_member(struct conf_ctx *x, const config_setting_t *m, const char *k,
                               const struct conf_param *p, struct logspec *l)
{
    static const struct conf_param flush = {"flush", CONF_DURATION, 0, 0, 1, DUR_M, 0, NULL};
    static const struct conf_param peers = {"peers", CONF_RNET_IP, 0, 0, 0, 0, 0, NULL};
    const char *name = config_setting_name(m), *str = NULL;
    char q[96];
    if (strcmp(name, "path") == 0)
        return conf_logspec_path(x, m, k, l);
    if (strcmp(name, "flush") == 0)
        return conf_duration(x, m, k, &flush, &l->flush);
    if (strcmp(name, "rot") == 0) {
        if (conf_string(x, m, k, &str) < 0)
            return -1;
        int rot = logpath_rot_parse(str);
        if (rot < 0)
            return conf_error(x, m, "bad rotation for '%s': %s (want never, hourly, daily or "
                              "monthly)", k, conf_quote(q, sizeof q, str, strlen(str)));
        l->rot = (unsigned)rot;
        return 0;
    }
    if (strcmp(name, "peers") == 0 && (p->flags & CONF_F_PEERS)) {
        free(l->nets);
        l->nets = NULL;
        l->nnets = 0;
        conf_free_strings(&l->domains, &l->ndomains);
        return conf_list(x, m, k, ", \t|", conf_item_peer, l, &peers);
    }
    return conf_error(x, m, "unknown key '%s'", k);
}

/* Reads a log spec: a path template string, or a group { path; rot; flush; peers }. */
static int conf_logspec(struct conf_ctx *x, const config_setting_t *s, const char *key,
                        const struct conf_param *p, struct logspec *l)
{
    if (config_setting_type(s) == CONFIG_TYPE_STRING)
        return conf_logspec_path(x, s, key, l);
    if (!config_setting_is_group(s))
        return conf_wrong_type(x, s, key, "path template string or group");
    for (int i = 0; i < config_setting_length(s); i++) {
        const config_setting_t *m = config_setting_get_elem(s, (unsigned)i);
        char k[CONF_KEY_MAX + 80];
        conf_key(k, sizeof k, key, config_setting_name(m));
        if (conf_logspec_member(x, m, k, p, l) < 0)
            return -1;
    }
    if (l->path == NULL)
        return conf_error(x, s, "missing key '%s.path'", key);
    return 0;
}

/* Reads deliver.double_bounce ("" or local@domain) or deliver.verp_delimiters (two
 * printable characters, neither '@', a blank nor a letter or digit). */
static int conf_report_text(struct conf_ctx *x, const config_setting_t *s, const char *key,
                            const struct conf_param *p, char **dst)
{
    const char *str = NULL;
    char q[96];
    if (conf_string(x, s, key, &str) < 0)
        return -1;
    size_t len = strlen(str);
    bool ok;
    if (p->kind == CONF_MAILBOX) {
        ok = len == 0 || (len <= 256 && conf_is_sender(str, len) && strchr(str, '@'));
    } else {
        ok = len == 2 && str[0] != str[1];
        for (size_t i = 0; ok && i < len; i++)
            ok = (unsigned char)str[i] > ' ' && (unsigned char)str[i] < 0x7f &&
                 !isalnum((unsigned char)str[i]) && strchr("@<>\"\\.", str[i]) == NULL;
    }
    if (!ok)
        return conf_error(x, s, "bad %s for '%s': %s",
                          p->kind == CONF_MAILBOX ? "address" : "delimiters (want two characters, "
                                                                "e.g. \"+=\")",
                          key, conf_quote(q, sizeof q, str, len));
    free(*dst);
    *dst = xstrdup(str);
    return 0;
}

/* Defaults of the report and log keys of `deliver`. */
static void conf_report_defaults(struct conf *c)
{
    struct logspec *specs[] = {&c->deliver.audit, &c->deliver.event_log, &c->deliver.transcript,
                               &c->smtpd.transcript};
    for (size_t i = 0; i < 4; i++) {
        specs[i]->rot = LOGROT_DAILY;
        specs[i]->flush = 200;
    }
    c->deliver.delay_warning = 4 * DUR_H;
    c->deliver.double_bounce = xstrdup("");
    c->deliver.bounce_size_limit = 50000;
    c->deliver.verp_delimiters = xstrdup("+=");
}

/* ---- tables ---- */

/* Applies one known key to its field at base. */
static int conf_apply(struct conf_ctx *x, const config_setting_t *s, const char *key,
                      const struct conf_param *p, void *base)
{
    char *field = (char *)base + p->off;
    uint64_t v;
    switch (p->kind) {
    case CONF_PATH:
    case CONF_TEXT:
    case CONF_HOST: return conf_text(x, s, key, p, (char **)field);
    case CONF_LINES: return conf_lines(x, s, key, p, base);
    case CONF_PATTERNS: return conf_list_value(x, s, key, p, base);
    case CONF_UINT:
        if (conf_integer(x, s, key, p, &v) < 0)
            return -1;
        *(unsigned *)field = (v == 0 && (p->flags & CONF_F_ZERO_IS_ONE)) ? 1 : (unsigned)v;
        return 0;
    case CONF_U64: return conf_integer(x, s, key, p, (uint64_t *)field);
    case CONF_PORT:
        if (conf_integer(x, s, key, p, &v) < 0)
            return -1;
        *(uint16_t *)field = (uint16_t)v;
        return 0;
    case CONF_DURATION: return conf_duration(x, s, key, p, (uint64_t *)field);
    case CONF_BOOL: return conf_bool(x, s, key, (bool *)field);
    case CONF_RETRIES: return conf_retries(x, s, key, p, base);
    case CONF_GROUP:
        if (!config_setting_is_group(s))
            return conf_wrong_type(x, s, key, "group");
        return conf_group(x, s, key, p->sub, base);
    case CONF_LISTEN:
    case CONF_CIDRS:
    case CONF_FORWARDERS:
    case CONF_DOMAINS:
    case CONF_SENDERS: return conf_list_value(x, s, key, p, base);
    case CONF_RNET_IP: return conf_list(x, s, key, "| \t", conf_item_rnet, base, p);
    case CONF_RELAY_ADDR: return conf_relay_address(x, s, key, base);
    case CONF_REMOTENETS: return conf_remotenets(x, s, key);
    case CONF_RELAYS: return conf_relays(x, s, key);
    case CONF_LOGSPEC: return conf_logspec(x, s, key, p, (struct logspec *)field);
    case CONF_MAILBOX:
    case CONF_DELIMS: return conf_report_text(x, s, key, p, (char **)field);
    case CONF_TLS_MODE:
    case CONF_TLS_PROTO:
    case CONF_AUTH_OVERRIDE: return conf_choice(x, s, key, p, field);
    case CONF_SECRET: return conf_secret(x, s, key, (char **)field);
    case CONF_SECRET_FILE: return conf_secret_file(x, s, key, (char **)field);
    case CONF_RELAY_SSL: return conf_relay_ssl(x, s, key, p, base);
    case CONF_RELAY_AUTH: return conf_relay_auth(x, s, key, p, base);
    }
    log_panic("conf: unhandled kind %d", (int)p->kind);
}

/* Rejects unknown keys in g, then applies the known ones in table order. */
static int conf_group(struct conf_ctx *x, const config_setting_t *g, const char *prefix,
                      const struct conf_param *tab, void *base)
{
    char key[CONF_KEY_MAX];
    for (int i = 0; i < config_setting_length(g); i++) {
        const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
        const struct conf_param *p = tab;
        while (p->name != NULL && strcmp(p->name, config_setting_name(s)) != 0)
            p++;
        if (p->name == NULL) {
            conf_key(key, sizeof key, prefix, config_setting_name(s));
            return conf_error(x, s, "unknown key '%s'", key);
        }
    }
    for (const struct conf_param *p = tab; p->name != NULL; p++) {
        const config_setting_t *s = config_setting_get_member(g, p->name);
        conf_key(key, sizeof key, prefix, p->name);
        if (s != NULL && conf_apply(x, s, key, p, base) < 0)
            return -1;
    }
    return 0;
}

/* ---- file ---- */

/* Reads the whole file (at most CONF_MAX_FILE bytes) into a NUL-terminated buffer. */
static char *conf_slurp(struct conf_ctx *x, const char *path, size_t *len)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        conf_error(x, NULL, "cannot open: %s", strerror(errno));
        return NULL;
    }
    char *buf = xmalloc(CONF_MAX_FILE + 1);
    size_t n = fread(buf, 1, CONF_MAX_FILE + 1, f);
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

/* Skips a comment or string starting at p (libconfig lexical rules); returns the next byte. */
static const char *conf_scan_skip(const char *p, unsigned *line)
{
    if (*p == '#' || (p[0] == '/' && p[1] == '/'))
        return p + strcspn(p, "\n");
    if (p[0] == '/' && p[1] == '*') {
        for (p += 2; *p && !(p[0] == '*' && p[1] == '/'); p++)
            *line += *p == '\n';
        return *p ? p + 2 : p;
    }
    for (p++; *p && *p != '"'; p++) {
        if (*p == '\\' && p[1])
            p++;
        *line += *p == '\n';
    }
    return *p ? p + 1 : p;
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
        return hex ? digits > 16 : digits > 19 || (digits == 19 && strncmp(t, "9223372036854775807", 19) > 0);
    if (hex)
        return digits > 8 || (digits == 8 && strchr("01234567", t[2]) == NULL);
    return digits > 10 || (digits == 10 && strncmp(t, "2147483647", 10) > 0);
}

/* Finds the first integer literal that libconfig would truncate (*include false) or the
 * first "@include" (*include true); returns its line, or 0 when there is none. */
static unsigned conf_scan(const char *p, bool *include)
{
    unsigned line = 1;
    while (*p) {
        if (*p == '"' || *p == '#' || (p[0] == '/' && (p[1] == '/' || p[1] == '*'))) {
            p = conf_scan_skip(p, &line);
        } else if (*p >= '0' && *p <= '9') {
            const char *t = p;
            while (((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z') || (*p >= '0' && *p <= '9') ||
                   *p == '.' || ((*p == '+' || *p == '-') && (p[-1] | 0x20) == 'e'))
                p++;
            if (conf_scan_too_big(t, (size_t)(p - t)))
                return *include = false, line;
        } else if (((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z') || *p == '*') {
            while (((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z') || (*p >= '0' && *p <= '9') ||
                   *p == '_' || *p == '-' || *p == '*')
                p++;
        } else if (*p == '@') {
            return *include = true, line;
        } else {
            line += *p++ == '\n';
        }
    }
    return 0;
}

/* Parses the file with libconfig after the pre-scan; 0/-1. Includes are refused so that the
 * whole configuration is one file that the pre-scan has seen. */
static int conf_read(struct conf_ctx *x, config_t *cfg)
{
    bool include = false;
    size_t len = 0;
    char *text = conf_slurp(x, x->path, &len);
    if (text == NULL)
        return -1;
    unsigned bad = conf_scan(text, &include);
    size_t nul = strlen(text);
    unsigned nul_line = 1;
    for (size_t i = 0; i < nul; i++)
        nul_line += text[i] == '\n';
    free(text);
    if (nul != len) { /* libconfig 1.5 leaks on a NUL byte in a string, and no text has one */
        snprintf(x->err, x->errlen, "%s:%u: NUL byte in file", x->path, nul_line);
        return -1;
    }
    if (bad != 0 && include) {
        snprintf(x->err, x->errlen, "%s:%u: @include is not supported", x->path, bad);
        return -1;
    }
    if (!config_read_file(cfg, x->path)) {
        const char *file = config_error_file(cfg);
        snprintf(x->err, x->errlen, "%s:%d: %s", file ? file : x->path, config_error_line(cfg),
                 config_error_text(cfg) ? config_error_text(cfg) : "parse error");
        return -1;
    }
    if (bad != 0) {
        snprintf(x->err, x->errlen,
                 "%s:%u: integer out of range for libconfig (write 64-bit integers with an L "
                 "suffix, e.g. 1099511627776L)",
                 x->path, bad);
        return -1;
    }
    return 0;
}

/* ---- public ---- */

/* The smtpd group's defaults past listen/trusted_networks/max_message_size (seed 002). */
static void conf_smtpd_defaults(struct conf *c)
{
    static const char *const help[] = {
        "sluice ESMTP server. Commands:",
        "  HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT HELP VRFY EXPN ETRN",
        "Questions about this service: <postmaster>",
    };
    c->smtpd.hdr220 = xstrdup("%H ESMTP sluice");
    for (size_t i = 0; i < sizeof help / sizeof help[0]; i++)
        *(char **)conf_push(&c->smtpd.help, &c->smtpd.nhelp, sizeof(char *)) = xstrdup(help[i]);
    c->smtpd.vrfy_code = 252;
    c->smtpd.expn_code = 502;
    c->smtpd.deliverby = 60 * DUR_S;
    c->smtpd.max_connections = 800;
    c->smtpd.max_connections_per_ip = 50;
    c->smtpd.max_recipients = 10000;
    c->smtpd.max_error_recipients = 3;
    c->smtpd.command_timeout = 5 * DUR_M;
    c->smtpd.session_timeout = DUR_H;
    c->smtpd.min_free_space = UINT64_C(5000) * 1024;
    c->smtpd.max_hops = 100;
    c->smtpd.rdns_timeout = 5 * DUR_S;
}

/* Fills c with the seed defaults. */
void conf_defaults(struct conf *c)
{
    char host[256] = "";
    memset(c, 0, sizeof *c);
    if (gethostname(host, sizeof host - 1) < 0 || host[0] == '\0')
        snprintf(host, sizeof host, "localhost");
    host[sizeof host - 1] = '\0';
    c->spool = xstrdup("/var/spool/sluice");
    c->hostname = xstrdup(host);
    c->user = xstrdup("sluice");
    *(char **)conf_push(&c->smtpd.listen, &c->smtpd.nlisten, sizeof(char *)) =
        xstrdup("127.0.0.1:25");
    c->smtpd.trusted_networks = xcalloc(2, sizeof(struct cidr));
    c->smtpd.ntrusted_networks = 2;
    if (cidr_parse("127.0.0.0/8", 11, &c->smtpd.trusted_networks[0]) < 0 ||
        cidr_parse("::1/128", 7, &c->smtpd.trusted_networks[1]) < 0 ||
        conf_retries_parse("1 1 2 3 5 8 13 21 34", &c->deliver.retries, &c->deliver.nretries) < 0)
        log_panic("conf: built-in defaults do not parse");
    c->smtpd.max_message_size = 10240000;
    conf_smtpd_defaults(c);
    c->deliver.queuecache = 2500;
    c->deliver.maxconnections = 2500;
    c->deliver.maxserverconnections = 20;
    c->deliver.maxmessages = 100;
    c->deliver.maxrecips = 50;
    c->deliver.interval_low = 100;
    c->deliver.interval_high = 15 * DUR_S;
    c->deliver.interval_error = 3 * DUR_M;
    c->deliver.delay_start = 30 * DUR_S;
    c->deliver.idlemax = 2 * DUR_S;
    c->deliver.interval = DUR_M;
    c->deliver.skew = 1;
    c->deliver.expiry = 3 * DUR_D;
    c->deliver.port = 25;
    conf_report_defaults(c);
    c->deliver.client = (struct client_conf){.announcehost = xstrdup(host), .maxpipeline = 25,
                                             .timeout = DUR_M, .mindatarate = 1000000,
                                             .sendQUIT = true, .waitQUIT = true,
                                             .anonssl = {.latent = true, .min_tls = 2}};
}

/* Loads path over c (which conf_defaults() filled). */
int conf_load(const char *path, struct conf *c, char *err, size_t errlen)
{
    char dummy[8];
    struct conf_ctx x = {c, path, err ? err : dummy, err ? errlen : sizeof dummy};
    if (x.errlen > 0)
        x.err[0] = '\0';
    free(c->path);
    c->path = xstrdup(path);
    config_t cfg;
    config_init(&cfg);
    int rc = conf_read(&x, &cfg);
    if (rc == 0)
        rc = conf_group(&x, config_root_setting(&cfg), "", conf_root_keys, c);
    config_destroy(&cfg);
    return rc;
}

/* Frees one client's strings. */
static void conf_free_client(struct client_conf *cc)
{
    free(cc->announcehost);
    cc->announcehost = NULL;
}

/* Frees everything and zeroes c. */
void conf_free(struct conf *c)
{
    free(c->path);
    free(c->spool);
    free(c->hostname);
    free(c->user);
    conf_free_strings(&c->smtpd.listen, &c->smtpd.nlisten);
    free(c->smtpd.trusted_networks);
    conf_free_strings(&c->smtpd.submission_listen, &c->smtpd.nsubmission_listen);
    conf_free_strings(&c->smtpd.local_domains, &c->smtpd.nlocal_domains);
    conf_free_strings(&c->smtpd.relay_domains, &c->smtpd.nrelay_domains);
    conf_free_strings(&c->smtpd.sloppy_helo, &c->smtpd.nsloppy_helo);
    free(c->smtpd.sloppy_networks);
    free(c->smtpd.bare_newline_networks);
    free(c->smtpd.hdr220);
    conf_free_strings(&c->smtpd.help, &c->smtpd.nhelp);
    conf_free_strings(&c->resolver.forwarders, &c->resolver.nforwarders);
    free(c->deliver.retries);
    conf_free_client(&c->deliver.client);
    for (size_t i = 0; i < c->deliver.nremotenets; i++) {
        struct remotenet *rn = &c->deliver.remotenets[i];
        free(rn->nets);
        conf_free_strings(&rn->hosts, &rn->nhosts);
        conf_free_client(&rn->client);
    }
    free(c->deliver.remotenets);
    for (size_t i = 0; i < c->deliver.nrelays; i++) {
        struct relay *r = &c->deliver.relays[i];
        free(r->address);
        free(r->host);
        conf_free_strings(&r->destdomains, &r->ndestdomains);
        conf_free_strings(&r->senders, &r->nsenders);
        free(r->sendernets);
        free(r->ssl.ca_file);
        free(r->ssl.verify_name);
        free(r->ssl.cert_file);
        free(r->ssl.key_file);
        conf_secret_free(&r->auth.username);
        conf_secret_free(&r->auth.password);
    }
    free(c->deliver.relays);
    conf_free_logspec(&c->deliver.audit);
    conf_free_logspec(&c->deliver.event_log);
    conf_free_logspec(&c->deliver.transcript);
    conf_free_logspec(&c->smtpd.transcript);
    free(c->deliver.double_bounce);
    conf_free_strings(&c->deliver.verp_domains, &c->deliver.nverp_domains);
    free(c->deliver.verp_delimiters);
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
