/* policydb: the compiled policy database, an LMDB map (docs/policy.md).
 *   policydb_build()  compiles source files of "KEY ATTRIBUTE [TEXT]" lines
 *       (proto/policyfile.h) into one map: written to "<out>.tmp.<pid>", synced, then
 *       renamed over out, so a reader sees the old map or the new one, never a mix. The
 *       lines of one key merge (flags add up; one accept/reject/tempfail per key). Errors
 *       name "FILE:LINE: why"; nothing is replaced on an error.
 *   policydb_open()   maps a compiled file read-only (MDB_RDONLY|MDB_NOLOCK: it is never
 *       written in place). Lookups are memory-mapped B-tree reads: no write, no fsync, no
 *       lock; at worst a page fault on a cold page. That is why they run on the event loop.
 *   policydb_client/name/address  the most specific record of one stage:
 *       client:  the address, longest prefix first (/32 or /128 down to /0), then the
 *                verified name exactly, then its parent suffixes (".b.c" before ".c");
 *       name:    (HELO) the name exactly, then its parent suffixes;
 *       address: "user@domain", then "@domain", then the domain exactly, then its suffixes.
 *   Returns 1 with the record and its key as written in files ("192.0.2.0/24",
 *   ".example.org"), 0 when nothing matches, -1 on a map error (logged). */
#ifndef SLUICE_POLICYDB_H
#define SLUICE_POLICYDB_H
#include <stddef.h>
#include <sys/socket.h>

#include "proto/policyfile.h"

struct policydb;

struct policydb_hit {
    struct policyfile_value v;
    char key[POLICYFILE_KEY_MAX + 8]; /* the key as written in files */
};

int policydb_build(char *const *files, size_t nfiles, const char *out, char *err, size_t errlen);
struct policydb *policydb_open(const char *path, char *err, size_t errlen);
void policydb_close(struct policydb *db);
int policydb_client(struct policydb *db, const struct sockaddr *sa, const char *name,
                    struct policydb_hit *h);
int policydb_name(struct policydb *db, const char *name, struct policydb_hit *h);
int policydb_address(struct policydb *db, const char *addr, struct policydb_hit *h);
#endif
