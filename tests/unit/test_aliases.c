/* test_aliases: the aliases(5) parser (proto/aliases.h) and the compiled map
 * (route/aliasdb.h: FILE:LINE errors, atomic replace, lookups), table-driven. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "proto/addrmap.h"
#include "proto/aliases.h"
#include "route/aliasdb.h"

struct collect {
    char out[2048];
};

/* Appends "K:target;" for each target (K: a address, c command, f file, i include). */
static int collect_target(void *arg, enum alias_kind k, const char *t, size_t len)
{
    struct collect *c = arg;
    size_t n = strlen(c->out);
    snprintf(c->out + n, sizeof c->out - n, "%c:%.*s;", "acfi"[k], (int)len, t);
    return 0;
}

/* Parses text whole: every entry as "name=targets|", or "ERR LINE: message". */
static void parse_all(const char *text, char *out, size_t outlen)
{
    size_t pos = 0;
    unsigned line = 0;
    struct alias_entry e;
    char err[256], tmp[ALIASES_TARGET_MAX + 1];
    int rc;
    out[0] = '\0';
    while ((rc = aliases_next(text, strlen(text), &pos, &line, &e, err, sizeof err)) == 1) {
        struct collect c = {""};
        if (aliases_split(e.value, e.valuelen, tmp, collect_target, &c, err, sizeof err) < 0) {
            snprintf(out, outlen, "ERR %u: %s", e.line, err);
            return;
        }
        size_t n = strlen(out);
        snprintf(out + n, outlen - n, "%.*s@%u=%s|", (int)e.namelen, e.name, e.line, c.out);
    }
    if (rc < 0)
        snprintf(out, outlen, "ERR %s", err);
}

static const struct {
    const char *in, *want;
} parse_cases[] = {
    {"root: admin\n", "root@1=a:admin;|"},
    {"root: admin, bob@x.example\n", "root@1=a:admin;a:bob@x.example;|"},
    {"# c\n\nroot:admin\n", "root@3=a:admin;|"},
    {"list: a,\n  b\n\t,c\nx: y\n", "list@1=a:a;a:b;a:c;|x@4=a:y;|"},
    {"l: a,\n# inside\n b\n", "l@1=a:a;a:b;|"},
    {"p: \"|/bin/prog -x, y\"\n", "p@1=c:|/bin/prog -x, y;|"},
    {"p: |/bin/cat\n", "p@1=c:|/bin/cat;|"},
    {"f: /var/tmp/file\n", "f@1=f:/var/tmp/file;|"},
    {"i: :include:/etc/list\n", "i@1=i::include:/etc/list;|"},
    {"Owner-List : someone\r\n", "Owner-List@1=a:someone;|"},
    {"no colon here\n", "ERR 1: no ':' after the name"},
    {"a: b\n c\n  oops\nbad\n", "ERR 4: no ':' after the name"},
    {" leading: x\n", "ERR 1: continuation line without an entry"},
    {"a b: c\n", "ERR 1: bad alias name"},
    {": c\n", "ERR 1: bad alias name"},
    {"a: b,,c\n", "ERR 1: empty target"},
    {"a:\n", "ERR 1: no targets"},
    {"a: \"|x\n", "ERR 1: unterminated quote"},
    {"a: b\x01\n", "ERR 1: control byte in a target"},
    {"a: \"x\\\x1c\"\n", "ERR 1: control byte in a target"}, /* escaped (fuzz) */
    {"", ""},
};

/* A list file (:include:, .forward): commas or newlines separate, blanks and comments skip. */
static const struct {
    const char *in, *want;
} list_cases[] = {
    {"a@x.example\nb@x.example\n", "a:a@x.example;a:b@x.example;"},
    {"a, b\r\n\n# note\n  c  \n", "a:a;a:b;a:c;"},
    {"\\bob, \"|/bin/prog a,b\"\n/var/mail/f\n", "a:\\bob;c:|/bin/prog a,b;f:/var/mail/f;"},
    {"", ""},
    {"\n\n", ""},
    {"\"open\n", "ERR unterminated quote"},
    {"a\x01\n", "ERR control byte in a target"},
};

static void test_split_list(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof list_cases / sizeof list_cases[0]; i++) {
        struct collect c = {""};
        char err[256], tmp[ALIASES_TARGET_MAX + 1], got[2300];
        const char *in = list_cases[i].in;
        if (aliases_split_list(in, strlen(in), tmp, collect_target, &c, err, sizeof err) < 0)
            snprintf(got, sizeof got, "ERR %s", err);
        else
            snprintf(got, sizeof got, "%s", c.out);
        if (strcmp(got, list_cases[i].want) != 0)
            fail_msg("list case %zu: got \"%s\", want \"%s\"", i, got, list_cases[i].want);
    }
}

static void test_parse(void **state)
{
    (void)state;
    char got[4096];
    for (size_t i = 0; i < sizeof parse_cases / sizeof parse_cases[0]; i++) {
        parse_all(parse_cases[i].in, got, sizeof got);
        if (strcmp(got, parse_cases[i].want) != 0)
            fail_msg("case %zu: got \"%s\", want \"%s\"", i, got, parse_cases[i].want);
    }
}

/* Writes text to path. */
static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Compiles, looks up, then a broken file keeps the old map and names FILE:LINE. */
static void test_map(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_aliases.XXXXXX", path[256], err[512], *v = NULL;
    size_t vlen;
    unsigned n;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/aliases", dir);
    write_file(path, "Root: admin, \"|/bin/x y\"\npostmaster: root\n");
    assert_int_equal(aliasdb_compile(path, &n, err, sizeof err), 0);
    assert_int_equal(n, 2);
    struct aliasdb *a = aliasdb_open(path);
    assert_int_equal(aliasdb_lookup(a, "ROOT", &v, &vlen), 1);
    assert_int_equal(vlen, strlen("admin") + 1 + strlen("|/bin/x y") + 1);
    assert_memory_equal(v, "admin\0|/bin/x y\0", vlen);
    free(v);
    assert_int_equal(aliasdb_lookup(a, "nobody", &v, &vlen), 0);
    write_file(path, "root: other\npostmaster root\n");
    assert_int_equal(aliasdb_compile(path, &n, err, sizeof err), -1);
    char want[300];
    snprintf(want, sizeof want, "%s:2: no ':' after the name", path);
    assert_string_equal(err, want);
    assert_int_equal(aliasdb_lookup(a, "root", &v, &vlen), 1); /* the old map */
    assert_string_equal(v, "admin");
    free(v);
    write_file(path, "root: a\nROOT: b\n");
    assert_int_equal(aliasdb_compile(path, &n, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s:2: duplicate alias name", path);
    assert_string_equal(err, want);
    write_file(path, "root: newer\n");
    assert_int_equal(aliasdb_compile(path, &n, err, sizeof err), 0);
    assert_int_equal(aliasdb_lookup(a, "root", &v, &vlen), 1); /* reopened after rename */
    assert_string_equal(v, "newer");
    free(v);
    aliasdb_close(a);
    char db[300];
    snprintf(db, sizeof db, "%s.db", path);
    unlink(db);
    unlink(path);
    rmdir(dir);
}

/* Joins every value of an addrmap entry with '|'. */
static int am_join(void *arg, const char *v, size_t len)
{
    char *out = arg;
    size_t n = strlen(out);
    if (n + len + 2 > 512)
        return -1;
    if (n)
        out[n++] = '|';
    memcpy(out + n, v, len);
    out[n + len] = '\0';
    return 0;
}

/* The virtual/canonical text format: got KEY=VALUES or the error, want the same. */
static void test_addrmap(void **state)
{
    (void)state;
    static const struct {
        int kind;
        const char *in, *want; /* "key=v|v;key=v" or "ERR:message prefix" */
    } t[] = {
        {ADDRMAP_VIRTUAL, "a@x.example b@y.example, c@z.example\n", "a@x.example=b@y.example|c@z.example"},
        {ADDRMAP_VIRTUAL, "# c\n\n@x.example  u@y.example\n  v@y.example\n", "@x.example=u@y.example|v@y.example"},
        {ADDRMAP_VIRTUAL, "a@x.example |/bin/true\n", "ERR:1: bad address"},
        {ADDRMAP_VIRTUAL, "a@x.example\n", "ERR:1: no address"},
        {ADDRMAP_VIRTUAL, "nodomain b@y.example\n", "ERR:1: bad key"},
        {ADDRMAP_VIRTUAL, "  b@y.example\n", "ERR:1: continuation"},
        {ADDRMAP_VIRTUAL, "a@x.example @y.example\n", "ERR:1: bad address"},
        {ADDRMAP_CANONICAL, "@x.example @y.example\n", "@x.example=@y.example"},
        {ADDRMAP_CANONICAL, "a@x.example b@y.example c@y.example\n", "ERR:1: canonical: more"},
        {ADDRMAP_CANONICAL, "a@x.example @y.example\n", "ERR:1: bad address"},
        {ADDRMAP_CANONICAL, "a@x.example b@y.example\nc@x.example d@y.example", "a@x.example=b@y.example;c@x.example=d@y.example"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        char got[2048] = "", err[256] = "", vals[512];
        size_t pos = 0, len = strlen(t[i].in);
        unsigned line = 0;
        struct addrmap_entry e;
        int rc;
        while ((rc = addrmap_next(t[i].in, len, &pos, &line, &e, err, sizeof err)) == 1) {
            vals[0] = '\0';
            char msg[200];
            if (addrmap_split(t[i].kind, &e, am_join, vals, msg, sizeof msg) < 0) {
                snprintf(err, sizeof err, "%u: %s", e.line, msg);
                rc = -1;
                break;
            }
            size_t n = strlen(got);
            snprintf(got + n, sizeof got - n, "%s%.*s=%s", n ? ";" : "", (int)e.keylen, e.key, vals);
        }
        if (rc < 0)
            snprintf(got, sizeof got, "ERR:%s", err);
        if (strncmp(got, t[i].want, strlen(t[i].want)) != 0)
            fail_msg("case %zu: got %s, want %s", i, got, t[i].want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_split_list),
        cmocka_unit_test(test_map),
        cmocka_unit_test(test_addrmap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
