/* sluice verp-decode [-c FILE] [-d DELIMS] [-s] ADDRESS
 * Traces a bounce that arrived at a VERP address back to the recipient (dsn/verp.h):
 * prints the recipient ("joe@dom.example"), and with -s the original sender on a second
 * line. Delimiters: -d, else deliver.verp_delimiters of the configuration given with -c,
 * else "+=". Exit 0; 1 when ADDRESS is not a VERP address; 64 usage; 78 bad configuration.
 * Angle brackets around ADDRESS are accepted. */
#include <stdio.h>
#include <string.h>
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

/* sluice verp-decode */
int tool_verp_decode(int argc, char **argv)
{
    const char *path = NULL, *delims = NULL;
    int ch, with_sender = 0;
    while ((ch = getopt(argc, argv, "c:d:s")) != -1) {
        if (ch == 'c')
            path = optarg;
        else if (ch == 'd')
            delims = optarg;
        else if (ch == 's')
            with_sender = 1;
        else
            return 64;
    }
    if (optind != argc - 1) {
        fprintf(stderr, "usage: sluice verp-decode [-c FILE] [-d DELIMS] [-s] ADDRESS\n");
        return 64;
    }
    if (delims && strlen(delims) != 2) {
        fprintf(stderr, "sluice verp-decode: -d wants two characters, e.g. \"+=\"\n");
        return 64;
    }
    if (delims || !path)
        return tool_verp_print(argv[optind], delims ? delims : "+=", with_sender);
    struct conf c;
    if (tool_load_conf(path, &c) < 0)
        return 78;
    int rc = tool_verp_print(argv[optind], c.deliver.verp_delimiters, with_sender);
    conf_free(&c);
    return rc;
}
