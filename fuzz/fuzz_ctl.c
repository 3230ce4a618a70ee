/* fuzz_ctl: the control channel's parsers (proto/ctlproto.h) on arbitrary bytes: the first
 * byte picks request line, status line, authfile line or glob; checks the promises of a
 * successful parse (strings inside the request's buffer, NUL-terminated, no blank in a
 * word, attributes closed under implication, at most CTL_AUTH_NETS_MAX networks). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/ctlproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts unless p is NULL or a NUL-terminated string inside r->buf. */
static void check_str(const struct ctl_req *r, const char *p, int word)
{
    if (!p)
        return;
    if (p < r->buf || p >= r->buf + sizeof r->buf || !memchr(p, '\0', (size_t)(r->buf + sizeof r->buf - p)))
        abort();
    if (word && strpbrk(p, " \t"))
        abort();
}

/* A request line. */
static void fuzz_request(const char *s, size_t n)
{
    struct ctl_req r;
    char err[CTL_ERR_MAX];
    if (ctlproto_parse(s, n, &r, err, sizeof err) < 0) {
        if (!memchr(err, '\0', sizeof err))
            abort();
        return;
    }
    if ((unsigned)r.cmd >= CTL_NCMDS)
        abort();
    check_str(&r, r.qid, 1);
    check_str(&r, r.to, 1);
    check_str(&r, r.from, 1);
    check_str(&r, r.dest, 1);
    check_str(&r, r.domain, 1);
    check_str(&r, r.user, 1);
    check_str(&r, r.password, 0);
    if (r.qid && strlen(r.qid) != 16)
        abort();
    if (r.cmd == CTL_AUTH && (!r.user || !r.password || !*r.password))
        abort();
}

/* A status line. */
static void fuzz_status(const char *s, size_t n)
{
    bool ok;
    char text[64];
    if (ctlproto_status(s, n, &ok, text, sizeof text) == 0 && !memchr(text, '\0', sizeof text))
        abort();
}

/* An authfile line. */
static void fuzz_authline(const char *s, size_t n)
{
    struct ctl_authuser u;
    char err[CTL_ERR_MAX];
    int rc = ctlproto_authline(s, n, &u, err, sizeof err);
    if (rc != 1)
        return;
    if (!u.user[0] || !u.hash[0] || u.nnets > CTL_AUTH_NETS_MAX || !(u.attrs & CTL_A_READ))
        abort();
    if ((u.attrs & CTL_A_ADMIN) && !(u.attrs & CTL_A_QUEUE))
        abort();
}

/* A glob: pattern and subject split at the first NUL. */
static void fuzz_glob(const char *s, size_t n)
{
    char *buf = malloc(n + 2);
    memcpy(buf, s, n);
    buf[n] = '\0';
    buf[n + 1] = '\0';
    const char *subject = buf + strlen(buf) + 1;
    if (subject > buf + n)
        subject = buf + n;
    (void)ctlproto_glob(buf, subject);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4096)
        return 0;
    const char *s = (const char *)data + 1;
    size_t n = size - 1;
    switch (data[0] & 3) {
    case 0:
        fuzz_request(s, n);
        break;
    case 1:
        fuzz_status(s, n);
        break;
    case 2:
        fuzz_authline(s, n);
        break;
    default:
        fuzz_glob(s, n);
        break;
    }
    return 0;
}
