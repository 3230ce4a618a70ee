/* verp: variable envelope return paths (seed 001 §2.6, Postfix/qmail style). Pure.
 * With delimiters "+=", sender "list@lists.example" and recipient "joe@dom.example" give
 * the envelope sender "list+joe=dom.example@lists.example"; a bounce arriving at that
 * address names the recipient. Encoding is refused (-1: the caller keeps the plain sender)
 * for the null sender, a sender or recipient without '@', a recipient local part with a
 * quote, blank, control byte or '@', and a result over VERP_ADDR_MAX bytes. Decoding splits
 * at the last '@', then the sender's local part ends at the FIRST delimiter[0] and the
 * recipient's domain starts after the LAST delimiter[1]; so a sender local part must not
 * contain delimiter[0] (documented in docs/dsn.md). */
#ifndef SLUICE_VERP_H
#define SLUICE_VERP_H
#include <stdbool.h>
#include <stddef.h>

#define VERP_ADDR_MAX 256

/* Writes the VERP sender into out (cap >= VERP_ADDR_MAX + 1). 0, or -1 (see above). */
int verp_encode(const char *sender, const char *rcpt, const char *delims, char *out, size_t cap);
/* Decodes addr (len bytes). On success writes the recipient ("local@domain") and the
 * original sender into rcpt / sender (each cap >= VERP_ADDR_MAX + 1) and returns 0; -1
 * when addr is not a VERP address for these delimiters. */
int verp_decode(const char *addr, size_t len, const char *delims, char *rcpt, char *sender,
                size_t cap);
/* True when VERP applies to sender: on for all (all), or its domain is in domains
 * (lower-case; case-insensitive match). Never for the null sender. */
bool verp_wanted(bool all, char *const *domains, size_t ndomains, const char *sender);
#endif
