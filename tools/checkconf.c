/* checkconf: `sluice check-config [-c FILE]` prints "ok" on stdout (exit 0), or the first
 * error on stderr (exit 78, EX_CONFIG): "FILE:LINE: message" from the configuration
 * loader, "FILE: user 'NAME' does not exist ..." when `user` names no account (the
 * daemon would refuse to start as root), "FILE: tls: deliver.relays[N].ssl: ..." when a
 * relay's CA file, certificate or key does not load, or "FILE: smtpd.tls.KEY PATH: why"
 * when a server certificate, key or CA file of smtpd.tls does not load, or "FILE: smtpd.auth:
 * why" when the AUTH verifier would not start (a password file that does not load, with its
 * FILE:LINE), or "FILE: dkim key PATH: why" when a dkim.sign key does not load or does
 * not fit its algorithm. With --explain DOMAIN it prints the effective delivery policy of
 * DOMAIN instead of "ok" (deliver/policy.h). `sluice config-keys` prints every configuration
 * key with its type, default, bounds and description (docs/config.md). Also the shared
 * configuration loader of the tools. */
#include <ctype.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "auth/auth.h"
#include "conf/conf.h"
#include "deliver/policy.h"
#include "dkim/dkim.h"
#include "tls/client.h"
#include "tls/tls.h"
#include "tools/tools.h"

static const char checkconf_usage[] =
    "usage: sluice check-config [-c FILE] [--explain DOMAIN]\n"
    "  Validates the configuration: \"ok\" (exit 0), or the error on stderr (exit 78).\n"
    "  --explain DOMAIN: instead of \"ok\", the effective delivery policy of DOMAIN and the\n"
    "  block that set each value (docs/shaping.md).\n"
    "  FILE: -c FILE or --config FILE, else $SLUICE_CONF, else " SLUICE_DEFAULT_CONF "\n";

#define CHECKCONF_OPT_EXPLAIN 0x101
static const struct option checkconf_longopts[] = {
    {"config", required_argument, NULL, 'c'},
    {"help", no_argument, NULL, TOOL_OPT_HELP},
    {"explain", required_argument, NULL, CHECKCONF_OPT_EXPLAIN},
    {NULL, 0, NULL, 0},
};

/* True for a domain --explain accepts: 1..253 bytes of letters, digits, '-', '.', '_'. */
static bool checkconf_domain_ok(const char *d)
{
    size_t n = strlen(d);
    if (n == 0 || n > 253)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)d[i]) && !strchr("-._", d[i]))
            return false;
    return true;
}

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

/* False (with the error on stderr) when `user` names no account; "root" always exists. */
static bool checkconf_user_ok(const char *path, const struct conf *c)
{
    if (strcmp(c->user, "root") == 0 || getpwnam(c->user))
        return true;
    fprintf(stderr, "%s: user '%s' does not exist (create it: useradd --system %s)\n", path,
            c->user, c->user);
    return false;
}

/* False (with the error on stderr) when a relay's CA file, client certificate or key does
 * not load: the daemon would refuse to start. */
static bool checkconf_tls_ok(const char *path, const struct conf *c)
{
    char err[1024];
    struct tls_client *tc = tls_client_create(c, err, sizeof err);
    if (!tc) {
        fprintf(stderr, "%s: tls: %s\n", path, err);
        return false;
    }
    tls_client_free(tc);
    return true;
}

/* False (with the error on stderr) when smtpd.tls's certificates, keys or CA file do not
 * load as the daemon would load them at startup. */
static bool checkconf_smtpd_tls_ok(const char *path, const struct conf *c)
{
    char err[1024];
    if (!c->smtpd.tls.cert_file)
        return true;
    struct tls_server *t = tls_server_create(&c->smtpd.tls, err, sizeof err);
    if (!t) {
        fprintf(stderr, "%s: %s\n", path, err);
        return false;
    }
    tls_server_free(t);
    return true;
}

/* False (with the error on stderr) when smtpd.auth's verifier cannot start as the daemon
 * would start it (the password file does not load: FILE:LINE, a pipe program missing). */
static bool checkconf_auth_ok(const char *path, const struct conf *c)
{
    const struct smtpd_auth_conf *a = &c->smtpd.auth;
    struct auth_conf ac = {.path = a->path, .pam_service = a->pam_service,
                           .timeout_ms = (unsigned)a->timeout, .workers = 1};
    char err[1024];
    if (!a->backend || auth_backend_parse(a->backend, &ac.backend) < 0)
        return true; /* conf_load checked the name */
    evthread_use_pthreads();
    struct event_base *base = event_base_new();
    struct auth *au = base ? auth_create(base, &ac, err, sizeof err) : NULL;
    bool ok = au != NULL;
    if (!ok)
        fprintf(stderr, "%s: smtpd.auth: %s\n", path, base ? err : "no event base");
    auth_free(au);
    if (base)
        event_base_free(base);
    return ok;
}

/* False (with the error on stderr) when a dkim.sign key does not load or fit its algorithm. */
static bool checkconf_dkim_ok(const char *path, const struct conf *c)
{
    char err[1024];
    if (c->dkim.nsign == 0)
        return true;
    struct dkim_keys *k = dkim_keys_load(c, err, sizeof err);
    if (!k)
        fprintf(stderr, "%s: %s\n", path, err);
    dkim_keys_free(k);
    return k != NULL;
}

/* Validates a configuration file. */
int tool_check_config(int argc, char **argv)
{
    const char *given = NULL, *explain = NULL;
    int ch;
    while ((ch = getopt_long(argc, argv, ":c:", checkconf_longopts, NULL)) != -1) {
        if (ch == 'c')
            given = optarg;
        else if (ch == CHECKCONF_OPT_EXPLAIN)
            explain = optarg;
        else if (ch == TOOL_OPT_HELP)
            return tool_help(checkconf_usage);
        else
            return tool_bad_option("sluice check-config", ch, argv, checkconf_usage);
    }
    if (optind != argc) {
        fprintf(stderr, "sluice check-config: unexpected argument %s\n%s", argv[optind],
                checkconf_usage);
        return EX_USAGE;
    }
    if (explain && !checkconf_domain_ok(explain)) {
        fprintf(stderr, "sluice check-config: --explain: bad domain %s\n%s", explain,
                checkconf_usage);
        return EX_USAGE;
    }
    const char *path = tool_conf_path(given, NULL);
    struct conf c;
    if (tool_load_conf(path, &c) < 0)
        return EX_CONFIG;
    bool ok = checkconf_user_ok(path, &c) && checkconf_tls_ok(path, &c) &&
              checkconf_smtpd_tls_ok(path, &c) && checkconf_auth_ok(path, &c) &&
              checkconf_dkim_ok(path, &c);
    if (ok && explain)
        policy_explain(&c, explain, stdout);
    conf_free(&c);
    if (!ok)
        return EX_CONFIG;
    if (!explain)
        printf("ok\n");
    return fflush(stdout) == 0 && !ferror(stdout) ? 0 : EX_IOERR;
}

static const char config_keys_usage[] =
    "usage: sluice config-keys\n"
    "  Every configuration key, one line each: KEY TYPE DEFAULT BOUNDS DESCRIPTION,\n"
    "  separated by tabs (docs/config.md).\n";

/* Prints the key table. */
int tool_config_keys(int argc, char **argv)
{
    int ch;
    while ((ch = getopt_long(argc, argv, ":", tool_longopts, NULL)) != -1) {
        if (ch == TOOL_OPT_HELP)
            return tool_help(config_keys_usage);
        return tool_bad_option("sluice config-keys", ch, argv, config_keys_usage);
    }
    if (optind != argc) {
        fprintf(stderr, "sluice config-keys: unexpected argument %s\n%s", argv[optind],
                config_keys_usage);
        return EX_USAGE;
    }
    conf_keys_dump(stdout);
    return fflush(stdout) == 0 && !ferror(stdout) ? 0 : EX_IOERR;
}
