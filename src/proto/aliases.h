/* aliases: the /etc/aliases format (aliases(5), as sendmail and Postfix read it), pure.
 *
 *   # comment                     (a line whose first non-blank is '#')
 *   name: target, target, ...     name: no blanks, no ':', '#' or control bytes; any case
 *   <blank>continued targets      a line starting with a blank continues the entry
 *   targets: an address ("user", "user@domain"), "|command", "/file", ":include:/path";
 *   a target may be double-quoted ("|/usr/bin/prog -x arg", "\"quoted\"" keeps commas and
 *   blanks); targets are separated by commas (and, outside quotes, blanks around them).
 * An :include: file has the same targets without "name:" (aliases_split() on its text).
 *
 * aliases_next() reads one entry from buf at *pos (advancing it and *line): 1 and e filled
 * (pointers into buf), 0 at the end, -1 with "LINE: message" in err. Limits: an entry of at
 * most ALIASES_ENTRY_MAX bytes, a name of ALIASES_NAME_MAX, a target of ALIASES_TARGET_MAX.
 * aliases_split() calls fn for every target of value (trimmed, quotes removed into the
 * caller's buffer tmp of ALIASES_TARGET_MAX + 1 bytes): 0, or -1 with a message in err
 * (an empty target, an unterminated quote, a control byte, too long, fn's -1). No I/O, no
 * allocation, no globals: fuzzed by fuzz/fuzz_aliases.c. */
#ifndef SLUICE_ALIASES_H
#define SLUICE_ALIASES_H
#include <stddef.h>

#define ALIASES_ENTRY_MAX (1024 * 1024)
#define ALIASES_NAME_MAX 256
#define ALIASES_TARGET_MAX 1024

enum alias_kind { ALIAS_ADDRESS, ALIAS_COMMAND, ALIAS_FILE, ALIAS_INCLUDE };

struct alias_entry {
    const char *name;
    size_t namelen;
    const char *value; /* the targets, continuation lines included */
    size_t valuelen;
    unsigned line;     /* of the name */
};

int aliases_next(const char *buf, size_t len, size_t *pos, unsigned *line, struct alias_entry *e,
                 char *err, size_t errlen);
typedef int (*aliases_target_fn)(void *arg, enum alias_kind k, const char *t, size_t len);
int aliases_split(const char *value, size_t len, char *tmp, aliases_target_fn fn, void *arg,
                  char *err, size_t errlen);
/* The kind of a target as aliases_split() passes it. */
enum alias_kind aliases_kind(const char *t, size_t len);
#endif
