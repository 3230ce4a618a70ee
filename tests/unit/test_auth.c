/* test_auth: the auth verifier against real backends, each outcome checked through the
 * callback on a real event loop:
 * - file: hashes made here with crypt_gensalt_rn/crypt_rn for yescrypt ($y$), bcrypt ($2b$)
 *   and sha512-crypt ($6$); right and wrong passwords, unknown and locked users, foreign
 *   authzid, all at once on the worker pool; bad lines give FILE:LINE errors; reload swaps
 *   the table and a failed reload keeps the old one; an unknown user costs about as much
 *   time as a known one; a cancelled request never calls back;
 * - pipe: a shell script (accept, refuse, EX_TEMPFAIL, killed, timeout, environment,
 *   more requests than programs at once, cancel);
 * - pam (as root): a private service file in /etc/pam.d with pam_unix against a user
 *   created here with useradd (right and wrong password, unknown user), and pam_permit /
 *   pam_deny services; the user and the files are removed afterwards;
 * - dovecot (as root, when /usr/sbin/dovecot exists): a private `dovecot -F -c CONF` with a
 *   passwd-file passdb and its auth-client socket in a temporary directory: right and wrong
 *   password, unknown user, a nologin user, many requests multiplexed on one connection,
 *   Dovecot stopped (TEMPFAIL) and restarted (the verifier reconnects).
 * Run through scripts/run-unit (a private network namespace). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <crypt.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "auth/auth.h"

static struct event_base *base;
static char dir[64];

/* One verification's outcome as the callback saw it. */
struct outcome {
    bool called;
    int ncalls;
    enum auth_result r;
    char user[256];
    char reason[256];
};

static int outstanding;

static void on_done(void *arg, enum auth_result r, const char *user, const char *reason)
{
    struct outcome *o = arg;
    o->called = true;
    o->ncalls++;
    o->r = r;
    snprintf(o->user, sizeof o->user, "%s", user);
    snprintf(o->reason, sizeof o->reason, "%s", reason);
    if (--outstanding == 0)
        event_base_loopbreak(base);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    fail_msg("no answer within 30 s (%d outstanding)", outstanding);
}

/* Runs the loop until every outstanding verification has called back. */
static void wait_all(void)
{
    struct event *ev = evtimer_new(base, on_deadline, NULL);
    struct timeval tv = {30, 0};
    evtimer_add(ev, &tv);
    while (outstanding > 0)
        event_base_dispatch(base);
    event_free(ev);
}

/* Starts one verification counted in `outstanding`. */
static uint64_t start(struct auth *a, const char *authzid, const char *user, const char *pw,
                      struct outcome *o)
{
    struct auth_request rq = {.authzid = authzid, .user = user, .password = pw,
                              .client = "192.0.2.1", .local = "127.0.0.1", .secured = true};
    memset(o, 0, sizeof *o);
    outstanding++;
    return auth_verify(a, &rq, on_done, o);
}

/* Verifies one request and waits for it. */
static struct outcome verify(struct auth *a, const char *user, const char *pw)
{
    struct outcome o;
    start(a, NULL, user, pw, &o);
    assert_false(o.called); /* never from inside auth_verify */
    wait_all();
    return o;
}

/* Writes text to dir/name with mode; returns the path (static buffer rotation). */
static const char *put_file(const char *name, const char *text, mode_t mode)
{
    static char paths[4][256];
    static int k;
    char *path = paths[k++ % 4];
    snprintf(path, 256, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    chmod(path, mode);
    return path;
}

/* crypt(3) hash of pw with a fresh salt of the given method prefix. */
static const char *make_hash(const char *prefix, const char *pw, char *out, size_t cap)
{
    char setting[CRYPT_GENSALT_OUTPUT_SIZE];
    struct crypt_data cd;
    memset(&cd, 0, sizeof cd);
    assert_non_null(crypt_gensalt_rn(prefix, 0, NULL, 0, setting, sizeof setting));
    const char *h = crypt_rn(pw, setting, &cd, sizeof cd);
    assert_non_null(h);
    snprintf(out, cap, "%s", h);
    return out;
}

static int setup(void **state)
{
    (void)state;
    evthread_use_pthreads();
    signal(SIGPIPE, SIG_IGN);
    base = event_base_new();
    snprintf(dir, sizeof dir, "/tmp/sluice-test-auth-XXXXXX");
    if (!base || !mkdtemp(dir))
        return -1;
    chmod(dir, 0755); /* Dovecot's auth process reads its passwd-file as user dovecot */
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        return -1;
    event_base_free(base);
    return 0;
}

/* ---------------------------------------------------------------- file backend */

static char hy[CRYPT_OUTPUT_SIZE], hb[CRYPT_OUTPUT_SIZE], h6[CRYPT_OUTPUT_SIZE];

/* A password file with the three hash methods, comments, blanks, CRLF, a locked user. */
static const char *password_file(void)
{
    char text[2048];
    make_hash("$y$", "wonderland", hy, sizeof hy);
    make_hash("$2b$", "builder", hb, sizeof hb);
    make_hash("$6$", "c4rol", h6, sizeof h6);
    snprintf(text, sizeof text,
             "# users\n\nalice:%s\n   \nbob:%s\r\n  # indented comment\ncarol:%s\n"
             "dave:!%s\nj\xc3\xbcrgen:%s\n",
             hy, hb, h6, h6, h6);
    return put_file("passwd", text, 0600);
}

struct file_case {
    const char *authzid, *user, *pw;
    enum auth_result want;
    const char *reason;
};

static const struct file_case file_cases[] = {
    {NULL, "alice", "wonderland", AUTH_OK, "password matches"},
    {NULL, "alice", "Wonderland", AUTH_FAIL, "password mismatch"},
    {NULL, "bob", "builder", AUTH_OK, "password matches"},
    {NULL, "bob", "builde", AUTH_FAIL, "password mismatch"},
    {NULL, "carol", "c4rol", AUTH_OK, "password matches"},
    {NULL, "carol", "", AUTH_FAIL, "malformed credentials"},
    {NULL, "Carol", "c4rol", AUTH_FAIL, "no such user"},
    {NULL, "nobody", "wonderland", AUTH_FAIL, "no such user"},
    {NULL, "dave", "c4rol", AUTH_FAIL, "account locked"},
    {NULL, "j\xc3\xbcrgen", "c4rol", AUTH_OK, "password matches"},
    {"alice", "alice", "wonderland", AUTH_OK, "password matches"},
    {"bob", "alice", "wonderland", AUTH_FAIL, "authorization identity not permitted"},
};
#define NFILE (sizeof file_cases / sizeof file_cases[0])

/* Every case at once on the worker pool: each gets its own outcome. */
static void test_file_verify(void **state)
{
    (void)state;
    char err[512];
    struct auth_conf c = {.backend = AUTH_BACKEND_FILE, .path = password_file()};
    struct auth *a = auth_create(base, &c, err, sizeof err);
    assert_non_null(a);
    struct outcome o[NFILE];
    for (size_t i = 0; i < NFILE; i++)
        start(a, file_cases[i].authzid, file_cases[i].user, file_cases[i].pw, &o[i]);
    wait_all();
    int bad = 0;
    for (size_t i = 0; i < NFILE; i++) {
        const struct file_case *tc = &file_cases[i];
        if (o[i].ncalls != 1 || o[i].r != tc->want || strcmp(o[i].reason, tc->reason) != 0 ||
            (tc->want == AUTH_OK && strcmp(o[i].user, tc->user) != 0)) {
            print_message("%s/%s: got %s (%s) user %s calls %d, want %s (%s)\n", tc->user,
                          tc->pw, auth_result_name(o[i].r), o[i].reason, o[i].user,
                          o[i].ncalls, auth_result_name(tc->want), tc->reason);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
    assert_int_equal(auth_pending(a), 0);
    auth_free(a);
}

/* fields (the control authfile, src/ctl/): "USER:HASH:ATTRIBUTES:NETWORKS" lines load and
 * verify against the hash; the same file without fields is refused. */
static void test_file_fields(void **state)
{
    (void)state;
    char err[512], text[1024], hash[CRYPT_OUTPUT_SIZE];
    make_hash("$6$", "s3cret pass", hash, sizeof hash);
    snprintf(text, sizeof text, "# ctl\nadmin:%s:admin:127.0.0.0/8, ::1\nview:%s:read\n", hash,
             hash);
    const char *path = put_file("ctl.auth", text, 0600);
    struct auth_conf c = {.backend = AUTH_BACKEND_FILE, .path = path, .fields = true};
    struct auth *a = auth_create(base, &c, err, sizeof err);
    assert_non_null(a);
    struct outcome o[3];
    start(a, NULL, "admin", "s3cret pass", &o[0]);
    start(a, NULL, "view", "s3cret pass", &o[1]);
    start(a, NULL, "admin", "admin", &o[2]);
    wait_all();
    assert_int_equal(o[0].r, AUTH_OK);
    assert_int_equal(o[1].r, AUTH_OK);
    assert_int_equal(o[2].r, AUTH_FAIL);
    auth_free(a);
    c.fields = false;
    assert_null(auth_create(base, &c, err, sizeof err));
    assert_non_null(strstr(err, ":2: extra field or blank after the hash"));
}

struct bad_case {
    const char *text;
    const char *want; /* suffix of the error after the path */
};

#define H6 "$6$abcdefgh$8e5oOIbOzHCUX4a3t6u1K3uA8jCl0cNVYX9JQmm3v8M6IWrd4tJ1O8jDwW6WZ1FmuEVa3NEx3c4RnpnXvAj0A0"
static const struct bad_case bad_cases[] = {
    {"alice\n", ":1: no ':' between user and hash"},
    {"# c\nalice:notahash\n", ":2: weak or unknown hash method (use $y$, $2b$ or $6$)"},
    {"alice:$1$abcdefgh$9aSbJgFDLiZ4Hp1FvBDT1.\n", ":1: weak or unknown hash method (use $y$, $2b$ or $6$)"},
    {"alice:" H6 "\nbob:" H6 "\nalice:" H6 "\n", ":3: duplicate user"},
    {"alice:" H6 ":1000:1000::/home/alice:/bin/sh\n", ":1: extra field or blank after the hash"},
    {"alice:" H6 " \n", ":1: extra field or blank after the hash"},
    {" alice:" H6 "\n", ":1: bad user name"},
    {"alice :" H6 "\n", ":1: bad user name"},
    {":" H6 "\n", ":1: bad user name"},
    {"al\x01ice:" H6 "\n", ":1: bad user name"},
    {"al\xffice:" H6 "\n", ":1: bad user name"},
    {"alice:\n", ":1: empty hash"},
};

/* Bad lines fail the load with FILE:LINE and what is wrong (never the line itself). */
static void test_file_bad_lines(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        char err[512], want[512];
        const char *path = put_file("bad", bad_cases[i].text, 0600);
        struct auth_conf c = {.backend = AUTH_BACKEND_FILE, .path = path};
        struct auth *a = auth_create(base, &c, err, sizeof err);
        snprintf(want, sizeof want, "%s%s", path, bad_cases[i].want);
        if (a != NULL || strcmp(err, want) != 0) {
            print_message("bad case %zu: got \"%s\", want \"%s\"\n", i, a ? "loaded" : err,
                          want);
            bad++;
        }
        auth_free(a);
    }
    assert_int_equal(bad, 0);
    char *big = malloc(2100), err[512];
    memset(big, 'a', 2000);
    strcpy(big + 2000, ":x\n");
    struct auth_conf c = {.backend = AUTH_BACKEND_FILE, .path = put_file("big", big, 0600)};
    assert_null(auth_create(base, &c, err, sizeof err));
    assert_non_null(strstr(err, ":1: line too long"));
    free(big);
    c.path = "/nonexistent/passwd";
    assert_null(auth_create(base, &c, err, sizeof err));
    assert_string_equal(err, "/nonexistent/passwd: No such file or directory");
    c.path = dir;
    assert_null(auth_create(base, &c, err, sizeof err));
    assert_non_null(strstr(err, "not a regular file"));
    c.path = NULL;
    assert_null(auth_create(base, &c, err, sizeof err));
}

/* Reload: new users and passwords take effect; a bad file keeps the old table. */
static void test_file_reload(void **state)
{
    (void)state;
    char err[512], text[1024], h1[CRYPT_OUTPUT_SIZE], h2[CRYPT_OUTPUT_SIZE];
    snprintf(text, sizeof text, "alice:%s\n", make_hash("$6$", "old", h1, sizeof h1));
    struct auth_conf c = {.backend = AUTH_BACKEND_FILE, .path = put_file("rl", text, 0600)};
    struct auth *a = auth_create(base, &c, err, sizeof err);
    assert_non_null(a);
    assert_int_equal(verify(a, "alice", "old").r, AUTH_OK);
    assert_int_equal(verify(a, "zed", "new").r, AUTH_FAIL);
    snprintf(text, sizeof text, "alice:%s\nzed:%s\n", make_hash("$6$", "new", h1, sizeof h1),
             make_hash("$y$", "zzz", h2, sizeof h2));
    put_file("rl", text, 0600);
    assert_int_equal(auth_reload(a, err, sizeof err), 0);
    assert_int_equal(verify(a, "alice", "old").r, AUTH_FAIL);
    assert_int_equal(verify(a, "alice", "new").r, AUTH_OK);
    assert_int_equal(verify(a, "zed", "zzz").r, AUTH_OK);
    put_file("rl", "alice:new\nzed\n", 0600);
    assert_int_equal(auth_reload(a, err, sizeof err), -1);
    assert_non_null(strstr(err, "/rl:1: weak or unknown hash method"));
    assert_int_equal(verify(a, "alice", "new").r, AUTH_OK);
    auth_free(a);
}

/* A cancelled request never calls back; the others still do. */
static void test_file_cancel(void **state)
{
    (void)state;
    char err[512];
    struct auth_conf c = {.backend = AUTH_BACKEND_FILE, .path = password_file(), .workers = 1};
    struct auth *a = auth_create(base, &c, err, sizeof err);
    assert_non_null(a);
    struct outcome o1, o2, o3;
    uint64_t id1 = start(a, NULL, "alice", "wonderland", &o1);
    start(a, NULL, "bob", "builder", &o2);
    uint64_t id3 = start(a, NULL, "nobody", "x", &o3);
    auth_cancel(a, id1);
    auth_cancel(a, id3);
    auth_cancel(a, 987654); /* unknown: ignored */
    outstanding -= 2;
    wait_all();
    assert_false(o1.called);
    assert_false(o3.called);
    assert_int_equal(o2.r, AUTH_OK);
    assert_int_equal(auth_pending(a), 0);
    /* cancelled after it finished (bad credentials finish at once) but before its
     * callback ran */
    uint64_t id4 = start(a, NULL, "nobody", "", &o1);
    auth_cancel(a, id4);
    outstanding--;
    start(a, NULL, "bob", "builder", &o2);
    wait_all();
    assert_false(o1.called);
    assert_int_equal(o2.r, AUTH_OK);
    auth_free(a);
}

/* ---------------------------------------------------------------- pipe backend */

static const char pipe_script[] =
    "#!/bin/sh\n"
    "read -r pw\n"
    "case \"$1:$pw\" in\n"
    "alice:secret) exit 0 ;;\n"
    "temp:*) exit 75 ;;\n"
    "temp111:*) exit 111 ;;\n"
    "slow:*) exec sleep 30 ;;\n"
    "sig:*) kill -9 $$ ;;\n"
    "env:*) [ \"$AUTH_USER\" = env ] && [ \"$CLIENT_ADDRESS\" = 192.0.2.1 ] && "
    "[ \"$PATH\" = /usr/bin:/bin ] && [ -z \"$HOME\" ] && exit 0 ;;\n"
    "stdin:*) [ \"$pw\" = 'p w' ] && ! read -r more && exit 0 ;;\n"
    "fds:*) [ ! -e /proc/self/fd/3 ] && exit 0 ;;\n"
    "esac\n"
    "exit 1\n";

struct pipe_case {
    const char *user, *pw;
    enum auth_result want;
    const char *reason;
};

static const struct pipe_case pipe_cases[] = {
    {"alice", "secret", AUTH_OK, "pipe: accepted"},
    {"alice", "wrong", AUTH_FAIL, "pipe: refused (exit 1)"},
    {"temp", "x", AUTH_TEMPFAIL, "pipe: exit 75"},
    {"temp111", "x", AUTH_TEMPFAIL, "pipe: exit 111"},
    {"slow", "x", AUTH_TEMPFAIL, "pipe: timed out"},
    {"sig", "x", AUTH_TEMPFAIL, "pipe: killed by signal 9"},
    {"env", "x", AUTH_OK, "pipe: accepted"},
    {"stdin", "p w", AUTH_OK, "pipe: accepted"},
    {"fds", "x", AUTH_OK, "pipe: accepted"},
    {"alice", "sec\nret", AUTH_FAIL, "pipe: password holds a line break"},
    {"-alice", "secret", AUTH_FAIL, "pipe: refused (exit 1)"},
};
#define NPIPE (sizeof pipe_cases / sizeof pipe_cases[0])

/* The program's exit status, signals and the timeout map to outcomes. */
static void test_pipe(void **state)
{
    (void)state;
    char err[512];
    struct auth_conf c = {.backend = AUTH_BACKEND_PIPE,
                          .path = put_file("check.sh", pipe_script, 0700),
                          .timeout_ms = 500};
    struct auth *a = auth_create(base, &c, err, sizeof err);
    assert_non_null(a);
    struct outcome o[NPIPE];
    for (size_t i = 0; i < NPIPE; i++)
        start(a, NULL, pipe_cases[i].user, pipe_cases[i].pw, &o[i]);
    wait_all();
    int bad = 0;
    for (size_t i = 0; i < NPIPE; i++) {
        const struct pipe_case *tc = &pipe_cases[i];
        if (o[i].ncalls != 1 || o[i].r != tc->want || strcmp(o[i].reason, tc->reason) != 0) {
            print_message("pipe %s: got %s (%s), want %s (%s)\n", tc->user,
                          auth_result_name(o[i].r), o[i].reason, auth_result_name(tc->want),
                          tc->reason);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
    auth_free(a);
    c.path = "check.sh";
    assert_null(auth_create(base, &c, err, sizeof err));
    assert_non_null(strstr(err, "not an absolute path"));
    c.path = "/nonexistent/check";
    assert_null(auth_create(base, &c, err, sizeof err));
}

/* More requests than programs may run at once: they wait and all answer; a cancelled
 * slow program is killed and reaped (free does not hang on it). */
static void test_pipe_many_and_cancel(void **state)
{
    (void)state;
    char err[512];
    struct auth_conf c = {.backend = AUTH_BACKEND_PIPE,
                          .path = put_file("check2.sh", pipe_script, 0700),
                          .timeout_ms = 10000};
    struct auth *a = auth_create(base, &c, err, sizeof err);
    assert_non_null(a);
    struct outcome o[40], slow;
    uint64_t sid = start(a, NULL, "slow", "x", &slow);
    for (int i = 0; i < 40; i++)
        start(a, NULL, "alice", i % 2 ? "secret" : "bad", &o[i]);
    auth_cancel(a, sid);
    outstanding--;
    wait_all();
    for (int i = 0; i < 40; i++)
        assert_int_equal(o[i].r, i % 2 ? AUTH_OK : AUTH_FAIL);
    assert_false(slow.called);
    start(a, NULL, "slow", "x", &slow);
    outstanding--;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    auth_free(a); /* kills and reaps the running program */
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_true(t1.tv_sec - t0.tv_sec < 5);
    assert_false(slow.called);
    assert_int_equal(waitpid(-1, NULL, WNOHANG), -1); /* no child left behind */
    assert_int_equal(errno, ECHILD);
}

/* ---------------------------------------------------------------- PAM backend */

static char pam_user[32], pam_svc[3][64];

/* Runs a shell command; its exit status. */
static int sh(const char *fmt, ...)
{
    char cmd[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    return system(cmd);
}

static int pam_setup(void **state)
{
    (void)state;
    if (geteuid() != 0)
        return 0;
    char h[CRYPT_OUTPUT_SIZE];
    snprintf(pam_user, sizeof pam_user, "sluicet%d", (int)getpid() % 100000);
    make_hash("$6$", "pamsecret", h, sizeof h);
    static const char *const kinds[3] = {"unix", "permit", "deny"};
    static const char *const text[3] = {
        "auth required pam_unix.so nodelay\naccount required pam_unix.so\n",
        "auth required pam_permit.so\naccount required pam_permit.so\n",
        "auth required pam_deny.so\naccount required pam_permit.so\n"};
    for (int i = 0; i < 3; i++) {
        snprintf(pam_svc[i], sizeof pam_svc[i], "sluice-test-%d-%s", (int)getpid(), kinds[i]);
        char path[256];
        snprintf(path, sizeof path, "/etc/pam.d/%s", pam_svc[i]);
        FILE *f = fopen(path, "w");
        if (!f)
            return -1;
        fputs(text[i], f);
        fclose(f);
    }
    return sh("useradd -M -N -s /usr/sbin/nologin -d /nonexistent -p '%s' %s", h, pam_user);
}

static int pam_teardown(void **state)
{
    (void)state;
    if (geteuid() != 0)
        return 0;
    for (int i = 0; i < 3; i++)
        sh("rm -f /etc/pam.d/%s", pam_svc[i]);
    return sh("userdel %s", pam_user);
}

struct pam_case {
    int svc;
    const char *user, *pw;
    enum auth_result want;
};

/* pam_unix checks the real user's password; pam_permit and pam_deny decide alone. */
static void test_pam(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip();
    const struct pam_case cases[] = {
        {0, pam_user, "pamsecret", AUTH_OK},  {0, pam_user, "wrong", AUTH_FAIL},
        {0, "sluice-no-such-user", "pamsecret", AUTH_FAIL},
        {1, pam_user, "anything", AUTH_OK},  {1, "whoever", "x", AUTH_OK},
        {2, pam_user, "pamsecret", AUTH_FAIL},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[512];
        struct auth_conf c = {.backend = AUTH_BACKEND_PAM, .pam_service = pam_svc[cases[i].svc]};
        struct auth *a = auth_create(base, &c, err, sizeof err);
        assert_non_null(a);
        struct outcome o = verify(a, cases[i].user, cases[i].pw);
        if (o.r != cases[i].want || (o.r == AUTH_OK && strcmp(o.user, cases[i].user) != 0) ||
            strncmp(o.reason, "pam: ", 5) != 0) {
            print_message("pam %s %s/%s: got %s (%s) user %s, want %s\n", pam_svc[cases[i].svc],
                          cases[i].user, cases[i].pw, auth_result_name(o.r), o.reason, o.user,
                          auth_result_name(cases[i].want));
            bad++;
        }
        auth_free(a);
    }
    assert_int_equal(bad, 0);
}

/* ---------------------------------------------------------------- Dovecot backend */

static pid_t dovecot_pid;
static char dv_socket[100];

/* True when something accepts connections on the auth socket. */
static bool dovecot_listening(void)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof sun.sun_path, "%s", dv_socket);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    bool ok = connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0;
    close(fd);
    return ok;
}

/* Starts the private Dovecot and waits until its auth socket accepts. */
static void dovecot_start(void)
{
    char conf[256];
    snprintf(conf, sizeof conf, "%s/dovecot.conf", dir);
    dovecot_pid = fork();
    assert_true(dovecot_pid >= 0);
    if (dovecot_pid == 0) {
        setsid(); /* its own process group: dovecot_stop() waits for all of it */
        execl("/usr/sbin/dovecot", "dovecot", "-F", "-c", conf, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 1000 && !dovecot_listening(); i++) {
        assert_int_equal(waitpid(dovecot_pid, NULL, WNOHANG), 0); /* still running */
        usleep(10000);
    }
    assert_true(dovecot_listening());
}

/* Stops it and waits until every process of it (the auth process too) has exited. */
static void dovecot_stop(void)
{
    kill(-dovecot_pid, SIGTERM);
    assert_int_equal(waitpid(dovecot_pid, NULL, 0), dovecot_pid);
    for (int i = 0; i < 1000 && kill(-dovecot_pid, 0) == 0; i++)
        usleep(10000);
    assert_int_equal(kill(-dovecot_pid, 0), -1);
    dovecot_pid = 0;
}

static int dovecot_setup(void **state)
{
    (void)state;
    if (geteuid() != 0 || access("/usr/sbin/dovecot", X_OK) != 0)
        return 0;
    char h[CRYPT_OUTPUT_SIZE], text[2048];
    snprintf(text, sizeof text,
             "alice:%s\nbob:{PLAIN}builder\nnolog:{PLAIN}pw::::::nologin\n",
             make_hash("$y$", "wonderland", h, sizeof h));
    put_file("dovecot.passwd", text, 0644);
    snprintf(dv_socket, sizeof dv_socket, "%s/auth-client", dir);
    snprintf(text, sizeof text,
             "base_dir = %s/dvrun\nstate_dir = %s/dvstate\nlog_path = %s/dovecot.log\n"
             "protocols =\nssl = no\nauth_mechanisms = plain login\nauth_failure_delay = 0\n"
             "passdb {\n  driver = passwd-file\n  args = scheme=CRYPT %s/dovecot.passwd\n}\n"
             "userdb {\n  driver = static\n  args = uid=65534 gid=65534 home=/nonexistent\n}\n"
             "service auth {\n  unix_listener %s {\n    mode = 0600\n  }\n}\n",
             dir, dir, dir, dir, dv_socket);
    put_file("dovecot.conf", text, 0644);
    sh("mkdir -p %s/dvrun %s/dvstate", dir, dir);
    return 0;
}

static int dovecot_teardown(void **state)
{
    (void)state;
    if (dovecot_pid > 0) {
        kill(-dovecot_pid, SIGTERM);
        waitpid(dovecot_pid, NULL, 0);
    }
    return 0;
}

struct dv_case {
    const char *user, *pw;
    enum auth_result want;
    const char *reason;
};

static const struct dv_case dv_cases[] = {
    {"alice", "wonderland", AUTH_OK, "dovecot: ok"},
    {"alice", "wrong", AUTH_FAIL, "dovecot: authentication failed"},
    {"bob", "builder", AUTH_OK, "dovecot: ok"},
    {"nobody", "x", AUTH_FAIL, "dovecot: authentication failed"},
    {"nolog", "pw", AUTH_FAIL, "dovecot: login not allowed (nologin)"},
};
#define NDV (sizeof dv_cases / sizeof dv_cases[0])

/* Checks a batch of outcomes against dv_cases (the batch repeats the table). */
static int dv_check(const struct outcome *o, size_t n)
{
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        const struct dv_case *tc = &dv_cases[i % NDV];
        if (o[i].ncalls != 1 || o[i].r != tc->want || strcmp(o[i].reason, tc->reason) != 0 ||
            (tc->want == AUTH_OK && strcmp(o[i].user, tc->user) != 0)) {
            print_message("dovecot %s/%s: got %s (%s), want %s (%s)\n", tc->user, tc->pw,
                          auth_result_name(o[i].r), o[i].reason, auth_result_name(tc->want),
                          tc->reason);
            bad++;
        }
    }
    return bad;
}

/* A real Dovecot answers; many requests share the connection; Dovecot down -> TEMPFAIL;
 * restarted (with and without a failure in between) -> the verifier reconnects. */
static void test_dovecot(void **state)
{
    (void)state;
    if (geteuid() != 0 || access("/usr/sbin/dovecot", X_OK) != 0)
        skip();
    char err[512];
    struct auth_conf c = {.backend = AUTH_BACKEND_DOVECOT, .path = dv_socket,
                          .timeout_ms = 5000};
    struct auth *a = auth_create(base, &c, err, sizeof err);
    assert_non_null(a); /* Dovecot may start after us */
    assert_int_equal(verify(a, "alice", "wonderland").r, AUTH_TEMPFAIL);
    dovecot_start();
    struct outcome o[4 * NDV];
    for (size_t i = 0; i < 4 * NDV; i++)
        start(a, NULL, dv_cases[i % NDV].user, dv_cases[i % NDV].pw, &o[i]);
    wait_all();
    assert_int_equal(dv_check(o, 4 * NDV), 0);
    /* restarted while idle: the next request finds the old connection dead, reconnects */
    dovecot_stop();
    dovecot_start();
    assert_int_equal(dv_check((struct outcome[]){verify(a, "alice", "wonderland")}, 1), 0);
    /* stopped: no answer possible */
    dovecot_stop();
    struct outcome down = verify(a, "alice", "wonderland");
    assert_int_equal(down.r, AUTH_TEMPFAIL);
    print_message("while down: %s\n", down.reason);
    dovecot_start();
    for (size_t i = 0; i < NDV; i++)
        start(a, NULL, dv_cases[i].user, dv_cases[i].pw, &o[i]);
    wait_all();
    assert_int_equal(dv_check(o, NDV), 0);
    auth_free(a);
    c.path = "/a/path/that/is/much/too/long/for/a/unix/domain/socket/address/because/those"
             "/hold/only/one/hundred/and/eight/bytes";
    assert_null(auth_create(base, &c, err, sizeof err));
}

/* ---------------------------------------------------------------- front */

/* Configuration names and results. */
static void test_names(void **state)
{
    (void)state;
    enum auth_backend b;
    const struct {
        const char *name;
        int ret;
        enum auth_backend b;
    } cases[] = {{"file", 0, AUTH_BACKEND_FILE},   {"pam", 0, AUTH_BACKEND_PAM},
                 {"pipe", 0, AUTH_BACKEND_PIPE},   {"dovecot", 0, AUTH_BACKEND_DOVECOT},
                 {"File", -1, AUTH_BACKEND_FILE}, {"sasl", -1, AUTH_BACKEND_FILE}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        b = AUTH_BACKEND_FILE;
        assert_int_equal(auth_backend_parse(cases[i].name, &b), cases[i].ret);
        assert_int_equal(b, cases[i].b);
    }
    assert_string_equal(auth_result_name(AUTH_OK), "ok");
    assert_string_equal(auth_result_name(AUTH_FAIL), "fail");
    assert_string_equal(auth_result_name(AUTH_TEMPFAIL), "tempfail");
    char err[512];
    struct auth_conf c = {.backend = AUTH_BACKEND_PAM, .workers = 17};
    assert_null(auth_create(base, &c, err, sizeof err));
    c.workers = 0;
    c.pam_service = "";
    assert_null(auth_create(base, &c, err, sizeof err));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_file_verify),
        cmocka_unit_test(test_file_fields),
        cmocka_unit_test(test_file_bad_lines),
        cmocka_unit_test(test_file_reload),
        cmocka_unit_test(test_file_cancel),
        cmocka_unit_test(test_pipe),
        cmocka_unit_test(test_pipe_many_and_cancel),
        cmocka_unit_test_setup_teardown(test_pam, pam_setup, pam_teardown),
        cmocka_unit_test_setup_teardown(test_dovecot, dovecot_setup, dovecot_teardown),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
