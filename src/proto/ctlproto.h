/* ctlproto: the control channel's line protocol (docs/admin.md "Protocol"), pure: no I/O, no
 * globals, no clock. Three parsers of untrusted bytes, each with a hard size limit:
 *
 *   ctlproto_parse()       one request line: "COMMAND [ARG...]" (a final CR LF or LF is
 *                          optional), words of printable ASCII (0x21..0x7e) separated by
 *                          blanks, at most CTL_LINE_MAX bytes and CTL_WORDS_MAX words; the
 *                          command and its arguments are checked against the command's shape
 *                          (a queue id is 16 hex digits, a domain a DNS name, a pattern a glob
 *                          without blanks, --json only where a listing is printed). "auth USER
 *                          PASSWORD": the password is the rest of the line (blanks allowed).
 *   ctlproto_status()      one reply status line: "OK[ TEXT]" or "ERR REASON".
 *   ctlproto_authline()    one line of a control authfile (ZMailer's scheduler authfile):
 *                          "USER:HASH:ATTRIBUTES[:NETWORKS]", attributes a comma list of
 *                          read, queue-ops, admin (admin implies the others, queue-ops implies
 *                          read), networks the rest of the line: a comma list of CIDR blocks
 *                          (IPv6 ones keep their colons; empty: anywhere).
 *
 * A reply is a status line, then body lines, then a line "." alone; a body line that starts
 * with "." gets a second one (SMTP's dot-stuffing) so the terminator is unambiguous.
 * ctlproto_required() names the attribute a command needs. Every function returns 0, or -1
 * with a one-line reason in err (never echoing a password). */
#ifndef SLUICE_CTLPROTO_H
#define SLUICE_CTLPROTO_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/cidr.h"

#define CTL_LINE_MAX 1024   /* bytes of a request line without its CR LF */
#define CTL_WORDS_MAX 16    /* words of a request line */
#define CTL_ERR_MAX 160     /* bytes of a reason */
#define CTL_AUTH_NETS_MAX 16 /* networks of one authfile user */
#define CTL_HASH_MAX 512    /* bytes of a password hash */
#define CTL_USER_MAX 64     /* bytes of a user name */

enum ctl_cmd {
    CTL_HOLD, CTL_RELEASE, CTL_DELETE, CTL_REQUEUE, CTL_BOUNCE, /* message operations */
    CTL_PAUSE, CTL_RESUME, CTL_FORGET, CTL_FLUSH,               /* destinations */
    CTL_QUEUE, CTL_QSHAPE, CTL_SHOW, CTL_CONNS, CTL_KILL,       /* views, connections */
    CTL_STATS, CTL_RELOAD, CTL_VERSION, CTL_AUTH, CTL_QUIT,
    CTL_SUPPRESS,                                               /* the suppression list */
    CTL_NCMDS
};

/* Attributes (authfile); a command needs one of them. */
enum { CTL_A_READ = 1, CTL_A_QUEUE = 2, CTL_A_ADMIN = 4 };

/* suppress's subcommands. */
enum ctl_supp { CTL_SUPP_LIST, CTL_SUPP_EXPORT, CTL_SUPP_ADD, CTL_SUPP_REMOVE };
#define CTL_SUPP_ADDR_MAX 320 /* bytes of an address given to suppress add/remove */

/* A parsed request; the strings point into buf. */
struct ctl_req {
    char buf[CTL_LINE_MAX + 1];
    enum ctl_cmd cmd;
    bool json;
    const char *qid;    /* message operations, show: one queue id ... */
    const char *to;     /* ... or selectors (globs, lower-cased): --to, --from, --dest */
    const char *from;
    const char *dest;
    const char *domain; /* pause, resume, forget, flush (NULL: flush everything) */
    uint64_t conn;      /* kill */
    const char *user;   /* auth */
    const char *password;
    enum ctl_supp supp; /* suppress: list [--json] | export | add ADDR [REASON...] | remove ADDR */
    const char *addr;   /* suppress add/remove: the address as given (<> stripped) */
    const char *reason; /* suppress add: the rest of the line's words, blank-joined, or NULL */
};

/* Parses one request of len bytes into *r. */
int ctlproto_parse(const char *line, size_t len, struct ctl_req *r, char *err, size_t errlen);
/* The command's name ("hold"), and the attribute it needs (0 for auth, quit, version). */
const char *ctlproto_cmd_name(enum ctl_cmd c);
unsigned ctlproto_required(enum ctl_cmd c);
/* The attribute a parsed request needs: as its command's, but suppress list/export only
 * need read (add and remove need queue-ops). */
unsigned ctlproto_required_req(const struct ctl_req *r);

/* Parses a status line (without its LF): *ok, and the text after "OK " / "ERR " copied
 * (sanitized: no control bytes) into text. -1 when it is neither. */
int ctlproto_status(const char *line, size_t len, bool *ok, char *text, size_t textlen);

/* One authfile user. */
struct ctl_authuser {
    char user[CTL_USER_MAX + 1];
    char hash[CTL_HASH_MAX + 1];
    unsigned attrs; /* CTL_A_*, closed under implication */
    struct cidr nets[CTL_AUTH_NETS_MAX];
    size_t nnets; /* 0: from anywhere */
};
/* Parses one authfile line (no LF). Returns 1 and fills *u for a user, 0 for a blank or
 * comment line, -1 with the reason. The hash is only checked for shape (no blank or ':'). */
int ctlproto_authline(const char *line, size_t len, struct ctl_authuser *u, char *err,
                      size_t errlen);

/* Glob match (fnmatch-like: '*' any run, '?' one byte), ASCII case-insensitive; both
 * NUL-terminated. Iterative, no recursion, O(len(p) * len(s)) at worst. */
bool ctlproto_glob(const char *pattern, const char *s);
#endif
