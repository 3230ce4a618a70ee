/* forward: ~/.forward read as the user, with ownership and mode checks. See forward.h. */
#include "local/forward.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Why st (of what) may not be trusted, or NULL when it may. */
static const char *forward_distrust(const struct stat *st, uid_t uid, const char *what,
                                    char *why, size_t whylen)
{
    if (st->st_uid != uid && st->st_uid != 0) {
        snprintf(why, whylen, "ignored: %s is owned by uid %u, not by the user",
                 what, (unsigned)st->st_uid);
        return why;
    }
    if (st->st_mode & (S_IWGRP | S_IWOTH)) {
        snprintf(why, whylen, "ignored: %s is group or world writable", what);
        return why;
    }
    return NULL;
}

/* Copies fd (at most FORWARD_MAX bytes, known size) to out. 0 or -1 with errno. */
static int forward_copy(int fd, int out, size_t size)
{
    char buf[FORWARD_MAX];
    size_t got = 0;
    while (got < size) {
        ssize_t n = read(fd, buf + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* shrank meanwhile: what was read */
        got += (size_t)n;
    }
    return pwrite(out, buf, got, 0) == (ssize_t)got ? 0 : -1;
}

/* Reads home/.forward into out after the checks; see forward.h. */
enum outcome forward_read(const char *home, uid_t uid, int out, char *text, size_t textlen)
{
    char path[4200];
    struct stat hs, st;
    snprintf(path, sizeof path, "%s/.forward", home);
    if (stat(home, &hs) < 0) {
        snprintf(text, textlen, "none");
        return OUTCOME_OK;
    }
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            snprintf(text, textlen, "none");
        else if (errno == ELOOP)
            snprintf(text, textlen, "ignored: .forward is a symbolic link");
        else if (errno == EACCES)
            snprintf(text, textlen, "ignored: .forward is not readable by the user");
        else {
            snprintf(text, textlen, "4.3.0 cannot open .forward: %s", strerror(errno));
            return OUTCOME_TEMPFAIL;
        }
        return OUTCOME_OK;
    }
    enum outcome o = OUTCOME_OK;
    if (fstat(fd, &st) < 0) {
        snprintf(text, textlen, "4.3.0 cannot stat .forward: %s", strerror(errno));
        o = OUTCOME_TEMPFAIL;
    } else if (!S_ISREG(st.st_mode)) {
        snprintf(text, textlen, "ignored: .forward is not a regular file");
    } else if (forward_distrust(&hs, uid, "the home directory", text, textlen) ||
               forward_distrust(&st, uid, ".forward", text, textlen)) {
        /* text says why */
    } else if (st.st_size > FORWARD_MAX) {
        snprintf(text, textlen, "ignored: .forward is larger than %d bytes", FORWARD_MAX);
    } else if (forward_copy(fd, out, (size_t)st.st_size) < 0) {
        snprintf(text, textlen, "4.3.0 cannot read .forward: %s", strerror(errno));
        o = OUTCOME_TEMPFAIL;
    } else {
        snprintf(text, textlen, "forward");
    }
    close(fd);
    return o;
}
