/* bench/sink.c: the benchmark's SMTP sink (one process, many listening addresses).
 *
 * Usage: sink [-d delay_ms] [-m maxconn] [-c maxperclient] [-n maxmsgs] [-R msgs_per_s]
 *             [-i interval_ms] [-r record_file] [-t cert.pem -k key.pem] [-C]
 *             -o series_file ADDR:PORT...
 *
 * Speaks enough ESMTP for an MTA's client: greeting, EHLO/HELO (PIPELINING, SIZE, 8BITMIME,
 * ENHANCEDSTATUSCODES; CHUNKING with -C), MAIL, RCPT, DATA, BDAT (-C: RFC 3030 chunks, a
 * message ends with the LAST one; a chunk without recipients is read and answered 503),
 * RSET, NOOP, QUIT; everything else gets 502. It
 * throws every message away and counts:
 *   conns    connections accepted and served
 *   refused  connections answered "421" because maxconn (per listening address) or
 *            maxperclient (per client address, over every listening address) were open
 *   mesg     messages received (the "." of a DATA, or BDAT LAST, with a recipient)
 *   rcpt     recipients of those messages
 *   peak     most connections open at once on one listening address
 * -d delays every reply (greeting included) by delay_ms after the command it answers was
 * read, keeping replies in order: pipelined commands read together are answered together,
 * like a link with that much latency. -m caps simultaneous connections per address; the
 * excess gets "421 4.7.0 too many connections" and is closed, as a real server does; -c does
 * the same per client address (the receiver's limit on one sender). -n N answers the MAIL
 * after a connection's N-th message with "421 4.7.0 too many messages" and closes it (a
 * client that ends its connection after N messages never sees it). -R N accepts at most N
 * messages in any 1-second window over every connection: the first RCPT of a transaction
 * past that is answered "451 4.7.1 rate limited" (the transaction stays open, the client may
 * RSET or QUIT), so a client over the rate has its recipients deferred, never bounced. The
 * sink answers 5xx only to protocol errors (bad sequence, unknown command, line too long);
 * those replies are counted too.
 * Every interval_ms (default 100) in which a counter changed, and once at SIGTERM/SIGINT, it
 * appends one line to series_file:
 *   wall_ms conns refused mesg rcpt peak first_ms last_ms r421 r451 r5xx
 * where first_ms / last_ms are the wall-clock times (ms) the first / last message was
 * received (0 before any), r421 the -n "421 too many messages" replies, r451 the -R
 * "451 rate limited" replies and r5xx every 5xx reply sent. -r appends one line per received message to record_file:
 *   ID MONO_NS
 * where ID is the value of the message's first "X-Bench-Id:" header (up to 63 bytes of
 * [A-Za-z0-9._-]; "-" when there is none) and MONO_NS the CLOCK_MONOTONIC time in
 * nanoseconds at which the end of its DATA (the final ".") was read. Only the header
 * section is scanned, a line at a time, at most SINK_HLINE bytes of each. The process
 * exits on SIGTERM/SIGINT after writing the final line. Input is untrusted: command lines
 * longer than the buffer are answered 500 and skipped, nothing is ever stored.
 * -t/-k offer STARTTLS (RFC 3207) with that certificate and key: TLS 1.2 or 1.3, one cipher
 * (TLS_AES_128_GCM_SHA256, or ECDHE-RSA/ECDSA-AES128-GCM-SHA256 for TLS 1.2) so every client
 * gets the same, no session tickets or cache (each connection a full handshake, the same for
 * every MTA); input pipelined behind STARTTLS is discarded, as the RFC asks. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define SINK_BUF 65536
#define SINK_MAXLISTEN 64
#define SINK_MAXREPLIES 256
#define SINK_HLINE 128 /* header bytes kept per line for the -r id */
#define SINK_IDMAX 64
#define SINK_NORCPT "503 5.5.1 Error: need RCPT command\r\n"

struct sink_reply {
    int64_t due_ms;
    const char *text;
};

struct sink_conn {
    int fd, lidx, indata, datast, nrcpt, skipping, closing;
    int cidx;           /* index in sink_clients */
    int nmsg;           /* messages received on this connection (-n) */
    int inhdr;          /* -r: still in the header section of the message */
    size_t hlen;        /* -r: bytes of the current header line kept in hline */
    char hline[SINK_HLINE];
    char id[SINK_IDMAX]; /* -r: X-Bench-Id of the message being received, "" if none */
    size_t inlen, outlen, outoff;
    char in[SINK_BUF];
    char out[SINK_BUF];
    struct sink_reply q[SINK_MAXREPLIES]; /* delayed replies, in order */
    int qhead, qlen;
    SSL *ssl;           /* -t: after STARTTLS */
    int tls_next;       /* -t: start the handshake once the 220 is written */
    int handshaking;    /* -t: handshake in progress */
    int want_write;     /* -t: OpenSSL needs the socket writable to go on */
    uint64_t bdat_left; /* -C: chunk bytes still to read */
    int bdat_last;      /* -C: the chunk being read is the LAST one */
    int bdat_inmsg;     /* -C: a chunk of the current message has been read */
};

static struct {
    uint64_t conns, refused, mesg, rcpt, peak, r421, r451, r5xx;
    int64_t first_ms, last_ms;
} sink_st;
static int sink_open[SINK_MAXLISTEN];
static int sink_delay_ms, sink_maxconn = 100000, sink_epfd;
static int sink_maxclient = 100000; /* -c: connections per client address */
static int sink_maxmsgs;            /* -n: messages per connection, 0 = unlimited */
static int sink_rate;               /* -R: messages per second, 0 = unlimited */
static int64_t *sink_rate_ring;     /* -R: monotonic ms of the last sink_rate acceptances */
static int sink_rate_pos;
static int sink_chunking; /* -C: offer CHUNKING */

#define SINK_MAXCLIENTS 256
/* -c: open connections per client IPv4 address (the bench has a handful of clients). */
static struct {
    uint32_t addr;
    int open;
} sink_clients[SINK_MAXCLIENTS];
static int sink_nclients;
static volatile sig_atomic_t sink_stop;
static FILE *sink_rec; /* -r */
static SSL_CTX *sink_tls; /* -t/-k */

/* Wall-clock time in milliseconds. */
static int64_t sink_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Monotonic time in milliseconds. */
static int64_t sink_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Monotonic time in nanoseconds (the -r record; Python's time.monotonic_ns is the same clock). */
static int64_t sink_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* SIGTERM/SIGINT: leave the loop. */
static void sink_on_signal(int sig)
{
    (void)sig;
    sink_stop = 1;
}

/* Opens one listening socket on "a.b.c.d:port". */
static int sink_listen(const char *spec)
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
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 1024) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Appends bytes to the output buffer (replies are tiny; a full buffer closes the conn). */
static void sink_emit(struct sink_conn *c, const char *s)
{
    size_t n = strlen(s);
    if (s[0] == '5' && strncmp(s, SINK_NORCPT, sizeof SINK_NORCPT - 1) != 0)
        sink_st.r5xx++; /* the 503 to DATA after refused RCPTs is RFC 2920's answer, no error */
    if (c->outlen + n > sizeof c->out) {
        c->closing = 1;
        return;
    }
    memcpy(c->out + c->outlen, s, n);
    c->outlen += n;
}

/* Queues a reply: at once without delay, else due delay_ms after now. */
static void sink_reply(struct sink_conn *c, const char *s)
{
    if (sink_delay_ms == 0 && c->qlen == 0) {
        sink_emit(c, s);
        return;
    }
    if (c->qlen == SINK_MAXREPLIES) {
        c->closing = 1;
        return;
    }
    struct sink_reply *r = &c->q[(c->qhead + c->qlen++) % SINK_MAXREPLIES];
    r->due_ms = sink_mono_ms() + sink_delay_ms;
    r->text = s;
}

/* Moves due delayed replies to the output buffer; returns ms until the next, or -1. */
static int64_t sink_release(struct sink_conn *c, int64_t now)
{
    while (c->qlen > 0) {
        struct sink_reply *r = &c->q[c->qhead];
        if (r->due_ms > now)
            return r->due_ms - now;
        sink_emit(c, r->text);
        c->qhead = (c->qhead + 1) % SINK_MAXREPLIES;
        c->qlen--;
    }
    return -1;
}

/* Maps an OpenSSL result to read/write conventions: bytes, 0 at the peer's close_notify,
 * -1 with errno EAGAIN when it must wait (want_write set when it waits for writability). */
static ssize_t sink_ssl_result(struct sink_conn *c, int r)
{
    c->want_write = 0;
    if (r > 0)
        return r;
    int e = SSL_get_error(c->ssl, r);
    c->want_write = e == SSL_ERROR_WANT_WRITE;
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        errno = EAGAIN;
        return -1;
    }
    ERR_clear_error();
    if (e == SSL_ERROR_ZERO_RETURN)
        return 0;
    errno = EPROTO;
    return -1;
}

/* write(2), or SSL_write after STARTTLS. */
static ssize_t sink_io_write(struct sink_conn *c, const char *p, size_t n)
{
    if (!c->ssl)
        return write(c->fd, p, n);
    return sink_ssl_result(c, SSL_write(c->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n));
}

/* read(2), or SSL_read after STARTTLS. */
static ssize_t sink_io_read(struct sink_conn *c, char *p, size_t n)
{
    if (!c->ssl)
        return read(c->fd, p, n);
    return sink_ssl_result(c, SSL_read(c->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n));
}

/* Writes what the output buffer holds; arms EPOLLOUT when the socket is full. */
static int sink_flush(struct sink_conn *c)
{
    while (c->outoff < c->outlen && !c->handshaking) {
        ssize_t n = sink_io_write(c, c->out + c->outoff, c->outlen - c->outoff);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        if (n <= 0)
            return -1;
        c->outoff += (size_t)n;
    }
    if (c->outoff == c->outlen)
        c->outoff = c->outlen = 0;
    uint32_t out = c->outlen || c->want_write ? EPOLLOUT : 0;
    struct epoll_event ev = {.events = EPOLLIN | out, .data.ptr = c};
    epoll_ctl(sink_epfd, EPOLL_CTL_MOD, c->fd, &ev);
    return 0;
}

/* True when the line starts with the command word w (case-insensitive). */
static int sink_is(const char *line, size_t len, const char *w)
{
    size_t n = strlen(w);
    return len >= n && strncasecmp(line, w, n) == 0 && (len == n || line[n] == ' ' || line[n] == ':');
}

/* -R: takes one message from the 1-second window; 0 when sink_rate were taken in the last
 * 1000 ms (the oldest of the last sink_rate acceptances is younger than a second). */
static int sink_rate_take(void)
{
    if (!sink_rate)
        return 1;
    int64_t now = sink_mono_ms();
    if (sink_rate_ring[sink_rate_pos] > now - 1000)
        return 0;
    sink_rate_ring[sink_rate_pos] = now;
    sink_rate_pos = (sink_rate_pos + 1) % sink_rate;
    return 1;
}

static void sink_msg_done(struct sink_conn *c);
static void sink_bdat_end(struct sink_conn *c);

/* -C: "BDAT n [LAST]": the next n bytes are a chunk (read by sink_bdat()). */
static void sink_bdat_start(struct sink_conn *c, const char *line, size_t len)
{
    char buf[64];
    unsigned long long n;
    char last[8] = "";
    size_t k = len < sizeof buf - 1 ? len : sizeof buf - 1;
    memcpy(buf, line, k);
    buf[k] = 0;
    if (sscanf(buf + 4, " %llu %7s", &n, last) < 1 || (last[0] && strcasecmp(last, "LAST") != 0)) {
        sink_reply(c, "501 5.5.4 Syntax: BDAT count [LAST]\r\n");
        return;
    }
    c->bdat_left = n;
    c->bdat_last = last[0] != 0;
    if (!c->bdat_inmsg) { /* the message's first chunk: its header starts here */
        c->bdat_inmsg = 1;
        c->inhdr = sink_rec != NULL;
        c->hlen = 0;
        c->id[0] = 0;
    }
    if (n == 0)
        sink_bdat_end(c);
}

/* Answers one command line (without CRLF). */
static void sink_command(struct sink_conn *c, const char *line, size_t len)
{
    if (sink_is(line, len, "EHLO") && sink_tls && !c->ssl)
        sink_reply(c, sink_chunking ? "250-sink\r\n250-PIPELINING\r\n250-SIZE 1073741824\r\n"
                                      "250-8BITMIME\r\n250-CHUNKING\r\n250-STARTTLS\r\n"
                                      "250 ENHANCEDSTATUSCODES\r\n"
                                    : "250-sink\r\n250-PIPELINING\r\n250-SIZE 1073741824\r\n"
                                      "250-8BITMIME\r\n250-STARTTLS\r\n250 ENHANCEDSTATUSCODES\r\n");
    else if (sink_is(line, len, "EHLO"))
        sink_reply(c, sink_chunking ? "250-sink\r\n250-PIPELINING\r\n250-SIZE 1073741824\r\n"
                                      "250-8BITMIME\r\n250-CHUNKING\r\n250 ENHANCEDSTATUSCODES\r\n"
                                    : "250-sink\r\n250-PIPELINING\r\n250-SIZE 1073741824\r\n"
                                      "250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n");
    else if (sink_is(line, len, "BDAT") && sink_chunking)
        sink_bdat_start(c, line, len);
    else if (sink_is(line, len, "STARTTLS") && sink_tls && !c->ssl && len == 8) {
        sink_reply(c, "220 2.0.0 Ready to start TLS\r\n");
        c->tls_next = 1;
        c->nrcpt = 0;
    } else if (sink_is(line, len, "STARTTLS"))
        sink_reply(c, "503 5.5.1 Error: TLS not available\r\n");
    else if (sink_is(line, len, "HELO"))
        sink_reply(c, "250 sink\r\n");
    else if (sink_is(line, len, "MAIL") && sink_maxmsgs && c->nmsg >= sink_maxmsgs) {
        sink_reply(c, "421 4.7.0 too many messages on this connection\r\n");
        sink_st.r421++;
        c->closing = 1;
    } else if (sink_is(line, len, "MAIL")) {
        c->nrcpt = 0;
        sink_reply(c, "250 2.1.0 Ok\r\n");
    } else if (sink_is(line, len, "RCPT") && c->nrcpt == 0 && !sink_rate_take()) {
        sink_reply(c, "451 4.7.1 rate limited\r\n");
        sink_st.r451++;
    } else if (sink_is(line, len, "RCPT")) {
        c->nrcpt++;
        sink_reply(c, "250 2.1.5 Ok\r\n");
    } else if (sink_is(line, len, "DATA")) {
        if (c->nrcpt == 0) {
            sink_reply(c, SINK_NORCPT);
            return;
        }
        c->indata = 1;
        c->datast = 2;
        c->inhdr = sink_rec != NULL;
        c->hlen = 0;
        c->id[0] = 0;
        sink_reply(c, "354 End data with <CR><LF>.<CR><LF>\r\n");
    } else if (sink_is(line, len, "RSET") || sink_is(line, len, "NOOP")) {
        c->nrcpt = 0;
        c->bdat_inmsg = 0;
        sink_reply(c, "250 2.0.0 Ok\r\n");
    } else if (sink_is(line, len, "QUIT")) {
        sink_reply(c, "221 2.0.0 Bye\r\n");
        c->closing = 1;
    } else
        sink_reply(c, "502 5.5.2 Error: command not recognized\r\n");
}

/* Keeps the id of a complete header line if it is "X-Bench-Id: value". */
static void sink_hdr_line(struct sink_conn *c)
{
    static const char name[] = "X-Bench-Id:";
    size_t n = sizeof name - 1, i = n, k = 0;
    if (c->id[0] || c->hlen < n || strncasecmp(c->hline, name, n) != 0)
        return;
    while (i < c->hlen && (c->hline[i] == ' ' || c->hline[i] == '\t'))
        i++;
    for (; i < c->hlen && k + 1 < sizeof c->id; i++) {
        char ch = c->hline[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-'))
            break;
        c->id[k++] = ch;
    }
    c->id[k] = 0;
}

/* -r: feeds message bytes to the header scanner until the empty line ends the headers. */
static void sink_hdr_scan(struct sink_conn *c, const char *p, size_t n)
{
    for (size_t i = 0; i < n && c->inhdr; i++) {
        if (p[i] != '\n') {
            if (c->hlen < sizeof c->hline)
                c->hline[c->hlen++] = p[i];
            continue;
        }
        size_t len = c->hlen;
        if (len > 0 && len <= sizeof c->hline && c->hline[len - 1] == '\r')
            c->hlen = --len;
        if (len == 0)
            c->inhdr = 0;
        else
            sink_hdr_line(c);
        c->hlen = 0;
    }
}

/* -r: appends "ID MONO_NS" for the message that just ended. */
static void sink_record(struct sink_conn *c)
{
    fprintf(sink_rec, "%s %lld\n", c->id[0] ? c->id : "-", (long long)sink_mono_ns());
    fflush(sink_rec);
    c->inhdr = 0;
}

/* A message has been received (the final "." or BDAT LAST): count it and answer. */
static void sink_msg_done(struct sink_conn *c)
{
    if (sink_rec)
        sink_record(c);
    sink_st.mesg++;
    c->nmsg++;
    sink_st.rcpt += (uint64_t)c->nrcpt;
    sink_st.last_ms = sink_wall_ms();
    if (sink_st.first_ms == 0)
        sink_st.first_ms = sink_st.last_ms;
    c->nrcpt = 0;
    sink_reply(c, "250 2.0.0 Ok: queued\r\n");
}

/* Consumes message bytes; returns bytes used, sets indata=0 after the final ".". The state
 * datast: 0 mid-line, 1 saw CR, 2 at line start, 3 saw "." at line start, 4 saw ".\r". */
static size_t sink_data(struct sink_conn *c, const char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (c->datast == 0 && !c->inhdr) {
            const char *cr = memchr(p + i, '\r', n - i);
            if (!cr)
                return n;
            i = (size_t)(cr - p) + 1;
            c->datast = 1;
            continue;
        }
        if (c->inhdr)
            sink_hdr_scan(c, p + i, 1);
        char ch = p[i++];
        if (c->datast == 0)
            c->datast = ch == '\r' ? 1 : 0;
        else if (c->datast == 1)
            c->datast = ch == '\n' ? 2 : ch == '\r' ? 1 : 0;
        else if (c->datast == 2)
            c->datast = ch == '.' ? 3 : ch == '\r' ? 1 : 0;
        else if (c->datast == 3)
            c->datast = ch == '\r' ? 4 : 0;
        else if (ch == '\n') {
            c->indata = 0;
            sink_msg_done(c);
            return i;
        } else
            c->datast = ch == '\r' ? 1 : 0;
    }
    return n;
}

/* -C: a chunk has been read: the message ends with the LAST one. */
static void sink_bdat_end(struct sink_conn *c)
{
    if (c->bdat_last)
        c->bdat_inmsg = 0;
    if (c->nrcpt == 0)
        sink_reply(c, SINK_NORCPT);
    else if (c->bdat_last)
        sink_msg_done(c);
    else
        sink_reply(c, "250 2.0.0 Ok: chunk\r\n");
}

/* -C: consumes chunk bytes; returns bytes used. */
static size_t sink_bdat(struct sink_conn *c, const char *p, size_t n)
{
    size_t k = n < c->bdat_left ? n : (size_t)c->bdat_left;
    if (c->inhdr && c->nrcpt > 0)
        sink_hdr_scan(c, p, k);
    c->bdat_left -= k;
    if (c->bdat_left == 0)
        sink_bdat_end(c);
    return k;
}

/* Processes whatever complete input the buffer holds. */
static void sink_input(struct sink_conn *c)
{
    size_t off = 0;
    while (off < c->inlen && !c->closing && !c->tls_next) {
        if (c->indata) {
            off += sink_data(c, c->in + off, c->inlen - off);
            continue;
        }
        if (c->bdat_left > 0) {
            off += sink_bdat(c, c->in + off, c->inlen - off);
            continue;
        }
        char *nl = memchr(c->in + off, '\n', c->inlen - off);
        if (!nl)
            break;
        size_t len = (size_t)(nl - (c->in + off));
        if (len > 0 && c->in[off + len - 1] == '\r')
            len--;
        if (c->skipping)
            c->skipping = 0;
        else
            sink_command(c, c->in + off, len);
        off = (size_t)(nl - c->in) + 1;
    }
    if (c->tls_next)
        off = c->inlen; /* nothing pipelined behind STARTTLS survives the handshake */
    memmove(c->in, c->in + off, c->inlen - off);
    c->inlen -= off;
    if (c->inlen == sizeof c->in && !c->indata) { /* an endless command line */
        c->inlen = 0;
        c->skipping = 1;
        sink_reply(c, "500 5.5.0 Error: line too long\r\n");
    }
}

static void sink_track(struct sink_conn *c);

/* Closes a connection and frees it. */
static void sink_close(struct sink_conn *c)
{
    if (c->ssl)
        SSL_free(c->ssl);
    close(c->fd);
    sink_open[c->lidx]--;
    sink_clients[c->cidx].open--;
    free(c);
}

/* -c: the sink_clients slot of a client address (the last slot takes any overflow). */
static int sink_client(uint32_t addr)
{
    for (int i = 0; i < sink_nclients; i++)
        if (sink_clients[i].addr == addr)
            return i;
    if (sink_nclients == SINK_MAXCLIENTS)
        return SINK_MAXCLIENTS - 1;
    sink_clients[sink_nclients].addr = addr;
    return sink_nclients++;
}

/* Accepts every pending connection on listening socket fd (index lidx). */
static void sink_accept(int fd, int lidx)
{
    for (;;) {
        struct sockaddr_in peer = {0};
        socklen_t plen = sizeof peer;
        int cfd = accept4(fd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0)
            return;
        int cidx = sink_client(peer.sin_addr.s_addr);
        if (sink_open[lidx] >= sink_maxconn || sink_clients[cidx].open >= sink_maxclient) {
            static const char busy[] = "421 4.7.0 Error: too many connections\r\n";
            ssize_t w = write(cfd, busy, sizeof busy - 1);
            (void)w;
            close(cfd);
            sink_st.refused++;
            continue;
        }
        struct sink_conn *c = calloc(1, sizeof *c);
        if (!c) {
            close(cfd);
            continue;
        }
        int one = 1;
        setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c->fd = cfd;
        c->lidx = lidx;
        c->cidx = cidx;
        sink_clients[cidx].open++;
        if (++sink_open[lidx] > (int)sink_st.peak)
            sink_st.peak = (uint64_t)sink_open[lidx];
        sink_st.conns++;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        epoll_ctl(sink_epfd, EPOLL_CTL_ADD, cfd, &ev);
        sink_reply(c, "220 sink ESMTP\r\n");
        if (sink_flush(c) < 0) {
            epoll_ctl(sink_epfd, EPOLL_CTL_DEL, cfd, NULL);
            sink_close(c);
        } else if (c->qlen > 0)
            sink_track(c);
    }
}

/* -t: starts or continues the server handshake; returns -1 when it failed. */
static int sink_handshake(struct sink_conn *c)
{
    if (!c->ssl) {
        if (!(c->ssl = SSL_new(sink_tls)) || SSL_set_fd(c->ssl, c->fd) != 1)
            return -1;
        SSL_set_accept_state(c->ssl);
        c->handshaking = 1;
        c->tls_next = 0;
    }
    ssize_t r = sink_ssl_result(c, SSL_do_handshake(c->ssl));
    if (r > 0)
        c->handshaking = 0;
    return r > 0 || (r < 0 && errno == EAGAIN) ? 0 : -1;
}

/* Handles readiness of one connection; returns 0 if it stays open. */
static int sink_ready(struct sink_conn *c, uint32_t events)
{
    if (c->handshaking && sink_handshake(c) < 0)
        return -1;
    if (c->handshaking)
        return sink_flush(c);
    if (events & (EPOLLIN | EPOLLOUT)) {
        /* TLS: no round limit, OpenSSL may hold decrypted bytes epoll cannot see */
        for (int rounds = 0; (rounds < 16 || c->ssl) && !c->closing && !c->tls_next; rounds++) {
            ssize_t n = sink_io_read(c, c->in + c->inlen, sizeof c->in - c->inlen);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && errno == EAGAIN)
                break;
            if (n <= 0)
                return -1;
            c->inlen += (size_t)n;
            sink_input(c);
        }
    } else if (events & (EPOLLERR | EPOLLHUP))
        return -1;
    sink_release(c, sink_mono_ms());
    if (sink_flush(c) < 0)
        return -1;
    if (c->tls_next && c->outlen == 0 && c->qlen == 0 && sink_handshake(c) < 0)
        return -1;
    if (c->tls_next || c->handshaking)
        return sink_flush(c);
    return c->closing && c->qlen == 0 && c->outlen == 0 ? -1 : 0;
}

/* Appends the counters line to the series file. */
static void sink_write_series(FILE *f)
{
    fprintf(f, "%lld %llu %llu %llu %llu %llu %lld %lld %llu %llu %llu\n",
            (long long)sink_wall_ms(), (unsigned long long)sink_st.conns,
            (unsigned long long)sink_st.refused, (unsigned long long)sink_st.mesg,
            (unsigned long long)sink_st.rcpt, (unsigned long long)sink_st.peak,
            (long long)sink_st.first_ms, (long long)sink_st.last_ms,
            (unsigned long long)sink_st.r421, (unsigned long long)sink_st.r451,
            (unsigned long long)sink_st.r5xx);
    fflush(f);
}

/* Connections with delayed replies waiting (only used when -d is set). */
static struct sink_conn *sink_waiting[65536];
static int sink_nwaiting;

/* Releases delayed replies that are due; returns ms until the next one (or 1000). */
static int sink_tick_delayed(void)
{
    int64_t now = sink_mono_ms(), next = 1000;
    int keep = 0;
    for (int i = 0; i < sink_nwaiting; i++) {
        struct sink_conn *c = sink_waiting[i];
        int64_t left = sink_release(c, now);
        if (sink_flush(c) < 0 || (c->closing && c->qlen == 0 && c->outlen == 0)) {
            epoll_ctl(sink_epfd, EPOLL_CTL_DEL, c->fd, NULL);
            sink_close(c);
            continue;
        }
        if (left >= 0 && left < next)
            next = left;
        if (c->qlen > 0)
            sink_waiting[keep++] = c;
    }
    sink_nwaiting = keep;
    return (int)next;
}

/* Remembers a connection that has delayed replies pending. */
static void sink_track(struct sink_conn *c)
{
    for (int i = 0; i < sink_nwaiting; i++)
        if (sink_waiting[i] == c)
            return;
    if (sink_nwaiting < (int)(sizeof sink_waiting / sizeof sink_waiting[0]))
        sink_waiting[sink_nwaiting++] = c;
}

/* Forgets a connection about to be freed. */
static void sink_untrack(struct sink_conn *c)
{
    for (int i = 0; i < sink_nwaiting; i++)
        if (sink_waiting[i] == c) {
            sink_waiting[i] = sink_waiting[--sink_nwaiting];
            return;
        }
}

/* -t/-k: the server context: the certificate and key, TLS 1.2+, one cipher, no resumption. */
static SSL_CTX *sink_tls_ctx(const char *cert, const char *key)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx || SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
        SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256") != 1 ||
        SSL_CTX_set_cipher_list(ctx, "ECDHE-RSA-AES128-GCM-SHA256:"
                                     "ECDHE-ECDSA-AES128-GCM-SHA256") != 1) {
        fprintf(stderr, "sink: TLS setup with %s / %s failed\n", cert, key);
        ERR_print_errors_fp(stderr);
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(ctx, 0);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    return ctx;
}

/* Parses options, opens the listeners, runs the loop. */
int main(int argc, char **argv)
{
    const char *series = NULL, *record = NULL, *cert = NULL, *key = NULL;
    int interval = 100, ch, lfd[SINK_MAXLISTEN], nl = 0;
    while ((ch = getopt(argc, argv, "d:m:c:n:R:i:o:r:t:k:C")) != -1) {
        if (ch == 'C')
            sink_chunking = 1;
        else if (ch == 'c')
            sink_maxclient = atoi(optarg);
        else if (ch == 'n')
            sink_maxmsgs = atoi(optarg);
        else if (ch == 'R')
            sink_rate = atoi(optarg);
        else if (ch == 'd')
            sink_delay_ms = atoi(optarg);
        else if (ch == 'm')
            sink_maxconn = atoi(optarg);
        else if (ch == 'i')
            interval = atoi(optarg);
        else if (ch == 'o')
            series = optarg;
        else if (ch == 'r')
            record = optarg;
        else if (ch == 't')
            cert = optarg;
        else if (ch == 'k')
            key = optarg;
        else
            return 64;
    }
    if (!series || optind >= argc || interval < 1 || sink_delay_ms < 0 || sink_maxconn < 1 ||
        sink_maxclient < 1 || sink_maxmsgs < 0 || sink_rate < 0 || sink_rate > 1000000 ||
        !cert != !key) {
        fprintf(stderr, "usage: sink [-d delay_ms] [-m maxconn] [-c maxperclient] [-n maxmsgs] "
                        "[-R msgs_per_s] [-i ms] [-r record] [-t cert -k key] [-C] "
                        "-o series ADDR:PORT...\n");
        return 64;
    }
    if (sink_rate && !(sink_rate_ring = calloc((size_t)sink_rate, sizeof *sink_rate_ring)))
        return 1;
    for (int i = 0; i < sink_rate; i++)
        sink_rate_ring[i] = INT64_MIN / 2;
    if (cert && !(sink_tls = sink_tls_ctx(cert, key)))
        return 1;
    FILE *f = fopen(series, "a");
    if (!f) {
        perror(series);
        return 1;
    }
    if (record && !(sink_rec = fopen(record, "a"))) {
        perror(record);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGTERM, sink_on_signal);
    signal(SIGINT, sink_on_signal);
    sink_epfd = epoll_create1(EPOLL_CLOEXEC);
    for (int i = optind; i < argc && nl < SINK_MAXLISTEN; i++, nl++) {
        if ((lfd[nl] = sink_listen(argv[i])) < 0) {
            fprintf(stderr, "sink: cannot listen on %s: %s\n", argv[i], strerror(errno));
            return 1;
        }
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)nl};
        epoll_ctl(sink_epfd, EPOLL_CTL_ADD, lfd[nl], &ev);
    }
    uint64_t seen = UINT64_MAX;
    int64_t next_tick = sink_mono_ms() + interval;
    sink_write_series(f);
    while (!sink_stop) {
        struct epoll_event evs[256];
        int wait = sink_delay_ms ? sink_tick_delayed() : 1000;
        int64_t to_tick = next_tick - sink_mono_ms();
        if (to_tick < wait)
            wait = to_tick < 0 ? 0 : (int)to_tick;
        int n = epoll_wait(sink_epfd, evs, 256, wait);
        for (int i = 0; i < n; i++) {
            if (evs[i].data.u64 < (uint64_t)nl) {
                sink_accept(lfd[evs[i].data.u64], (int)evs[i].data.u64);
                continue;
            }
            struct sink_conn *c = evs[i].data.ptr;
            if (sink_ready(c, evs[i].events) < 0) {
                sink_untrack(c);
                epoll_ctl(sink_epfd, EPOLL_CTL_DEL, c->fd, NULL);
                sink_close(c);
            } else if (c->qlen > 0)
                sink_track(c);
        }
        if (sink_mono_ms() >= next_tick) {
            next_tick = sink_mono_ms() + interval;
            uint64_t sum = sink_st.conns + sink_st.refused + sink_st.mesg + sink_st.rcpt +
                           sink_st.r421 + sink_st.r451 + sink_st.r5xx;
            if (sum != seen) {
                seen = sum;
                sink_write_series(f);
            }
        }
    }
    sink_write_series(f);
    fclose(f);
    free(sink_rate_ring);
    if (sink_rec)
        fclose(sink_rec);
    return 0;
}
