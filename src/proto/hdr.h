/* hdr: pure parsers for RFC 5322 message headers, as needed by local submission (-t).
 * hdr_next() walks the header block of a message one (unfolded) field at a time; the block
 * ends at the first empty line or at a line that is not a field. hdr_addrlist() splits an
 * address-list field value into addr-specs: "Name <a@b>", "a@b (comment)", groups
 * "team: a@b, c@d;", quoted display names with commas. Limits: a field of at most
 * HDR_FIELD_MAX bytes (longer fields are returned truncated with HDR_TRUNCATED), at most
 * HDR_ADDRS_MAX addresses per field. */
#ifndef SLUICE_HDR_H
#define SLUICE_HDR_H
#include <stddef.h>
#include <sys/types.h>

#define HDR_FIELD_MAX 65536
#define HDR_ADDRS_MAX 1000

struct hdr_field {
    const char *name; /* points into the message */
    size_t namelen;
    const char *raw;  /* start of the field line(s) in the message */
    size_t rawlen;    /* whole field including its line ends */
};

/* Parses the field starting at msg[off]. Returns bytes consumed (> 0) and fills *f; 0 at
 * the end of the header block (empty line, end of input or a non-field line). */
size_t hdr_next(const char *msg, size_t len, size_t off, struct hdr_field *f);
/* Unfolds a field's value (after the colon) into out (cap bytes, NUL-terminated): line ends
 * removed, leading blanks kept as one space. Returns the length. */
size_t hdr_value(const struct hdr_field *f, char *out, size_t cap);
/* Calls fn(arg, addr) for each address in an address-list value (NUL-terminated). Addresses
 * longer than 256 bytes or without '@' are skipped. Returns the number of addresses. */
int hdr_addrlist(const char *value, void (*fn)(void *arg, const char *addr), void *arg);
#endif
