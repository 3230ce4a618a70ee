/* dnsbl: DNS block list entries, query names and answer matching (as Postfix's
 * reject_rbl_client / postscreen_dnsbl_sites). Pure.
 * An entry (smtpd.dnsbl) is "ZONE[=PATTERN][*WEIGHT]": ZONE a domain name; PATTERN four
 * dot-separated octet patterns, each a number or "[a..b]" or "[a;b;c..d]" (numbers 0..255);
 * WEIGHT an integer -1000..1000 (default 1). Without a pattern any answer in 127.0.0.0/8
 * counts. Answers outside 127.0.0.0/8 and Spamhaus's 127.255.255.0/24 error codes never
 * count (a hijacked or refusing list must not refuse mail): dnsbl_match() says which.
 * The query name of an IPv4 address is its reversed octets, of an IPv6 address its reversed
 * nibbles, followed by the zone. RHSBL (domain lists, smtpd.rhsbl: the same entries) query
 * "DOMAIN.ZONE": dnsbl_query_domain() takes a host or domain name of letters, digits, '-'
 * and '_' labels (1..63 bytes each, a trailing dot dropped, lower-cased) and refuses
 * anything else (address literals, empty labels, other bytes, a name too long). */
#ifndef SLUICE_DNSBL_H
#define SLUICE_DNSBL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNSBL_ZONE_MAX 200
#define DNSBL_RANGES 8 /* ranges in one octet pattern */

struct dnsbl_octet {
    uint8_t lo[DNSBL_RANGES], hi[DNSBL_RANGES];
    unsigned n;
};

struct dnsbl_list {
    char zone[DNSBL_ZONE_MAX + 1]; /* lower-case */
    bool has_pattern;
    struct dnsbl_octet oct[4];
    int weight;
};

enum dnsbl_answer { DNSBL_LISTED, DNSBL_NOT_LISTED, DNSBL_GARBAGE };

/* Parses an entry; -1 with *why (static text). */
int dnsbl_parse(const char *s, size_t len, struct dnsbl_list *out, const char **why);
/* Writes the query name of addr (family 4: 4 bytes, 6: 16 bytes) in list l; -1 if too long. */
int dnsbl_query_name(const struct dnsbl_list *l, int family, const uint8_t *addr, char *out,
                     size_t outlen);
/* Writes the query name of domain (len bytes, untrusted) in list l: "domain.zone",
 * lower-case; -1 when domain is not a host name or the name does not fit outlen. */
int dnsbl_query_domain(const struct dnsbl_list *l, const char *domain, size_t len, char *out,
                       size_t outlen);
/* Classifies one A answer a[4] of list l. */
enum dnsbl_answer dnsbl_match(const struct dnsbl_list *l, const uint8_t a[4]);
#endif
