/* heap: binary min-heap over an array of node pointers; invariant: v[i]->idx == i and
 * v[(i-1)/2]->key <= v[i]->key. */
#include "core/heap.h"

#include <stdlib.h>

#include "core/xalloc.h"

/* Empty heap. */
void heap_init(struct heap *h)
{
    h->v = NULL;
    h->n = h->cap = 0;
}

/* Frees the array (not the nodes). */
void heap_clear(struct heap *h)
{
    free(h->v);
    heap_init(h);
}

/* Puts v[i] at index j and records it. */
static void heap_set(struct heap *h, size_t j, struct heap_node *x)
{
    h->v[j] = x;
    x->idx = j;
}

/* Moves the node at i up until its parent is not larger. */
static void heap_up(struct heap *h, size_t i)
{
    struct heap_node *x = h->v[i];
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (h->v[p]->key <= x->key)
            break;
        heap_set(h, i, h->v[p]);
        i = p;
    }
    heap_set(h, i, x);
}

/* Moves the node at i down until no child is smaller. */
static void heap_down(struct heap *h, size_t i)
{
    struct heap_node *x = h->v[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && h->v[c + 1]->key < h->v[c]->key)
            c++;
        if (x->key <= h->v[c]->key)
            break;
        heap_set(h, i, h->v[c]);
        i = c;
    }
    heap_set(h, i, x);
}

/* Inserts node. */
void heap_push(struct heap *h, struct heap_node *node)
{
    xgrow(&h->v, &h->cap, h->n, sizeof *h->v);
    heap_set(h, h->n++, node);
    heap_up(h, node->idx);
}

/* Smallest node. */
struct heap_node *heap_top(const struct heap *h) { return h->n ? h->v[0] : NULL; }

/* Removes node from anywhere in the heap. */
void heap_remove(struct heap *h, struct heap_node *node)
{
    size_t i = node->idx;
    struct heap_node *last = h->v[--h->n];
    node->idx = HEAP_NONE;
    if (i == h->n)
        return;
    heap_set(h, i, last);
    if (i > 0 && h->v[(i - 1) / 2]->key > last->key)
        heap_up(h, i);
    else
        heap_down(h, i);
}

/* Removes and returns the smallest node. */
struct heap_node *heap_pop(struct heap *h)
{
    struct heap_node *t = heap_top(h);
    if (t)
        heap_remove(h, t);
    return t;
}
