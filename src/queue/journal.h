/* queue journal: the write-ahead log that makes an accepted message durable with one device
 * sync (docs/design.md, "Durability"). Only src/queue/ includes this header.
 *
 * File <spool>/queue.journal, preallocated (JOURNAL_PREALLOC bytes of zeros written once, so
 * overwriting it changes no file-system metadata and fdatasync is one device flush; on a
 * file system without that much room it grows by appending instead, which is slower). Records
 * are written from offset 0 after each checkpoint, one group of records per write, then one
 * fdatasync. A record (little-endian):
 *   magic u32 "SQJ1" | crc u32 | len u32 | flags u8 | type u8 | zero u16 | lsn u64 | payload
 * crc = CRC-32C over the 16 bytes after it and the payload. LSNs (log sequence numbers) grow
 * by one per record and never repeat, checkpoints included, so stale records further in the
 * file (lower LSNs) can never continue the current run. JOURNAL_F_END marks the last record
 * of a group (one write transaction): replay applies whole groups only.
 *
 * Pure functions (no I/O, fuzzed by fuzz/fuzz_journal.c):
 *   journal_rec_parse(p, n, r)  one record: bytes consumed (> 0), 0 when p holds less than a
 *                               whole record (a torn tail), -1 when it is not a valid record
 *   journal_scan(buf, n, fn, arg, out)  walks records from offset 0 and calls fn for every
 *                               complete group; stops, never fails, at the first record that
 *                               is torn, invalid, out of LSN sequence, or at the end;
 *                               fn returning -1 stops it too (the return is then -1)
 *   journal_op_encode(op, out, cap)  the payload of a struct queue_op: its size (out NULL to
 *                               size it); journal_op_decode(type, p, n, op) fills a zeroed
 *                               op with what it owns (queue_op_free frees it); -1 when the
 *                               payload is malformed (op left empty)
 *   journal_rec_seal(out, lsn, flags, type, len)  writes the header of the record whose
 *                               payload is already at out + JOURNAL_HDR
 * File (writer thread only): journal_open (creating and preallocating), journal_load (the
 * whole file into memory), journal_write (at the end, then fdatasync unless sync is 0: the
 * records then become durable with the next synced write; 0, or -1 with errno),
 * journal_reset (the next write goes to offset 0), journal_close. */
#ifndef SLUICE_QUEUE_JOURNAL_H
#define SLUICE_QUEUE_JOURNAL_H
#include <stddef.h>
#include <stdint.h>

#include "queue/internal.h"

#define JOURNAL_MAGIC 0x314A5153u /* "SQJ1" read as little-endian */
#define JOURNAL_HDR 24
#define JOURNAL_PAYLOAD_MAX ((size_t)1 << 30)
#define JOURNAL_F_END 0x01
#define JOURNAL_PREALLOC ((size_t)2 << 20)
#define JOURNAL_CHECKPOINT ((size_t)1 << 20) /* checkpoint once a run is this long */
#define JOURNAL_STR_MAX 65536                 /* parent address and reply of an expansion */

struct journal_rec {
    uint64_t lsn;
    uint8_t flags;
    uint8_t type; /* enum queue_op_type */
    const uint8_t *payload;
    size_t len;
};

/* What journal_scan found: bytes of complete groups, groups passed to fn, the last LSN of
 * the last complete group and the highest LSN of any valid record (0: none). */
struct journal_scan {
    size_t good;
    size_t groups;
    uint64_t last_lsn;
    uint64_t max_lsn;
};

typedef int (*journal_group_fn)(void *arg, const struct journal_rec *recs, size_t n);

long journal_rec_parse(const uint8_t *p, size_t n, struct journal_rec *r);
int journal_scan(const uint8_t *buf, size_t n, journal_group_fn fn, void *arg,
                 struct journal_scan *out);
size_t journal_op_encode(const struct queue_op *op, uint8_t *out, size_t cap);
int journal_op_decode(uint8_t type, const uint8_t *p, size_t n, struct queue_op *op);
void journal_rec_seal(uint8_t *out, uint64_t lsn, uint8_t flags, uint8_t type, size_t len);

struct journal;
struct journal *journal_open(const char *spool, char *err, size_t errlen);
int journal_load(struct journal *j, uint8_t **buf, size_t *len);
int journal_write(struct journal *j, const uint8_t *buf, size_t len, int sync);
/* Syncs what unsynced writes left (nothing to do: 0); 0, or -1 with errno. */
int journal_sync(struct journal *j);
void journal_reset(struct journal *j);
/* Bytes written since the last reset. */
size_t journal_used(const struct journal *j);
void journal_close(struct journal *j);
#endif
