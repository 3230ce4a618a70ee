/* ptrcache: the answers of forward-confirmed reverse lookups (dns_ptr) kept for a short
 * while, so that a client that connects again and again (an application server handing
 * mail to its relay, one connection per message) costs no lookup each time: no hand-over
 * to libunbound's thread and back, no two queries, for what the resolver's cache would
 * answer anyway. Pure: the caller passes the time; a fixed table, no allocation.
 *
 * ptrcache_get(c, addr, len, now_ms, name, cap)  1 with the cached answer in name ("" when
 *     the address has no confirmed name), 0 when nothing fresh is cached for it.
 * ptrcache_put(c, addr, len, name, ttl_s, now_ms)  keeps name (NULL: no confirmed name) for
 *     min(ttl_s, PTRCACHE_TTL_MAX_S) seconds; ttl_s 0 keeps nothing. A full table slot is
 *     overwritten (the table is indexed by a hash of the address: PTRCACHE_SLOTS entries).
 * addr is the address's bytes (4 for IPv4, 16 for IPv6), len at most 16; a name longer
 * than PTRCACHE_NAME_MAX is not kept. */
#ifndef SLUICE_PTRCACHE_H
#define SLUICE_PTRCACHE_H
#include <stddef.h>
#include <stdint.h>

#define PTRCACHE_SLOTS 256
#define PTRCACHE_TTL_MAX_S 60
#define PTRCACHE_FAIL_TTL_S 5 /* what dns.c keeps a failed lookup for */
#define PTRCACHE_NAME_MAX 253

struct ptrcache_entry {
    uint8_t addr[16];
    uint8_t len;    /* 0: empty slot */
    int64_t expires_ms;
    char name[PTRCACHE_NAME_MAX + 1]; /* "" = no confirmed name */
};

struct ptrcache {
    struct ptrcache_entry slot[PTRCACHE_SLOTS];
};

int ptrcache_get(const struct ptrcache *c, const uint8_t *addr, size_t len, int64_t now_ms,
                 char *name, size_t cap);
void ptrcache_put(struct ptrcache *c, const uint8_t *addr, size_t len, const char *name,
                  uint32_t ttl_s, int64_t now_ms);
#endif
