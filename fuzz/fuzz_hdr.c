/* Fuzz: header walking, unfolding, lookup by name, address-list splitting and the RFC 5322
 * date formatter (proto/hdr.c). The lookup must agree with a walk by hdr_next(); the date
 * must always be HDR_DATE_MAX - 1 bytes and, in UTC and in range, equal what gmtime_r()
 * and strftime() give. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "proto/hdr.h"

static void sink(void *arg, const char *a)
{
    size_t *n = arg;
    *n += strlen(a);
}

/* hdr_find() against a plain walk: same field, same value, never past the bound. */
static void check_find(const char *msg, size_t size, const char *name)
{
    static char want[HDR_FIELD_MAX], got[HDR_FIELD_MAX];
    size_t len = size < HDR_SCAN_MAX ? size : HDR_SCAN_MAX, off = 0, used;
    ssize_t expect = -1;
    struct hdr_field f;
    while ((used = hdr_next(msg, len, off, &f)) > 0) {
        off += used;
        if (f.namelen == strlen(name) && strncasecmp(f.name, name, f.namelen) == 0) {
            expect = (ssize_t)hdr_value(&f, want, sizeof want);
            break;
        }
    }
    ssize_t n = hdr_find(msg, size, name, got, sizeof got);
    if (n != expect || (n >= 0 && (got[n] != '\0' || memcmp(got, want, (size_t)n) != 0)))
        abort();
    if (hdr_find(msg, size, name, NULL, 0) != (expect < 0 ? -1 : 0))
        abort();
}

/* hdr_date() of a time and offset taken from the first 16 input bytes. */
static void check_date(const uint8_t *data, size_t size)
{
    int64_t t = 0, off = 0;
    char got[HDR_DATE_MAX], want[64];
    memcpy(&t, data, size < 8 ? size : 8);
    if (size > 8)
        memcpy(&off, data + 8, size < 16 ? size - 8 : 8);
    if (hdr_date((time_t)t, (long)off, got, sizeof got) != HDR_DATE_MAX - 1 ||
        strlen(got) != HDR_DATE_MAX - 1 || hdr_date((time_t)t, 0, got, HDR_DATE_MAX - 1) != 0)
        abort();
    t %= 253402300800LL;
    if (t < 0)
        t = -t;
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm))
        abort();
    strftime(want, sizeof want, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    hdr_date(tt, 0, got, sizeof got);
    if (strcmp(got, want) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *msg = (const char *)data;
    size_t off = 0, used, total = 0;
    struct hdr_field f;
    static char value[HDR_FIELD_MAX];
    while ((used = hdr_next(msg, size, off, &f)) > 0) {
        if (off + used > size)
            abort();
        hdr_value(&f, value, sizeof value);
        hdr_addrlist(value, sink, &total);
        off += used;
    }
    check_find(msg, size, "Message-ID");
    check_find(msg, size, "Date");
    check_find(msg, size, "x"); /* a short name the fuzzer finds quickly */
    check_date(data, size);
    return 0;
}
