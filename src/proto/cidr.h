/* cidr: parses network blocks and matches addresses against them. Pure.
 * Accepted: "a.b.c.d", "a.b.c.d/n", abbreviated IPv4 networks as in the Mailismus seed
 * ("192.168/16" = 192.168.0.0/16), IPv6 "x::y" and "x::y/n". At most 64 input bytes;
 * host bits beyond the prefix are ignored. */
#ifndef SLUICE_CIDR_H
#define SLUICE_CIDR_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct cidr {
    int family;       /* AF_INET or AF_INET6 */
    uint8_t addr[16]; /* network bytes (4 used for AF_INET) */
    unsigned prefix;  /* 0..32 or 0..128 */
};

/* Returns 0 and fills *out, or -1 when s (len bytes, need not be NUL-terminated) is not a
 * network block. */
int cidr_parse(const char *s, size_t len, struct cidr *out);
/* True when the address (AF_INET/AF_INET6 sockaddr; v4-mapped v6 matches v4 blocks) lies in c. */
bool cidr_match(const struct cidr *c, const struct sockaddr *sa);
/* True when sa lies in any of the n blocks. */
bool cidr_match_any(const struct cidr *list, size_t n, const struct sockaddr *sa);
/* Parses a textual IP ("1.2.3.4", "::1") into a sockaddr with port; 0/-1. */
int cidr_sockaddr_parse(const char *ip, uint16_t port, struct sockaddr_storage *ss, socklen_t *len);
/* Formats the address (no port) of sa into buf; returns buf ("?" on failure). */
char *cidr_sockaddr_to_text(const struct sockaddr *sa, char *buf, size_t buflen);
#endif
