/* sluice verp-decode [-c FILE] [-d DELIMS] [-s] ADDRESS
 * Traces a bounce that arrived at a VERP address back to the recipient (dsn/verp.h):
 * prints the recipient ("joe@dom.example"), and with -s the original sender on a second
 * line. Delimiters: -d, else deliver.verp_delimiters of the configuration (the tools' one
 * rule: -c FILE / --config FILE, else $SLUICE_CONF, else /etc/sluice/sluice.conf), else "+="
 * when no file was named and the built-in default file does not exist. Exit 0; 1 when
 * ADDRESS is not a VERP address; 64 usage; 78 bad configuration. Angle brackets around
 * ADDRESS are accepted. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "conf/conf.h"
#include "dsn/verp.h"
#include "tools/tools.h"

/* Decodes ADDRESS with delims and prints the result. */
static int tool_verp_print(const char *arg, const char *delims, int with_sender)
{
    char rcpt[VERP_ADDR_MAX + 1], sender[VERP_ADDR_MAX + 1];
    size_t len = strlen(arg);
    if (len >= 2 && arg[0] == '<' && arg[len - 1] == '>') {
        arg++;
        len -= 2;
    }
    if (verp_decode(arg, len, delims, rcpt, sender, sizeof rcpt) < 0) {
        fprintf(stderr, "sluice verp-decode: not a VERP address for delimiters \"%s\"\n", delims);
        return 1;
    }
    printf("%s\n", rcpt);
    if (with_sender)
        printf("%s\n", sender);
    return 0;
}

static const char verp_usage[] =
    "usage: sluice verp-decode [-c FILE] [-d DELIMS] [-s] ADDRESS\n"
    "  Prints the recipient a VERP address stands for (-s: and the original sender).\n"
    "  DELIMS: -d, else deliver.verp_delimiters of FILE, else \"+=\" when FILE is the\n"
    "  default and does not exist. FILE: -c FILE or --config FILE, else $SLUICE_CONF,\n"
    "  else " SLUICE_DEFAULT_CONF "\n";

/* sluice verp-decode */
int tool_verp_decode(int argc, char **argv)
{
    const char *given = NULL, *delims = NULL;
    int ch, with_sender = 0;
    while ((ch = getopt_long(argc, argv, ":c:d:s", tool_longopts, NULL)) != -1) {
        if (ch == 'c')
            given = optarg;
        else if (ch == 'd')
            delims = optarg;
        else if (ch == 's')
            with_sender = 1;
        else if (ch == TOOL_OPT_HELP)
            return tool_help(verp_usage);
        else
            return tool_bad_option("sluice verp-decode", ch, argv, verp_usage);
    }
    if (optind != argc - 1) {
        fprintf(stderr, "sluice verp-decode: want exactly one ADDRESS\n%s", verp_usage);
        return EX_USAGE;
    }
    if (delims && strlen(delims) != 2) {
        fprintf(stderr, "sluice verp-decode: -d wants two characters, e.g. \"+=\"\n");
        return EX_USAGE;
    }
    bool builtin;
    const char *path = tool_conf_path(given, &builtin);
    if (delims || (builtin && access(path, F_OK) < 0 && errno == ENOENT))
        return tool_verp_print(argv[optind], delims ? delims : "+=", with_sender);
    struct conf c;
    if (tool_load_conf(path, &c) < 0)
        return EX_CONFIG;
    int rc = tool_verp_print(argv[optind], c.deliver.verp_delimiters, with_sender);
    conf_free(&c);
    return rc;
}
