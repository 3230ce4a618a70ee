/* suppress: the suppression list (docs/dkim.md, "Suppression list"): recipients that
 * hard-bounced, recorded durably with the time and the reply, so that later mail to them
 * fails at once (no connection) for `suppression.duration`.
 *
 * Store: its own LMDB environment, <spool>/suppress.mdb (one file, MDB_NOSUBDIR, 4 GiB sparse
 * map, MDB_NOTLS), one database: key the address lower-cased, value the time it was
 * recorded (8 bytes, ms since the epoch, little-endian) then the reason (the reply text, at
 * most SUPPRESS_REASON_MAX bytes). LMDB is multi-process safe: `sluice suppress` edits the
 * list while the daemon runs, and the daemon sees the change at its next lookup.
 *
 * The daemon (suppress_open with base): lookups run on the loop (a read transaction on the
 * memory map, no I/O on a warm map: about a microsecond, bench/micro_suppress.c); additions
 * (suppress_note_bounce) go to a writer thread that commits everything waiting in one
 * transaction, so the loop never waits for the disk. The tools open it without base: every
 * write is a synchronous transaction.
 * Contracts: addresses are "local@domain" (at most SUPPRESS_ADDR_MAX bytes); an entry is
 * active while recorded + duration > now. Functions returning int give 0 (or 1 = found) and
 * -1 with the LMDB error logged (daemon) or in err (tools). */
#ifndef SLUICE_SUPPRESS_H
#define SLUICE_SUPPRESS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { SUPPRESS_ADDR_MAX = 320, SUPPRESS_REASON_MAX = 512 };

struct conf;
struct event_base;
struct suppress;

struct suppress_entry {
    char addr[SUPPRESS_ADDR_MAX + 1];
    int64_t at; /* ms since the epoch */
    char reason[SUPPRESS_REASON_MAX + 1];
};

/* Opens (creating) <spool>/suppress.mdb. base non-NULL: the daemon (writer thread). */
struct suppress *suppress_open(const char *spool, struct event_base *base, char *err,
                               size_t errlen);
/* Commits what waits and closes. NULL is fine. */
void suppress_close(struct suppress *s);
/* 1 and *e filled when addr is recorded and active at now for duration ms, 0 when not,
 * -1 on a store error (the caller goes on as if not). */
int suppress_find(struct suppress *s, const char *addr, int64_t now, uint64_t duration,
                  struct suppress_entry *e);
/* Records addr at time at with reason (replacing an entry). Daemon: queued for the writer
 * thread; tools: committed before it returns. */
int suppress_add(struct suppress *s, const char *addr, int64_t at, const char *reason);
/* Removes addr: 1 removed, 0 there was none, -1 error (synchronous). */
int suppress_remove(struct suppress *s, const char *addr);
/* Daemon only (opened with base): an operator's edit, run by the writer thread in its own
 * transaction, in the order given: add (addr at time at with reason) or remove. done runs
 * on the loop once it is committed, with rc as suppress_add / suppress_remove give it
 * (add: 0 or -1; remove: 1, 0 absent, -1). -1 at once (done not called) for a bad address
 * or a store opened without base. */
typedef void (*suppress_done_fn)(void *arg, int rc);
int suppress_edit(struct suppress *s, bool add, const char *addr, int64_t at,
                  const char *reason, suppress_done_fn done, void *arg);
/* Calls fn for every entry, in address order; stops early when fn returns non-zero. */
int suppress_walk(struct suppress *s, int (*fn)(void *arg, const struct suppress_entry *e),
                  void *arg);
/* The daemon's rule for a final failure of addr with reply (the text the log and the DSN
 * show): recorded when suppression is enabled, the reply's enhanced status (status_of)
 * matches one of suppression.codes and addr is not active already (its first bounce keeps
 * its date). Returns true when recorded. */
bool suppress_note_bounce(struct suppress *s, const struct conf *c, const char *addr,
                          const char *reply, int64_t now);
#endif
