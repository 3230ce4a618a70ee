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

#include "proto/cidr.h"

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
