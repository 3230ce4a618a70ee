/* test_policy: the policy parsers (policyfile lines, policyd replies/actions/services,
 * dnsbl entries and answers, helopat rows) and the compiled map (policydb: build, most
 * specific lookups, FILE:LINE errors, atomic replacement), table-driven. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "policy/policydb.h"
#include "proto/dnsbl.h"
#include "proto/helopat.h"
#include "proto/policyd.h"
#include "proto/policyfile.h"

struct line_case {
    const char *in;
    int rc;
    enum policyfile_attr attr;
    const char *text;
};

static const struct line_case line_cases[] = {
    {"192.0.2.0/24 reject \"no mail from here\"", 1, POLICY_A_REJECT, "no mail from here"},
    {"  192.0.2.1\tfull_rights", 1, POLICY_A_FULL_RIGHTS, ""},
    {".spam.test bulk_mail", 1, POLICY_A_BULK_MAIL, ""},
    {"friend@partner.test accept", 1, POLICY_A_ACCEPT, ""},
    {"@partner.test tempfail try later", 1, POLICY_A_TEMPFAIL, "try later"},
    {"example.org relay_target", 1, POLICY_A_RELAY_TARGET, ""},
    {"2001:db8::/32 local_names", 1, POLICY_A_LOCAL_NAMES, ""},
    {"# comment", 0, 0, ""},
    {"   ", 0, 0, ""},
    {"", 0, 0, ""},
    {"example.org", -1, 0, ""},
    {"example.org acept", -1, 0, ""},
    {"example.org accept \"text\"", -1, 0, ""},
    {"example.org reject \"unterminated", -1, 0, ""},
    {"example.org reject \"x\" y", -1, 0, ""},
    {"-bad-.org reject", -1, 0, ""},
    {"a@b@c.org reject", -1, 0, ""},
    {"192.0.2.0/33 reject", -1, 0, ""},
    {"x.org reject \x01", -1, 0, ""},
};

/* Each line: rc, attribute and text as wanted. */
static void test_line_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof line_cases / sizeof line_cases[0]; i++) {
        const struct line_case *c = &line_cases[i];
        struct policyfile_line l;
        const char *why = NULL;
        int rc = policyfile_parse(c->in, strlen(c->in), &l, &why);
        if (rc != c->rc)
            fail_msg("\"%s\": got rc %d (%s), want %d", c->in, rc, why ? why : "", c->rc);
        if (rc == 1 && (l.attr != c->attr || strcmp(l.text, c->text) != 0))
            fail_msg("\"%s\": got attr %d text \"%s\", want %d \"%s\"", c->in, l.attr, l.text,
                     c->attr, c->text);
        if (rc < 0 && !why)
            fail_msg("\"%s\": no reason", c->in);
    }
}

struct reply_case {
    const char *in;
    long rc;
    enum policyd_action action;
    unsigned code;
    const char *status, *text;
};

static const struct reply_case reply_cases[] = {
    {"action=DUNNO\n\n", 14, POLICYD_DUNNO, 450, "4.7.1", ""},
    {"action=ok\n\n", 11, POLICYD_OK, 450, "4.7.1", ""},
    {"action=REJECT go away\n\n", 23, POLICYD_REJECT, 554, "5.7.1", "go away"},
    {"action=DEFER_IF_PERMIT 4.2.0 Greylisted, see x\n\n", 48, POLICYD_DEFER_IF_PERMIT, 450,
     "4.2.0", "Greylisted, see x"},
    {"action=550 5.7.23 SPF fail\n\n", 28, POLICYD_REJECT, 550, "5.7.23", "SPF fail"},
    {"action=451 try later\n\n", 22, POLICYD_DEFER, 451, "4.7.1", "try later"},
    {"action=PREPEND X-Greylist: delayed\n\n", 36, POLICYD_PREPEND, 450, "4.7.1",
     "X-Greylist: delayed"},
    {"foo=bar\r\naction=HOLD\r\n\r\n", 24, POLICYD_HOLD, 450, "4.7.1", ""},
    {"action=DUNNO\n", 0, 0, 0, "", ""},
    {"action=DUNNO", 0, 0, 0, "", ""},
    {"\n", -1, 0, 0, "", ""},
    {"nonsense\n\n", -1, 0, 0, "", ""},
    {"action=FROB\n\n", -1, 0, 0, "", ""},
    {"action=PREPEND no colon\n\n", -1, 0, 0, "", ""},
    {"action=OK\naction=OK\n\n", -1, 0, 0, "", ""},
    {"action=REJECT a\x01z\n\n", -1, 0, 0, "", ""},
    {"action=600 x\n\n", -1, 0, 0, "", ""},
};

/* Each reply: bytes consumed, action, code, status, text as wanted. */
static void test_reply_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof reply_cases / sizeof reply_cases[0]; i++) {
        const struct reply_case *c = &reply_cases[i];
        struct policyd_reply r;
        long rc = policyd_reply_parse(c->in, strlen(c->in), &r);
        if (rc != c->rc)
            fail_msg("%zu: got rc %ld, want %ld", i, rc, c->rc);
        if (rc > 0 && (r.action != c->action || r.code != c->code ||
                       strcmp(r.status, c->status) != 0 || strcmp(r.text, c->text) != 0))
            fail_msg("%zu: got %s %u %s \"%s\", want %s %u %s \"%s\"", i,
                     policyd_action_name(r.action), r.code, r.status, r.text,
                     policyd_action_name(c->action), c->code, c->status, c->text);
    }
}

/* A reply longer than POLICYD_REPLY_MAX without its end is invalid, not incomplete. */
static void test_reply_too_long(void **state)
{
    (void)state;
    char *buf = malloc(POLICYD_REPLY_MAX + 10);
    memset(buf, 'x', POLICYD_REPLY_MAX + 10);
    memcpy(buf, "action=DUNNO ", 13);
    long rc = policyd_reply_parse(buf, POLICYD_REPLY_MAX + 10, &(struct policyd_reply){0});
    free(buf);
    if (rc != -1)
        fail_msg("got %ld, want -1", rc);
}

struct svc_case {
    const char *in;
    int rc;
    bool unix_socket;
    const char *target;
    uint64_t timeout;
};

static const struct svc_case svc_cases[] = {
    {"inet:127.0.0.1:10023", 0, false, "127.0.0.1:10023", 0},
    {"inet:[::1]:10023 timeout=5s", 0, false, "[::1]:10023", 5000},
    {"unix:/run/policy.sock default_action=DEFER", 0, true, "/run/policy.sock", 0},
    {"inet:localhost:10023", -1, false, "", 0},
    {"inet:127.0.0.1:0", -1, false, "", 0},
    {"inet:127.0.0.1:70000", -1, false, "", 0},
    {"unix:relative", -1, false, "", 0},
    {"tcp:127.0.0.1:1", -1, false, "", 0},
    {"inet:127.0.0.1:1 frob=1", -1, false, "", 0},
    {"inet:127.0.0.1:1 timeout=0", -1, false, "", 0},
    {"inet:127.0.0.1:1 default_action=FROB", -1, false, "", 0},
};

/* Each service entry: rc, kind, target, timeout as wanted. */
static void test_service_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof svc_cases / sizeof svc_cases[0]; i++) {
        const struct svc_case *c = &svc_cases[i];
        struct policyd_service s;
        const char *why;
        int rc = policyd_service_parse(c->in, strlen(c->in), &s, &why);
        if (rc != c->rc)
            fail_msg("\"%s\": got %d, want %d", c->in, rc, c->rc);
        if (rc == 0 && (s.unix_socket != c->unix_socket || strcmp(s.target, c->target) != 0 ||
                        s.timeout_ms != c->timeout))
            fail_msg("\"%s\": got %d %s %llu", c->in, s.unix_socket, s.target,
                     (unsigned long long)s.timeout_ms);
    }
}

/* An attribute value cannot end the request or add a line. */
static void test_attr_sanitized(void **state)
{
    (void)state;
    char buf[128];
    size_t o = 0;
    assert_int_equal(policyd_attr(buf, sizeof buf, &o, "sender", "a@b\n\naction=OK"), 0);
    assert_string_equal(buf, "sender=a@baction=OK\n");
    assert_int_equal(policyd_attr(buf, 8, &o, "recipient", "x"), -1);
}

struct bl_case {
    const char *entry;
    int rc;
    uint8_t answer[4];
    enum dnsbl_answer want;
};

static const struct bl_case bl_cases[] = {
    {"bl.example", 0, {127, 0, 0, 2}, DNSBL_LISTED},
    {"bl.example", 0, {127, 0, 0, 200}, DNSBL_LISTED},
    {"bl.example", 0, {10, 0, 0, 2}, DNSBL_GARBAGE},
    {"bl.example", 0, {127, 255, 255, 254}, DNSBL_GARBAGE},
    {"zen.example=127.0.0.[2..11]", 0, {127, 0, 0, 11}, DNSBL_LISTED},
    {"zen.example=127.0.0.[2..11]", 0, {127, 0, 0, 12}, DNSBL_NOT_LISTED},
    {"zen.example=127.0.0.[2;4..5]*3", 0, {127, 0, 0, 3}, DNSBL_NOT_LISTED},
    {"zen.example=127.0.0.[2;4..5]*3", 0, {127, 0, 0, 4}, DNSBL_LISTED},
    {"zen.example=127.0.0.2*-1", 0, {127, 0, 0, 2}, DNSBL_LISTED},
    {"zen.example=127.0.0", -1, {0}, 0},
    {"zen.example=127.0.0.[5..2]", -1, {0}, 0},
    {"zen.example*", -1, {0}, 0},
    {"zen.example*1001", -1, {0}, 0},
    {"=127.0.0.2", -1, {0}, 0},
    {"bad_zone!", -1, {0}, 0},
};

/* Each entry: rc, then the classification of one answer. */
static void test_dnsbl_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bl_cases / sizeof bl_cases[0]; i++) {
        const struct bl_case *c = &bl_cases[i];
        struct dnsbl_list l;
        const char *why;
        int rc = dnsbl_parse(c->entry, strlen(c->entry), &l, &why);
        if (rc != c->rc)
            fail_msg("\"%s\": got %d, want %d", c->entry, rc, c->rc);
        if (rc == 0 && dnsbl_match(&l, c->answer) != c->want)
            fail_msg("\"%s\" %u.%u.%u.%u: got %d, want %d", c->entry, c->answer[0], c->answer[1],
                     c->answer[2], c->answer[3], dnsbl_match(&l, c->answer), c->want);
    }
}

/* Query names: reversed octets, reversed nibbles. */
static void test_dnsbl_query_names(void **state)
{
    (void)state;
    struct dnsbl_list l;
    const char *why;
    char q[300];
    uint8_t a4[4] = {192, 0, 2, 1}, a6[16] = {0x20, 0x01, 0x0d, 0xb8};
    assert_int_equal(dnsbl_parse("bl.example", 10, &l, &why), 0);
    assert_int_equal(dnsbl_query_name(&l, 4, a4, q, sizeof q), 0);
    assert_string_equal(q, "1.2.0.192.bl.example");
    assert_int_equal(dnsbl_query_name(&l, 6, a6, q, sizeof q), 0);
    assert_string_equal(
        q, "0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.example");
}

struct rhs_case {
    const char *domain;
    int rc;
    const char *want;
};

static const struct rhs_case rhs_cases[] = {
    {"Spam.Example", 0, "spam.example.dbl.example"},
    {"spam.example.", 0, "spam.example.dbl.example"},
    {"a_b-c.example", 0, "a_b-c.example.dbl.example"},
    {"localhost", 0, "localhost.dbl.example"},
    {"", -1, NULL},
    {".", -1, NULL},
    {"a..b", -1, NULL},
    {".a", -1, NULL},
    {"[192.0.2.1]", -1, NULL},
    {"a b", -1, NULL},
    {"caf\xc3\xa9.example", -1, NULL},
    {"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.example", -1, NULL},
};

/* RHSBL query names: DOMAIN.ZONE for host names only; got rc and name, want the row's. */
static void test_dnsbl_query_domains(void **state)
{
    (void)state;
    struct dnsbl_list l;
    const char *why;
    char q[300];
    assert_int_equal(dnsbl_parse("dbl.example", 11, &l, &why), 0);
    for (size_t i = 0; i < sizeof rhs_cases / sizeof rhs_cases[0]; i++) {
        const struct rhs_case *c = &rhs_cases[i];
        int rc = dnsbl_query_domain(&l, c->domain, strlen(c->domain), q, sizeof q);
        if (rc != c->rc || (rc == 0 && strcmp(q, c->want) != 0))
            fail_msg("\"%s\": got %d %s, want %d %s", c->domain, rc, rc == 0 ? q : "",
                     c->rc, c->want ? c->want : "");
    }
    char big[300];
    memset(big, 'a', sizeof big - 1);
    for (size_t i = 50; i < sizeof big - 1; i += 50)
        big[i] = '.';
    big[sizeof big - 1] = '\0';
    assert_int_equal(dnsbl_query_domain(&l, big, strlen(big), q, sizeof q), -1);
    assert_int_equal(dnsbl_query_domain(&l, "a.example", 9, q, 15), -1); /* does not fit */
}

struct helo_case {
    const char *in;
    int rc;
    unsigned maxload;
    bool strict, refuse;
};

static const struct helo_case helo_cases[] = {
    {"localhost 999 R", 0, 999, true, false},
    {"\\[*\\] 999 -", 0, 999, false, false},
    {"some.host 10 !NO EMAIL ACCEPTED", 0, 10, false, true},
    {"* 999 veR", -1, 0, false, false},
    {"* 1000 R", -1, 0, false, false},
    {"* x R", -1, 0, false, false},
    {"* 999", -1, 0, false, false},
    {"* 999 R extra", -1, 0, false, false},
    {"* 999 !", -1, 0, false, false},
};

/* Each row: rc, maximum load, R, refusal as wanted. */
static void test_helo_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof helo_cases / sizeof helo_cases[0]; i++) {
        const struct helo_case *c = &helo_cases[i];
        struct helopat h;
        const char *why;
        int rc = helopat_parse(c->in, strlen(c->in), &h, &why);
        if (rc != c->rc)
            fail_msg("\"%s\": got %d, want %d", c->in, rc, c->rc);
        if (rc == 0 && (h.maxload != c->maxload || h.strict != c->strict || h.refuse != c->refuse))
            fail_msg("\"%s\": got %u %d %d", c->in, h.maxload, h.strict, h.refuse);
    }
}

/* ---- the compiled map ---- */

static char dir[] = "/tmp/test_policy.XXXXXX";

/* Writes text into dir/name; returns the path (static buffer per call site). */
static const char *write_file(const char *name, const char *text, char *path, size_t len)
{
    snprintf(path, len, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static const char map_src[] = "192.0.2.0/24 reject \"net\"\n"
                              "192.0.2.7 accept\n"
                              "192.0.2.7 full_rights\n"
                              "mail.example.org tempfail \"name\"\n"
                              ".example.org reject \"suffix\"\n"
                              "u@partner.test accept\n"
                              "@partner.test reject \"domain of address\"\n"
                              "partner.test tempfail \"domain\"\n"
                              ".partner.test bulk_mail\n";

/* Builds map_src into dir/policy.lmdb and opens it. */
static struct policydb *open_map(void)
{
    char src[256], map[256], err[256];
    char *files[1] = {(char *)write_file("src", map_src, src, sizeof src)};
    snprintf(map, sizeof map, "%s/policy.lmdb", dir);
    if (policydb_build(files, 1, map, err, sizeof err) < 0)
        fail_msg("build: %s", err);
    struct policydb *db = policydb_open(map, err, sizeof err);
    if (!db)
        fail_msg("open: %s", err);
    return db;
}

/* Client lookups: the longest prefix, then the name, then its suffixes. */
static void test_map_client(void **state)
{
    (void)state;
    struct policydb *db = open_map();
    struct policydb_hit h;
    struct sockaddr_in sin = {.sin_family = AF_INET};
    inet_pton(AF_INET, "192.0.2.7", &sin.sin_addr);
    assert_int_equal(policydb_client(db, (struct sockaddr *)&sin, "unknown", &h), 1);
    assert_string_equal(h.key, "192.0.2.7/32");
    assert_int_equal(h.v.verdict, POLICY_V_ACCEPT);
    assert_int_equal(h.v.flags, POLICY_A_FULL_RIGHTS);
    inet_pton(AF_INET, "192.0.2.8", &sin.sin_addr);
    assert_int_equal(policydb_client(db, (struct sockaddr *)&sin, "mail.example.org", &h), 1);
    assert_string_equal(h.key, "192.0.2.0/24");
    inet_pton(AF_INET, "198.51.100.1", &sin.sin_addr);
    assert_int_equal(policydb_client(db, (struct sockaddr *)&sin, "mail.example.org", &h), 1);
    assert_string_equal(h.key, "mail.example.org");
    assert_int_equal(policydb_client(db, (struct sockaddr *)&sin, "a.b.example.org", &h), 1);
    assert_string_equal(h.key, ".example.org");
    assert_int_equal(policydb_client(db, (struct sockaddr *)&sin, "example.org", &h), 0);
    assert_int_equal(policydb_client(db, (struct sockaddr *)&sin, "unknown", &h), 0);
    policydb_close(db);
}

struct addr_case {
    const char *addr;
    int rc;
    const char *key;
};

static const struct addr_case addr_cases[] = {
    {"u@partner.test", 1, "u@partner.test"},
    {"U@Partner.Test", 1, "u@partner.test"},
    {"v@partner.test", 1, "@partner.test"},
    {"v@x.partner.test", 1, ".partner.test"},
    {"v@other.test", 0, ""},
    {"postmaster", 0, ""},
};

/* Address lookups: user@domain, @domain, domain, suffixes. */
static void test_map_address(void **state)
{
    (void)state;
    struct policydb *db = open_map();
    for (size_t i = 0; i < sizeof addr_cases / sizeof addr_cases[0]; i++) {
        struct policydb_hit h;
        int rc = policydb_address(db, addr_cases[i].addr, &h);
        if (rc != addr_cases[i].rc || (rc == 1 && strcmp(h.key, addr_cases[i].key) != 0))
            fail_msg("%s: got %d %s, want %d %s", addr_cases[i].addr, rc, rc == 1 ? h.key : "",
                     addr_cases[i].rc, addr_cases[i].key);
    }
    policydb_close(db);
}

/* A bad line names FILE:LINE and leaves the old map in place. */
static void test_map_errors(void **state)
{
    (void)state;
    struct policydb *db = open_map();
    char src[256], map[256], err[512], want[400];
    char *files[1] = {
        (char *)write_file("bad", "ok.test accept\nok.test reject\n", src, sizeof src)};
    snprintf(map, sizeof map, "%s/policy.lmdb", dir);
    assert_int_equal(policydb_build(files, 1, map, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s:2: this key has an accept, reject or tempfail already", src);
    assert_string_equal(err, want);
    policydb_close(db);
    db = policydb_open(map, err, sizeof err); /* the old map is still there */
    assert_non_null(db);
    struct policydb_hit h;
    assert_int_equal(policydb_address(db, "u@partner.test", &h), 1);
    policydb_close(db);
    char *missing[1] = {(char *)"/nonexistent/policy"};
    assert_int_equal(policydb_build(missing, 1, map, err, sizeof err), -1);
    assert_non_null(strstr(err, "/nonexistent/policy: No such file"));
    snprintf(map, sizeof map, "%s/none.lmdb", dir);
    assert_null(policydb_open(map, err, sizeof err));
}

/* Creates the temporary directory. */
static int setup(void **state)
{
    (void)state;
    return mkdtemp(dir) ? 0 : -1;
}

/* Removes the temporary directory. */
static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line_table),        cmocka_unit_test(test_reply_table),
        cmocka_unit_test(test_reply_too_long),    cmocka_unit_test(test_service_table),
        cmocka_unit_test(test_attr_sanitized),    cmocka_unit_test(test_dnsbl_table),
        cmocka_unit_test(test_dnsbl_query_names), cmocka_unit_test(test_dnsbl_query_domains),
        cmocka_unit_test(test_helo_table),
        cmocka_unit_test(test_map_client),        cmocka_unit_test(test_map_address),
        cmocka_unit_test(test_map_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
