/* tools: command-line front ends linked into the one `sluice` binary. Each returns the
 * process exit status (sysexits.h codes where sendmail compatibility asks for them). */
#ifndef SLUICE_TOOLS_H
#define SLUICE_TOOLS_H

/* sluice submit -c FILE [-f SENDER] [-t] [-i] [RCPT...]; as_sendmail: invoked as `sendmail`. */
int tool_submit(int argc, char **argv, int as_sendmail);
/* sluice mailq -c FILE */
int tool_mailq(int argc, char **argv);
/* sluice check-config -c FILE */
int tool_check_config(int argc, char **argv);
/* sluice config-keys: every configuration key, one tab-separated line each */
int tool_config_keys(int argc, char **argv);
/* Loads the configuration named by -c (or the default path); prints the error and returns
 * -1 on failure. */
struct conf;
int tool_load_conf(const char *path, struct conf *c);

/* sluice verp-decode [-c FILE] [-d DELIMS] [-s] ADDRESS (tools/verp.c) */
int tool_verp_decode(int argc, char **argv);

#define SLUICE_VERSION "0.1.0"
#define SLUICE_DEFAULT_CONF "/etc/sluice/sluice.conf"
#endif
