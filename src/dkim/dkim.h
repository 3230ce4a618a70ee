/* dkim: DKIM signing of accepted messages (RFC 6376; Ed25519 per RFC 8463) with OpenSSL;
 * docs/dkim.md. The dkim.sign entries whose From domains match the message's one From:
 * domain each add a DKIM-Signature field at the top of the message (several entries: several
 * signatures, e.g. RSA and Ed25519 of the same domain). Header list, oversigned fields and
 * canonicalization come from dkim.headers, dkim.oversign and dkim.canonicalization.
 *
 * Keys: a key set (the keys read from their files, checked against their algorithm: RSA of
 * at least 2048 bits for rsa-sha256, Ed25519 for ed25519-sha256) is built by dkim_signer_create()
 * and again by dkim_signer_reload() (SIGHUP: rotated key files); a failed reload keeps the current
 * set. A job holds the set it started with, so a reload never changes a signature half-way.
 *
 * Signing costs an RSA private-key operation (~0.3 ms for 2048 bits here) plus hashing the
 * whole message: it runs on one worker thread, never on the event loop. dkim_signer_submit()
 * takes the message, the worker signs it, and done() runs on the loop with the message
 * (signed, or unchanged when no entry matched or signing failed: mail is never refused or
 * lost because of DKIM; the log says why). dkim_signer_free() joins the worker and gives every job
 * still pending its done() with the message unchanged.
 *
 * dkim_keys_sign() is the same signing, synchronous, for `sluice submit` (its own process).
 * Errors: dkim_signer_create()/dkim_signer_reload()/dkim_keys_load() return NULL/-1 with a message
 * in err. */
#ifndef SLUICE_DKIM_H
#define SLUICE_DKIM_H
#include <stddef.h>

struct conf;
struct event_base;
struct dkim_signer;
struct dkim_keys;

/* Called on the loop: msg (len bytes, owned by the callee now) signed or unchanged. */
typedef void (*dkim_done_fn)(void *arg, char *msg, size_t len);

/* Reads and checks every key of c->dkim.sign. NULL with a message in err on failure. */
struct dkim_keys *dkim_keys_load(const struct conf *c, char *err, size_t errlen);
void dkim_keys_free(struct dkim_keys *k);
/* Signs msg (header block then body, CRLF line ends) with every matching entry: returns
 * the number of signatures and sets *out to a new buffer (the DKIM-Signature fields, then
 * the message; *outlen its length), or 0 with *out NULL when none applies (reason in why),
 * or -1 with the error in why. */
int dkim_keys_sign(struct dkim_keys *k, const char *msg, size_t len, char **out, size_t *outlen,
                   char *why, size_t whylen);

/* Loads the keys and starts the worker. NULL with a message in err on failure. */
struct dkim_signer *dkim_signer_create(struct event_base *base, const struct conf *c, char *err,
                                       size_t errlen);
/* Reads the keys of c again (c may be a new configuration); -1 keeps the current ones. */
int dkim_signer_reload(struct dkim_signer *d, const struct conf *c, char *err, size_t errlen);
/* Queues msg (len bytes; ownership passes) for signing; label (copied) names it in logs. */
void dkim_signer_submit(struct dkim_signer *d, const char *label, char *msg, size_t len,
                        dkim_done_fn done, void *arg);
/* Stops the worker; pending jobs get done() with their message unchanged. NULL is fine. */
void dkim_signer_free(struct dkim_signer *d);
#endif
