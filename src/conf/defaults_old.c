/* defaults_old: the hand-written defaults that the key table replaces, kept for one commit
 * so that tests/unit/test_conf.c can check the table against them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/keys.h"
#include "core/log.h"
#include "core/xalloc.h"

#define DUR_S CONF_S
#define DUR_M CONF_M
#define DUR_H CONF_H
#define DUR_D CONF_D

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
    c->smtpd.max_hops = 50;
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
                                             .sendQUIT = true, .waitQUIT = true};
}
