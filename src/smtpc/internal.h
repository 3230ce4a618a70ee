/* smtpc internal: the connection object and the contract between the files of src/smtpc/
 * (only they include this header).
 *
 * smtpc.c      the state machine: connect, greeting, EHLO/HELO, QUIT, reading replies, and
 *              every entry point (bufferevent and timer callbacks, public calls) but the
 *              downgrade's slice timer (smtpc_down.c)
 * smtpc_txn.c  transactions: MAIL, RCPT, DATA and the body, their replies, the pipelining
 *              window
 * smtpc_tls.c  TLS: the policy for a peer, STARTTLS and implicit TLS over a libevent
 *              OpenSSL bufferevent, the handshake's outcome, the cleartext fallback
 * smtpc_auth.c SASL client authentication to relays (RFC 4954: PLAIN, LOGIN, EXTERNAL)
 * smtpc_ext.c  what a transaction needs of the server's extensions: SMTPUTF8, 8BITMIME
 *              (with the 7-bit downgrade), DELIVERBY; the MAIL parameters they add
 * smtpc_bdat.c CHUNKING: the content as one pipelined BDAT LAST chunk
 * smtpc_down.c the 7-bit downgrade (no 8BITMIME): prepared a slice per loop turn before
 *              MAIL, converted and sent as the socket drains
 *
 * After EHLO (or HELO) succeeds, smtpc.c calls smtpc_tls_after_ehlo(), which starts TLS or
 * goes on to smtpc_auth_start(), which authenticates or goes on to smtpc_session_start().
 * Every function here is called inside an entry point (smtpc_enter/leave), so it may finish
 * the connection; callers test c->state afterwards. */
#ifndef SLUICE_SMTPC_INTERNAL_H
#define SLUICE_SMTPC_INTERNAL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "proto/esmtp.h"
#include "proto/reply.h"
#include "proto/status.h"
#include "smtpc/smtpc.h"

#define SMTPC_RELAY_MAX 600
#define SMTPC_WHY_MAX (REPLY_TEXT_MAX + 700)
#define SMTPC_TEXT_MAX (REPLY_TEXT_MAX + 64)
#define SMTPC_TLS_TEXT_MAX 96
#define SMTPC_ADDR_MAX 900 /* longest sender/recipient we put on a command line */
#define SMTPC_CMD_MAX (SMTPC_ADDR_MAX + 1200) /* + SIZE, BODY, RET, ENVID, NOTIFY, ORCPT */
#define SMTPC_ORCPT_MAX ESMTP_ORCPT_MAX /* encoded "type;xtext" we send (RFC 3461 §4: +500) */
#define SMTPC_ENVID_MAX ESMTP_ENVID_MAX /* encoded ENVID we send (RFC 3461 §4: +100) */

enum smtpc_state {
    SMTPC_INIT,
    SMTPC_CONNECT,
    SMTPC_GREETING,
    SMTPC_EHLO,
    SMTPC_HELO,
    SMTPC_STARTTLS, /* waiting for the reply to STARTTLS */
    SMTPC_TLS,      /* handshake in progress */
    SMTPC_AUTH,     /* SASL exchange in progress */
    SMTPC_SESSION,
    SMTPC_IDLE,
    SMTPC_QUIT_WAIT,
    SMTPC_QUIT_FLUSH,
    SMTPC_DONE
};

/* What an expected reply answers. */
enum smtpc_exp { EXP_RSET, EXP_MAIL, EXP_RCPT, EXP_DATA, EXP_DOT, EXP_DOT_IGNORE, EXP_BDAT };

/* Per-recipient progress within the current transaction. */
enum smtpc_rst { RST_PENDING, RST_ACCEPTED, RST_DONE };

struct smtpc_expect {
    enum smtpc_exp kind;
    size_t idx; /* recipient index for EXP_RCPT */
};

/* The TLS policy for the current peer (smtpc_tls_policy()). */
struct smtpc_tls_policy {
    bool use;         /* STARTTLS when offered (or implicit TLS) */
    bool mandatory;   /* no TLS, no mail: never fall back to cleartext */
    bool implicit;    /* TLS from the first byte (RFC 8314) */
    bool verify;      /* the certificate must be verified (chain and name) */
    unsigned min_tls; /* TLS 1.min_tls at least */
    const char *name; /* expected host name (and SNI); "" none */
};

struct smtpc {
    struct event_base *base;
    const struct conf *conf;
    struct peer *peers;
    size_t npeers, cur;
    const struct smtpc_ops *ops;
    void *arg;
    const struct client_conf *cc;
    unsigned maxpipeline; /* the destination's policy overrides cc's; 0: cc's */
    struct bufferevent *bev;
    struct event *timer;
    enum smtpc_state state;
    int depth;        /* nesting of entry points; the struct is freed at 0 once DONE */
    bool established; /* some peer got as far as SESSION */
    bool dirty;       /* the server may hold transaction state: RSET before next MAIL */
    struct ehlo_caps caps;
    size_t scan_off;   /* input bytes known to hold no further line end */
    size_t line_start; /* input offset where the last (partial) line starts */
    int connect_errno; /* errno left by bufferevent_socket_connect() */
    enum outcome fail_o;
    char *fail_why; /* the last failure's reason (malloc'ed; set from the start) */
    char relay[SMTPC_RELAY_MAX];
    struct smtpc_expect *fifo;
    size_t fhead, ftail, fcap;
    /* the transaction in progress (t == NULL: none) */
    struct smtpc_txn *t;
    unsigned char *rst;
    size_t rcpt_sent, rcpt_outstanding, naccepted, nleft;
    bool mail_sent, mail_failed, data_sent;
    /* extensions for the transaction in progress (smtpc_ext.c) */
    bool body8;      /* the content holds 8-bit octets (after any downgrade) */
    bool smtputf8;   /* MAIL carries SMTPUTF8 */
    bool by_send;    /* MAIL carries BY= */
    int64_t by_left; /* seconds left before the DELIVERBY time */
    struct smtpc_down *down; /* the body goes out converted to 7 bits (smtpc_down.c) */
    /* transcripts (smtpc_set_transcript) */
    struct audit_log *tlog;
    const struct logspec *tspec;
    struct transcript *tr;
    /* TLS (smtpc_tls.c): the policy of the current peer, the SSL of its bufferevent (owned
     * by the bufferevent), whether the session runs over TLS, what the log says of it */
    struct smtpc_tls_policy pol;
    SSL *ssl;
    bool tls;
    bool tls_fallback;                 /* this peer's handshake failed: reconnected without TLS */
    char tls_text[SMTPC_TLS_TEXT_MAX]; /* "TLSv1.3/CIPHER" or "none" */
    const char *tls_peer;              /* "verified", "untrusted", "anonymous"; "" none */
    /* AUTH (smtpc_auth.c) */
    unsigned auth_mech; /* EHLO_AUTH_* in progress */
    int auth_step;      /* responses sent after the AUTH line */
};

/* smtpc.c */
/* Opens and closes an entry point: the outermost close frees a finished connection. */
void smtpc_enter(struct smtpc *c);
void smtpc_leave(struct smtpc *c);
void smtpc_timer_arm(struct smtpc *c, uint64_t ms);
/* Our own failure reason: "x.y.z text" with class cl's temporary code. */
void smtpc_why(char *buf, size_t cap, enum status_class cl, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Writes one command line (CRLF added); kind >= 0 expects its reply in the FIFO. */
void smtpc_send(struct smtpc *c, int kind, size_t idx, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Writes line (len bytes, CRLF added) but logs and transcribes shown instead: credentials
 * never reach a log. */
void smtpc_send_hidden(struct smtpc *c, const char *line, size_t len, const char *shown);
/* Drops the current peer after a failure and tries the next one. */
void smtpc_peer_fail(struct smtpc *c, enum outcome o, const char *why);
/* Reconnects to the current peer (after a failed opportunistic handshake). */
void smtpc_peer_retry(struct smtpc *c, const char *why);
/* The name we announce in EHLO/HELO. */
const char *smtpc_helo_name(const struct smtpc *c);
/* EHLO/HELO, TLS and AUTH are done: start asking for transactions. */
void smtpc_session_start(struct smtpc *c);
/* Frees the bufferevent (and its SSL and socket). */
void smtpc_bev_free(struct smtpc *c);
/* Handles input that arrived while it could not be read (during the handshake). */
void smtpc_read_pending(struct smtpc *c);
/* Points bev's callbacks at the connection's read, write and event handlers. */
void smtpc_bev_setcb(struct smtpc *c, struct bufferevent *bev);
/* The reply timeout for the end of data: timeout, or size*8/mindatarate s if longer. */
uint64_t smtpc_data_timeout(const struct smtpc *c);
/* Number of replies outstanding. */
size_t smtpc_fifo_len(const struct smtpc *c);
/* Appends an expected reply. */
void smtpc_fifo_push(struct smtpc *c, enum smtpc_exp kind, size_t idx);
/* Session-level failure: TEMPFAIL what is unconfirmed, close without QUIT. */
void smtpc_conn_fail(struct smtpc *c, const char *why);
/* Ends the session: QUIT per sendQUIT/waitQUIT, then closed(OK). */
void smtpc_session_quit(struct smtpc *c);

/* smtpc_txn.c */
/* Reports recipient i (once). */
void smtpc_rcpt_report_one(struct smtpc *c, size_t i, enum outcome o, const char *text);
/* Reports every recipient not yet reported. */
void smtpc_rcpt_report_rest(struct smtpc *c, enum outcome o, const char *text);
/* Hands the current transaction back to its owner. */
void smtpc_txn_release(struct smtpc *c);
/* The transaction's local checks are over (after a downgrade prepared over several loop
 * turns): its first commands, or it is handed back and the next one taken. */
void smtpc_txn_ready(struct smtpc *c);
/* Asks the owner for the next transaction until one goes on the wire, or quits. */
void smtpc_session_next(struct smtpc *c);
/* Dispatches a session reply to the handler of the command it answers. */
void smtpc_on_session_reply(struct smtpc *c, const struct reply *r, const char *text);
/* After a session reply: send what the window now allows, end a settled transaction,
 * and re-arm the reply timer for the reply now awaited. */
void smtpc_session_progress(struct smtpc *c);

/* smtpc_ext.c */
/* Checks a new transaction against the server's extensions (SMTPUTF8, 8BITMIME with the
 * 7-bit downgrade, DELIVERBY); may settle recipients. */
void smtpc_ext_check(struct smtpc *c);
/* The downgrade's preparation ended (why: 0 or the MIME8TO7_* reason): 5.6.3 or the
 * converted body, the rest of the checks, then smtpc_txn_ready(). */
void smtpc_ext_prepared(struct smtpc *c, int why);
/* Appends SMTPUTF8, BODY=8BITMIME and BY= as decided to the MAIL parameters (params + off,
 * cap bytes in all); returns the new length. */
size_t smtpc_ext_params(const struct smtpc *c, char *params, size_t cap, size_t off);

/* Expects the reply (or LMTP replies) to the end of data. */
void smtpc_dot_expect(struct smtpc *c);

/* smtpc_down.c */
#define SMTPC_DOWN_PENDING 1 /* smtpc_down_prepare(): goes on over later loop turns */
/* Starts deciding and measuring the 7-bit downgrade of the body (c->down, t->size): 0 ready,
 * SMTPC_DOWN_PENDING (smtpc_ext_prepared() is called once decided), or the MIME8TO7_*
 * reason it cannot be converted. */
int smtpc_down_prepare(struct smtpc *c);
/* True while the preparation is under way: nothing of the transaction is sent. */
bool smtpc_down_preparing(const struct smtpc *c);
/* Sends the converted body as the output drains (after 354, or after BDAT when bdat). */
void smtpc_down_start(struct smtpc *c, bool bdat);
/* The output drained: more converted body, or its end and the reply awaited. */
void smtpc_down_pump(struct smtpc *c);
/* True while the converted body is still being written. */
bool smtpc_down_streaming(const struct smtpc *c);
/* The "BDAT n LAST" length of the converted content. */
uint64_t smtpc_down_chunk_len(const struct smtpc *c);
/* Drops the downgrade state, if any. */
void smtpc_down_free(struct smtpc *c);

/* smtpc_bdat.c */
/* True when the current session sends the content with BDAT (CHUNKING, not LMTP). */
bool smtpc_bdat_use(const struct smtpc *c);
/* Writes "BDAT n LAST" and the content, expecting its reply. */
void smtpc_bdat_send(struct smtpc *c);

/* smtpc_tls.c */
/* Resolves c->pol for the current peer (relay ssl block, else anonssl; the fallback memory). */
void smtpc_tls_policy(struct smtpc *c);
/* EHLO or HELO succeeded: STARTTLS, a TLS failure, or on to smtpc_auth_start(). */
void smtpc_tls_after_ehlo(struct smtpc *c);
/* The reply to STARTTLS. */
void smtpc_tls_on_starttls(struct smtpc *c, const struct reply *r, const char *text);
/* The TCP connection is up and the policy says implicit TLS: start the handshake. */
void smtpc_tls_start(struct smtpc *c);
/* A bufferevent event while the handshake runs (what: BEV_EVENT_*). */
void smtpc_tls_on_event(struct smtpc *c, short what);
/* The handshake timed out. */
void smtpc_tls_on_timeout(struct smtpc *c);

/* smtpc_auth.c */
/* Authenticates when the relay asks for it, else goes on to smtpc_session_start(). */
void smtpc_auth_start(struct smtpc *c);
/* A reply during the SASL exchange. */
void smtpc_auth_on_reply(struct smtpc *c, const struct reply *r, const char *text);
#endif
