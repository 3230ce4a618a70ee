/* dkim_int: the contract between the files of src/dkim/ (keys.c, signer.c, sign.c) and
 * tests/unit/test_dkim.c. dkim_canon_header() and dkim_canon_body() are RFC 6376 §3.4's
 * canonicalizations, pure functions of their input; dkim_openssl_sign() makes one
 * DKIM-Signature field (sign.c says why with OpenSSL and not libopendkim). */
#ifndef SLUICE_DKIM_INT_H
#define SLUICE_DKIM_INT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

/* A growing byte buffer, NUL-terminated (p NULL while empty). */
struct dkim_buf {
    char *p;
    size_t len, cap;
};

enum { DKIM_SIG_MAX = 1024 }; /* signature bytes: RSA up to 8192 bits */

struct dkim_sign_args {
    EVP_PKEY *key;
    bool ed25519; /* ed25519-sha256, else rsa-sha256 */
    const char *domain, *selector;
    const char *canon_text; /* "relaxed/relaxed", ... */
    bool header_relaxed, body_relaxed;
    char *const *signhdrs; /* NULL-terminated, lower-case */
    char *const *oversign;
    int64_t now; /* t= */
};

void dkim_put(struct dkim_buf *b, const char *s, size_t n);
/* Appends one header field (raw, with its line ends) canonicalized: relaxed is "name:value"
 * with the name lower-cased, unfolded, blank runs made one space, blanks around the colon
 * and at the end dropped, then CRLF; simple is the field unchanged. */
void dkim_canon_header(const char *raw, size_t len, bool relaxed, struct dkim_buf *out);
/* Appends msg[off..len) (the body) canonicalized. */
void dkim_canon_body(const char *msg, size_t len, size_t off, bool relaxed, struct dkim_buf *out);
/* Appends the "DKIM-Signature: ...\r\n" field for msg to sighdr. 0, or -1 when OpenSSL
 * fails. */
int dkim_openssl_sign(const struct dkim_sign_args *a, const char *msg, size_t len,
                      struct dkim_buf *sighdr);
#endif
