/* auth_pipe: the external-program backend (ZMailer's SMTP-auth-pipe). Interface:
 *   argv     PROGRAM USER (the authentication identity as argv[1], as ZMailer passes it)
 *   stdin    the password followed by one LF, then end of file
 *   env      only PATH=/usr/bin:/bin, AUTH_USER=USER, CLIENT_ADDRESS=IP (empty if unknown)
 *   stdout, stderr  /dev/null; no other descriptors are inherited
 *   session  a new session and process group; signals at their defaults, none blocked
 *   exit 0   accepted
 *   exit 75 (EX_TEMPFAIL) or 111 (checkpassword's temporary error)  temporary failure
 *   any other exit status  refused
 *   killed by a signal, not started, or still running after the timeout (then its process
 *   group gets SIGKILL)  temporary failure
 * A password containing a LF cannot be passed on one line and is refused without running
 * the program.
 *
 * No blocking: the child is started with posix_spawn(), its stdin is one end of a
 * socketpair written with MSG_NOSIGNAL (the at most 256 bytes fit the socket buffer, so one
 * non-blocking send writes them all), and its exit is watched through a pidfd (Linux >= 5.3)
 * in the loop, then reaped with waitpid(WNOHANG). No SIGCHLD handler is installed, so
 * other children of the process are not disturbed. At most AUTH_PIPE_MAX programs run at
 * once; further requests wait in FIFO order. A cancelled request's program is killed and
 * still reaped. auth_pipe_free() kills every child and reaps it (waitpid after SIGKILL,
 * which returns at once). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/crypto.h>

#include "auth/auth_int.h"
#include "core/log.h"
#include "core/xalloc.h"

#define AUTH_PIPE_MAX 16
#define AUTH_PIPE_EX_TEMPFAIL 75
#define AUTH_PIPE_CHECKPW_TEMPFAIL 111

struct auth_pipe_child {
    struct auth_pipe *p;
    struct auth_req *req; /* NULL once cancelled */
    pid_t pid;
    int pidfd;
    struct event *ev_exit, *ev_timeout;
    bool timed_out;
    struct auth_pipe_child *prev, *next;
};

struct auth_pipe {
    struct event_base *base;
    char *program;
    struct timeval timeout;
    struct auth_pipe_child *children;
    unsigned nchildren;
    struct auth_req **waiting; /* FIFO of requests not yet started */
    size_t nwaiting, capwaiting;
};

struct auth_pipe *auth_pipe_create(struct event_base *base, const char *program,
                                   unsigned timeout_ms, char *err, size_t errlen)
{
    if (program[0] != '/' || access(program, X_OK) < 0) {
        snprintf(err, errlen, "auth: pipe program %s: %s", program,
                 program[0] != '/' ? "not an absolute path" : strerror(errno));
        return NULL;
    }
    struct auth_pipe *p = xcalloc(1, sizeof *p);
    p->base = base;
    p->program = xstrdup(program);
    p->timeout.tv_sec = timeout_ms / 1000;
    p->timeout.tv_usec = (long)(timeout_ms % 1000) * 1000;
    return p;
}

/* Spawn attributes: new session, default signal dispositions, empty mask. */
static void auth_pipe_attr(posix_spawnattr_t *at, posix_spawn_file_actions_t *fa, int in)
{
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_init(at);
    posix_spawnattr_setflags(at, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
                                     POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setsigmask(at, &none);
    posix_spawnattr_setsigdefault(at, &all);
    posix_spawn_file_actions_init(fa);
    posix_spawn_file_actions_adddup2(fa, in, 0);
    posix_spawn_file_actions_addopen(fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(fa, 1, 2);
    posix_spawn_file_actions_addclosefrom_np(fa, 3);
}

/* Starts the program for req with its stdin at in; the pid or -1 (errno set). */
static pid_t auth_pipe_spawn(struct auth_pipe *p, struct auth_req *req, int in)
{
    char env_user[sizeof req->user + 16], env_client[sizeof req->client + 32];
    snprintf(env_user, sizeof env_user, "AUTH_USER=%s", req->user);
    snprintf(env_client, sizeof env_client, "CLIENT_ADDRESS=%s", req->client);
    char *argv[] = {p->program, req->user, NULL};
    char *envp[] = {"PATH=/usr/bin:/bin", env_user, env_client, NULL};
    posix_spawnattr_t at;
    posix_spawn_file_actions_t fa;
    auth_pipe_attr(&at, &fa, in);
    pid_t pid;
    int e = posix_spawn(&pid, p->program, &fa, &at, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    if (e != 0) {
        errno = e;
        return -1;
    }
    return pid;
}

/* Writes the password line to the child's stdin and closes our end. */
static int auth_pipe_feed(int fd, const char *password)
{
    char line[SASL_FIELD_MAX + 2];
    int n = snprintf(line, sizeof line, "%s\n", password);
    ssize_t w = send(fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
    OPENSSL_cleanse(line, sizeof line);
    close(fd);
    /* a child that exits without reading is judged by its exit status */
    return w == n || (w < 0 && (errno == EPIPE || errno == ECONNRESET)) ? 0 : -1;
}

static void auth_pipe_on_exit(evutil_socket_t fd, short what, void *arg);
static void auth_pipe_on_timeout(evutil_socket_t fd, short what, void *arg);
static void auth_pipe_next(struct auth_pipe *p);

/* Runs the program for req; finishes req with TEMPFAIL when it cannot. */
static void auth_pipe_run(struct auth_pipe *p, struct auth_req *req)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        auth_req_finish(req, AUTH_TEMPFAIL, NULL, "pipe: socketpair: %s", strerror(errno));
        return;
    }
    pid_t pid = auth_pipe_spawn(p, req, sv[1]);
    int e = errno;
    close(sv[1]);
    if (pid < 0) {
        close(sv[0]);
        auth_req_finish(req, AUTH_TEMPFAIL, NULL, "pipe: cannot run %s: %s", p->program,
                        strerror(e));
        return;
    }
    int pidfd = (int)pidfd_open(pid, 0);
    if (pidfd < 0)
        log_panic("auth: pidfd_open: %s", strerror(errno));
    (void)auth_pipe_feed(sv[0], req->password);
    struct auth_pipe_child *c = xcalloc(1, sizeof *c);
    c->p = p;
    c->req = req;
    c->pid = pid;
    c->pidfd = pidfd;
    c->ev_exit = event_new(p->base, pidfd, EV_READ, auth_pipe_on_exit, c);
    c->ev_timeout = evtimer_new(p->base, auth_pipe_on_timeout, c);
    event_add(c->ev_exit, NULL);
    event_add(c->ev_timeout, &p->timeout);
    c->next = p->children;
    if (p->children)
        p->children->prev = c;
    p->children = c;
    p->nchildren++;
    req->be = c;
}

/* Unlinks and frees a reaped child. */
static void auth_pipe_child_free(struct auth_pipe_child *c)
{
    struct auth_pipe *p = c->p;
    if (c->prev)
        c->prev->next = c->next;
    else
        p->children = c->next;
    if (c->next)
        c->next->prev = c->prev;
    p->nchildren--;
    event_free(c->ev_exit);
    event_free(c->ev_timeout);
    close(c->pidfd);
    free(c);
}

/* The outcome of an exit status. */
static void auth_pipe_report(struct auth_pipe_child *c, int st)
{
    struct auth_req *req = c->req;
    if (c->timed_out)
        auth_req_finish(req, AUTH_TEMPFAIL, NULL, "pipe: timed out");
    else if (WIFSIGNALED(st))
        auth_req_finish(req, AUTH_TEMPFAIL, NULL, "pipe: killed by signal %d", WTERMSIG(st));
    else if (WEXITSTATUS(st) == 0)
        auth_req_finish(req, AUTH_OK, NULL, "pipe: accepted");
    else if (WEXITSTATUS(st) == AUTH_PIPE_EX_TEMPFAIL ||
             WEXITSTATUS(st) == AUTH_PIPE_CHECKPW_TEMPFAIL)
        auth_req_finish(req, AUTH_TEMPFAIL, NULL, "pipe: exit %d", WEXITSTATUS(st));
    else
        auth_req_finish(req, AUTH_FAIL, NULL, "pipe: refused (exit %d)", WEXITSTATUS(st));
}

/* Loop: the child has exited; reap, report, start the next waiting request. */
static void auth_pipe_on_exit(evutil_socket_t fd, short what, void *arg)
{
    struct auth_pipe_child *c = arg;
    struct auth_pipe *p = c->p;
    (void)fd;
    (void)what;
    int st = 0;
    pid_t r;
    while ((r = waitpid(c->pid, &st, WNOHANG)) < 0 && errno == EINTR)
        ;
    if (r == 0) { /* not yet: the pidfd said readable, wait for the next wakeup */
        event_add(c->ev_exit, NULL);
        return;
    }
    if (r < 0) /* reaped elsewhere: the status is unknown */
        st = W_EXITCODE(AUTH_PIPE_EX_TEMPFAIL, 0);
    if (c->req)
        auth_pipe_report(c, st);
    auth_pipe_child_free(c);
    auth_pipe_next(p);
}

/* Loop: the program ran too long; kill its process group (the exit event follows). */
static void auth_pipe_on_timeout(evutil_socket_t fd, short what, void *arg)
{
    struct auth_pipe_child *c = arg;
    (void)fd;
    (void)what;
    c->timed_out = true;
    kill(-c->pid, SIGKILL);
}

/* Starts waiting requests while there is room. */
static void auth_pipe_next(struct auth_pipe *p)
{
    while (p->nwaiting > 0 && p->nchildren < AUTH_PIPE_MAX) {
        struct auth_req *req = p->waiting[0];
        memmove(p->waiting, p->waiting + 1, --p->nwaiting * sizeof *p->waiting);
        req->be = NULL;
        auth_pipe_run(p, req);
    }
}

void auth_pipe_start(struct auth_pipe *p, struct auth_req *req)
{
    if (strchr(req->password, '\n') || strchr(req->password, '\r')) {
        auth_req_finish(req, AUTH_FAIL, NULL, "pipe: password holds a line break");
        return;
    }
    if (p->nchildren < AUTH_PIPE_MAX) {
        auth_pipe_run(p, req);
        return;
    }
    xgrow(&p->waiting, &p->capwaiting, p->nwaiting, sizeof *p->waiting);
    p->waiting[p->nwaiting++] = req;
    req->be = p; /* marks "waiting" */
}

void auth_pipe_cancel(struct auth_pipe *p, struct auth_req *req)
{
    if (req->be == p) {
        for (size_t i = 0; i < p->nwaiting; i++) {
            if (p->waiting[i] == req) {
                memmove(p->waiting + i, p->waiting + i + 1,
                        (p->nwaiting - i - 1) * sizeof *p->waiting);
                p->nwaiting--;
                break;
            }
        }
    } else if (req->be) {
        struct auth_pipe_child *c = req->be;
        c->req = NULL;
        kill(-c->pid, SIGKILL);
    }
    req->be = NULL;
}

void auth_pipe_free(struct auth_pipe *p)
{
    if (p == NULL)
        return;
    while (p->children) {
        struct auth_pipe_child *c = p->children;
        kill(-c->pid, SIGKILL);
        while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
            ;
        auth_pipe_child_free(c);
    }
    free(p->waiting);
    free(p->program);
    free(p);
}
