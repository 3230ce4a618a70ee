/* hdr: pure parsers and formatters for RFC 5322 message headers. No I/O, no clock, no globals.
 * hdr_next() walks the header block of a message one (unfolded) field at a time; the block
 * ends at the first empty line or at a line that is not a field. hdr_find() is the one
 * lookup of a field by name (Message-ID, Date, From, ...): the first such field within the
 * first HDR_SCAN_MAX bytes, its value unfolded. hdr_addrlist() splits an address-list field
 * value into addr-specs: "Name <a@b>", "a@b (comment)", groups "team: a@b, c@d;", quoted
 * display names with commas. hdr_date() is the one RFC 5322 date-time formatter (Date:,
 * Received:, DSN dates); the caller supplies the time and the zone's offset. Limits: a
 * field of at most HDR_FIELD_MAX bytes, at most HDR_ADDRS_MAX addresses per field. */
#ifndef SLUICE_HDR_H
#define SLUICE_HDR_H
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#define HDR_FIELD_MAX 65536
#define HDR_ADDRS_MAX 1000
#define HDR_SCAN_MAX 262144 /* header bytes hdr_find() looks at */
#define HDR_DATE_MAX 32     /* hdr_date() output with its NUL: "Thu, 01 Jan 1970 00:00:00 +0000" */

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
 * removed, tabs made spaces, leading and trailing blanks dropped; a value longer than
 * cap - 1 bytes is cut. Returns the length. */
size_t hdr_value(const struct hdr_field *f, char *out, size_t cap);
/* Finds the first field named name (case-insensitive, exact length) in the header block
 * that starts at msg, looking at no more than min(len, HDR_SCAN_MAX) bytes (a field that
 * starts beyond is not found; one that crosses the bound is cut there). When out is not
 * NULL, unfolds its value into out as hdr_value() does (truncated to cap - 1 bytes).
 * Returns the length written to out (0 when out is NULL), or -1 when there is no such
 * field. */
ssize_t hdr_find(const char *msg, size_t len, const char *name, char *out, size_t cap);
/* Formats the instant t (seconds since the epoch) as an RFC 5322 §3.3 date-time in the zone
 * utcoff seconds east of UTC (tm_gmtoff), e.g. "Wed, 01 May 2024 15:00:00 +0200", into buf.
 * The offset is cut to whole minutes and kept within +-99:59; the local time is kept within
 * 1970-01-01 00:00:00 .. 9999-12-31 23:59:59 (earlier or later instants print as those).
 * Returns the length (HDR_DATE_MAX - 1), or 0 with buf "" when cap < HDR_DATE_MAX. */
size_t hdr_date(time_t t, long utcoff, char *buf, size_t cap);
/* Calls fn(arg, addr) for each address in an address-list value (NUL-terminated). Addresses
 * longer than 256 bytes or with an empty side of '@' are skipped; a bare local part ("root",
 * as cron writes To:) is passed as it is for the caller to qualify. Returns the number of
 * addresses. */
int hdr_addrlist(const char *value, void (*fn)(void *arg, const char *addr), void *arg);
#endif
