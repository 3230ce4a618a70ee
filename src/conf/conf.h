/* conf: the configuration, loaded from one libconfig file into typed structs.
 * Every key is one row of the key table (src/conf/keys.c): its type, bounds, default and a
 * one-line description; `sluice config-keys` prints them and docs/config.md explains them.
 * The defaults are stated there only (the comments below give units, not defaults). An
 * unknown key, a wrong type or an out-of-range value is an error "FILE:LINE: message".
 * Durations are strings or integers parsed by duration_parse() ("250" = 250 ms, "15s", ...);
 * integers given for a duration are milliseconds. All times in this struct are milliseconds.
 * The struct is read-only once loaded: the daemon keeps one handle and passes it explicitly. */
#ifndef SLUICE_CONF_H
#define SLUICE_CONF_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "proto/logpath.h"
#include "proto/cidr.h"

/* A log file (audit, events, transcripts; docs/logging.md): a path template (proto/logpath.h),
 * its rotation, the period of its grouped fsyncs, and for transcripts the peers recorded
 * (CIDR blocks and domains; both empty = every peer). path NULL = off. */
struct logspec {
    char *path;      /* template, NULL when off */
    unsigned rot;    /* LOGROT_* */
    uint64_t flush;  /* ms between grouped fsyncs */
    struct cidr *nets;
    size_t nnets;
    char **domains;  /* lower-case; a peer name equal to or below one matches */
    size_t ndomains;
};

/* Client settings a remotenet may override (seed 000 §4.5.3). */
/* Opportunistic TLS toward any server (seed 000 `anonssl`, docs/tls.md "Outbound"):
 * STARTTLS when the server offers it (latent), or no mail without TLS (mandatory, implies
 * STARTTLS). The peer is never required to present a trusted certificate here. */
struct anonssl {
    bool latent;      /* STARTTLS when offered */
    bool mandatory;   /* no mail without TLS */
    unsigned min_tls; /* least protocol, TLS 1.min_tls: 2 or 3 */
};

struct client_conf {
    char *announcehost;   /* host name or "[ip]" */
    unsigned maxpipeline; /* >= 1 (0 in the file is stored as 1) */
    uint64_t timeout;     /* ms */
    uint64_t mindatarate; /* bits per second */
    bool sayHELO;
    bool fallbackHELO;
    bool sendQUIT;
    bool waitQUIT;
    struct anonssl anonssl;
};

/* A remotenet: peers whose address lies in `nets` or whose host name equals one of `hosts`
 * (case-insensitive) use `client` (fully resolved: unset fields copied from the base). */
struct remotenet {
    struct cidr *nets;
    size_t nnets;
    char **hosts;
    size_t nhosts;
    struct client_conf client;
};

/* A relay's TLS (its `ssl` block). RELAY_TLS_DEFAULT: no block, the peer's anonssl applies;
 * a block starts from the defaults of its rows (mode starttls, verify). */
enum relay_tls_mode { RELAY_TLS_DEFAULT, RELAY_TLS_NONE, RELAY_TLS_STARTTLS, RELAY_TLS_IMPLICIT };
struct relay_ssl {
    unsigned mode;     /* enum relay_tls_mode */
    bool verify;       /* the certificate must chain to ca_file (else the system store) and
                          name verify_name */
    char *ca_file;     /* NULL: the system store */
    char *verify_name; /* NULL: the relay's host (its IP for a literal) */
    unsigned min_tls;  /* TLS 1.min_tls: 2 or 3 */
    char *cert_file;   /* client certificate (chain, PEM), NULL: none */
    char *key_file;    /* its key, NULL: in cert_file */
};

/* A relay's SASL client authentication (its `auth` block, RFC 4954). */
struct relay_auth {
    bool enabled;         /* false without a block; a block starts enabled */
    bool initrsp;         /* the first response goes on the AUTH line */
    bool external;        /* override = "external": SASL EXTERNAL with ssl.cert_file */
    bool allow_cleartext; /* credentials may go without TLS */
    char *username;
    char *password;       /* `password`, or the first line of `password_file` */
};

/* One host of a relay's address: a name, or an IP when literal ("[ip]:port"). */
struct relay_host {
    char *host;
    uint16_t port; /* deliver.client.port unless the address names one */
    bool literal;
};

#define RELAY_HOSTS_MAX 8 /* hosts in one relay's address list */
/* How a relay with several hosts uses them (docs/routing.md): failover, one destination
 * trying them in order; parallel, one destination per host, the recipients divided. */
enum relay_spread { RELAY_SPREAD_FAILOVER, RELAY_SPREAD_PARALLEL };
/* The order of a relay's hosts: as listed, or shuffled for every connection. */
enum relay_order { RELAY_ORDER_LISTED, RELAY_ORDER_RANDOM };

/* A relay (seed 000 §4.5.4). host/port/literal are hosts[0]'s (the first host). */
struct relay {
    char *address; /* as configured, for logs (several hosts: joined by ',') */
    char *host;
    uint16_t port; /* deliver.client.port unless the address names one */
    bool literal;
    struct relay_host *hosts; /* every host of the address, in order (at least one) */
    size_t nhosts;
    unsigned spread; /* enum relay_spread */
    unsigned order;  /* enum relay_order */
    char **destdomains; /* lower-case domain patterns (proto/domainpat.h), in order */
    size_t ndestdomains;
    char **senders; /* lower-case "domain" or "local@domain" */
    size_t nsenders;
    struct cidr *sendernets;
    size_t nsendernets;
    struct relay_ssl ssl;
    struct relay_auth auth;
};

/* A per-destination policy block (deliver.policies[], docs/shaping.md): its selectors and
 * the limits it sets. Only the keys a block gives count (`set`, one bit per POLICY_*); a
 * later block that matches overrides an earlier one key by key. Selectors, lower-cased:
 * "GLOB" or "smtp/GLOB" (recipient domain), "mx:GLOB" or "mx:.SUFFIX" (an MX host name),
 * "ip:CIDR" (an address of the destination's hosts). */
enum policy_key {
    POLICY_MAXSERVERCONNECTIONS,
    POLICY_MAXMESSAGES,
    POLICY_MAXRECIPS,
    POLICY_IDLEMAX,
    POLICY_QUEUEONLY,
    POLICY_MSGS_PER_SECOND,
    POLICY_MSGS_PER_MINUTE,
    POLICY_MSGS_PER_HOUR,
    POLICY_MSGS_BURST,
    POLICY_CONNECTIONS_PER_MINUTE,
    POLICY_INITIAL_CONCURRENCY,
    POLICY_MAXPIPELINE,
    POLICY_RETRIES,
    POLICY_INTERVAL,
    POLICY_SKEW,
    POLICY_EXPIRY,
    POLICY_NKEYS
};
struct policy {
    char **match; /* selectors */
    size_t nmatch;
    unsigned maxserverconnections;
    unsigned maxmessages;
    unsigned maxrecips;
    uint64_t idlemax; /* ms */
    bool queueonly;
    double msgs_per_second; /* 0 = no limit */
    double msgs_per_minute;
    double msgs_per_hour;
    unsigned msgs_burst;
    double connections_per_minute;
    unsigned initial_concurrency;
    unsigned maxpipeline; /* >= 1 (0 in the file is stored as 1) */
    unsigned *retries;    /* ZMailer factors, as deliver.retries */
    size_t nretries;
    uint64_t interval; /* ms */
    unsigned skew;
    uint64_t expiry; /* ms */
    uint32_t set;    /* 1u << POLICY_* for each key the block gives */
};
/* A retry schedule (ZMailer's retries, interval, skew and expiry): deliver's own, or the one
 * a destination's policy gives (deliver_result.plan carries it to the scheduler). */
struct retry_plan {
    const unsigned *retries; /* 1..64 factors */
    size_t nretries;
    uint64_t interval; /* ms */
    unsigned skew;
    uint64_t expiry; /* ms */
};
/* The names of the policy keys, by enum policy_key (as in the file). */
extern const char *const conf_policy_names[POLICY_NKEYS];

/* A reply rule (deliver.rules[], docs/shaping.md): an extended regular expression matched
 * (case-insensitively) against a reply as one line ("421 4.7.0 text"), where it came. */
enum rule_at { RULE_AT_ANY, RULE_AT_GREETING, RULE_AT_MAIL, RULE_AT_RCPT, RULE_AT_DATA };
enum rule_action {
    RULE_SUSPEND,            /* no connection to the destination for duration */
    RULE_REDUCE_CONCURRENCY, /* its concurrency times factor (at least 1) */
    RULE_REDUCE_RATE,        /* its message rate times factor, for duration */
    RULE_BOUNCE              /* its ready transactions fail with the reply (5xx) */
};
struct shape_rule {
    char *match;       /* ERE, validated at load */
    unsigned at;       /* enum rule_at */
    unsigned action;   /* enum rule_action */
    uint64_t duration; /* ms */
    double factor;     /* 0 < factor < 1 */
};

/* transport[]: recipient domains and the next hop they take (proto/nexthop.h syntax). */
struct transport_rule {
    char **domains; /* lower-case, exact names */
    size_t ndomains;
    char *nexthop;
};

enum { LOCAL_MAILDIR, LOCAL_MBOX }; /* local.mailbox */

/* smtpd.tls (docs/tls.md "Inbound"): the server's certificates and TLS policy. cert_file
 * NULL: no STARTTLS and no smtpd.tls_listen. The files are read by src/tls/tls.c (startup,
 * check-config, SIGHUP); conf checks only how the keys go together. */
struct smtpd_tls_conf {
    char *cert_file;            /* PEM certificate (then its chain), or NULL */
    char *key_file;             /* PEM private key; NULL: in cert_file */
    char *ecdsa_cert_file;      /* a second certificate, with an ECDSA key, or NULL */
    char *ecdsa_key_file;       /* NULL: in ecdsa_cert_file */
    char *ca_file;              /* CAs of client certificates, also completing our chain */
    unsigned min_tls;           /* least protocol, TLS 1.min_tls: 2 or 3 */
    uint64_t session_timeout;   /* ms: resumption (tickets, session cache); 0 = none */
    uint64_t handshake_timeout; /* ms: longest TLS handshake */
    bool ask_cert;              /* request a client certificate (needs ca_file) */
    bool require_cert;          /* ... and refuse a session without a verified one */
};

/* smtpd.auth (docs/auth.md): SMTP AUTH (RFC 4954) for clients. backend NULL: no AUTH. conf
 * checks which keys go with which backend; src/auth/ reads the password file. */
struct smtpd_auth_conf {
    char *backend;                /* "file", "pam", "pipe", "dovecot", or NULL */
    char *path;                   /* file: password file; pipe: program; dovecot: socket */
    char *pam_service;            /* pam: service name */
    uint64_t timeout;             /* ms, pipe/dovecot answer limit */
    unsigned workers;             /* file/pam worker threads */
    bool allow_cleartext;         /* AUTH offered without TLS (AUTH-LOGIN-also-without-TLS) */
    unsigned max_failures;        /* failed AUTHs per session, then 421 */
    unsigned max_failures_per_ip; /* failed AUTHs per client address within failure_window */
    uint64_t failure_window;      /* ms */
    uint64_t failure_delay;       /* ms: a failed AUTH's reply is held (without a tarpit) */
    bool rcvd_auth_user;          /* Received names the user */
    bool sender_must_match;       /* MAIL FROM must be the login (or login@local domain) */
};

/* What a milter that fails (unreachable, timed out, broken protocol) answers (docs/milter.md). */
enum conf_milter_action { CONF_MILTER_ACCEPT, CONF_MILTER_TEMPFAIL, CONF_MILTER_REJECT };

/* DKIM signing (docs/dkim.md): the algorithms and canonicalizations of the key table. */
enum dkim_alg { DKIM_ALG_RSA_SHA256, DKIM_ALG_ED25519_SHA256 };
enum dkim_canon {
    DKIM_CANON_RELAXED_RELAXED,
    DKIM_CANON_RELAXED_SIMPLE,
    DKIM_CANON_SIMPLE_RELAXED,
    DKIM_CANON_SIMPLE_SIMPLE,
};
/* One dkim.sign entry: messages whose From: domain matches from_domains (globs; none: equal
 * to domain) get a signature d=domain s=selector with the key in key_file. */
struct dkim_sign_conf {
    char *domain;
    char *selector;
    char *key_file;
    unsigned algorithm; /* enum dkim_alg */
    char **from_domains;
    size_t nfrom_domains;
};

struct conf {
    char *path;
    char *spool;
    char *hostname;
    char *user;     /* started as root, the daemon runs as this user */
    char *myorigin; /* appended to unqualified addresses; NULL = hostname (conf_myorigin) */
    char **aliases; /* alias files (compiled by `sluice newaliases` into FILE.db) */
    size_t naliases;
    char **virtual; /* virtual maps: address or @domain -> addresses (FILE.db) */
    size_t nvirtual;
    char **canonical; /* canonical maps: address or @domain -> address (FILE.db) */
    size_t ncanonical;
    struct {
        unsigned mailbox;           /* LOCAL_MAILDIR or LOCAL_MBOX */
        char *home_mailbox;         /* maildir: relative to the home ("Maildir/") */
        char *mail_spool_directory; /* mbox: DIR/USER */
        char **allow_mail_to_commands; /* "alias", "forward", "include" */
        size_t nallow_mail_to_commands;
        char **allow_mail_to_files;
        size_t nallow_mail_to_files;
        uint64_t command_timeout; /* ms a |command delivery may run */
        uint64_t mailbox_size_limit; /* bytes a mailbox file may grow to (mbox); 0 = none */
    } local;
    struct transport_rule *transport; /* the transport map, first match wins */
    size_t ntransport;
    char **trusted_users; /* may set any envelope sender through maildrop (src/pickup/) */
    size_t ntrusted_users;
    char **non_smtpd_milters; /* milters asked about sendmail submissions (src/pickup/) */
    size_t nnon_smtpd_milters;
    uint64_t milter_connect_timeout; /* ms: connect and option negotiation */
    uint64_t milter_command_timeout; /* ms: a reply to connect, HELO, MAIL, RCPT */
    uint64_t milter_content_timeout; /* ms: a reply to a header, end of header, body, end */
    struct {
        char **listen; /* "addr:port" / "[v6]:port"; at least one */
        size_t nlisten;
        struct cidr *trusted_networks;
        size_t ntrusted_networks;
        uint64_t max_message_size; /* bytes */
        struct logspec transcript;  /* smtpd.transcript: server sessions */
        char **submission_listen;  /* RFC 6409 listeners (port 587) */
        size_t nsubmission_listen;
        char **local_domains; /* lower-case; hostname is always local */
        size_t nlocal_domains;
        char **relay_domains; /* ZMailer relaytarget: accepted from anyone */
        size_t nrelay_domains;
        bool allow_source_routes; /* RCPT TO:<@relay:user@domain> from a trusted or
                                     authenticated client goes via relay (else stripped) */
        char **sloppy_helo; /* glob patterns (seed "veR" without R): brackets optional */
        size_t nsloppy_helo;
        struct cidr *sloppy_networks;
        size_t nsloppy_networks;
        struct cidr *bare_newline_networks; /* may end command lines with a bare LF */
        size_t nbare_newline_networks;
        char *hdr220;              /* greeting template, %H %V %T %% */
        char **help;               /* HELP text lines */
        size_t nhelp;
        unsigned vrfy_code;        /* 252 or 502 */
        unsigned expn_code;        /* 252 or 502 */
        uint64_t deliverby;        /* DELIVERBY minimum by-time, ms; 0: not offered */
        unsigned max_connections;        /* MaxParallelConnections */
        unsigned max_connections_per_ip; /* MaxSameIpSource */
        unsigned max_recipients;         /* RcptLimitCount */
        unsigned max_error_recipients;   /* max-error-recipients */
        uint64_t tarpit_initial;         /* ms, 0 = no tarpit */
        unsigned tarpit_factor;          /* next = prev + prev * factor */
        uint64_t command_timeout;        /* ms */
        uint64_t session_timeout;        /* ms */
        uint64_t min_free_space;         /* bytes on the spool's filesystem */
        unsigned max_hops;               /* Received headers (RFC 5321 §6.3: at least 100) */
        bool split_long_lines;           /* lines over 998 octets: split (true) or 554 */
        uint64_t rdns_timeout;           /* ms: longest wait for the client's rDNS; 0 = none */
        char **policydb;                 /* policy database sources (docs/policy.md) */
        size_t npolicydb;
        char **helo_patterns;            /* HELO/EHLO table rows (proto/helopat.h) */
        size_t nhelo_patterns;
        char **dnsbl;                    /* block list entries (proto/dnsbl.h) */
        size_t ndnsbl;
        char **rhsbl;                    /* domain block list entries (proto/dnsbl.h) */
        size_t nrhsbl;
        unsigned dnsbl_threshold;
        uint64_t dnsbl_timeout;          /* ms */
        char **policy_services;          /* policy delegation servers (proto/policyd.h) */
        size_t npolicy_services;
        char **policy_services_data;     /* the same, asked at the end of DATA */
        size_t npolicy_services_data;
        uint64_t policy_timeout;         /* ms */
        char *policy_default_action;     /* an action (proto/policyd.h) */
        char **milters;                  /* milter targets (proto/milter.h), asked in order */
        size_t nmilters;
        unsigned milter_default_action;  /* enum conf_milter_action: a milter that fails */
        struct smtpd_tls_conf tls;       /* smtpd.tls: STARTTLS when cert_file is set */
        char **tls_listen;               /* implicit TLS listeners (RFC 8314, port 465) */
        size_t ntls_listen;
        struct smtpd_auth_conf auth;     /* smtpd.auth: AUTH when backend is set */
    } smtpd;
    struct {
        char **forwarders; /* "ip@port" or "ip"; empty = /etc/resolv.conf */
        size_t nforwarders;
    } resolver;
    struct {
        unsigned queuecache;
        unsigned maxconnections;
        unsigned maxserverconnections;
        unsigned maxmessages;
        unsigned maxrecips;
        uint64_t interval_low;   /* ms */
        uint64_t interval_high;  /* ms */
        uint64_t interval_error; /* ms */
        uint64_t delay_start;    /* ms */
        unsigned *retries;       /* ZMailer factors, 1..64 of them */
        size_t nretries;
        uint64_t interval; /* ms (ZMailer scheduler.conf) */
        unsigned skew;
        uint64_t expiry;   /* ms */
        uint64_t idlemax;  /* ms an idle connection waits for more mail */
        struct client_conf client;
        uint16_t port;     /* deliver.client.port */
        bool fallbackMX_A; /* deliver.client.fallbackMX_A */
        struct remotenet *remotenets;
        size_t nremotenets;
        struct relay *relays;
        size_t nrelays;
        /* Shaping (docs/shaping.md). */
        struct policy *policies;
        size_t npolicies;
        struct shape_rule *rules;
        size_t nrules;
        bool builtin_rules;           /* the built-in reply rules follow deliver.rules */
        unsigned initial_concurrency; /* slow start: first connections of a destination */
        /* Reports and logs (docs/dsn.md, docs/logging.md). */
        struct logspec audit;        /* deliver.audit: one record per delivered recipient */
        struct logspec event_log;    /* deliver.event_log: JSON lines */
        struct logspec transcript;   /* deliver.client.transcript: client sessions */
        uint64_t delay_warning;      /* ms; 0 = no delay notices */
        char *double_bounce;         /* "" = failed bounces are dropped (logged) */
        uint64_t bounce_size_limit;  /* bytes: larger messages are returned as headers */
        bool verp;                   /* VERP for every message with a non-null sender */
        char **verp_domains;         /* ... or only for senders in these domains */
        size_t nverp_domains;
        char *verp_delimiters;       /* two characters */
    } deliver;
    struct {
        unsigned target; /* enum log_target (core/log.h) */
        char *path;      /* the file (target file), the socket (syslog; NULL: /dev/log) */
    } log;
    struct {
        char **listen; /* "addr:port": GET /metrics; empty = off */
        size_t nlisten;
    } metrics;
    struct {
        struct dkim_sign_conf *sign; /* none: no signing */
        size_t nsign;
        char **headers;  /* lower-case field names signed (always with "from") */
        size_t nheaders;
        char **oversign; /* ... signed once more than present */
        size_t noversign;
        unsigned canon;  /* enum dkim_canon */
    } dkim;
    struct {
        bool enabled;
        uint64_t duration; /* ms an address stays suppressed */
        char **codes;      /* globs of enhanced status codes that suppress */
        size_t ncodes;
    } suppression;
    struct {
        char *socket;   /* control socket; NULL = SPOOL/ctl.sock (ctl_socket_path) */
        char **listen;  /* TCP control listeners "addr:port" (need authfile) */
        size_t nlisten;
        char *authfile; /* USER:HASH:ATTRIBUTES[:NETWORKS] lines (proto/ctlproto.h) */
    } ctl;
};

/* Fills c with every default of the key table (hostname: gethostname(), else "localhost"). */
void conf_init(struct conf *c);
/* Loads file path over c (which conf_init() filled). Returns 0, or -1 with
 * "FILE:LINE: message" in err (err may be NULL); after -1, c is partly loaded but
 * consistent: conf_free() it. */
int conf_load(const char *path, struct conf *c, char *err, size_t errlen);
/* The same for text[0..len) (need not be NUL-terminated), called name in messages. */
int conf_load_text(const char *name, const char *text, size_t len, struct conf *c, char *err,
                   size_t errlen);
/* Frees everything conf_init/conf_load allocated and zeroes c. */
void conf_free(struct conf *c);
/* Reload: gives every key of nc that cannot change while running (spool, user, listeners,
 * forwarders, open logs, the AUTH verifier's settings, the control socket) the running value
 * of old, swapping them so each configuration still frees what it holds, and logs each
 * change that waits for a restart unless quiet. Calling it twice undoes it. */
void conf_keep_fixed(struct conf *nc, struct conf *old, bool quiet);
/* Prints every key of the key table, one line each (`sluice config-keys`). */
void conf_keys_dump(FILE *out);
/* myorigin, else hostname. */
const char *conf_myorigin(const struct conf *c);
/* True when what ("alias", "forward", "include") is in the list arr[0..n). */
bool conf_allows(char *const *arr, size_t n, const char *what);
/* The client settings for a peer: the first remotenet whose nets contain sa or whose hosts
 * name `host` (may be NULL), else the base deliver.client. Never NULL. */
const struct client_conf *conf_client_for(const struct conf *c, const struct sockaddr *sa,
                                          const char *host);
/* Parses a ZMailer retries string ("1 1 2 3 5 8 13 21 34": 1..64 positive factors, each
 * <= 100000, separated by blanks; at most 1024 bytes). Returns 0 and a malloc'ed array, or -1. */
int conf_retries_parse(const char *s, unsigned **out, size_t *n);
#endif
