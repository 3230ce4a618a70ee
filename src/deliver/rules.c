/* rules: compile and match reply rules (rules.h). A rule fits a stage when its `at` is
 * "any" or that stage. The reply is copied into a bounded buffer (RULES_TEXT_MAX bytes,
 * control bytes as blanks) before matching, so a hostile reply costs at most one bounded
 * regexec per rule; patterns carry no back-references, stacked quantifiers or large
 * repetitions (conf/ refuses them), so compiling and matching are
 * polynomial in that bound.
 *
 * Built-in rules, after the configured ones (the common receivers' wording):
 *  1. "421 ... too many connections / sessions / concurrent", any stage: reduce_concurrency
 *     by 0.5 (a refusal at the greeting is also learned exactly by dest.c's cap);
 *  2. 4xx "rate limit(ed) / too many messages / throttl / sending rate / slow down / too
 *     fast", any stage: reduce_rate by 0.5 for 1 minute;
 *  3. "421 ... try again later / temporarily deferred / service unavailable", at the
 *     greeting: suspend for 1 minute. */
#include "deliver/rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

#define RULES_FLAGS (REG_EXTENDED | REG_ICASE | REG_NOSUB)

const struct shape_rule rules_builtin[] = {
    {"^421[ -].*too many (concurrent |simultaneous )?(smtp )?(connections|sessions)", RULE_AT_ANY,
     RULE_REDUCE_CONCURRENCY, 60000, 0.5},
    {"^4[0-9][0-9][ -].*(rate limit|too many (messages|mails)|throttl|sending rate|slow down|too "
     "fast)",
     RULE_AT_ANY, RULE_REDUCE_RATE, 60000, 0.5},
    {"^421[ -].*(try again later|temporarily deferred|service (temporarily )?unavailable)",
     RULE_AT_GREETING, RULE_SUSPEND, 60000, 0.5},
};
const size_t rules_nbuiltin = sizeof rules_builtin / sizeof rules_builtin[0];

/* Compiles one rule into e. */
static int rules_add(struct rules_entry *e, const struct shape_rule *r, int index, char *err,
                     size_t errlen)
{
    e->r = *r;
    e->index = index;
    int rc = regcomp(&e->re, r->match, RULES_FLAGS);
    if (rc != 0) {
        char why[128];
        regerror(rc, &e->re, why, sizeof why);
        snprintf(err, errlen, "rule %d: %s", index, why);
        return -1;
    }
    return 0;
}

/* The configured rules, then the built-in ones. */
int rules_init(struct rules *rs, const struct conf *c, char *err, size_t errlen)
{
    size_t nb = c->deliver.builtin_rules ? rules_nbuiltin : 0;
    rs->v = xcalloc(c->deliver.nrules + nb + 1, sizeof *rs->v);
    rs->n = 0;
    for (size_t i = 0; i < c->deliver.nrules; i++, rs->n++)
        if (rules_add(&rs->v[rs->n], &c->deliver.rules[i], (int)i, err, errlen) < 0)
            return -1;
    for (size_t i = 0; i < nb; i++, rs->n++)
        if (rules_add(&rs->v[rs->n], &rules_builtin[i], -1 - (int)i, err, errlen) < 0)
            return -1;
    return 0;
}

/* Frees the compiled rules. */
void rules_free(struct rules *rs)
{
    for (size_t i = 0; i < rs->n; i++)
        regfree(&rs->v[i].re);
    free(rs->v);
    rs->v = NULL;
    rs->n = 0;
}

/* The first rule that fits. */
const struct rules_entry *rules_match(const struct rules *rs, unsigned stage, const char *reply,
                                      size_t len)
{
    char text[RULES_TEXT_MAX + 1];
    if (len > RULES_TEXT_MAX)
        len = RULES_TEXT_MAX;
    for (size_t i = 0; i < len; i++)
        text[i] = (unsigned char)reply[i] < ' ' || reply[i] == 0x7f ? ' ' : reply[i];
    text[len] = '\0';
    for (size_t i = 0; i < rs->n; i++) {
        const struct rules_entry *e = &rs->v[i];
        if (e->r.at != RULE_AT_ANY && e->r.at != stage)
            continue;
        if (regexec(&e->re, text, 0, NULL, 0) == 0)
            return e;
    }
    return NULL;
}

/* The word of an action. */
const char *rules_action_name(unsigned action)
{
    static const char *const names[] = {"suspend", "reduce_concurrency", "reduce_rate", "bounce"};
    return action < 4 ? names[action] : "?";
}

/* The word of a stage. */
const char *rules_at_name(unsigned at)
{
    static const char *const names[] = {"any", "greeting", "mail", "rcpt", "data"};
    return at < 5 ? names[at] : "?";
}
