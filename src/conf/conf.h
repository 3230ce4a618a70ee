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

#include "proto/logpath.h"
#include "proto/cidr.h"

/* A log file (audit, events, transcripts; docs/logging.md): a path template (proto/logpath.h),
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
        unsigned max_hops;               /* Received headers, 50 */
        bool split_long_lines;           /* lines over 998 octets: split (true) or 554 */
        uint64_t rdns_timeout;           /* ms, 5 s: longest wait for the client's rDNS; 0 = none */
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
