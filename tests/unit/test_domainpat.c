/* test_domainpat: gateway rule patterns (proto/domainpat.h): every form and bad input for
 * domainpat_parse(), and ordered first-match evaluation by domainpat_match(), as FML's
 * GW/NGW + DOM rules; table-driven ("got X, want Y"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "proto/domainpat.h"

struct parse_case {
    const char *in;
    int rc;
    int negated;
    enum domainpat_kind kind;
    const char *name;
};

#define BAD(s) {s, -1, 0, 0, NULL}

static const struct parse_case parse_cases[] = {
    {"example.com", 0, 0, DOMAINPAT_EXACT, "example.com"},
    {".ac.jp", 0, 0, DOMAINPAT_SUBDOMAINS, "ac.jp"},
    {"*.example.com", 0, 0, DOMAINPAT_SUBDOMAINS, "example.com"},
    {"*", 0, 0, DOMAINPAT_ANY, ""},
    {"!sub.example.com", 0, 1, DOMAINPAT_EXACT, "sub.example.com"},
    {"!.co.jp", 0, 1, DOMAINPAT_SUBDOMAINS, "co.jp"},
    {"!*.co.jp", 0, 1, DOMAINPAT_SUBDOMAINS, "co.jp"},
    {"!*", 0, 1, DOMAINPAT_ANY, ""},
    {"jp", 0, 0, DOMAINPAT_EXACT, "jp"},
    {"x_y-1.example", 0, 0, DOMAINPAT_EXACT, "x_y-1.example"},
    BAD(""),
    BAD("!"),
    BAD("."),
    BAD("*."),
    BAD("**"),
    BAD("*example.com"),
    BAD("a..b"),
    BAD("a.b."),
    BAD("..a"),
    BAD("!!a"),
    BAD("a b"),
    BAD("a*.b"),
    BAD("[127.0.0.1]"),
    BAD("user@example.com"),
    BAD("exa\x01mple"),
    BAD("\xc3\xa9.example"),
    BAD("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example"), /* 64 */
};

/* Each pattern form parses to its kind and name; bad input is refused with a reason. */
static void test_parse(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof parse_cases / sizeof parse_cases[0]; i++) {
        const struct parse_case *c = &parse_cases[i];
        struct domainpat p;
        const char *why = NULL;
        int rc = domainpat_parse(c->in, strlen(c->in), &p, &why);
        if (rc != c->rc)
            fail_msg("\"%s\": got rc %d, want %d", c->in, rc, c->rc);
        if (rc < 0) {
            if (!why || !*why)
                fail_msg("\"%s\": got no reason, want one", c->in);
            continue;
        }
        char name[300];
        snprintf(name, sizeof name, "%.*s", (int)p.namelen, p.name ? p.name : "");
        if (p.negated != c->negated || p.kind != c->kind || strcmp(name, c->name) != 0)
            fail_msg("\"%s\": got negated %d kind %d name \"%s\", want %d %d \"%s\"", c->in,
                     p.negated, p.kind, name, c->negated, c->kind, c->name);
    }
    char big[DOMAINPAT_MAX + 2];
    memset(big, 'a', sizeof big);
    struct domainpat p;
    const char *why = NULL;
    if (domainpat_parse(big, sizeof big, &p, &why) != -1) /* over the hard limit */
        fail_msg("%zu bytes: got success, want -1", sizeof big);
}

struct match_case {
    const char *pats; /* space-separated */
    const char *domain;
    int want;         /* 1 routed, 0 excluded, -1 no match */
};

static const struct match_case match_cases[] = {
    {"example.com", "example.com", 1},
    {"example.com", "EXAMPLE.Com", 1},
    {"example.com", "example.com.", 1},
    {"example.com", "a.example.com", -1}, /* exact means exact */
    {"example.com", "xexample.com", -1},
    {".ac.jp", "u-tokyo.ac.jp", 1},
    {".ac.jp", "phys.titech.ac.jp", 1},
    {".ac.jp", "ac.jp", -1},              /* subdomains only */
    {".ac.jp", "tac.jp", -1},             /* a label boundary, not a string suffix */
    {"*.example.com", "a.b.example.com", 1},
    {"*.example.com", "example.com", -1},
    {"*", "anything.example", 1},
    {"*", "[192.0.2.1]", 1},
    {"!sub.example.com .example.com", "sub.example.com", 0},
    {"!sub.example.com .example.com", "a.sub.example.com", 1}, /* the exclusion is exact */
    {"!sub.example.com .example.com", "www.example.com", 1},
    {".example.com !sub.example.com", "sub.example.com", 1},   /* first match wins */
    /* FML: "NGW mlrelay DOM co.jp": everything but co.jp */
    {"!co.jp !.co.jp *", "foo.co.jp", 0},
    {"!co.jp !.co.jp *", "co.jp", 0},
    {"!co.jp !.co.jp *", "foo.or.jp", 1},
    {"!.co.jp", "foo.co.jp", 0},
    {"!.co.jp", "foo.or.jp", -1},         /* only exclusions: nothing is routed */
    {"", "example.com", -1},
    {"bad..pattern example.com", "example.com", 1}, /* one that does not parse is skipped */
};

/* Patterns are evaluated in order; the first that matches decides. */
static void test_match(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof match_cases / sizeof match_cases[0]; i++) {
        const struct match_case *c = &match_cases[i];
        char buf[256], *pats[8];
        size_t n = 0;
        snprintf(buf, sizeof buf, "%s", c->pats);
        for (char *save = NULL, *t = strtok_r(buf, " ", &save); t && n < 8;
             t = strtok_r(NULL, " ", &save))
            pats[n++] = t;
        int got = domainpat_match(pats, n, c->domain);
        if (got != c->want)
            fail_msg("[%s] against %s: got %d, want %d", c->pats, c->domain, got, c->want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_match),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
