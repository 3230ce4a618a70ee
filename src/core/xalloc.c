/* xalloc: malloc wrappers that panic on failure, plus an array growth helper. */
#include "core/xalloc.h"

#include <stdlib.h>
#include <string.h>

#include "core/log.h"

/* malloc or panic. */
void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        log_panic("out of memory (%zu bytes)", n);
    return p;
}

/* calloc or panic. */
void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        log_panic("out of memory (%zu x %zu bytes)", n, size);
    return p;
}

/* realloc or panic. */
void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        log_panic("out of memory (%zu bytes)", n);
    return q;
}

/* strdup or panic. */
char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

/* strndup or panic. */
char *xstrndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p = xmalloc(len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

/* Doubles the capacity of a dynamic array until index `need` fits. */
void xgrow(void *arrp, size_t *cap, size_t need, size_t elsz)
{
    void **arr = arrp;
    if (need < *cap)
        return;
    size_t ncap = *cap ? *cap : 8;
    while (ncap <= need)
        ncap *= 2;
    *arr = xrealloc(*arr, ncap * elsz);
    *cap = ncap;
}
