/* smtpd: the inbound ESMTP server (RFC 5321) with PIPELINING, SIZE, 8BITMIME,
 * ENHANCEDSTATUSCODES, DSN, CHUNKING, SMTPUTF8, ETRN, DELIVERBY and HELP; docs/smtpd.md
 * describes the behaviour, docs/config.md the `smtpd` keys.
 * Listens on smtpd.listen (MTA port) and smtpd.submission_listen (RFC 6409 port 587: no
 * relaying for untrusted clients, missing Date/Message-ID added), and on smtpd.tls_listen
 * (RFC 8314 implicit TLS, port 465, with the submission rules). With smtpd.auth, AUTH PLAIN and
 * LOGIN (RFC 4954, docs/auth.md) under TLS; authenticated clients relay anywhere and pass the
 * submission rule. With smtpd.tls certificates
 * STARTTLS (RFC 3207) is offered on every plaintext listener; docs/tls.md. Relaying for clients in
 * trusted_networks; others only to local_domains/relay_domains/hostname (else 554 5.7.1
 * naming the address). Command lines end with CRLF: a bare LF gets 521 5.5.2 and the
 * connection is closed, except for clients in bare_newline_networks. Every read is bounded (command line 1000 bytes, message content
 * max_message_size counted while reading, recipients max_recipients). The 250 after the
 * content is sent only once queue_put() reports the message durable (452 4.3.1 on a queue
 * failure); then accepted() hands the message to the scheduler. ETRN calls etrn().
 * With smtpd.milters each session's milters are asked at connect, HELO, MAIL, RCPT and
 * after the content, and their changes are applied before the queue (docs/milter.md). */
#ifndef SLUICE_SMTPD_H
#define SLUICE_SMTPD_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "queue/record.h"

struct event_base;
struct conf;
struct queue;
struct smtpd;

/* Called on the loop after the 250 for a durable message; m is valid during the call only. */
typedef void (*smtpd_accepted_fn)(void *arg, const struct qmsg *m);
/* Called on the loop for an accepted ETRN (RFC 1985): start delivery of the queued mail for
 * domain (lower-case; with subdomains for "ETRN @domain"). */
typedef void (*smtpd_etrn_fn)(void *arg, const char *domain, bool subdomains);

/* Binds every listen address. NULL with a message in err on failure. */
struct smtpd *smtpd_create(struct event_base *base, const struct conf *c, struct queue *q,
                           smtpd_accepted_fn accepted, void *arg, char *err, size_t errlen);
/* Sets the ETRN callback (none: ETRN is still answered 250, delivery goes on as scheduled). */
void smtpd_set_etrn(struct smtpd *s, smtpd_etrn_fn etrn, void *arg);
struct dkim_signer;
/* Sets the DKIM signer (dkim/dkim.h): messages from trusted or authenticated clients are
 * signed before they are queued. NULL: none. It must outlive the server. */
void smtpd_set_dkim(struct smtpd *s, struct dkim_signer *d);
struct dns;
/* Sets the resolver that names clients in the Received header by their forward-confirmed
 * reverse DNS (smtpd.rdns_timeout; docs/smtpd.md). None set (or rdns_timeout 0): every
 * client is "unknown". Call right after smtpd_create; d must outlive the server. */
void smtpd_set_dns(struct smtpd *s, struct dns *d);
struct policy_engine;
/* Sets the inbound policy (src/policy/policy.h, docs/policy.md): map, HELO table, DNSBL,
 * policy servers. Call right after smtpd_create; p must outlive the server. */
void smtpd_set_policy(struct smtpd *s, struct policy_engine *p);
/* Sets the version that %V of smtpd.hdr220 shows (a static string; default "sluice"). */
void smtpd_set_version(struct smtpd *s, const char *version);
struct audit_log;
struct logspec;
/* Records every session of a peer wanted by spec (audit/transcript.h) in log: commands,
 * replies, "(N body bytes)" for content. log NULL = off. Call right after smtpd_create. */
void smtpd_set_transcript(struct smtpd *s, struct audit_log *log, const struct logspec *spec);

/* Reload (SIGHUP): new sessions and the later commands of sessions in progress use c (which
 * must outlive the server, as must the configuration replaced); the certificates of
 * c->smtpd.tls are loaded for new connections. Listeners stay as they are. A certificate
 * that does not load refuses the whole change: -1 with the reason in err, nothing changed.
 * TLS cannot be turned on or off live (logged; the current certificates stay). The AUTH
 * password file (smtpd.auth backend "file") is read again; when it fails the current table
 * stays (logged) and the reload goes on. The verifier's own settings (backend, path,
 * pam_service, timeout, workers) are the caller's to keep (they need a restart). */
int smtpd_reload(struct smtpd *s, const struct conf *c, char *err, size_t errlen);

struct hist;
struct smtpd_stats {
    uint64_t received;  /* messages accepted (250 after the content) */
    uint64_t rejected;  /* commands refused with a NOQUEUE: reject line */
    uint64_t sessions;  /* sessions open now */
    const struct hist *accept_latency; /* end of content -> 250, seconds (queue commit) */
};
void smtpd_get_stats(const struct smtpd *s, struct smtpd_stats *st);

/* Stops accepting new connections; sessions in progress go on. */
void smtpd_stop_listening(struct smtpd *s);
/* Number of sessions still open, counting one whose client left while its message is
 * being committed (it ends when the queue reports). */
size_t smtpd_sessions(const struct smtpd *s);
/* Closes every session and frees. A session whose queue_put is pending is detached: no
 * reply, no accepted() call; it frees itself when the queue reports (queue_close() runs the
 * last callbacks), so call this before queue_close(). */
void smtpd_free(struct smtpd *s);
#endif
