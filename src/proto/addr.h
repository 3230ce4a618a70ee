/* addr: parses mail addresses (RFC 5321 §4.1.2 Path / Mailbox). Pure.
 * addr_parse_path() takes the text after "MAIL FROM:" or "RCPT TO:" up to the first
 * parameter: "<local@domain>" (or "<>" when null_ok), with an optional source route
 * "<@a,@b:local@domain>" which is dropped. local part: dot-string or quoted-string;
 * domain: dot-separated labels of letters, digits and '-', or an address literal
 * "[1.2.3.4]" / "[IPv6:...]". Limits: local part 64, domain 255, whole path 256 octets.
 * With `sloppy`, the angle brackets may be missing (seed "veR" flags). UTF-8 octets
 * (>= 0x80) are accepted in local part and domain only with `utf8`. */
#ifndef SLUICE_ADDR_H
#define SLUICE_ADDR_H
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define ADDR_MAX 256

struct addr_opts {
    bool null_ok; /* "<>" allowed (MAIL FROM) */
    bool sloppy;  /* brackets optional, trailing spaces tolerated */
    bool utf8;    /* SMTPUTF8 octets allowed */
};

/* Parses a path at s (len bytes). On success returns bytes consumed (the path and nothing
 * after it) and writes "local@domain" (or "" for "<>") NUL-terminated into out (ADDR_MAX+1
 * bytes), with the domain lower-cased. Returns -1 when invalid. */
ssize_t addr_parse_path(const char *s, size_t len, const struct addr_opts *o, char *out);
/* As addr_parse_path(), and writes the first host of a source route ("<@relay,@b:l@d>" ->
 * "relay", lower-cased; an address literal such as "[192.0.2.1]" kept whole) into route
 * (ADDR_MAX+1 bytes), or "" when the path has none (RFC 5321 §4.1.1.3, Appendix C). */
ssize_t addr_parse_path_route(const char *s, size_t len, const struct addr_opts *o, char *out,
                              char *route);
/* sluice stores a honoured source route as the routed address "@relay:local@domain"
 * (docs/routing.md). addr_unrouted(): the address after such a route ("local@domain"), any
 * other address as is (a pointer into addr). addr_route_host(): the relay of a routed
 * address into host (cap bytes) and its length; 0 when addr has no route or it does not
 * fit. */
const char *addr_unrouted(const char *addr);
size_t addr_route_host(const char *addr, char *host, size_t cap);
/* Returns a pointer to the domain part (after the last '@') of a parsed address, or "" . */
const char *addr_domain(const char *addr);
/* True when s is a syntactically valid domain name (labels, no literal), len bytes. */
bool addr_domain_valid(const char *s, size_t len);
#endif
