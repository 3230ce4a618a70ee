/* mx: pure helpers for MX sets: ordering by preference with a random order among equal
 * preferences (RFC 5321 §5.1), and the canonical key that makes domains with identical MX
 * sets share one destination (seed 001 §3.4). */
#ifndef SLUICE_MX_H
#define SLUICE_MX_H
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct mx_host {
    char *name;                      /* lower-case, no trailing dot */
    uint16_t pref;
    struct sockaddr_storage *addrs;  /* port 0; AAAA before A is NOT implied: as resolved */
    size_t naddrs;
};

/* Sorts hosts by ascending preference; hosts of equal preference are shuffled using
 * rnd(rarg) (any uniform 32-bit source). */
void mx_order(struct mx_host *hosts, size_t n, uint32_t (*rnd)(void *rarg), void *rarg);
/* Writes the canonical key of an MX set into buf: "mx:" then "pref:name" pairs sorted by
 * (pref, name), comma-separated. Returns the length, or -1 when it does not fit. */
int mx_key(const struct mx_host *hosts, size_t n, char *buf, size_t buflen);
#endif
