/* policyfile: the policy database's source lines and map records (docs/policy.md). Pure.
 * A line is "KEY ATTRIBUTE [TEXT]": blank lines and lines starting with '#' are nothing.
 * KEY: an IP address or CIDR block ("192.0.2.0/24"), a domain ("example.org"), a suffix
 * (".example.org": every name below example.org, not example.org itself), an address
 * ("user@example.org") or an address domain ("@example.org"). ATTRIBUTE: full_rights,
 * relay_target, bulk_mail, local_names, accept, reject or tempfail; TEXT (reject,
 * tempfail, bulk_mail only) is a double-quoted string or the rest of the line: 1..200
 * printable ASCII bytes. Lines have at most POLICYFILE_LINE_MAX bytes.
 * Keys are encoded for the map (policyfile_key_*): a tag byte, then the masked address
 * (I: family byte '4'/'6', prefix length byte, 4 or 16 bytes) or the lower-case name
 * (N domain, S suffix, U address, A address domain). A record's value is
 * "flags verdict text": two bytes, then the text (policyfile_value_*). */
#ifndef SLUICE_POLICYFILE_H
#define SLUICE_POLICYFILE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define POLICYFILE_LINE_MAX 1024
#define POLICYFILE_KEY_MAX 320
#define POLICYFILE_TEXT_MAX 200

enum policyfile_attr {
    POLICY_A_FULL_RIGHTS = 1,  /* flags: may relay (as trusted_networks) */
    POLICY_A_RELAY_TARGET = 2, /* flags: a domain anyone may send to (relay_domains) */
    POLICY_A_BULK_MAIL = 4,    /* flags: a bulk/spam source: refused */
    POLICY_A_LOCAL_NAMES = 8,  /* flags: a domain of this host (local_domains) */
    POLICY_A_ACCEPT = 16,      /* verdicts, one per key */
    POLICY_A_REJECT = 32,
    POLICY_A_TEMPFAIL = 64,
};

enum policyfile_verdict { POLICY_V_NONE, POLICY_V_ACCEPT, POLICY_V_REJECT, POLICY_V_TEMPFAIL };

struct policyfile_line {
    unsigned char key[POLICYFILE_KEY_MAX];
    size_t keylen;
    enum policyfile_attr attr;
    char text[POLICYFILE_TEXT_MAX + 1]; /* "" when none was given */
};

/* One record of the map: the flags of every line of the key, its verdict and text. */
struct policyfile_value {
    unsigned flags; /* POLICY_A_FULL_RIGHTS .. POLICY_A_LOCAL_NAMES */
    enum policyfile_verdict verdict;
    char text[POLICYFILE_TEXT_MAX + 1];
};

/* Parses line[0..len) (no newline). 1: an entry in *out; 0: blank or comment; -1: an error,
 * *why says what (a static string). */
int policyfile_parse(const char *line, size_t len, struct policyfile_line *out, const char **why);
/* The key of an address: family 4 or 6, addr 4/16 bytes, the first plen bits kept. Bytes. */
size_t policyfile_key_ip(int family, const uint8_t *addr, unsigned plen, unsigned char *out);
/* The key of a name: tag 'N', 'S', 'U' or 'A', name lower-cased; 0 when too long. */
size_t policyfile_key_name(char tag, const char *name, size_t len, unsigned char *out);
/* Adds the line's attribute to v; -1 (why) when v has a verdict already. */
int policyfile_value_add(struct policyfile_value *v, const struct policyfile_line *l,
                         const char **why);
/* Encodes v into out (at least 2 + POLICYFILE_TEXT_MAX bytes); the length. */
size_t policyfile_value_encode(const struct policyfile_value *v, unsigned char *out);
/* Decodes a record read from the map; -1 when it is not one this version wrote. */
int policyfile_value_decode(const unsigned char *in, size_t len, struct policyfile_value *v);
/* The attribute's name as written in files ("full_rights"). */
const char *policyfile_attr_name(enum policyfile_attr a);
#endif
