/* sluice newaliases [-c FILE]   (also `newaliases` and `sendmail -bi`)
 * Compiles every file of the `aliases` key into FILE.db (route/aliasdb.h): each one is
 * parsed whole first and replaced atomically, so a file with an error keeps its old map.
 * Prints "FILE: N aliases" per file; an error is "FILE:LINE: message" on stderr. Exit 0
 * when every file compiled, 65 (EX_DATAERR) when one did not, 64 usage, 78 configuration. */
#include <getopt.h>
#include <stdio.h>
#include <sysexits.h>

#include "conf/conf.h"
#include "route/aliasdb.h"
#include "tools/tools.h"

static const char newaliases_usage[] =
    "usage: sluice newaliases [-c FILE]\n"
    "  Compiles each file of the `aliases` key into FILE.db (an error: FILE:LINE, the old\n"
    "  map stays). FILE: -c FILE or --config FILE, else $SLUICE_CONF, else " SLUICE_DEFAULT_CONF
    "\n";

/* Compiles every configured alias file. */
int tool_newaliases(int argc, char **argv)
{
    const char *given = NULL;
    int ch, rc = 0;
    while ((ch = getopt_long(argc, argv, ":c:", tool_longopts, NULL)) != -1) {
        if (ch == 'c')
            given = optarg;
        else if (ch == TOOL_OPT_HELP)
            return tool_help(newaliases_usage);
        else
            return tool_bad_option("sluice newaliases", ch, argv, newaliases_usage);
    }
    if (optind != argc) {
        fprintf(stderr, "sluice newaliases: no arguments expected\n%s", newaliases_usage);
        return EX_USAGE;
    }
    struct conf c;
    if (tool_load_conf(tool_conf_path(given, NULL), &c) < 0)
        return EX_CONFIG;
    if (c.naliases == 0)
        fprintf(stderr, "sluice newaliases: no `aliases` files configured\n");
    for (size_t i = 0; i < c.naliases; i++) {
        char err[512];
        unsigned n;
        if (aliasdb_compile(c.aliases[i], &n, err, sizeof err) < 0) {
            fprintf(stderr, "sluice newaliases: %s\n", err);
            rc = EX_DATAERR;
            continue;
        }
        printf("%s: %u aliases\n", c.aliases[i], n);
    }
    conf_free(&c);
    return rc;
}
