/* ptrcache: short-lived answers of forward-confirmed reverse lookups (ptrcache.h). */
#include "dns/ptrcache.h"

#include <stdio.h>
#include <string.h>

/* The slot of an address: FNV-1a of its bytes. */
static size_t ptrcache_slot(const uint8_t *addr, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ addr[i]) * 16777619u;
    return h % PTRCACHE_SLOTS;
}

int ptrcache_get(const struct ptrcache *c, const uint8_t *addr, size_t len, int64_t now_ms,
                 char *name, size_t cap)
{
    if (len == 0 || len > 16 || cap == 0)
        return 0;
    const struct ptrcache_entry *e = &c->slot[ptrcache_slot(addr, len)];
    if (e->len != len || memcmp(e->addr, addr, len) != 0 || now_ms >= e->expires_ms)
        return 0;
    if (strlen(e->name) >= cap)
        return 0;
    memcpy(name, e->name, strlen(e->name) + 1);
    return 1;
}

void ptrcache_put(struct ptrcache *c, const uint8_t *addr, size_t len, const char *name,
                  uint32_t ttl_s, int64_t now_ms)
{
    if (len == 0 || len > 16 || ttl_s == 0 || (name && strlen(name) > PTRCACHE_NAME_MAX))
        return;
    struct ptrcache_entry *e = &c->slot[ptrcache_slot(addr, len)];
    uint32_t keep = ttl_s < PTRCACHE_TTL_MAX_S ? ttl_s : PTRCACHE_TTL_MAX_S;
    memcpy(e->addr, addr, len);
    e->len = (uint8_t)len;
    e->expires_ms = now_ms + (int64_t)keep * 1000;
    snprintf(e->name, sizeof e->name, "%s", name ? name : "");
}
