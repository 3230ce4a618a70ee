/* sign: DKIM-Signature fields (RFC 6376 §3.5, §3.7) made with OpenSSL's EVP, rsa-sha256
 * and ed25519-sha256 (RFC 8463), with the canonicalizations of RFC 6376 §3.4 (dkim_int.h has
 * the contract).
 *
 * Why not libopendkim: measured with bench/micro_dkim.c (2 KB message, relaxed/relaxed,
 * this 2-core machine under load), libopendkim 2.11.0~beta2 (Debian 12) took 3.0 ms per
 * RSA-2048 signature (it parses the PEM key again for every message), this code 0.3-0.4 ms
 * (the key is parsed once per key set); and libopendkim leaks the key it loads for every
 * Ed25519 signature (~1.3 KB: dkim_free() does not free its EVP_PKEY; seen with LSan),
 * which a daemon signing millions of messages cannot afford.
 *
 * Signing: bh= is the SHA-256 of the canonicalized body; the header data are the selected
 * fields, canonicalized, in the order of h= (several instances of a name: from the bottom
 * up, as a verifier picks them; an oversigned name selects no field), then the
 * DKIM-Signature field itself with an empty b= and no final CRLF. rsa-sha256 signs that
 * data with RSASSA-PKCS1-v1_5/SHA-256; ed25519-sha256 signs its SHA-256 hash with Ed25519
 * (PureEdDSA). h= lists the selected fields in message order, then one more name per
 * oversigned field. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "core/xalloc.h"
#include "dkim/dkim_int.h"
#include "proto/hdr.h"

enum { ED_HDRS_MAX = 512 };

/* Appends n bytes to b (kept NUL-terminated). */
void dkim_put(struct dkim_buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static bool ed_wsp(char c)
{
    return c == ' ' || c == '\t';
}

/* Appends a field (raw text with its line ends) canonicalized to out. */
void dkim_canon_header(const char *raw, size_t len, bool relaxed, struct dkim_buf *out)
{
    if (!relaxed) {
        dkim_put(out, raw, len);
        return;
    }
    size_t colon = 0;
    while (colon < len && raw[colon] != ':')
        colon++;
    size_t nend = colon;
    while (nend > 0 && ed_wsp(raw[nend - 1]))
        nend--;
    for (size_t i = 0; i < nend; i++) {
        char c = raw[i];
        c = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
        dkim_put(out, &c, 1);
    }
    dkim_put(out, ":", 1);
    bool space = false, started = false;
    for (size_t i = colon + 1; i < len; i++) {
        char c = raw[i];
        if (c == '\r' || c == '\n')
            continue;
        if (ed_wsp(c)) {
            space = started;
            continue;
        }
        if (space)
            dkim_put(out, " ", 1);
        space = false;
        started = true;
        dkim_put(out, &c, 1);
    }
    dkim_put(out, "\r\n", 2);
}

/* True when the line msg[off..end) is empty once canonicalized. */
static bool ed_blank(const char *msg, size_t off, size_t end, bool relaxed)
{
    for (size_t i = off; i < end; i++)
        if (!relaxed || !ed_wsp(msg[i]))
            return false;
    return true;
}

/* The body from offset off canonicalized (relaxed or simple) into out: relaxed turns runs
 * of blanks into one space and drops them at line ends; both drop the empty lines at the
 * end; every line ends with CRLF. */
void dkim_canon_body(const char *msg, size_t len, size_t off, bool relaxed, struct dkim_buf *out)
{
    size_t empty = 0, start = out->len; /* empty lines held back until a non-empty one */
    while (off < len) {
        const char *nl = memchr(msg + off, '\n', len - off);
        size_t end = nl ? (size_t)(nl - msg) : len, next = nl ? end + 1 : len;
        if (end > off && msg[end - 1] == '\r')
            end--;
        if (ed_blank(msg, off, end, relaxed)) {
            empty++;
            off = next;
            continue;
        }
        for (; empty > 0; empty--)
            dkim_put(out, "\r\n", 2);
        if (!relaxed)
            dkim_put(out, msg + off, end - off);
        for (size_t i = off; relaxed && i < end;) { /* a run of text, then one of blanks */
            size_t j = i;
            while (j < end && !ed_wsp(msg[j]))
                j++;
            dkim_put(out, msg + i, j - i);
            for (i = j; i < end && ed_wsp(msg[i]); i++)
                ;
            if (i > j && i < end)
                dkim_put(out, " ", 1);
        }
        dkim_put(out, "\r\n", 2);
        off = next;
    }
    if (out->len == start && !relaxed)
        dkim_put(out, "\r\n", 2); /* RFC 6376 3.4.3: an empty body is one CRLF */
}

/* Base64 of n bytes into a new string. */
static char *ed_b64(const unsigned char *p, size_t n)
{
    char *s = xmalloc(4 * ((n + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)s, p, (int)n);
    return s;
}

/* SHA-256 of n bytes. */
static void ed_sha256(const char *p, size_t n, unsigned char md[32])
{
    unsigned int mdlen = 32;
    EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL);
}

/* True when name (namelen bytes) is in the NULL-terminated list v (lower-case). */
static bool ed_in(char *const *v, const char *name, size_t namelen)
{
    for (size_t i = 0; v && v[i]; i++)
        if (strlen(v[i]) == namelen && strncasecmp(v[i], name, namelen) == 0)
            return true;
    return false;
}

/* The fields of the header block; returns their count and the body offset. */
static size_t ed_fields(const char *msg, size_t len, struct hdr_field *f, size_t *body)
{
    size_t off = 0, used, n = 0;
    while (n < ED_HDRS_MAX && (used = hdr_next(msg, len, off, &f[n])) > 0) {
        off += used;
        n++;
    }
    if (off + 1 < len && msg[off] == '\r' && msg[off + 1] == '\n')
        off += 2;
    else if (off < len && msg[off] == '\n')
        off += 1;
    *body = off;
    return n;
}

/* Hashes the fields named by h= (bottom-up per name) canonicalized into out. */
static void ed_hash_fields(const struct hdr_field *f, size_t n, char **names, size_t nnames,
                           bool relaxed, struct dkim_buf *out)
{
    bool *used = xcalloc(n ? n : 1, sizeof *used);
    for (size_t k = 0; k < nnames; k++) {
        size_t nl = strlen(names[k]);
        for (size_t i = n; i-- > 0;) {
            if (!used[i] && f[i].namelen == nl && strncasecmp(f[i].name, names[k], nl) == 0) {
                used[i] = true;
                dkim_canon_header(f[i].raw, f[i].rawlen, relaxed, out);
                break;
            }
        }
    }
    free(used);
}

/* The signature of the header data: RSASSA-PKCS1-v1_5 with SHA-256 over the data
 * (rsa-sha256), or Ed25519 over its SHA-256 hash (RFC 8463 3). 1 on success. */
static int dkim_sig(const struct dkim_sign_args *a, const char *data, size_t len,
                    unsigned char *sig, size_t *siglen)
{
    unsigned char md[32];
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok;
    if (a->ed25519) {
        ed_sha256(data, len, md);
        ok = ctx && EVP_DigestSignInit(ctx, NULL, NULL, NULL, a->key) == 1 &&
             EVP_DigestSign(ctx, sig, siglen, md, sizeof md) == 1;
    } else {
        ok = ctx && EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, a->key) == 1 &&
             EVP_DigestSign(ctx, sig, siglen, (const unsigned char *)data, len) == 1;
    }
    EVP_MD_CTX_free(ctx);
    return ok;
}

int dkim_openssl_sign(const struct dkim_sign_args *a, const char *msg, size_t len,
                      struct dkim_buf *sighdr)
{
    struct hdr_field *f = xcalloc(ED_HDRS_MAX, sizeof *f);
    size_t body, n = ed_fields(msg, len, f, &body), nnames = 0;
    char **names = xcalloc(n + 64, sizeof *names);
    struct dkim_buf h = {0}, canon = {0}, tags = {0};
    for (size_t i = 0; i < n; i++)
        if (ed_in(a->signhdrs, f[i].name, f[i].namelen))
            names[nnames++] = xstrndup(f[i].name, f[i].namelen);
    for (size_t i = 0; a->oversign && a->oversign[i] && nnames < n + 64; i++)
        if (ed_in(a->signhdrs, a->oversign[i], strlen(a->oversign[i])))
            names[nnames++] = xstrdup(a->oversign[i]);
    for (size_t i = 0; i < nnames; i++) {
        dkim_put(&h, i ? ":" : "", i ? 1 : 0);
        dkim_put(&h, names[i], strlen(names[i]));
    }
    unsigned char md[32], sig[DKIM_SIG_MAX];
    dkim_canon_body(msg, len, body, a->body_relaxed, &canon);
    ed_sha256(canon.p ? canon.p : "", canon.len, md);
    char *bh = ed_b64(md, 32), t[32];
    snprintf(t, sizeof t, "%lld", (long long)a->now);
    const char *parts[] = {"DKIM-Signature: v=1; a=",
                           a->ed25519 ? "ed25519-sha256" : "rsa-sha256",
                           "; c=",
                           a->canon_text,
                           "; d=",
                           a->domain,
                           "; s=",
                           a->selector,
                           ";\r\n\tt=",
                           t,
                           "; h=",
                           h.p ? h.p : "",
                           ";\r\n\tbh=",
                           bh,
                           ";\r\n\tb="};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        dkim_put(&tags, parts[i], strlen(parts[i]));
    canon.len = 0;
    ed_hash_fields(f, n, names, nnames, a->header_relaxed, &canon);
    dkim_canon_header(tags.p, tags.len, a->header_relaxed, &canon);
    if (a->header_relaxed)
        canon.len -= 2; /* the signature field is hashed without its final CRLF */
    size_t siglen = sizeof sig;
    int ok = dkim_sig(a, canon.p, canon.len, sig, &siglen);
    if (ok) {
        char *b = ed_b64(sig, siglen);
        dkim_put(sighdr, tags.p, tags.len);
        dkim_put(sighdr, b, strlen(b));
        dkim_put(sighdr, "\r\n", 2);
        free(b);
    }
    for (size_t i = 0; i < nnames; i++)
        free(names[i]);
    free(names);
    free(f);
    free(bh);
    free(h.p);
    free(canon.p);
    free(tags.p);
    return ok ? 0 : -1;
}
