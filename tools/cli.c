/* cli: the rules every command-line front end shares, so that every program name (sluice,
 * sendmail, mailq) and every subcommand behaves the same way.
 *
 * tool_conf_path(given, builtin)  the configuration file: -c FILE / --config FILE when given,
 *     else $SLUICE_CONF when set and not empty, else SLUICE_DEFAULT_CONF (*builtin true).
 * tool_help(usage)                 --help: the usage text on stdout, exit status 0.
 * tool_bad_option(who, ch, argv, usage)  a '?' or ':' from getopt_long (the option string
 *     starts with ':'): "WHO: option -c needs an argument", "WHO: option --help takes no
 *     argument" or "WHO: unsupported option -x", then the usage text, all on stderr; exit status 64 (EX_USAGE).
 * tool_helper_path(out, cap)       sluice-postdrop beside the running binary.
 * TOOL_LONGOPTS                    --config FILE and --help, for getopt_long. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "tools/tools.h"

const struct option tool_longopts[] = {
    {"config", required_argument, NULL, 'c'},
    {"help", no_argument, NULL, TOOL_OPT_HELP},
    {NULL, 0, NULL, 0},
};

/* The one rule for the configuration path. */
const char *tool_conf_path(const char *given, bool *builtin)
{
    const char *env = getenv("SLUICE_CONF");
    if (builtin)
        *builtin = false;
    if (given)
        return given;
    if (env && *env)
        return env;
    if (builtin)
        *builtin = true;
    return SLUICE_DEFAULT_CONF;
}

/* --help: usage on stdout. */
int tool_help(const char *usage)
{
    fputs(usage, stdout);
    return 0;
}

/* A bad option: what was wrong, then the usage, on stderr. */
int tool_bad_option(const char *who, int ch, char **argv, const char *usage)
{
    char opt[64];
    const char *typed = optind > 0 ? argv[optind - 1] : "";
    /* A long option (unknown: optopt 0; missing argument: the element just passed starts
     * with "--") is named as typed; a short one by its letter (it may sit in a group). */
    bool is_long = optopt <= 0 || optopt > 0xff || (ch == ':' && strncmp(typed, "--", 2) == 0);
    if (is_long)
        snprintf(opt, sizeof opt, "%.*s", (int)strcspn(typed, "="), typed);
    else
        snprintf(opt, sizeof opt, "-%c", optopt);
    if (ch == ':')
        fprintf(stderr, "%s: option %s needs an argument\n", who, opt);
    else if (is_long && strchr(typed, '='))
        fprintf(stderr, "%s: option %s takes no argument\n", who, opt);
    else
        fprintf(stderr, "%s: unsupported option %s\n", who, opt);
    fputs(usage, stderr);
    return EX_USAGE;
}

/* The helper beside the binary that runs (/usr/sbin/sluice -> /usr/sbin/sluice-postdrop). */
void tool_helper_path(char *out, size_t cap)
{
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    self[n > 0 ? n : 0] = '\0';
    char *slash = strrchr(self, '/');
    if (slash)
        *slash = '\0';
    snprintf(out, cap, "%s/sluice-postdrop", slash ? self : "/usr/sbin");
}
