/* bench/inject.c: the benchmark's SMTP injector for the tls and cleartext scenarios.
 *
 * Usage: inject [-t] [-s sessions] [-l size] [-f sender] [-H helo] ADDR:PORT|- DOMAIN:COUNT...
 *
 * What smtp-source -d does, plus STARTTLS: `sessions` threads (default 20); the DOMAIN:COUNT
 * jobs are dealt round-robin to them (job i to thread i mod sessions); a thread runs its jobs
 * in turn, one SMTP session per job: connect, EHLO, with -t STARTTLS + handshake + EHLO
 * again, then COUNT messages of about `size` bytes (default 2048) to user@DOMAIN over that
 * one connection (MAIL, RCPT, DATA, each answered before the next: no pipelining, like
 * smtp-source), QUIT. ADDR:PORT is where every session goes (an MTA); "-" sends each job to
 * the address its domain's MX has in the bench zone, given as DOMAIN:COUNT:ADDR:PORT.
 * TLS: TLS 1.2 or 1.3 with one cipher (TLS_AES_128_GCM_SHA256; for TLS 1.2
 * ECDHE-RSA-AES128-GCM-SHA256), no certificate check (every MTA gets the same client), a
 * full handshake per session (no resumption). Every reply is read whole (multi-line
 * replies up to their last line, at most 4096 bytes a line) with a 120 s timeout. Prints
 * "failed N" (messages not accepted with 250) on stdout at the end and exits 0; exits 1 on
 * bad usage or when TLS cannot be set up. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define INJ_LINE 4096
#define INJ_MAXJOBS 100000

struct inj_job {
    char domain[128];
    char addr[64];
    int count;
};

struct inj_conn {
    int fd;
    SSL *ssl;
    char buf[INJ_LINE];
    size_t len;
};

static struct inj_job inj_jobs[INJ_MAXJOBS];
static int inj_njobs, inj_sessions = 20, inj_size = 2048, inj_tls;
static const char *inj_from = "sender@source.bench.test", *inj_helo = "source.bench.test";
static const char *inj_target; /* NULL: each job's own address */
static SSL_CTX *inj_ctx;
static char *inj_body; /* the message, dot-stuffed, ending in CRLF.CRLF */
static long inj_failed;
static pthread_mutex_t inj_lock = PTHREAD_MUTEX_INITIALIZER;

/* Connects to "a.b.c.d:port" with a 120 s send/receive timeout; -1 on failure. */
static int inj_connect(const char *spec)
{
    char host[64];
    const char *colon = strrchr(spec, ':');
    if (!colon || (size_t)(colon - spec) >= sizeof host)
        return -1;
    memcpy(host, spec, (size_t)(colon - spec));
    host[colon - spec] = 0;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1))};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return -1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    if (fd < 0)
        return -1;
    struct timeval tv = {.tv_sec = 120};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Writes all of p (through TLS after STARTTLS); 0 or -1. */
static int inj_write(struct inj_conn *c, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = c->ssl ? SSL_write(c->ssl, p, n > 1 << 30 ? 1 << 30 : (int)n)
                           : write(c->fd, p, n);
        if (w < 0 && !c->ssl && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads one reply (every line up to "ddd "); returns its code or -1. */
static int inj_reply(struct inj_conn *c)
{
    for (;;) {
        char *nl = memchr(c->buf, '\n', c->len);
        if (nl) {
            size_t used = (size_t)(nl - c->buf) + 1;
            int code = used >= 4 ? atoi(c->buf) : -1, last = used < 4 || c->buf[3] != '-';
            memmove(c->buf, c->buf + used, c->len - used);
            c->len -= used;
            if (last)
                return code >= 100 && code <= 599 ? code : -1;
            continue;
        }
        if (c->len == sizeof c->buf)
            return -1;
        ssize_t r = c->ssl ? SSL_read(c->ssl, c->buf + c->len, (int)(sizeof c->buf - c->len))
                           : read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
        if (r < 0 && !c->ssl && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        c->len += (size_t)r;
    }
}

/* Sends one command line and returns the reply code (-1 on a broken connection). */
static int inj_cmd(struct inj_conn *c, const char *fmt, const char *arg)
{
    char line[512];
    int n = snprintf(line, sizeof line, fmt, arg);
    if (n < 0 || (size_t)n >= sizeof line || inj_write(c, line, (size_t)n) < 0)
        return -1;
    return inj_reply(c);
}

/* EHLO, and with -t STARTTLS, the handshake and EHLO again; 0 or -1. */
static int inj_hello(struct inj_conn *c)
{
    if (inj_reply(c) != 220 || inj_cmd(c, "EHLO %s\r\n", inj_helo) != 250)
        return -1;
    if (!inj_tls)
        return 0;
    if (inj_cmd(c, "STARTTLS\r\n", NULL) != 220 || c->len != 0)
        return -1;
    if (!(c->ssl = SSL_new(inj_ctx)) || SSL_set_fd(c->ssl, c->fd) != 1 ||
        SSL_connect(c->ssl) != 1) {
        ERR_clear_error();
        return -1;
    }
    return inj_cmd(c, "EHLO %s\r\n", inj_helo) == 250 ? 0 : -1;
}

/* One message to user@domain; 1 when it was accepted, 0 when refused, -1 when the
 * connection broke. */
static int inj_message(struct inj_conn *c, const char *domain)
{
    char rcpt[160];
    snprintf(rcpt, sizeof rcpt, "user@%s", domain);
    int r = inj_cmd(c, "MAIL FROM:<%s>\r\n", inj_from);
    if (r < 0)
        return -1;
    if (r != 250)
        return inj_cmd(c, "RSET\r\n", NULL) < 0 ? -1 : 0;
    if ((r = inj_cmd(c, "RCPT TO:<%s>\r\n", rcpt)) < 0)
        return -1;
    if (r != 250 && r != 251)
        return inj_cmd(c, "RSET\r\n", NULL) < 0 ? -1 : 0;
    if ((r = inj_cmd(c, "DATA\r\n", NULL)) != 354)
        return r < 0 ? -1 : 0;
    if (inj_write(c, inj_body, strlen(inj_body)) < 0 || (r = inj_reply(c)) < 0)
        return -1;
    return r == 250;
}

/* One job: a session with COUNT messages; returns the messages not accepted. */
static int inj_run_job(const struct inj_job *j)
{
    struct inj_conn c = {.fd = inj_connect(inj_target ? inj_target : j->addr)};
    int ok = 0;
    if (c.fd >= 0 && inj_hello(&c) == 0) {
        for (int k = 0; k < j->count; k++) {
            int r = inj_message(&c, j->domain);
            if (r < 0)
                break;
            ok += r;
        }
        inj_cmd(&c, "QUIT\r\n", NULL);
    }
    if (c.ssl) {
        SSL_shutdown(c.ssl);
        SSL_free(c.ssl);
    }
    if (c.fd >= 0)
        close(c.fd);
    return j->count - ok;
}

/* A thread: jobs i, i + sessions, i + 2 sessions, ... */
static void *inj_thread(void *arg)
{
    long failed = 0;
    for (int i = (int)(long)arg; i < inj_njobs; i += inj_sessions)
        failed += inj_run_job(&inj_jobs[i]);
    pthread_mutex_lock(&inj_lock);
    inj_failed += failed;
    pthread_mutex_unlock(&inj_lock);
    return NULL;
}

/* The message: headers and 76-character lines up to about inj_size bytes, then ".". */
static char *inj_make_body(void)
{
    char head[256];
    int hn = snprintf(head, sizeof head, "From: <%s>\r\nTo: <user@bench.test>\r\n"
                      "Subject: bench\r\n\r\n", inj_from);
    size_t lines = inj_size > hn ? (size_t)(inj_size - hn) / 78 + 1 : 1;
    char *b = malloc((size_t)hn + lines * 78 + 8);
    if (!b)
        return NULL;
    memcpy(b, head, (size_t)hn);
    char *p = b + hn;
    for (size_t i = 0; i < lines; i++, p += 78)
        memcpy(p, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n",
               78);
    memcpy(p, ".\r\n", 4);
    return b;
}

/* -t: the client context (TLS 1.2+, one cipher, no verification, no resumption). */
static SSL_CTX *inj_tls_ctx(void)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx || SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
        SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256") != 1 ||
        SSL_CTX_set_cipher_list(ctx, "ECDHE-RSA-AES128-GCM-SHA256") != 1) {
        ERR_print_errors_fp(stderr);
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    return ctx;
}

/* DOMAIN:COUNT or DOMAIN:COUNT:ADDR:PORT into the next job; 0 or -1. */
static int inj_parse_job(const char *spec)
{
    if (inj_njobs == INJ_MAXJOBS)
        return -1;
    struct inj_job *j = &inj_jobs[inj_njobs];
    const char *c1 = strchr(spec, ':');
    if (!c1 || (size_t)(c1 - spec) >= sizeof j->domain)
        return -1;
    memcpy(j->domain, spec, (size_t)(c1 - spec));
    j->domain[c1 - spec] = 0;
    char *end;
    long n = strtol(c1 + 1, &end, 10);
    if (n < 0 || n > 100000000 || (*end && *end != ':'))
        return -1;
    j->count = (int)n;
    if (*end && strlen(end + 1) < sizeof j->addr)
        strcpy(j->addr, end + 1);
    else if (!inj_target)
        return -1;
    inj_njobs++;
    return 0;
}

/* Parses options and jobs, runs the threads, prints "failed N". */
int main(int argc, char **argv)
{
    int ch;
    while ((ch = getopt(argc, argv, "ts:l:f:H:")) != -1) {
        if (ch == 't')
            inj_tls = 1;
        else if (ch == 's')
            inj_sessions = atoi(optarg);
        else if (ch == 'l')
            inj_size = atoi(optarg);
        else if (ch == 'f')
            inj_from = optarg;
        else if (ch == 'H')
            inj_helo = optarg;
        else
            return 1;
    }
    if (optind + 1 >= argc || inj_sessions < 1 || inj_sessions > 1000 || inj_size < 1) {
        fprintf(stderr, "usage: inject [-t] [-s sessions] [-l size] [-f sender] [-H helo] "
                        "ADDR:PORT|- DOMAIN:COUNT[:ADDR:PORT]...\n");
        return 1;
    }
    inj_target = strcmp(argv[optind], "-") ? argv[optind] : NULL;
    for (int i = optind + 1; i < argc; i++)
        if (inj_parse_job(argv[i]) < 0) {
            fprintf(stderr, "inject: bad job %s\n", argv[i]);
            return 1;
        }
    signal(SIGPIPE, SIG_IGN);
    if ((inj_tls && !(inj_ctx = inj_tls_ctx())) || !(inj_body = inj_make_body()))
        return 1;
    pthread_t th[1000];
    int n = inj_sessions < inj_njobs ? inj_sessions : inj_njobs;
    for (int i = 0; i < n; i++)
        if (pthread_create(&th[i], NULL, inj_thread, (void *)(long)i) != 0)
            return 1;
    for (int i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    printf("failed %ld\n", inj_failed);
    return 0;
}
