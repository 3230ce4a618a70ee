/* helper: the privileged half of local delivery (OpenSMTPD's parent process, Postfix's
 * local(8) running as root). helper_start() forks it while the daemon is still root, BEFORE
 * main drops privileges; the daemon keeps only its end of a SOCK_SEQPACKET socketpair.
 *
 * Protocol (one datagram each way; the daemon's side is local/local.c):
 *   request  struct helper_req + the message content as a file descriptor (SCM_RIGHTS: a
 *            memfd holding the content with Return-Path: and Delivered-To: prepended, CRLF)
 *   reply    struct helper_rep: the request's id, OUTCOME_*, and a reason with its RFC 3463
 *            code ("2.0.0 delivered to maildir", "4.3.0 ...", "5.2.2 mailbox full").
 * For each request the helper forks a child which switches to the recipient's uid/gid
 * (initgroups, setgid, setuid: as `user`, looked up in the password database) BEFORE it opens
 * anything, performs the delivery, sends the reply itself and exits 0. A child that dies
 * another way is answered by the helper with 4.3.0 (never lost). The helper never writes a
 * user's file. It exits when the daemon's end closes. uid 0 is never delivered to (root's
 * mail needs an alias, as Postfix's default_privs). */
#ifndef SLUICE_LOCAL_HELPER_H
#define SLUICE_LOCAL_HELPER_H
#include <stdint.h>
#include <sys/types.h>

#define HELPER_USER_MAX 64
#define HELPER_PATH_MAX 1024
#define HELPER_TEXT_MAX 512

enum helper_kind { HELPER_MAILDIR, HELPER_MBOX, HELPER_FILE, HELPER_PIPE };

struct helper_req {
    uint64_t id;
    uint32_t kind;                 /* enum helper_kind */
    char user[HELPER_USER_MAX];    /* run as this user */
    char target[HELPER_PATH_MAX];  /* MAILDIR: relative to home; MBOX: spool dir; FILE: path;
                                      PIPE: the command (sh -c) */
    char sender[HELPER_TEXT_MAX];  /* envelope sender ("" null: MAILER-DAEMON in From_) */
    uint64_t timeout_ms;           /* PIPE */
    uint64_t size_limit;           /* MBOX, FILE: 0 = none */
};

struct helper_rep {
    uint64_t id;
    int32_t outcome; /* enum outcome */
    char text[HELPER_TEXT_MAX];
};

/* Forks the helper; returns the daemon's socket (close-on-exec), or -1. */
int helper_start(void);
#endif
