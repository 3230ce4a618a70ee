/* rules: reply rules (deliver/rules.c, docs/shaping.md). The configured deliver.rules in
 * order, then (deliver.builtin_rules) the built-in ones; the first rule whose stage fits
 * and whose extended regular expression (case-insensitive) matches the reply wins.
 * Pure: the matcher has no clock, no I/O and no allocation. Replies come from the network:
 * at most RULES_TEXT_MAX bytes of one are looked at, NUL and control bytes become blanks. */
#ifndef SLUICE_RULES_H
#define SLUICE_RULES_H
#include <regex.h>
#include <stddef.h>

#include "conf/conf.h"

#define RULES_TEXT_MAX 512

struct rules_entry {
    struct shape_rule r; /* match points to the configured text or a built-in */
    regex_t re;
    int index; /* deliver.rules[index], or -1 - n for the built-in rule n */
};

struct rules {
    struct rules_entry *v;
    size_t n;
};

/* The built-in rules (docs/shaping.md lists them). */
extern const struct shape_rule rules_builtin[];
extern const size_t rules_nbuiltin;

/* Compiles the rules of c. Returns 0, or -1 with a message in err (a pattern that does not
 * compile: conf/ has checked them, so only a broken invariant). */
int rules_init(struct rules *rs, const struct conf *c, char *err, size_t errlen);
void rules_free(struct rules *rs);
/* The first rule for a reply at stage (enum rule_at, never RULE_AT_ANY), or NULL. */
const struct rules_entry *rules_match(const struct rules *rs, unsigned stage, const char *reply,
                                      size_t len);
/* "suspend", ... and "greeting", ... */
const char *rules_action_name(unsigned action);
const char *rules_at_name(unsigned at);
#endif
