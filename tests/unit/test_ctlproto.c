/* test_ctlproto: the control channel's parsers (proto/ctlproto.h), table-driven: request
 * lines (every command's shape, limits, bad bytes), status lines, authfile lines, globs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "proto/ctlproto.h"

struct req_case {
    const char *in;
    int rc;
    int cmd;          /* enum ctl_cmd when rc == 0 */
    const char *want; /* "qid=.. to=.. from=.. dest=.. domain=.. conn=.. json=.. user=.. pw=.." */
    const char *err;  /* a substring of the reason when rc == -1 */
};

static const struct req_case req_cases[] = {
    {"hold 0123456789ABCDEF", 0, CTL_HOLD, "qid=0123456789ABCDEF", NULL},
    {"hold 0123456789abcdef\r\n", 0, CTL_HOLD, "qid=0123456789ABCDEF", NULL},
    {"  RELEASE\t0123456789ABCDEF \n", 0, CTL_RELEASE, "qid=0123456789ABCDEF", NULL},
    {"delete --to *@Example.COM", 0, CTL_DELETE, "to=*@example.com", NULL},
    {"bounce --from <> --dest example.*", 0, CTL_BOUNCE, "from=<> dest=example.*", NULL},
    {"requeue --to a@b --from c@d --dest e", 0, CTL_REQUEUE, "to=a@b from=c@d dest=e", NULL},
    {"pause Example.NET", 0, CTL_PAUSE, "domain=example.net", NULL},
    {"resume a-b.c_d.example", 0, CTL_RESUME, "domain=a-b.c_d.example", NULL},
    {"forget example.org", 0, CTL_FORGET, "domain=example.org", NULL},
    {"flush", 0, CTL_FLUSH, "", NULL},
    {"flush example.com", 0, CTL_FLUSH, "domain=example.com", NULL},
    {"queue", 0, CTL_QUEUE, "", NULL},
    {"queue --json", 0, CTL_QUEUE, "json=1", NULL},
    {"qshape --json", 0, CTL_QSHAPE, "json=1", NULL},
    {"stats", 0, CTL_STATS, "", NULL},
    {"conns --json", 0, CTL_CONNS, "json=1", NULL},
    {"show 0123456789ABCDEF --json", 0, CTL_SHOW, "qid=0123456789ABCDEF json=1", NULL},
    {"show --json 0123456789ABCDEF", 0, CTL_SHOW, "qid=0123456789ABCDEF json=1", NULL},
    {"kill 42", 0, CTL_KILL, "conn=42", NULL},
    {"reload", 0, CTL_RELOAD, "", NULL},
    {"version", 0, CTL_VERSION, "", NULL},
    {"quit", 0, CTL_QUIT, "", NULL},
    {"auth admin s3cret pass word", 0, CTL_AUTH, "user=admin pw=s3cret pass word", NULL},
    {"auth\tadmin x", 0, CTL_AUTH, "user=admin pw=x", NULL},
    {"suppress list", 0, CTL_SUPPRESS, "supp=0", NULL},
    {"suppress LIST --json", 0, CTL_SUPPRESS, "supp=0 json=1", NULL},
    {"suppress export", 0, CTL_SUPPRESS, "supp=1", NULL},
    {"suppress add a@b.example", 0, CTL_SUPPRESS, "addr=a@b.example supp=2", NULL},
    {"suppress add <A@b.example> spam  complaint\tx", 0, CTL_SUPPRESS,
     "addr=A@b.example reason=spam  complaint x supp=2", NULL},
    {"suppress remove a@b.example", 0, CTL_SUPPRESS, "addr=a@b.example supp=3", NULL},
    {"suppress", -1, 0, NULL, "usage: suppress"},
    {"suppress drop a@b", -1, 0, NULL, "usage: suppress"},
    {"suppress export --json", -1, 0, NULL, "usage: suppress"},
    {"suppress list x", -1, 0, NULL, "usage: suppress"},
    {"suppress add", -1, 0, NULL, "usage: suppress"},
    {"suppress remove a@b c", -1, 0, NULL, "usage: suppress"},
    {"suppress add nodomain", -1, 0, NULL, "expected an address"},
    {"suppress add <>", -1, 0, NULL, "expected an address"},
    {"", -1, 0, NULL, "empty"},
    {"   \r\n", -1, 0, NULL, "empty"},
    {"frobnicate", -1, 0, NULL, "unknown command"},
    {"hold", -1, 0, NULL, "queue id"},
    {"hold 0123", -1, 0, NULL, "queue id"},
    {"hold 0123456789ABCDEG", -1, 0, NULL, "queue id"},
    {"hold 0123456789ABCDEF 0123456789ABCDEF", -1, 0, NULL, "queue id"},
    {"delete --to", -1, 0, NULL, "needs a pattern"},
    {"delete --to a --to b", -1, 0, NULL, "twice"},
    {"delete --json", -1, 0, NULL, "queue id"},
    {"pause", -1, 0, NULL, "one domain"},
    {"pause a..b", -1, 0, NULL, "domain"},
    {"pause .a", -1, 0, NULL, "domain"},
    {"pause a/b", -1, 0, NULL, "domain"},
    {"pause a b", -1, 0, NULL, "one domain"},
    {"queue --json --json", -1, 0, NULL, "unexpected"},
    {"queue extra", -1, 0, NULL, "unexpected"},
    {"show", -1, 0, NULL, "queue id"},
    {"kill x", -1, 0, NULL, "connection id"},
    {"kill 1234567890123456789", -1, 0, NULL, "connection id"},
    {"reload now", -1, 0, NULL, "no argument"},
    {"auth", -1, 0, NULL, "usage"},
    {"auth admin", -1, 0, NULL, "usage"},
    {"auth admin ", -1, 0, NULL, "usage"},
    {"hold \x01", -1, 0, NULL, "control"},
    {"hold \xc3\xa9", -1, 0, NULL, "non-ASCII"},
    {"a b c d e f g h i j k l m n o p q", -1, 0, NULL, "unknown command"},
    {"queue a b c d e f g h i j k l m n o p", -1, 0, NULL, "too many words"},
};

/* The fields of r as "key=value" words (only the set ones). */
static void req_fields(const struct ctl_req *r, char *buf, size_t cap)
{
    size_t o = 0;
    buf[0] = '\0';
#define F(name, val)                                                                           \
    if (val)                                                                                   \
        o += (size_t)snprintf(buf + o, cap - o, "%s" name "=%s", o ? " " : "", val);
    F("qid", r->qid)
    F("to", r->to)
    F("from", r->from)
    F("dest", r->dest)
    F("domain", r->domain)
    F("user", r->user)
    F("pw", r->password)
    F("addr", r->addr)
    F("reason", r->reason)
#undef F
    if (r->cmd == CTL_SUPPRESS)
        o += (size_t)snprintf(buf + o, cap - o, "%ssupp=%d", o ? " " : "", (int)r->supp);
    if (r->conn)
        o += (size_t)snprintf(buf + o, cap - o, "%sconn=%llu", o ? " " : "",
                              (unsigned long long)r->conn);
    if (r->json)
        snprintf(buf + o, cap - o, "%sjson=1", o ? " " : "");
}

static void test_requests(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof req_cases / sizeof req_cases[0]; i++) {
        const struct req_case *c = &req_cases[i];
        struct ctl_req r;
        char err[CTL_ERR_MAX] = "", got[2048];
        int rc = ctlproto_parse(c->in, strlen(c->in), &r, err, sizeof err);
        if (rc != c->rc)
            fail_msg("%s: got rc %d (%s), want %d", c->in, rc, err, c->rc);
        if (rc < 0) {
            if (!strstr(err, c->err))
                fail_msg("%s: got reason '%s', want one with '%s'", c->in, err, c->err);
            continue;
        }
        req_fields(&r, got, sizeof got);
        if ((int)r.cmd != c->cmd || strcmp(got, c->want) != 0)
            fail_msg("%s: got cmd %d '%s', want cmd %d '%s'", c->in, r.cmd, got, c->cmd, c->want);
    }
}

/* The size limit: CTL_LINE_MAX bytes pass, one more does not. */
static void test_line_limit(void **state)
{
    (void)state;
    static char line[CTL_LINE_MAX + 2];
    struct ctl_req r;
    char err[CTL_ERR_MAX];
    memset(line, 'x', sizeof line);
    memcpy(line, "delete --to ", 12);
    line[CTL_LINE_MAX] = '\0';
    assert_int_equal(ctlproto_parse(line, CTL_LINE_MAX, &r, err, sizeof err), -1);
    assert_non_null(strstr(err, "pattern too long")); /* parsed, then the pattern limit */
    line[CTL_LINE_MAX] = 'x';
    assert_int_equal(ctlproto_parse(line, CTL_LINE_MAX + 1, &r, err, sizeof err), -1);
    assert_non_null(strstr(err, "too long (limit"));
}

struct status_case {
    const char *in;
    int rc;
    int ok;
    const char *text;
};

static const struct status_case status_cases[] = {
    {"OK", 0, 1, ""},
    {"OK 3 messages", 0, 1, "3 messages"},
    {"ERR no such message X", 0, 0, "no such message X"},
    {"ERR a\x01" "b", 0, 0, "a?b"},
    {"ERR", -1, 0, NULL},
    {"ERR ", -1, 0, NULL},
    {"OKAY", -1, 0, NULL},
    {"ok", -1, 0, NULL},
    {"", -1, 0, NULL},
};

static void test_status(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof status_cases / sizeof status_cases[0]; i++) {
        const struct status_case *c = &status_cases[i];
        bool ok = false;
        char text[64] = "";
        int rc = ctlproto_status(c->in, strlen(c->in), &ok, text, sizeof text);
        if (rc != c->rc || (rc == 0 && ((int)ok != c->ok || strcmp(text, c->text) != 0)))
            fail_msg("%s: got rc %d ok %d '%s', want rc %d ok %d '%s'", c->in, rc, ok, text,
                     c->rc, c->ok, c->text ? c->text : "");
    }
}

struct auth_case {
    const char *in;
    int rc;
    const char *user;
    unsigned attrs;
    size_t nnets;
    const char *err;
};

static const struct auth_case auth_cases[] = {
    {"admin:$y$j9T$abc$def:admin", 1, "admin", CTL_A_READ | CTL_A_QUEUE | CTL_A_ADMIN, 0, NULL},
    {"ops:$6$salt$hash:queue-ops:127.0.0.0/8, ::1", 1, "ops", CTL_A_READ | CTL_A_QUEUE, 2, NULL},
    {"view:$2b$05$x:read:10.0.0.0/8\r", 1, "view", CTL_A_READ, 1, NULL},
    {"both:h:read,admin:", 1, "both", CTL_A_READ | CTL_A_QUEUE | CTL_A_ADMIN, 0, NULL},
    {"# comment", 0, NULL, 0, 0, NULL},
    {"   ", 0, NULL, 0, 0, NULL},
    {"", 0, NULL, 0, 0, NULL},
    {"user:hash", -1, NULL, 0, 0, "USER:HASH:ATTRIBUTES"},
    {"user:hash:read:1.2.3.4:extra", -1, NULL, 0, 0, "network"},
    {"v6:h:read:2001:db8::/32,::1", 1, "v6", CTL_A_READ, 2, NULL},
    {":hash:read", -1, NULL, 0, 0, "user name"},
    {"a b:hash:read", -1, NULL, 0, 0, "user name"},
    {"user::read", -1, NULL, 0, 0, "hash"},
    {"user:hash:", -1, NULL, 0, 0, "no attribute"},
    {"user:hash:write", -1, NULL, 0, 0, "unknown attribute"},
    {"user:hash:read:300.1.1.1", -1, NULL, 0, 0, "network"},
    {"user:hash:read:1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17", -1, NULL, 0, 0, "network"},
};

static void test_authfile(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof auth_cases / sizeof auth_cases[0]; i++) {
        const struct auth_case *c = &auth_cases[i];
        struct ctl_authuser u;
        char err[CTL_ERR_MAX] = "";
        int rc = ctlproto_authline(c->in, strlen(c->in), &u, err, sizeof err);
        if (rc != c->rc)
            fail_msg("%s: got rc %d (%s), want %d", c->in, rc, err, c->rc);
        if (rc < 0 && !strstr(err, c->err))
            fail_msg("%s: got reason '%s', want one with '%s'", c->in, err, c->err);
        if (rc == 1 && (strcmp(u.user, c->user) != 0 || u.attrs != c->attrs || u.nnets != c->nnets))
            fail_msg("%s: got user %s attrs %u nets %zu, want %s %u %zu", c->in, u.user, u.attrs,
                     u.nnets, c->user, c->attrs, c->nnets);
    }
}

struct glob_case {
    const char *p, *s;
    bool want;
};

static const struct glob_case glob_cases[] = {
    {"*@example.com", "a@example.com", true},   {"*@example.com", "a@EXAMPLE.com", true},
    {"*@example.com", "a@example.community", false}, {"a?c", "abc", true},
    {"a?c", "ac", false},                       {"*", "", true},
    {"", "", true},                             {"", "a", false},
    {"*a*b*c*", "xxaxxbxxcxx", true},           {"*a*b*c*", "xxaxxcxxbxx", false},
    {"**", "abc", true},                        {"abc*", "ab", false},
};

static void test_glob(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof glob_cases / sizeof glob_cases[0]; i++) {
        const struct glob_case *c = &glob_cases[i];
        if (ctlproto_glob(c->p, c->s) != c->want)
            fail_msg("glob %s ~ %s: got %d, want %d", c->p, c->s, !c->want, c->want);
    }
}

/* Every command has a name that parses back to it, and an attribute rule. */
static void test_names(void **state)
{
    (void)state;
    for (int c = 0; c < CTL_NCMDS; c++) {
        const char *n = ctlproto_cmd_name((enum ctl_cmd)c);
        assert_non_null(n);
        assert_true(strlen(n) > 0);
    }
    assert_int_equal(ctlproto_required(CTL_QUEUE), CTL_A_READ);
    assert_int_equal(ctlproto_required(CTL_DELETE), CTL_A_QUEUE);
    assert_int_equal(ctlproto_required(CTL_RELOAD), CTL_A_ADMIN);
    assert_int_equal(ctlproto_required(CTL_AUTH), 0);
    /* suppress: list/export need read, add/remove queue-ops */
    static const struct {
        const char *line;
        unsigned want;
    } supp[] = {{"suppress list", CTL_A_READ}, {"suppress export", CTL_A_READ},
                {"suppress add a@b", CTL_A_QUEUE}, {"suppress remove a@b", CTL_A_QUEUE},
                {"queue", CTL_A_READ}, {"reload", CTL_A_ADMIN}};
    for (size_t i = 0; i < sizeof supp / sizeof supp[0]; i++) {
        struct ctl_req r;
        char err[CTL_ERR_MAX];
        assert_int_equal(ctlproto_parse(supp[i].line, strlen(supp[i].line), &r, err, sizeof err), 0);
        if (ctlproto_required_req(&r) != supp[i].want)
            fail_msg("%s: got attr %u, want %u", supp[i].line, ctlproto_required_req(&r), supp[i].want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_requests), cmocka_unit_test(test_line_limit),
        cmocka_unit_test(test_status),   cmocka_unit_test(test_authfile),
        cmocka_unit_test(test_glob),     cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
