/* tools/submit.h: what the sendmail front end's files share (submit.c: reading, storing,
 * -bs, -v, the modes; submit_opts.c: the command line). Not for other tools. */
#ifndef SLUICE_TOOLS_SUBMIT_H
#define SLUICE_TOOLS_SUBMIT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"
#include "proto/addr.h"
#include "proto/esmtp.h"

/* One submission being built. */
struct submit {
    const struct conf *conf;
    char sender[ADDR_MAX + 1];
    const char *fullname; /* -F, or NULL */
    char **rcpts;
    uint8_t *notify; /* per recipient, NOTIFY_* */
    char **orcpt;    /* per recipient, "" when none */
    size_t nrcpt, cap, ncap, ocap;
    uint8_t notify_all; /* -N */
    uint32_t flags;     /* MSG_F_* (-R, -bs MAIL parameters) */
    char envid[ESMTP_ENVID_MAX + 1];
    int bad; /* a recipient was malformed */
    bool errmail;  /* -oem: a malformed recipient is stored as failed (the DSN reports it) */
    char **failed; /* those recipients, sanitised; nfailed of them */
    size_t nfailed, fcap;
    char *msg; /* CRLF-normalised input */
    size_t len;
    uint64_t id; /* the id of the last message stored */
};

/* The command line. */
struct submit_opts {
    const char *path, *from, *fullname, *dsn, *ret, *envid, *tag;
    bool t, dot_ok, verbose, queue_run, errmail, body8;
    char run_kind;         /* -qR: 'R', -qI: 'I', plain -q: 0 */
    const char *run_value; /* the domain or queue id */
    char mode; /* 'm' (deliver), 's' (SMTP), 'p' (list the queue), 'i' (newaliases) */
};

/* The name messages are prefixed with ("sendmail", "sluice submit", or -L's tag). */
extern const char *submit_who;
/* Applies -N, -R and -V to s; 0, or EX_USAGE after saying why. */
int submit_dsn_opts(struct submit *s, const struct submit_opts *o);
/* Parses the command line into o; 0, -1 after --help (exit 0), or an exit status. */
int submit_getopt(int argc, char **argv, const char *who, struct submit_opts *o);
#endif
