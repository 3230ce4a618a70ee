/* xalloc: allocation that aborts (log_panic) instead of returning NULL. Out of memory is a
 * broken invariant for an MTA that bounds every input. */
#ifndef SLUICE_XALLOC_H
#define SLUICE_XALLOC_H
#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Grows *arr (element size elsz) so that index `need` fits; *cap is updated. */
void xgrow(void *arrp, size_t *cap, size_t need, size_t elsz);
#endif
