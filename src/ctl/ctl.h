/* ctl: the daemon's control channel (docs/admin.md): ZMailer's authenticated scheduler
 * interface over the line protocol of proto/ctlproto.h.
 *
 * Listeners (ctl_create, before the privileges go):
 *  - the UNIX socket ctl.socket (default SPOOL/ctl.sock, mode 0660, given to the daemon's
 *    user): a client is admitted by its peer credentials (SO_PEERCRED): uid 0, the
 *    daemon's uid, or the daemon's gid as primary group; it may run every command;
 *  - TCP ctl.listen (optional, needs ctl.authfile): the first request must be
 *    "auth USER PASSWORD"; the user must be in the authfile, connect from one of its
 *    networks and give the password of its crypt hash (verified by src/auth's file backend
 *    on its worker threads: the loop never blocks); then it may run the commands its
 *    attributes allow (read / queue-ops / admin).
 *  - the showq socket SPOOL/showq.sock, only when mailq_users = "all" (mode 0666 inside
 *    the spool, which only the group sluicedrop may enter): one request, "showq [--json]",
 *    answered with the queue listing of Postfix's mailq; no other command exists there.
 * Anything refused (credentials, network, password, attribute, malformed or oversized
 * request) gets "ERR reason" and a warning in the log; a line over the limit, or three bad
 * passwords, also ends the connection. A connection runs one request at a time; replies
 * to queue operations are sent once their writes are durable.
 *
 * `suppress list|export|add|remove` reads and edits the suppression list (suppress.h): the
 * edits are committed by its writer thread and answered once durable.
 * Requests act through sched.h (message operations, pause, views), deliver.h (connections,
 * dead state) and the reload callback the integrator gives (what SIGHUP does). */
#ifndef SLUICE_CTL_H
#define SLUICE_CTL_H
#include <stddef.h>

struct conf;
struct ctl;
struct deliver;
struct event_base;
struct queue;
struct sched;
struct suppress;

struct ctl_env {
    struct event_base *base;
    const struct conf *conf;
    struct queue *q;
    struct sched *sched;
    struct deliver *dl;
    struct suppress *suppress; /* the suppression list (suppression.enabled), or NULL */
    /* `ctl reload`: the daemon's reload (as SIGHUP); 0, or -1 when refused; msg says which */
    int (*reload)(void *arg, char *msg, size_t msglen);
    void *reload_arg;
    const char *version;
};

/* Binds the listeners (env is copied). NULL with a message in err. */
struct ctl *ctl_create(const struct ctl_env *env, char *err, size_t errlen);
/* Closes listeners and connections and removes the socket file. */
void ctl_free(struct ctl *c);
/* The control socket's path for c: ctl.socket, else SPOOL/ctl.sock; buf is returned. */
const char *ctl_socket_path(const struct conf *c, char *buf, size_t len);
/* The showq socket's path for c: SPOOL/showq.sock; buf is returned. */
const char *ctl_showq_path(const struct conf *c, char *buf, size_t len);
#endif
