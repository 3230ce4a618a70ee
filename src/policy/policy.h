/* policy: inbound policy beyond the relaying rules (docs/policy.md): the policy database
 * (policydb.h), the HELO/EHLO pattern table, DNS block lists and Postfix policy delegation
 * servers (delegate.h). One struct policy_engine per server, one struct policy_client per SMTP
 * session. Everything runs on the loop and nothing in here blocks it: map lookups are
 * memory-mapped reads, DNS and policy servers are asynchronous.
 *
 * Order at RCPT (as Postfix's smtpd_delay_reject: every refusal is given at RCPT, so the log
 * line has the sender and the recipient):
 *   1. policy_map_rcpt(): the map's record for the client (address, then verified name),
 *      the HELO name, the sender, the recipient, in that order; the first record with a
 *      verdict decides: reject (554 5.7.1) / bulk_mail (554 5.7.1) / tempfail (450 4.7.1)
 *      refuse, accept skips steps 2 and 3 (not the relaying rules). full_rights of the
 *      client and relay_target/local_names of the recipient's record let the RCPT relay.
 *   2. policy_async_rcpt(), DNSBL: the block lists started at connect (not for trusted
 *      clients); the weights of the lists that name the client add up; at dnsbl_threshold
 *      554 5.7.1 "Service unavailable; Client host [IP] blocked using LIST". A list that has
 *      not answered by dnsbl_timeout after connect, fails, or answers garbage counts 0.
 *   3. policy_async_rcpt(), services: each server in order; OK ends (accept), REJECT / 5NN
 *      / DEFER / 4NN refuse, DUNNO/WARN/INFO/PREPEND go on (PREPEND's header is added to
 *      the message when the RCPT is accepted), DEFER_IF_PERMIT refuses with 450 if
 *      nothing later refuses, DEFER_IF_REJECT turns a later REJECT into 450, HOLD and
 *      REDIRECT go on and mark the verdict (hold, redirect: the message is stored held /
 *      for that address only once the RCPT is accepted), DISCARD ends as an accept marked
 *      discard (the message is acknowledged and dropped). A server that fails counts as
 *      its default action, logged.
 *   RHSBL lists (smtpd.rhsbl) are started at MAIL for the sender's domain, the client's
 *   name and the HELO name, and count in step 2 with the DNSBLs (same threshold).
 * Each refusal carries its rule ("policydb 192.0.2.0/24 reject", "dnsbl bl.example",
 * "policy inet:127.0.0.1:10023") for the log line. */
#ifndef SLUICE_POLICY_H
#define SLUICE_POLICY_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct event_base;
struct conf;
struct dns;
struct policy_engine;
struct policy_client;

enum policy_kind { POLICY_PASS, POLICY_ACCEPT, POLICY_REFUSE };

struct policy_verdict {
    enum policy_kind kind;
    unsigned code;      /* POLICY_REFUSE: 4xx or 5xx */
    char status[12];    /* enhanced status code */
    char text[1024];    /* the reply text after code and status */
    char rule[300];     /* what decided, for the log */
    bool relay;         /* full_rights / relay_target / local_names: this RCPT may relay */
    char prepend[1024]; /* PREPEND header lines (CRLF after each) for an accepted RCPT */
    bool hold;          /* HOLD: store the message held (sluice ctl release) */
    bool discard;       /* DISCARD: acknowledge the message and drop it */
    char redirect[320]; /* REDIRECT: the one address the message goes to, or "" */
    char action_rule[720]; /* the rule of hold / discard / redirect, for the log */
};

/* What a policy server is told about one RCPT (Postfix's attribute names). */
struct policy_req {
    const char *ip, *name, *helo, *proto, *sender, *rcpt, *instance, *tls_proto, *tls_cipher;
    const char *state;    /* protocol_state: NULL for "RCPT", or "END-OF-MESSAGE" */
    const char *queue_id; /* "" before the end of DATA */
    unsigned nrcpt;
    uint64_t size;
};

typedef void (*policy_done_fn)(void *arg);

/* Parses the configuration, opens the map (the map path: policy_map_path()). NULL + err. */
struct policy_engine *policy_create(struct event_base *base, const struct conf *c, struct dns *dns,
                             char *err, size_t errlen);
/* SIGHUP: opens the map again (a new build); on failure the old one stays. 0 / -1. */
int policy_reload(struct policy_engine *p);
/* Frees p; after smtpd_free() (no session left) and dns_free() (no lookup can answer). */
void policy_free(struct policy_engine *p);
/* The compiled map of c: "<spool>/policy.lmdb". */
const char *policy_map_path(const struct conf *c, char *buf, size_t len);
/* `sluice policy-build`: compiles smtpd.policydb into policy_map_path(). 0 / -1 + err. */
int policy_build(const struct conf *c, char *err, size_t errlen);

/* A session's state; starts the block list lookups unless trusted. */
struct policy_client *policy_client_create(struct policy_engine *p, const struct sockaddr *sa,
                                           bool trusted);
void policy_client_free(struct policy_client *pc);
/* The HELO/EHLO table: 1 when a row matched (*strict: its R letter), 0 when none did; a
 * matching "!TEXT" row or a load average over the row's maximum fills v (550 / 421). */
int policy_helo(struct policy_engine *p, const char *helo, bool *strict, struct policy_verdict *v);
/* Step 1 above (synchronous). */
void policy_map_rcpt(struct policy_client *pc, const struct sockaddr *sa,
                     const struct policy_req *r, struct policy_verdict *v);
/* Steps 2 and 3: 1 with v filled; 0 when pending: done(arg) is called from the loop later,
 * then call again with the same request for v. */
int policy_async_rcpt(struct policy_client *pc, const struct policy_req *r, policy_done_fn done,
                      void *arg, struct policy_verdict *v);
/* MAIL (and each RCPT): starts the RHSBL lookups of the sender's domain, the client's
 * verified name (not "unknown") and the HELO name that are not running or done for these
 * names; they are answered at RCPT (policy_async_rcpt, step 2) with the DNSBLs, within
 * dnsbl_timeout of their start. Not for trusted clients. */
void policy_rhs_begin(struct policy_client *pc, const char *sender, const char *name,
                      const char *helo);
/* End of DATA (Postfix's smtpd_end_of_data_restrictions): asks policy_services_data, in
 * order, with protocol_state=END-OF-MESSAGE; the actions as at step 3 but for the whole
 * message (reply texts "<END-OF-MESSAGE>: End-of-data rejected: TEXT"). Not for trusted
 * clients. 1 with v filled; 0 when pending: done(arg) later, then call again for v. */
int policy_async_data(struct policy_client *pc, const struct policy_req *r, policy_done_fn done,
                      void *arg, struct policy_verdict *v);
/* True when the policy has asynchronous checks, or a map lookup of the client's name. */
bool policy_wants_rdns(const struct policy_engine *p);
#endif
