/* Fuzz: the drop file parser (proto/maildrop.c). Hostile bytes never crash it; an accepted
 * file's content lies inside the input and its envelope formats back into a head that
 * parses to the same envelope. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/maildrop.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct maildrop d, again;
    const char *why;
    if (maildrop_parse((const char *)data, size, 1 << 20, &d, &why) != 0)
        return 0;
    if (d.body_off + d.body_len != size || d.nrcpt == 0)
        abort();
    size_t len;
    char *h = maildrop_head(d.sender, d.flags, d.envid, d.rcpts, d.nrcpt, &len);
    if (maildrop_parse(h, len, 0, &again, &why) != 0 || again.nrcpt != d.nrcpt ||
        strcmp(again.sender, d.sender) || again.flags != d.flags || strcmp(again.envid, d.envid))
        abort();
    for (size_t i = 0; i < d.nrcpt; i++)
        if (strcmp(again.rcpts[i].addr, d.rcpts[i].addr) || again.rcpts[i].notify != d.rcpts[i].notify)
            abort();
    maildrop_clear(&again);
    maildrop_clear(&d);
    free(h);
    return 0;
}
