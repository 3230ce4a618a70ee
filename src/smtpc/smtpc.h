/* smtpc: one outbound ESMTP or LMTP connection's state machine (libevent bufferevent).
 *
 * The connection tries peers[] in order: on connect failure, timeout, or a non-2xx greeting
 * or EHLO/HELO reply it moves to the next peer. Once a session is established it asks
 * ops->next() for a transaction, runs it, reports, and asks again (RSET between
 * transactions) until next() returns NULL, then ends with QUIT per sendQUIT/waitQUIT.
 * Settings come from conf_client_for(conf, peer, peer name) (remotenets).
 *
 * Protocol: EHLO (HELO with sayHELO; HELO after a rejected EHLO with fallbackHELO);
 * PIPELINING when announced, at most maxpipeline commands in flight (1 = none) per RFC 2920;
 * MAIL FROM (with SIZE= when announced, RET=/ENVID= and per RCPT NOTIFY=/ORCPT= when DSN is
 * announced and the transaction carries them, ENVID and ORCPT re-encoded from their decoded
 * form by esmtp_envid_encode()/esmtp_orcpt_encode(); one that cannot be represented is left
 * out with a warning that says why; a message larger than the announced SIZE fails
 * 5.3.4 without being sent), RCPT TO per recipient, DATA only when at least one RCPT got 2xx;
 * body dot-stuffed; with CHUNKING (SMTP, not LMTP) the content instead goes as one
 * "BDAT n LAST" chunk pipelined behind the RCPTs; `timeout` per reply, for the end of data
 * extended to size*8/mindatarate seconds when that is longer. What the message needs of
 * the server (docs/outbound.md, smtpc_ext.c): SMTPUTF8 on MAIL when offered, else 5.6.7 for
 * what cannot go without it; BODY=8BITMIME when offered, else an 8-bit MIME content
 * converted to 7 bits (t->body and t->size replaced) or 5.6.3; BY= with the seconds left
 * when DELIVERBY is offered, else 5.4.7 for mode R and t->by_relayed for mode N.
 *
 * LMTP (RFC 2033), for peers marked lmtp (transport map "lmtp:" next hops): LHLO instead of
 * EHLO (no HELO fallback), over TCP or a UNIX socket (no TLS there); after the end of data
 * one reply per recipient accepted at RCPT, in RCPT order, each settling that recipient
 * alone; "." after a 354 with no recipient accepted expects no reply.
 *
 * TLS (docs/tls.md "Outbound"): a relay's ssl block decides (mode none, starttls: TLS
 * required, implicit: TLS from the first byte; verify: the certificate must chain to its
 * ca_file or the system store and name verify_name or the relay host); otherwise the peer's
 * anonssl (remotenet, else deliver.client): latent uses STARTTLS when the server offers it,
 * mandatory refuses to send without TLS. After the handshake EHLO is sent again and only
 * the new capabilities count. A failed handshake under an opportunistic policy is
 * remembered (tls/client.h) and the same peer is reconnected in cleartext; a required TLS
 * that cannot be had fails the peer with 4.7.4 (not offered) or 4.7.5 (refused, handshake,
 * certificate). Every recipient outcome carries the session's TLS (t->tls, t->tls_peer).
 * AUTH (RFC 4954) to a relay whose auth block is enabled, after TLS: PLAIN, else LOGIN, as
 * the server offers (EXTERNAL with override = "external"), the first response on the AUTH
 * line with initrsp; never without TLS unless auth.allow_cleartext; a failure of any kind
 * fails the peer with 4.7.0 and the server's reply. Credentials never reach a log or a
 * transcript ("AUTH PLAIN <hidden>").
 *
 * Outcomes: the client reports and never decides retries. For every recipient of every
 * transaction it took, exactly one ops->rcpt_done() is called (OK, TEMPFAIL or PERMFAIL
 * with the reply text), then ops->txn_done(). A 421, a drop, a timeout or garbage at any
 * stage gives TEMPFAIL to every recipient not yet confirmed. A reason of our own (not a
 * server reply) starts with its RFC 3463 code (proto/status.h, as Postfix): 4.4.1 connect
 * refused or timed out, 4.4.2 connection lost or timed out after it was up, 4.5.0 invalid
 * or unexpected reply, 4.3.0 local trouble (no socket, shutdown), 4.7.x TLS and AUTH as above.
 * ops->closed() is called exactly
 * once, last; after it the smtpc is freed and must not be touched. */
#ifndef SLUICE_SMTPC_H
#define SLUICE_SMTPC_H
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "proto/peer.h"
#include "proto/reply.h"

struct event_base;
struct evbuffer;
struct conf;
struct smtpc;

/* One transaction: one message to some of its recipients. Owned by the caller. */
struct smtpc_txn {
    uint64_t msgid;
    const char *sender; /* "" = null sender */
    size_t nrcpt;
    const char **rcpts;
    struct evbuffer *body; /* content, CRLF, not dot-stuffed; drained by the client when it
                              sends it (left alone when the message is not sent) */
    uint64_t size;         /* body length */
    void *owner;           /* caller's */
    /* DSN (RFC 3461), all optional: sent only when the server announces DSN. */
    const uint8_t *notify; /* per recipient NOTIFY_* bits (proto/esmtp.h); 0 = none */
    const char **orcpts;   /* per recipient ORCPT, decoded ("rfc822;a+b@c"; encoded here),
                              NULL/"" none */
    const char *envid;     /* ENVID, xtext-decoded (encoded here), NULL/"" = none */
    uint32_t ret;          /* MSG_F_RET_FULL, MSG_F_RET_HDRS or 0 */
    int dsn;               /* out: set by the client when the server announced DSN (the
                              parameters above went out; read it in rcpt_done) */
    uint32_t flags;        /* the message's MSG_F_SMTPUTF8, MSG_F_BY_*, MSG_F_7BIT (record.h) */
    int64_t deliver_by;    /* DELIVERBY time (wall ms) of a BY= message, 0 = none */
    int by_relayed;        /* out: a BY=...;N message went to a hop without DELIVERBY (RFC
                              2852 §4.1.4.2: a "relayed" notice is owed; read in rcpt_done) */
    const char *tls;       /* out, valid in rcpt_done: "TLSv1.3/CIPHER" when the session
                              ran over TLS, else "none" */
    const char *tls_peer;  /* out, valid in rcpt_done: what the server's certificate proved,
                              "verified", "untrusted" or "anonymous"; "" without TLS */
    unsigned stage;        /* out, valid in rcpt_done: the command whose reply settled the
                              recipient (enum smtpc_stage; NONE: a reason of our own) */
    unsigned ok;           /* out, valid in rcpt_done: what a success means for the
                              recipient (enum smtpc_ok): passed on (SMTP), delivered to its
                              mailbox (LMTP, local), or expanded (a local alias) */
};

/* What a success was (struct smtpc_txn.ok): a success DSN says relayed, delivered, expanded. */
enum smtpc_ok { SMTPC_OK_RELAYED, SMTPC_OK_DELIVERED, SMTPC_OK_EXPANDED };

/* The command a reply answered (struct smtpc_txn.stage). */
enum smtpc_stage { SMTPC_STAGE_NONE, SMTPC_STAGE_MAIL, SMTPC_STAGE_RCPT, SMTPC_STAGE_DATA };

struct smtpc_ops {
    /* Next transaction for this established session, or NULL to end it. */
    struct smtpc_txn *(*next)(void *arg, struct smtpc *c);
    /* Outcome for t->rcpts[i]; reply is the server's reply (or our reason) as one line;
     * relay is "name[ip]:port". */
    void (*rcpt_done)(void *arg, struct smtpc_txn *t, size_t i, enum outcome o, const char *reply,
                      const char *relay);
    /* Every recipient of t has been reported; t goes back to its owner. */
    void (*txn_done)(void *arg, struct smtpc_txn *t);
    /* The connection is over. o: OK when a session was established with some peer (why ""
     * after a normal end, else what cut it short); otherwise TEMPFAIL/PERMFAIL (5xx greeting
     * or EHLO from the last peer) with why. */
    void (*closed)(void *arg, struct smtpc *c, enum outcome o, const char *why);
};

/* next() may return SMTPC_TXN_WAIT: the session stays open, idle, until the owner calls
 * smtpc_resume() (which calls next() again). A server that closes or sends 421 meanwhile
 * ends the connection with closed(OK). */
extern struct smtpc_txn smtpc_txn_wait;
#define SMTPC_TXN_WAIT (&smtpc_txn_wait)
/* Wakes an idle session (never from inside one of its own callbacks). */
void smtpc_resume(struct smtpc *c);

/* Starts connecting. peers (npeers >= 1) are copied. Never calls ops synchronously. */
struct smtpc *smtpc_start(struct event_base *base, const struct conf *conf,
                          const struct peer *peers, size_t npeers,
                          const struct smtpc_ops *ops, void *arg);
/* Abandons the connection now (shutdown): unconfirmed recipients get TEMPFAIL, then
 * txn_done and closed are called before this returns. Not to be called from inside one of
 * this connection's own ops callbacks (a broken invariant: panics). */
void smtpc_abort(struct smtpc *c);
/* Records this connection's sessions (one per peer tried) in the transcript log: every
 * command and reply, the body as "(N body bytes)" (audit/transcript.h). Call right after
 * smtpc_start(); log NULL = none. spec selects the peers. */
struct audit_log;
struct logspec;
/* The destination's maxpipeline (deliver.policies) instead of the client settings'; call
 * right after smtpc_start(); n >= 1. */
void smtpc_set_maxpipeline(struct smtpc *c, unsigned n);
void smtpc_set_transcript(struct smtpc *c, struct audit_log *log, const struct logspec *spec);
/* Process-wide: the TLS client contexts and caches every connection uses (tls/client.h;
 * set once by the daemon before the first connection). NULL (the default): no TLS, so a
 * policy that requires it fails with 4.7.5. */
struct tls_client;
void smtpc_set_tls(struct tls_client *tc);
/* "name[ip]:port" of the current peer (valid until closed). */
const char *smtpc_relay(const struct smtpc *c);
#endif
