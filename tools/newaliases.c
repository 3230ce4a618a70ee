/* sluice newaliases [-c FILE]   (also `newaliases` and `sendmail -bi`)
 * Compiles every file of the `aliases`, `virtual` and `canonical` keys into FILE.db
 * (route/aliasdb.h): each one is
 * parsed whole first and replaced atomically, so a file with an error keeps its old map.
 * Prints "FILE: N aliases" (N entries) per file; an error is "FILE:LINE: message" on stderr. Exit 0
 * when every file compiled, 65 (EX_DATAERR) when one did not, 64 usage, 78 configuration. */
#include <getopt.h>
#include <stdio.h>
#include <sysexits.h>

#include "conf/conf.h"
#include "route/aliasdb.h"
#include "tools/tools.h"

static const char newaliases_usage[] =
    "usage: sluice newaliases [-c FILE]\n"
    "  Compiles each file of the `aliases`, `virtual` and `canonical` keys into FILE.db (an error: FILE:LINE, the old\n"
    "  map stays). FILE: -c FILE or --config FILE, else $SLUICE_CONF, else " SLUICE_DEFAULT_CONF
    "\n";

/* Compiles the n files of one key; EX_DATAERR when one failed, else 0. */
static int newaliases_files(char **files, size_t n, enum aliasdb_kind kind, const char *what)
{
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        char err[512];
        unsigned count;
        if (aliasdb_compile_kind(files[i], kind, &count, err, sizeof err) < 0) {
            fprintf(stderr, "sluice newaliases: %s\n", err);
            rc = EX_DATAERR;
            continue;
        }
        printf("%s: %u %s\n", files[i], count, what);
    }
    return rc;
}

/* Compiles every configured alias, virtual and canonical file. */
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
    if (c.naliases + c.nvirtual + c.ncanonical == 0)
        fprintf(stderr, "sluice newaliases: no `aliases`, `virtual` or `canonical` files configured\n");
    rc |= newaliases_files(c.aliases, c.naliases, ALIASDB_ALIASES, "aliases");
    rc |= newaliases_files(c.virtual, c.nvirtual, ALIASDB_VIRTUAL, "virtual entries");
    rc |= newaliases_files(c.canonical, c.ncanonical, ALIASDB_CANONICAL, "canonical entries");
    conf_free(&c);
    return rc;
}
