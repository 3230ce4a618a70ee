/* fuzz_policyfile: policyfile_parse() on arbitrary bytes; an accepted line's key must be
 * in bounds and its text printable; its record must encode, decode and come back equal.
 * The same bytes are also decoded as a map record (the map is input too: it may be stale
 * or corrupt). */
#include <stdlib.h>
#include <string.h>

#include "proto/policyfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts unless s is printable ASCII. */
static void check_text(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < ' ' || (unsigned char)*s >= 0x7f)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct policyfile_line l;
    struct policyfile_value v = {0}, w;
    unsigned char rec[2 + POLICYFILE_TEXT_MAX];
    const char *why = NULL;
    int rc = policyfile_parse((const char *)data, size, &l, &why);
    if (rc < 0 && !why)
        abort();
    if (rc == 1) {
        if (l.keylen == 0 || l.keylen > POLICYFILE_KEY_MAX || strlen(l.text) > POLICYFILE_TEXT_MAX)
            abort();
        check_text(l.text);
        if (policyfile_value_add(&v, &l, &why) == 0) {
            size_t n = policyfile_value_encode(&v, rec);
            if (policyfile_value_decode(rec, n, &w) < 0 || w.flags != v.flags ||
                w.verdict != v.verdict || strcmp(w.text, v.text) != 0)
                abort();
        }
    }
    if (policyfile_value_decode(data, size, &w) == 0)
        check_text(w.text);
    return 0;
}
