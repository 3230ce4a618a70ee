/* smtpd: the inbound ESMTP server (minimal set); see smtpd.h for the public contract.
 *
 * Owns: one evconnlistener per smtpd.listen address (SO_REUSEADDR, IPV6_V6ONLY, backlog
 * 1024) and one session per connection (a bufferevent). A session reads its input line by
 * line in order, so pipelined commands are answered in order; while a message is being made
 * durable (queue_put) the session stops reading, and goes on with the buffered input once
 * the queue reports back.
 *
 * Limits (every read is bounded): command line 1000 bytes incl. CRLF (longer: 500 5.5.2,
 * the excess discarded without buffering); 1000 recipients per transaction (452 4.5.3);
 * message content max_message_size (counted while reading, the excess discarded, 552 5.3.4
 * at the end); DATA lines are consumed in chunks of SMTPD_DATA_CHUNK whatever their
 * length; pending replies SMTPD_OUT_MAX (a client that does not read is not read either);
 * SMTPD_ERRORS_MAX 4xx/5xx replies per session (then 421); 5 minutes idle (421 4.4.2).
 *
 * Lifetime: a session is freed when its client leaves or after QUIT once its replies are
 * flushed, except while its queue_put is pending: then only the connection is closed and
 * the queue callback frees the session (and still calls accepted() for a durable message,
 * so the scheduler learns of it). smtpd_free() detaches such sessions; they free themselves
 * when the queue reports (a message committed then is found again by queue recovery). */
#include "smtpd/smtpd.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "conf/conf.h"
#include "core/log.h"
#include "core/qid.h"
#include "core/xalloc.h"
#include "proto/cidr.h"
#include "proto/cmd.h"
#include "queue/queue.h"

enum {
    SMTPD_HELO_MAX = 255, /* stored (sanitized) HELO/EHLO argument */
    SMTPD_IP_MAX = 64,
};

static const int SMTPD_BACKLOG = 1024;
static const time_t SMTPD_TIMEOUT_S = 300;     /* idle limit, read and write */
static const uint32_t SMTPD_RCPT_MAX = 1000;   /* recipients per transaction */
static const size_t SMTPD_DATA_CHUNK = 8192;   /* partial DATA line consumed past this */
static const size_t SMTPD_OUT_MAX = 65536;     /* unsent replies before we stop reading */
static const unsigned SMTPD_ERRORS_MAX = 50;   /* 4xx/5xx replies before 421 */
static const size_t SMTPD_BODY_INITIAL = 4096; /* first allocation of the content */

enum session_state {
    SESSION_CMD,  /* reading commands */
    SESSION_DATA, /* reading message content */
    SESSION_WAIT, /* queue_put pending: input is not read */
};

enum session_helo { HELO_NONE, HELO_SMTP, HELO_ESMTP };

struct smtpd;

struct smtpd_listener {
    struct smtpd *sd;
    const char *addr; /* the configured text, for logs */
    struct evconnlistener *lev;
    struct event *retry; /* re-enables accepting after a resource error */
};

struct session {
    struct smtpd *sd; /* NULL once smtpd_free() detached a session waiting on the queue */
    struct session *prev, *next;
    struct bufferevent *bev; /* NULL once the connection is closed */
    char ip[SMTPD_IP_MAX];
    bool v6;
    bool trusted;
    enum session_helo helo_kind;
    char helo[SMTPD_HELO_MAX + 1];
    enum session_state state;
    bool in_mail;    /* MAIL accepted, transaction open */
    struct qmsg txn; /* sender and rcpts while open; all fields once DATA ends */
    size_t rcpt_cap;
    char *body; /* Received header + content so far (NULL when over the limit) */
    size_t body_len, body_cap, hdr_len;
    uint64_t content; /* content bytes counted so far (also past the limit) */
    bool over;        /* content exceeded max_message_size: discarding */
    bool bol;         /* DATA: at the beginning of a line */
    bool discarding;  /* skipping the rest of an over-long command line */
    bool closing;     /* close once the replies are flushed */
    bool eof;         /* the client shut down its sending side */
    bool out_blocked; /* too many unsent replies: reading paused */
    bool in_process;  /* inside session_process (queue callback may run synchronously) */
    unsigned errors;
};

struct smtpd {
    struct event_base *base;
    const struct conf *c;
    struct queue *q;
    smtpd_accepted_fn accepted;
    void *arg;
    struct smtpd_listener *listeners;
    size_t nlisteners;
    struct session *sessions;
    size_t nsessions;
};

static void session_run(struct session *s);

/* ---- replies and small helpers ---- */

/* Appends one reply line (CRLF added); a reply starting with 4 or 5 counts as an error. */
__attribute__((format(printf, 2, 3))) static void session_reply(struct session *s, const char *fmt,
                                                                ...)
{
    if (fmt[0] == '4' || fmt[0] == '5')
        s->errors++;
    if (!s->bev)
        return;
    struct evbuffer *out = bufferevent_get_output(s->bev);
    va_list ap;
    va_start(ap, fmt);
    evbuffer_add_vprintf(out, fmt, ap);
    va_end(ap);
    evbuffer_add(out, "\r\n", 2);
}

/* The configured host name (never NULL). */
static const char *session_host(const struct session *s)
{
    return s->sd && s->sd->c->hostname ? s->sd->c->hostname : "localhost";
}

/* Formats an RFC 5322 date-time of wall ms in local time, locale-independent. */
static void smtpd_date(int64_t ms, char *buf, size_t len)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    long off = tm.tm_gmtoff / 60;
    char sign = off < 0 ? '-' : '+';
    if (off < 0)
        off = -off;
    snprintf(buf, len, "%s, %d %s %04d %02d:%02d:%02d %c%02ld%02ld", days[tm.tm_wday % 7],
             tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
             tm.tm_sec, sign, off / 60, off % 60);
}

/* Frees everything of the open transaction and closes it. */
static void session_txn_reset(struct session *s)
{
    free(s->txn.sender);
    free(s->txn.client_ip);
    free(s->txn.helo);
    for (uint32_t i = 0; i < s->txn.nrcpt; i++) {
        free(s->txn.rcpts[i].addr);
        free(s->txn.rcpts[i].last_reply);
    }
    free(s->txn.rcpts);
    memset(&s->txn, 0, sizeof s->txn);
    s->rcpt_cap = 0;
    s->in_mail = false;
    free(s->body);
    s->body = NULL;
    s->body_len = s->body_cap = s->hdr_len = 0;
    s->content = 0;
    s->over = false;
}

/* Removes s from its server's list (if it still has one). */
static void session_unlink(struct session *s)
{
    if (!s->sd)
        return;
    if (s->prev)
        s->prev->next = s->next;
    else
        s->sd->sessions = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->sd->nsessions--;
    s->prev = s->next = NULL;
    s->sd = NULL;
}

/* Closes the connection; frees the session too unless its queue_put is pending (the queue
 * callback frees it then). The caller must not touch s afterwards. */
static void session_free(struct session *s)
{
    if (s->bev) {
        log_debug("disconnect from [%s]", s->ip);
        bufferevent_free(s->bev);
        s->bev = NULL;
    }
    if (s->state == SESSION_WAIT)
        return;
    session_unlink(s);
    session_txn_reset(s);
    free(s);
}

/* ---- DATA ---- */

/* Starts the content with the Received header (RFC 5321 §4.4) of this transaction. */
static void session_received(struct session *s)
{
    char qid[QID_TEXT_LEN + 1], date[64], rcpt[ADDR_MAX + 1], forc[ADDR_MAX + 16];
    qid_to_text(s->txn.id, qid);
    smtpd_date(clock_wall_ms(), date, sizeof date);
    forc[0] = '\0';
    if (s->txn.nrcpt == 1) {
        const char *a = s->txn.rcpts[0].addr;
        log_sanitize(rcpt, sizeof rcpt, a, strlen(a));
        snprintf(forc, sizeof forc, "\r\n\tfor <%s>", rcpt);
    }
    s->body_cap = SMTPD_BODY_INITIAL;
    s->body = xmalloc(s->body_cap);
    int n = snprintf(s->body, s->body_cap,
                     "Received: from %s ([%s%s])\r\n\tby %.255s (sluice) with %s id %s%s; %s\r\n",
                     s->helo, s->v6 ? "IPv6:" : "", s->ip, session_host(s),
                     s->helo_kind == HELO_ESMTP ? "ESMTP" : "SMTP", qid, forc, date);
    if (n < 0 || (size_t)n >= s->body_cap)
        log_panic("smtpd: Received header does not fit (%d bytes)", n);
    s->body_len = s->hdr_len = (size_t)n;
}

/* Makes room for n more content bytes; false once the message is over the limit (the
 * content is then dropped and only counted). */
static bool session_data_room(struct session *s, size_t n)
{
    s->content += n;
    if (s->over)
        return false;
    if (s->content > s->sd->c->smtpd.max_message_size) {
        s->over = true;
        free(s->body);
        s->body = NULL;
        s->body_len = s->body_cap = 0;
        return false;
    }
    if (s->body_len + n > s->body_cap) {
        /* double, but never past the largest content allowed */
        size_t cap = s->body_cap * 2, most = s->hdr_len + s->sd->c->smtpd.max_message_size;
        if (most > s->hdr_len && cap > most)
            cap = most;
        if (cap < s->body_len + n)
            cap = s->body_len + n;
        s->body = xrealloc(s->body, cap);
        s->body_cap = cap;
    }
    return true;
}

/* Moves n bytes of the input into the content (or drops them past the limit). */
static void session_data_take(struct session *s, struct evbuffer *in, size_t n)
{
    if (n == 0)
        return;
    if (!session_data_room(s, n)) {
        evbuffer_drain(in, n);
        return;
    }
    evbuffer_remove(in, s->body + s->body_len, n);
    s->body_len += n;
}

/* Ends a line of content with CRLF (bare LF lines are normalised this way). */
static void session_data_crlf(struct session *s)
{
    if (session_data_room(s, 2)) {
        memcpy(s->body + s->body_len, "\r\n", 2);
        s->body_len += 2;
    }
}

/* The final dot arrived: answer 552 for an oversized message, else hand it to the queue
 * and wait for it to be durable. */
static void session_data_end(struct session *s);

/* Consumes the start of a long line that has no LF yet, keeping a trailing CR (it may be
 * the CR of the CRLF). Returns 1 if something was consumed, 0 to wait for more input. */
static int session_data_partial(struct session *s, struct evbuffer *in)
{
    size_t len = evbuffer_get_length(in);
    if (len < SMTPD_DATA_CHUNK)
        return 0;
    char first = 0, last = 0;
    struct evbuffer_ptr p;
    evbuffer_ptr_set(in, &p, len - 1, EVBUFFER_PTR_SET);
    evbuffer_copyout_from(in, &p, &last, 1);
    evbuffer_copyout(in, &first, 1);
    if (s->bol && first == '.') { /* dot-stuffed: the line cannot be the lone dot */
        evbuffer_drain(in, 1);
        len--;
    }
    session_data_take(s, in, len - (last == '\r' ? 1 : 0));
    s->bol = false;
    return 1;
}

/* Consumes one line of content (dot-unstuffed, CRLF-normalised) or the final dot. Returns
 * 1 on progress, 0 to wait for more input. */
static int session_read_data(struct session *s, struct evbuffer *in)
{
    size_t eol = 0;
    struct evbuffer_ptr p = evbuffer_search_eol(in, NULL, &eol, EVBUFFER_EOL_CRLF);
    if (p.pos < 0)
        return session_data_partial(s, in);
    size_t n = (size_t)p.pos;
    char first = 0;
    if (n > 0)
        evbuffer_copyout(in, &first, 1);
    if (s->bol && n == 1 && first == '.') {
        evbuffer_drain(in, n + eol);
        session_data_end(s);
        return 1;
    }
    if (s->bol && first == '.') {
        evbuffer_drain(in, 1);
        n--;
    }
    session_data_take(s, in, n);
    evbuffer_drain(in, eol);
    session_data_crlf(s);
    s->bol = true;
    return 1;
}

/* Called by the queue once the message is durable (err 0) or failed. */
static void session_on_queued(void *arg, int err)
{
    struct session *s = arg;
    char qid[QID_TEXT_LEN + 1], from[ADDR_MAX + 1];
    qid_to_text(s->txn.id, qid);
    s->state = SESSION_CMD;
    if (err == 0) {
        session_reply(s, "250 2.0.0 Ok: queued as %s", qid);
        log_info("%s: client=[%s], from=<%s>, nrcpt=%u, size=%llu", qid, s->ip,
                 log_sanitize(from, sizeof from, s->txn.sender, strlen(s->txn.sender)),
                 (unsigned)s->txn.nrcpt, (unsigned long long)s->txn.size);
        if (s->sd && s->sd->accepted)
            s->sd->accepted(s->sd->arg, &s->txn);
    } else {
        log_warn("%s: client=[%s]: queue write failed: %s", qid, s->ip, strerror(err));
        session_reply(s, "452 4.3.1 Insufficient system storage");
    }
    session_txn_reset(s);
    if (!s->bev) {
        session_free(s);
        return;
    }
    if (!s->in_process)
        session_run(s);
}

static void session_data_end(struct session *s)
{
    if (s->over) {
        log_info("client=[%s]: message of %llu bytes refused: over max_message_size", s->ip,
                 (unsigned long long)s->content);
        session_reply(s, "552 5.3.4 Error: message exceeds fixed maximum message size");
        session_txn_reset(s);
        s->state = SESSION_CMD;
        return;
    }
    s->txn.arrival = clock_wall_ms();
    s->txn.client_ip = xstrdup(s->ip);
    s->txn.helo = xstrdup(s->helo);
    s->txn.size = s->body_len;
    char *body = s->body;
    size_t len = s->body_len;
    s->body = NULL;
    s->body_len = s->body_cap = s->hdr_len = 0;
    s->state = SESSION_WAIT;
    queue_put(s->sd->q, &s->txn, body, len, session_on_queued, s);
}

/* ---- commands ---- */

/* Answers a command whose arguments cmd_parse() refused. */
static void session_bad_args(struct session *s, enum cmd_verb verb)
{
    switch (verb) {
    case CMD_HELO:
        session_reply(s, "501 5.5.4 Syntax: HELO hostname");
        break;
    case CMD_EHLO:
        session_reply(s, "501 5.5.4 Syntax: EHLO hostname");
        break;
    case CMD_MAIL:
        session_reply(s, "501 5.5.4 Syntax: MAIL FROM:<address> [parameters]");
        break;
    case CMD_RCPT:
        session_reply(s, "501 5.5.4 Syntax: RCPT TO:<address> [parameters]");
        break;
    default:
        session_reply(s, "501 5.5.4 Syntax error in parameters or arguments");
        break;
    }
}

/* HELO/EHLO: remembers the argument, resets the transaction, lists the extensions. */
static void session_cmd_helo(struct session *s, const struct cmd *c)
{
    if (!c->arg || !c->arg[0]) {
        session_bad_args(s, c->verb);
        return;
    }
    session_txn_reset(s);
    log_sanitize(s->helo, sizeof s->helo, c->arg, strlen(c->arg));
    if (c->verb == CMD_HELO) {
        s->helo_kind = HELO_SMTP;
        session_reply(s, "250 %s", session_host(s));
        return;
    }
    s->helo_kind = HELO_ESMTP;
    session_reply(s, "250-%s", session_host(s));
    session_reply(s, "250-PIPELINING");
    session_reply(s, "250-SIZE %llu", (unsigned long long)s->sd->c->smtpd.max_message_size);
    session_reply(s, "250-8BITMIME");
    session_reply(s, "250 ENHANCEDSTATUSCODES");
}

/* Parses a SIZE value: digits only, saturating. 0, or -1 when malformed. */
static int smtpd_size_parse(const char *v, uint64_t *out)
{
    uint64_t n = 0;
    if (!v || !*v)
        return -1;
    for (; *v; v++) {
        if (*v < '0' || *v > '9')
            return -1;
        unsigned d = (unsigned)(*v - '0');
        n = n > (UINT64_MAX - d) / 10 ? UINT64_MAX : n * 10 + d;
    }
    *out = n;
    return 0;
}

/* Checks the MAIL parameters (SIZE, BODY); replies and returns -1 on a refusal. */
static int session_mail_params(struct session *s, const struct cmd *c)
{
    char name[64];
    for (size_t i = 0; i < c->nparams; i++) {
        const struct cmd_param *p = &c->params[i];
        uint64_t size;
        if (strcasecmp(p->name, "SIZE") == 0) {
            if (smtpd_size_parse(p->value, &size) < 0) {
                session_reply(s, "501 5.5.4 Bad SIZE parameter");
                return -1;
            }
            if (size > s->sd->c->smtpd.max_message_size) {
                session_reply(s, "552 5.3.4 Message size exceeds fixed limit");
                return -1;
            }
        } else if (strcasecmp(p->name, "BODY") == 0) {
            if (!p->value || (strcasecmp(p->value, "7BIT") && strcasecmp(p->value, "8BITMIME"))) {
                session_reply(s, "501 5.5.4 Unsupported BODY type");
                return -1;
            }
        } else {
            log_sanitize(name, sizeof name, p->name, strlen(p->name));
            session_reply(s, "555 5.5.4 Unsupported option: %s", name);
            return -1;
        }
    }
    return 0;
}

/* MAIL FROM: opens a transaction after HELO/EHLO. */
static void session_cmd_mail(struct session *s, const struct cmd *c)
{
    if (s->helo_kind == HELO_NONE) {
        session_reply(s, "503 5.5.1 Error: send HELO/EHLO first");
        return;
    }
    if (s->in_mail) {
        session_reply(s, "503 5.5.1 Error: nested MAIL command");
        return;
    }
    if (session_mail_params(s, c) < 0)
        return;
    s->txn.sender = xstrdup(c->addr);
    s->in_mail = true;
    session_reply(s, "250 2.1.0 Ok");
}

/* RCPT TO: adds a recipient when the client may relay and the limit allows. */
static void session_cmd_rcpt(struct session *s, const struct cmd *c)
{
    char addr[ADDR_MAX + 1];
    if (!s->in_mail) {
        session_reply(s, "503 5.5.1 Error: need MAIL command");
        return;
    }
    if (c->addr[0] == '\0') {
        session_reply(s, "501 5.1.3 Bad recipient address syntax");
        return;
    }
    if (c->nparams > 0) {
        session_reply(s, "555 5.5.4 Unsupported option: %.60s", c->params[0].name);
        return;
    }
    log_sanitize(addr, sizeof addr, c->addr, strlen(c->addr));
    if (!s->trusted) {
        log_info("client=[%s]: RCPT <%s> refused: relay access denied", s->ip, addr);
        session_reply(s, "554 5.7.1 <%s>: Relay access denied", addr);
        return;
    }
    if (s->txn.nrcpt >= SMTPD_RCPT_MAX) {
        session_reply(s, "452 4.5.3 Error: too many recipients");
        return;
    }
    xgrow(&s->txn.rcpts, &s->rcpt_cap, s->txn.nrcpt, sizeof *s->txn.rcpts);
    struct qrcpt *r = &s->txn.rcpts[s->txn.nrcpt++];
    memset(r, 0, sizeof *r);
    r->addr = xstrdup(c->addr);
    r->state = RCPT_PENDING;
    r->last_reply = xstrdup("");
    session_reply(s, "250 2.1.5 Ok");
}

/* DATA: assigns the queue id and switches to reading content. */
static void session_cmd_data(struct session *s)
{
    if (!s->in_mail) {
        session_reply(s, "503 5.5.1 Error: need MAIL command");
        return;
    }
    if (s->txn.nrcpt == 0) {
        session_reply(s, "503 5.5.1 Error: need RCPT command");
        return;
    }
    s->txn.id = qid_next();
    session_received(s);
    s->content = 0;
    s->over = false;
    s->bol = true;
    s->state = SESSION_DATA;
    session_reply(s, "354 End data with <CR><LF>.<CR><LF>");
}

/* Parses one command line and dispatches it to its handler. */
static void session_command(struct session *s, const char *line, size_t len)
{
    struct cmd c;
    const struct addr_opts o = {.null_ok = true, .sloppy = false, .utf8 = false};
    int r = cmd_parse(line, len, &o, &c);
    if (r == CMD_ERR_TOOLONG) {
        session_reply(s, "500 5.5.2 line too long");
        return;
    }
    if (r == CMD_ERR_ARGS) {
        session_bad_args(s, c.verb);
        return;
    }
    if (r != CMD_OK) {
        session_reply(s, "500 5.5.1 Error: command not recognized");
        return;
    }
    switch (c.verb) {
    case CMD_HELO:
    case CMD_EHLO:
        session_cmd_helo(s, &c);
        break;
    case CMD_MAIL:
        session_cmd_mail(s, &c);
        break;
    case CMD_RCPT:
        session_cmd_rcpt(s, &c);
        break;
    case CMD_DATA:
        session_cmd_data(s);
        break;
    case CMD_RSET:
        session_txn_reset(s);
        session_reply(s, "250 2.0.0 Ok");
        break;
    case CMD_NOOP:
        session_reply(s, "250 2.0.0 Ok");
        break;
    case CMD_QUIT:
        session_reply(s, "221 2.0.0 Bye");
        s->closing = true;
        break;
    case CMD_VRFY:
        session_reply(s, "252 2.5.0 VRFY is disabled");
        break;
    case CMD_UNKNOWN:
        session_reply(s, "500 5.5.1 Error: command not recognized");
        break;
    default:
        session_reply(s, "502 5.5.1 Error: command not supported");
        break;
    }
}

/* Consumes one command line (or discards part of an over-long one). Returns 1 on
 * progress, 0 to wait for more input. */
static int session_read_cmd(struct session *s, struct evbuffer *in)
{
    size_t eol = 0;
    struct evbuffer_ptr p = evbuffer_search_eol(in, NULL, &eol, EVBUFFER_EOL_CRLF);
    if (p.pos < 0) {
        size_t len = evbuffer_get_length(in);
        if (len > CMD_LINE_MAX || (s->discarding && len > 0)) {
            evbuffer_drain(in, len);
            s->discarding = true;
            return 1;
        }
        return 0;
    }
    size_t n = (size_t)p.pos;
    if (s->discarding || n + 2 > CMD_LINE_MAX) {
        evbuffer_drain(in, n + eol);
        s->discarding = false;
        session_reply(s, "500 5.5.2 line too long");
        return 1;
    }
    char line[CMD_LINE_MAX];
    evbuffer_remove(in, line, n);
    evbuffer_drain(in, eol);
    session_command(s, line, n);
    return 1;
}

/* ---- session I/O ---- */

/* Handles every complete line the client has sent, as far as the session state allows,
 * then enables reading only if more input can be handled. Never frees s. */
static void session_process(struct session *s)
{
    struct evbuffer *in = bufferevent_get_input(s->bev);
    struct evbuffer *out = bufferevent_get_output(s->bev);
    s->in_process = true;
    while (!s->closing && s->state != SESSION_WAIT) {
        if (evbuffer_get_length(out) > SMTPD_OUT_MAX) {
            s->out_blocked = true;
            break;
        }
        if (s->state == SESSION_CMD && s->errors >= SMTPD_ERRORS_MAX) {
            log_info("client=[%s]: too many errors, disconnecting", s->ip);
            session_reply(s, "421 4.7.0 %s Error: too many errors", session_host(s));
            s->closing = true;
            break;
        }
        int progress = s->state == SESSION_CMD ? session_read_cmd(s, in) : session_read_data(s, in);
        if (!progress)
            break;
    }
    s->in_process = false;
    if (s->closing || s->eof || s->state == SESSION_WAIT || s->out_blocked)
        bufferevent_disable(s->bev, EV_READ);
    else
        bufferevent_enable(s->bev, EV_READ);
}

/* Processes the input, then closes the session once nothing more can happen on it (QUIT,
 * or end of input while no message is being queued). May free s. */
static void session_run(struct session *s)
{
    session_process(s);
    if (s->eof && s->state != SESSION_WAIT)
        s->closing = true;
    if (s->closing && evbuffer_get_length(bufferevent_get_output(s->bev)) == 0)
        session_free(s);
}

/* Input arrived. */
static void session_on_read(struct bufferevent *bev, void *arg)
{
    (void)bev;
    session_run(arg);
}

/* Every reply was written (the output drained to the low watermark, 0). */
static void session_on_write(struct bufferevent *bev, void *arg)
{
    struct session *s = arg;
    (void)bev;
    if (s->closing) {
        session_free(s);
        return;
    }
    if (s->out_blocked) {
        s->out_blocked = false;
        session_run(s);
    }
}

/* End of input, idle timeout or connection error. */
static void session_on_event(struct bufferevent *bev, short what, void *arg)
{
    struct session *s = arg;
    if (what & BEV_EVENT_EOF) {
        s->eof = true;
        if (s->state == SESSION_WAIT) /* the queue callback goes on from here */
            bufferevent_disable(bev, EV_READ);
        else
            session_run(s);
        return;
    }
    if ((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_READING) && !s->closing) {
        log_info("client=[%s]: timeout", s->ip);
        session_reply(s, "421 4.4.2 timeout");
        s->closing = true;
        bufferevent_disable(bev, EV_READ);
        return;
    }
    session_free(s);
}

/* ---- listening ---- */

/* A connection arrived: creates its session and sends the greeting. */
static void smtpd_on_accept(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
                            int salen, void *arg)
{
    struct smtpd_listener *l = arg;
    struct smtpd *sd = l->sd;
    (void)lev;
    (void)salen;
    struct bufferevent *bev = bufferevent_socket_new(sd->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
        log_warn("smtpd: cannot create a buffer for a connection on %s", l->addr);
        evutil_closesocket(fd);
        return;
    }
    struct session *s = xcalloc(1, sizeof *s);
    s->sd = sd;
    s->bev = bev;
    s->v6 = sa->sa_family == AF_INET6;
    cidr_sockaddr_to_text(sa, s->ip, sizeof s->ip);
    s->trusted = cidr_match_any(sd->c->smtpd.trusted_networks, sd->c->smtpd.ntrusted_networks, sa);
    s->next = sd->sessions;
    if (sd->sessions)
        sd->sessions->prev = s;
    sd->sessions = s;
    sd->nsessions++;
    struct timeval tv = {SMTPD_TIMEOUT_S, 0};
    bufferevent_setcb(bev, session_on_read, session_on_write, session_on_event, s);
    bufferevent_set_timeouts(bev, &tv, &tv);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
    log_debug("connect from [%s]%s", s->ip, s->trusted ? " (trusted)" : "");
    session_reply(s, "220 %s ESMTP sluice", session_host(s));
}

/* accept() failed for lack of resources: pause this listener for a second. */
static void smtpd_on_accept_error(struct evconnlistener *lev, void *arg)
{
    struct smtpd_listener *l = arg;
    int e = EVUTIL_SOCKET_ERROR();
    log_warn("smtpd: accept on %s: %s", l->addr, evutil_socket_error_to_string(e));
    evconnlistener_disable(lev);
    struct timeval tv = {1, 0};
    evtimer_add(l->retry, &tv);
}

/* The pause after an accept error is over. */
static void smtpd_on_retry(evutil_socket_t fd, short what, void *arg)
{
    struct smtpd_listener *l = arg;
    (void)fd;
    (void)what;
    if (l->lev)
        evconnlistener_enable(l->lev);
}

/* Parses "a.b.c.d:port" or "[v6]:port" into a socket address. 0, or -1 when malformed. */
static int smtpd_parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[64];
    const char *h = s, *colon;
    size_t hlen;
    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        if (!rb || rb[1] != ':')
            return -1;
        h = s + 1;
        hlen = (size_t)(rb - h);
        colon = rb + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || memchr(s, ':', (size_t)(colon - s)))
            return -1;
        hlen = (size_t)(colon - s);
    }
    if (hlen == 0 || hlen >= sizeof host || !colon[1])
        return -1;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    unsigned long port = 0;
    for (const char *p = colon + 1; *p; p++) {
        if (*p < '0' || *p > '9' || (port = port * 10 + (unsigned long)(*p - '0')) > 65535)
            return -1;
    }
    return cidr_sockaddr_parse(host, (uint16_t)port, ss, len);
}

/* Opens a bound, non-blocking socket for sa (SO_REUSEADDR; IPv6 only for v6 addresses, so
 * "0.0.0.0" and "[::]" can both be listed). The fd, or -1 with errno. */
static int smtpd_bind(const struct sockaddr *sa, socklen_t len)
{
    int one = 1, e;
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
        goto fail;
    if (sa->sa_family == AF_INET6 &&
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0)
        goto fail;
    if (bind(fd, sa, len) < 0)
        goto fail;
    return fd;
fail:
    e = errno;
    close(fd);
    errno = e;
    return -1;
}

/* Binds and starts listener l on its address. 0, or -1 with a message in err. */
static int smtpd_listen(struct smtpd *sd, struct smtpd_listener *l, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t len;
    if (smtpd_parse_listen(l->addr, &ss, &len) < 0) {
        snprintf(err, errlen, "smtpd.listen: bad address \"%s\" (want addr:port or [v6]:port)",
                 l->addr);
        return -1;
    }
    int fd = smtpd_bind((struct sockaddr *)&ss, len);
    if (fd < 0) {
        snprintf(err, errlen, "smtpd.listen %s: %s", l->addr, strerror(errno));
        return -1;
    }
    l->lev = evconnlistener_new(sd->base, smtpd_on_accept, l,
                                LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, SMTPD_BACKLOG, fd);
    if (!l->lev) {
        snprintf(err, errlen, "smtpd.listen %s: listen: %s", l->addr, strerror(errno));
        close(fd);
        return -1;
    }
    evconnlistener_set_error_cb(l->lev, smtpd_on_accept_error);
    l->retry = evtimer_new(sd->base, smtpd_on_retry, l);
    if (!l->retry)
        log_panic("smtpd: evtimer_new failed");
    return 0;
}

/* ---- public ---- */

/* Binds every listen address; NULL with a message in err on failure. */
struct smtpd *smtpd_create(struct event_base *base, const struct conf *c, struct queue *q,
                           smtpd_accepted_fn accepted, void *arg, char *err, size_t errlen)
{
    struct smtpd *sd = xcalloc(1, sizeof *sd);
    sd->base = base;
    sd->c = c;
    sd->q = q;
    sd->accepted = accepted;
    sd->arg = arg;
    if (c->smtpd.nlisten == 0) {
        snprintf(err, errlen, "smtpd.listen: no address");
        goto fail;
    }
    sd->listeners = xcalloc(c->smtpd.nlisten, sizeof *sd->listeners);
    for (size_t i = 0; i < c->smtpd.nlisten; i++) {
        struct smtpd_listener *l = &sd->listeners[i];
        l->sd = sd;
        l->addr = c->smtpd.listen[i];
        sd->nlisteners = i + 1;
        if (smtpd_listen(sd, l, err, errlen) < 0)
            goto fail;
        log_info("smtpd: listening on %s", l->addr);
    }
    return sd;
fail:
    smtpd_free(sd);
    return NULL;
}

/* Closes every listening socket; sessions go on. */
void smtpd_stop_listening(struct smtpd *s)
{
    for (size_t i = 0; i < s->nlisteners; i++) {
        struct smtpd_listener *l = &s->listeners[i];
        if (l->lev)
            evconnlistener_free(l->lev);
        if (l->retry)
            event_free(l->retry);
        l->lev = NULL;
        l->retry = NULL;
    }
    free(s->listeners);
    s->listeners = NULL;
    s->nlisteners = 0;
}

/* Sessions alive, including those whose client left while their message is committed. */
size_t smtpd_sessions(const struct smtpd *s)
{
    return s->nsessions;
}

/* Stops listening, closes every connection, frees the server. Sessions waiting on the
 * queue are detached and free themselves when the queue reports. */
void smtpd_free(struct smtpd *s)
{
    if (!s)
        return;
    smtpd_stop_listening(s);
    while (s->sessions) {
        struct session *x = s->sessions;
        if (x->state == SESSION_WAIT) {
            session_unlink(x);
            session_free(x);
        } else {
            session_free(x);
        }
    }
    free(s);
}
