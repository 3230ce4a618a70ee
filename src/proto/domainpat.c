/* domainpat: the syntax of a gateway rule's domain pattern and their ordered evaluation
 * (domainpat.h). Every length is checked before it is used; nothing is allocated. */
#include "proto/domainpat.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#define DOMAINPAT_NAME_MAX 253
#define DOMAINPAT_LABEL_MAX 63

/* True when s[0..len) is a domain name: labels of letters, digits, '-' and '_'. */
static bool domainpat_name_ok(const char *s, size_t len)
{
    size_t label = 0;
    if (len == 0 || len > DOMAINPAT_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '.') {
            if (label == 0)
                return false; /* empty label: leading, doubled or trailing dot */
            label = 0;
        } else if (isalnum(ch) || ch == '-' || ch == '_') {
            if (++label > DOMAINPAT_LABEL_MAX)
                return false;
        } else {
            return false;
        }
    }
    return label > 0;
}

/* Parses one pattern. */
int domainpat_parse(const char *s, size_t len, struct domainpat *p, const char **why)
{
    memset(p, 0, sizeof *p);
    if (len == 0 || len > DOMAINPAT_MAX) {
        *why = len ? "longer than 256 bytes" : "empty";
        return -1;
    }
    if (s[0] == '!') {
        p->negated = true;
        s++, len--;
    }
    if (len == 1 && s[0] == '*') {
        p->kind = DOMAINPAT_ANY;
        return 0;
    }
    size_t skip = len >= 2 && s[0] == '*' && s[1] == '.' ? 2 : len >= 1 && s[0] == '.' ? 1 : 0;
    p->kind = skip ? DOMAINPAT_SUBDOMAINS : DOMAINPAT_EXACT;
    p->name = s + skip;
    p->namelen = len - skip;
    if (!domainpat_name_ok(p->name, p->namelen)) {
        *why = "want domain, .domain, *.domain or *, optionally after !";
        return -1;
    }
    return 0;
}

/* True when pattern p matches domain d (dl bytes, no trailing dot). */
static bool domainpat_hit(const struct domainpat *p, const char *d, size_t dl)
{
    switch (p->kind) {
    case DOMAINPAT_ANY: return true;
    case DOMAINPAT_EXACT: return dl == p->namelen && strncasecmp(d, p->name, dl) == 0;
    case DOMAINPAT_SUBDOMAINS:
        return dl > p->namelen + 1 && d[dl - p->namelen - 1] == '.' &&
               strncasecmp(d + dl - p->namelen, p->name, p->namelen) == 0;
    }
    return false;
}

/* The first pattern that matches domain decides (domainpat.h). */
int domainpat_match(char *const *pats, size_t n, const char *domain)
{
    size_t dl = strlen(domain);
    if (dl > 0 && domain[dl - 1] == '.')
        dl--;
    for (size_t i = 0; i < n; i++) {
        struct domainpat p;
        const char *why;
        if (domainpat_parse(pats[i], strlen(pats[i]), &p, &why) < 0)
            continue;
        if (domainpat_hit(&p, domain, dl))
            return p.negated ? 0 : 1;
    }
    return -1;
}
