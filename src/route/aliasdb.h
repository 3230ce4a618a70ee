/* aliasdb: an alias file compiled into an indexed map, FILE.db (one LMDB file, no lock
 * file: the map is never written in place, only replaced).
 *
 * aliasdb_compile() (`sluice newaliases`): reads FILE (at most ALIASDB_FILE_MAX bytes),
 * parses every entry with proto/aliases.h, and writes FILE.db.tmp.PID, fsyncs it and renames
 * it over FILE.db. On any error (syntax, a duplicate name, disk) nothing is renamed: the old
 * map stays whole, the temporary file is removed, and err says "FILE:LINE: message". Keys are
 * lower-cased names; values the targets, each ended by '\0'. Mode 0644. The same code
 * compiles the `virtual` and `canonical` maps (aliasdb_compile_kind).
 *
 * aliasdb_open()/aliasdb_lookup()/aliasdb_close(): the daemon's read side. lookup reopens the
 * map when FILE.db was replaced (a changed inode), so `newaliases` takes effect without a
 * restart. lookup returns 1 and the targets copied into out (NUL-separated, *outlen bytes),
 * 0 when the name has no entry (or no map exists: an alias file never compiled counts as
 * empty, with one warning), -1 on a read error (temporary). */
#ifndef SLUICE_ALIASDB_H
#define SLUICE_ALIASDB_H
#include <stddef.h>

#define ALIASDB_FILE_MAX (256u * 1024 * 1024)
#define ALIASDB_VALUE_MAX (8u * 1024 * 1024)

struct aliasdb;

/* The text format of a map file: aliases(5), or proto/addrmap.h's virtual / canonical. */
enum aliasdb_kind { ALIASDB_ALIASES, ALIASDB_VIRTUAL, ALIASDB_CANONICAL };

int aliasdb_compile(const char *path, unsigned *nentries, char *err, size_t errlen);
/* The same for a file of the given kind (virtual and canonical keys: "local@domain" or
 * "@domain", lower-cased; values: the addresses, each ended by '\0'). */
int aliasdb_compile_kind(const char *path, enum aliasdb_kind kind, unsigned *nentries,
                         char *err, size_t errlen);
struct aliasdb *aliasdb_open(const char *path);
void aliasdb_close(struct aliasdb *a);
/* name is looked up lower-cased. out is malloc'ed (caller frees) when 1 is returned. */
int aliasdb_lookup(struct aliasdb *a, const char *name, char **out, size_t *outlen);
#endif
