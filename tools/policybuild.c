/* policybuild: `sluice policy-build [-c FILE]` compiles the policy database sources of
 * smtpd.policydb into <spool>/policy.lmdb (docs/policy.md), replacing the old map
 * atomically; a running daemon maps the new one on SIGHUP. Exit 0 with "ok: N files ->
 * PATH" on stdout; exit 65 (EX_DATAERR) with "FILE:LINE: why" on stderr for a bad line
 * (nothing replaced); 78 (EX_CONFIG) for a bad configuration or an empty smtpd.policydb. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>

#include "conf/conf.h"
#include "policy/policy.h"
#include "tools/tools.h"

static const char policybuild_usage[] =
    "usage: sluice policy-build [-c FILE]\n"
    "  Compiles the files of smtpd.policydb into SPOOL/policy.lmdb (atomically replaced;\n"
    "  SIGHUP makes the daemon use it). Errors: \"FILE:LINE: why\" (exit 65).\n"
    "  FILE: -c FILE or --config FILE, else $SLUICE_CONF, else " SLUICE_DEFAULT_CONF "\n";

int tool_policy_build(int argc, char **argv)
{
    const char *given = NULL;
    int ch;
    while ((ch = getopt_long(argc, argv, ":c:", tool_longopts, NULL)) != -1) {
        if (ch == 'c')
            given = optarg;
        else if (ch == TOOL_OPT_HELP)
            return tool_help(policybuild_usage);
        else
            return tool_bad_option("sluice policy-build", ch, argv, policybuild_usage);
    }
    if (optind != argc) {
        fprintf(stderr, "sluice policy-build: unexpected argument %s\n%s", argv[optind],
                policybuild_usage);
        return EX_USAGE;
    }
    struct conf c;
    char err[1024], map[1024];
    if (tool_load_conf(tool_conf_path(given, NULL), &c) < 0)
        return EX_CONFIG;
    if (c.smtpd.npolicydb == 0) {
        fprintf(stderr, "sluice policy-build: smtpd.policydb is empty: nothing to build\n");
        conf_free(&c);
        return EX_CONFIG;
    }
    if (mkdir(c.spool, 0700) < 0 && errno != EEXIST) {
        fprintf(stderr, "sluice policy-build: %s: %s\n", c.spool, strerror(errno));
        conf_free(&c);
        return EX_CANTCREAT;
    }
    int rc = policy_build(&c, err, sizeof err);
    if (rc < 0)
        fprintf(stderr, "%s\n", err);
    else
        printf("ok: %zu files -> %s\n", c.smtpd.npolicydb, policy_map_path(&c, map, sizeof map));
    conf_free(&c);
    return rc < 0 ? EX_DATAERR : 0;
}
