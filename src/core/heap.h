/* heap: a binary min-heap of intrusive nodes ordered by an int64 key (e.g. a due time).
 * The node is embedded in the caller's struct; node->idx tracks the position so any node
 * can be removed in O(log n). A node not in a heap has idx == HEAP_NONE. */
#ifndef SLUICE_HEAP_H
#define SLUICE_HEAP_H
#include <stddef.h>
#include <stdint.h>

#define HEAP_NONE ((size_t)-1)

struct heap_node {
    int64_t key;
    size_t idx;
};

struct heap {
    struct heap_node **v;
    size_t n, cap;
};

void heap_init(struct heap *h);
void heap_clear(struct heap *h);
void heap_push(struct heap *h, struct heap_node *node);
/* Smallest node or NULL. */
struct heap_node *heap_top(const struct heap *h);
/* Removes and returns the smallest node, or NULL. */
struct heap_node *heap_pop(struct heap *h);
/* Removes node (must be in h). */
void heap_remove(struct heap *h, struct heap_node *node);
#endif
