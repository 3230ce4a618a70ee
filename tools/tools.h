/* tools: command-line front ends linked into the one `sluice` binary. Each returns the
 * process exit status (sysexits.h codes: 0, 64 usage, 65 data, 75 temporary failure, 78
 * configuration). Every front end takes -c FILE / --config FILE (tool_conf_path: else
 * $SLUICE_CONF, else SLUICE_DEFAULT_CONF) and --help (usage on stdout, exit 0); a bad option
 * says what is wrong and exits 64 (tools/cli.c). */
#ifndef SLUICE_TOOLS_H
#define SLUICE_TOOLS_H
#include <stdbool.h>
#include <stddef.h>

struct conf;
struct option;

/* sluice submit [-c FILE] [-f SENDER] [-t] [-i] [RCPT...]; as_sendmail: invoked as `sendmail`. */
int tool_submit(int argc, char **argv, int as_sendmail);
/* sluice mailq [-c FILE]; as_mailq: invoked as `mailq`. */
int tool_mailq(int argc, char **argv, int as_mailq);
/* sluice ctl [-c FILE] [--tcp HOST:PORT --user USER] COMMAND [ARG...] (tools/ctl.c) */
int tool_ctl(int argc, char **argv);
/* sluice cat [-c FILE] [-e] [-b] QID (tools/cat.c) */
int tool_cat(int argc, char **argv);
/* sluice check-config [-c FILE] */
int tool_check_config(int argc, char **argv);
/* sluice config-keys: every configuration key, one tab-separated line each */
int tool_config_keys(int argc, char **argv);
/* sluice newaliases [-c FILE] (tools/newaliases.c) */
int tool_newaliases(int argc, char **argv);
/* sluice verp-decode [-c FILE] [-d DELIMS] [-s] ADDRESS (tools/verp.c) */
int tool_verp_decode(int argc, char **argv);
/* sluice policy-build [-c FILE] (policybuild.c) */
int tool_policy_build(int argc, char **argv);
/* sluice suppress [-c FILE] list|export|add ADDRESS [REASON]|remove ADDRESS (tools/suppress.c) */
int tool_suppress(int argc, char **argv);

/* Loads the configuration at path (defaults first); prints the error on stderr and returns
 * -1 on failure. */
int tool_load_conf(const char *path, struct conf *c);
/* The configuration file: given (-c/--config) when not NULL, else $SLUICE_CONF when set and
 * not empty, else SLUICE_DEFAULT_CONF; *builtin (may be NULL) tells whether it is the last. */
const char *tool_conf_path(const char *given, bool *builtin);
/* --help: prints usage on stdout; returns 0. */
int tool_help(const char *usage);
/* The setgid helper sluice-postdrop beside the running binary (its path into out). */
void tool_helper_path(char *out, size_t cap);
/* After getopt_long returned '?' or ':' (option string starting with ':'): prints "WHO:
 * option -c needs an argument" or "WHO: unsupported option -x" and usage on stderr; 64. */
int tool_bad_option(const char *who, int ch, char **argv, const char *usage);

/* getopt_long options every front end takes: --config FILE ('c') and --help. */
extern const struct option tool_longopts[];
#define TOOL_OPT_HELP 0x100

#define SLUICE_VERSION "0.1.0"
#define SLUICE_DEFAULT_CONF "/etc/sluice/sluice.conf"
#endif
