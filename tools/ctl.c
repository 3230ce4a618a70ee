/* ctl: `sluice ctl [-c FILE] [--tcp HOST:PORT --user USER] COMMAND [ARG...]`, the client of
 * the daemon's control channel (src/ctl/, docs/admin.md). It joins COMMAND and its
 * arguments into one request line, sends it over the control socket (ctl.socket, else
 * SPOOL/ctl.sock; or TCP with "auth USER PASSWORD" first, the password from
 * $SLUICE_CTL_PASSWORD), prints the reply's body on stdout and its status text on stdout
 * (OK) or stderr (ERR). Exit 0 on OK; 1 with a one-line reason on stderr otherwise
 * (refused, unknown queue id, no daemon, bad reply); 64 for a usage error. */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sysexits.h>
#include <unistd.h>

#include "conf/conf.h"
#include "ctl/ctl.h"
#include "proto/ctlproto.h"
#include "tools/tools.h"

#define CTL_REPLY_MAX (64u << 20) /* bytes of one reply the client reads */

static const char ctl_usage[] =
    "usage: sluice ctl [-c FILE] [--tcp HOST:PORT --user USER] COMMAND [ARG...]\n"
    "  hold|release|delete|requeue|bounce QID | [--to PAT] [--from PAT] [--dest PAT]\n"
    "  pause|resume|forget DOMAIN   flush [DOMAIN]   queue|qshape|conns|stats [--json]\n"
    "  show QID [--json]   kill CONN   reload   version\n"
    "  suppress list [--json] | export | add ADDRESS [REASON...] | remove ADDRESS\n"
    "  TCP: the password comes from $SLUICE_CTL_PASSWORD.  See docs/admin.md.\n"
    "  FILE: -c FILE or --config FILE, else $SLUICE_CONF, else " SLUICE_DEFAULT_CONF "\n";

/* Prints "sluice ctl: WHAT" on stderr; returns 1. */
static int ctl_fail(const char *what, const char *detail)
{
    fprintf(stderr, "sluice ctl: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    return 1;
}

/* Connects to the UNIX socket at path; fd or -1 (reason printed). */
static int ctl_connect_unix(const char *path)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sun.sun_path)
        return ctl_fail("socket path too long", path), -1;
    memcpy(sun.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
        char why[600];
        snprintf(why, sizeof why, "%s: %s%s", path, strerror(errno),
                 errno == ENOENT || errno == ECONNREFUSED ? " (is the daemon running?)" : "");
        ctl_fail("cannot connect", why);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* Connects to HOST:PORT over TCP; fd or -1 (reason printed). */
static int ctl_connect_tcp(const char *hostport)
{
    char host[256];
    const char *colon = strrchr(hostport, ':');
    if (!colon || (size_t)(colon - hostport) >= sizeof host)
        return ctl_fail("--tcp wants HOST:PORT", hostport), -1;
    memcpy(host, hostport, (size_t)(colon - hostport));
    host[colon - hostport] = '\0';
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = '\0';
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai;
    int rc = getaddrinfo(host, colon + 1, &hints, &ai);
    if (rc != 0)
        return ctl_fail(hostport, gai_strerror(rc)), -1;
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        ctl_fail("cannot connect", strerror(errno));
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    return fd;
}

/* Writes all of buf. 0 or -1. */
static int ctl_write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Reads one reply from f: status into ok/text, body lines (un-stuffed) to out (NULL: drop).
 * 0, or -1 (reason printed). */
static int ctl_read_reply(FILE *f, FILE *out, bool *ok, char *text, size_t textlen)
{
    char *line = NULL;
    size_t cap = 0, total = 0;
    ssize_t n = getline(&line, &cap, f);
    if (n <= 0) {
        free(line);
        return ctl_fail("the daemon closed the connection", NULL), -1;
    }
    line[strcspn(line, "\r\n")] = '\0';
    if (ctlproto_status(line, strlen(line), ok, text, textlen) < 0) {
        free(line);
        return ctl_fail("bad reply from the daemon", NULL), -1;
    }
    while ((n = getline(&line, &cap, f)) > 0 && (total += (size_t)n) < CTL_REPLY_MAX) {
        line[strcspn(line, "\r\n")] = '\0';
        if (strcmp(line, ".") == 0) {
            free(line);
            return 0;
        }
        if (out)
            fprintf(out, "%s\n", line[0] == '.' ? line + 1 : line);
    }
    free(line);
    return ctl_fail("reply cut short", NULL), -1;
}

/* Joins argv into one request line; -1 for an argument with a blank or control byte. */
static int ctl_join(int argc, char **argv, char *line, size_t cap)
{
    size_t o = 0;
    for (int i = 0; i < argc; i++) {
        size_t n = strlen(argv[i]);
        for (size_t k = 0; k < n; k++)
            if ((unsigned char)argv[i][k] <= ' ' || (unsigned char)argv[i][k] >= 0x7f)
                return ctl_fail("argument with a blank or control byte", argv[i]), -1;
        if (n == 0 || o + n + 2 > cap)
            return ctl_fail(n ? "request too long" : "empty argument", NULL), -1;
        if (i)
            line[o++] = ' ';
        memcpy(line + o, argv[i], n);
        o += n;
    }
    line[o++] = '\n';
    line[o] = '\0';
    return 0;
}

/* TCP: sends "auth USER PASSWORD" and checks the answer. */
static int ctl_auth(int fd, FILE *f, const char *user)
{
    const char *pw = getenv("SLUICE_CTL_PASSWORD");
    char line[CTL_LINE_MAX + 2], text[CTL_ERR_MAX];
    bool ok;
    if (!pw || !*pw)
        return ctl_fail("--user needs the password in $SLUICE_CTL_PASSWORD", NULL);
    int n = snprintf(line, sizeof line, "auth %s %s\n", user, pw);
    if (n < 0 || (size_t)n >= sizeof line || ctl_write_all(fd, line, (size_t)n) < 0)
        return ctl_fail("cannot send auth", NULL);
    if (ctl_read_reply(f, NULL, &ok, text, sizeof text) < 0)
        return 1;
    return ok ? 0 : ctl_fail(text, NULL);
}

/* Sends the request and prints the reply. */
static int ctl_run(int fd, const char *user, int argc, char **argv)
{
    char line[CTL_LINE_MAX + 2], text[CTL_ERR_MAX];
    bool ok;
    FILE *f = fdopen(fd, "r");
    if (!f)
        return close(fd), ctl_fail("fdopen", strerror(errno));
    int rc = user ? ctl_auth(fd, f, user) : 0;
    if (rc == 0 && ctl_join(argc, argv, line, sizeof line) < 0)
        rc = 1;
    /* a refused client gets its ERR line and is closed: the reply may be there even when
     * the write failed (EPIPE; SIGPIPE is ignored) */
    if (rc == 0 && ctl_write_all(fd, line, strlen(line)) < 0 && errno != EPIPE &&
        errno != ECONNRESET)
        rc = ctl_fail("cannot send the request", strerror(errno));
    if (rc == 0 && ctl_read_reply(f, stdout, &ok, text, sizeof text) < 0)
        rc = 1;
    if (rc == 0 && !ok)
        rc = ctl_fail(text, NULL);
    else if (rc == 0 && *text)
        printf("%s\n", text);
    fclose(f);
    return rc;
}

static const struct option ctl_opts[] = {
    {"config", required_argument, NULL, 'c'}, {"help", no_argument, NULL, TOOL_OPT_HELP},
    {"tcp", required_argument, NULL, 't'},    {"user", required_argument, NULL, 'u'},
    {NULL, 0, NULL, 0},
};

/* sluice ctl */
int tool_ctl(int argc, char **argv)
{
    const char *given = NULL, *tcp = NULL, *user = NULL;
    int ch;
    /* '+': options stop at COMMAND, so its own arguments (--json, --to) pass through */
    while ((ch = getopt_long(argc, argv, "+:c:", ctl_opts, NULL)) != -1) {
        if (ch == 'c')
            given = optarg;
        else if (ch == 't')
            tcp = optarg;
        else if (ch == 'u')
            user = optarg;
        else if (ch == TOOL_OPT_HELP)
            return tool_help(ctl_usage);
        else
            return tool_bad_option("sluice ctl", ch, argv, ctl_usage);
    }
    if (optind == argc || (tcp && !user) || (user && !tcp)) {
        fprintf(stderr, "sluice ctl: %s\n%s",
                optind == argc ? "missing COMMAND" : "--tcp and --user go together", ctl_usage);
        return EX_USAGE;
    }
    int fd;
    signal(SIGPIPE, SIG_IGN);
    if (tcp) {
        fd = ctl_connect_tcp(tcp);
    } else {
        struct conf c;
        char path[512];
        if (tool_load_conf(tool_conf_path(given, NULL), &c) < 0)
            return 1;
        fd = ctl_connect_unix(ctl_socket_path(&c, path, sizeof path));
        conf_free(&c);
    }
    if (fd < 0)
        return 1;
    return ctl_run(fd, user, argc - optind, argv + optind);
}
