/* sluice suppress [-c FILE] list|export|add ADDRESS [REASON]|remove ADDRESS
 * The suppression list (suppress/suppress.h, docs/dkim.md) of the configuration's spool,
 * edited in place (LMDB: safe while the daemon runs; it sees the change at its next lookup).
 *   list     one line per entry: ADDRESS  RECORDED  until EXPIRES|expired  REASON
 *   export   tab-separated, for programs: ADDRESS, recorded and expiry (seconds since the
 *            epoch), active (1/0), reason (tabs and control bytes made spaces)
 *   add      records ADDRESS now (REASON, default "added by hand"); replaces an entry
 *   remove   removes ADDRESS (exit 1 when it was not there)
 * Addresses are compared lower-cased. Run as root, the files are given to `user` so the
 * daemon can write them. Exit 0; 1 remove of an absent address; 64 usage; 65 a bad
 * address; 75 the store cannot be opened or written; 78 bad configuration. */
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "conf/conf.h"
#include "core/log.h"
#include "core/qid.h"
#include "proto/addr.h"
#include "suppress/suppress.h"
#include "tools/tools.h"

static const char suppress_usage[] =
    "usage: sluice suppress [-c FILE] list|export|add ADDRESS [REASON]|remove ADDRESS\n"
    "  The suppression list of hard-bounced recipients (docs/dkim.md).\n"
    "  FILE: -c FILE or --config FILE, else $SLUICE_CONF, else " SLUICE_DEFAULT_CONF "\n";

struct suppress_print {
    const struct conf *c;
    int64_t now;
    bool tsv;
};

/* UTC time of ms. */
static void suppress_time(int64_t ms, char *buf, size_t len)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Prints one entry (walk callback). */
static int suppress_print_one(void *arg, const struct suppress_entry *e)
{
    const struct suppress_print *p = arg;
    int64_t until = e->at + (int64_t)p->c->suppression.duration;
    char reason[sizeof e->reason], at[32], un[32];
    for (size_t i = 0; i <= strlen(e->reason); i++)
        reason[i] = (unsigned char)e->reason[i] < 0x20 && e->reason[i] ? ' ' : e->reason[i];
    if (p->tsv) {
        printf("%s\t%lld\t%lld\t%d\t%s\n", e->addr, (long long)(e->at / 1000),
               (long long)(until / 1000), until > p->now, reason);
        return 0;
    }
    suppress_time(e->at, at, sizeof at);
    suppress_time(until, un, sizeof un);
    printf("%s  %s  %s%s  %s\n", e->addr, at, until > p->now ? "until " : "expired ", un, reason);
    return 0;
}

/* Gives the store's files to the daemon's user when run as root. */
static void suppress_chown(const struct conf *c)
{
    struct passwd *pw = geteuid() == 0 ? getpwnam(c->user) : NULL;
    char path[4096];
    if (!pw)
        return;
    snprintf(path, sizeof path, "%s/suppress.mdb", c->spool);
    if (chown(path, pw->pw_uid, pw->pw_gid) < 0)
        fprintf(stderr, "sluice suppress: chown %s: %m\n", path);
    snprintf(path, sizeof path, "%s/suppress.mdb-lock", c->spool);
    if (chown(path, pw->pw_uid, pw->pw_gid) < 0)
        fprintf(stderr, "sluice suppress: chown %s: %m\n", path);
}

/* Runs one command on the opened store. */
static int suppress_run(struct suppress *s, const struct conf *c, int argc, char **argv)
{
    const char *cmd = argv[0];
    struct suppress_print p = {c, clock_wall_ms(), strcmp(cmd, "export") == 0};
    if ((strcmp(cmd, "list") == 0 || p.tsv) && argc == 1)
        return suppress_walk(s, suppress_print_one, &p) < 0 ? EX_TEMPFAIL : 0;
    bool add = strcmp(cmd, "add") == 0;
    if (!(add && (argc == 2 || argc == 3)) && !(strcmp(cmd, "remove") == 0 && argc == 2)) {
        fputs(suppress_usage, stderr);
        return EX_USAGE;
    }
    char addr[ADDR_MAX + 1];
    struct addr_opts o = {.sloppy = true, .utf8 = true};
    if (addr_parse_path(argv[1], strlen(argv[1]), &o, addr) != (ssize_t)strlen(argv[1]) ||
        !addr[0]) {
        fprintf(stderr, "sluice suppress: bad address %s\n", argv[1]);
        return EX_DATAERR;
    }
    if (!add) {
        int rc = suppress_remove(s, addr);
        if (rc == 0)
            fprintf(stderr, "sluice suppress: %s is not on the list\n", addr);
        return rc < 0 ? EX_TEMPFAIL : rc == 0 ? 1 : 0;
    }
    if (suppress_add(s, addr, clock_wall_ms(), argc == 3 ? argv[2] : "added by hand") < 0)
        return EX_TEMPFAIL;
    suppress_chown(c);
    return 0;
}

int tool_suppress(int argc, char **argv)
{
    const char *given = NULL;
    int ch;
    while ((ch = getopt_long(argc, argv, "+:c:", tool_longopts, NULL)) != -1) {
        if (ch == 'c')
            given = optarg;
        else if (ch == TOOL_OPT_HELP)
            return tool_help(suppress_usage);
        else
            return tool_bad_option("sluice suppress", ch, argv, suppress_usage);
    }
    if (optind >= argc) {
        fputs(suppress_usage, stderr);
        return EX_USAGE;
    }
    struct conf c;
    char err[512];
    if (tool_load_conf(tool_conf_path(given, NULL), &c) < 0)
        return EX_CONFIG;
    struct suppress *s = suppress_open(c.spool, NULL, err, sizeof err);
    int rc = EX_TEMPFAIL;
    if (!s)
        fprintf(stderr, "sluice suppress: %s\n", err);
    else
        rc = suppress_run(s, &c, argc - optind, argv + optind);
    suppress_close(s);
    conf_free(&c);
    return rc;
}
