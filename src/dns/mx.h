/* mx: pure helpers for MX sets: ordering by preference with a random order among equal
 * preferences (RFC 5321 §5.1), the canonical key that makes domains with identical MX
 * sets share one destination (seed 001 §3.4), and the parser of one MX rdata as libunbound
 * returns it (ub_result->data[i]: names are never compressed there). */
#ifndef SLUICE_MX_H
#define SLUICE_MX_H
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define MX_NAME_MAX 253 /* longest host name in text form, without the trailing dot */

struct mx_host {
    char *name; /* lower-case, no trailing dot */
    uint16_t pref;
    struct sockaddr_storage *addrs; /* port 0; AAAA before A is NOT implied: as resolved */
    size_t naddrs;
    uint16_t port; /* a relay host's own port; 0: the destination's (every MX host) */
};

/* Sorts hosts by ascending preference; hosts of equal preference are shuffled using
 * rnd(rarg) (any uniform 32-bit source). */
void mx_order(struct mx_host *hosts, size_t n, uint32_t (*rnd)(void *rarg), void *rarg);
/* Writes the canonical key of an MX set into buf: "mx:" then "pref:name" pairs sorted by
 * (pref, name), comma-separated. Returns the length, or -1 when it does not fit. */
int mx_key(const struct mx_host *hosts, size_t n, char *buf, size_t buflen);
/* Parses MX rdata rd[0..len): a 2-byte big-endian preference, then an uncompressed
 * wire-format name that ends exactly at len. Writes the preference to *pref and the name,
 * lower-cased, without the trailing dot, NUL-terminated, into name (namelen bytes); the
 * root (RFC 7505 null MX target) is written as ".". Labels may hold only letters, digits,
 * '-' and '_'. Returns 0, or -1 when the rdata is malformed (truncated, trailing bytes,
 * compression pointer, label over 63 or name over 255 octets, other bytes in a label) or
 * the name does not fit in namelen. */
int mx_rdata_parse(const uint8_t *rd, size_t len, uint16_t *pref, char *name, size_t namelen);
#endif
