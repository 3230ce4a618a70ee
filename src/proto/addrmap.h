/* addrmap: the text format of the `virtual` and `canonical` maps (Postfix's virtual(5) and
 * canonical(5) tables in their plain form), pure.
 *
 *   # comment                      (a line whose first non-blank is '#'; blank lines skipped)
 *   KEY   VALUE, VALUE ...         KEY: "local@domain", or "@domain" (every address of domain)
 *   <blank>more values             a line starting with a blank continues the entry
 *
 * virtual: VALUE is one or more addresses "local@domain", separated by commas and/or blanks.
 * canonical: VALUE is exactly one address "local@domain", or "@domain" when KEY is "@domain"
 * (the local part is kept, the domain replaced).
 *
 * addrmap_next() reads one entry from buf at *pos (advancing it and *line): 1 and e filled
 * (pointers into buf), 0 at the end, -1 with "LINE: message" in err. addrmap_split() checks
 * KEY and calls fn for every value (fn's -1 stops it): 0, or -1 with a message in err. Limits:
 * an entry of ADDRMAP_ENTRY_MAX bytes, a key or a value of ADDRMAP_ADDR_MAX, no control bytes,
 * no quotes, '|' or leading '/'. No I/O, no allocation: fuzzed by fuzz/fuzz_addrmap.c. */
#ifndef SLUICE_ADDRMAP_H
#define SLUICE_ADDRMAP_H
#include <stddef.h>

#define ADDRMAP_ENTRY_MAX (1024 * 1024)
#define ADDRMAP_ADDR_MAX 256

enum addrmap_kind { ADDRMAP_VIRTUAL, ADDRMAP_CANONICAL };

struct addrmap_entry {
    const char *key;
    size_t keylen;
    const char *value; /* continuation lines included */
    size_t valuelen;
    unsigned line;     /* of the key */
};

int addrmap_next(const char *buf, size_t len, size_t *pos, unsigned *line,
                 struct addrmap_entry *e, char *err, size_t errlen);
typedef int (*addrmap_value_fn)(void *arg, const char *v, size_t len);
int addrmap_split(enum addrmap_kind kind, const struct addrmap_entry *e, addrmap_value_fn fn,
                  void *arg, char *err, size_t errlen);
/* True when a..a+len is "local@domain" (domain_only: "@domain") within the limits. */
int addrmap_addr_ok(const char *a, size_t len, int domain_only);
#endif
