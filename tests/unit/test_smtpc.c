/* test_smtpc: the outbound client against an in-process scripted SMTP server (a libevent
 * listener on 127.0.0.1:0 in the same event_base). Each case scripts the greeting, the
 * EHLO/HELO replies and one reply per later command ("" = never answer, "DROP" = close),
 * and checks what the server received (commands, raw body, grouping per read; a "BDAT n"
 * chunk is read as n raw bytes and answered after them, RFC 3030) and what the client
 * reported (per-recipient outcomes, txn_done, closed). Event-driven, no sleeps: a
 * run ends when the client has closed and the server has seen every connection end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "conf/conf.h"
#include "core/log.h"
#include "core/qid.h"
#include "proto/cidr.h"
#include "proto/mime8to7.h"
#include "queue/record.h"
#include "smtpc/smtpc.h"
#include "tls/client.h"

#define MAXCMD 24
#define MAXTXN 3
#define MAXRCPT 5
#define MAXREADS 64

/* What one scripted server says. */
struct script {
    const char *greeting;        /* raw; "" = never greet */
    const char *ehlo;            /* raw reply to EHLO; NULL = "250 ok" */
    const char *helo;            /* raw reply to HELO; NULL = "250 ok" */
    const char *replies[MAXCMD]; /* raw reply to command k after EHLO/HELO; NULL = default */
    bool split;                  /* send replies one byte per write */
    bool drop_in_data;           /* close on the first body line */
    int delay_at;                /* 1-based command whose reply is delayed by delay_ms */
    int delay_ms;
};

struct harness;

struct srv {
    struct harness *h;
    const struct script *sc;
    struct evconnlistener *l;
    uint16_t port;
    int nconn, nopen;
    char cmds[8192];    /* every command line received, joined by '|' */
    char body[1 << 23]; /* raw body bytes received (still dot-stuffed), all transactions */
    size_t bodylen;
    char *reads[MAXREADS]; /* input seen at each read (command mode only) */
    int nreads;
    int max_cmds_per_read;
    struct sconn *last;   /* the connection accepted last, while it is open */
    bool quit_answered;   /* the reply to QUIT was written */
    bool eof_before_reply; /* the client closed while a delayed reply was still held back */
};

struct sconn {
    struct srv *s;
    struct bufferevent *bev;
    struct evbuffer *pending; /* split mode: bytes still to send */
    struct event *delay;
    char *delayed;
    bool delay_pending; /* delayed is not written yet */
    bool delayed_quit;  /* ... and it answers QUIT */
    int cmdno;
    bool in_data;
    size_t bdat_left;      /* "BDAT n": chunk bytes still to read */
    const char *bdat_rep;  /* the reply once the chunk is read */
};

struct harness {
    struct event_base *base;
    struct conf conf;
    struct srv srv[2];
    int nsrv;
    struct smtpc_txn txns[MAXTXN];
    size_t ntxn, next_i;
    int out[MAXTXN][MAXRCPT]; /* -1 = not reported */
    char text[MAXTXN][MAXRCPT][256];
    char tls[MAXTXN][96]; /* t->tls as rcpt_done saw it */
    int rcpt_calls, txn_done_calls, next_calls;
    bool closed, timed_out;
    bool quit_answered_at_close; /* server 0 had answered QUIT when closed() ran */
    enum outcome closed_o;
    char why[1024];
    struct event *safety;
};

/* ---------------------------------------------------------------- scripted server */

static void srv_maybe_done(struct harness *h);

/* Appends s to the server's command log. */
static void srv_log_cmd(struct srv *s, const char *line)
{
    size_t n = strlen(s->cmds);
    snprintf(s->cmds + n, sizeof s->cmds - n, "%s%s", n ? "|" : "", line);
}

/* Closes one server-side connection. */
static void sconn_free(struct sconn *sc)
{
    struct srv *s = sc->s;
    bufferevent_free(sc->bev);
    evbuffer_free(sc->pending);
    if (sc->delay)
        event_free(sc->delay);
    free(sc->delayed);
    if (s->last == sc)
        s->last = NULL;
    free(sc);
    s->nopen--;
    srv_maybe_done(s->h);
}

/* Sends one byte of the pending split output. */
static void sconn_pump(struct sconn *sc)
{
    struct evbuffer *out = bufferevent_get_output(sc->bev);
    if (evbuffer_get_length(out) == 0 && evbuffer_get_length(sc->pending) > 0)
        evbuffer_remove_buffer(sc->pending, out, 1);
}

/* Sends a raw reply, split byte by byte when the script says so. */
static void sconn_reply(struct sconn *sc, const char *text)
{
    if (!sc->s->sc->split) {
        bufferevent_write(sc->bev, text, strlen(text));
        return;
    }
    evbuffer_add(sc->pending, text, strlen(text));
    sconn_pump(sc);
}

/* Delay timer: the postponed reply goes out. */
static void sconn_on_delay(evutil_socket_t fd, short what, void *arg)
{
    struct sconn *sc = arg;
    (void)fd;
    (void)what;
    sc->delay_pending = false;
    sc->s->quit_answered |= sc->delayed_quit;
    sconn_reply(sc, sc->delayed);
}

/* The default reply to a command line. */
static const char *srv_default_reply(const char *line)
{
    if (!strncasecmp(line, "MAIL", 4) || !strncasecmp(line, "RCPT", 4) ||
        !strncasecmp(line, "RSET", 4))
        return "250 2.0.0 ok\r\n";
    if (!strncasecmp(line, "DATA", 4))
        return "354 go ahead\r\n";
    if (!strcmp(line, ".") || !strncasecmp(line, "BDAT", 4))
        return "250 2.0.0 queued as X\r\n";
    if (!strncasecmp(line, "QUIT", 4))
        return "221 2.0.0 bye\r\n";
    return "500 5.5.1 what\r\n";
}

/* Handles one command line; returns false when the connection was closed. */
static bool sconn_command(struct sconn *sc, const char *line)
{
    const struct script *sp = sc->s->sc;
    const char *rep;
    srv_log_cmd(sc->s, line);
    if (!strncasecmp(line, "EHLO", 4) || !strncasecmp(line, "LHLO", 4)) {
        rep = sp->ehlo ? sp->ehlo : "250 ok\r\n";
    } else if (!strncasecmp(line, "HELO", 4)) {
        rep = sp->helo ? sp->helo : "250 ok\r\n";
    } else {
        sc->cmdno++;
        rep = sc->cmdno <= MAXCMD && sp->replies[sc->cmdno - 1] ? sp->replies[sc->cmdno - 1]
                                                                : srv_default_reply(line);
        if (!strncasecmp(line, "DATA", 4) && rep[0] == '3')
            sc->in_data = true;
    }
    if (!strcmp(rep, "DROP")) {
        sconn_free(sc);
        return false;
    }
    if (sp->delay_at && sc->cmdno == sp->delay_at && !sc->in_data) {
        struct timeval tv = {sp->delay_ms / 1000, (sp->delay_ms % 1000) * 1000};
        sc->delayed = strdup(rep);
        sc->delay_pending = true;
        sc->delayed_quit = !strncasecmp(line, "QUIT", 4);
        sc->delay = evtimer_new(sc->s->h->base, sconn_on_delay, sc);
        evtimer_add(sc->delay, &tv);
        return true;
    }
    sc->s->quit_answered |= !strncasecmp(line, "QUIT", 4) && rep[0];
    sconn_reply(sc, rep);
    return true;
}

/* "BDAT n [LAST]" (RFC 3030): the next n bytes are a chunk, recorded raw in the body (no
 * dot-unstuffing, nothing added); its reply (the script's for this command) goes out once
 * the chunk is read, as a real server's does. */
static void sconn_bdat(struct sconn *sc, const char *line)
{
    const struct script *sp = sc->s->sc;
    srv_log_cmd(sc->s, line);
    sc->cmdno++;
    sc->bdat_rep = sc->cmdno <= MAXCMD && sp->replies[sc->cmdno - 1]
                       ? sp->replies[sc->cmdno - 1]
                       : srv_default_reply(line);
    sc->bdat_left = strtoul(line + 4, NULL, 10);
}

/* Reads what it can of the current chunk into the body; once it is complete, answers.
 * Returns false when the connection was closed ("DROP"). */
static bool sconn_chunk(struct sconn *sc, struct evbuffer *in)
{
    struct srv *s = sc->s;
    size_t n = evbuffer_get_length(in);
    if (n > sc->bdat_left)
        n = sc->bdat_left;
    if (s->bodylen + n < sizeof s->body) {
        evbuffer_copyout(in, s->body + s->bodylen, n);
        s->bodylen += n;
    }
    evbuffer_drain(in, n);
    sc->bdat_left -= n;
    if (sc->bdat_left > 0)
        return true;
    if (!strcmp(sc->bdat_rep, "DROP")) {
        sconn_free(sc);
        return false;
    }
    sconn_reply(sc, sc->bdat_rep);
    sc->bdat_rep = NULL;
    return true;
}

/* Handles one body line; returns false when the connection was closed. */
static bool sconn_body_line(struct sconn *sc, const char *line, size_t n)
{
    struct srv *s = sc->s;
    if (n == 1 && line[0] == '.') {
        sc->in_data = false;
        return sconn_command(sc, line);
    }
    if (s->sc->drop_in_data) {
        sconn_free(sc);
        return false;
    }
    if (s->bodylen + n + 2 < sizeof s->body) {
        memcpy(s->body + s->bodylen, line, n);
        memcpy(s->body + s->bodylen + n, "\r\n", 2);
        s->bodylen += n + 2;
    }
    return true;
}

/* Server input: record the read, then handle every complete line. */
static void sconn_on_read(struct bufferevent *bev, void *arg)
{
    struct sconn *sc = arg;
    struct srv *s = sc->s;
    struct evbuffer *in = bufferevent_get_input(bev);
    if (!sc->in_data && s->nreads < MAXREADS) {
        size_t len = evbuffer_get_length(in);
        s->reads[s->nreads] = calloc(1, len + 1);
        evbuffer_copyout(in, s->reads[s->nreads++], len);
    }
    int ncmd = 0;
    char *line;
    size_t n;
    for (;;) {
        if (sc->bdat_rep) {
            if (!sconn_chunk(sc, in))
                break;
            if (sc->bdat_rep)
                break; /* the rest of the chunk comes with a later read */
        }
        if ((line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF)) == NULL)
            break;
        bool was_data = sc->in_data, alive = true;
        if (!was_data)
            ncmd++;
        if (!was_data && !strncasecmp(line, "BDAT ", 5))
            sconn_bdat(sc, line);
        else
            alive = was_data ? sconn_body_line(sc, line, n) : sconn_command(sc, line);
        free(line);
        if (!alive)
            break;
    }
    if (ncmd > s->max_cmds_per_read)
        s->max_cmds_per_read = ncmd;
}

/* Split mode: the previous byte is out, send the next. */
static void sconn_on_write(struct bufferevent *bev, void *arg)
{
    (void)bev;
    sconn_pump(arg);
}

/* Client closed (or error): drop our side. */
static void sconn_on_event(struct bufferevent *bev, short what, void *arg)
{
    struct sconn *sc = arg;
    (void)bev;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        sc->s->eof_before_reply |= sc->delay_pending;
        sconn_free(sc);
    }
}

/* New connection: greet per script. */
static void srv_on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                          int salen, void *arg)
{
    struct srv *s = arg;
    (void)l;
    (void)sa;
    (void)salen;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sconn *sc = calloc(1, sizeof *sc);
    sc->s = s;
    sc->bev = bufferevent_socket_new(s->h->base, fd, BEV_OPT_CLOSE_ON_FREE);
    sc->pending = evbuffer_new();
    bufferevent_setcb(sc->bev, sconn_on_read, sconn_on_write, sconn_on_event, sc);
    bufferevent_enable(sc->bev, EV_READ | EV_WRITE);
    s->nconn++;
    s->nopen++;
    s->last = sc;
    if (s->sc->greeting[0])
        sconn_reply(sc, s->sc->greeting);
}

/* Starts server i with script sp on an ephemeral loopback port. */
static void srv_start(struct harness *h, int i, const struct script *sp)
{
    struct srv *s = &h->srv[i];
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    s->h = h;
    s->sc = sp;
    s->l = evconnlistener_new_bind(h->base, srv_on_accept, s,
                                   LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 16,
                                   (struct sockaddr *)&sin, sizeof sin);
    assert_non_null(s->l);
    socklen_t sl = sizeof sin;
    getsockname(evconnlistener_get_fd(s->l), (struct sockaddr *)&sin, &sl);
    s->port = ntohs(sin.sin_port);
    if (i + 1 > h->nsrv)
        h->nsrv = i + 1;
}

/* ---------------------------------------------------------------- client side */

/* The run is over once the client closed and no server connection is left. */
static void srv_maybe_done(struct harness *h)
{
    if (!h->closed)
        return;
    for (int i = 0; i < h->nsrv; i++)
        if (h->srv[i].nopen > 0)
            return;
    event_base_loopexit(h->base, NULL);
}

static struct smtpc_txn *h_next(void *arg, struct smtpc *c)
{
    struct harness *h = arg;
    (void)c;
    h->next_calls++;
    return h->next_i < h->ntxn ? &h->txns[h->next_i++] : NULL;
}

static void h_rcpt_done(void *arg, struct smtpc_txn *t, size_t i, enum outcome o, const char *reply,
                        const char *relay)
{
    struct harness *h = arg;
    size_t ti = (size_t)(t - h->txns);
    assert_true(ti < h->ntxn && i < t->nrcpt);
    assert_int_equal(h->out[ti][i], -1); /* exactly once */
    assert_non_null(strstr(relay, "[127.0.0.1]:"));
    h->out[ti][i] = (int)o;
    snprintf(h->text[ti][i], sizeof h->text[ti][i], "%s", reply);
    snprintf(h->tls[ti], sizeof h->tls[ti], "%s%s%s", t->tls ? t->tls : "(null)",
             t->tls_peer && *t->tls_peer ? " " : "", t->tls_peer ? t->tls_peer : "");
    h->rcpt_calls++;
}

static void h_txn_done(void *arg, struct smtpc_txn *t)
{
    struct harness *h = arg;
    size_t ti = (size_t)(t - h->txns);
    for (size_t i = 0; i < t->nrcpt; i++)
        assert_int_not_equal(h->out[ti][i], -1); /* every recipient before txn_done */
    h->txn_done_calls++;
}

static void h_closed(void *arg, struct smtpc *c, enum outcome o, const char *why)
{
    struct harness *h = arg;
    (void)c;
    assert_false(h->closed);
    h->closed = true;
    h->quit_answered_at_close = h->srv[0].quit_answered;
    h->closed_o = o;
    snprintf(h->why, sizeof h->why, "%s", why);
    srv_maybe_done(h);
}

static const struct smtpc_ops h_ops = {h_next, h_rcpt_done, h_txn_done, h_closed};

/* Safety net: a run that does not end in 5 s fails. */
static void h_on_safety(evutil_socket_t fd, short what, void *arg)
{
    struct harness *h = arg;
    (void)fd;
    (void)what;
    h->timed_out = true;
    event_base_loopexit(h->base, NULL);
}

/* Fresh harness with the seed's client defaults (timeout 5 s for tests). */
static struct harness *h_new(void)
{
    struct harness *h = calloc(1, sizeof *h);
    h->base = event_base_new();
    h->conf.hostname = "host.example";
    h->conf.deliver.client = (struct client_conf){.announcehost = "client.example",
                                                  .maxpipeline = 25,
                                                  .timeout = 5000,
                                                  .mindatarate = 1000000,
                                                  .sendQUIT = true,
                                                  .waitQUIT = true};
    memset(h->out, -1, sizeof h->out);
    return h;
}

/* Adds a transaction; body goes into a fresh evbuffer by reference in 3-byte chains (body
 * outlives the transaction), so dot-stuffing is checked across chain boundaries: a "\n."
 * split between two chains, a dot alone at a chain's start; bodies over 200 bytes in
 * 100-byte chains (the 8-bit scan's word-wise loop). */
static void h_txn(struct harness *h, const char *sender, const char **rcpts, size_t nrcpt,
                  const char *body, size_t bodylen)
{
    struct smtpc_txn *t = &h->txns[h->ntxn++];
    t->msgid = h->ntxn;
    t->sender = sender;
    t->rcpts = rcpts;
    t->nrcpt = nrcpt;
    t->body = evbuffer_new();
    size_t piece = bodylen > 200 ? 100 : 3;
    for (size_t off = 0; off < bodylen; off += piece)
        evbuffer_add_reference(t->body, body + off, bodylen - off < piece ? bodylen - off : piece,
                               NULL, NULL);
    t->size = bodylen;
}

/* Peer for server i, or a refused port when i < 0 (bound, not listening: fd in *hold). */
static struct peer h_peer(struct harness *h, int i, int *hold)
{
    struct peer p = {.name = "mx.example"};
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (i >= 0) {
        sin.sin_port = htons(h->srv[i].port);
    } else {
        *hold = socket(AF_INET, SOCK_STREAM, 0);
        assert_int_equal(bind(*hold, (struct sockaddr *)&sin, sizeof sin), 0);
        socklen_t sl = sizeof sin;
        getsockname(*hold, (struct sockaddr *)&sin, &sl);
    }
    memcpy(&p.sa, &sin, sizeof sin);
    p.salen = sizeof sin;
    return p;
}

/* Runs the client over peers until everything has ended. */
static void h_run(struct harness *h, const struct peer *peers, size_t npeers)
{
    struct timeval five = {5, 0};
    h->safety = evtimer_new(h->base, h_on_safety, h);
    evtimer_add(h->safety, &five);
    smtpc_start(h->base, &h->conf, peers, npeers, &h_ops, h);
    assert_false(h->closed); /* never synchronous */
    event_base_dispatch(h->base);
    assert_false(h->timed_out);
    assert_true(h->closed);
}

static void h_free(struct harness *h)
{
    for (int i = 0; i < h->nsrv; i++) {
        evconnlistener_free(h->srv[i].l);
        for (int k = 0; k < h->srv[i].nreads; k++)
            free(h->srv[i].reads[k]);
    }
    for (size_t i = 0; i < h->ntxn; i++)
        evbuffer_free(h->txns[i].body);
    event_free(h->safety);
    event_base_free(h->base);
    free(h);
}

/* ---------------------------------------------------------------- table-driven cases */

#define OK OUTCOME_OK
#define TF OUTCOME_TEMPFAIL
#define PF OUTCOME_PERMFAIL
#define EHLO_PIPE "250-mx.example\r\n250-PIPELINING\r\n250-SIZE 100000\r\n250 8BITMIME\r\n"
#define EHLO_CHUNK                                                                               \
    "250-mx.example\r\n250-PIPELINING\r\n250-SIZE 100000\r\n250-8BITMIME\r\n250 CHUNKING\r\n"

static const char *R1[] = {"a@x.example"};
static const char *R3[] = {"a@x.example", "b@x.example", "c@x.example"};
static const char *R2[] = {"a@x.example", "b@x.example"};

struct tcase {
    const char *name;
    struct script srv;
    bool refused_first; /* peer list = refused port, then the server */
    void (*tweak)(struct client_conf *cc);
    size_t ntxn;
    const char **rcpts[MAXTXN];
    size_t nrcpt[MAXTXN];
    const char *body[MAXTXN];
    int want[MAXTXN][MAXRCPT];
    const char *want_text[MAXTXN][MAXRCPT]; /* substring of the reported reply, or NULL */
    enum outcome want_closed;
    const char *want_why; /* substring, or NULL */
    const char *want_cmds;
    const char *want_body; /* raw body the server saw, or NULL */
    int want_conns;
    const struct relay *relay; /* the peer stands for this relay (ssl, auth) */
    bool tls;                  /* a TLS client is set (smtpc_set_tls) */
    const char *want_tls;      /* t->tls of the first transaction, or NULL */
    bool lmtp;                 /* the peer speaks LMTP */
};

static void tw_pipe1(struct client_conf *cc)
{
    cc->maxpipeline = 1;
}
static void tw_sayhelo(struct client_conf *cc)
{
    cc->sayHELO = true;
}
static void tw_fallback(struct client_conf *cc)
{
    cc->fallbackHELO = true;
}
static void tw_noquit(struct client_conf *cc)
{
    cc->sendQUIT = false;
}
static void tw_short(struct client_conf *cc)
{
    cc->timeout = 200;
}
static void tw_slowdata(struct client_conf *cc)
{
    cc->timeout = 200;
    cc->mindatarate = 8000; /* 2000 bytes -> 2 s for the final reply */
}

static void tw_latent(struct client_conf *cc)
{
    cc->anonssl.latent = true;
}
static void tw_mandatory(struct client_conf *cc)
{
    cc->anonssl.mandatory = true;
}
static void tw_mandatory_helo(struct client_conf *cc)
{
    cc->anonssl.mandatory = true;
    cc->sayHELO = true;
}

/* Relays with an auth block (cleartext allowed unless said: the scripted server has no TLS). */
#define AUTH_OK(...)                                                                             \
    {                                                                                            \
        .address = "r", .host = "mx.example",                                                    \
        .auth = {.enabled = true, .username = "alice", .password = "s3cret", __VA_ARGS__ }       \
    }
static const struct relay rl_plain_ir = AUTH_OK(.initrsp = true, .allow_cleartext = true);
static const struct relay rl_no_ir = AUTH_OK(.initrsp = false, .allow_cleartext = true);
static const struct relay rl_external = {
    .address = "r",
    .host = "mx.example",
    .auth = {.enabled = true, .initrsp = true, .allow_cleartext = true, .external = true}};
static const struct relay rl_tls_only = AUTH_OK(.initrsp = true);
static const struct relay rl_ssl_none = {.address = "r",
                                         .host = "mx.example",
                                         .ssl = {.mode = RELAY_TLS_NONE},
                                         .auth = {.enabled = true, .initrsp = true,
                                                  .allow_cleartext = true, .username = "alice",
                                                  .password = "s3cret"}};
#define EHLO_AUTH "250-mx.example\r\n250-AUTH LOGIN PLAIN\r\n250 8BITMIME\r\n"
#define EHLO_TLS "250-mx.example\r\n250-STARTTLS\r\n250 AUTH PLAIN\r\n"
#define AFTER_AUTH "|MAIL FROM:<s@y.example>|RCPT TO:<a@x.example>|DATA|.|QUIT"

static const struct tcase cases[] = {
    {.name = "plain delivery, dot-stuffed, no pipelining",
     .srv = {.greeting = "220 mx ESMTP\r\n", .ehlo = "250-mx\r\n250 HELP\r\n"},
     .ntxn = 1,
     .rcpts = {R2},
     .nrcpt = {2},
     .body = {".lead\r\nSubject: x\r\n\r\n.hidden\r\nmid\r\n..two\r\n.\r\nend"},
     .want = {{OK, OK}},
     .want_text = {{"250 2.0.0 queued", "250 2.0.0 queued"}},
     .want_closed = OK,
     .want_cmds = "EHLO client.example|MAIL FROM:<s@y.example>|RCPT TO:<a@x.example>|"
                  "RCPT TO:<b@x.example>|DATA|.|QUIT",
     .want_body = "..lead\r\nSubject: x\r\n\r\n..hidden\r\nmid\r\n...two\r\n..\r\nend\r\n",
     .want_conns = 1},
    {.name = "pipelined, SIZE and 8BITMIME",
     .srv = {.greeting = "220 mx\r\n", .ehlo = EHLO_PIPE},
     .ntxn = 1,
     .rcpts = {R1},
     .nrcpt = {1},
     .body = {"caf\xc3\xa9\r\n"},
     .want = {{OK}},
     .want_closed = OK,
     .want_cmds = "EHLO client.example|MAIL FROM:<s@y.example> SIZE=7 BODY=8BITMIME|"
                  "RCPT TO:<a@x.example>|DATA|.|QUIT",
     .want_body = "caf\xc3\xa9\r\n",
     .want_conns = 1},
    {.name = "8BITMIME: an 8-bit octet after 280 ASCII ones (the word-wise scan)",
     .srv = {.greeting = "220 mx\r\n", .ehlo = EHLO_PIPE},
     .ntxn = 1,
     .rcpts = {R1},
     .nrcpt = {1},
     .body = {"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnopqr\r\n0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnopqr\r\n0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnopqr\r\ncaf\xc3\xa9\r\n"},
     .want = {{OK}},
     .want_closed = OK,
     .want_cmds = "EHLO client.example|MAIL FROM:<s@y.example> SIZE=283 BODY=8BITMIME|"
                  "RCPT TO:<a@x.example>|DATA|.|QUIT",
     .want_body = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnopqr\r\n0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnopqr\r\n0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnopqr\r\ncaf\xc3\xa9\r\n",
     .want_conns = 1},
    {.name = "PIPELINING announced, maxpipeline 1: lock-step, no DATA without a recipient",
     .srv = {.greeting = "220 mx\r\n",
             .ehlo = EHLO_PIPE,
             .replies = {NULL, "550 5.1.1 no\r\n", "550 5.1.1 no\r\n"}},
     .tweak = tw_pipe1,
     .ntxn = 1,
     .rcpts = {R2},
     .nrcpt = {2},
     .body = {"x\r\n"},
     .want = {{PF, PF}},
     .want_closed = OK,
     .want_cmds = "EHLO client.example|MAIL FROM:<s@y.example> SIZE=3|RCPT TO:<a@x.example>|"
                  "RCPT TO:<b@x.example>|QUIT",
     .want_body = "",
     .want_conns = 1},
    {.name = "mixed RCPT outcomes 250/450/550",
     .srv = {.greeting = "220 mx\r\n",
             .ehlo = EHLO_PIPE,
             .replies = {NULL, "250 ok\r\n", "450 4.2.1 busy\r\n", "550 5.1.1 unknown\r\n"}},
     .ntxn = 1,
     .rcpts = {R3},
     .nrcpt = {3},
     .body = {"x\r\n"},
     .want = {{OK, TF, PF}},
     .want_text = {{"250 2.0.0 queued", "450 4.2.1 busy", "550 5.1.1 unknown"}},
     .want_closed = OK,
     .want_body = "x\r\n",
     .want_conns = 1},
    {.name = "no RCPT accepted, not pipelined: no DATA, no body",
     .srv = {.greeting = "220 mx\r\n",
             .replies = {NULL, "550 5.1.1 no\r\n", "450 4.1.1 later\r\n"}},
     .ntxn = 1,
     .rcpts = {R2},
     .nrcpt = {2},
     .body = {"x\r\n"},
     .want = {{PF, TF}},
     .want_closed = OK,
     .want_cmds = "EHLO client.example|MAIL FROM:<s@y.example>|RCPT TO:<a@x.example>|"
                  "RCPT TO:<b@x.example>|QUIT",
     .want_body = "",
     .want_conns = 1},
    {.name = "no RCPT accepted, pipelined DATA refused",
     .srv = {.greeting = "220 mx\r\n",
             .ehlo = EHLO_PIPE,
             .replies = {NULL, "550 5.1.1 no\r\n", "554 5.5.1 no valid recipients\r\n"}},
     .ntxn = 1,
     .rcpts = {R1},
     .nrcpt = {1},
     .body = {"x\r\n"},
     .want = {{PF}},
     .want_text = {{"550 5.1.1 no"}},
     .want_closed = OK,
     .want_cmds = "EHLO client.example|MAIL FROM:<s@y.example> SIZE=3|RCPT TO:<a@x.example>|"
                  "DATA|QUIT",
     .want_body = "",
     .want_conns = 1},
    {.name = "no RCPT accepted, pipelined DATA 354 anyway: just the dot",
     .srv = {.greeting = "220 mx\r\n",
             .ehlo = EHLO_PIPE,
             .replies = {NULL, "550 5.1.1 no\r\n", "354 go\r\n", "554 no message\r\n"}},
     .ntxn = 1,
     .rcpts = {R1},
     .nrcpt = {1},
     .body = {"x\r\n"},
     .want = {{PF}},
     .want_text = {{"550 5.1.1 no"}},
     .want_closed = OK,
     .want_cmds = "EHLO client.example|MAIL FROM:<s@y.example> SIZE=3|RCPT TO:<a@x.example>|"
                  "DATA|.|QUIT",
     .want_body = "",
     .want_conns = 1},
    {.name = "two transactions, no RSET after a clean end",
     .srv = {.greeting = "220 mx\r\n"},
     .ntxn = 2,
     .rcpts = {R1, R2},
     .nrcpt = {1, 2},
     .body = {"one\r\n", "two\r\n"},
     .want = {{OK}, {OK, OK}},
     .want_closed = OK,
     .want_cmds = "EHLO client.example|MAIL FROM:<s@y.example>|RCPT TO:<a@x.example>|DATA|.|"
                  "MAIL FROM:<s@y.example>|RCPT TO:<a@x.example>|RCPT TO:<b@x.example>|DATA|.|"
                  "QUIT",
     .want_body = "one\r\ntwo\r\n",
     .want_conns = 1},
    {.name = "RSET after a transaction without accepted recipients",
     .srv = {.greeting = "220 mx\r\n", .replies = {NULL, "550 5.1.1 no\r\n"}},
     .ntxn = 2,
     .rcpts = {R1, R1},
     .nrcpt = {1, 1},
     .body = {"one\r\n", "two\r\n"},
     .want = {{PF}, {OK}},
     .want_closed = OK,
     .want_cmds = "EHLO client.example|MAIL FROM:<s@y.example>|RCPT TO:<a@x.example>|RSET|"
                  "MAIL FROM:<s@y.example>|RCPT TO:<a@x.example>|DATA|.|QUIT",
     .want_body = "two\r\n",
     .want_conns = 1},
    {.name = "MAIL rejected (pipelined): every recipient gets its outcome",
     .srv = {.greeting = "220 mx\r\n",
             .ehlo = EHLO_PIPE,
             .replies = {"451 4.3.0 try later\r\n", "503 need MAIL\r\n", "503 need MAIL\r\n",
                         "503 need MAIL\r\n"}},
     .ntxn = 1,
     .rcpts = {R2},
     .nrcpt = {2},
     .body = {"x\r\n"},
     .want = {{TF, TF}},
     .want_text = {{"451 4.3.0 try later", "451 4.3.0 try later"}},
     .want_closed = OK,
     .want_body = "",
     .want_conns = 1},
    {.name = "first peer refuses the connection, second delivers",
     .srv = {.greeting = "220 mx\r\n"},
     .refused_first = true,
     .ntxn = 1,
     .rcpts = {R1},
     .nrcpt = {1},
     .body = {"x\r\n"},
     .want = {{OK}},
     .want_closed = OK,
     .want_conns = 1},
    {.name = "5xx after the body is PERMFAIL, 4xx RCPT kept",
     .srv = {.greeting = "220 mx\r\n",
             .replies = {NULL, "250 ok\r\n", "451 4.1.0 later\r\n", NULL, "554 5.7.1 spam\r\n"}},
     .ntxn = 1,
     .rcpts = {R2},
     .nrcpt = {2},
     .body = {"x\r\n"},
     .want = {{PF, TF}},
     .want_text = {{"554 5.7.1 spam", "451 4.1.0 later"}},
     .want_closed = OK,
     .want_conns = 1},
    {.name = "4xx after the body is TEMPFAIL",
     .srv = {.greeting = "220 mx\r\n",
             .ehlo = EHLO_PIPE,
             .replies = {NULL, NULL, NULL, "452 4.3.1 full\r\n"}},
     .ntxn = 1,
     .rcpts = {R1},
     .nrcpt = {1},
     .body = {"x\r\n"},
     .want = {{TF}},
     .want_text = {{"452 4.3.1 full"}},
     .want_closed = OK,
     .want_conns = 1},
    {.name = "DATA refused after accepted RCPT",
     .srv = {.greeting = "220 mx\r\n", .replies = {NULL, NULL, "554 5.3.0 no data\r\n"}},
     .ntxn = 1,
     .rcpts = {R1},
     .nrcpt = {1},
     .body = {"x\r\n"},
     .want = {{PF}},
     .want_text = {{"554 5.3.0 no data"}},
     .want_closed = OK,
     .want_body = "",
     .want_conns = 1},
    {.name = "connection dropped mid-DATA: TEMPFAIL",
     .srv = {.greeting = "220 mx\r\n", .drop_in_data = true},
     .ntxn = 1,
     .rcpts = {R2},
     .nrcpt = {2},
     .body = {"line one\r\nline two\r\n"},
     .want = {{TF, TF}},
     .want_text = {{"4.4.2 lost connection", "4.4.2 lost connection"}},
     .want_closed = OK,
     .want_why = "4.4.2 lost connection",
     .want_conns = 1},
    {.name = "connection dropped at RCPT",
     .srv = {.greeting = "220 mx\r\n", .replies = {NULL, "DROP"}},
     .ntxn = 1,
     .rcpts = {R1},
     .nrcpt = {1},
     .body = {"x\r\n"},
     .want = {{TF}},
     .want_text = {{"RCPT TO"}},
     .want_closed = OK,
     .want_conns = 1},
    {.name = "421 at RCPT: TEMPFAIL, close without QUIT",
     .srv = {.greeting = "220 mx\r\n", .replies = {NULL, "421 4.3.2 shutting down\r\n"}},
     .ntxn = 1,
     .rcpts = {R2},
     .nrcpt = {2},
     .body = {"x\r\n"},
     .want = {{TF, TF}},
     .want_text = {{"421 4.3.2", "421 4.3.2"}},
     .want_closed = OK,
     .want_cmds = "EHLO client.example|MAIL FROM:<s@y.example>|RCPT TO:<a@x.example>",
     .want_conns = 1},
    {.name = "invalid reply: TEMPFAIL",
     .srv = {.greeting = "220 mx\r\n", .replies = {"hello there\r\n"}},
     .ntxn = 1,
     .rcpts = {R1},
     .nrcpt = {1},
     .body = {"x\r\n"},
     .want = {{TF}},
     .want_text = {{"4.5.0 invalid reply"}},
     .want_closed = OK,
     .want_conns = 1},
    {.name = "replies split byte by byte",
     .srv = {.greeting = "220-mx\r\n220 ESMTP\r\n", .ehlo = EHLO_PIPE, .split = true},
     .ntxn = 2,
     .rcpts = {R3, R1},
     .nrcpt = {3, 1},
     .body = {"a\r\n", ".b\r\n"},
     .want = {{OK, OK, OK}, {OK}},
     .want_closed = OK,
     .want_body = "a\r\n..b\r\n",
     .want_conns = 1},
    {.name = "timeout waiting for RCPT reply: TEMPFAIL",
     .srv = {.greeting = "220 mx\r\n", .replies = {NULL, ""}},
     .tweak = tw_short,
     .ntxn = 1,
     .rcpts = {R1},
     .nrcpt = {1},
     .body = {"x\r\n"},
     .want = {{TF}},
     .want_text = {{"4.4.2 timeout waiting for reply to RCPT TO"}},
     .want_closed = OK,
     .want_why = "4.4.2 timeout",
     .want_conns = 1},
    {.name = "final reply within the mindatarate extension",
     .srv = {.greeting = "220 mx\r\n", .delay_at = 4, .delay_ms = 600},
     .tweak = tw_slowdata,
     .ntxn = 1,
     .rcpts = {R1},
     .nrcpt = {1},
     .body = {NULL},
     .want = {{OK}},
     .want_closed = OK,
     .want_conns = 1},
    {.name = "sayHELO",
     .srv = {.greeting = "220 mx\r\n", .ehlo = "500 no EHLO here\r\n"},
     .tweak = tw_sayhelo,
     .ntxn = 1,
     .rcpts = {R1},
     .nrcpt = {1},
     .body = {"x\r\n"},
     .want = {{OK}},
     .want_closed = OK,
     .want_cmds = "HELO client.example|MAIL FROM:<s@y.example>|RCPT TO:<a@x.example>|DATA|.|"
                  "QUIT",
     .want_conns = 1},
    {.name = "fallbackHELO after 500 to EHLO",
     .srv = {.greeting = "220 mx\r\n", .ehlo = "500 5.5.1 unknown\r\n"},
     .tweak = tw_fallback,
     .ntxn = 1,
     .rcpts = {R1},
     .nrcpt = {1},
     .body = {"x\r\n"},
     .want = {{OK}},
     .want_closed = OK,
     .want_cmds = "EHLO client.example|HELO client.example|MAIL FROM:<s@y.example>|"
                  "RCPT TO:<a@x.example>|DATA|.|QUIT",
     .want_conns = 1},
    {.name = "EHLO 5xx without fallbackHELO: PERMFAIL close",
     .srv = {.greeting = "220 mx\r\n", .ehlo = "554 5.7.1 go away\r\n"},
     .ntxn = 1,
     .rcpts = {R1},
     .nrcpt = {1},
     .body = {"x\r\n"},
     .want = {{-1}},
     .want_closed = PF,
     .want_why = "554 5.7.1 go away",
     .want_cmds = "EHLO client.example",
     .want_conns = 1},
    {.name = "SIZE too big: PERMFAIL without MAIL",
     .srv = {.greeting = "220 mx\r\n", .ehlo = "250-mx\r\n250 SIZE 4\r\n"},
     .ntxn = 1,
     .rcpts = {R2},
     .nrcpt = {2},
     .body = {"12345\r\n"},
     .want = {{PF, PF}},
     .want_text = {{"552 5.3.4 message size exceeds remote limit", "552 5.3.4"}},
     .want_closed = OK,
     .want_cmds = "EHLO client.example|QUIT",
     .want_conns = 1},
    {.name = "sendQUIT off: just close",
     .srv = {.greeting = "220 mx\r\n"},
     .tweak = tw_noquit,
     .ntxn = 1,
     .rcpts = {R1},
     .nrcpt = {1},
     .body = {"x\r\n"},
     .want = {{OK}},
     .want_closed = OK,
     .want_cmds = "EHLO client.example|MAIL FROM:<s@y.example>|RCPT TO:<a@x.example>|DATA|.",
     .want_conns = 1},
    {.name = "bad recipient address rejected locally",
     .srv = {.greeting = "220 mx\r\n"},
     .ntxn = 1,
     .rcpts = {(const char *[]){"a@x.example", "b@x\r\nRSET"}},
     .nrcpt = {2},
     .body = {"x\r\n"},
     .want = {{OK, PF}},
     .want_text = {{NULL, "501 5.1.3"}},
     .want_closed = OK,
     .want_cmds = "EHLO client.example|MAIL FROM:<s@y.example>|RCPT TO:<a@x.example>|DATA|.|"
                  "QUIT",
     .want_conns = 1},
    /* ---- AUTH (RFC 4954) ---- */
    {.name = "AUTH PLAIN with the initial response, preferred to LOGIN",
     .srv = {.greeting = "220 mx\r\n", .ehlo = EHLO_AUTH, .replies = {"235 2.7.0 ok\r\n"}},
     .relay = &rl_plain_ir, .ntxn = 1, .rcpts = {R1}, .nrcpt = {1}, .body = {"x\r\n"},
     .want = {{OK}}, .want_closed = OK, .want_conns = 1, .want_tls = "none",
     .want_cmds = "EHLO client.example|AUTH PLAIN AGFsaWNlAHMzY3JldA==" AFTER_AUTH},
    {.name = "AUTH PLAIN without initial response: the 334 gets it",
     .srv = {.greeting = "220 mx\r\n", .ehlo = "250-mx\r\n250 AUTH PLAIN\r\n",
             .replies = {"334 \r\n", "235 2.7.0 ok\r\n"}},
     .relay = &rl_no_ir, .ntxn = 1, .rcpts = {R1}, .nrcpt = {1}, .body = {"x\r\n"},
     .want = {{OK}}, .want_closed = OK, .want_conns = 1,
     .want_cmds = "EHLO client.example|AUTH PLAIN|AGFsaWNlAHMzY3JldA==" AFTER_AUTH},
    {.name = "AUTH LOGIN without initial response: user, then password",
     .srv = {.greeting = "220 mx\r\n", .ehlo = "250-mx\r\n250 AUTH=LOGIN\r\n",
             .replies = {"334 VXNlcm5hbWU6\r\n", "334 UGFzc3dvcmQ6\r\n", "235 2.7.0 ok\r\n"}},
     .relay = &rl_no_ir, .ntxn = 1, .rcpts = {R1}, .nrcpt = {1}, .body = {"x\r\n"},
     .want = {{OK}}, .want_closed = OK, .want_conns = 1,
     .want_cmds = "EHLO client.example|AUTH LOGIN|YWxpY2U=|czNjcmV0" AFTER_AUTH},
    {.name = "AUTH LOGIN with initial response: the user on the AUTH line",
     .srv = {.greeting = "220 mx\r\n", .ehlo = "250-mx\r\n250 AUTH LOGIN\r\n",
             .replies = {"334 UGFzc3dvcmQ6\r\n", "235 2.7.0 ok\r\n"}},
     .relay = &rl_plain_ir, .ntxn = 1, .rcpts = {R1}, .nrcpt = {1}, .body = {"x\r\n"},
     .want = {{OK}}, .want_closed = OK, .want_conns = 1,
     .want_cmds = "EHLO client.example|AUTH LOGIN YWxpY2U=|czNjcmV0" AFTER_AUTH},
    {.name = "AUTH EXTERNAL with an empty initial response",
     .srv = {.greeting = "220 mx\r\n", .ehlo = "250-mx\r\n250 AUTH PLAIN EXTERNAL\r\n",
             .replies = {"235 2.7.0 ok\r\n"}},
     .relay = &rl_external, .ntxn = 1, .rcpts = {R1}, .nrcpt = {1}, .body = {"x\r\n"},
     .want = {{OK}}, .want_closed = OK, .want_conns = 1,
     .want_cmds = "EHLO client.example|AUTH EXTERNAL =" AFTER_AUTH},
    {.name = "AUTH 535: the peer fails with 4.7.0 and the reply, no MAIL",
     .srv = {.greeting = "220 mx\r\n", .ehlo = EHLO_AUTH,
             .replies = {"535 5.7.8 bad credentials\r\n"}},
     .relay = &rl_plain_ir, .ntxn = 1, .rcpts = {R1}, .nrcpt = {1}, .body = {"x\r\n"},
     .want = {{-1}}, .want_closed = TF, .want_conns = 1,
     .want_why = "said: 535 5.7.8 bad credentials",
     .want_cmds = "EHLO client.example|AUTH PLAIN AGFsaWNlAHMzY3JldA=="},
    {.name = "AUTH: a 334 after the last response fails the peer",
     .srv = {.greeting = "220 mx\r\n", .ehlo = EHLO_AUTH, .replies = {"334 more?\r\n"}},
     .relay = &rl_plain_ir, .ntxn = 1, .rcpts = {R1}, .nrcpt = {1}, .body = {"x\r\n"},
     .want = {{-1}}, .want_closed = TF, .want_conns = 1,
     .want_why = "4.7.0 SASL authentication failed; server mx.example[127.0.0.1]:",
     .want_cmds = "EHLO client.example|AUTH PLAIN AGFsaWNlAHMzY3JldA=="},
    {.name = "AUTH: no mechanism we use is offered: 4.7.0, nothing sent",
     .srv = {.greeting = "220 mx\r\n", .ehlo = "250-mx\r\n250 AUTH CRAM-MD5 GSSAPI\r\n"},
     .relay = &rl_plain_ir, .ntxn = 1, .rcpts = {R1}, .nrcpt = {1}, .body = {"x\r\n"},
     .want = {{-1}}, .want_closed = TF, .want_conns = 1,
     .want_why = "4.7.0 SASL authentication to mx.example[127.0.0.1]:",
     .want_cmds = "EHLO client.example"},
    {.name = "AUTH: never without TLS unless allowed: 4.7.0, no AUTH sent",
     .srv = {.greeting = "220 mx\r\n", .ehlo = EHLO_AUTH},
     .relay = &rl_tls_only, .ntxn = 1, .rcpts = {R1}, .nrcpt = {1}, .body = {"x\r\n"},
     .want = {{-1}}, .want_closed = TF, .want_conns = 1, .want_why = "needs TLS",
     .want_cmds = "EHLO client.example"},
    {.name = "relay ssl.mode none: no STARTTLS even when offered, AUTH in cleartext",
     .srv = {.greeting = "220 mx\r\n", .ehlo = EHLO_TLS, .replies = {"235 2.7.0 ok\r\n"}},
     .relay = &rl_ssl_none, .tls = true, .tweak = tw_latent, .ntxn = 1, .rcpts = {R1},
     .nrcpt = {1}, .body = {"x\r\n"}, .want = {{OK}}, .want_closed = OK, .want_conns = 1,
     .want_cmds = "EHLO client.example|AUTH PLAIN AGFsaWNlAHMzY3JldA==" AFTER_AUTH},
    /* ---- STARTTLS policy (the handshakes themselves: test_tls_client and scenarios) ---- */
    {.name = "latent: STARTTLS refused with 454, the session goes on in cleartext",
     .srv = {.greeting = "220 mx\r\n", .ehlo = EHLO_TLS, .replies = {"454 4.7.0 no TLS\r\n"}},
     .tls = true, .tweak = tw_latent, .ntxn = 1, .rcpts = {R1}, .nrcpt = {1}, .body = {"x\r\n"},
     .want = {{OK}}, .want_closed = OK, .want_conns = 1, .want_tls = "none",
     .want_cmds = "EHLO client.example|STARTTLS" AFTER_AUTH},
    {.name = "latent off (anonssl latent = false): STARTTLS never sent",
     .srv = {.greeting = "220 mx\r\n", .ehlo = EHLO_TLS},
     .tls = true, .ntxn = 1, .rcpts = {R1}, .nrcpt = {1}, .body = {"x\r\n"},
     .want = {{OK}}, .want_closed = OK, .want_conns = 1,
     .want_cmds = "EHLO client.example" AFTER_AUTH},
    {.name = "mandatory: STARTTLS not offered: 4.7.4, no MAIL",
     .srv = {.greeting = "220 mx\r\n", .ehlo = EHLO_PIPE},
     .tls = true, .tweak = tw_mandatory, .ntxn = 1, .rcpts = {R1}, .nrcpt = {1},
     .body = {"x\r\n"}, .want = {{-1}}, .want_closed = TF, .want_conns = 1,
     .want_why = "4.7.4 TLS is required, but was not offered by host mx.example[127.0.0.1]:",
     .want_cmds = "EHLO client.example"},
    {.name = "mandatory with sayHELO: no extensions, so no TLS: 4.7.4",
     .srv = {.greeting = "220 mx\r\n"},
     .tls = true, .tweak = tw_mandatory_helo, .ntxn = 1, .rcpts = {R1}, .nrcpt = {1},
     .body = {"x\r\n"}, .want = {{-1}}, .want_closed = TF, .want_conns = 1,
     .want_why = "4.7.4 TLS is required", .want_cmds = "HELO client.example"},
    {.name = "mandatory: STARTTLS refused: 4.7.5 with the reply",
     .srv = {.greeting = "220 mx\r\n", .ehlo = EHLO_TLS, .replies = {"454 4.7.0 no TLS\r\n"}},
     .tls = true, .tweak = tw_mandatory, .ntxn = 1, .rcpts = {R1}, .nrcpt = {1},
     .body = {"x\r\n"}, .want = {{-1}}, .want_closed = TF, .want_conns = 1,
     .want_why = "4.7.5 TLS is required, but host mx.example[127.0.0.1]:",
     .want_cmds = "EHLO client.example|STARTTLS"},
    {.name = "mandatory without a TLS client: 4.7.5, STARTTLS not sent",
     .srv = {.greeting = "220 mx\r\n", .ehlo = EHLO_TLS},
     .tweak = tw_mandatory, .ntxn = 1, .rcpts = {R1}, .nrcpt = {1}, .body = {"x\r\n"},
     .want = {{-1}}, .want_closed = TF, .want_conns = 1,
     .want_why = "4.7.5 TLS is required, but not available here",
     .want_cmds = "EHLO client.example"},
    /* ---- LMTP (RFC 2033): one reply per accepted recipient after the end of data ---- */
    {.name = "LMTP: LHLO, per-recipient replies after the dot map to their recipients",
     .lmtp = true,
     .srv = {.greeting = "220 lmtp\r\n", .ehlo = EHLO_PIPE,
             .replies = {NULL, NULL, "550 5.1.1 <b@x.example> unknown\r\n", NULL, NULL,
                         "250 2.0.0 <a@x.example> saved\r\n452 4.2.2 <c@x.example> over quota\r\n"}},
     .ntxn = 1, .rcpts = {R3}, .nrcpt = {3}, .body = {"x\r\n"},
     .want = {{OK, PF, TF}},
     .want_text = {{"250 2.0.0 <a@x.example> saved", "550 5.1.1", "452 4.2.2 <c@x.example>"}},
     .want_closed = OK, .want_conns = 1,
     .want_cmds = "LHLO client.example|MAIL FROM:<s@y.example> SIZE=3|RCPT TO:<a@x.example>|"
                  "RCPT TO:<b@x.example>|RCPT TO:<c@x.example>|DATA|.|QUIT"},
    {.name = "LMTP without pipelining, every RCPT refused: no DATA, no dot reply awaited",
     .lmtp = true, .tweak = tw_pipe1,
     .srv = {.greeting = "220 lmtp\r\n", .replies = {NULL, "550 5.1.1 no\r\n", "450 4.2.1 later\r\n"}},
     .ntxn = 1, .rcpts = {R2}, .nrcpt = {2}, .body = {"x\r\n"},
     .want = {{PF, TF}}, .want_closed = OK, .want_conns = 1,
     .want_cmds = "LHLO client.example|MAIL FROM:<s@y.example>|RCPT TO:<a@x.example>|"
                  "RCPT TO:<b@x.example>|QUIT"},
    {.name = "LMTP pipelined, all RCPT refused after DATA went out: 354 then a bare dot",
     .lmtp = true,
     .srv = {.greeting = "220 lmtp\r\n", .ehlo = EHLO_PIPE,
             .replies = {NULL, "550 5.1.1 no\r\n", NULL, ""}}, /* no reply to that dot */
     .ntxn = 2, .rcpts = {R1, R1}, .nrcpt = {1, 1}, .body = {"x\r\n", "y\r\n"},
     .want = {{PF}, {OK}}, .want_closed = OK, .want_conns = 1,
     .want_cmds = "LHLO client.example|MAIL FROM:<s@y.example> SIZE=3|RCPT TO:<a@x.example>|"
                  "DATA|.|RSET|MAIL FROM:<s@y.example> SIZE=3|RCPT TO:<a@x.example>|DATA|.|QUIT"},
    /* CHUNKING (RFC 3030, smtpc_bdat.c): the content as one "BDAT n LAST" chunk */
    {.name = "CHUNKING: BDAT n LAST pipelined, the content as stored (no dot-stuffing)",
     .srv = {.greeting = "220 mx\r\n", .ehlo = EHLO_CHUNK},
     .ntxn = 1, .rcpts = {R1}, .nrcpt = {1},
     .body = {".lead\r\nmid\r\n..two\r\n.\r\nend\r\n"},
     .want = {{OK}}, .want_text = {{"250 2.0.0 queued"}}, .want_closed = OK, .want_conns = 1,
     .want_cmds = "EHLO client.example|MAIL FROM:<s@y.example> SIZE=27|RCPT TO:<a@x.example>|"
                  "BDAT 27 LAST|QUIT",
     .want_body = ".lead\r\nmid\r\n..two\r\n.\r\nend\r\n"},
    {.name = "CHUNKING: a final CRLF added when the content lacks one, counted in n",
     .srv = {.greeting = "220 mx\r\n", .ehlo = EHLO_CHUNK},
     .ntxn = 1, .rcpts = {R1}, .nrcpt = {1}, .body = {"a\r\n.end"},
     .want = {{OK}}, .want_closed = OK, .want_conns = 1,
     .want_cmds = "EHLO client.example|MAIL FROM:<s@y.example> SIZE=7|RCPT TO:<a@x.example>|"
                  "BDAT 9 LAST|QUIT",
     .want_body = "a\r\n.end\r\n"},
    {.name = "CHUNKING: 2000 bytes in one chunk, exact count",
     .srv = {.greeting = "220 mx\r\n", .ehlo = EHLO_CHUNK},
     .ntxn = 1, .rcpts = {R1}, .nrcpt = {1}, .body = {NULL},
     .want = {{OK}}, .want_closed = OK, .want_conns = 1,
     .want_cmds = "EHLO client.example|MAIL FROM:<s@y.example> SIZE=2000|"
                  "RCPT TO:<a@x.example>|BDAT 2000 LAST|QUIT"},
    {.name = "CHUNKING: two messages on one connection, no RSET after a clean end",
     .srv = {.greeting = "220 mx\r\n", .ehlo = EHLO_CHUNK},
     .ntxn = 2, .rcpts = {R1, R1}, .nrcpt = {1, 1}, .body = {"x\r\n", "y\r\n"},
     .want = {{OK}, {OK}}, .want_closed = OK, .want_conns = 1,
     .want_cmds = "EHLO client.example|MAIL FROM:<s@y.example> SIZE=3|RCPT TO:<a@x.example>|"
                  "BDAT 3 LAST|MAIL FROM:<s@y.example> SIZE=3|RCPT TO:<a@x.example>|"
                  "BDAT 3 LAST|QUIT",
     .want_body = "x\r\ny\r\n"},
    {.name = "CHUNKING: one RCPT of three refused: the chunk goes, the others get its reply",
     .srv = {.greeting = "220 mx\r\n", .ehlo = EHLO_CHUNK,
             .replies = {NULL, NULL, "550 5.1.1 no such user\r\n"}},
     .ntxn = 1, .rcpts = {R3}, .nrcpt = {3}, .body = {"x\r\n"},
     .want = {{OK, PF, OK}},
     .want_text = {{"250 2.0.0 queued", "550 5.1.1 no such user", "250 2.0.0 queued"}},
     .want_closed = OK, .want_conns = 1,
     .want_cmds = "EHLO client.example|MAIL FROM:<s@y.example> SIZE=3|RCPT TO:<a@x.example>|"
                  "RCPT TO:<b@x.example>|RCPT TO:<c@x.example>|BDAT 3 LAST|QUIT",
     .want_body = "x\r\n"},
    {.name = "CHUNKING: every RCPT refused after the chunk went: its reply is read, the "
             "recipients keep their RCPT replies, RSET, the next transaction",
     .srv = {.greeting = "220 mx\r\n", .ehlo = EHLO_CHUNK,
             .replies = {NULL, "550 5.1.1 no a\r\n", "450 4.2.1 not b now\r\n",
                         "554 5.5.1 no valid recipients\r\n"}},
     .ntxn = 2, .rcpts = {R2, R1}, .nrcpt = {2, 1}, .body = {"x\r\n", "y\r\n"},
     .want = {{PF, TF}, {OK}},
     .want_text = {{"550 5.1.1 no a", "450 4.2.1 not b now"}, {"250 2.0.0 queued"}},
     .want_closed = OK, .want_conns = 1,
     .want_cmds = "EHLO client.example|MAIL FROM:<s@y.example> SIZE=3|RCPT TO:<a@x.example>|"
                  "RCPT TO:<b@x.example>|BDAT 3 LAST|RSET|MAIL FROM:<s@y.example> SIZE=3|"
                  "RCPT TO:<a@x.example>|BDAT 3 LAST|QUIT",
     .want_body = "x\r\ny\r\n"},
    {.name = "CHUNKING without PIPELINING: lock-step, no BDAT once every RCPT is refused",
     .srv = {.greeting = "220 mx\r\n", .ehlo = "250-mx.example\r\n250 CHUNKING\r\n",
             .replies = {NULL, "550 5.1.1 no\r\n"}},
     .ntxn = 2, .rcpts = {R1, R1}, .nrcpt = {1, 1}, .body = {"x\r\n", "y\r\n"},
     .want = {{PF}, {OK}}, .want_closed = OK, .want_conns = 1,
     .want_cmds = "EHLO client.example|MAIL FROM:<s@y.example>|RCPT TO:<a@x.example>|RSET|"
                  "MAIL FROM:<s@y.example>|RCPT TO:<a@x.example>|BDAT 3 LAST|QUIT",
     .want_body = "y\r\n"},
    {.name = "CHUNKING: 554 to BDAT fails the accepted recipients for good",
     .srv = {.greeting = "220 mx\r\n", .ehlo = EHLO_CHUNK,
             .replies = {NULL, NULL, NULL, "554 5.6.0 content rejected\r\n"}},
     .ntxn = 1, .rcpts = {R2}, .nrcpt = {2}, .body = {"x\r\n"},
     .want = {{PF, PF}},
     .want_text = {{"554 5.6.0 content rejected", "554 5.6.0 content rejected"}},
     .want_closed = OK, .want_conns = 1,
     .want_cmds = "EHLO client.example|MAIL FROM:<s@y.example> SIZE=3|RCPT TO:<a@x.example>|"
                  "RCPT TO:<b@x.example>|BDAT 3 LAST|QUIT"},
    {.name = "CHUNKING: 451 to BDAT defers the accepted recipients, a refused one stays refused",
     .srv = {.greeting = "220 mx\r\n", .ehlo = EHLO_CHUNK,
             .replies = {NULL, "550 5.1.1 no\r\n", NULL, "451 4.3.0 try later\r\n"}},
     .ntxn = 1, .rcpts = {R2}, .nrcpt = {2}, .body = {"x\r\n"},
     .want = {{PF, TF}}, .want_text = {{"550 5.1.1 no", "451 4.3.0 try later"}},
     .want_closed = OK, .want_conns = 1,
     .want_cmds = "EHLO client.example|MAIL FROM:<s@y.example> SIZE=3|RCPT TO:<a@x.example>|"
                  "RCPT TO:<b@x.example>|BDAT 3 LAST|QUIT"},
    {.name = "CHUNKING: connection lost before the reply to BDAT: TEMPFAIL",
     .srv = {.greeting = "220 mx\r\n", .ehlo = EHLO_CHUNK, .replies = {NULL, NULL, "DROP"}},
     .ntxn = 1, .rcpts = {R1}, .nrcpt = {1}, .body = {"x\r\n"},
     .want = {{TF}}, .want_text = {{"4.4.2 lost connection"}}, .want_closed = OK,
     .want_why = "4.4.2 lost connection", .want_conns = 1},
    {.name = "no CHUNKING offered: DATA and a dot-stuffed body",
     .srv = {.greeting = "220 mx\r\n", .ehlo = EHLO_PIPE},
     .ntxn = 1, .rcpts = {R1}, .nrcpt = {1}, .body = {".lead\r\nend"},
     .want = {{OK}}, .want_closed = OK, .want_conns = 1,
     .want_cmds = "EHLO client.example|MAIL FROM:<s@y.example> SIZE=10|RCPT TO:<a@x.example>|"
                  "DATA|.|QUIT",
     .want_body = "..lead\r\nend\r\n"},
    {.name = "LMTP offering CHUNKING: DATA all the same (a reply per recipient)",
     .lmtp = true,
     .srv = {.greeting = "220 lmtp\r\n", .ehlo = EHLO_CHUNK,
             .replies = {NULL, NULL, NULL, NULL, "250 2.0.0 a ok\r\n250 2.0.0 b ok\r\n"}},
     .ntxn = 1, .rcpts = {R2}, .nrcpt = {2}, .body = {".x\r\n"},
     .want = {{OK, OK}}, .want_text = {{"a ok", "b ok"}}, .want_closed = OK, .want_conns = 1,
     .want_cmds = "LHLO client.example|MAIL FROM:<s@y.example> SIZE=4|RCPT TO:<a@x.example>|"
                  "RCPT TO:<b@x.example>|DATA|.|QUIT",
     .want_body = "..x\r\n"},
};

/* Runs one table case. */
static void run_case(const struct tcase *tc)
{
    struct harness *h = h_new();
    if (tc->tweak)
        tc->tweak(&h->conf.deliver.client);
    srv_start(h, 0, &tc->srv);
    char big[2001];
    for (size_t i = 0; i < tc->ntxn; i++) {
        const char *b = tc->body[i];
        if (!b) { /* 2000 bytes */
            memset(big, 'z', sizeof big - 1);
            memcpy(big + sizeof big - 3, "\r\n", 2);
            big[sizeof big - 1] = 0;
            b = big;
        }
        h_txn(h, "s@y.example", tc->rcpts[i], tc->nrcpt[i], b, strlen(b));
    }
    int hold = -1;
    struct peer peers[2];
    size_t np = 0;
    if (tc->refused_first)
        peers[np++] = h_peer(h, -1, &hold);
    peers[np++] = h_peer(h, 0, NULL);
    peers[np - 1].relay = tc->relay;
    peers[np - 1].lmtp = tc->lmtp;
    char err[256] = "";
    struct tls_client *tls = tc->tls ? tls_client_create(&h->conf, err, sizeof err) : NULL;
    if (tc->tls && !tls)
        fail_msg("%s: tls_client_create: %s", tc->name, err);
    smtpc_set_tls(tls);
    h_run(h, peers, np);
    smtpc_set_tls(NULL);
    tls_client_free(tls);
    if (tc->want_tls && strcmp(h->tls[0], tc->want_tls))
        fail_msg("%s: t->tls got \"%s\", want \"%s\"", tc->name, h->tls[0], tc->want_tls);
    if (hold >= 0)
        close(hold);
    if (tc->want_cmds && strcmp(h->srv[0].cmds, tc->want_cmds))
        fail_msg("%s: commands got \"%s\", want \"%s\"", tc->name, h->srv[0].cmds, tc->want_cmds);
    if (tc->want_body && (h->srv[0].bodylen != strlen(tc->want_body) ||
                          memcmp(h->srv[0].body, tc->want_body, h->srv[0].bodylen)))
        fail_msg("%s: body got \"%.*s\", want \"%s\"", tc->name, (int)h->srv[0].bodylen,
                 h->srv[0].body, tc->want_body);
    size_t calls = 0;
    for (size_t t = 0; t < tc->ntxn; t++)
        for (size_t i = 0; i < tc->nrcpt[t]; i++) {
            if (tc->want[t][i] != -1)
                calls++;
            if (h->out[t][i] != tc->want[t][i])
                fail_msg("%s: txn %zu rcpt %zu got outcome %d (%s), want %d", tc->name, t, i,
                         h->out[t][i], h->text[t][i], tc->want[t][i]);
            if (tc->want_text[t][i] && !strstr(h->text[t][i], tc->want_text[t][i]))
                fail_msg("%s: txn %zu rcpt %zu got \"%s\", want \"%s\"", tc->name, t, i,
                         h->text[t][i], tc->want_text[t][i]);
        }
    if ((size_t)h->rcpt_calls != calls)
        fail_msg("%s: got %d rcpt_done, want %zu", tc->name, h->rcpt_calls, calls);
    if (h->closed_o != tc->want_closed || (tc->want_why && !strstr(h->why, tc->want_why)))
        fail_msg("%s: closed got %d \"%s\", want %d \"%s\"", tc->name, h->closed_o, h->why,
                 tc->want_closed, tc->want_why ? tc->want_why : "");
    if (h->srv[0].nconn != tc->want_conns)
        fail_msg("%s: got %d connections, want %d", tc->name, h->srv[0].nconn, tc->want_conns);
    assert_int_equal(h->txn_done_calls, calls ? (int)tc->ntxn : 0);
    h_free(h);
}

static void test_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_case(&cases[i]);
}

/* ---------------------------------------------------------------- special cases */

/* With PIPELINING and maxpipeline 25, MAIL + RCPTs + DATA arrive in one read. */
static void test_pipelining_one_group(void **state)
{
    (void)state;
    static const struct script sp = {.greeting = "220 mx\r\n", .ehlo = EHLO_PIPE};
    struct harness *h = h_new();
    srv_start(h, 0, &sp);
    h_txn(h, "s@y.example", R3, 3, "x\r\n", 3);
    struct peer p = h_peer(h, 0, NULL);
    h_run(h, &p, 1);
    const char *want = "MAIL FROM:<s@y.example> SIZE=3\r\nRCPT TO:<a@x.example>\r\n"
                       "RCPT TO:<b@x.example>\r\nRCPT TO:<c@x.example>\r\nDATA\r\n";
    bool found = false;
    for (int i = 0; i < h->srv[0].nreads; i++)
        found |= !strcmp(h->srv[0].reads[i], want);
    if (!found)
        fail_msg("no read held the whole group; got max %d commands per read",
                 h->srv[0].max_cmds_per_read);
    for (int i = 0; i < 3; i++)
        assert_int_equal(h->out[0][i], OK);
    h_free(h);
}

/* CHUNKING: MAIL, the RCPTs, "BDAT n LAST" and the chunk leave in one write (one round trip
 * per message); with maxpipeline 1 each command waits for the previous reply and the chunk
 * follows its BDAT line. */
static void test_bdat_one_group(void **state)
{
    (void)state;
    static const struct script sp = {.greeting = "220 mx\r\n", .ehlo = EHLO_CHUNK};
    static const struct {
        unsigned maxpipeline;
        const char *want_read; /* one read holding exactly this */
        int want_max_cmds;
    } rows[] = {
        {25,
         "MAIL FROM:<s@y.example> SIZE=5\r\nRCPT TO:<a@x.example>\r\nRCPT TO:<b@x.example>\r\n"
         "BDAT 7 LAST\r\n.x\r\n.\r\n",
         4},
        {1, "BDAT 7 LAST\r\n.x\r\n.\r\n", 1},
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        struct harness *h = h_new();
        h->conf.deliver.client.maxpipeline = rows[r].maxpipeline;
        srv_start(h, 0, &sp);
        h_txn(h, "s@y.example", R2, 2, ".x\r\n.", 5);
        struct peer p = h_peer(h, 0, NULL);
        h_run(h, &p, 1);
        bool found = false;
        for (int i = 0; i < h->srv[0].nreads; i++)
            found |= !strcmp(h->srv[0].reads[i], rows[r].want_read);
        if (!found || h->srv[0].max_cmds_per_read != rows[r].want_max_cmds)
            fail_msg("maxpipeline %u: got %s the group in one read, at most %d commands per "
                     "read; want it, %d", rows[r].maxpipeline, found ? "" : "no read holding",
                     h->srv[0].max_cmds_per_read, rows[r].want_max_cmds);
        for (int i = 0; i < 2; i++)
            if (h->out[0][i] != OK)
                fail_msg("maxpipeline %u: rcpt %d got %d (%s), want OK", rows[r].maxpipeline, i,
                         h->out[0][i], h->text[0][i]);
        h_free(h);
    }
}

/* maxpipeline 1 (or 2) bounds the commands outstanding, even with PIPELINING. */
static void test_pipelining_window(void **state)
{
    (void)state;
    static const struct script sp = {.greeting = "220 mx\r\n", .ehlo = EHLO_PIPE};
    static const unsigned windows[] = {1, 2};
    static const char *r5[] = {"1@x", "2@x", "3@x", "4@x", "5@x"};
    for (size_t w = 0; w < 2; w++) {
        struct harness *h = h_new();
        h->conf.deliver.client.maxpipeline = windows[w];
        srv_start(h, 0, &sp);
        h_txn(h, "s@y.example", r5, 5, "x\r\n", 3);
        h_txn(h, "s@y.example", r5, 2, "y\r\n", 3);
        struct peer p = h_peer(h, 0, NULL);
        h_run(h, &p, 1);
        if (h->srv[0].max_cmds_per_read > (int)windows[w])
            fail_msg("maxpipeline %u: got %d commands in one read, want <= %u", windows[w],
                     h->srv[0].max_cmds_per_read, windows[w]);
        assert_int_equal(h->rcpt_calls, 7);
        for (int i = 0; i < 5; i++)
            assert_int_equal(h->out[0][i], OK);
        assert_int_equal(h->txn_done_calls, 2);
        h_free(h);
    }
}

/* Greeting 421 from the first peer: the second (same server, next connection) is used. */
static void test_greeting_421_next_peer(void **state)
{
    (void)state;
    static const struct script bad = {.greeting = "421 4.3.2 busy\r\n"};
    static const struct script good = {.greeting = "220 mx\r\n"};
    struct harness *h = h_new();
    srv_start(h, 0, &bad);
    srv_start(h, 1, &good);
    h_txn(h, "s@y.example", R1, 1, "x\r\n", 3);
    struct peer p[2] = {h_peer(h, 0, NULL), h_peer(h, 1, NULL)};
    h_run(h, p, 2);
    assert_int_equal(h->srv[0].nconn, 1);
    assert_string_equal(h->srv[0].cmds, "");
    assert_int_equal(h->srv[1].nconn, 1);
    assert_int_equal(h->out[0][0], OK);
    assert_int_equal(h->closed_o, OK);
    h_free(h);
}

/* Every peer fails: closed TEMPFAIL with the connect error, or PERMFAIL for a last 5xx. */
static void test_all_peers_fail(void **state)
{
    (void)state;
    struct harness *h = h_new();
    int hold1 = -1, hold2 = -1;
    h_txn(h, "s@y.example", R1, 1, "x\r\n", 3);
    struct peer p[2] = {h_peer(h, -1, &hold1), h_peer(h, -1, &hold2)};
    h_run(h, p, 2);
    assert_int_equal(h->closed_o, TF);
    if (strncmp(h->why, "4.4.1 connect to mx.example[127.0.0.1]:", 39) != 0 ||
        !strstr(h->why, ": Connection refused"))
        fail_msg("got why \"%s\", want \"4.4.1 connect to mx.example[127.0.0.1]:N: "
                 "Connection refused\"",
                 h->why);
    assert_int_equal(h->next_calls, 0);
    assert_int_equal(h->txn_done_calls, 0);
    h_free(h);
    close(hold1);
    close(hold2);

    static const struct script rej = {.greeting = "554 5.7.1 no service\r\n"};
    h = h_new();
    srv_start(h, 0, &rej);
    int hold = -1;
    struct peer q[2] = {h_peer(h, -1, &hold), h_peer(h, 0, NULL)};
    h_run(h, q, 2);
    assert_int_equal(h->closed_o, PF);
    assert_string_equal(h->why, "554 5.7.1 no service");
    h_free(h);
    close(hold);
}

/* A server that never greets: timeout with one peer -> closed TEMPFAIL. */
static void test_greeting_timeout(void **state)
{
    (void)state;
    static const struct script mute = {.greeting = ""};
    struct harness *h = h_new();
    h->conf.deliver.client.timeout = 200;
    srv_start(h, 0, &mute);
    struct peer p = h_peer(h, 0, NULL);
    h_run(h, &p, 1);
    assert_int_equal(h->closed_o, TF);
    if (strncmp(h->why, "4.4.2 timeout waiting for greeting from mx.example", 50) != 0)
        fail_msg("got why \"%s\", want \"4.4.2 timeout waiting for greeting from ...\"", h->why);
    h_free(h);
}

/* waitQUIT: with it off the client closes as soon as QUIT is written, so the server sees
 * the end of the connection while its 221 is still held back (3 s) and closed() runs before
 * any reply to QUIT; with it on the client waits for the (200 ms late) 221 and closes after.
 * An ignored waitQUIT fails one row or the other: the order of events is what is checked. */
static void test_waitquit(void **state)
{
    (void)state;
    static const struct {
        bool waitquit;
        int delay_ms;
        bool want_eof_before_reply, want_answered_at_close;
    } rows[] = {{false, 3000, true, false}, {true, 200, false, true}};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const struct script sp = {.greeting = "220 mx\r\n", .delay_at = 5,
                                  .delay_ms = rows[i].delay_ms};
        struct harness *h = h_new();
        h->conf.deliver.client.waitQUIT = rows[i].waitquit;
        h->conf.deliver.client.timeout = 60000;
        srv_start(h, 0, &sp);
        h_txn(h, "s@y.example", R1, 1, "x\r\n", 3);
        struct peer p = h_peer(h, 0, NULL);
        h_run(h, &p, 1);
        assert_string_equal(h->srv[0].cmds, "EHLO client.example|MAIL FROM:<s@y.example>|"
                                            "RCPT TO:<a@x.example>|DATA|.|QUIT");
        if (h->srv[0].eof_before_reply != rows[i].want_eof_before_reply)
            fail_msg("waitQUIT %d: server saw EOF before its QUIT reply: got %d, want %d",
                     rows[i].waitquit, h->srv[0].eof_before_reply,
                     rows[i].want_eof_before_reply);
        if (h->quit_answered_at_close != rows[i].want_answered_at_close)
            fail_msg("waitQUIT %d: QUIT answered when closed() ran: got %d, want %d",
                     rows[i].waitquit, h->quit_answered_at_close,
                     rows[i].want_answered_at_close);
        assert_int_equal(h->out[0][0], OK);
        assert_int_equal(h->closed_o, OK);
        h_free(h);
    }
}

/* A remotenet matching the peer overrides announcehost. */
static void test_remotenet(void **state)
{
    (void)state;
    static const struct script sp = {.greeting = "220 mx\r\n"};
    struct harness *h = h_new();
    struct cidr net;
    assert_int_equal(cidr_parse("127.0.0.0/8", 11, &net), 0);
    struct remotenet rn = {.nets = &net, .nnets = 1, .client = h->conf.deliver.client};
    rn.client.announcehost = "inside.example";
    h->conf.deliver.remotenets = &rn;
    h->conf.deliver.nremotenets = 1;
    srv_start(h, 0, &sp);
    struct peer p = h_peer(h, 0, NULL);
    h_run(h, &p, 1);
    assert_string_equal(h->srv[0].cmds, "EHLO inside.example|QUIT");
    assert_int_equal(h->closed_o, OK);
    h_free(h);
}

/* A 1 MB body full of dot lines arrives intact and correctly stuffed. */
static void test_big_body(void **state)
{
    (void)state;
    static const struct script sp = {.greeting = "220 mx\r\n",
                                     .ehlo = "250-mx\r\n250-PIPELINING\r\n250 SIZE 2000000\r\n"};
    const char *unit = ".dot line\r\nplain line of text here\r\n";
    size_t ulen = strlen(unit), n = (1 << 20) / ulen;
    char *body = malloc(n * ulen), *want = malloc(n * (ulen + 1));
    for (size_t i = 0; i < n; i++) {
        memcpy(body + i * ulen, unit, ulen);
        want[i * (ulen + 1)] = '.';
        memcpy(want + i * (ulen + 1) + 1, unit, ulen);
    }
    struct harness *h = h_new();
    srv_start(h, 0, &sp);
    h_txn(h, "s@y.example", R1, 1, body, n * ulen);
    struct peer p = h_peer(h, 0, NULL);
    h_run(h, &p, 1);
    assert_int_equal(h->out[0][0], OK);
    assert_int_equal(h->srv[0].bodylen, n * (ulen + 1));
    assert_memory_equal(h->srv[0].body, want, n * (ulen + 1));
    assert_int_equal(evbuffer_get_length(h->txns[0].body), 0); /* drained */
    free(body);
    free(want);
    h_free(h);
}

/* An 8-bit body to a server without 8BITMIME goes out converted piece by piece as the
 * output drains (smtpc_down.c): got what the one-shot conversion gives, dot-stuffed, SIZE=
 * its length, whatever lines start with "." or where the 64 KB pieces end. */
static void test_big_body_downgraded(void **state)
{
    (void)state;
    static const struct script sp = {.greeting = "220 mx\r\n",
                                     .ehlo = "250-mx\r\n250-PIPELINING\r\n250 SIZE 2000000\r\n"};
    static const char head[] = "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                               "Content-Transfer-Encoding: 8bit\r\n\r\n";
    const char *unit = ".dot caf\xc3\xa9 = line \r\nplain line of text here\r\n";
    size_t ulen = strlen(unit), n = (300 * 1024) / ulen, len = sizeof head - 1 + n * ulen;
    char *body = malloc(len), *conv = malloc(MIME8TO7_OUT_MAX(len)), *want = malloc(2 * MIME8TO7_OUT_MAX(len));
    memcpy(body, head, sizeof head - 1);
    for (size_t i = 0; i < n; i++)
        memcpy(body + sizeof head - 1 + i * ulen, unit, ulen);
    ssize_t cn = mime8to7(body, len, conv, MIME8TO7_OUT_MAX(len));
    assert_true(cn > 0);
    size_t wn = 0;
    for (ssize_t i = 0; i < cn; i++) { /* dot-stuffed */
        if (conv[i] == '.' && (i == 0 || conv[i - 1] == '\n'))
            want[wn++] = '.';
        want[wn++] = conv[i];
    }
    struct harness *h = h_new();
    srv_start(h, 0, &sp);
    h_txn(h, "s@y.example", R1, 1, body, len);
    struct peer p = h_peer(h, 0, NULL);
    h_run(h, &p, 1);
    char size[64];
    snprintf(size, sizeof size, "SIZE=%zd|", cn);
    if (h->out[0][0] != OK || !strstr(h->srv[0].cmds, size))
        fail_msg("got %d \"%s\", commands %s; want OK and %s", h->out[0][0], h->text[0][0],
                 h->srv[0].cmds, size);
    assert_int_equal(h->srv[0].bodylen, wn);
    assert_memory_equal(h->srv[0].body, want, wn);
    free(body);
    free(conv);
    free(want);
    h_free(h);
}

/* A len-byte 8-bit MIME message (mostly 7-bit lines, a UTF-8 word in each); malloc'ed. */
static char *body8_new(size_t len)
{
    static const char head[] = "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                               "Content-Transfer-Encoding: 8bit\r\n\r\n";
    static const char unit[] = "caf\xc3\xa9 and a line of plain text that is long enough\r\n"
                               ".a dot line\r\n";
    char *body = malloc(len);
    size_t off = sizeof head - 1;
    memcpy(body, head, off);
    for (; off + sizeof unit - 1 <= len; off += sizeof unit - 1)
        memcpy(body + off, unit, sizeof unit - 1);
    memset(body + off, 'x', len - off); /* a last line without CRLF */
    return body;
}

/* Counts loop turns once the server has read EHLO, until it reads MAIL or the client is
 * closed; at turn `at` it does `what` to the connection (shutdown, peer close, timeout). */
struct ticker {
    struct harness *h;
    struct event *ev;
    struct smtpc *c;
    int ticks, at;
    char what; /* 0 nothing, 'a' smtpc_abort, 'c' the server closes, 't' a 1 ms timeout */
};

static void ticker_on_turn(evutil_socket_t fd, short what, void *arg)
{
    struct ticker *k = arg;
    static const struct timeval zero = {0, 0};
    (void)fd;
    (void)what;
    if (k->h->closed || strstr(k->h->srv[0].cmds, "MAIL"))
        return;
    if (strstr(k->h->srv[0].cmds, "EHLO"))
        k->ticks++;
    if (k->ticks == 1 && k->what == 't') /* before the client reads the EHLO reply */
        k->h->conf.deliver.client.timeout = 1;
    if (k->ticks == k->at && k->what == 'a') {
        smtpc_abort(k->c);
        return;
    }
    if (k->ticks == k->at && k->what == 'c' && k->h->srv[0].last)
        sconn_free(k->h->srv[0].last);
    evtimer_add(k->ev, &zero);
}

/* Starts the client on server 0 with a ticker doing what at turn at; runs to the end. */
static void ticker_run(struct harness *h, struct ticker *k, char what, int at)
{
    static const struct timeval zero = {0, 0}, ten = {10, 0};
    struct peer p = h_peer(h, 0, NULL);
    *k = (struct ticker){.h = h, .what = what, .at = at};
    k->ev = evtimer_new(h->base, ticker_on_turn, k);
    evtimer_add(k->ev, &zero);
    h->safety = evtimer_new(h->base, h_on_safety, h);
    evtimer_add(h->safety, &ten);
    k->c = smtpc_start(h->base, &h->conf, &p, 1, &h_ops, h);
    event_base_dispatch(h->base);
    event_free(k->ev);
    assert_false(h->timed_out);
    assert_true(h->closed);
}

/* The downgrade's preparation (pass 1 and the count of a 4 MB body) yields to the loop:
 * other events run many times between EHLO and MAIL (256 KB per turn: 35 turns; done in
 * one go it was 4), and the content is unchanged: one "BDAT n LAST" chunk of
 * exactly the one-shot conversion (plus the final CRLF it lacked), SIZE= its length. */
static void test_downgrade_yields(void **state)
{
    (void)state;
    static const struct script sp = {
        .greeting = "220 mx\r\n",
        .ehlo = "250-mx\r\n250-PIPELINING\r\n250-CHUNKING\r\n250 SIZE 20000000\r\n"};
    size_t len = 4u << 20;
    char *body = body8_new(len), *conv = malloc(MIME8TO7_OUT_MAX(len));
    ssize_t cn = mime8to7(body, len, conv, MIME8TO7_OUT_MAX(len));
    assert_true(cn > 0 && (size_t)cn + 2 < sizeof((struct srv *)0)->body);
    memcpy(conv + cn, "\r\n", 2);
    struct harness *h = h_new();
    struct ticker k;
    srv_start(h, 0, &sp);
    h_txn(h, "s@y.example", R1, 1, body, len);
    ticker_run(h, &k, 0, 0);
    char want[128];
    snprintf(want, sizeof want,
             "MAIL FROM:<s@y.example> SIZE=%zd|RCPT TO:<a@x.example>|"
             "BDAT %zd LAST|QUIT",
             cn, cn + 2);
    if (h->out[0][0] != OK || !strstr(h->srv[0].cmds, want) || k.ticks < 8)
        fail_msg("got %d \"%s\", commands %s, %d turns; want OK, %s, at least 8 turns",
                 h->out[0][0], h->text[0][0], h->srv[0].cmds, k.ticks, want);
    assert_int_equal(h->srv[0].bodylen, (size_t)cn + 2);
    assert_memory_equal(h->srv[0].body, conv, (size_t)cn + 2);
    free(body);
    free(conv);
    h_free(h);
}

/* The connection goes away while the downgrade is being prepared (shutdown, the peer
 * closes, the reply timeout): the recipient is deferred, the transaction handed back once,
 * no MAIL was sent, and nothing of the preparation runs after (ASan: no leak, no use after
 * free). */
static void test_downgrade_prepare_interrupted(void **state)
{
    (void)state;
    static const struct script sp = {.greeting = "220 mx\r\n",
                                     .ehlo = "250-mx\r\n250 PIPELINING\r\n"};
    static const struct {
        char what;
        const char *why; /* in closed()'s reason or the recipient's text */
    } x[] = {
        {'a', "connection aborted (shutdown)"},
        {'c', "lost connection with"},
        {'t', "timeout preparing the 7-bit body for"},
    };
    size_t len = 4u << 20;
    char *body = body8_new(len);
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++) {
        struct harness *h = h_new();
        struct ticker k;
        srv_start(h, 0, &sp);
        h_txn(h, "s@y.example", R1, 1, body, len);
        ticker_run(h, &k, x[i].what, 4);
        if (h->out[0][0] != TF || !strstr(h->text[0][0], x[i].why) || h->txn_done_calls != 1 ||
            strstr(h->srv[0].cmds, "MAIL"))
            fail_msg("case %c: got %d \"%s\", %d txn_done, commands %s; want TF \"%s\", 1, "
                     "no MAIL",
                     x[i].what, h->out[0][0], h->text[0][0], h->txn_done_calls, h->srv[0].cmds,
                     x[i].why);
        h_free(h);
    }
    free(body);
}

/* A reply line beyond REPLY_LINE_MAX is refused at once (not after the 60 s timeout). */
static void test_overlong_line(void **state)
{
    (void)state;
    static char greet[REPLY_LINE_MAX + 200];
    memset(greet, 'x', sizeof greet - 1);
    memcpy(greet, "220 ", 4);
    greet[sizeof greet - 1] = 0;
    static struct script sp;
    sp.greeting = greet;
    struct harness *h = h_new();
    h->conf.deliver.client.timeout = 60000;
    srv_start(h, 0, &sp);
    struct peer p = h_peer(h, 0, NULL);
    h_run(h, &p, 1);
    assert_int_equal(h->closed_o, TF);
    assert_non_null(strstr(h->why, "4.5.0 invalid reply"));
    h_free(h);
}

/* Abort before anything happened, and abort in the middle of a transaction. */
static struct smtpc *abort_target;
static bool abort_done;
static void abort_on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct harness *h = arg;
    (void)fd;
    (void)what;
    smtpc_abort(abort_target);
    abort_done = true;
    assert_true(h->closed); /* before smtpc_abort returned */
}

static void test_abort(void **state)
{
    (void)state;
    struct harness *h = h_new();
    int hold = -1;
    struct peer p = h_peer(h, -1, &hold);
    struct smtpc *c = smtpc_start(h->base, &h->conf, &p, 1, &h_ops, h);
    assert_int_equal(strncmp(smtpc_relay(c), "mx.example[127.0.0.1]:", 22), 0);
    smtpc_abort(c);
    assert_true(h->closed);
    assert_int_equal(h->closed_o, TF);
    assert_int_equal(h->next_calls, 0);
    event_base_loop(h->base, EVLOOP_NONBLOCK); /* nothing left scheduled for c */
    close(hold);
    event_base_free(h->base);
    free(h);

    /* mid-transaction: the server never answers RCPT; abort 100 ms in */
    static const struct script sp = {.greeting = "220 mx\r\n", .replies = {NULL, ""}};
    h = h_new();
    srv_start(h, 0, &sp);
    h_txn(h, "s@y.example", R2, 2, "x\r\n", 3);
    struct peer q = h_peer(h, 0, NULL);
    abort_target = smtpc_start(h->base, &h->conf, &q, 1, &h_ops, h);
    struct timeval tv = {0, 100000}, five = {5, 0};
    event_base_once(h->base, -1, EV_TIMEOUT, abort_on_timer, h, &tv);
    h->safety = evtimer_new(h->base, h_on_safety, h);
    evtimer_add(h->safety, &five);
    event_base_dispatch(h->base);
    assert_false(h->timed_out);
    assert_true(abort_done);
    assert_int_equal(h->out[0][0], TF);
    assert_int_equal(h->out[0][1], TF);
    assert_int_equal(h->txn_done_calls, 1);
    assert_int_equal(h->closed_o, OK);
    h_free(h);
}

/* ---------------------------------------------------------------- DSN parameters */

#define DSN_RCPTS "RCPT TO:<a@x.example> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;plus+2Btag@example.net|" \
                  "RCPT TO:<b@x.example> NOTIFY=NEVER ORCPT=utf-8;j\\x{F6}rg\\x{3D}x@b.test|"      \
                  "RCPT TO:<c@x.example> NOTIFY=FAILURE|DATA|.|QUIT"

/* DSN parameters pass on re-encoded (ENVID and ORCPT as xtext, utf-8 ORCPT as RFC 6533
 * utf-8-addr-xtext) when the server announces DSN, and not at all otherwise; an ORCPT that
 * cannot be represented is left out with a warning that names the reason. */
static void test_dsn_parameters(void **state)
{
    (void)state;
    static const struct {
        const char *ehlo, *want, *warning;
    } x[] = {
        {"250-mx\r\n250 DSN\r\n",
         "EHLO client.example|MAIL FROM:<s@y.example> RET=HDRS ENVID=id+2Bx+20y|" DSN_RCPTS,
         "ORCPT not passed on to mx.example[127.0.0.1]:"},
        {"250-mx\r\n250-DSN\r\n250 SMTPUTF8\r\n",
         "EHLO client.example|MAIL FROM:<s@y.example> RET=HDRS ENVID=id+2Bx+20y|" DSN_RCPTS,
         "not printable US-ASCII (RFC 3461): rfc822;j\\xc3\\xb6rg@b.test"},
        {"250-mx\r\n250 8BITMIME\r\n",
         "EHLO client.example|MAIL FROM:<s@y.example>|RCPT TO:<a@x.example>|"
         "RCPT TO:<b@x.example>|RCPT TO:<c@x.example>|DATA|.|QUIT",
         NULL},
    };
    static const uint8_t notify[] = {NOTIFY_SUCCESS | NOTIFY_DELAY, NOTIFY_NEVER, NOTIFY_FAILURE};
    static const char *orcpts[] = {"rfc822;plus+tag@example.net", "utf-8;j\xc3\xb6rg=x@b.test",
                                   "rfc822;j\xc3\xb6rg@b.test"};
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++) {
        struct script sp = {.greeting = "220 mx\r\n", .ehlo = x[i].ehlo};
        struct harness *h = h_new();
        srv_start(h, 0, &sp);
        h_txn(h, "s@y.example", R3, 3, "x\r\n", 3);
        h->txns[0].notify = notify;
        h->txns[0].orcpts = orcpts;
        h->txns[0].envid = "id+x y";
        h->txns[0].ret = MSG_F_RET_HDRS;
        struct peer p = h_peer(h, 0, NULL);
        char log[4096] = "";
        FILE *tmp = tmpfile();
        int saved = dup(STDERR_FILENO);
        dup2(fileno(tmp), STDERR_FILENO);
        h_run(h, &p, 1);
        dup2(saved, STDERR_FILENO);
        close(saved);
        rewind(tmp);
        log[fread(log, 1, sizeof log - 1, tmp)] = '\0';
        fclose(tmp);
        if (strcmp(h->srv[0].cmds, x[i].want) != 0)
            fail_msg("EHLO \"%s\": commands got \"%s\", want \"%s\"", x[i].ehlo, h->srv[0].cmds,
                     x[i].want);
        if (x[i].warning ? !strstr(log, x[i].warning) : strstr(log, "not passed on") != NULL)
            fail_msg("EHLO \"%s\": log got \"%s\", want %s \"%s\"", x[i].ehlo, log,
                     x[i].warning ? "a line with" : "no line with",
                     x[i].warning ? x[i].warning : "not passed on");
        for (int k = 0; k < 3; k++)
            assert_int_equal(h->out[0][k], OK);
        assert_int_equal(h->txns[0].dsn, i < 2);
        h_free(h);
    }
}

/* Extensions a transaction needs (smtpc_ext.c): SMTPUTF8 passed on or 5.6.7, the 8-bit
 * downgrade or 5.6.3 without 8BITMIME, BY= with the time left or the RFC 2852 rules. */
static void test_extensions(void **state)
{
    (void)state;
    static const char mime8[] = "MIME-Version: 1.0\r\n\r\ncaf\xc3\xa9\r\n";
    static const struct {
        const char *name, *ehlo, *sender, *body;
        uint32_t flags;
        int64_t by_s; /* by-time from now, seconds; 0 = none */
        const char *want_cmds, *want_body; /* want_body: a substring of what the server got */
        int want_out;
        const char *want_text;
    } x[] = {
        {"utf-8 sender, SMTPUTF8 offered", "250-mx\r\n250 SMTPUTF8\r\n", "j\xc3\xb6rg@y.example",
         "x\r\n", MSG_F_SMTPUTF8, 0,
         "EHLO client.example|MAIL FROM:<j\xc3\xb6rg@y.example> SMTPUTF8|RCPT TO:<a@x.example>|DATA|.|QUIT",
         NULL, OK, "250"},
        {"utf-8 sender, not offered", "250 mx\r\n", "j\xc3\xb6rg@y.example", "x\r\n",
         MSG_F_SMTPUTF8, 0, "EHLO client.example|QUIT", NULL, OUTCOME_PERMFAIL, "5.6.7 "},
        {"utf-8 header, not offered", "250 mx\r\n", "s@y.example", "Subject: \xc3\xa9\r\n\r\nx\r\n",
         MSG_F_SMTPUTF8, 0, "EHLO client.example|QUIT", NULL, OUTCOME_PERMFAIL, "5.6.7 "},
        {"asked, all ASCII, not offered", "250 mx\r\n", "s@y.example", "x\r\n", MSG_F_SMTPUTF8, 0,
         "EHLO client.example|MAIL FROM:<s@y.example>|RCPT TO:<a@x.example>|DATA|.|QUIT", NULL, OK,
         "250"},
        {"8-bit MIME, 8BITMIME offered", "250-mx\r\n250 8BITMIME\r\n", "s@y.example", mime8, 0, 0,
         "EHLO client.example|MAIL FROM:<s@y.example> BODY=8BITMIME|RCPT TO:<a@x.example>|DATA|.|QUIT",
         "caf\xc3\xa9", OK, "250"},
        {"8-bit MIME downgraded", "250 mx\r\n", "s@y.example", mime8, 0, 0,
         "EHLO client.example|MAIL FROM:<s@y.example>|RCPT TO:<a@x.example>|DATA|.|QUIT",
         "Content-Transfer-Encoding: quoted-printable\r\n\r\ncaf=C3=A9\r\n", OK, "250"},
        {"8-bit, not MIME", "250 mx\r\n", "s@y.example", "caf\xc3\xa9\r\n", 0, 0,
         "EHLO client.example|QUIT", NULL, OUTCOME_PERMFAIL, "5.6.3 "},
        /* MSG_F_7BIT is trusted: the body is not scanned (proof: its 8-bit octet does not
         * make BODY=8BITMIME, a downgrade or a 5.6.3), nor the header for SMTPUTF8 */
        {"7bit flag, 8BITMIME offered: not scanned", "250-mx\r\n250 8BITMIME\r\n", "s@y.example",
         mime8, MSG_F_7BIT, 0,
         "EHLO client.example|MAIL FROM:<s@y.example>|RCPT TO:<a@x.example>|DATA|.|QUIT",
         "caf\xc3\xa9", OK, "250"},
        {"7bit flag, not offered: no downgrade", "250 mx\r\n", "s@y.example", "caf\xc3\xa9\r\n",
         MSG_F_7BIT, 0, "EHLO client.example|MAIL FROM:<s@y.example>|RCPT TO:<a@x.example>|DATA|.|QUIT",
         "caf\xc3\xa9\r\n", OK, "250"},
        {"7bit flag, asked SMTPUTF8, not offered: header not scanned", "250 mx\r\n", "s@y.example",
         "Subject: \xc3\xa9\r\n\r\nx\r\n", MSG_F_SMTPUTF8 | MSG_F_7BIT, 0,
         "EHLO client.example|MAIL FROM:<s@y.example>|RCPT TO:<a@x.example>|DATA|.|QUIT", NULL, OK,
         "250"},
        {"no 7bit flag, 7-bit body, 8BITMIME offered: scanned, plain", "250-mx\r\n250 8BITMIME\r\n",
         "s@y.example", "x\r\n", 0, 0,
         "EHLO client.example|MAIL FROM:<s@y.example>|RCPT TO:<a@x.example>|DATA|.|QUIT", NULL, OK,
         "250"},
        {"BY R, DELIVERBY offered", "250-mx\r\n250 DELIVERBY 60\r\n", "s@y.example", "x\r\n",
         MSG_F_BY_RETURN, 600,
         "EHLO client.example|MAIL FROM:<s@y.example> BY=599;R|RCPT TO:<a@x.example>|DATA|.|QUIT",
         NULL, OK, "250"},
        {"BY NT past, DELIVERBY offered", "250-mx\r\n250 DELIVERBY\r\n", "s@y.example", "x\r\n",
         MSG_F_BY_NOTIFY | MSG_F_BY_TRACE, -30,
         "EHLO client.example|MAIL FROM:<s@y.example> BY=-31;NT|RCPT TO:<a@x.example>|DATA|.|QUIT",
         NULL, OK, "250"},
        {"BY R, not offered", "250 mx\r\n", "s@y.example", "x\r\n", MSG_F_BY_RETURN, 600,
         "EHLO client.example|QUIT", NULL, OUTCOME_PERMFAIL, "5.4.7 the next hop does not offer"},
        {"BY R, under the minimum", "250-mx\r\n250 DELIVERBY 900\r\n", "s@y.example", "x\r\n",
         MSG_F_BY_RETURN, 600, "EHLO client.example|QUIT", NULL, OUTCOME_PERMFAIL, "5.4.7 the message"},
        {"BY R, time up", "250-mx\r\n250 DELIVERBY\r\n", "s@y.example", "x\r\n", MSG_F_BY_RETURN, -1,
         "EHLO client.example|QUIT", NULL, OUTCOME_TEMPFAIL, "4.4.7 "},
        {"BY N, not offered: relayed", "250 mx\r\n", "s@y.example", "x\r\n", MSG_F_BY_NOTIFY, 600,
         "EHLO client.example|MAIL FROM:<s@y.example>|RCPT TO:<a@x.example>|DATA|.|QUIT", NULL, OK,
         "250"},
    };
    static const char *rcpts[] = {"a@x.example"};
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++) {
        struct script sp = {.greeting = "220 mx\r\n", .ehlo = x[i].ehlo};
        struct harness *h = h_new();
        srv_start(h, 0, &sp);
        h_txn(h, x[i].sender, rcpts, 1, x[i].body, strlen(x[i].body));
        h->txns[0].flags = x[i].flags;
        /* + 500 ms: the seconds left round down to by_s - 1 however long the test takes */
        h->txns[0].deliver_by = x[i].by_s ? clock_wall_ms() + x[i].by_s * 1000 - 500 : 0;
        struct peer p = h_peer(h, 0, NULL);
        h_run(h, &p, 1);
        if (strcmp(h->srv[0].cmds, x[i].want_cmds) != 0)
            fail_msg("%s: commands got \"%s\", want \"%s\"", x[i].name, h->srv[0].cmds,
                     x[i].want_cmds);
        if (x[i].want_body && !memmem(h->srv[0].body, h->srv[0].bodylen, x[i].want_body,
                                      strlen(x[i].want_body)))
            fail_msg("%s: body got \"%.*s\", want it to hold \"%s\"", x[i].name,
                     (int)h->srv[0].bodylen, h->srv[0].body, x[i].want_body);
        if (h->out[0][0] != x[i].want_out || strncmp(h->text[0][0], x[i].want_text,
                                                     strlen(x[i].want_text)) != 0)
            fail_msg("%s: outcome got %d \"%s\", want %d \"%s...\"", x[i].name, h->out[0][0],
                     h->text[0][0], x[i].want_out, x[i].want_text);
        assert_int_equal(h->txns[0].by_relayed, strcmp(x[i].name, "BY N, not offered: relayed") == 0);
        h_free(h);
    }
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    if (getenv("SMTPC_VERBOSE"))
        log_set_verbose(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_pipelining_one_group),
        cmocka_unit_test(test_pipelining_window),
        cmocka_unit_test(test_bdat_one_group),
        cmocka_unit_test(test_greeting_421_next_peer),
        cmocka_unit_test(test_all_peers_fail),
        cmocka_unit_test(test_greeting_timeout),
        cmocka_unit_test(test_waitquit),
        cmocka_unit_test(test_remotenet),
        cmocka_unit_test(test_big_body),
        cmocka_unit_test(test_big_body_downgraded),
        cmocka_unit_test(test_downgrade_yields),
        cmocka_unit_test(test_downgrade_prepare_interrupted),
        cmocka_unit_test(test_overlong_line),
        cmocka_unit_test(test_abort),
        cmocka_unit_test(test_dsn_parameters),
        cmocka_unit_test(test_extensions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
