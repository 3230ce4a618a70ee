/* auth: asynchronous verification of SMTP AUTH credentials (user name and password, as the
 * server got them from PLAIN or LOGIN through proto/sasl) against one backend:
 *   file     a password file of "user:CRYPT-HASH" lines (yescrypt $y$, bcrypt $2b$,
 *            or "user:CRYPT-HASH:MORE..." with auth_conf.fields;
 *            sha512-crypt $6$ ... anything libxcrypt's crypt_rn knows), read at creation
 *            and again by auth_reload();
 *   pam      PAM (service conf->pam_service, default "smtp");
 *   pipe     an external program (ZMailer's SMTP-auth-pipe): argv[1] is the user name, the
 *            password and a LF arrive on its stdin, exit 0 accepts (see docs/auth.md);
 *   dovecot  Dovecot's auth-client socket (conf->path), spoken as Postfix does.
 * The event loop never blocks: crypt(3) and PAM run on a small pool of worker threads
 * (conf->workers), the pipe program is spawned and reaped through a pidfd, Dovecot is a
 * bufferevent. The caller must have called evthread_use_pthreads() before creating base.
 *
 * Contract:
 * - auth_verify() copies the request; its callback runs later on the loop, exactly once,
 *   never from inside auth_verify(), unless auth_cancel() or auth_free() came first (then
 *   never). The returned id (never 0) names the request for auth_cancel().
 * - AUTH_OK: the user may log in; `user` is the identity to record (the backend's canonical
 *   name: Dovecot's user=, PAM's PAM_USER, else the given name). AUTH_FAIL: bad credentials
 *   (535 5.7.8). AUTH_TEMPFAIL: the backend could not answer (454 4.7.0).
 * - `reason` is for the log only (it may tell "no such user" apart from "password
 *   mismatch"; never show it to the client). No credential ever reaches a log line or a
 *   reason.
 * - An authorization identity (PLAIN authzid) other than the user is refused (AUTH_FAIL)
 *   by file, pam and pipe; Dovecot decides it itself (master users).
 * - file: an unknown user costs one crypt_rn() of a real hash like a known one (the first
 *   entry's, or a built-in yescrypt setting for an empty file), so timing does not tell
 *   whether a user exists; hashes are compared with CRYPTO_memcmp.
 * - auth_reload() re-reads the password file (other backends: nothing to do, returns 0).
 *   On error the old table stays in force and err holds "FILE:LINE: what".
 * - auth_free() cancels every pending request (no callback), joins the workers and kills
 *   and reaps pipe children. */
#ifndef SLUICE_AUTH_H
#define SLUICE_AUTH_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct auth;

enum auth_backend { AUTH_BACKEND_FILE, AUTH_BACKEND_PAM, AUTH_BACKEND_PIPE, AUTH_BACKEND_DOVECOT };

#define AUTH_TIMEOUT_DEFAULT_MS 10000
#define AUTH_WORKERS_DEFAULT 2
#define AUTH_WORKERS_MAX 16
#define AUTH_REASON_MAX 256

/* Filled by the integrator from smtpd.auth; strings are copied by auth_create(). */
struct auth_conf {
    enum auth_backend backend;
    const char *path;        /* file: password file; pipe: program; dovecot: socket */
    const char *pam_service; /* pam: service name; NULL means "smtp" */
    const char *service;     /* dovecot: service= sent; NULL means "smtp" */
    unsigned timeout_ms;     /* pipe run time / Dovecot answer limit; 0 means the default */
    unsigned workers;        /* crypt and PAM threads; 0 means the default */
    bool fields;             /* file: a line may go on after the hash with more ':'-separated
                                fields, ignored here (the control authfile, src/ctl/) */
};

enum auth_result { AUTH_OK, AUTH_FAIL, AUTH_TEMPFAIL };

struct auth_request {
    const char *authzid;  /* PLAIN authorization identity; NULL or "" for none */
    const char *user;     /* authentication identity */
    const char *password;
    const char *client;   /* client IP address text (Dovecot rip=, PAM_RHOST, pipe env) */
    const char *local;    /* local IP address text (Dovecot lip=); may be NULL */
    bool secured;         /* the session is under TLS (Dovecot "secured") */
};

typedef void (*auth_done_fn)(void *arg, enum auth_result r, const char *user,
                             const char *reason);

/* Backend by its configuration name ("file", "pam", "pipe", "dovecot"); -1 when unknown. */
int auth_backend_parse(const char *name, enum auth_backend *b);
/* Creates the verifier; NULL with a message in err (bad path, unreadable or bad password
 * file with FILE:LINE, thread creation failure). */
struct auth *auth_create(struct event_base *base, const struct auth_conf *c, char *err,
                         size_t errlen);
/* Starts verifying r; cb(arg, ...) runs later on the loop. Returns the request id. */
uint64_t auth_verify(struct auth *a, const struct auth_request *r, auth_done_fn cb, void *arg);
/* Drops a pending request: its callback is never called. Unknown ids are ignored. */
void auth_cancel(struct auth *a, uint64_t id);
/* Re-reads the password file (file backend). 0, or -1 with err set (old table kept). */
int auth_reload(struct auth *a, char *err, size_t errlen);
/* Number of requests still pending (for tests and metrics). */
size_t auth_pending(const struct auth *a);
void auth_free(struct auth *a);
/* Text name of a result ("ok", "fail", "tempfail") for logs. */
const char *auth_result_name(enum auth_result r);
#endif
