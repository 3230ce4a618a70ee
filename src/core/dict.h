/* dict: a string-keyed hash table (chained, power-of-two buckets, grows at load 1).
 * Keys are copied; values are opaque pointers owned by the caller. */
#ifndef SLUICE_DICT_H
#define SLUICE_DICT_H
#include <stddef.h>

struct dict;

struct dict *dict_create(void);
/* Frees the table and its key copies; calls free_value on every value when non-NULL. */
void dict_free(struct dict *d, void (*free_value)(void *));
void *dict_find(const struct dict *d, const char *key);
/* Inserts or replaces; returns the previous value or NULL. */
void *dict_put(struct dict *d, const char *key, void *value);
/* Removes key; returns its value or NULL. */
void *dict_remove(struct dict *d, const char *key);
size_t dict_count(const struct dict *d);
/* Calls fn for every entry (the table must not change during the walk). */
void dict_foreach(const struct dict *d, void (*fn)(void *arg, const char *key, void *value), void *arg);
#endif
