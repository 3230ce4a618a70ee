/* helper: the privileged delivery process; see helper.h for the protocol and contract.
 * The children run mailbox.c's writers after dropping to the recipient. */
#include "local/helper.h"

#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "local/mailbox.h"
#include "proto/reply.h"

#define HELPER_MAX_CHILDREN 256

struct helper_child {
    pid_t pid;
    uint64_t id;
};

/* Sends one reply datagram on fd. */
static void helper_reply(int fd, uint64_t id, enum outcome o, const char *text)
{
    struct helper_rep rep;
    memset(&rep, 0, sizeof rep);
    rep.id = id;
    rep.outcome = (int32_t)o;
    snprintf(rep.text, sizeof rep.text, "%s", text);
    while (send(fd, &rep, sizeof rep, MSG_NOSIGNAL) < 0 && errno == EINTR)
        ;
}

/* Receives one request with its content fd. 1, 0 at EOF, -1 on a malformed datagram. */
static int helper_recv(int fd, struct helper_req *req, int *content)
{
    char cbuf[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {req, sizeof *req};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
                        .msg_controllen = sizeof cbuf};
    ssize_t n;
    while ((n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
        ;
    if (n <= 0)
        return 0;
    *content = -1;
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
        memcpy(content, CMSG_DATA(cm), sizeof(int));
    if ((size_t)n != sizeof *req || *content < 0)
        return -1;
    req->user[HELPER_USER_MAX - 1] = req->target[HELPER_PATH_MAX - 1] = '\0';
    req->sender[HELPER_TEXT_MAX - 1] = '\0';
    return 1;
}

/* In the child: becomes the recipient, then delivers. Never returns. */
static void helper_child_run(int fd, const struct helper_req *req, int content)
{
    char text[HELPER_TEXT_MAX];
    struct passwd *pw = getpwnam(req->user);
    if (!pw) {
        helper_reply(fd, req->id, OUTCOME_PERMFAIL, "5.1.1 no such user");
        _exit(0);
    }
    if (pw->pw_uid == 0) {
        helper_reply(fd, req->id, OUTCOME_PERMFAIL,
                     "5.7.1 no delivery as root (alias root to a user)");
        _exit(0);
    }
    if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 ||
        setuid(pw->pw_uid) < 0 || setuid(0) == 0) {
        helper_reply(fd, req->id, OUTCOME_TEMPFAIL, "4.3.0 cannot switch to the recipient");
        _exit(0);
    }
    enum outcome o = mailbox_deliver(req, pw->pw_dir, content, fd, text, sizeof text);
    helper_reply(fd, req->id, o, text);
    _exit(0);
}

/* Reaps finished children; a child that did not exit 0 never replied: 4.3.0. */
static void helper_reap(int fd, struct helper_child *kids, size_t *nkids)
{
    int st;
    pid_t pid;
    while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
        for (size_t i = 0; i < *nkids; i++) {
            if (kids[i].pid != pid)
                continue;
            if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
                helper_reply(fd, kids[i].id, OUTCOME_TEMPFAIL,
                             "4.3.0 local delivery process died");
            kids[i] = kids[--*nkids];
            break;
        }
    }
}

/* The helper's loop: one child per request, at most HELPER_MAX_CHILDREN at once. */
static void helper_loop(int fd)
{
    struct helper_child kids[HELPER_MAX_CHILDREN];
    size_t nkids = 0;
    for (;;) {
        helper_reap(fd, kids, &nkids);
        struct pollfd p = {fd, nkids < HELPER_MAX_CHILDREN ? POLLIN : 0, 0};
        if (poll(&p, 1, 100) <= 0)
            continue;
        if (p.revents & (POLLHUP | POLLERR) && !(p.revents & POLLIN))
            break;
        struct helper_req req;
        int content;
        int rc = helper_recv(fd, &req, &content);
        if (rc == 0)
            break;
        if (rc < 0) {
            if (content >= 0)
                close(content);
            continue;
        }
        pid_t pid = fork();
        if (pid == 0)
            helper_child_run(fd, &req, content);
        if (pid < 0)
            helper_reply(fd, req.id, OUTCOME_TEMPFAIL, "4.3.0 cannot fork");
        else
            kids[nkids++] = (struct helper_child){pid, req.id};
        close(content);
    }
    while (nkids > 0 && waitpid(-1, NULL, 0) > 0)
        nkids--;
    _exit(0);
}

/* Forks the helper; see helper.h. */
int helper_start(void)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(sv[0]);
        close(sv[1]);
        return -1;
    }
    if (pid == 0) {
        close(sv[0]);
        signal(SIGPIPE, SIG_IGN);
        signal(SIGTERM, SIG_IGN); /* ends when the daemon's end closes */
        signal(SIGINT, SIG_IGN);
        helper_loop(sv[1]);
    }
    close(sv[1]);
    return sv[0];
}
