/* keys: the key set and synchronous signing (contract in dkim.h; the worker thread is
 * signer.c).
 *
 * A key set owns the header lists, the canonicalization and the keys of the dkim.sign
 * entries, each read from its PEM file once and checked: rsa-sha256 needs an RSA key of at
 * least 2048 bits (RFC 8301), ed25519-sha256 an Ed25519 key (RFC 8463). sign.c makes the
 * signatures (with OpenSSL: it says why not libopendkim). The set is read-only once
 * loaded, so the worker thread uses it without a lock.
 *
 * The From domain: the message must have exactly one From: field naming exactly one
 * address (RFC 6376 §5.4 signs From; a message with two From fields is not signed, as
 * OpenDKIM refuses it). An entry matches when the domain equals one of its from_domains
 * globs (case-insensitive), or its domain when it has none. */
#include "dkim/dkim.h"

#include <fnmatch.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "conf/conf.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "dkim/dkim_int.h"
#include "proto/hdr.h"

enum { DKIM_DOMAIN_MAX = 256 };

struct dkim_key {
    char *domain;
    char *selector;
    EVP_PKEY *pk;
    unsigned alg;
    char **from; /* globs, lower-case; none: domain */
    size_t nfrom;
};

struct dkim_keys {
    struct dkim_key *keys;
    size_t nkeys;
    char **signhdrs; /* NULL-terminated copies handed to the library */
    char **oversign;
    unsigned canon; /* enum dkim_canon */
};

/* A NULL-terminated copy of n strings. */
static char **dkim_strv(char *const *v, size_t n)
{
    char **out = xcalloc(n + 1, sizeof *out);
    for (size_t i = 0; i < n; i++)
        out[i] = xstrdup(v[i]);
    return out;
}

static void dkim_strv_free(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

/* Reads the PEM key of entry e into k->pk and checks it fits the algorithm. */
static int dkim_key_read(struct dkim_key *k, const struct dkim_sign_conf *e, char *err,
                         size_t errlen)
{
    FILE *f = fopen(e->key_file, "r");
    if (!f) {
        snprintf(err, errlen, "dkim key %s: cannot open: %m", e->key_file);
        return -1;
    }
    EVP_PKEY *pk = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    const char *bad = NULL;
    if (!pk)
        bad = "not a PEM private key";
    else if (e->algorithm == DKIM_ALG_RSA_SHA256 && EVP_PKEY_id(pk) != EVP_PKEY_RSA)
        bad = "rsa-sha256 needs an RSA key";
    else if (e->algorithm == DKIM_ALG_RSA_SHA256 && EVP_PKEY_get_bits(pk) < 2048)
        bad = "RSA keys under 2048 bits are refused (RFC 8301)";
    else if (e->algorithm == DKIM_ALG_RSA_SHA256 && EVP_PKEY_get_size(pk) > DKIM_SIG_MAX)
        bad = "RSA keys over 8192 bits are refused";
    else if (e->algorithm == DKIM_ALG_ED25519_SHA256 && EVP_PKEY_id(pk) != EVP_PKEY_ED25519)
        bad = "ed25519-sha256 needs an Ed25519 key";
    if (bad) {
        EVP_PKEY_free(pk);
        snprintf(err, errlen, "dkim key %s: %s", e->key_file, bad);
        return -1;
    }
    k->pk = pk;
    return 0;
}

struct dkim_keys *dkim_keys_load(const struct conf *c, char *err, size_t errlen)
{
    struct dkim_keys *k = xcalloc(1, sizeof *k);
    k->canon = c->dkim.canon & 3;
    k->signhdrs = dkim_strv(c->dkim.headers, c->dkim.nheaders);
    k->oversign = dkim_strv(c->dkim.oversign, c->dkim.noversign);
    k->keys = xcalloc(c->dkim.nsign ? c->dkim.nsign : 1, sizeof *k->keys);
    for (size_t i = 0; i < c->dkim.nsign; i++) {
        const struct dkim_sign_conf *e = &c->dkim.sign[i];
        struct dkim_key *key = &k->keys[k->nkeys++];
        key->domain = xstrdup(e->domain);
        key->selector = xstrdup(e->selector);
        key->alg = e->algorithm;
        key->from = dkim_strv(e->from_domains, e->nfrom_domains);
        key->nfrom = e->nfrom_domains;
        if (dkim_key_read(key, e, err, errlen) < 0)
            goto fail;
    }
    return k;
fail:
    dkim_keys_free(k);
    return NULL;
}

void dkim_keys_free(struct dkim_keys *k)
{
    if (!k)
        return;
    for (size_t i = 0; i < k->nkeys; i++) {
        struct dkim_key *key = &k->keys[i];
        free(key->domain);
        free(key->selector);
        dkim_strv_free(key->from);
        EVP_PKEY_free(key->pk);
    }
    free(k->keys);
    dkim_strv_free(k->signhdrs);
    dkim_strv_free(k->oversign);
    free(k);
}

struct dkim_from {
    char domain[DKIM_DOMAIN_MAX];
    int naddrs;
};

/* hdr_addrlist callback: keeps the domain of the (first) address. */
static void dkim_on_addr(void *arg, const char *addr)
{
    struct dkim_from *f = arg;
    const char *at = strrchr(addr, '@');
    if (f->naddrs++ == 0 && at && strlen(at + 1) < sizeof f->domain)
        snprintf(f->domain, sizeof f->domain, "%s", at + 1);
}

/* The domain of the one address of the one From: field, lower-case; NULL (why set) else. */
static const char *dkim_from_domain(const char *msg, size_t len, struct dkim_from *f,
                                    const char **why)
{
    struct hdr_field fld;
    size_t off = 0, used;
    int nfrom = 0;
    char *value = NULL;
    while (off < HDR_SCAN_MAX && (used = hdr_next(msg, len, off, &fld)) > 0) {
        if (fld.namelen == 4 && strncasecmp(fld.name, "From", 4) == 0 && nfrom++ == 0) {
            value = xmalloc(HDR_FIELD_MAX);
            hdr_value(&fld, value, HDR_FIELD_MAX);
        }
        off += used;
    }
    memset(f, 0, sizeof *f);
    if (nfrom == 1)
        hdr_addrlist(value, dkim_on_addr, f);
    free(value);
    *why = nfrom == 0       ? "no From: field"
           : nfrom > 1      ? "more than one From: field"
           : f->naddrs != 1 ? "From: names no single address"
                            : NULL;
    if (*why)
        return NULL;
    for (char *p = f->domain; *p; p++)
        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
    return f->domain;
}

/* True when entry key signs mail from domain. */
static bool dkim_key_matches(const struct dkim_key *key, const char *domain)
{
    if (key->nfrom == 0)
        return strcasecmp(key->domain, domain) == 0;
    for (size_t i = 0; i < key->nfrom; i++)
        if (fnmatch(key->from[i], domain, FNM_CASEFOLD) == 0)
            return true;
    return false;
}

/* One signature of msg with key (sign.c): appends it to *hdrs. */
static int dkim_sign_one(struct dkim_keys *k, const struct dkim_key *key, const char *msg,
                         size_t len, char **hdrs, size_t *hlen, char *why, size_t whylen)
{
    static const char *const canon[] = {"relaxed/relaxed", "relaxed/simple", "simple/relaxed",
                                        "simple/simple"};
    struct dkim_sign_args a = {.key = key->pk,
                               .ed25519 = key->alg == DKIM_ALG_ED25519_SHA256,
                               .domain = key->domain,
                               .selector = key->selector,
                               .canon_text = canon[k->canon],
                               .header_relaxed = k->canon <= DKIM_CANON_RELAXED_SIMPLE,
                               .body_relaxed = k->canon == DKIM_CANON_RELAXED_RELAXED ||
                                               k->canon == DKIM_CANON_SIMPLE_RELAXED,
                               .signhdrs = k->signhdrs,
                               .oversign = k->oversign,
                               .now = (int64_t)time(NULL)};
    struct dkim_buf b = {.p = *hdrs, .len = *hlen, .cap = *hlen};
    int rc = dkim_openssl_sign(&a, msg, len, &b);
    *hdrs = b.p;
    *hlen = b.len;
    if (rc < 0)
        snprintf(why, whylen, "d=%s s=%s: the signature failed (OpenSSL)", key->domain,
                 key->selector);
    return rc;
}

int dkim_keys_sign(struct dkim_keys *k, const char *msg, size_t len, char **out, size_t *outlen,
                   char *why, size_t whylen)
{
    struct dkim_from f;
    const char *reason = NULL, *domain = dkim_from_domain(msg, len, &f, &reason);
    char *hdrs = NULL;
    size_t hlen = 0;
    int n = 0;
    *out = NULL;
    *outlen = 0;
    if (!domain) {
        snprintf(why, whylen, "%s", reason);
        return 0;
    }
    for (size_t i = 0; i < k->nkeys; i++) {
        if (!dkim_key_matches(&k->keys[i], domain))
            continue;
        if (dkim_sign_one(k, &k->keys[i], msg, len, &hdrs, &hlen, why, whylen) < 0) {
            free(hdrs);
            return -1;
        }
        n++;
    }
    if (n == 0) {
        snprintf(why, whylen, "no dkim.sign entry for From: domain %s", domain);
        return 0;
    }
    *out = xrealloc(hdrs, hlen + len);
    memcpy(*out + hlen, msg, len);
    *outlen = hlen + len;
    return n;
}
