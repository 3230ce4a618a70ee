/* dict: chained hash table with FNV-1a hashing. Invariant: nbuckets is a power of two and
 * count <= nbuckets after every insertion (the table doubles before exceeding it). */
#include "core/dict.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

struct dict_entry {
    struct dict_entry *next;
    uint64_t hash;
    void *value;
    char key[];
};

struct dict {
    struct dict_entry **buckets;
    size_t nbuckets;
    size_t count;
};

/* FNV-1a over the key bytes. */
static uint64_t dict_hash(const char *key)
{
    uint64_t h = 1469598103934665603ull;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return h;
}

/* An empty table with 16 buckets. */
struct dict *dict_create(void)
{
    struct dict *d = xcalloc(1, sizeof *d);
    d->nbuckets = 16;
    d->buckets = xcalloc(d->nbuckets, sizeof *d->buckets);
    return d;
}

/* Frees entries (and values through free_value) and the table. */
void dict_free(struct dict *d, void (*free_value)(void *))
{
    if (!d)
        return;
    for (size_t i = 0; i < d->nbuckets; i++) {
        struct dict_entry *e = d->buckets[i];
        while (e) {
            struct dict_entry *next = e->next;
            if (free_value)
                free_value(e->value);
            free(e);
            e = next;
        }
    }
    free(d->buckets);
    free(d);
}

/* The slot that holds key, or the empty slot at the end of its chain. */
static struct dict_entry **dict_slot(const struct dict *d, const char *key, uint64_t h)
{
    struct dict_entry **pp = &d->buckets[h & (d->nbuckets - 1)];
    while (*pp && ((*pp)->hash != h || strcmp((*pp)->key, key) != 0))
        pp = &(*pp)->next;
    return pp;
}

/* Doubles the bucket array and rehashes every entry. */
static void dict_grow(struct dict *d)
{
    size_t n = d->nbuckets * 2;
    struct dict_entry **b = xcalloc(n, sizeof *b);
    for (size_t i = 0; i < d->nbuckets; i++) {
        struct dict_entry *e = d->buckets[i];
        while (e) {
            struct dict_entry *next = e->next;
            e->next = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
            e = next;
        }
    }
    free(d->buckets);
    d->buckets = b;
    d->nbuckets = n;
}

/* Value for key, or NULL. */
void *dict_find(const struct dict *d, const char *key)
{
    struct dict_entry *e = *dict_slot(d, key, dict_hash(key));
    return e ? e->value : NULL;
}

/* Inserts or replaces key's value; returns the replaced value. */
void *dict_put(struct dict *d, const char *key, void *value)
{
    uint64_t h = dict_hash(key);
    struct dict_entry **pp = dict_slot(d, key, h);
    if (*pp) {
        void *old = (*pp)->value;
        (*pp)->value = value;
        return old;
    }
    size_t klen = strlen(key);
    struct dict_entry *e = xmalloc(sizeof *e + klen + 1);
    memcpy(e->key, key, klen + 1);
    e->hash = h;
    e->value = value;
    e->next = NULL;
    *pp = e;
    if (++d->count > d->nbuckets)
        dict_grow(d);
    return NULL;
}

/* Removes key; returns its value. */
void *dict_remove(struct dict *d, const char *key)
{
    struct dict_entry **pp = dict_slot(d, key, dict_hash(key));
    struct dict_entry *e = *pp;
    if (!e)
        return NULL;
    void *v = e->value;
    *pp = e->next;
    free(e);
    d->count--;
    return v;
}

/* Number of entries. */
size_t dict_count(const struct dict *d) { return d->count; }

/* Visits every entry. */
void dict_foreach(const struct dict *d, void (*fn)(void *arg, const char *key, void *value), void *arg)
{
    for (size_t i = 0; i < d->nbuckets; i++)
        for (struct dict_entry *e = d->buckets[i]; e; e = e->next)
            fn(arg, e->key, e->value);
}
