/* keys: the configuration key table, and the contract between the files of src/conf/ (only
 * they and tests/unit/test_conf.c include this header).
 *
 * One row per key: its group, name, kind (the type), where the value lives, its bounds, its
 * default and a one-line description. Nothing else in the code states a default: conf_init()
 * applies the rows' defaults, conf_keys_dump() prints them (`sluice config-keys`).
 *
 * Groups: each row carries the id of its group (CONF_G_*); conf_group_names[] spells it:
 * "" is the top level, a nested group has its dotted name ("deliver.client"), the entries of
 * a list of groups the list's name and "[]" ("deliver.relays[]"). A group, log spec or list
 * of groups row names the group of the rows below it (sub). The table is sorted by group id
 * (so a group's rows are contiguous and found by binary search), and a group is applied in
 * table order (so hostname is read before announcehost, the base client before its
 * remotenets, deliver.client.port before the relays that default to it). A row's offsets
 * are relative to its group's base object: struct conf for plain groups, the struct logspec
 * of a log spec (its rows' group is the log spec's key), the element (struct remotenet,
 * struct relay) of a list of groups.
 *
 * Files: keys.c the table and its dump; conf.c loading (file, pre-scan, libconfig, the
 * walkers that apply, default and free the rows); value.c typed scalar values, the syntax
 * of addresses and names, and error messages; list.c lists of values, log specs and the
 * lists of groups (remotenets, relays); secret.c credentials and the checks of a relay's
 * ssl and auth blocks.
 * Every reader returns 0, or -1 with "FILE:LINE: message" in x->err. A reader given a NULL
 * setting is applying a default (the message then says line 0; conf_init() panics on it). */
#ifndef SLUICE_CONF_KEYS_H
#define SLUICE_CONF_KEYS_H
#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"

#define CONF_MAX_LIST 1024 /* entries in any list */
#define CONF_MAX_ITEM 512  /* bytes of one string value */
#define CONF_KEY_MAX 160   /* bytes of a key path in messages */

#define CONF_S UINT64_C(1000) /* durations are milliseconds */
#define CONF_M (60 * CONF_S)
#define CONF_H (60 * CONF_M)
#define CONF_D (24 * CONF_H)

enum conf_kind {
    /* char *, validated text */
    CONF_PATH,    /* non-empty, no control bytes */
    CONF_HOST,    /* host name (or "[ip]" with CONF_F_LITERAL) */
    CONF_TEXT,    /* non-empty printable text (smtpd.hdr220) */
    CONF_MAILBOX, /* "" or local@domain (deliver.double_bounce) */
    CONF_DELIMS,  /* two VERP delimiters (deliver.verp_delimiters) */
    CONF_ACTION,  /* a policy delegation action sluice implements (proto/policyd.h) */
    CONF_REGEX,   /* an extended regular expression, no back-references (deliver.rules) */
    CONF_NEXTHOP, /* a transport map next hop (proto/nexthop.h) */
    CONF_LOGPATH, /* a log path template (proto/logpath.h) */
    /* char *, credentials: never quoted in messages, wiped when freed (secret.c) */
    CONF_SECRET,      /* 1..255 bytes without control bytes (auth.username, auth.password) */
    CONF_SECRET_FILE, /* the first line of a file only its owner may read (password_file) */
    /* numbers, stored by conf_store_number(); bounds min..max */
    CONF_UINT,     /* unsigned */
    CONF_U64,      /* uint64_t */
    CONF_PORT,     /* uint16_t */
    CONF_DURATION, /* uint64_t ms; a string for duration_parse() or integer ms */
    CONF_BOOL,     /* bool */
    CONF_TLSMODE,  /* unsigned enum relay_tls_mode, written "none"/"starttls"/"implicit" */
    CONF_TLSPROTO, /* unsigned TLS minor version, written "TLSv1.2"/"TLSv1.3" */
    CONF_LOGTARGET, /* unsigned enum log_target, written "stderr"/"file"/"syslog" */
    CONF_DKIMALG,  /* unsigned DKIM_ALG_*, written "rsa-sha256"/"ed25519-sha256" */
    CONF_CANON,    /* unsigned DKIM_CANON_*, written "relaxed/relaxed", "simple/simple", ... */
    CONF_MILTERACT, /* unsigned CONF_MILTER_*, written "accept"/"tempfail"/"reject" */
    CONF_OVERRIDE, /* bool, written "external" (auth.override) */
    CONF_RULE_AT,  /* unsigned enum rule_at, written "any"/"greeting"/"mail"/"rcpt"/"data" */
    CONF_RULE_ACTION, /* unsigned enum rule_action, written "suspend"/... */
    CONF_SPREAD,   /* unsigned enum relay_spread, written "failover"/"parallel" */
    CONF_ORDER,    /* unsigned enum relay_order, written "listed"/"random" */
    CONF_RATE,     /* double; bounds and default in thousandths */
    CONF_MBOXKIND, /* unsigned LOCAL_MAILDIR/LOCAL_MBOX, written "maildir"/"mbox" */
    CONF_ROT,      /* unsigned LOGROT_*, written "never"/"hourly"/"daily"/"monthly" */
    CONF_RETRIES,  /* unsigned * + size_t: a ZMailer retries string */
    /* lists: an array/list of strings, or one string split on the kind's separators */
    CONF_LISTEN,     /* char ** + size_t: "a.b.c.d:port" / "[v6]:port" */
    CONF_CIDRS,      /* struct cidr * + size_t */
    CONF_FORWARDERS, /* char ** + size_t: "ip" / "ip@port" */
    CONF_DOMAINS,    /* char ** + size_t, lower-cased */
    CONF_DOMAINPATS, /* char ** + size_t: proto/domainpat.h patterns, lower-cased */
    CONF_SENDERS,    /* char ** + size_t: "domain" / "local@domain", lower-cased */
    CONF_PATTERNS,   /* char ** + size_t: globs without blanks, lower-cased */
    CONF_RNET_IP,    /* struct remotenet nets + hosts */
    CONF_PEERS,      /* struct logspec nets + domains */
    CONF_POLICYDB,   /* char ** + size_t: policy database source files (paths) */
    CONF_DNSBL,      /* char ** + size_t: "zone[=pattern][*weight]" (proto/dnsbl.h) */
    CONF_SERVICES,   /* char ** + size_t: "inet:host:port" / "unix:path" [options] */
    CONF_MILTERS,    /* char ** + size_t: "inet:IP:PORT" / "unix:/PATH" (milter_target_parse) */
    CONF_HELOPATS,   /* char ** + size_t: "glob maxload style|!text" (proto/helopat.h) */
    CONF_SELECTORS,  /* char ** + size_t: policy selectors (struct policy), lower-cased */
    CONF_PATHS,      /* char ** + size_t: absolute paths (aliases) */
    CONF_ALLOWS,     /* char ** + size_t: "alias", "forward", "include" */
    CONF_LINES,      /* char ** + size_t: printable lines, may be empty (smtpd.help) */
    /* structure */
    CONF_RELAY_ADDR, /* struct relay address/host/port/literal */
    CONF_GROUP,      /* a group of keys on the same base */
    CONF_LOGSPEC,    /* struct logspec: a path template string, or a group of its keys */
    CONF_REMOTENETS, /* struct remotenet * + size_t: list of groups inheriting the client */
    CONF_RELAYS,     /* struct relay * + size_t: list of groups */
    CONF_POLICIES,   /* struct policy * + size_t: list of groups, `set` records the keys */
    CONF_RULES,      /* struct shape_rule * + size_t: list of groups with defaults */
    CONF_TRANSPORTS, /* struct transport_rule * + size_t: list of groups */
    CONF_SIGNS,      /* struct dkim_sign_conf * + size_t: list of groups (dkim.sign) */
};

#define CONF_F_ZERO_IS_ONE 0x1 /* maxpipeline: 0 is stored as 1 */
#define CONF_F_LITERAL 0x2     /* announcehost: "[ip]" allowed */
#define CONF_F_HOSTNAME 0x4    /* hostname: sets announcehost too; default gethostname() */
#define CONF_F_NONEMPTY 0x8    /* a list that must have an entry */
#define CONF_F_REQUIRED 0x10   /* a group (entry) without this key is an error */
#define CONF_F_COMPUTED 0x20   /* the default is computed; def only describes it */
#define CONF_F_INHERIT 0x40    /* remotenets: the default is the same key of deliver.client */
#define CONF_F_BLOCK 0x80      /* a group inside a relay (ssl, auth): its rows' defaults apply
                                  when the group is present, then conf_check_block() */

/* The groups of keys, in table order. */
enum conf_gid {
    CONF_G_TOP,
    CONF_G_SMTPD,
    CONF_G_SMTPD_TRANSCRIPT,
    CONF_G_SMTPD_TLS,
    CONF_G_SMTPD_AUTH,
    CONF_G_RESOLVER,
    CONF_G_DELIVER,
    CONF_G_CLIENT,
    CONF_G_CLIENT_ANONSSL,
    CONF_G_REMOTENET,
    CONF_G_REMOTENET_ANONSSL,
    CONF_G_CLIENT_TRANSCRIPT,
    CONF_G_RELAY,
    CONF_G_RELAY_SSL,
    CONF_G_RELAY_AUTH,
    CONF_G_POLICY,
    CONF_G_RULE,
    CONF_G_AUDIT,
    CONF_G_EVENT_LOG,
    CONF_G_LOG,
    CONF_G_METRICS,
    CONF_G_LOCAL,
    CONF_G_TRANSPORT,
    CONF_G_DKIM,
    CONF_G_DKIM_SIGN,
    CONF_G_SUPPRESSION,
    CONF_G_CTL,
    CONF_NGROUPS
};
#define CONF_GROUP_ROWS 64 /* most rows in one group */

struct conf_key {
    enum conf_gid group;
    const char *name;
    size_t off;         /* the value, or the array of a list, within the base object */
    enum conf_kind kind;
    enum conf_gid sub;  /* the group of the rows below a group, log spec, list of groups */
    size_t cnt;         /* the element count of a list within the base object */
    uint64_t min, max;  /* numbers: bounds; lists: most entries */
    unsigned flags;     /* CONF_F_* */
    uint64_t defv;      /* default of numbers, durations (ms), booleans, rotations */
    const char *def;    /* default of texts and lists, as a config string (lists split
                         * like a seed-style string; lines on '\n'); NULL: none */
    const char *doc;    /* one line: what the key does */
};

extern const struct conf_key conf_keys[];
extern const size_t conf_nkeys;
extern const char *const conf_group_names[CONF_NGROUPS];

struct conf_ctx {
    struct conf *c;
    const char *path; /* for messages */
    char *err;
    size_t errlen;
};

/* keys.c */
/* The rows of group g: the first, and in *end one past the last. */
const struct conf_key *conf_keys_group(enum conf_gid g, const struct conf_key **end);
/* The separators of a list of kind k given as one string (for defaults: lines split on
 * '\n'). */
const char *conf_keys_seps(enum conf_kind k);

/* conf.c */
/* Rejects unknown keys in g, then applies the rows of group in table order to base;
 * prefix is g's name in messages ("deliver.relays[1]"). */
int conf_group(struct conf_ctx *x, const config_setting_t *g, enum conf_gid group,
               const char *prefix, void *base);
/* Applies the defaults of the rows of group to base, recursively. */
void conf_init_group(struct conf_ctx *x, enum conf_gid group, void *base);
/* Frees what the rows of group own at base, recursively. */
void conf_free_group(enum conf_gid group, void *base);

/* value.c: messages */
int conf_error(struct conf_ctx *x, const config_setting_t *s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
const char *conf_quote(char *buf, size_t buflen, const char *s, size_t len);
const char *conf_type_name(const config_setting_t *s);
int conf_wrong_type(struct conf_ctx *x, const config_setting_t *s, const char *key,
                    const char *want);
void conf_key(char *buf, size_t buflen, const char *prefix, const char *name);
/* value.c: syntax */
bool conf_is_hostname(const char *s, size_t len);
bool conf_is_listen(const char *s, size_t len);
bool conf_is_forwarder(const char *s, size_t len);
bool conf_is_pattern(const char *s, size_t len);
/* True for a policy delegation action (policyd_action_parse()). */
bool conf_is_action(const char *s, size_t len);
bool conf_is_sender(const char *s, size_t len);
int conf_ip_family(const char *s, size_t len);
int conf_port_parse(const char *s, size_t len, uint16_t *port);
/* value.c: readers (s is the setting of p, base the group's base object) */
int conf_string(struct conf_ctx *x, const config_setting_t *s, const char *key,
                const char **out);
int conf_read_text(struct conf_ctx *x, const config_setting_t *s, const char *key,
                   const struct conf_key *p, void *base);
int conf_set_text(struct conf_ctx *x, const config_setting_t *s, const char *key,
                  const struct conf_key *p, void *base, const char *str);
int conf_read_number(struct conf_ctx *x, const config_setting_t *s, const char *key,
                     const struct conf_key *p, void *base);
int conf_read_duration(struct conf_ctx *x, const config_setting_t *s, const char *key,
                       const struct conf_key *p, void *base);
int conf_read_bool(struct conf_ctx *x, const config_setting_t *s, const char *key,
                   const struct conf_key *p, void *base);
int conf_read_rot(struct conf_ctx *x, const config_setting_t *s, const char *key,
                  const struct conf_key *p, void *base);
/* CONF_TLSMODE, CONF_TLSPROTO, CONF_OVERRIDE, CONF_MBOXKIND: one of the kind's words. */
int conf_read_word(struct conf_ctx *x, const config_setting_t *s, const char *key,
                   const struct conf_key *p, void *base);
/* The word of value v of such a kind ("" when none). */
const char *conf_word_name(enum conf_kind k, uint64_t v);
int conf_read_retries(struct conf_ctx *x, const config_setting_t *s, const char *key,
                      const struct conf_key *p, void *base);
int conf_set_retries(struct conf_ctx *x, const config_setting_t *s, const char *key,
                     const struct conf_key *p, void *base, const char *str);
/* Stores number v (already within p's bounds) into p's field at base. */
void conf_store_number(const struct conf_key *p, void *base, uint64_t v);

/* list.c */
void *conf_push(void *arrp, size_t *n, size_t elsz);
void conf_free_strings(char ***arr, size_t *n);
/* Frees the list of p at base (any list kind) and leaves it empty. */
void conf_free_list(const struct conf_key *p, void *base);
int conf_read_list(struct conf_ctx *x, const config_setting_t *s, const char *key,
                   const struct conf_key *p, void *base);
/* Replaces the list of p at base with the entries of a seed-style string (a default). */
int conf_set_list(struct conf_ctx *x, const char *key, const struct conf_key *p, void *base,
                  const char *str);
int conf_read_lines(struct conf_ctx *x, const config_setting_t *s, const char *key,
                    const struct conf_key *p, void *base);
int conf_read_relay_addr(struct conf_ctx *x, const config_setting_t *s, const char *key,
                         const struct conf_key *p, void *base);
int conf_read_logspec(struct conf_ctx *x, const config_setting_t *s, const char *key,
                      const struct conf_key *p, void *base);
int conf_read_remotenets(struct conf_ctx *x, const config_setting_t *s, const char *key,
                         const struct conf_key *p, void *base);
int conf_read_transports(struct conf_ctx *x, const config_setting_t *s, const char *key,
                         const struct conf_key *p, void *base);
int conf_read_relays(struct conf_ctx *x, const config_setting_t *s, const char *key,
                     const struct conf_key *p, void *base);
int conf_read_signs(struct conf_ctx *x, const config_setting_t *s, const char *key,
                    const struct conf_key *p, void *base);
/* deliver.policies and deliver.rules (the list kinds CONF_POLICIES, CONF_RULES). */
int conf_read_shaping(struct conf_ctx *x, const config_setting_t *s, const char *key,
                      const struct conf_key *p, void *base);
/* True for a policy selector: GLOB, smtp/GLOB, mx:GLOB, ip:CIDR. */
bool conf_is_selector(const char *s, size_t len);
int conf_read_rate(struct conf_ctx *x, const config_setting_t *s, const char *key,
                   const struct conf_key *p, void *base);
/* Frees the entries of a list of groups (CONF_REMOTENETS ... CONF_SIGNS) at base. */
void conf_free_entries(const struct conf_key *p, void *base);

/* secret.c */
int conf_read_secret(struct conf_ctx *x, const config_setting_t *s, const char *key,
                     const struct conf_key *p, void *base);
int conf_read_secret_file(struct conf_ctx *x, const config_setting_t *s, const char *key,
                          const struct conf_key *p, void *base);
/* Wipes and frees the secret of row p at base. */
void conf_free_secret(const struct conf_key *p, void *base);
/* After a CONF_F_BLOCK group g (setting s, read into the relay at base): what the block
 * needs of itself and of the relay's other block. */
int conf_check_block(struct conf_ctx *x, const config_setting_t *s, const char *key,
                     const struct conf_key *p, void *base);
#endif
