/* conf: the configuration, loaded from one libconfig file into typed structs.
 * Every key has a default (the seed's), a type and bounds; an unknown key, a wrong type or an
 * out-of-range value is an error "FILE:LINE: message". Durations are strings or integers
 * parsed by duration_parse() ("250" = 250 ms, "15s", ...); integers given for a duration are
 * milliseconds. All times in this struct are milliseconds. The struct is read-only once
 * loaded: the daemon keeps one handle (the only cross-module global allowed by STYLE.md is
 * passed explicitly instead). */
#ifndef SLUICE_CONF_H
#define SLUICE_CONF_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "audit/logpath.h"
#include "proto/cidr.h"

/* A log file (audit, events, transcripts; docs/logging.md): a path template (audit/logpath.h),
 * its rotation, the period of its grouped fsyncs, and for transcripts the peers recorded
 * (CIDR blocks and domains; both empty = every peer). path NULL = off. */
struct logspec {
    char *path;      /* template, NULL when off */
    unsigned rot;    /* LOGROT_*, default daily */
    uint64_t flush;  /* ms between grouped fsyncs, default 200 */
    struct cidr *nets;
    size_t nnets;
    char **domains;  /* lower-case; a peer name equal to or below one matches */
    size_t ndomains;
};

/* Client settings a remotenet may override (seed 000 §4.5.3). */
struct client_conf {
    char *announcehost;   /* default: hostname */
    unsigned maxpipeline; /* default 25; 0 is stored as 1 */
    uint64_t timeout;     /* default 1m */
    uint64_t mindatarate; /* bits per second, default 1000000 */
    bool sayHELO;         /* default false */
    bool fallbackHELO;    /* default false */
    bool sendQUIT;        /* default true */
    bool waitQUIT;        /* default true */
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

/* A relay (seed 000 §4.5.4). host is a name, or an IP when literal ("[ip]:port"). */
struct relay {
    char *address; /* as configured, for logs */
    char *host;
    uint16_t port; /* default: deliver.client.port */
    bool literal;
    char **destdomains; /* lower-case domains */
    size_t ndestdomains;
    char **senders; /* lower-case "domain" or "local@domain" */
    size_t nsenders;
    struct cidr *sendernets;
    size_t nsendernets;
};

/* TLS wire versions of smtpd.tls.min_protocol (OpenSSL's TLS1_2_VERSION, TLS1_3_VERSION). */
#define CONF_TLS1_2 0x0303u
#define CONF_TLS1_3 0x0304u

/* smtpd.tls (docs/tls.md): the server's certificates and TLS policy. cert_file NULL: no
 * STARTTLS and no smtpd.tls_listen. The files are read by src/tls/ (startup, check-config,
 * SIGHUP); conf checks only how the keys go together. */
struct smtpd_tls_conf {
    char *cert_file;          /* PEM certificate (then its chain), or NULL */
    char *key_file;           /* PEM private key; NULL: in cert_file */
    char *ecdsa_cert_file;    /* a second certificate of the other key type, or NULL */
    char *ecdsa_key_file;     /* NULL: in ecdsa_cert_file */
    char *ca_file;            /* CAs of client certificates, also completing our chain */
    unsigned min_protocol;    /* TLS wire version: 0x0303 TLSv1.2 (default) or 0x0304 */
    uint64_t session_timeout; /* ms, 1 h: resumption (tickets, session cache); 0 = none */
    uint64_t handshake_timeout; /* ms, 1 m: longest TLS handshake */
    bool ask_cert;            /* request a client certificate (needs ca_file) */
    bool require_cert;        /* ... and refuse a session without a verified one */
};

/* smtpd.auth (docs/auth.md): SMTP AUTH (RFC 4954) for clients. backend NULL: no AUTH. conf
 * checks which keys go with which backend; src/auth/ reads the password file. */
struct smtpd_auth_conf {
    char *backend;            /* "file", "pam", "pipe", "dovecot", or NULL */
    char *path;               /* file: password file; pipe: program; dovecot: socket */
    char *pam_service;        /* pam: service name, default "smtp" */
    uint64_t timeout;         /* ms, pipe/dovecot answer limit; 0 = the backend's 10 s */
    unsigned workers;         /* file/pam worker threads; 0 = the backend's 2 */
    bool allow_cleartext;     /* AUTH offered without TLS (AUTH-LOGIN-also-without-TLS) */
    unsigned max_failures;    /* failed AUTHs per session, then 421; 3 */
    unsigned max_failures_per_ip; /* failed AUTHs per client address within failure_window; 10 */
    uint64_t failure_window;  /* ms, 10 m */
    uint64_t failure_delay;   /* ms, 1 s: a failed AUTH's reply is held (without a tarpit) */
    bool rcvd_auth_user;      /* Received names the user; default true */
    bool sender_must_match;   /* MAIL FROM must be the login (or login@local domain) */
};

struct conf {
    char *path;
    char *spool;    /* default "/var/spool/sluice" */
    char *hostname; /* default: gethostname() */
    char *user;     /* default "sluice": started as root, the daemon runs as this user */
    struct {
        char **listen; /* "addr:port" / "[v6]:port"; default { "127.0.0.1:25" } */
        size_t nlisten;
        struct cidr *trusted_networks; /* default 127.0.0.0/8, ::1/128 */
        size_t ntrusted_networks;
        uint64_t max_message_size; /* bytes, default 10240000 */
        struct logspec transcript;  /* smtpd.transcript: server sessions (off by default) */
        char **submission_listen;  /* RFC 6409 listeners (port 587); default none */
        size_t nsubmission_listen;
        char **local_domains; /* lower-case; hostname is always local */
        size_t nlocal_domains;
        char **relay_domains; /* ZMailer relaytarget: accepted from anyone */
        size_t nrelay_domains;
        char **sloppy_helo; /* glob patterns (seed "veR" without R): brackets optional */
        size_t nsloppy_helo;
        struct cidr *sloppy_networks;
        size_t nsloppy_networks;
        struct cidr *bare_newline_networks; /* may end command lines with a bare LF; default none */
        size_t nbare_newline_networks;
        char *hdr220;              /* greeting template, %H %V %T %%; default "%H ESMTP sluice" */
        char **help;               /* HELP text lines; default a command list */
        size_t nhelp;
        unsigned vrfy_code;        /* 252 (default) or 502 */
        unsigned expn_code;        /* 252 or 502 (default) */
        uint64_t deliverby;        /* DELIVERBY minimum by-time, ms; 0: not offered; 60 s */
        unsigned max_connections;        /* MaxParallelConnections, 800 */
        unsigned max_connections_per_ip; /* MaxSameIpSource, 10 */
        unsigned max_recipients;         /* RcptLimitCount, 10000 */
        unsigned max_error_recipients;   /* max-error-recipients, 3 */
        uint64_t tarpit_initial;         /* ms, 0 = no tarpit */
        unsigned tarpit_factor;          /* next = prev + prev * factor */
        uint64_t command_timeout;        /* ms, 5 m */
        uint64_t session_timeout;        /* ms, 1 h */
        uint64_t min_free_space;         /* bytes on the spool's filesystem, 5000 KiB */
        unsigned max_hops;               /* Received headers, 100 (RFC 5321 §6.3) */
        bool split_long_lines;           /* lines over 998 octets: split (true) or 554 */
        uint64_t rdns_timeout;           /* ms, 5 s: longest wait for the client's rDNS; 0 = none */
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
        unsigned queuecache;           /* 2500 */
        unsigned maxconnections;       /* 2500 */
        unsigned maxserverconnections; /* 20 */
        unsigned maxmessages;          /* 100 */
        unsigned maxrecips;            /* 50 */
        uint64_t interval_low;         /* 100 ms */
        uint64_t interval_high;        /* 15 s */
        uint64_t interval_error;       /* 3 m */
        uint64_t delay_start;          /* 30 s */
        unsigned *retries;             /* "1 1 2 3 5 8 13 21 34" */
        size_t nretries;
        uint64_t interval; /* 1 m (ZMailer scheduler.conf) */
        unsigned skew;     /* 1 */
        uint64_t expiry;   /* 3 d */
        uint64_t idlemax;  /* 2 s: how long an idle connection waits for more mail */
        struct client_conf client;
        uint16_t port;     /* deliver.client.port, default 25 */
        bool fallbackMX_A; /* deliver.client.fallbackMX_A, default false */
        struct remotenet *remotenets;
        size_t nremotenets;
        struct relay *relays;
        size_t nrelays;
        /* Reports and logs (docs/dsn.md, docs/logging.md). */
        struct logspec audit;        /* deliver.audit: one record per delivered recipient */
        struct logspec event_log;    /* deliver.event_log: JSON lines */
        struct logspec transcript;   /* deliver.client.transcript: client sessions */
        uint64_t delay_warning;      /* 4 h; 0 = no delay notices */
        char *double_bounce;         /* "" = failed bounces are dropped (logged) */
        uint64_t bounce_size_limit;  /* 50000: larger messages are returned as headers */
        bool verp;                   /* VERP for every message with a non-null sender */
        char **verp_domains;         /* ... or only for senders in these domains */
        size_t nverp_domains;
        char *verp_delimiters;       /* "+=" */
    } deliver;
};

/* Fills c with every default (hostname from gethostname()). */
void conf_defaults(struct conf *c);
/* Loads path over the defaults (c must have been filled by conf_defaults()). Returns 0, or -1
 * with "FILE:LINE: message" in err (err may be NULL); after -1, c is partly loaded but
 * consistent: conf_free() it. */
int conf_load(const char *path, struct conf *c, char *err, size_t errlen);
/* Frees everything conf_defaults/conf_load allocated. */
void conf_free(struct conf *c);
/* The client settings for a peer: the first remotenet whose nets contain sa or whose hosts
 * name `host` (may be NULL), else the base deliver.client. Never NULL. */
const struct client_conf *conf_client_for(const struct conf *c, const struct sockaddr *sa,
                                          const char *host);
/* Parses a ZMailer retries string ("1 1 2 3 5 8 13 21 34": 1..64 positive factors, each
 * <= 100000, separated by blanks; at most 1024 bytes). Returns 0 and a malloc'ed array, or -1. */
int conf_retries_parse(const char *s, unsigned **out, size_t *n);
#endif
