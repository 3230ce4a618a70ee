/* checkconf: `sluice check-config -c FILE` prints "ok" or "FILE:LINE: message" (exit 1);
 * `sluice config-keys` prints every configuration key with its type, default, bounds and
 * description (docs/config.md); and the shared configuration loader of the tools. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "conf/conf.h"
#include "tools/tools.h"

/* Loads path (defaults first); prints the error on stderr. */
int tool_load_conf(const char *path, struct conf *c)
{
    char err[1024];
    conf_init(c);
    if (conf_load(path, c, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        conf_free(c);
        return -1;
    }
    return 0;
}

/* Validates a configuration file. */
int tool_check_config(int argc, char **argv)
{
    const char *path = SLUICE_DEFAULT_CONF;
    int ch;
    while ((ch = getopt(argc, argv, "c:")) != -1) {
        if (ch != 'c') {
            fprintf(stderr, "usage: sluice check-config -c FILE\n");
            return 64;
        }
        path = optarg;
    }
    struct conf c;
    char err[1024];
    conf_init(&c);
    if (conf_load(path, &c, err, sizeof err) < 0) {
        printf("%s\n", err);
        conf_free(&c);
        return 1;
    }
    conf_free(&c);
    printf("ok\n");
    return 0;
}

/* Prints the key table. */
int tool_config_keys(int argc, char **argv)
{
    (void)argv;
    if (argc != 1) {
        fprintf(stderr, "usage: sluice config-keys\n");
        return 64;
    }
    conf_keys_dump(stdout);
    return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
}
