/* session: internal contract between the files of the inbound server (not used outside
 * src/smtpd/). smtpd.c owns the listeners and the public API, session.c one connection's
 * I/O, replies, tarpit and timers, verbs.c the command handlers, content.c the message
 * content (DATA, BDAT, hygiene, Received, queue_put), policy.c the decisions that depend
 * on configuration (relaying, sloppy syntax, greeting, disk space, protocol name),
 * starttls.c TLS on a session (STARTTLS, implicit TLS listeners, the handshake, the TLS
 * state that Received, the log and AUTH read), milters.c the session's milters
 * (smtpd.milters: the steps, their replies, the content's changes).
 * All of it runs on the one event loop thread. */
#ifndef SLUICE_SMTPD_SESSION_H
#define SLUICE_SMTPD_SESSION_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/hist.h"
#include "proto/addr.h"
#include "proto/cmd.h"
#include "proto/sasl.h"
#include "queue/record.h"
#include "smtpd/smtpd.h"
#include <sys/socket.h>
#include "tls/common.h"

struct bufferevent;
struct evbuffer;
struct evbuffer_cb_entry;
struct event;
struct evconnlistener;

enum {
    SMTPD_HELO_MAX = 255, /* stored (sanitized) HELO/EHLO argument */
    SMTPD_IP_MAX = 64,
    SMTPD_NAME_MAX = 253, /* the client's verified reverse name */
    SMTPD_LINE_OCTETS = 998, /* RFC 5322 §2.1.1 line limit, without CRLF */
};

enum session_state {
    SESSION_CMD,  /* reading commands */
    SESSION_DATA, /* reading DATA content (dot-terminated) */
    SESSION_BDAT, /* reading a BDAT chunk (counted) */
    SESSION_WAIT, /* queue_put pending: input is not read */
    SESSION_RDNS, /* DATA/first BDAT waits for the client's reverse name: input not read */
    SESSION_POLICY, /* a command waits for policy checks (policy/): input not read */
    SESSION_TLS,  /* a TLS handshake is in progress (starttls.c): input not read */
    SESSION_AUTH, /* AUTH credentials are being verified (authn.c): input not read */
    SESSION_MILTER, /* the milters are asked (milters.c): input not read */
};

enum session_helo { HELO_NONE, HELO_SMTP, HELO_ESMTP };

/* Why a message will be refused at its end (the first reason found wins). */
enum content_refusal { REFUSE_NONE, REFUSE_SIZE, REFUSE_NUL, REFUSE_LONG, REFUSE_SPOOL };

struct smtpd_listener {
    struct smtpd *sd;
    const char *addr; /* the configured text, for logs */
    bool submission;  /* RFC 6409 listener, or an implicit TLS one (RFC 8314 submissions) */
    bool tls;         /* smtpd.tls_listen: TLS from the first byte (RFC 8314) */
    struct evconnlistener *lev;
    struct event *retry; /* re-enables accepting after a resource error */
};

struct session {
    struct smtpd *sd; /* NULL once smtpd_free() detached a session waiting on the queue */
    struct session *prev, *next;
    struct transcript *tr;   /* this session's transcript, or NULL */
    struct bufferevent *bev; /* NULL once the connection is closed */
    char ip[SMTPD_IP_MAX];
    bool v6;
    bool trusted;    /* may relay (smtpd.trusted_networks) */
    bool sloppy;     /* relaxed syntax (sloppy_networks, or a sloppy_helo match) */
    bool sloppy_net; /* sloppy by network (kept across HELOs) */
    bool bare_lf_ok; /* bare_newline_networks: a bare LF may end a command line */
    bool submission; /* connected to a submission listener */
    bool refused;    /* over a connection limit: 421 then close; not counted */
    const char *refused_why; /* ... the limit (a static string) */
    enum session_helo helo_kind;
    char helo[SMTPD_HELO_MAX + 1];
    enum session_state state;
    bool in_mail;    /* MAIL accepted, transaction open */
    bool smtputf8;   /* the open transaction said SMTPUTF8 */
    int64_t by_seconds; /* DELIVERBY of the open transaction (valid with MSG_F_BY_*) */
    struct qmsg txn; /* sender and rcpts while open; all fields once the content ends */
    char msgid[256];      /* the content's Message-ID value once it ended ("" when none) */
    int64_t queued_us;    /* clock_mono_us() when the content went to the queue */
    size_t rcpt_cap;
    /* content */
    bool content_started;  /* Received header written (DATA, or the first BDAT) */
    bool used_bdat;        /* this transaction sends BDAT chunks (DATA refused) */
    char *body;            /* Received header + content so far (NULL once refused); once
                              spilled, the head and the bytes not yet written to the file */
    size_t body_len, body_cap, hdr_len;
    char *spill_path;      /* the body file the content goes to past SMTPD_SPILL_AT (content.c),
                              NULL while it is all in body */
    int spill_fd;          /* its descriptor (valid with spill_path) */
    size_t spill_keep;     /* the head kept in body (our Received and the header block) */
    uint64_t spill_len;    /* bytes written to the file */
    bool spill_off;        /* not for this message (DKIM signing, or the file failed) */
    uint64_t content;      /* content bytes produced so far (also past the limit) */
    enum content_refusal refusal;
    size_t line_len;       /* octets of the current line so far */
    bool cr_pending;       /* the last byte fed was a CR (its LF may follow) */
    bool saw8;             /* an octet >= 0x80 went into body (else MSG_F_7BIT at the end) */
    bool bol;              /* DATA: at the beginning of a line */
    bool bol_crlf;         /* DATA: ... and the line before ended with CRLF */
    uint64_t bdat_left;    /* bytes of the current chunk still to read */
    uint64_t bdat_size;    /* size of the current chunk */
    bool bdat_last;        /* the current chunk is the last */
    bool bdat_discard;     /* the current chunk is read and dropped (no transaction) */
    /* input, output and lifetime */
    bool discarding;  /* skipping the rest of an over-long command line */
    bool discard_auth; /* ... which is an AUTH line or a SASL response */
    bool closing;     /* close once the replies are flushed */
    bool eof;         /* the client shut down its sending side */
    bool out_blocked; /* too many unsent replies: reading paused */
    bool in_process;  /* inside session_process (queue callback may run synchronously) */
    unsigned errors;  /* 4xx/5xx replies */
    unsigned rcpt_errors; /* refused RCPTs (max_error_recipients) */
    /* tarpit: an error reply is held for `tarpit_ms`, then sent; input waits meanwhile */
    uint64_t tarpit_ms;       /* the delay of the next error reply (0: tarpit not started) */
    bool tarpit_wait;         /* a reply is being held */
    struct evbuffer *held;    /* replies held by the tarpit */
    struct event *tarpit_ev;  /* ends the hold */
    struct event *session_ev; /* session_timeout */
    /* the client's name: forward-confirmed reverse DNS, "unknown" until (unless) found */
    char rdns[SMTPD_NAME_MAX + 1];
    bool rdns_pending;              /* the lookup is in flight (dns_ptr id rdns_id) */
    uint64_t rdns_id;
    enum session_state rdns_next;   /* SESSION_RDNS: the state the content starts in */
    struct event *rdns_ev;          /* smtpd.rdns_timeout since the connection */
    /* inbound policy (src/policy/, docs/policy.md): SESSION_POLICY parks the command line */
    struct policy_client *pol;      /* NULL without smtpd_set_policy() */
    struct sockaddr_storage peer;   /* the client's address (map lookups) */
    char *park;                     /* the parked command line (park_len bytes), or NULL */
    size_t park_len;
    bool park_rdns;                 /* parked until the reverse lookup ends */
    const char *cur_line;           /* the command line being handled (verbs_command) */
    size_t cur_len;
    uint64_t mail_size;             /* MAIL SIZE= of the open transaction, or 0 */
    char instance[40];              /* the transaction's id for policy servers */
    char *prepend;                  /* PREPEND header lines (CRLF each) for the message, or NULL */
    bool pol_hold;                  /* a policy server said HOLD: stored with MSG_F_HELD */
    bool pol_discard;               /* ... DISCARD: acknowledged, not stored */
    char *pol_redirect;             /* ... REDIRECT ADDR: the only recipient, or NULL */
    /* TLS (starttls.c): s->bev is then the TLS bufferevent */
    struct tls_info tls;            /* tls.active once a handshake finished */
    bool tls_implicit;              /* connected to a smtpd.tls_listen listener */
    struct event *tls_ev;           /* smtpd.tls.handshake_timeout */
    struct bufferevent *raw;        /* STARTTLS: the plaintext connection under the TLS
                                     * filter (owned by it), or NULL */
    struct evbuffer_cb_entry *raw_watch; /* closing: waits for raw's output to drain */
    struct event *close_ev;         /* ... then frees the session */
    /* AUTH (authn.c) */
    struct sasl_server sasl;        /* the exchange in progress (wiped after each use) */
    bool sasl_active;               /* a 334 was sent: the next line is a SASL response */
    bool auth_pending;              /* auth_verify() id auth_id is in flight */
    uint64_t auth_id;
    bool authenticated;             /* AUTH succeeded: may relay, passes submission */
    enum sasl_mech auth_mech;       /* the mechanism used (pending or succeeded) */
    char auth_user[SASL_FIELD_MAX * 4 + 1]; /* the identity (sanitized for logs/headers) */
    unsigned auth_failures;         /* failed AUTHs in this session */
    char mail_auth[ADDR_MAX * 4 + 1]; /* MAIL's AUTH= mailbox (decoded, sanitized), "" when
                                       * absent or <>: the milters' {auth_author} */
    /* milters (milters.c) */
    struct milter_chain *milters;   /* smtpd.milters of the session, or NULL */
    bool milter_connected;          /* the connect step was answered (the greeting may go) */
    char *milter_deny;              /* connect/HELO refused: the reply to HELO, MAIL, ETRN */
    bool milter_discard;            /* a milter said discard at MAIL or RCPT */
    bool milter_held;               /* a milter quarantined the message: MSG_F_HELD */
    struct milter_msg *milter_msg;  /* the content while the milters have it, or NULL */
};

/* Failed AUTHs per client address (smtpd.auth.max_failures_per_ip within failure_window),
 * a bounded table: when full, the oldest entry is reused. */
enum { SMTPD_AUTH_IPS_MAX = 1024 };
struct authn_ip {
    char ip[SMTPD_IP_MAX];
    unsigned failures;
    int64_t first_ms; /* monotonic time of the first failure counted */
};

struct smtpd {
    struct event_base *base;
    const struct conf *c;
    struct queue *q;
    smtpd_accepted_fn accepted;
    void *arg;
    smtpd_etrn_fn etrn;
    void *etrn_arg;
    const char *version;
    struct dns *dns;                /* reverse lookups of clients, or NULL */
    struct audit_log *tlog;         /* server transcripts, or NULL */
    const struct logspec *tspec;
    struct smtpd_listener *listeners;
    size_t nlisteners;
    struct session *sessions;
    size_t nsessions;
    struct tls_server *tls;         /* smtpd.tls certificates, or NULL: no TLS */
    struct smtpd_stats st;          /* counters (smtpd_get_stats) */
    struct hist accept_latency;     /* seconds from the end of content to the 250 */
    struct policy_engine *policy;          /* smtpd_set_policy(), or NULL */
    uint64_t ninstances;            /* transactions so far (policy instance ids) */
    struct auth *auth;              /* smtpd.auth verifier, or NULL: no AUTH */
    struct dkim_signer *dkim;              /* DKIM signer (smtpd_set_dkim), or NULL: no signing */
    struct authn_ip *auth_ips;      /* SMTPD_AUTH_IPS_MAX entries once AUTH is on */
    size_t nauth_ips;
};

/* session.c */
/* Creates the session of an accepted connection (on a listener) and greets the client (on
 * an implicit TLS listener, once the handshake is over). */
void session_start(struct smtpd_listener *l, struct bufferevent *bev, const struct sockaddr *sa);
/* The greeting: 220, or 421 and close for a session over a connection limit. */
void session_greet(struct session *s);
/* (Re)installs the session's read, write and event callbacks on s->bev. */
void session_callbacks(struct session *s);
/* Appends one reply line (CRLF added). A 4xx/5xx reply counts as an error and, with a
 * tarpit, is held for the current delay (input waits meanwhile). */
__attribute__((format(printf, 2, 3))) void session_reply(struct session *s, const char *fmt, ...);
/* Holds the next replies for ms (as the tarpit does; nothing when one is held already). */
void session_hold(struct session *s, uint64_t ms);
/* Processes the buffered input, then closes the session if it is over. May free s. */
void session_run(struct session *s);
/* Closes the connection and frees the session (unless its queue_put is pending). */
void session_free(struct session *s);
/* Removes s from its server's list. */
void session_unlink(struct session *s);
/* Before the content starts (DATA, first BDAT): while the client's reverse lookup is
 * pending, parks the session in SESSION_RDNS and returns true; content_open(s, next) runs
 * when the lookup ends or smtpd.rdns_timeout passes. False: start the content now. */
bool session_rdns_wait(struct session *s, enum session_state next);
/* The checks the command in SESSION_POLICY waited for are over: runs it again, then goes
 * on with the input. May free s. */
void session_policy_resume(struct session *s);
/* Frees everything of the open transaction and closes it. */
void session_txn_reset(struct session *s);
/* Logs a refused command in Postfix's shape (pflogsumm, fail2ban): "NOQUEUE: reject: VERB
 * from NAME[IP]: REPLY; from=<SENDER> to=<RCPT> proto=ESMTP helo=<HELO>" (rcpt NULL: no
 * to=); counts it. reply and rcpt are already sanitized. */
void session_log_reject(struct session *s, const char *verb, const char *reply,
                        const char *rcpt);
/* The configured host name (never NULL). */
const char *session_host(const struct session *s);

/* verbs.c */
/* Parses one command line and runs its handler. */
void verbs_command(struct session *s, const char *line, size_t len);

/* content.c */
/* Starts the content: queue id, Received header. */
void content_begin(struct session *s);
/* content_begin, then the content is read in state next (SESSION_DATA: after a 354). */
void content_open(struct session *s, enum session_state next);
/* Consumes one DATA line or the final dot. 1 on progress, 0 to wait for input. */
int content_read_data(struct session *s, struct evbuffer *in);
/* Consumes BDAT chunk bytes. 1 on progress, 0 to wait for input. */
int content_read_bdat(struct session *s, struct evbuffer *in);
/* Formats an RFC 5322 date-time of wall ms in local time, locale-independent. */
void content_date(int64_t ms, char *buf, size_t len);
/* The milters accepted the content (changed in s->body, s->txn; s->milter_held): discard
 * (250, not stored) or go on to the queue. */
void content_milters_done(struct session *s, bool discard);
/* The end-of-data policy servers answered (policy_data_check parked the session): the end
 * of the content runs again with their verdict. */
void content_policy_resume(struct session *s);
/* The content's size so far, in memory and in its body file. */
uint64_t content_size(const struct session *s);
/* Drops the body file of a transaction that ends without being queued. */
void content_spill_discard(struct session *s);

/* Answers HELO/EHLO once the checks passed (the 250 and, for EHLO, the extensions). */
void verbs_helo_reply(struct session *s);
/* Replies to a refused RCPT (reply: one line) and disconnects a client past
 * max_error_recipients. */
void verbs_rcpt_refused_reply(struct session *s, const char *reply);

/* milters.c: each step returns true when the session waits in SESSION_MILTER (the step's
 * reply is then sent when the milters answered), false when there are no milters. */
/* Creates the session's milter chain (smtpd.milters); none: nothing. */
void milters_start(struct session *s);
/* Before the greeting: the connect step (session_greet runs again once answered). */
bool milters_connect(struct session *s);
/* HELO/EHLO accepted by the checks: verbs_helo_reply() or the refusal follows. */
bool milters_helo(struct session *s);
/* MAIL stored in s->txn: "250 2.1.0 Ok", or the refusal (the transaction is reset). */
bool milters_mail(struct session *s);
/* The last recipient of s->txn was just added: "250 2.1.5 Ok", or it is removed again and
 * refused. */
bool milters_rcpt(struct session *s);
/* The content passed its checks: the milters see it and change it; then
 * content_milters_done() (or the refusal: replied, logged, transaction reset). */
bool milters_content(struct session *s);
/* The transaction is over (reset, refused or queued): the milters hear SMFIC_ABORT. */
void milters_txn_end(struct session *s);
/* Closes the milters (session_free). */
void milters_free(struct session *s);

/* policy.c */
/* True when a client that is not trusted may send to addr (local or relay domain). */
bool policy_rcpt_ok(const struct session *s, const char *addr);
enum { POLICY_REPLY_MAX = 1400 };
/* RCPT checks after the syntax: the policy map, relaying, block lists, policy servers
 * (src/policy/policy.h has the order). 1: accept the recipient; 0: parked in SESSION_POLICY
 * (the line runs again when the checks are over); -1: refused, the reply line in reply.
 * Each refusal is logged as Postfix does ("NOQUEUE: reject: RCPT from ..."), with its rule. */
int policy_rcpt_check(struct session *s, const char *addr, char *reply, size_t len);
/* MAIL accepted: starts the RHSBL lookups of the transaction (policy_rhs_begin). */
void policy_mail_begin(struct session *s);
/* End of DATA, before the queue: smtpd.policy_services_data (policy_async_data). 1: go on
 * (prepend: header lines to add at the top, CRLF each, or ""; HOLD/DISCARD/REDIRECT marked
 * in s->pol_*); 0: parked in SESSION_POLICY, content_policy_resume() runs when they
 * answered; -1: refused, replied, logged "QID: reject: END-OF-MESSAGE from ...", the
 * transaction is reset. */
int policy_data_check(struct session *s, char *prepend, size_t plen);
/* HELO/EHLO (verb) through the smtpd.helo_patterns table: false when refused (replied). */
bool policy_helo_check(struct session *s, const char *verb);
/* True when the domain is one of relay_domains (ETRN, relaying). */
bool policy_relay_domain(const struct smtpd *sd, const char *domain);
/* Re-evaluates s->sloppy after HELO/EHLO (sloppy_helo patterns). */
void policy_sloppy_helo(struct session *s);
/* Expands hdr220 (%H %V %T %% %I %X) into buf. */
void policy_greeting(const struct smtpd *sd, char *buf, size_t len);
/* True when the spool's filesystem keeps min_free_space after `extra` more bytes. */
bool policy_space_ok(const struct smtpd *sd, uint64_t extra);
/* The Received "with" protocol name (RFC 3848, RFC 6531). */
const char *policy_protocol(const struct session *s);
/* The connection limits: NULL when s may stay, else the reason for a 421. */
const char *policy_connection_limit(const struct smtpd *sd, const struct session *s);

/* authn.c */
/* True when the command line (len bytes) is an AUTH command (verb AUTH, then a space or
 * the end). */
bool authn_is_auth(const char *line, size_t len);
/* AUTH (RFC 4954): arg is the text after "AUTH " (len bytes, up to SASL_LINE_MAX). */
void authn_command(struct session *s, const char *arg, size_t len);
/* A response line of the SASL exchange (s->sasl_active), len bytes, at most SASL_LINE_MAX;
 * too_long: the line was longer and has been discarded. */
void authn_response(struct session *s, const char *line, size_t len, bool too_long);
/* The transcript text of an AUTH line or a SASL response: secrets become "<hidden>". */
void authn_transcript(struct session *s, const char *line, size_t len);
/* Cancels a pending verification and wipes the exchange (session_free). */
void authn_free(struct session *s);
/* Forgets the authentication (STARTTLS: RFC 3207 §4.2). */
void authn_reset(struct session *s);
/* The MAIL checks of AUTH: submission needs AUTH (530), the AUTH= parameter (RFC 4954 §5)
 * is taken out of params (accepted, not stored), sender_must_match. Replies and returns
 * false when MAIL is refused. */
bool authn_mail(struct session *s, const char *sender, struct cmd_param *params, size_t *n);
/* Appends ", sasl_method=M, sasl_username=U" (or nothing) to buf for the log. */
void authn_log_text(const struct session *s, char *buf, size_t len);
/* The Received comment line "\t(authenticated as USER)\r\n", or "". */
void authn_received(const struct session *s, char *buf, size_t len);

/* starttls.c */
/* STARTTLS (RFC 3207): 220, then the handshake on this connection (502 without a
 * certificate, 503 under TLS already or inside a transaction). */
void starttls_command(struct session *s);
/* A connection on an implicit TLS listener: waits for the handshake, then greets. */
void starttls_accept(struct session *s);
/* True when every reply byte has been handed to the kernel: under a STARTTLS filter, the
 * ciphertext in the plaintext connection below it too. When that is still being sent, a
 * closing session is freed once it is (the caller must not free it then). */
bool starttls_flushed(struct session *s);
/* Logs why a session under TLS failed (a bad record, an alert from the client). */
void starttls_log_error(struct session *s, short what);
/* Frees the session's TLS timers (before its bufferevent is freed). */
void starttls_free(struct session *s);
/* The Received header's TLS comment lines ("\t(using ...)\r\n..."), or "" without TLS. */
void starttls_received(const struct session *s, char *buf, size_t len);
/* True once a TLS handshake finished on this session (STARTTLS or an implicit listener):
 * AUTH and the protocol name read it. */
bool session_tls_active(const struct session *s);
/* The TLS state of the session (version, cipher, client certificate); ->active false
 * without TLS. */
const struct tls_info *session_tls_info(const struct session *s);
#endif
