/* test_smtpd: the inbound server over real loopback sockets with a real queue.
 * Each scenario starts smtpd on 127.0.0.1 (or ::1) with a fresh spool, runs a scripted
 * client in a thread with blocking sockets while the event loop runs in the main thread,
 * then checks the exact reply transcript (queue ids shown as "QID"), the queue contents
 * read back with queue_scan/queue_body (Received header, unstuffed content, envelope) and
 * the accepted() calls. The loop stops once the client is done and no session is left. */
#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <lmdb.h>

#include "conf/conf.h"
#include "core/qid.h"
#include "core/xalloc.h"
#include "proto/cidr.h"
#include "queue/queue.h"
#include "smtpd/session.h"
#include "smtpd/smtpd.h"

#define HOST "mx.test"
#define GREET "220 " HOST " ESMTP sluice\r\n"
#define EHLO_CAPS(size)                                                                            \
    "250-" HOST "\r\n250-PIPELINING\r\n250-SIZE " size "\r\n250-8BITMIME\r\n"                      \
    "250-ENHANCEDSTATUSCODES\r\n250-DSN\r\n250-CHUNKING\r\n250-SMTPUTF8\r\n250-ETRN\r\n"             \
    "250-DELIVERBY 60\r\n250 HELP\r\n"
#define EHLO_R EHLO_CAPS("100000")
#define OK_MAIL "250 2.1.0 Ok\r\n"
#define OK_RCPT "250 2.1.5 Ok\r\n"
#define GO_DATA "354 End data with <CR><LF>.<CR><LF>\r\n"
#define QUEUED "250 2.0.0 Ok: queued as QID\r\n"
#define BYE "221 2.0.0 Bye\r\n"
#define X10(s) s s s s s s s s s s
#define LINE50 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n" /* 48 + CRLF */
#define BODY1000 X10(LINE50 LINE50)                                   /* exactly 1000 bytes */

static const int64_t TEST_DEADLINE_MS = 30000;
static const int CLIENT_WAIT_MS = 15000;

enum { STEP_SHUTWR = 1, STEP_CLOSE = 2, STEP_PAUSE = 4 };

/* One client action: send (len 0 = strlen), then read `replies` complete replies. */
struct step {
    const char *send;
    size_t len;
    int replies;
    int flags;
};

struct scenario {
    const char *name;
    bool untrusted;    /* trusted_networks empty */
    uint64_t max_size; /* 0: 100000 */
    bool v6;           /* listen and connect on ::1 */
    bool small_rcvbuf; /* the client's receive buffer is 4 KiB (server output backs up) */
    struct step steps[16];
    const char *want; /* the whole transcript the client receives, QIDs as "QID" */
    int nmsgs;        /* messages in the queue afterwards (all accepted()); -1: any */
    /* the first message: */
    const char *sender;
    const char *rcpts; /* comma-separated; NULL: only nrcpt is checked */
    unsigned nrcpt;
    const char *helo;
    const char *with;    /* "ESMTP" or "SMTP" */
    const char *content; /* after the Received header */
    size_t content_len;  /* 0 = strlen */
    void (*tweak)(struct conf *c); /* configuration changes, may be NULL */
    const char *dsn;  /* the first message's DSN/flags summary (see dsn_summary), or NULL */
    const char *etrn; /* the ETRN callbacks, "domain" / "@domain" joined by ' ', or NULL */
    const char *rcvd_comment; /* Received comment lines before "\tby" (AUTH), or NULL */
};

struct client {
    const struct scenario *sc;
    uint16_t port;
    char *got;
    size_t gotlen, gotcap, scan;
    atomic_int complete;
    char err[160];
    atomic_int done;
};

struct got_msg {
    uint64_t id;
    char *sender, *client_ip, *helo;
    uint64_t size;
    uint32_t flags;
    int64_t arrival, deliver_by;
    char *envid;
    uint32_t nrcpt;
    struct qrcpt *rcpts;
    char *body;
    size_t bodylen;
};

struct harness {
    struct event_base *base;
    struct queue *q;
    struct smtpd *sd;
    struct conf conf;
    char *listen[1];
    char listenbuf[64];
    struct cidr trusted[2];
    struct conf defaults; /* conf_init(); h->conf shares its smtpd strings */
    char spool[64];
    struct event *tick;
    struct client *cl;
    int64_t deadline;
    int64_t deadline_mark;
    bool timed_out;
    int naccepted;
    char etrn[300]; /* last ETRN callback: "domain" or "@domain" */
    int netrn;
    uint64_t accepted_ids[4];
    struct got_msg msgs[4];
    int nmsgs;
};

/* ---- the client thread ---- */

/* Appends received bytes and counts the replies completed so far. */
static void client_take(struct client *c, const char *p, size_t n)
{
    if (c->gotlen + n + 1 > c->gotcap) {
        c->gotcap = (c->gotlen + n + 1) * 2;
        c->got = xrealloc(c->got, c->gotcap);
    }
    memcpy(c->got + c->gotlen, p, n);
    c->gotlen += n;
    c->got[c->gotlen] = '\0';
    for (;;) {
        char *eol = memmem(c->got + c->scan, c->gotlen - c->scan, "\r\n", 2);
        if (!eol)
            break;
        size_t len = (size_t)(eol - (c->got + c->scan));
        if (len == 3 || (len > 3 && c->got[c->scan + 3] == ' '))
            c->complete++;
        c->scan += len + 2;
    }
}

/* Reads once (waiting at most CLIENT_WAIT_MS). 1 data, 0 EOF, -1 error/timeout. */
static int client_read(struct client *c, int fd)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    char buf[65536];
    if (poll(&pfd, 1, CLIENT_WAIT_MS) <= 0) {
        snprintf(c->err, sizeof c->err, "timeout after %d replies", c->complete);
        return -1;
    }
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == ECONNRESET)
        return 0;
    if (n < 0) {
        snprintf(c->err, sizeof c->err, "read: %s", strerror(errno));
        return -1;
    }
    client_take(c, buf, (size_t)n);
    return n > 0;
}

/* Sends everything, reading replies meanwhile (RFC 2920 §3.1: a pipelining client must
 * not block on writes while the server's replies back up). 0 or -1. */
static int client_write(struct client *c, int fd, const char *p, size_t n)
{
    while (n > 0) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN | POLLOUT};
        if (poll(&pfd, 1, CLIENT_WAIT_MS) <= 0) {
            snprintf(c->err, sizeof c->err, "timeout while writing");
            return -1;
        }
        if ((pfd.revents & POLLIN) && client_read(c, fd) < 0)
            return -1;
        if (!(pfd.revents & (POLLOUT | POLLERR | POLLHUP)))
            continue;
        ssize_t w = send(fd, p, n, MSG_DONTWAIT);
        if (w < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (w < 0) {
            snprintf(c->err, sizeof c->err, "write: %s", strerror(errno));
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Connects to the server. The fd or -1. */
static int client_connect(struct client *c)
{
    struct sockaddr_storage ss;
    socklen_t len;
    cidr_sockaddr_parse(c->sc->v6 ? "::1" : "127.0.0.1", c->port, &ss, &len);
    int fd = socket(ss.ss_family, SOCK_STREAM, 0);
    int small = 4096;
    if (fd >= 0 && c->sc->small_rcvbuf)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    if (fd < 0 || connect(fd, (struct sockaddr *)&ss, len) < 0) {
        snprintf(c->err, sizeof c->err, "connect: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* Runs the steps of one step list; returns the fd still open, or -1. */
static int client_steps(struct client *c, int fd)
{
    int want = 0;
    for (const struct step *st = c->sc->steps; st->send || st->replies; st++) {
        if (st->flags & STEP_PAUSE)
            usleep(50000);
        if (st->send && client_write(c, fd, st->send, st->len ? st->len : strlen(st->send)) < 0)
            return fd;
        if (st->flags & STEP_SHUTWR)
            shutdown(fd, SHUT_WR);
        if (st->flags & STEP_CLOSE) {
            close(fd);
            return -1;
        }
        want += st->replies;
        while (c->complete < want) {
            if (client_read(c, fd) <= 0) {
                if (!c->err[0])
                    snprintf(c->err, sizeof c->err, "EOF after %d replies", c->complete);
                return fd;
            }
        }
    }
    return fd;
}

/* Thread body: connect, run the steps, then read whatever comes until the server closes. */
static void *client_main(void *arg)
{
    struct client *c = arg;
    int fd = client_connect(c);
    if (fd >= 0)
        fd = client_steps(c, fd);
    if (fd >= 0) {
        while (!c->err[0] && client_read(c, fd) > 0)
            ;
        close(fd);
    }
    atomic_store(&c->done, 1);
    return NULL;
}

/* ---- the server side ---- */

/* Finds a free loopback port (v4 or v6). */
static uint16_t free_port(bool v6)
{
    struct sockaddr_storage ss;
    socklen_t len;
    assert_int_equal(cidr_sockaddr_parse(v6 ? "::1" : "127.0.0.1", 0, &ss, &len), 0);
    int fd = socket(ss.ss_family, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&ss, len), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
    close(fd);
    return ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                          : ((struct sockaddr_in *)&ss)->sin_port);
}

/* accepted(): remembers the ids handed to the scheduler. */
static void on_accepted(void *arg, const struct qmsg *m)
{
    struct harness *h = arg;
    if (h->naccepted < 4)
        h->accepted_ids[h->naccepted] = m->id;
    h->naccepted++;
}

/* ETRN callback: records the domain. */
static void on_etrn(void *arg, const char *domain, bool sub)
{
    struct harness *h = arg;
    size_t o = strlen(h->etrn);
    snprintf(h->etrn + o, sizeof h->etrn - o, "%s%s%s", o ? " " : "", sub ? "@" : "", domain);
    h->netrn++;
}

/* Periodic check: stop once the client is done and every session is gone, or too late. */
static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct harness *h = arg;
    (void)fd;
    (void)what;
    if (atomic_load(&h->cl->done) && smtpd_sessions(h->sd) == 0)
        event_base_loopbreak(h->base);
    else if (clock_mono_ms() > h->deadline) {
        h->timed_out = true;
        event_base_loopbreak(h->base);
    }
}

/* Creates the event base, a fresh spool with its queue, and the configuration. */
static void harness_open(struct harness *h, const struct scenario *sc, uint16_t port)
{
    char err[256] = "";
    memset(h, 0, sizeof *h);
    h->base = event_base_new();
    assert_non_null(h->base);
    snprintf(h->spool, sizeof h->spool, "/tmp/test_smtpd.XXXXXX");
    assert_non_null(mkdtemp(h->spool));
    h->q = queue_open(h->spool, h->base, err, sizeof err);
    if (!h->q)
        fail_msg("queue_open: %s", err);
    conf_init(&h->defaults);
    h->conf.smtpd = h->defaults.smtpd;
    h->conf.hostname = HOST;
    h->conf.spool = h->spool;
    snprintf(h->listenbuf, sizeof h->listenbuf, sc->v6 ? "[::1]:%u" : "127.0.0.1:%u", port);
    h->listen[0] = h->listenbuf;
    h->conf.smtpd.listen = h->listen;
    h->conf.smtpd.nlisten = 1;
    assert_int_equal(cidr_parse("127.0.0.0/8", 11, &h->trusted[0]), 0);
    assert_int_equal(cidr_parse("::1/128", 7, &h->trusted[1]), 0);
    h->conf.smtpd.trusted_networks = sc->untrusted ? NULL : h->trusted;
    h->conf.smtpd.ntrusted_networks = sc->untrusted ? 0 : 2;
    h->conf.smtpd.max_message_size = sc->max_size ? sc->max_size : 100000;
    h->conf.smtpd.max_recipients = 1000;
    h->conf.smtpd.max_error_recipients = 1000;
    if (sc->tweak)
        sc->tweak(&h->conf);
}

/* Removes one spool entry (nftw callback). */
static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Frees what queue_scan copied. */
static void got_msg_free(struct got_msg *g)
{
    free(g->sender);
    free(g->client_ip);
    free(g->helo);
    free(g->envid);
    for (uint32_t i = 0; i < g->nrcpt; i++) {
        free(g->rcpts[i].addr);
        free(g->rcpts[i].last_reply);
        free(g->rcpts[i].orcpt);
    }
    free(g->rcpts);
    free(g->body);
}

/* Closes the queue and removes the spool. */
static void harness_close(struct harness *h)
{
    for (int i = 0; i < h->nmsgs && i < 4; i++)
        got_msg_free(&h->msgs[i]);
    if (h->tick)
        event_free(h->tick);
    queue_close(h->q);
    event_base_free(h->base);
    conf_free(&h->defaults);
    nftw(h->spool, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* queue_scan callback: copies the message. */
static int scan_one(void *arg, const struct qmsg *m)
{
    struct harness *h = arg;
    if (h->nmsgs < 4) {
        struct got_msg *g = &h->msgs[h->nmsgs];
        g->id = m->id;
        g->sender = xstrdup(m->sender);
        g->client_ip = xstrdup(m->client_ip);
        g->helo = xstrdup(m->helo);
        g->size = m->size;
        g->flags = m->flags;
        g->arrival = m->arrival;
        g->deliver_by = m->deliver_by;
        g->envid = xstrdup(m->envid ? m->envid : "");
        g->nrcpt = m->nrcpt;
        g->rcpts = xcalloc(m->nrcpt + 1, sizeof *g->rcpts);
        for (uint32_t i = 0; i < m->nrcpt; i++) {
            g->rcpts[i] = m->rcpts[i];
            g->rcpts[i].addr = xstrdup(m->rcpts[i].addr);
            g->rcpts[i].last_reply = xstrdup(m->rcpts[i].last_reply);
            g->rcpts[i].orcpt = xstrdup(m->rcpts[i].orcpt ? m->rcpts[i].orcpt : "");
        }
    }
    h->nmsgs++;
    return 0;
}

/* Barrier callback of harness_read_queue. */
static void on_visible(void *arg, int err)
{
    (void)err;
    *(int *)arg = 1;
}

/* Reads every message and its content back from the queue. */
static void harness_read_queue(struct harness *h)
{
    int seen = 0; /* a 250 means durable; a barrier waits until queue_scan sees it too */
    if (h->tick)
        event_del(h->tick); /* the run is over: only the queue's completion may run now */
    queue_barrier(h->q, on_visible, &seen);
    while (!seen)
        event_base_loop(h->base, EVLOOP_ONCE);
    assert_int_equal(queue_scan(h->q, scan_one, h), 0);
    for (int i = 0; i < h->nmsgs && i < 4; i++) {
        struct evbuffer *b = evbuffer_new();
        assert_int_equal(queue_body(h->q, h->msgs[i].id, b), 0);
        h->msgs[i].bodylen = evbuffer_get_length(b);
        h->msgs[i].body = xmalloc(h->msgs[i].bodylen + 1);
        evbuffer_remove(b, h->msgs[i].body, h->msgs[i].bodylen);
        h->msgs[i].body[h->msgs[i].bodylen] = '\0';
        evbuffer_free(b);
    }
}

/* Runs the client against a server until both are finished. */
static void harness_run(struct harness *h, struct client *cl, uint16_t port)
{
    char err[256] = "";
    h->sd = smtpd_create(h->base, &h->conf, h->q, on_accepted, h, err, sizeof err);
    if (!h->sd)
        fail_msg("smtpd_create: %s", err);
    smtpd_set_etrn(h->sd, on_etrn, h);
    smtpd_set_version(h->sd, "9.9");
    cl->port = port;
    h->cl = cl;
    h->deadline = clock_mono_ms() + TEST_DEADLINE_MS;
    h->tick = event_new(h->base, -1, EV_PERSIST, on_tick, h);
    struct timeval tv = {0, 5000};
    event_add(h->tick, &tv);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, client_main, cl), 0);
    event_base_dispatch(h->base);
    pthread_join(t, NULL);
    size_t left = smtpd_sessions(h->sd);
    smtpd_free(h->sd);
    h->sd = NULL;
    if (h->timed_out)
        fail_msg("timed out: client done %d, sessions %zu, error \"%s\"", atomic_load(&cl->done),
                 left, cl->err);
}

/* ---- checks ---- */

/* Shows CR and LF visibly, shortening long text. */
static void show(char *dst, size_t cap, const char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 8 < cap; i++) {
        if (s[i] == '\r')
            o += (size_t)snprintf(dst + o, cap - o, "\\r");
        else if (s[i] == '\n')
            o += (size_t)snprintf(dst + o, cap - o, "\\n\n");
        else
            dst[o++] = s[i];
    }
    if (o + 8 >= cap)
        o += (size_t)snprintf(dst + o, cap - o, "...");
    dst[o] = '\0';
}

/* Compares bytes, printing both when they differ. */
static void expect_bytes(const char *name, const char *what, const char *got, size_t gotlen,
                         const char *want, size_t wantlen)
{
    if (gotlen == wantlen && memcmp(got, want, gotlen) == 0)
        return;
    static char g[8192], w[8192];
    show(g, sizeof g, got, gotlen);
    show(w, sizeof w, want, wantlen);
    fail_msg("%s: %s: got (%zu bytes)\n%s\nwant (%zu bytes)\n%s", name, what, gotlen, g, wantlen,
             w);
}

/* Replaces each 16-hex-digit id after "queued as " with "QID" (in place), collecting ids. */
static size_t mask_qids(char *t, size_t len, uint64_t *ids, int *nids)
{
    static const char k[] = "queued as ";
    size_t o = 0;
    *nids = 0;
    for (size_t i = 0; i < len;) {
        if (len - i >= sizeof k - 1 + QID_TEXT_LEN && memcmp(t + i, k, sizeof k - 1) == 0) {
            char hex[QID_TEXT_LEN + 1];
            memcpy(hex, t + i + sizeof k - 1, QID_TEXT_LEN);
            hex[QID_TEXT_LEN] = '\0';
            uint64_t id = 0;
            if (qid_from_text(hex, &id) == 0 && *nids < 4)
                ids[(*nids)++] = id;
            memcpy(t + o, "queued as QID", 13);
            o += 13;
            i += sizeof k - 1 + QID_TEXT_LEN;
        } else {
            t[o++] = t[i++];
        }
    }
    t[o] = '\0';
    return o;
}

/* Checks the Received header at the start of g's content; returns the content after it. */
static const char *check_received(const struct scenario *sc, const struct got_msg *g)
{
    char want[1024], qid[QID_TEXT_LEN + 1];
    qid_to_text(g->id, qid);
    int n = snprintf(want, sizeof want,
                     "Received: from %s (unknown [%s%s])\r\n%s\tby " HOST " (sluice) with %s id %s",
                     sc->helo, sc->v6 ? "IPv6:" : "", sc->v6 ? "::1" : "127.0.0.1",
                     sc->rcvd_comment ? sc->rcvd_comment : "", sc->with, qid);
    if (g->nrcpt == 1)
        n += snprintf(want + n, sizeof want - (size_t)n, "\r\n\tfor <%s>", g->rcpts[0].addr);
    n += snprintf(want + n, sizeof want - (size_t)n, "; ");
    if (g->bodylen < (size_t)n || memcmp(g->body, want, (size_t)n) != 0)
        expect_bytes(sc->name, "Received header", g->body, g->bodylen < 300 ? g->bodylen : 300,
                     want, (size_t)n);
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = strptime(g->body + n, "%a, %d %b %Y %H:%M:%S %z", &tm);
    if (!end || strncmp(end, "\r\n", 2) != 0)
        fail_msg("%s: Received date: got \"%.40s\", want an RFC 5322 date then CRLF", sc->name,
                 g->body + n);
    return end + 2;
}

/* Checks the envelope of the first queued message against the scenario. */
static void check_envelope(const struct scenario *sc, const struct got_msg *g)
{
    char rcpts[4096] = "";
    size_t o = 0;
    assert_string_equal(g->sender, sc->sender);
    assert_string_equal(g->client_ip, sc->v6 ? "::1" : "127.0.0.1");
    assert_string_equal(g->helo, sc->helo);
    assert_int_equal(g->size, g->bodylen);
    for (uint32_t i = 0; i < g->nrcpt; i++) {
        if (o < sizeof rcpts)
            o += (size_t)snprintf(rcpts + o, sizeof rcpts - o, "%s%s", i ? "," : "",
                                  g->rcpts[i].addr);
        assert_int_equal(g->rcpts[i].state, RCPT_PENDING);
        assert_int_equal(g->rcpts[i].attempts, 0);
        assert_int_equal(g->rcpts[i].next_attempt, 0);
        assert_string_equal(g->rcpts[i].last_reply, "");
    }
    if (sc->rcpts)
        assert_string_equal(rcpts, sc->rcpts);
    if (sc->nrcpt)
        assert_int_equal(g->nrcpt, sc->nrcpt);
}

/* Compares the first message's flags, ENVID, DELIVERBY and recipients' NOTIFY/ORCPT with
 * sc->dsn: "flags=F envid=E by=SECONDS rcpts=NOTIFY:ORCPT,..." */
static void check_dsn(const struct scenario *sc, const struct got_msg *g)
{
    char got[2048];
    int n = snprintf(got, sizeof got, "flags=%u envid=%s by=%lld rcpts=", (unsigned)g->flags,
                     g->envid, g->deliver_by ? (long long)(g->deliver_by - g->arrival) / 1000 : 0);
    for (uint32_t i = 0; i < g->nrcpt && n > 0 && (size_t)n < sizeof got; i++)
        n += snprintf(got + n, sizeof got - (size_t)n, "%s%u:%s", i ? "," : "",
                      (unsigned)g->rcpts[i].notify, g->rcpts[i].orcpt);
    if (strcmp(got, sc->dsn) != 0)
        fail_msg("%s: DSN summary: got \"%s\", want \"%s\"", sc->name, got, sc->dsn);
}

/* Runs one scenario and checks transcript, queue and accepted() calls. */
static void run_scenario(const struct scenario *sc)
{
    struct harness h;
    struct client cl;
    uint16_t port = free_port(sc->v6);
    memset(&cl, 0, sizeof cl);
    cl.sc = sc;
    harness_open(&h, sc, port);
    harness_run(&h, &cl, port);
    if (cl.err[0] && sc->want) {
        static char shown[8192];
        show(shown, sizeof shown, cl.got ? cl.got : "", cl.gotlen);
        free(cl.got);
        fail_msg("%s: client: %s; got so far:\n%s", sc->name, cl.err, shown);
    }
    if (sc->etrn)
        assert_string_equal(h.etrn, sc->etrn);
    uint64_t ids[4];
    int nids = 0;
    size_t len = cl.got ? mask_qids(cl.got, cl.gotlen, ids, &nids) : 0;
    if (sc->want)
        expect_bytes(sc->name, "transcript", cl.got ? cl.got : "", len, sc->want, strlen(sc->want));
    harness_read_queue(&h);
    if (sc->nmsgs < 0 && h.nmsgs == h.naccepted)
        goto done;
    if (h.nmsgs != sc->nmsgs || h.naccepted != sc->nmsgs)
        fail_msg("%s: got %d queued / %d accepted, want %d", sc->name, h.nmsgs, h.naccepted,
                 sc->nmsgs);
    for (int i = 0; i < h.nmsgs && i < 4; i++) {
        assert_int_equal(h.accepted_ids[i], h.msgs[i].id);
        if (sc->want)
            assert_int_equal(ids[i], h.msgs[i].id);
    }
    if (sc->nmsgs > 0) {
        check_envelope(sc, &h.msgs[0]);
        if (sc->dsn)
            check_dsn(sc, &h.msgs[0]);
        const char *content = check_received(sc, &h.msgs[0]);
        size_t clen = h.msgs[0].bodylen - (size_t)(content - h.msgs[0].body);
        expect_bytes(sc->name, "content", content, clen, sc->content,
                     sc->content_len ? sc->content_len : strlen(sc->content));
    }
done:
    free(cl.got);
    harness_close(&h);
}

/* ---- configuration tweaks ---- */

/* Lines over 998 octets are split. */
static void tweak_split(struct conf *c)
{
    c->smtpd.split_long_lines = true;
}

/* A client that is not trusted, relay_domains relay.test. */
static void tweak_relay_domain(struct conf *c)
{
    static char *doms[] = {"relay.test"};
    c->smtpd.trusted_networks = NULL;
    c->smtpd.ntrusted_networks = 0;
    c->smtpd.relay_domains = doms;
    c->smtpd.nrelay_domains = 1;
    c->smtpd.max_error_recipients = 2;
}

/* Every client is sloppy; a custom greeting. */
static void tweak_sloppy(struct conf *c)
{
    static struct cidr all;
    if (cidr_parse("0.0.0.0/0", 9, &all) < 0)
        fail_msg("cidr_parse");
    c->smtpd.sloppy_networks = &all;
    c->smtpd.nsloppy_networks = 1;
    c->smtpd.hdr220 = "%H ZMailer-like %V 100%% %I%X";
}

/* Only clients saying HELO *.broken.test are sloppy; HELP text; VRFY 502. */
static void tweak_sloppy_helo(struct conf *c)
{
    static char *pat[] = {"*.broken.test"}, *help[] = {"line one", "", "line three"};
    c->smtpd.sloppy_helo = pat;
    c->smtpd.nsloppy_helo = 1;
    c->smtpd.help = help;
    c->smtpd.nhelp = 3;
    c->smtpd.vrfy_code = 502;
    c->smtpd.expn_code = 252;
}

/* At most 2 hops. */
static void tweak_hops(struct conf *c)
{
    c->smtpd.max_hops = 2;
}

/* Clients on 127.0.0.0/8 may end command lines with a bare LF. */
static void tweak_bare_newline(struct conf *c)
{
    static struct cidr lo;
    if (cidr_parse("127.0.0.0/8", 11, &lo) < 0)
        fail_msg("cidr_parse");
    c->smtpd.bare_newline_networks = &lo;
    c->smtpd.nbare_newline_networks = 1;
}

/* AUTH: the pipe backend runs this script (made by main): alice/secret is accepted, user
 * "slow" never answers in time, "down" is a temporary failure (exit 75). */
static char auth_script[64];

/* An untrusted client; AUTH through the script, offered without TLS, no failure delay. */
static void tweak_auth(struct conf *c)
{
    c->smtpd.trusted_networks = NULL;
    c->smtpd.ntrusted_networks = 0;
    c->smtpd.auth.backend = "pipe";
    c->smtpd.auth.path = auth_script;
    c->smtpd.auth.allow_cleartext = true;
    c->smtpd.auth.failure_delay = 0;
    c->smtpd.auth.max_failures = 2;
}

/* tweak_auth, but AUTH only under TLS (the default): this plaintext session gets 538. */
static void tweak_auth_tls_only(struct conf *c)
{
    tweak_auth(c);
    c->smtpd.auth.allow_cleartext = false;
}

/* tweak_auth with sender_must_match and no user in Received. */
static void tweak_auth_sender(struct conf *c)
{
    tweak_auth(c);
    c->smtpd.auth.sender_must_match = true;
    c->smtpd.auth.rcvd_auth_user = false;
}

#define EHLO_AUTH                                                                                  \
    "250-" HOST "\r\n250-PIPELINING\r\n250-SIZE 100000\r\n250-8BITMIME\r\n"                      \
    "250-ENHANCEDSTATUSCODES\r\n250-DSN\r\n250-CHUNKING\r\n250-SMTPUTF8\r\n250-ETRN\r\n"             \
    "250-AUTH PLAIN LOGIN\r\n250-DELIVERBY 60\r\n250 HELP\r\n"
#define PLAIN_ALICE "AGFsaWNlAHNlY3JldA==" /* "\0alice\0secret" */
#define AUTH_OK "235 2.7.0 Authentication successful\r\n"
#define AUTH_BAD "535 5.7.8 Authentication credentials invalid\r\n"

/* ---- table-driven dialogues ---- */

static const struct scenario scenarios[] = {
    {.name = "auth_plain_relays_anywhere_received_names_user",
     .steps = {{NULL, 0, 1, 0},
               {"EHLO c.test\r\n", 0, 1, 0},
               {"AUTH PLAIN " PLAIN_ALICE "\r\n", 0, 1, 0},
               {"MAIL FROM:<alice@mx.test> AUTH=<>\r\nRCPT TO:<x@far.test>\r\nDATA\r\n", 0, 3, 0},
               {"A: b\r\n\r\nbody\r\n.\r\nQUIT\r\n", 0, 2, 0}},
     .want = GREET EHLO_AUTH AUTH_OK OK_MAIL OK_RCPT GO_DATA QUEUED BYE,
     .nmsgs = 1, .sender = "alice@mx.test", .rcpts = "x@far.test", .helo = "c.test",
     .with = "ESMTPA", .content = "A: b\r\n\r\nbody\r\n", .tweak = tweak_auth,
     .rcvd_comment = "\t(authenticated as alice)\r\n"},
    {.name = "auth_login_steps_then_auth_again_is_503",
     .steps = {{NULL, 0, 1, 0},
               {"EHLO c.test\r\nAUTH LOGIN\r\n", 0, 2, 0},
               {"YWxpY2U=\r\n", 0, 1, 0},
               {"c2VjcmV0\r\n", 0, 1, 0},
               {"AUTH PLAIN " PLAIN_ALICE "\r\nQUIT\r\n", 0, 2, 0}},
     .want = GREET EHLO_AUTH "334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6\r\n" AUTH_OK
                       "503 5.5.1 Already authenticated\r\n" BYE,
     .tweak = tweak_auth},
    {.name = "auth_bad_input_gets_rfc4954_replies_session_goes_on",
     .steps = {{NULL, 0, 1, 0},
               {"EHLO c.test\r\nAUTH PLAIN !!!\r\nAUTH FOO\r\nAUTH\r\nAUTH LOGIN\r\n", 0, 5, 0},
               {"*\r\n", 0, 1, 0},
               {"AUTH PLAIN\r\n", 0, 1, 0},
               {"not base64!\r\n", 0, 1, 0},
               {"MAIL FROM:<a@mx.test>\r\nAUTH PLAIN " PLAIN_ALICE "\r\nRSET\r\n", 0, 3, 0},
               {"MAIL FROM:<a@mx.test> AUTH=a+ZZ\r\nRCPT TO:<x@far.test>\r\nQUIT\r\n", 0, 3, 0}},
     .want = GREET EHLO_AUTH "501 5.5.2 Cannot decode response\r\n"
                       "504 5.5.4 Unrecognized authentication type\r\n"
                       "501 5.5.2 Syntax error in AUTH parameters\r\n"
                       "334 VXNlcm5hbWU6\r\n"
                       "501 5.0.0 Authentication cancelled\r\n"
                       "334 \r\n"
                       "501 5.5.2 Cannot decode response\r\n" OK_MAIL
                       "503 5.5.1 AUTH not permitted during a mail transaction\r\n"
                       "250 2.0.0 Ok\r\n"
                       "501 5.5.4 Bad AUTH parameter\r\n"
                       "503 5.5.1 Error: need MAIL command\r\n" BYE,
     .tweak = tweak_auth},
    {.name = "auth_before_ehlo_or_after_helo_is_503",
     .steps = {{NULL, 0, 1, 0},
               {"AUTH PLAIN " PLAIN_ALICE "\r\nHELO c.test\r\nAUTH PLAIN " PLAIN_ALICE
                "\r\nQUIT\r\n", 0, 4, 0}},
     .want = GREET "503 5.5.1 Error: send EHLO first\r\n250 " HOST "\r\n"
                   "503 5.5.1 Error: send EHLO first\r\n" BYE,
     .tweak = tweak_auth},
    {.name = "auth_failures_535_then_421_at_max_failures",
     .steps = {{NULL, 0, 1, 0},
               {"EHLO c.test\r\nAUTH PLAIN AGFsaWNlAHdyb25n\r\n", 0, 2, 0},
               {"AUTH PLAIN AGJvYgBzZWNyZXQ=\r\n", 0, 2, 0}},
     .want = GREET EHLO_AUTH AUTH_BAD AUTH_BAD
                   "421 4.7.0 " HOST " Error: too many failed authentications\r\n",
     .tweak = tweak_auth},
    {.name = "auth_backend_down_is_454",
     .steps = {{NULL, 0, 1, 0},
               {"EHLO c.test\r\nAUTH PLAIN AGRvd24Ac2VjcmV0\r\nQUIT\r\n", 0, 3, 0}},
     .want = GREET EHLO_AUTH "454 4.7.0 Temporary authentication failure\r\n" BYE,
     .tweak = tweak_auth},
    {.name = "auth_without_tls_not_offered_538",
     .steps = {{NULL, 0, 1, 0},
               {"EHLO c.test\r\nAUTH PLAIN " PLAIN_ALICE "\r\nQUIT\r\n", 0, 3, 0}},
     .want = GREET EHLO_R "538 5.7.11 Encryption required for requested authentication "
                          "mechanism\r\n" BYE,
     .tweak = tweak_auth_tls_only},
    {.name = "auth_unauthenticated_untrusted_may_not_relay",
     .steps = {{NULL, 0, 1, 0},
               {"EHLO c.test\r\nMAIL FROM:<a@mx.test>\r\nRCPT TO:<x@far.test>\r\nQUIT\r\n", 0,
                4, 0}},
     .want = GREET EHLO_AUTH OK_MAIL "554 5.7.1 <x@far.test>: Relay access denied\r\n" BYE,
     .tweak = tweak_auth},
    {.name = "auth_sender_must_match_login",
     .steps = {{NULL, 0, 1, 0},
               {"EHLO c.test\r\nAUTH PLAIN " PLAIN_ALICE "\r\n", 0, 2, 0},
               {"MAIL FROM:<mallory@mx.test>\r\nMAIL FROM:<ALICE@mx.test>\r\n"
                "RCPT TO:<x@far.test>\r\nDATA\r\n", 0, 4, 0},
               {"A: b\r\n\r\nbody\r\n.\r\nQUIT\r\n", 0, 2, 0}},
     .want = GREET EHLO_AUTH AUTH_OK
                   "553 5.7.1 <mallory@mx.test>: Sender address rejected: not owned by user "
                   "alice\r\n" OK_MAIL OK_RCPT GO_DATA QUEUED BYE,
     .nmsgs = 1, .sender = "ALICE@mx.test", .rcpts = "x@far.test", .helo = "c.test",
     .with = "ESMTPA", .content = "A: b\r\n\r\nbody\r\n", .tweak = tweak_auth_sender},
    {.name = "auth_client_drops_mid_verification",
     .steps = {{NULL, 0, 1, 0},
               {"EHLO c.test\r\n", 0, 1, 0},
               {"AUTH PLAIN AHNsb3cAc2VjcmV0\r\n", 0, 0, STEP_CLOSE}},
     .want = GREET EHLO_AUTH, .tweak = tweak_auth},
    {.name = "bdat_chunks_make_one_message",
     .steps = {{NULL, 0, 1, 0},
               {"EHLO c.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\n", 0, 3, 0},
               {"BDAT 10\r\nA: b\r\n\r\nbo", 0, 1, 0},
               {"BDAT 4 LAST\r\ndy\r\n", 0, 1, 0},
               {"QUIT\r\n", 0, 1, 0}},
     .want = GREET EHLO_R OK_MAIL OK_RCPT "250 2.0.0 Ok: 10 octets received\r\n" QUEUED BYE,
     .nmsgs = 1, .sender = "a@b.test", .rcpts = "c@d.test", .helo = "c.test", .with = "ESMTP",
     .content = "A: b\r\n\r\nbody\r\n"},
    {.name = "bdat_pipelined_whole_transaction",
     .steps = {{NULL, 0, 1, 0},
               {"EHLO c.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\nBDAT 3\r\nx\ny"
                "BDAT 0 LAST\r\nQUIT\r\n", 0, 6, 0}},
     .want = GREET EHLO_R OK_MAIL OK_RCPT "250 2.0.0 Ok: 3 octets received\r\n" QUEUED BYE,
     .nmsgs = 1, .sender = "a@b.test", .rcpts = "c@d.test", .helo = "c.test", .with = "ESMTP",
     .content = "x\r\ny\r\n"},
    {.name = "bdat_without_transaction_is_drained",
     .steps = {{NULL, 0, 1, 0},
               {"EHLO c.test\r\nBDAT 10 LAST\r\nRCPT TO:\r\nNOOP\r\nMAIL FROM:<a@b.test>\r\n"
                "BDAT 2\r\nxyDATA\r\nQUIT\r\n", 0, 7, 0}},
     .want = GREET EHLO_R "503 5.5.1 Error: need MAIL command\r\n250 2.0.0 Ok\r\n" OK_MAIL
                          "503 5.5.1 Error: need RCPT command\r\n"
                          "503 5.5.1 Error: need RCPT command\r\n" BYE},
    {.name = "data_after_bdat_is_refused",
     .steps = {{NULL, 0, 1, 0},
               {"EHLO c.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\nBDAT 2\r\nx\n"
                "DATA\r\nRCPT TO:<e@d.test>\r\nBDAT 1 LAST\r\n\n", 0, 7, 0},
               {"QUIT\r\n", 0, 1, 0}},
     .want = GREET EHLO_R OK_MAIL OK_RCPT "250 2.0.0 Ok: 2 octets received\r\n"
                          "503 5.5.1 Error: DATA after BDAT\r\n"
                          "503 5.5.1 Error: RCPT after BDAT\r\n" QUEUED BYE,
     .nmsgs = 1, .sender = "a@b.test", .rcpts = "c@d.test", .helo = "c.test", .with = "ESMTP",
     .content = "x\r\n\r\n"},
    {.name = "dsn_and_deliverby_are_stored",
     .steps = {{NULL, 0, 1, 0},
               {"EHLO c.test\r\nMAIL FROM:<a@b.test> RET=HDRS ENVID=Q+2Bx+3D1 BY=120;RT "
                "BODY=8BITMIME\r\nRCPT TO:<c@d.test> NOTIFY=SUCCESS,DELAY "
                "ORCPT=rfc822;C+40d.test\r\nRCPT TO:<e@d.test> NOTIFY=NEVER\r\nDATA\r\nx\r\n.\r\n"
                "QUIT\r\n", 0, 7, 0}},
     .want = GREET EHLO_R OK_MAIL OK_RCPT OK_RCPT GO_DATA QUEUED BYE,
     .nmsgs = 1, .sender = "a@b.test", .rcpts = "c@d.test,e@d.test", .helo = "c.test",
     .with = "ESMTP", .content = "x\r\n",
     .dsn = "flags=1194 envid=Q+x=1 by=120 rcpts=5:rfc822;C@d.test,8:"}, /* 170 + MSG_F_7BIT */
    /* MSG_F_7BIT (1024): set when no octet >= 0x80 went into the stored content, whichever
     * way it came in (the usual DATA line, a line through the octet rules, BDAT) */
    {.name = "content_8bit_data_line_is_not_flagged_7bit",
     .steps = {{NULL, 0, 1, 0},
               {"EHLO c.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\nDATA\r\n"
                "a\r\ncaf\xc3\xa9\r\nz\r\n.\r\nQUIT\r\n", 0, 6, 0}},
     .want = GREET EHLO_R OK_MAIL OK_RCPT GO_DATA QUEUED BYE,
     .nmsgs = 1, .sender = "a@b.test", .rcpts = "c@d.test", .helo = "c.test", .with = "ESMTP",
     .content = "a\r\ncaf\xc3\xa9\r\nz\r\n", .dsn = "flags=0 envid= by=0 rcpts=0:"},
    {.name = "content_8bit_after_bare_cr_is_not_flagged_7bit",
     .steps = {{NULL, 0, 1, 0},
               {"EHLO c.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\nDATA\r\n"
                "a\rb\xe9\r\n.\r\nQUIT\r\n", 0, 6, 0}},
     .want = GREET EHLO_R OK_MAIL OK_RCPT GO_DATA QUEUED BYE,
     .nmsgs = 1, .sender = "a@b.test", .rcpts = "c@d.test", .helo = "c.test", .with = "ESMTP",
     .content = "a\rb\xe9\r\n", .dsn = "flags=0 envid= by=0 rcpts=0:"},
    {.name = "content_7bit_bdat_is_flagged_7bit",
     .steps = {{NULL, 0, 1, 0},
               {"EHLO c.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\nBDAT 3\r\nx\ny"
                "BDAT 0 LAST\r\nQUIT\r\n", 0, 6, 0}},
     .want = GREET EHLO_R OK_MAIL OK_RCPT "250 2.0.0 Ok: 3 octets received\r\n" QUEUED BYE,
     .nmsgs = 1, .sender = "a@b.test", .rcpts = "c@d.test", .helo = "c.test", .with = "ESMTP",
     .content = "x\r\ny\r\n", .dsn = "flags=1024 envid= by=0 rcpts=0:"},
    {.name = "content_8bit_bdat_is_not_flagged_7bit",
     .steps = {{NULL, 0, 1, 0},
               {"EHLO c.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\nBDAT 4 LAST\r\n"
                "x\xe9\r\nQUIT\r\n", 0, 5, 0}},
     .want = GREET EHLO_R OK_MAIL OK_RCPT QUEUED BYE,
     .nmsgs = 1, .sender = "a@b.test", .rcpts = "c@d.test", .helo = "c.test", .with = "ESMTP",
     .content = "x\xe9\r\n", .dsn = "flags=0 envid= by=0 rcpts=0:"},
    {.name = "dsn_parameter_errors",
     .steps = {{NULL, 0, 1, 0},
               {"EHLO c.test\r\nMAIL FROM:<a@b.test> RET=ALL\r\nMAIL FROM:<a@b.test> ENVID=a+2\r\n"
                "MAIL FROM:<a@b.test> BY=10;R\r\nMAIL FROM:<a@b.test> BY=0;R\r\n"
                "MAIL FROM:<a@b.test> SIZE=1 SIZE=1\r\nMAIL FROM:<a@b.test> BY=-5;N\r\n"
                "RCPT TO:<c@d.test> ORCPT=rfc822\r\nRCPT TO:<c@d.test> NOTIFY=NEVER,SUCCESS\r\n"
                "QUIT\r\n", 0, 10, 0}},
     .want = GREET EHLO_R "501 5.5.4 Bad RET parameter\r\n501 5.5.4 Bad ENVID parameter\r\n"
                          "501 5.5.4 BY time below the minimum of 60 seconds\r\n"
                          "501 5.5.4 Bad BY parameter\r\n501 5.5.4 Bad SIZE parameter\r\n" OK_MAIL
                          "501 5.5.4 Bad ORCPT parameter\r\n501 5.5.4 Bad NOTIFY parameter\r\n" BYE},
    {.name = "smtputf8_addresses_are_flagged",
     .steps = {{NULL, 0, 1, 0},
               {"EHLO c.test\r\nMAIL FROM:<j\xc3\xb6rg@b.test> SMTPUTF8\r\n"
                "RCPT TO:<\xe7\x94\xa8\xe6\x88\xb7@d.test>\r\nDATA\r\nx\r\n.\r\nQUIT\r\n", 0, 6, 0}},
     .want = GREET EHLO_R OK_MAIL OK_RCPT GO_DATA QUEUED BYE,
     .nmsgs = 1, .sender = "j\xc3\xb6rg@b.test", .rcpts = "\xe7\x94\xa8\xe6\x88\xb7@d.test",
     .helo = "c.test", .with = "UTF8SMTP", .content = "x\r\n",
     .dsn = "flags=1 envid= by=0 rcpts=0:"},
    {.name = "utf8_address_needs_smtputf8",
     .steps = {{NULL, 0, 1, 0},
               {"EHLO c.test\r\nMAIL FROM:<j\xc3\xb6rg@b.test>\r\nMAIL FROM:<j\xc3rg@b.test> SMTPUTF8\r\n"
                "MAIL FROM:<a@b.test>\r\nRCPT TO:<\xc3\xa4@d.test>\r\nQUIT\r\n", 0, 6, 0}},
     .want = GREET EHLO_R "553 5.6.7 SMTPUTF8 is required for a non-ASCII address\r\n"
                          "501 5.5.4 Syntax: MAIL FROM:<address> [parameters]\r\n" OK_MAIL
                          "553 5.6.7 <\\xc3\\xa4@d.test>: SMTPUTF8 is required for a non-ASCII address\r\n" BYE},
    {.name = "etrn_starts_delivery_for_domain",
     .steps = {{NULL, 0, 1, 0},
               {"EHLO c.test\r\nETRN Relay.Test\r\nETRN @sub.test\r\nETRN #queue\r\nETRN -x\r\n"
                "MAIL FROM:<a@b.test>\r\nETRN d.test\r\nQUIT\r\n", 0, 8, 0}},
     .want = GREET EHLO_R "250 2.0.0 Queuing for node relay.test started\r\n"
                          "250 2.0.0 Queuing for node sub.test started\r\n"
                          "458 4.5.0 Unable to queue messages for node #queue\r\n"
                          "501 5.5.4 Syntax: ETRN domain\r\n" OK_MAIL
                          "503 5.5.1 Error: ETRN inside a mail transaction\r\n" BYE,
     .etrn = "relay.test @sub.test"},
    {.name = "untrusted_client_relays_only_to_relay_domains",
     .tweak = tweak_relay_domain,
     .steps = {{NULL, 0, 1, 0},
               {"EHLO c.test\r\nETRN other.test\r\nETRN relay.test\r\nMAIL FROM:<a@b.test>\r\n"
                "RCPT TO:<u@relay.test>\r\nRCPT TO:<postmaster>\r\nRCPT TO:<u@mx.test>\r\n"
                "RCPT TO:<u@other.test>\r\nRCPT TO:<v@other.test>\r\nRCPT TO:<w@other.test>\r\n",
                0, 11, 0}},
     .want = GREET EHLO_R "459 4.7.1 <other.test>: node not allowed\r\n"
                          "250 2.0.0 Queuing for node relay.test started\r\n" OK_MAIL
                          OK_RCPT OK_RCPT OK_RCPT
                          "554 5.7.1 <u@other.test>: Relay access denied\r\n"
                          "554 5.7.1 <v@other.test>: Relay access denied\r\n"
                          "554 5.7.1 <w@other.test>: Relay access denied\r\n"
                          "421 4.7.0 " HOST " Error: too many failed recipients\r\n",
     .etrn = "relay.test"},
    {.name = "sloppy_network_and_greeting_template",
     .tweak = tweak_sloppy,
     .steps = {{NULL, 0, 1, 0},
               {"HELO c.test\r\nMAIL FROM: a@b.test\r\nRCPT TO: c@d.test \r\nDATA\r\nx\r\n.\r\n"
                "QUIT\r\n", 0, 6, 0}},
     .want = "220 " HOST " ZMailer-like 9.9 100% \r\n250 " HOST "\r\n" OK_MAIL OK_RCPT GO_DATA
             QUEUED BYE,
     .nmsgs = 1, .sender = "a@b.test", .rcpts = "c@d.test", .helo = "c.test", .with = "SMTP",
     .content = "x\r\n"},
    {.name = "sloppy_helo_pattern_help_and_vrfy",
     .tweak = tweak_sloppy_helo,
     .steps = {{NULL, 0, 1, 0},
               {"EHLO c.test\r\nMAIL FROM: a@b.test\r\nHELO X.Broken.test\r\nMAIL FROM: a@b.test\r\n"
                "HELP\r\nVRFY x\r\nEXPN y\r\nQUIT\r\n", 0, 8, 0}},
     .want = GREET EHLO_R "501 5.5.4 Syntax: MAIL FROM:<address> [parameters]\r\n250 " HOST
                          "\r\n" OK_MAIL "214-2.0.0 line one\r\n214-2.0.0 \r\n214 2.0.0 line three\r\n"
                          "502 5.5.1 Error: VRFY is disabled\r\n"
                          "252 2.5.0 Cannot EXPN user, but will accept message and attempt delivery\r\n"
                          BYE},
    {.name = "mail_loop_is_refused",
     .tweak = tweak_hops,
     .steps = {{NULL, 0, 1, 0},
               {"EHLO c.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\nDATA\r\n"
                "Received: a\r\nreceived: b\r\n (folded)\r\nRECEIVED: c\r\n\r\nx\r\n.\r\n"
                "MAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\nDATA\r\n"
                "Received: a\r\nReceived: b\r\n\r\nReceived: c\r\n.\r\nQUIT\r\n", 0, 10, 0}},
     .want = GREET EHLO_R OK_MAIL OK_RCPT GO_DATA
                          "554 5.4.6 Error: too many hops (mail loop?)\r\n" OK_MAIL OK_RCPT GO_DATA
                          QUEUED BYE,
     .nmsgs = 1, .sender = "a@b.test", .rcpts = "c@d.test", .helo = "c.test", .with = "ESMTP",
     .content = "Received: a\r\nReceived: b\r\n\r\nReceived: c\r\n"},
    {.name = "nul_octets_are_refused",
     .steps = {{NULL, 0, 1, 0},
               {"EHLO c.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\nDATA\r\na\0b\r\n.\r\n"
                "QUIT\r\n", 75, 6, 0}},
     .want = GREET EHLO_R OK_MAIL OK_RCPT GO_DATA "554 5.6.0 Error: message contains NUL octets\r\n"
             BYE},
    {.name = "ehlo_lists_extensions",
     .steps = {{NULL, 0, 1, 0}, {"EHLO client.test\r\n", 0, 1, 0}, {"QUIT\r\n", 0, 1, 0}},
     .want = GREET EHLO_R BYE},
    {.name = "transaction_is_queued_dot_unstuffed",
     .steps = {{NULL, 0, 1, 0},
               {"EHLO client.test\r\n", 0, 1, 0},
               {"MAIL FROM:<alice@client.test>\r\n", 0, 1, 0},
               {"RCPT TO:<bob@dest.test>\r\n", 0, 1, 0},
               {"DATA\r\n", 0, 1, 0},
               {"Subject: hi\r\n\r\n..leading dot\r\n...\r\n.x\r\nlast\r\n.\r\n", 0, 1, 0},
               {"QUIT\r\n", 0, 1, 0}},
     .want = GREET EHLO_R OK_MAIL OK_RCPT GO_DATA QUEUED BYE,
     .nmsgs = 1,
     .sender = "alice@client.test",
     .rcpts = "bob@dest.test",
     .helo = "client.test",
     .with = "ESMTP",
     .content = "Subject: hi\r\n\r\n.leading dot\r\n..\r\nx\r\nlast\r\n"},
    {.name = "pipelined_transaction_in_one_write",
     .steps = {{NULL, 0, 1, 0},
               {"EHLO client.test\r\nMAIL FROM:<>\r\nRCPT TO:<a@one.test>\r\n"
                "RCPT TO:<b@two.test>\r\nDATA\r\nhello\r\n.\r\nNOOP\r\nQUIT\r\n",
                0, 8, 0}},
     .want = GREET EHLO_R OK_MAIL OK_RCPT OK_RCPT GO_DATA QUEUED "250 2.0.0 Ok\r\n" BYE,
     .nmsgs = 1,
     .sender = "",
     .rcpts = "a@one.test,b@two.test",
     .helo = "client.test",
     .with = "ESMTP",
     .content = "hello\r\n"},
    {.name = "two_messages_in_one_session",
     .steps = {{NULL, 0, 1, 0},
               {"EHLO c.test\r\nMAIL FROM:<a@c.test>\r\nRCPT TO:<b@d.test>\r\nDATA\r\n"
                "one\r\n.\r\nMAIL FROM:<a2@c.test>\r\nRCPT TO:<b2@d.test>\r\nDATA\r\n"
                "two\r\n.\r\nQUIT\r\n",
                0, 10, 0}},
     .want = GREET EHLO_R OK_MAIL OK_RCPT GO_DATA QUEUED OK_MAIL OK_RCPT GO_DATA QUEUED BYE,
     .nmsgs = 2,
     .sender = "a@c.test",
     .rcpts = "b@d.test",
     .helo = "c.test",
     .with = "ESMTP",
     .content = "one\r\n"},
    {.name = "relay_denied_for_untrusted_client",
     .untrusted = true,
     .steps = {{NULL, 0, 1, 0},
               {"EHLO client.test\r\n", 0, 1, 0},
               {"MAIL FROM:<alice@client.test>\r\n", 0, 1, 0},
               {"RCPT TO:<bob@dest.test>\r\n", 0, 1, 0},
               {"DATA\r\n", 0, 1, 0},
               {"QUIT\r\n", 0, 1, 0}},
     .want = GREET EHLO_R OK_MAIL "554 5.7.1 <bob@dest.test>: Relay access denied\r\n"
                                  "503 5.5.1 Error: need RCPT command\r\n" BYE},
    {.name = "sequence_errors",
     .steps = {{NULL, 0, 1, 0},
               {"MAIL FROM:<a@b.test>\r\n", 0, 1, 0},
               {"RCPT TO:<c@d.test>\r\n", 0, 1, 0},
               {"DATA\r\n", 0, 1, 0},
               {"HELO\r\n", 0, 1, 0},
               {"EHLO \r\n", 0, 1, 0},
               {"HELO old.test\r\n", 0, 1, 0},
               {"MAIL FROM:<a@b.test>\r\nMAIL FROM:<a@b.test>\r\nDATA\r\nFOO bar\r\n"
                "VRFY bob\r\nEXPN list\r\nRCPT TO:<>\r\nMAIL FROM:a@b.test\r\nDATA x\r\n"
                "NOOP\r\nRSET\r\nDATA\r\nQUIT\r\n",
                0, 13, 0}},
     .want = GREET "503 5.5.1 Error: send HELO/EHLO first\r\n"
                   "503 5.5.1 Error: need MAIL command\r\n"
                   "503 5.5.1 Error: need MAIL command\r\n"
                   "501 5.5.4 Syntax: HELO hostname\r\n"
                   "501 5.5.4 Syntax: EHLO hostname\r\n"
                   "250 " HOST "\r\n" OK_MAIL "503 5.5.1 Error: nested MAIL command\r\n"
                   "503 5.5.1 Error: need RCPT command\r\n"
                   "500 5.5.1 Error: command not recognized\r\n"
                   "252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery\r\n"
                   "502 5.5.1 Error: EXPN is disabled\r\n"
                   "501 5.5.4 Syntax: RCPT TO:<address> [parameters]\r\n"
                   "501 5.5.4 Syntax: MAIL FROM:<address> [parameters]\r\n"
                   "501 5.5.4 Syntax error in parameters or arguments\r\n"
                   "250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n"
                   "503 5.5.1 Error: need MAIL command\r\n" BYE},
    {.name = "starttls_without_certificate_is_not_offered",
     .steps = {{NULL, 0, 1, 0},
               {"EHLO c.test\r\nSTARTTLS\r\nSTARTTLS now\r\nAUTH PLAIN\r\nNOOP\r\nQUIT\r\n", 0, 6,
                0}},
     .want = GREET EHLO_R "502 5.5.1 Error: STARTTLS is not offered (no smtpd.tls certificate)\r\n"
                          "501 5.5.4 Syntax: STARTTLS\r\n"
                          "502 5.5.1 Error: authentication is not offered\r\n"
                          "250 2.0.0 Ok\r\n" BYE},
    {.name = "mail_parameters",
     .steps = {{NULL, 0, 1, 0},
               {"EHLO client.test\r\n", 0, 1, 0},
               {"MAIL FROM:<a@b.test> SIZE=100001\r\n", 0, 1, 0},
               {"MAIL FROM:<a@b.test> SIZE=99999999999999999999999\r\n", 0, 1, 0},
               {"MAIL FROM:<a@b.test> SIZE=12x\r\n", 0, 1, 0},
               {"MAIL FROM:<a@b.test> FOO=1\r\n", 0, 1, 0},
               {"MAIL FROM:<a@b.test> BODY=BINARYMIME\r\n", 0, 1, 0},
               {"MAIL FROM:<a@b.test> SIZE=100000 BODY=8BITMIME\r\n", 0, 1, 0},
               {"RCPT TO:<c@d.test> NOTIFY=NEVER\r\n", 0, 1, 0},
               {"RCPT TO:<e@d.test> NOTIFY=NEVER,DELAY\r\n", 0, 1, 0},
               {"QUIT\r\n", 0, 1, 0}},
     .want = GREET EHLO_R "552 5.3.4 Message size exceeds fixed limit\r\n"
                          "552 5.3.4 Message size exceeds fixed limit\r\n"
                          "501 5.5.4 Bad SIZE parameter\r\n"
                          "555 5.5.4 Unsupported option: FOO\r\n"
                          "501 5.5.4 Bad BODY parameter\r\n" OK_MAIL OK_RCPT
                          "501 5.5.4 Bad NOTIFY parameter\r\n" BYE},
    {.name = "message_at_size_limit_is_queued",
     .max_size = 1000,
     .steps = {{NULL, 0, 1, 0},
               {"EHLO client.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\nDATA\r\n", 0, 4,
                0},
               {BODY1000 ".\r\n", 0, 1, 0},
               {"QUIT\r\n", 0, 1, 0}},
     .want = GREET EHLO_CAPS("1000") OK_MAIL OK_RCPT GO_DATA QUEUED BYE,
     .nmsgs = 1,
     .sender = "a@b.test",
     .rcpts = "c@d.test",
     .helo = "client.test",
     .with = "ESMTP",
     .content = BODY1000},
    {.name = "message_over_size_limit_is_refused",
     .max_size = 1000,
     .steps = {{NULL, 0, 1, 0},
               {"EHLO client.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\nDATA\r\n", 0, 4,
                0},
               {BODY1000 "x\r\n.\r\n", 0, 1, 0},
               {"DATA\r\n", 0, 1, 0},
               {"MAIL FROM:<a@b.test>\r\n", 0, 1, 0},
               {"QUIT\r\n", 0, 1, 0}},
     .want = GREET EHLO_CAPS("1000") OK_MAIL OK_RCPT GO_DATA
     "552 5.3.4 Error: message exceeds fixed maximum message size\r\n"
     "503 5.5.1 Error: need MAIL command\r\n" OK_MAIL BYE},
    {.name = "bare_lf_content_is_normalised_lone_dot_kept",
     .steps = {{NULL, 0, 1, 0},
               {"EHLO client.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\nDATA\r\n", 0,
                4, 0},
               /* only CRLF.CRLF ends; a lone dot next to a bare LF is content, kept as "." */
               {"a\nb\r\n..c\n\nd\n.\nafter\r\n.\n\r\n..\ne\n.\r\n..\r\n.\r\n", 0, 1, 0},
               {"QUIT\r\n", 0, 1, 0}},
     .want = GREET EHLO_R OK_MAIL OK_RCPT GO_DATA QUEUED BYE,
     .nmsgs = 1,
     .sender = "a@b.test",
     .rcpts = "c@d.test",
     .helo = "client.test",
     .with = "ESMTP",
     .content = "a\r\nb\r\n.c\r\n\r\nd\r\n.\r\nafter\r\n.\r\n\r\n.\r\ne\r\n.\r\n.\r\n"},
    {.name = "bare_lf_command_line_gets_521_and_close",
     .steps = {{NULL, 0, 1, 0},
               {"EHLO c.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\nDATA\r\nx\r\n.\r\n"
                "QUIT\r\n", 0, 3, 0}},
     .want = GREET EHLO_R OK_MAIL "521 5.5.2 " HOST " Error: bare <LF> received\r\n"},
    {.name = "bare_lf_command_lines_from_bare_newline_networks",
     .tweak = tweak_bare_newline,
     .steps = {{NULL, 0, 1, 0},
               {"EHLO client.test\nMAIL FROM:<a@b.test>\nRCPT TO:<c@d.test>\nDATA\n", 0, 4, 0},
               {"a\nd\n.\nafter\r\n.\n\r\n.\r\n", 0, 1, 0}, /* still only CRLF.CRLF ends */
               {"QUIT\n", 0, 1, 0}},
     .want = GREET EHLO_R OK_MAIL OK_RCPT GO_DATA QUEUED BYE,
     .nmsgs = 1,
     .sender = "a@b.test",
     .rcpts = "c@d.test",
     .helo = "client.test",
     .with = "ESMTP",
     .content = "a\r\nd\r\n.\r\nafter\r\n.\r\n\r\n"},
    {.name = "rset_discards_transaction",
     .steps = {{NULL, 0, 1, 0},
               {"EHLO client.test\r\n", 0, 1, 0},
               {"MAIL FROM:<alice@b.test>\r\n", 0, 1, 0},
               {"RCPT TO:<bob@d.test>\r\n", 0, 1, 0},
               {"RSET\r\n", 0, 1, 0},
               {"DATA\r\n", 0, 1, 0},
               {"MAIL FROM:<carol@b.test>\r\n", 0, 1, 0},
               {"RCPT TO:<dave@d.test>\r\n", 0, 1, 0},
               {"DATA\r\n", 0, 1, 0},
               {".\r\n", 0, 1, 0},
               {"QUIT\r\n", 0, 1, 0}},
     .want = GREET EHLO_R OK_MAIL OK_RCPT
     "250 2.0.0 Ok\r\n"
     "503 5.5.1 Error: need MAIL command\r\n" OK_MAIL OK_RCPT GO_DATA QUEUED BYE,
     .nmsgs = 1,
     .sender = "carol@b.test",
     .rcpts = "dave@d.test",
     .helo = "client.test",
     .with = "ESMTP",
     .content = ""},
    {.name = "helo_gives_smtp_protocol",
     .steps = {{NULL, 0, 1, 0},
               {"HELO old.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<Postmaster>\r\nDATA\r\n", 0, 4,
                0},
               {"x\r\n.\r\nQUIT\r\n", 0, 2, 0}},
     .want = GREET "250 " HOST "\r\n" OK_MAIL OK_RCPT GO_DATA QUEUED BYE,
     .nmsgs = 1,
     .sender = "a@b.test",
     .rcpts = "postmaster@mx.test", /* bare postmaster: this host (RFC 5321 4.5.1) */
     .helo = "old.test",
     .with = "SMTP",
     .content = "x\r\n"},
    {.name = "ehlo_resets_transaction",
     .steps = {{NULL, 0, 1, 0},
               {"EHLO a.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\nEHLO b.test\r\n"
                "DATA\r\nQUIT\r\n",
                0, 6, 0}},
     .want = GREET EHLO_R OK_MAIL OK_RCPT EHLO_R "503 5.5.1 Error: need MAIL command\r\n" BYE},
    {.name = "half_close_after_pipelined_quit",
     .steps = {{NULL, 0, 1, 0},
               {"EHLO c.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\nDATA\r\n"
                "body\r\n.\r\nQUIT\r\n",
                0, 6, STEP_SHUTWR}},
     .want = GREET EHLO_R OK_MAIL OK_RCPT GO_DATA QUEUED BYE,
     .nmsgs = 1,
     .sender = "a@b.test",
     .rcpts = "c@d.test",
     .helo = "c.test",
     .with = "ESMTP",
     .content = "body\r\n"},
    {.name = "half_close_without_quit_closes",
     .steps = {{NULL, 0, 1, 0}, {"EHLO c.test\r\nNOOP\r\nNOO", 0, 2, STEP_SHUTWR}},
     .want = GREET EHLO_R "250 2.0.0 Ok\r\n"},
    {.name = "disconnect_while_queueing_still_queues",
     .steps = {{NULL, 0, 1, 0},
               {"EHLO c.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\nDATA\r\n", 0, 4, 0},
               {"body\r\n.\r\n", 0, 0, STEP_CLOSE}},
     .nmsgs = 1,
     .sender = "a@b.test",
     .rcpts = "c@d.test",
     .helo = "c.test",
     .with = "ESMTP",
     .content = "body\r\n"},
    {.name = "disconnect_mid_data_queues_nothing",
     .steps = {{NULL, 0, 1, 0},
               {"EHLO c.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\nDATA\r\n", 0, 4, 0},
               {"body\r\n.", 0, 0, STEP_CLOSE}}},
    {.name = "data_terminator_split_across_writes",
     .steps = {{NULL, 0, 1, 0},
               {"EHLO c.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\nDATA\r\n", 0, 4, 0},
               {"one\r", 0, 0, 0},
               {"\n.", 0, 0, STEP_PAUSE},
               {"\r", 0, 0, STEP_PAUSE},
               {"\n", 0, 1, STEP_PAUSE},
               {"QUIT\r\n", 0, 1, 0}},
     .want = GREET EHLO_R OK_MAIL OK_RCPT GO_DATA QUEUED BYE,
     .nmsgs = 1,
     .sender = "a@b.test",
     .rcpts = "c@d.test",
     .helo = "c.test",
     .with = "ESMTP",
     .content = "one\r\n"},
    {.name = "ipv6_client",
     .v6 = true,
     .steps = {{NULL, 0, 1, 0},
               {"EHLO six.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\nDATA\r\n"
                "v6\r\n.\r\nQUIT\r\n",
                0, 6, 0}},
     .want = GREET EHLO_R OK_MAIL OK_RCPT GO_DATA QUEUED BYE,
     .nmsgs = 1,
     .sender = "a@b.test",
     .rcpts = "c@d.test",
     .helo = "six.test",
     .with = "ESMTP",
     .content = "v6\r\n"},
};

/* True when ::1 can be bound (IPv6 may be disabled where the tests run). */
static bool ipv6_available(void)
{
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    bool ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

/* One table scenario (the cmocka state points at it). */
static void test_dialogue(void **state)
{
    const struct scenario *sc = *state;
    if (sc->v6 && !ipv6_available())
        skip();
    run_scenario(sc);
}

/* ---- scenarios built at run time ---- */

/* Growable text for building inputs and expected transcripts. */
struct text {
    char *p;
    size_t len, cap;
};

/* Appends n bytes of s (or n copies of the byte c when s is NULL). */
static void text_add(struct text *t, const char *s, size_t n, char c)
{
    if (t->len + n + 1 > t->cap) {
        t->cap = (t->len + n + 1) * 2;
        t->p = xrealloc(t->p, t->cap);
    }
    if (s)
        memcpy(t->p + t->len, s, n);
    else
        memset(t->p + t->len, c, n);
    t->len += n;
    t->p[t->len] = '\0';
}

/* Appends a C string. */
static void text_str(struct text *t, const char *s)
{
    text_add(t, s, strlen(s), 0);
}

/* Command lines of 998 bytes are taken; 999 and far longer ones get one 500 5.5.2 each. */
static void test_long_command_lines(void **state)
{
    (void)state;
    struct text a = {0}, b = {0}, c = {0};
    text_str(&a, "NOOP ");
    text_add(&a, NULL, 993, 'x');
    text_str(&a, "\r\n"); /* 1000 bytes with CRLF */
    text_str(&b, "NOOP ");
    text_add(&b, NULL, 994, 'x');
    text_str(&b, "\r\n"); /* 1001 */
    text_add(&c, NULL, 300000, 'y');
    text_str(&c, "\r\nNOOP\r\n");
    struct scenario sc = {
        .name = "long_command_lines",
        .steps = {{NULL, 0, 1, 0},
                  {"EHLO client.test\r\n", 0, 1, 0},
                  {a.p, a.len, 1, 0},
                  {b.p, b.len, 1, 0},
                  {c.p, c.len, 2, 0},
                  {"NOOP\r\nQUIT\r\n", 0, 2, 0}},
        .want = GREET EHLO_R "250 2.0.0 Ok\r\n500 5.5.2 line too long\r\n"
                             "500 5.5.2 line too long\r\n250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n" BYE,
    };
    run_scenario(&sc);
    free(a.p);
    free(b.p);
    free(c.p);
}

/* AUTH lines may be 12288 octets (RFC 4954 §4): a longer AUTH line or LOGIN response gets
 * 500 5.5.6 and the session goes on; a long one within the limit is parsed (here: not a
 * PLAIN message, 501). */
static void test_long_auth_lines(void **state)
{
    (void)state;
    struct text a = {0}, b = {0}, c = {0};
    text_str(&a, "AUTH PLAIN ");
    text_add(&a, NULL, 13000, 'A');
    text_str(&a, "\r\n");
    text_str(&b, "AUTH PLAIN ");
    text_add(&b, NULL, 12000, 'A'); /* valid base64 of NUL bytes: no PLAIN message */
    text_str(&b, "\r\n");
    text_add(&c, NULL, 20000, 'A');
    text_str(&c, "\r\n");
    struct scenario sc = {
        .name = "long_auth_lines",
        .steps = {{NULL, 0, 1, 0},
                  {"EHLO client.test\r\n", 0, 1, 0},
                  {a.p, a.len, 1, 0},
                  {b.p, b.len, 1, 0},
                  {"AUTH LOGIN\r\n", 0, 1, 0},
                  {c.p, c.len, 1, 0},
                  {"NOOP\r\nQUIT\r\n", 0, 2, 0}},
        .want = GREET EHLO_AUTH "500 5.5.6 Authentication exchange line is too long\r\n"
                                "501 5.5.2 Syntax error in AUTH parameters\r\n"
                                "334 VXNlcm5hbWU6\r\n"
                                "500 5.5.6 Authentication exchange line is too long\r\n"
                                "250 2.0.0 Ok\r\n" BYE,
        .tweak = tweak_auth,
    };
    run_scenario(&sc);
    free(a.p);
    free(b.p);
    free(c.p);
}

/* The 1001st recipient gets 452 4.5.3; the message keeps 1000. */
static void test_too_many_recipients(void **state)
{
    (void)state;
    struct text in = {0}, want = {0};
    char line[64];
    text_str(&in, "EHLO c.test\r\nMAIL FROM:<a@b.test>\r\n");
    text_str(&want, GREET EHLO_R OK_MAIL);
    for (int i = 0; i < 1001; i++) {
        snprintf(line, sizeof line, "RCPT TO:<r%d@d.test>\r\n", i);
        text_str(&in, line);
        text_str(&want, i < 1000 ? OK_RCPT : "452 4.5.3 Error: too many recipients\r\n");
    }
    text_str(&in, "DATA\r\nhi\r\n.\r\nQUIT\r\n");
    text_str(&want, GO_DATA QUEUED BYE);
    struct scenario sc = {.name = "too_many_recipients",
                          .steps = {{NULL, 0, 1, 0}, {in.p, in.len, 1006, 0}},
                          .want = want.p,
                          .nmsgs = 1,
                          .sender = "a@b.test",
                          .nrcpt = 1000,
                          .helo = "c.test",
                          .with = "ESMTP",
                          .content = "hi\r\n"};
    run_scenario(&sc);
    free(in.p);
    free(want.p);
}

/* After 50 error replies the server says 421 and closes. */
static void test_too_many_errors(void **state)
{
    (void)state;
    struct text in = {0}, want = {0};
    text_str(&want, GREET);
    for (int i = 0; i < 60; i++)
        text_str(&in, "FOO\r\n");
    for (int i = 0; i < 50; i++)
        text_str(&want, "500 5.5.1 Error: command not recognized\r\n");
    text_str(&want, "421 4.7.0 " HOST " Error: too many errors\r\n");
    struct scenario sc = {.name = "too_many_errors",
                          .steps = {{NULL, 0, 1, 0}, {in.p, in.len, 51, 0}},
                          .want = want.p};
    run_scenario(&sc);
    free(in.p);
    free(want.p);
}

/* Thousands of pipelined commands: replies stay in order even when output backs up. */
static void test_many_pipelined_commands(void **state)
{
    (void)state;
    struct text in = {0}, want = {0};
    text_str(&want, GREET);
    for (int i = 0; i < 8000; i++) {
        text_str(&in, "NOOP\r\n");
        text_str(&want, "250 2.0.0 Ok\r\n");
    }
    text_str(&in, "QUIT\r\n");
    text_str(&want, BYE);
    struct scenario sc = {.name = "many_pipelined_commands",
                          .steps = {{NULL, 0, 1, 0}, {in.p, in.len, 8001, 0}},
                          .want = want.p};
    run_scenario(&sc);
    free(in.p);
    free(want.p);
}

/* Replies far larger than the commands, to a client with a small receive buffer: the
 * server stops reading while its output backs up, and every reply still comes in order. */
static void test_output_backpressure(void **state)
{
    (void)state;
    struct text in = {0}, want = {0};
    text_str(&want, GREET);
    for (int i = 0; i < 20000; i++) {
        text_str(&in, "EHLO c.test\r\n");
        text_str(&want, EHLO_R);
    }
    text_str(&in, "QUIT\r\n");
    text_str(&want, BYE);
    struct scenario sc = {.name = "output_backpressure",
                          .small_rcvbuf = true,
                          .steps = {{NULL, 0, 1, 0}, {in.p, in.len, 20001, 0}},
                          .want = want.p};
    run_scenario(&sc);
    free(in.p);
    free(want.p);
}

/* Content lines far longer than the read chunk, dot-stuffed or not, a CR split from its LF
 * at a chunk edge, are stored exactly. */
static void test_long_data_lines(void **state)
{
    (void)state;
    struct text in1 = {0}, in2 = {0}, content = {0};
    static const struct {
        char c;
        size_t n;
        const char *after;
    } lines[] = {{'z', 100000, "\r\n.."}, {'y', 20000, "\r\n."}, {'w', 20000, "\r\n"},
                 {'v', 9000, "\r"}};
    for (size_t i = 0; i < 4; i++) {
        text_add(&in1, NULL, lines[i].n, lines[i].c);
        text_str(&in1, lines[i].after);
        if (i == 1) /* the dot-stuffed line starts with a dot: one octet more in the first piece */
            text_str(&content, ".");
        for (size_t left = lines[i].n + (i == 1), first = 1; left > 0; first = 0) {
            size_t k = left < SMTPD_LINE_OCTETS ? left : SMTPD_LINE_OCTETS;
            text_add(&content, NULL, k - (first && i == 1), lines[i].c);
            text_str(&content, "\r\n");
            left -= k;
        }
    }
    text_str(&in2, "\n.\r\n"); /* the LF of the last line comes in the next write */
    struct scenario sc = {
        .name = "long_data_lines_refused",
        .max_size = 200000,
        .steps = {{NULL, 0, 1, 0},
                  {"EHLO c.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\nDATA\r\n", 0, 4,
                   0},
                  {in1.p, in1.len, 0, 0},
                  {in2.p, in2.len, 1, STEP_PAUSE},
                  {"QUIT\r\n", 0, 1, 0}},
        .want = GREET EHLO_CAPS("200000") OK_MAIL OK_RCPT GO_DATA
            "554 5.6.0 Error: message has lines longer than 998 octets\r\n" BYE,
        .nmsgs = 0};
    run_scenario(&sc);
    sc.name = "long_data_lines_split";
    sc.tweak = tweak_split;
    sc.want = GREET EHLO_CAPS("200000") OK_MAIL OK_RCPT GO_DATA QUEUED BYE;
    sc.nmsgs = 1;
    sc.sender = "a@b.test";
    sc.rcpts = "c@d.test";
    sc.helo = "c.test";
    sc.with = "ESMTP";
    sc.content = content.p;
    sc.content_len = content.len;
    run_scenario(&sc);
    free(in1.p);
    free(in2.p);
    free(content.p);
}

/* A content past 64 KB goes to a body file as it arrives (queue/bodyfile.c) and reads back
 * from the queue byte for byte: the header block in LMDB, the rest (dot lines unstuffed,
 * arriving in pieces) from the file. */
static void test_large_message_body_file(void **state)
{
    (void)state;
    struct text in = {0}, content = {0};
    text_str(&in, "Subject: big\r\n\r\n");
    text_str(&content, "Subject: big\r\n\r\n");
    for (int i = 0; i < 6000; i++) {
        text_str(&in, i % 3 ? LINE50 : "..dot line\r\n");
        text_str(&content, i % 3 ? LINE50 : ".dot line\r\n");
    }
    size_t half = in.len / 2;
    text_str(&in, ".\r\n");
    struct scenario sc = {
        .name = "large_message_body_file",
        .max_size = 1000000,
        .steps = {{NULL, 0, 1, 0},
                  {"EHLO c.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\nDATA\r\n", 0, 4,
                   0},
                  {in.p, half, 0, 0},
                  {in.p + half, in.len - half, 1, 0},
                  {"QUIT\r\n", 0, 1, 0}},
        .want = GREET EHLO_CAPS("1000000") OK_MAIL OK_RCPT GO_DATA QUEUED BYE,
        .nmsgs = 1, .sender = "a@b.test", .rcpts = "c@d.test", .helo = "c.test",
        .with = "ESMTP", .content = content.p, .content_len = content.len};
    run_scenario(&sc);
    free(in.p);
    free(content.p);
}

/* A huge message is refused with 552 without being buffered; the session goes on. */
static void test_huge_message_refused(void **state)
{
    (void)state;
    struct text in = {0};
    for (int i = 0; i < 40000; i++)
        text_str(&in, LINE50);
    text_str(&in, ".\r\nNOOP\r\nQUIT\r\n");
    struct scenario sc = {
        .name = "huge_message_refused",
        .max_size = 10000,
        .steps = {{NULL, 0, 1, 0},
                  {"EHLO c.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\nDATA\r\n", 0, 4,
                   0},
                  {in.p, in.len, 3, 0}},
        .want = GREET EHLO_CAPS("10000") OK_MAIL OK_RCPT GO_DATA
        "552 5.3.4 Error: message exceeds fixed maximum message size\r\n"
        "250 2.0.0 Ok\r\n" BYE};
    run_scenario(&sc);
    free(in.p);
}

/* Content over max_message_size on one long line (over 998 octets too) is refused 552, not
 * 554 for the line: a non-LAST BDAT chunk gets its 552 at once (RFC 3030 §4: the
 * transaction is over, the next chunk is refused 503), and DATA gets 552 at the end. */
static void test_over_size_on_one_line_is_552(void **state)
{
    (void)state;
    struct text bdat = {0}, data = {0};
    text_str(&bdat, "BDAT 2000\r\n");
    text_add(&bdat, NULL, 2000, 'x');
    text_add(&data, NULL, 2000, 'x');
    text_str(&data, "\r\n.\r\n");
    struct scenario sc = {
        .name = "over_size_on_one_line_is_552",
        .max_size = 1000,
        .steps = {{NULL, 0, 1, 0},
                  {"EHLO c.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\n", 0, 3, 0},
                  {bdat.p, bdat.len, 1, 0},
                  {"BDAT 3 LAST\r\nabc", 0, 1, 0},
                  {"MAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\nDATA\r\n", 0, 3, 0},
                  {data.p, data.len, 1, 0},
                  {"QUIT\r\n", 0, 1, 0}},
        .want = GREET EHLO_CAPS("1000") OK_MAIL OK_RCPT
        "552 5.3.4 Error: message exceeds fixed maximum message size\r\n"
        "503 5.5.1 Error: need MAIL command\r\n" OK_MAIL OK_RCPT GO_DATA
        "552 5.3.4 Error: message exceeds fixed maximum message size\r\n" BYE};
    run_scenario(&sc);
    free(bdat.p);
    free(data.p);
}

/* Next value of a xorshift64 generator (deterministic inputs). */
static uint64_t rnd(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* Random mixes of commands, dots, CR/LF and junk bytes: the server answers or closes, never
 * crashes, and whatever it queued was acknowledged. */
static void test_random_input(void **state)
{
    (void)state;
    static const char *const tok[] = {"EHLO x.test\r\n",
                                      "HELO y\r\n",
                                      "MAIL FROM:<a@b.test>\r\n",
                                      "RCPT TO:<c@d.test>\r\n",
                                      "DATA\r\n",
                                      ".\r\n",
                                      "..",
                                      ".",
                                      "\r",
                                      "\n",
                                      "\r\n",
                                      "RSET\r\n",
                                      "NOOP\r\n",
                                      "MAIL FROM:<> SIZE=99\r\n",
                                      "BDAT 10\r\n",
                                      "\0",
                                      "\xff\xfe",
                                      "x"};
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (int round = 0; round < 12; round++) {
        struct text in = {0};
        while (in.len < 30000) {
            uint64_t r = rnd(&x);
            size_t k = r % (sizeof tok / sizeof tok[0]);
            if (r % 97 == 0)
                text_add(&in, NULL, (size_t)(rnd(&x) % 20000), (char)rnd(&x));
            else
                text_add(&in, tok[k], k == 15 ? 1 : strlen(tok[k]), 0);
        }
        text_str(&in, "\r\n.\r\nQUIT\r\n");
        struct scenario sc = {.name = "random_input",
                              .steps = {{NULL, 0, 1, 0}, {in.p, in.len, 0, STEP_SHUTWR}},
                              .nmsgs = -1};
        run_scenario(&sc);
        free(in.p);
    }
}

/* ---- lifecycle ---- */

/* Child process: holds the spool's LMDB write lock from "L" until "U" on `in`, so the
 * daemon's commit (and so queue_put's callback) waits as long as the test wants. */
static void lock_holder(const char *spool, int in, int out)
{
    char path[128], c;
    MDB_env *env;
    MDB_txn *txn;
    snprintf(path, sizeof path, "%s/queue.mdb", spool);
    if (read(in, &c, 1) != 1 || mdb_env_create(&env) != 0 ||
        mdb_env_open(env, path, MDB_NOSUBDIR, 0600) != 0 || mdb_txn_begin(env, NULL, 0, &txn) != 0)
        _exit(1);
    if (write(out, "k", 1) != 1 || read(in, &c, 1) != 1)
        _exit(1);
    mdb_txn_abort(txn);
    mdb_env_close(env);
    _exit(0);
}

struct detach {
    struct harness h;
    struct client cl;
    int to_child;
    int64_t freed_at; /* 0 until smtpd_free ran */
};

/* Tick of the detach test: 300 ms after the client sent its message, free the server while
 * the message waits on the held lock, then release the lock; stop once it is committed. */
static void detach_tick(evutil_socket_t fd, short what, void *arg)
{
    struct detach *d = arg;
    struct queue_stats st;
    (void)fd;
    (void)what;
    if (clock_mono_ms() > d->h.deadline) {
        d->h.timed_out = true;
        event_base_loopbreak(d->h.base);
        return;
    }
    if (!d->freed_at && atomic_load(&d->cl.done) == 0 && d->cl.complete >= 5) {
        if (!d->h.deadline_mark)
            d->h.deadline_mark = clock_mono_ms() + 300;
        if (clock_mono_ms() < d->h.deadline_mark)
            return;
        assert_int_equal(smtpd_sessions(d->h.sd), 1);
        smtpd_free(d->h.sd);
        d->h.sd = NULL;
        d->freed_at = clock_mono_ms();
        assert_int_equal(write(d->to_child, "U", 1), 1);
        return;
    }
    queue_get_stats(d->h.q, &st);
    if (d->freed_at && atomic_load(&d->cl.done) && st.msgs_committed == 1)
        event_base_loopbreak(d->h.base);
}

/* smtpd_free() while a message waits on the queue: the client gets no 250 (nothing was
 * acknowledged), the message is committed anyway, the detached session frees itself in
 * the queue callback, and accepted() is not called on the freed server. */
static void test_free_while_queueing(void **state)
{
    (void)state;
    static const struct scenario sc = {
        .name = "free_while_queueing",
        .steps = {
            {NULL, 0, 1, 0},
            {"EHLO c.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\nDATA\r\n", 0, 4, 0},
            {"body\r\n.\r\n", 0, 0, 0}}};
    struct detach *d = xcalloc(1, sizeof *d);
    int down[2], up[2];
    char err[256] = "", k;
    assert_int_equal(pipe(down), 0);
    assert_int_equal(pipe(up), 0);
    uint16_t port = free_port(false);
    harness_open(&d->h, &sc, port);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        lock_holder(d->h.spool, down[0], up[1]);
    d->to_child = down[1];
    assert_int_equal(write(down[1], "L", 1), 1);
    assert_int_equal(read(up[0], &k, 1), 1);
    d->h.sd = smtpd_create(d->h.base, &d->h.conf, d->h.q, on_accepted, &d->h, err, sizeof err);
    if (!d->h.sd)
        fail_msg("smtpd_create: %s", err);
    d->cl.sc = &sc;
    d->cl.port = port;
    d->h.cl = &d->cl;
    d->h.deadline = clock_mono_ms() + TEST_DEADLINE_MS;
    d->h.tick = event_new(d->h.base, -1, EV_PERSIST, detach_tick, d);
    struct timeval tv = {0, 5000};
    event_add(d->h.tick, &tv);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, client_main, &d->cl), 0);
    event_base_dispatch(d->h.base);
    pthread_join(t, NULL);
    int status = -1;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_false(d->h.timed_out);
    expect_bytes(sc.name, "transcript", d->cl.got, d->cl.gotlen,
                 GREET EHLO_R OK_MAIL OK_RCPT GO_DATA,
                 strlen(GREET EHLO_R OK_MAIL OK_RCPT GO_DATA));
    harness_read_queue(&d->h);
    assert_int_equal(d->h.nmsgs, 1);
    assert_int_equal(d->h.naccepted, 0);
    assert_string_equal(d->h.msgs[0].sender, "a@b.test");
    free(d->cl.got);
    harness_close(&d->h);
    close(down[0]);
    close(down[1]);
    close(up[0]);
    close(up[1]);
    free(d);
}

/* Malformed or unusable listen addresses make smtpd_create fail with a message. */
static void test_bad_listen_addresses(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "nonsense",     "127.0.0.1", "127.0.0.1:",    "127.0.0.1:99999",
        "127.0.0.1:2x", "[::1:25",   "[::1]25",       "::1:25",
        "1.2.3.4.5:25", ":25",       "example.com:25"};
    struct event_base *base = event_base_new();
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct conf c;
        char *listen[1] = {(char *)bad[i]};
        char err[256] = "";
        memset(&c, 0, sizeof c);
        c.hostname = HOST;
        c.smtpd.listen = listen;
        c.smtpd.nlisten = 1;
        struct smtpd *sd = smtpd_create(base, &c, NULL, NULL, NULL, err, sizeof err);
        if (sd || !err[0])
            fail_msg("listen \"%s\": got %p \"%s\", want NULL and a message", bad[i], (void *)sd,
                     err);
    }
    /* the same address twice: the second bind fails, the first listener is released */
    char addr[64], err[256] = "";
    snprintf(addr, sizeof addr, "127.0.0.1:%u", free_port(false));
    char *listen[2] = {addr, addr};
    struct conf c;
    memset(&c, 0, sizeof c);
    c.hostname = HOST;
    c.smtpd.listen = listen;
    c.smtpd.nlisten = 2;
    assert_null(smtpd_create(base, &c, NULL, NULL, NULL, err, sizeof err));
    if (!strstr(err, "in use"))
        fail_msg("duplicate listen: got \"%s\", want \"address already in use\"", err);
    event_base_free(base);
}

/* After smtpd_stop_listening new connections are refused. */
static void test_stop_listening(void **state)
{
    (void)state;
    char addr[64], err[256] = "";
    uint16_t port = free_port(false);
    snprintf(addr, sizeof addr, "127.0.0.1:%u", port);
    char *listen[1] = {addr};
    struct conf c;
    memset(&c, 0, sizeof c);
    c.hostname = HOST;
    c.smtpd.listen = listen;
    c.smtpd.nlisten = 1;
    struct event_base *base = event_base_new();
    struct smtpd *sd = smtpd_create(base, &c, NULL, NULL, NULL, err, sizeof err);
    if (!sd)
        fail_msg("smtpd_create: %s", err);
    smtpd_stop_listening(sd);
    assert_int_equal(smtpd_sessions(sd), 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int rc = connect(fd, (struct sockaddr *)&a, sizeof a);
    int e = errno;
    close(fd);
    if (rc == 0 || e != ECONNREFUSED)
        fail_msg("connect after stop: got rc %d errno %d, want ECONNREFUSED", rc, e);
    smtpd_free(sd);
    event_base_free(base);
}

int main(void)
{
    enum { NS = sizeof scenarios / sizeof scenarios[0] };
    struct CMUnitTest tests[NS + 16];
    size_t n = 0;
    signal(SIGPIPE, SIG_IGN);
    evthread_use_pthreads();
    snprintf(auth_script, sizeof auth_script, "/tmp/test_smtpd_auth.%ld", (long)getpid());
    FILE *f = fopen(auth_script, "w");
    if (!f || fputs("#!/bin/sh\nread -r pw\n"
                    "[ \"$1\" = alice ] && [ \"$pw\" = secret ] && exit 0\n"
                    "[ \"$1\" = down ] && exit 75\n"
                    "[ \"$1\" = slow ] && sleep 30\n"
                    "exit 1\n", f) < 0 || fclose(f) != 0 || chmod(auth_script, 0755) < 0) {
        perror(auth_script);
        return 1;
    }
    for (size_t i = 0; i < NS; i++) {
        struct CMUnitTest t = {scenarios[i].name, test_dialogue, NULL, NULL, (void *)&scenarios[i]};
        tests[n++] = t;
    }
    struct CMUnitTest extra[] = {
        cmocka_unit_test(test_long_command_lines),   cmocka_unit_test(test_too_many_recipients),
        cmocka_unit_test(test_too_many_errors),      cmocka_unit_test(test_many_pipelined_commands),
        cmocka_unit_test(test_output_backpressure),  cmocka_unit_test(test_long_data_lines),
        cmocka_unit_test(test_huge_message_refused),
        cmocka_unit_test(test_large_message_body_file),  cmocka_unit_test(test_over_size_on_one_line_is_552),
        cmocka_unit_test(test_bad_listen_addresses),
        cmocka_unit_test(test_stop_listening),       cmocka_unit_test(test_free_while_queueing),
        cmocka_unit_test(test_random_input),         cmocka_unit_test(test_long_auth_lines),
    };
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++)
        tests[n++] = extra[i];
    int rc = _cmocka_run_group_tests("smtpd", tests, n, NULL, NULL);
    unlink(auth_script);
    return rc;
}
