/* test_milter_client: the milter client (milter/milter.h) against real milters: the peers of
 * tests/scenario/milter_peer.py (python3-milter, i.e. Sendmail's libmilter, and raw broken
 * ones) on a UNIX socket in a temporary directory. Table-driven: each case runs a whole
 * SMTP transaction's steps (connect, helo, mail, rcpt, headers, eoh, body, eom) and checks
 * the verdict of each step and the modifications at end of message; broken milters give
 * the default action with the reason. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "milter/milter.h"

struct step_out {
    bool done;
    struct milter_result res; /* copied without the mods */
    char mods[2048];          /* the modifications as text */
};

struct client_case {
    const char *mode;
    enum milter_verdict deflt;
    const char *want; /* "step:verdict ..." until the first non-continue, then the end */
    const char *want_mods;
    const char *want_why; /* a substring of the failure reason, or NULL */
};

static const struct client_case cases[] = {
    {"modify", MILTER_TEMPFAIL, "open:c connect:c helo:c mail:c rcpt:c header:c header:c eoh:c body:c eom:c",
     "h X-Macros=_=client.example [192.0.2.1];from=<a@src.example>;helo=client.example;"
     "host=client.example;i=0123456789ABCDEF;j=mx.example;{auth_authen}=alice;"
     "{client_addr}=192.0.2.1;{client_name}=client.example;{daemon_name}=sluice;"
     "{mail_addr}=a@src.example;{rcpt_addr}=rcpt@example.org|"
     "h X-Headers=Subject,Received|h X-Milter=added|i0 X-First=1|m1 Subject=changed|"
     "m2 Received=|b new body\r\n|+ <added@example.org>|- <rcpt@example.org>|"
     "e <new-from@example.org>|q held by test|",
     NULL},
    {"reject", MILTER_TEMPFAIL, "open:c connect:c helo:c mail:c rcpt:r(550 5.7.1 no thanks)", "", NULL},
    {"tempfail", MILTER_REJECT, "open:c connect:c helo:c mail:c rcpt:c header:c header:c eoh:c body:c eom:t", "", NULL},
    {"discard", MILTER_TEMPFAIL, "open:c connect:c helo:c mail:c rcpt:c header:c header:c eoh:c body:c eom:d", "", NULL},
    {"accept", MILTER_TEMPFAIL, "open:c connect:a", "", NULL},
    {"silent", MILTER_TEMPFAIL, "open:t!", "", "timed out"},
    {"silent", MILTER_ACCEPT, "open:a!", "", "timed out"},
    {"garbage", MILTER_REJECT, "open:r!", "", "over the limit"},
    {"close", MILTER_TEMPFAIL, "open:c connect:t!", "", "closed the connection"},
    {"none", MILTER_TEMPFAIL, "open:t!", "", "cannot connect"},
};

static char verdict_char(enum milter_verdict v)
{
    return "cartds"[v];
}

/* Appends the modifications of res as text. */
static void mods_text(const struct milter_result *res, char *buf, size_t cap)
{
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < res->nmods && o < cap; i++) {
        const struct milter_mod *m = &res->mods[i];
        switch (m->code) {
        case SMFIR_ADDHEADER: o += (size_t)snprintf(buf + o, cap - o, "h %s=%s|", m->name, m->value); break;
        case SMFIR_INSHEADER: o += (size_t)snprintf(buf + o, cap - o, "i%u %s=%s|", m->index, m->name, m->value); break;
        case SMFIR_CHGHEADER: o += (size_t)snprintf(buf + o, cap - o, "m%u %s=%s|", m->index, m->name, m->value); break;
        case SMFIR_REPLBODY: o += (size_t)snprintf(buf + o, cap - o, "b %.*s|", (int)m->bodylen, (const char *)m->body); break;
        case SMFIR_QUARANTINE: o += (size_t)snprintf(buf + o, cap - o, "q %s|", m->text); break;
        default: o += (size_t)snprintf(buf + o, cap - o, "%c %s|", m->code, m->addr); break;
        }
    }
}

static struct event_base *base;

static void on_step(void *arg, const struct milter_result *res)
{
    struct step_out *out = arg;
    out->done = true;
    out->res = *res;
    out->res.mods = NULL;
    mods_text(res, out->mods, sizeof out->mods);
    event_base_loopbreak(base);
}

/* Runs the loop until out is done (the client's timeouts bound it). */
static void wait_done(struct step_out *out)
{
    while (!out->done)
        event_base_loop(base, EVLOOP_ONCE);
}

static const char *const mac_conn_n[] = {"j", "{daemon_name}", "{client_addr}", "{client_name}", "_"};
static const char *const mac_conn_v[] = {"mx.example", "sluice", "192.0.2.1", "client.example",
                                         "client.example [192.0.2.1]"};
static const char *const mac_mail_n[] = {"{mail_addr}", "{auth_authen}"};
static const char *const mac_mail_v[] = {"a@src.example", "alice"};
static const char *const mac_rcpt_n[] = {"{rcpt_addr}"};
static const char *const mac_rcpt_v[] = {"rcpt@example.org"};
static const char *const mac_eom_n[] = {"i"};
static const char *const mac_eom_v[] = {"0123456789ABCDEF"};

/* Formats step number i into o; its name in *name and macros in *m. 0 past the last. */
static size_t build_step(int i, struct milter_out *o, char *step, const char **name,
                         struct milter_macros *m)
{
    static const char *const helo[] = {"client.example"};
    static const char *const mail[] = {"<a@src.example>"};
    static const char *const rcpt[] = {"<rcpt@example.org>"};
    memset(m, 0, sizeof *m);
    switch (i) {
    case 0: *step = SMFIC_CONNECT, *name = "connect", *m = (struct milter_macros){mac_conn_n, mac_conn_v, 5};
        return milter_fmt_connect(o, "client.example", '4', 4321, "192.0.2.1");
    case 1: *step = SMFIC_HELO, *name = "helo"; return milter_fmt_strings(o, SMFIC_HELO, helo, 1);
    case 2: *step = SMFIC_MAIL, *name = "mail", *m = (struct milter_macros){mac_mail_n, mac_mail_v, 2};
        return milter_fmt_strings(o, SMFIC_MAIL, mail, 1);
    case 3: *step = SMFIC_RCPT, *name = "rcpt", *m = (struct milter_macros){mac_rcpt_n, mac_rcpt_v, 1};
        return milter_fmt_strings(o, SMFIC_RCPT, rcpt, 1);
    case 4: *step = SMFIC_HEADER, *name = "header"; return milter_fmt_header(o, "Subject", "hello");
    case 5: *step = SMFIC_HEADER, *name = "header"; return milter_fmt_header(o, "Received", "from x");
    case 6: *step = SMFIC_EOH, *name = "eoh"; return milter_fmt_data(o, SMFIC_EOH, NULL, 0);
    case 7: *step = SMFIC_BODY, *name = "body"; return milter_fmt_data(o, SMFIC_BODY, "old body\r\n", 10);
    case 8: *step = SMFIC_BODYEOB, *name = "eom", *m = (struct milter_macros){mac_eom_n, mac_eom_v, 1};
        return milter_fmt_data(o, SMFIC_BODYEOB, NULL, 0);
    default: return 0;
    }
}

/* Appends "name:v" (with the reply text, and "!" when failed) to got. */
static void note(char *got, size_t cap, const char *name, const struct milter_result *r)
{
    size_t o = strlen(got);
    o += (size_t)snprintf(got + o, cap - o, "%s%s:%c", o ? " " : "", name, verdict_char(r->verdict));
    if (r->reply[0])
        o += (size_t)snprintf(got + o, cap - o, "(%s)", r->reply);
    if (r->failed)
        snprintf(got + o, cap - o, "!");
}

/* Whether a UNIX socket bound at PATH is listening: libmilter binds (the path appears)
 * before it listens, so the path alone is not enough. /proc/net/unix marks a listening
 * socket with the flag __SO_ACCEPTCON (00010000). */
static bool unix_listening(const char *path)
{
    FILE *f = fopen("/proc/net/unix", "r");
    char line[512];
    bool found = false;
    size_t n = strlen(path);
    while (f && !found && fgets(line, sizeof line, f)) {
        size_t len = strcspn(line, "\n");
        found = len >= n && memcmp(line + len - n, path, n) == 0 && strstr(line, " 00010000 ");
    }
    if (f)
        fclose(f);
    return found;
}

/* Starts the peer; waits until its socket listens. */
static pid_t peer_start(const char *sock, const char *mode)
{
    pid_t pid = fork();
    if (pid == 0) {
        execl("/usr/bin/python3", "python3", "tests/scenario/milter_peer.py", sock, mode, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 3000 && !unix_listening(sock); i++) /* up to 30 s on a loaded box */
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    return pid;
}

static void run_case(const struct client_case *c, const char *dir)
{
    char sock[100], got[1024] = "", why[160] = "", mods[2048] = "";
    snprintf(sock, sizeof sock, "%s/%s.sock", dir, c->mode);
    unlink(sock);
    pid_t pid = strcmp(c->mode, "none") == 0 ? 0 : peer_start(sock, c->mode);
    struct milter_target t = {.unix_socket = true};
    snprintf(t.path, sizeof t.path, "%s", sock);
    struct milter_conn_opts opts = {.actions = 0x1ff, .protocol = 0x1fffff & ~(uint32_t)SMFIP_SKIP,
                                    .connect_timeout_ms = 1500, .command_timeout_ms = 1500,
                                    .content_timeout_ms = 1500, .default_action = c->deflt,
                                    .name = c->mode};
    struct step_out out = {0};
    struct milter_conn *conn = milter_conn_open(base, &t, &opts, on_step, &out);
    wait_done(&out);
    note(got, sizeof got, "open", &out.res);
    snprintf(why, sizeof why, "%s", out.res.why);
    static uint8_t buf[MILTER_PKT_MAX + 4];
    for (int i = 0; out.res.verdict == MILTER_CONTINUE && !out.res.failed; i++) {
        struct milter_out o = {buf, sizeof buf, 0, 0, false};
        struct milter_macros m;
        const char *name;
        char step;
        size_t len = build_step(i, &o, &step, &name, &m);
        if (!len)
            break;
        memset(&out, 0, sizeof out);
        assert_int_equal(milter_conn_step(conn, step, &m, buf, len, on_step, &out), 0);
        wait_done(&out);
        note(got, sizeof got, name, &out.res);
        snprintf(why, sizeof why, "%s", out.res.why);
        snprintf(mods, sizeof mods, "%s", out.mods);
    }
    milter_conn_free(conn);
    if (pid > 0) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
    if (strcmp(got, c->want) != 0)
        fail_msg("%s: got '%s', want '%s' (why: %s)", c->mode, got, c->want, why);
    if (strcmp(mods, c->want_mods) != 0)
        fail_msg("%s: got mods\n'%s', want\n'%s'", c->mode, mods, c->want_mods);
    if (c->want_why && !strstr(why, c->want_why))
        fail_msg("%s: got reason '%s', want '%s'", c->mode, why, c->want_why);
}

static void test_client(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_milter_client.XXXXXX";
    assert_non_null(mkdtemp(dir));
    base = event_base_new();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_case(&cases[i], dir);
    event_base_free(base);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_client)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
