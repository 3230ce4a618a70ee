/* fuzz_rules: reply rules come from the configuration and replies from the network. The
 * input is "PATTERN\nREPLY": PATTERN goes through the configuration loader as a
 * deliver.rules match (conf/ must refuse what would not compile or has back-references),
 * then rules_init() must compile every accepted rule, and rules_match() runs on REPLY (any
 * bytes, any length) at every stage, with and without the built-in rules. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "deliver/rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_PATTERN_MAX 600

/* Writes the config text for pattern p[0..n) into out (escaped); false when p cannot be
 * written as a libconfig string (a control byte). */
static bool fuzz_conf_text(const uint8_t *p, size_t n, char *out, size_t cap, bool builtin)
{
    size_t o = (size_t)snprintf(out, cap, "deliver = { builtin_rules = %s; rules = ( { match = \"",
                                builtin ? "true" : "false");
    for (size_t i = 0; i < n; i++) {
        if (p[i] < 0x20 || p[i] == 0x7f || o + 4 >= cap)
            return false;
        if (p[i] == '"' || p[i] == '\\')
            out[o++] = '\\';
        out[o++] = (char)p[i];
    }
    snprintf(out + o, cap - o, "\"; action = \"suspend\"; } ); };");
    return true;
}

/* Matches reply at every stage: a result is one of the rules. */
static void fuzz_match(const struct rules *rs, const char *reply, size_t len)
{
    for (unsigned st = RULE_AT_GREETING; st <= RULE_AT_DATA; st++) {
        const struct rules_entry *e = rules_match(rs, st, reply, len);
        if (e && (e < rs->v || e >= rs->v + rs->n))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t plen = nl ? (size_t)(nl - data) : size;
    const uint8_t *reply = nl ? nl + 1 : data + size;
    size_t rlen = size - (size_t)(reply - data);
    char text[FUZZ_PATTERN_MAX * 2 + 128], err[512];
    char *r = malloc(rlen ? rlen : 1); /* exact size: ASan sees reads past it */
    if (!r)
        return 0;
    memcpy(r, reply, rlen);
    for (int builtin = 0; builtin < 2; builtin++) {
        struct conf c;
        struct rules rs;
        conf_init(&c);
        if (plen <= FUZZ_PATTERN_MAX && fuzz_conf_text(data, plen, text, sizeof text, builtin) &&
            conf_load_text("fuzz", text, strlen(text), &c, err, sizeof err) == 0) {
            if (rules_init(&rs, &c, err, sizeof err) < 0)
                abort(); /* accepted by conf/, refused by regcomp */
            fuzz_match(&rs, r, rlen);
            rules_free(&rs);
        }
        conf_free(&c);
    }
    free(r);
    return 0;
}
