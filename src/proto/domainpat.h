/* domainpat: gateway rules by recipient domain, a relay's `destdomains` (docs/routing.md;
 * FML's CF style GW / NGW + DOM rules, seed 001 §4.4). Pure: no I/O, no allocation.
 *
 * A pattern is one of
 *   "example.com"      that domain only (exact, case-insensitive)
 *   ".example.com"     any subdomain of example.com (a.example.com, a.b.example.com), not
 *   "*.example.com"    example.com itself; both spellings mean the same
 *   "*"                any domain
 * and "!" before any of them negates it: the domains it matches are excluded. A domain is
 * dot-separated labels of letters, digits, '-' and '_' (1..63 bytes each, 253 in all).
 *
 * domainpat_parse(s, len, &p, &why): 0 and p filled (p.suffix points into s), or -1 with a
 *   reason in *why. Hard limit: DOMAINPAT_MAX bytes.
 * domainpat_match(pats, n, domain): evaluates the patterns in order, the first that matches
 *   decides: 1 when it is a positive one, 0 when it is negated (the domain is excluded),
 *   -1 when none matches. Patterns that do not parse never match. One trailing dot of
 *   domain is ignored. */
#ifndef SLUICE_DOMAINPAT_H
#define SLUICE_DOMAINPAT_H
#include <stdbool.h>
#include <stddef.h>

#define DOMAINPAT_MAX 256

enum domainpat_kind { DOMAINPAT_EXACT, DOMAINPAT_SUBDOMAINS, DOMAINPAT_ANY };

struct domainpat {
    bool negated;
    enum domainpat_kind kind;
    const char *name; /* EXACT: the domain; SUBDOMAINS: the parent (without the dot) */
    size_t namelen;   /* 0 for ANY */
};

int domainpat_parse(const char *s, size_t len, struct domainpat *p, const char **why);
int domainpat_match(char *const *pats, size_t n, const char *domain);
#endif
