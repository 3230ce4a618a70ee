/* fuzz_domainpat: domainpat_parse() on arbitrary bytes (a relay's destdomains come from the
 * configuration, which is untrusted input), and domainpat_match() with the input as both a
 * pattern list (split at blanks) and a domain. A success points only inside the input,
 * stays within DOMAINPAT_MAX, and names a domain of letters, digits, '-', '_' and dots;
 * a match returns -1, 0 or 1, and a pattern that parsed matches the name it holds. */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/domainpat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Checks one parse of s[0..len). */
static void check_parse(const char *s, size_t len)
{
    struct domainpat p;
    const char *why = NULL;
    if (domainpat_parse(s, len, &p, &why) < 0) {
        if (!why)
            abort();
        return;
    }
    if (len == 0 || len > DOMAINPAT_MAX)
        abort();
    if (p.kind == DOMAINPAT_ANY)
        return;
    if (p.namelen == 0 || p.name < s || p.name + p.namelen > s + len)
        abort();
    for (size_t i = 0; i < p.namelen; i++) {
        unsigned char ch = (unsigned char)p.name[i];
        if (!isalnum(ch) && ch != '-' && ch != '_' && ch != '.')
            abort();
    }
    if (p.kind == DOMAINPAT_EXACT && !p.negated) { /* it matches its own name */
        char name[DOMAINPAT_MAX + 1], *pat[1];
        memcpy(name, p.name, p.namelen);
        name[p.namelen] = '\0';
        char pt[DOMAINPAT_MAX + 1];
        memcpy(pt, s, len);
        pt[len] = '\0';
        pat[0] = pt;
        if (domainpat_match(pat, 1, name) != 1)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    check_parse((const char *)data, size);
    char *buf = malloc(size + 1), *pats[64];
    size_t n = 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    for (char *save = NULL, *t = strtok_r(buf, " ", &save); t && n < 64; t = strtok_r(NULL, " ", &save))
        pats[n++] = t;
    int r = domainpat_match(pats, n, n ? pats[n - 1] : "");
    if (r < -1 || r > 1)
        abort();
    free(buf);
    return 0;
}
