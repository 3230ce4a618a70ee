/* Fuzzes mx_rdata_parse() with arbitrary rdata, and mx_order()/mx_key() with the names it
 * accepts. Checks the parser's promises: on success the name is NUL-terminated inside the
 * buffer, at most MX_NAME_MAX characters, lower-case letters/digits/'-'/'_' and single
 * dots (or exactly "."), and re-encoding it gives back the input bytes up to case. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dns/mx.h"

/* Re-encodes pref + name to wire format; returns the length. */
static size_t fuzz_encode(uint16_t pref, const char *name, uint8_t *out)
{
    size_t p = 0;
    out[p++] = (uint8_t)(pref >> 8);
    out[p++] = (uint8_t)pref;
    if (strcmp(name, ".") != 0) {
        const char *s = name;
        while (*s) {
            const char *dot = strchr(s, '.');
            size_t n = dot ? (size_t)(dot - s) : strlen(s);
            out[p++] = (uint8_t)n;
            memcpy(out + p, s, n);
            p += n;
            s += n + (dot ? 1 : 0);
        }
    }
    out[p++] = 0;
    return p;
}

/* Checks the character and length promises of a parsed name. */
static void fuzz_check_name(const char *name, size_t namelen)
{
    size_t len = strnlen(name, namelen);
    if (len >= namelen || len > MX_NAME_MAX || len == 0)
        __builtin_trap();
    if (strcmp(name, ".") == 0)
        return;
    if (name[0] == '.' || name[len - 1] == '.' || strstr(name, ".."))
        __builtin_trap();
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
            __builtin_trap();
    }
}

/* Compares the re-encoded name with the input, ignoring ASCII case. */
static void fuzz_check_roundtrip(const uint8_t *data, size_t size, uint16_t pref, const char *name)
{
    uint8_t enc[300];
    size_t n = fuzz_encode(pref, name, enc);
    if (n != size)
        __builtin_trap();
    for (size_t i = 0; i < n; i++) {
        uint8_t a = data[i], b = enc[i];
        if (i >= 2 && a >= 'A' && a <= 'Z')
            a = (uint8_t)(a - 'A' + 'a');
        if (a != b)
            __builtin_trap();
    }
}

/* Deterministic source for mx_order(). */
static uint32_t fuzz_rnd(void *arg)
{
    uint32_t *s = arg;
    *s = *s * 1103515245u + 12345u;
    return *s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char name[MX_NAME_MAX + 1];
    uint16_t pref = 0;
    if (mx_rdata_parse(data, size, &pref, name, sizeof name) == 0) {
        fuzz_check_name(name, sizeof name);
        fuzz_check_roundtrip(data, size, pref, name);
        struct mx_host h[2] = {{.name = name, .pref = pref}, {.name = (char *)"b", .pref = 1}};
        uint32_t seed = (uint32_t)size;
        mx_order(h, 2, fuzz_rnd, &seed);
        char key[MX_NAME_MAX + 32];
        if (mx_key(h, 2, key, sizeof key) < 0)
            __builtin_trap();
    }
    /* a small output buffer must fail cleanly or fit */
    size_t small = size ? (size_t)(data[size - 1] % 16) : 0;
    char tiny[16];
    if (mx_rdata_parse(data, size, &pref, tiny, small) == 0)
        fuzz_check_name(tiny, small);
    return 0;
}
