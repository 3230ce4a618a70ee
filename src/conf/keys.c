/* keys: the configuration key table (keys.h explains the rows), its lookup and its dump.
 * Public (conf.h):
 *   conf_keys_dump()  every key, one line each: "KEY\tTYPE\tDEFAULT\tBOUNDS\tDESCRIPTION"
 *                     (`sluice config-keys`; format in docs/config.md).
 * Internal (keys.h): conf_keys[], conf_group_names[], conf_keys_group(), conf_keys_owning(),
 * conf_keys_seps().
 * A default here is the only statement of that default in the code: conf_init() applies
 * it (and panics when it does not pass the row's own checks), the dump shows it. Tests check
 * every number's default against its bounds, etc/sluice.conf against conf_init(), and that
 * docs/config.md names every key. */
#include "conf/keys.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "proto/duration.h"
#include "proto/logpath.h"

/* Positional parts of a row: where the value lives, then kind, bounds, flags, default. */
#define TOP(f) CONF_G_TOP, #f, offsetof(struct conf, f)
#define SMTPD(f) CONF_G_SMTPD, #f, offsetof(struct conf, smtpd.f)
#define RESOLVER(f) CONF_G_RESOLVER, #f, offsetof(struct conf, resolver.f)
#define DELIVER(f) CONF_G_DELIVER, #f, offsetof(struct conf, deliver.f)
#define LOCAL(f) CONF_G_LOCAL, #f, offsetof(struct conf, local.f)
#define CLIENT(f) CONF_G_CLIENT, #f, offsetof(struct conf, deliver.f)
#define CNT(f) offsetof(struct conf, f)
#define UINT(lo, hi, dv) CONF_UINT, 0, 0, lo, hi, 0, dv, NULL
#define U64(lo, hi, dv) CONF_U64, 0, 0, lo, hi, 0, dv, NULL
#define DUR(lo, hi, dv) CONF_DURATION, 0, 0, lo, hi, 0, dv, NULL
#define BOOL(dv) CONF_BOOL, 0, 0, 0, 1, 0, dv, NULL
#define STR(kind, fl, d) kind, 0, 0, 0, 0, fl, 0, d
#define LIST(kind, cnt, max, fl, d) kind, 0, cnt, 0, max, fl, 0, d
#define SUB(kind, g) kind, g, 0, 0, 0, 0, 0, NULL
#define GROUPS(kind, g, cnt) kind, g, cnt, 0, CONF_MAX_LIST, 0, 0, NULL
#define POL(f) CONF_G_POLICY, #f, offsetof(struct policy, f)
#define RULE(f) CONF_G_RULE, #f, offsetof(struct shape_rule, f)
/* A policy row: only what a block gives counts, so no default applies (def says what the
 * key falls back to). */
#define PUINT(lo, hi, d) CONF_UINT, 0, 0, lo, hi, CONF_F_COMPUTED, lo, d
#define PRATE CONF_RATE, 0, 0, 1, UINT64_C(1000000000), CONF_F_COMPUTED, 1, "no limit"
#define POLICIES_MAX 64 /* policy blocks (deliver/policy.c keeps one bit per block) */

/* The settings a remotenet may override: group G, struct T, member path P, the group A of
 * its anonssl keys. */
#define CLIENT_KEYS(G, T, P, INH, A)                                                           \
    {G, "announcehost", offsetof(T, P.announcehost),                                           \
     STR(CONF_HOST, CONF_F_LITERAL | CONF_F_COMPUTED | (INH), "hostname"),                     \
     "Name sent in EHLO/HELO: a host name or an address literal \"[ip]\"."},                   \
        {G, "maxpipeline", offsetof(T, P.maxpipeline), CONF_UINT, 0, 0, 0, 1000,                 \
         CONF_F_ZERO_IS_ONE | (INH), 25, NULL,                                                 \
         "Most commands in flight when the server offers PIPELINING (0 is 1: no pipelining)."}, \
        {G, "timeout", offsetof(T, P.timeout), CONF_DURATION, 0, 0, CONF_S, CONF_H, (INH), CONF_M, \
         NULL, "Longest wait for the connection and for any server reply."},                  \
        {G, "mindatarate", offsetof(T, P.mindatarate), CONF_U64, 0, 0, 1, UINT64_C(1000000000000), \
         (INH), 1000000, NULL,                                                                 \
         "Slowest expected body rate (bits/s): a large body extends the timeout."},            \
        {G, "sayHELO", offsetof(T, P.sayHELO), CONF_BOOL, 0, 0, 0, 1, (INH), 0, NULL,             \
         "Greet with HELO instead of EHLO."},                                                  \
        {G, "fallbackHELO", offsetof(T, P.fallbackHELO), CONF_BOOL, 0, 0, 0, 1, (INH), 0, NULL,   \
         "Retry with HELO when EHLO is refused."},                                             \
        {G, "sendQUIT", offsetof(T, P.sendQUIT), CONF_BOOL, 0, 0, 0, 1, (INH), 1, NULL,           \
         "Send QUIT at the end of a session."},                                                \
        {G, "waitQUIT", offsetof(T, P.waitQUIT), CONF_BOOL, 0, 0, 0, 1, (INH), 1, NULL,           \
         "After QUIT, wait for the server's reply before closing."},                           \
        {G, "anonssl", 0, SUB(CONF_GROUP, A),                                                  \
         "TLS with servers reached without a relay ssl block (seed anonssl)."}

/* The anonssl keys: group G, struct T, member path P of the client settings. */
#define ANONSSL_KEYS(G, T, P, INH)                                                             \
    {G, "latent", offsetof(T, P.anonssl.latent), CONF_BOOL, 0, 0, 0, 1, (INH), 1, NULL,        \
     "STARTTLS whenever the server offers it (a failed handshake: cleartext)."},               \
        {G, "mandatory", offsetof(T, P.anonssl.mandatory), CONF_BOOL, 0, 0, 0, 1, (INH), 0, NULL, \
         "No mail without TLS: deferred 4.7.4 when not offered, 4.7.5 when it fails."},        \
        {G, "min_protocol", offsetof(T, P.anonssl.min_tls), CONF_TLSPROTO, 0, 0, 2, 3, (INH), 2, \
         NULL, "Least TLS protocol version."}

#define RELAY_SSL(f) CONF_G_RELAY_SSL, #f, offsetof(struct relay, ssl.f)
#define SMTPD_TLS(f) CONF_G_SMTPD_TLS, #f, offsetof(struct conf, smtpd.tls.f)
#define SMTPD_AUTH(f) CONF_G_SMTPD_AUTH, #f, offsetof(struct conf, smtpd.auth.f)
#define RELAY_AUTH(f) CONF_G_RELAY_AUTH, #f, offsetof(struct relay, auth.f)

/* The keys of a log spec written as a group: G is the log spec's key. */
#define LOG_KEYS(G)                                                                            \
    {G, "path", offsetof(struct logspec, path), STR(CONF_LOGPATH, CONF_F_REQUIRED, NULL),      \
     "Path template (%Y% %M% %D% %H% %DT% %DIRLOG% %SYSNAME% %%); absent: off."},              \
        {G, "rot", offsetof(struct logspec, rot), CONF_ROT, 0, 0, 0, 3, 0, LOGROT_DAILY, NULL,    \
         "Rotation: a new file every hour, day or month, or never."},                          \
        {G, "flush", offsetof(struct logspec, flush), DUR(1, CONF_M, 200),                     \
         "Period of the grouped fsyncs of the writer thread."}
#define PEERS_KEY(G)                                                                           \
    {G, "peers", offsetof(struct logspec, nets),                                               \
     LIST(CONF_PEERS, offsetof(struct logspec, nnets), CONF_MAX_LIST, 0, NULL),                \
     "Only sessions with peers in these CIDR blocks or at/below these domains (empty: all)."}

const struct conf_key conf_keys[] = {
    {TOP(spool), STR(CONF_PATH, 0, "/var/spool/sluice"),
     "Directory of the durable queue (LMDB environment, bodies, incoming table)."},
    {TOP(hostname), STR(CONF_HOST, CONF_F_HOSTNAME | CONF_F_COMPUTED, "gethostname()"),
     "This host's name: greeting, Received: lines, default announcehost."},
    {TOP(user), STR(CONF_PATH, 0, "sluice"),
     "Started as root, the daemon binds its listeners and then runs as this user."},
    {TOP(myorigin), STR(CONF_HOST, CONF_F_COMPUTED, "hostname"),
     "Domain appended to unqualified addresses (\"root\") at acceptance."},
    {TOP(aliases), LIST(CONF_PATHS, CNT(naliases), 16, 0, NULL),
     "Alias files (/etc/aliases format), compiled by `sluice newaliases` into FILE.db."},
    {TOP(virtual), LIST(CONF_PATHS, CNT(nvirtual), 16, 0, NULL),
     "Virtual maps (`local@domain` or `@domain` -> addresses), compiled by `sluice newaliases`."},
    {TOP(canonical), LIST(CONF_PATHS, CNT(ncanonical), 16, 0, NULL),
     "Canonical maps (sender and recipient rewriting), compiled by `sluice newaliases`."},
    {CONF_G_TOP, "local", 0, SUB(CONF_GROUP, CONF_G_LOCAL),
     "Local delivery: mailboxes, commands and files (docs/local.md)."},
    {TOP(transport), GROUPS(CONF_TRANSPORTS, CONF_G_TRANSPORT, CNT(ntransport)),
     "Transport map: recipient domains and their next hop; the first match wins."},
    {TOP(trusted_users), LIST(CONF_PATTERNS, CNT(ntrusted_users), CONF_MAX_LIST, 0, NULL),
     "Logins whose non-root sendmail keeps its -f sender (others get their login@hostname)."},
    {TOP(mailq_users), CONF_MAILQUSERS, 0, 0, MAILQ_USERS_ROOT, MAILQ_USERS_ALL, 0,
     MAILQ_USERS_ROOT, NULL,
     "Who may list the queue with mailq: root (and the daemon's user) or all (through the daemon)."},
    {TOP(non_smtpd_milters), LIST(CONF_MILTERS, CNT(nnon_smtpd_milters), 16, 0, NULL),
     "Milters asked about sendmail submissions (picked up from the maildrop; docs/milter.md)."},
    {TOP(milter_connect_timeout), DUR(100, 10 * CONF_M, 30 * CONF_S),
     "Longest wait for a milter's connection and option negotiation."},
    {TOP(milter_command_timeout), DUR(100, 10 * CONF_M, 30 * CONF_S),
     "Longest wait for a milter's reply to connect, HELO, MAIL or RCPT."},
    {TOP(milter_content_timeout), DUR(100, CONF_H, 300 * CONF_S),
     "Longest wait for a milter's reply to a header, end of header, body chunk or end of message."},
    {CONF_G_TOP, "smtpd", 0, SUB(CONF_GROUP, CONF_G_SMTPD), "The inbound ESMTP server."},
    {CONF_G_TOP, "resolver", 0, SUB(CONF_GROUP, CONF_G_RESOLVER), "DNS lookups (libunbound)."},
    {CONF_G_TOP, "deliver", 0, SUB(CONF_GROUP, CONF_G_DELIVER), "Outbound delivery: scheduler, client, relays, reports."},
    {CONF_G_TOP, "log", 0, SUB(CONF_GROUP, CONF_G_LOG),
     "The daemon's log: stderr, a file or syslog (docs/logging.md)."},
    {CONF_G_TOP, "metrics", 0, SUB(CONF_GROUP, CONF_G_METRICS),
     "Prometheus metrics over HTTP (docs/admin.md \"Metrics\")."},
    {CONF_G_TOP, "dkim", 0, SUB(CONF_GROUP, CONF_G_DKIM),
     "DKIM signing of accepted messages (RFC 6376, RFC 8463; docs/dkim.md)."},
    {CONF_G_TOP, "suppression", 0, SUB(CONF_GROUP, CONF_G_SUPPRESSION),
     "Recipients that hard-bounced fail at once for a while (docs/dkim.md)."},
    {CONF_G_TOP, "ctl", 0, SUB(CONF_GROUP, CONF_G_CTL), "The control channel of `sluice ctl` (docs/admin.md)."},

    {SMTPD(listen), LIST(CONF_LISTEN, CNT(smtpd.nlisten), 64, CONF_F_NONEMPTY, "127.0.0.1:25"),
     "Addresses the SMTP server listens on: \"a.b.c.d:port\" or \"[ipv6]:port\"."},
    {SMTPD(trusted_networks),
     LIST(CONF_CIDRS, CNT(smtpd.ntrusted_networks), CONF_MAX_LIST, 0, "127.0.0.0/8, ::1/128"),
     "Clients in these networks may relay to any domain."},
    {SMTPD(transcript), SUB(CONF_LOGSPEC, CONF_G_SMTPD_TRANSCRIPT),
     "Transcripts of inbound sessions: a path template, or a group of the keys below."},
    {SMTPD(max_message_size), U64(1024, UINT64_C(1) << 40, 10240000),
     "Largest message accepted, in bytes (advertised in SIZE)."},
    {SMTPD(submission_listen),
     LIST(CONF_LISTEN, CNT(smtpd.nsubmission_listen), 64, 0, NULL),
     "RFC 6409 submission listeners (port 587), as listen."},
    {SMTPD(local_domains),
     LIST(CONF_DOMAINS, CNT(smtpd.nlocal_domains), CONF_MAX_LIST, 0, NULL),
     "Domains this host receives mail for (hostname always is one)."},
    {SMTPD(relay_domains),
     LIST(CONF_DOMAINS, CNT(smtpd.nrelay_domains), CONF_MAX_LIST, 0, NULL),
     "Domains any client may send to and ETRN (ZMailer relaytarget)."},
    {SMTPD(allow_source_routes), BOOL(0),
     "RCPT TO:<@relay:user@domain> of a trusted or authenticated client goes via relay (else the route is dropped)."},
    {SMTPD(sloppy_helo), LIST(CONF_PATTERNS, CNT(smtpd.nsloppy_helo), CONF_MAX_LIST, 0, NULL),
     "Clients whose HELO matches a glob may omit <> and add spaces in MAIL/RCPT."},
    {SMTPD(sloppy_networks),
     LIST(CONF_CIDRS, CNT(smtpd.nsloppy_networks), CONF_MAX_LIST, 0, NULL),
     "The same relaxed MAIL/RCPT syntax for clients in these networks."},
    {SMTPD(bare_newline_networks),
     LIST(CONF_CIDRS, CNT(smtpd.nbare_newline_networks), CONF_MAX_LIST, 0, NULL),
     "Clients in these networks may end command lines with a bare LF (others get 521)."},
    {SMTPD(hdr220), STR(CONF_TEXT, 0, "%H ESMTP sluice"),
     "Greeting after \"220 \": %H hostname, %V version, %T time, %% percent."},
    {SMTPD(help),
     LIST(CONF_LINES, CNT(smtpd.nhelp), 100, 0,
          "sluice ESMTP server. Commands:\n"
          "  HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT HELP VRFY EXPN ETRN\n"
          "Questions about this service: <postmaster>"),
     "The text of the HELP reply, one 214 line each."},
    {SMTPD(vrfy_code), UINT(252, 502, 252), "Reply to VRFY (always disabled): 252 or 502."},
    {SMTPD(expn_code), UINT(252, 502, 502), "Reply to EXPN (always disabled): 252 or 502."},
    {SMTPD(deliverby), DUR(0, CONF_D, 60 * CONF_S),
     "DELIVERBY minimum by-time (RFC 2852); 0: not offered."},
    {SMTPD(max_connections), UINT(1, 100000, 800), "Simultaneous SMTP sessions in all."},
    {SMTPD(max_connections_per_ip), UINT(1, 100000, 50),
     "Simultaneous sessions from one client address (trusted_networks exempt)."},
    {SMTPD(max_recipients), UINT(100, 100000, 10000), "Recipients per transaction (then 452)."},
    {SMTPD(max_error_recipients), UINT(1, 100000, 3),
     "Refused RCPTs in a session before the client is disconnected."},
    {SMTPD(tarpit_initial), DUR(0, CONF_M, 0),
     "Delay of the first 4xx/5xx reply of a session; 0: no tarpit."},
    {SMTPD(tarpit_factor), UINT(0, 100, 0),
     "Each next tarpit delay is the previous one plus previous times this."},
    {SMTPD(command_timeout), DUR(CONF_S, CONF_H, 5 * CONF_M),
     "Longest wait for the client's next command or content bytes."},
    {SMTPD(session_timeout), DUR(CONF_S, CONF_D, CONF_H), "Longest SMTP session, however busy."},
    {SMTPD(min_free_space), U64(0, UINT64_C(1) << 50, UINT64_C(5000) * 1024),
     "Bytes that must stay free on the spool's filesystem (else 452)."},
    {SMTPD(max_hops), UINT(1, 1000, 100),
     "More Received: headers than this is a mail loop (554 5.4.6)."},
    {SMTPD(split_long_lines), BOOL(0),
     "Content lines over 998 octets: split them (true) or refuse the message (false)."},
    {SMTPD(rdns_timeout), DUR(0, CONF_M, 5 * CONF_S),
     "Longest wait at DATA for the client's reverse DNS name; 0: no lookup."},
    {SMTPD(policydb), LIST(CONF_POLICYDB, CNT(smtpd.npolicydb), 64, 0, NULL),
     "Policy database sources (KEY ATTRIBUTE [TEXT] lines), compiled by sluice policy-build."},
    {SMTPD(helo_patterns), LIST(CONF_HELOPATS, CNT(smtpd.nhelo_patterns), CONF_MAX_LIST, 0, NULL),
     "HELO/EHLO table, first match wins: \"glob maxload R|-\" or \"glob maxload !text\"."},
    {SMTPD(dnsbl), LIST(CONF_DNSBL, CNT(smtpd.ndnsbl), 64, 0, NULL),
     "DNS block lists of client addresses: \"zone[=127.0.0.[2..11]][*weight]\"."},
    {SMTPD(rhsbl), LIST(CONF_DNSBL, CNT(smtpd.nrhsbl), 64, 0, NULL),
     "Domain block lists of the sender domain, client name and HELO name: \"zone[=pattern][*weight]\"."},
    {SMTPD(dnsbl_threshold), UINT(1, 100000, 1),
     "Sum of the weights of the lists naming a client at which its mail is refused."},
    {SMTPD(dnsbl_timeout), DUR(CONF_S, CONF_M, 10 * CONF_S),
     "Longest wait for the block lists at the first RCPT; a list that has not answered counts 0."},
    {SMTPD(policy_services), LIST(CONF_SERVICES, CNT(smtpd.npolicy_services), 16, 0, NULL),
     "Postfix policy delegation servers asked at RCPT, in order: inet:HOST:PORT or unix:/PATH."},
    {SMTPD(policy_services_data), LIST(CONF_SERVICES, CNT(smtpd.npolicy_services_data), 16, 0, NULL),
     "Policy delegation servers asked once per message after the final dot (END-OF-MESSAGE)."},
    {SMTPD(policy_timeout), DUR(100, CONF_M, 10 * CONF_S),
     "Longest wait for a policy server's reply (per service: timeout=)."},
    {SMTPD(policy_default_action), STR(CONF_ACTION, 0, "DUNNO"),
     "What a policy server that fails or times out answers (per service: default_action=)."},
    {SMTPD(milters), LIST(CONF_MILTERS, CNT(smtpd.nmilters), 16, 0, NULL),
     "Milters asked about every SMTP session and message, in order (docs/milter.md)."},
    {SMTPD(milter_default_action), CONF_MILTERACT, 0, 0, 0, 2, 0, CONF_MILTER_TEMPFAIL, NULL,
     "What a milter that is unreachable, times out or breaks the protocol answers."},
    {SMTPD(tls), SUB(CONF_GROUP, CONF_G_SMTPD_TLS),
     "Server TLS: STARTTLS on every listener once cert_file is set (docs/tls.md)."},
    {SMTPD(tls_listen), LIST(CONF_LISTEN, CNT(smtpd.ntls_listen), 64, 0, NULL),
     "Implicit TLS listeners (RFC 8314, port 465), as listen; submission rules; need tls."},
    {SMTPD(auth), SUB(CONF_GROUP, CONF_G_SMTPD_AUTH),
     "Server AUTH (RFC 4954) once backend is set; submission then needs it (docs/auth.md)."},

    LOG_KEYS(CONF_G_SMTPD_TRANSCRIPT),
    PEERS_KEY(CONF_G_SMTPD_TRANSCRIPT),

    {SMTPD_TLS(cert_file), STR(CONF_PATH, 0, NULL),
     "PEM server certificate, then its chain; set: STARTTLS is offered."},
    {SMTPD_TLS(key_file), STR(CONF_PATH, 0, NULL), "Key of cert_file (PEM); absent: in cert_file."},
    {SMTPD_TLS(ecdsa_cert_file), STR(CONF_PATH, 0, NULL),
     "A second certificate, with an ECDSA key, served beside cert_file's (RSA)."},
    {SMTPD_TLS(ecdsa_key_file), STR(CONF_PATH, 0, NULL),
     "Key of ecdsa_cert_file (PEM); absent: in ecdsa_cert_file."},
    {SMTPD_TLS(ca_file), STR(CONF_PATH, 0, NULL),
     "PEM CAs of client certificates (seed tls-CAfile); also complete our chain."},
    {CONF_G_SMTPD_TLS, "min_protocol", offsetof(struct conf, smtpd.tls.min_tls), CONF_TLSPROTO, 0,
     0, 2, 3, 0, 2, NULL, "Least TLS protocol version accepted."},
    {SMTPD_TLS(session_timeout), DUR(0, 7 * CONF_D, CONF_H),
     "Session resumption (tickets, cache; seed tls-use-scache) this long; 0: none."},
    {SMTPD_TLS(handshake_timeout), DUR(CONF_S, CONF_H, CONF_M),
     "Longest TLS handshake; then the connection is closed."},
    {SMTPD_TLS(ask_cert), BOOL(0),
     "Request a client certificate (seed tls-ask-cert; needs ca_file); logged, not required."},
    {SMTPD_TLS(require_cert), BOOL(0),
     "Refuse (421 4.7.1) a client without a certificate that verifies against ca_file."},

    {SMTPD_AUTH(backend), STR(CONF_TEXT, 0, NULL),
     "Where passwords are checked: file, pam, pipe or dovecot; absent: no AUTH."},
    {SMTPD_AUTH(path), STR(CONF_PATH, 0, NULL),
     "file: the password file; pipe: the program (absolute); dovecot: the auth socket."},
    {SMTPD_AUTH(pam_service), STR(CONF_PATH, 0, "smtp"), "pam: the PAM service name."},
    {SMTPD_AUTH(timeout), DUR(CONF_S / 10, 10 * CONF_M, 10 * CONF_S),
     "pipe, dovecot: longest wait for the answer (then 454 4.7.0)."},
    {SMTPD_AUTH(workers), UINT(1, 16, 2), "file, pam: threads that run crypt(3) or PAM."},
    {SMTPD_AUTH(allow_cleartext), BOOL(0),
     "Offer AUTH without TLS too (else only under STARTTLS or implicit TLS)."},
    {SMTPD_AUTH(max_failures), UINT(1, 1000, 3),
     "Failed AUTHs in one session; the last one's 535 is followed by 421 4.7.0 and the close."},
    {SMTPD_AUTH(max_failures_per_ip), UINT(1, 100000, 10),
     "Failed AUTHs from one client address within failure_window; then AUTH gets 421 4.7.0."},
    {SMTPD_AUTH(failure_window), DUR(CONF_S, CONF_D, 10 * CONF_M),
     "Period over which max_failures_per_ip counts."},
    {SMTPD_AUTH(failure_delay), DUR(0, CONF_M, CONF_S),
     "A 535 is held this long (0: not); with tarpit_initial set, the tarpit instead."},
    {SMTPD_AUTH(rcvd_auth_user), BOOL(1),
     "The Received: line names the user: \"(authenticated as USER)\"."},
    {SMTPD_AUTH(sender_must_match), BOOL(0),
     "MAIL FROM must be the login, or login@hostname or a local domain (else 553 5.7.1)."},

    {RESOLVER(forwarders),
     LIST(CONF_FORWARDERS, CNT(resolver.nforwarders), 16, 0, NULL),
     "Recursive resolvers (\"ip\" or \"ip@port\"); empty: /etc/resolv.conf."},

    {DELIVER(queuecache), UINT(1, 10000000, 2500),
     "Most queue entries (message x recipient) the scheduler holds ready at once."},
    {DELIVER(maxconnections), UINT(1, 100000, 2500), "Simultaneous outgoing connections in all."},
    {DELIVER(maxserverconnections), UINT(1, 100000, 20),
     "Simultaneous outgoing connections to one destination."},
    {DELIVER(maxmessages), UINT(1, 100000, 100), "Messages sent over one connection."},
    {DELIVER(maxrecips), UINT(1, 100000, 50), "Recipients in one SMTP transaction."},
    {DELIVER(interval_low), DUR(1, CONF_H, 100),
     "Polling period of the incoming table while it had messages."},
    {DELIVER(interval_high), DUR(1, CONF_D, 15 * CONF_S),
     "Polling period of the incoming table while it was empty."},
    {DELIVER(interval_error), DUR(1, CONF_D, 3 * CONF_M),
     "Pause before retrying after a queue read error."},
    {DELIVER(delay_start), DUR(0, CONF_D, 30 * CONF_S),
     "Pause after start before recovered recipients are scheduled."},
    {DELIVER(retries),
     CONF_RETRIES, 0, CNT(deliver.nretries), 0, 0, 0, 0, "1 1 2 3 5 8 13 21 34",
     "ZMailer retry factors: the n-th retry waits factor n times interval."},
    {DELIVER(interval), DUR(CONF_S, CONF_D, CONF_M), "The retry time unit (ZMailer interval)."},
    {DELIVER(skew), UINT(0, 1000, 1),
     "Attempts after which retries align to multiples of interval (ZMailer skew)."},
    {DELIVER(expiry), DUR(CONF_S, 365 * CONF_D, 3 * CONF_D),
     "A recipient undelivered this long after queueing fails permanently."},
    {DELIVER(idlemax), DUR(0, CONF_H, 2 * CONF_S),
     "How long an idle connection waits for more mail to its destination."},
    {CONF_G_DELIVER, "client", 0, SUB(CONF_GROUP, CONF_G_CLIENT), "The outbound SMTP client."},
    {DELIVER(relays), GROUPS(CONF_RELAYS, CONF_G_RELAY, CNT(deliver.nrelays)),
     "Routing overrides, tried in order; a relay without rules is the default relay."},
    {DELIVER(policies), CONF_POLICIES, CONF_G_POLICY, CNT(deliver.npolicies), 0, POLICIES_MAX, 0,
     0, NULL, "Per-destination policy blocks, in order; later matching blocks refine earlier."},
    {DELIVER(rules), CONF_RULES, CONF_G_RULE, CNT(deliver.nrules), 0, 256, 0, 0, NULL,
     "Reply rules: a reply matching one acts on its destination (first match wins)."},
    {DELIVER(builtin_rules), BOOL(1),
     "The built-in reply rules apply after deliver.rules (docs/shaping.md)."},
    {DELIVER(initial_concurrency), UINT(0, 100000, 1),
     "Slow start: connections a new or recovered destination begins with; 0: no slow start."},
    {DELIVER(audit), SUB(CONF_LOGSPEC, CONF_G_AUDIT),
     "Audit log, one record per delivered recipient: a path template, or a group."},
    {DELIVER(event_log), SUB(CONF_LOGSPEC, CONF_G_EVENT_LOG),
     "JSON-lines event log: a path template, or a group."},
    {DELIVER(delay_warning), DUR(0, 365 * CONF_D, 4 * CONF_H),
     "A recipient deferred this long gets its sender one delay notice; 0: none."},
    {DELIVER(double_bounce), STR(CONF_MAILBOX, 0, ""),
     "Where failed reports are reported; \"\": dropped and logged."},
    {DELIVER(bounce_size_limit), U64(0, UINT64_C(1) << 40, 50000),
     "Without RET, reports return messages up to this size whole, headers beyond."},
    {DELIVER(verp), BOOL(0), "VERP for every message with a non-null sender."},
    {DELIVER(verp_domains),
     LIST(CONF_DOMAINS, CNT(deliver.nverp_domains), CONF_MAX_LIST, 0, NULL),
     "VERP only for senders in these domains (when verp is false)."},
    {DELIVER(verp_delimiters), STR(CONF_DELIMS, 0, "+="),
     "The two VERP delimiters (local+rcpt=domain@domain)."},

    CLIENT_KEYS(CONF_G_CLIENT, struct conf, deliver.client, 0, CONF_G_CLIENT_ANONSSL),
    {CLIENT(port), CONF_PORT, 0, 0, 1, 65535, 0, 25, NULL,
     "Destination port of MX hosts, and the default port of relays."},
    {CLIENT(fallbackMX_A), BOOL(0), "A domain without MX records is tried as a host (A/AAAA)."},
    {CLIENT(remotenets),
     GROUPS(CONF_REMOTENETS, CONF_G_REMOTENET, CNT(deliver.nremotenets)),
     "Per-server overrides of the client settings; the first matching entry wins."},
    {CONF_G_CLIENT, "transcript", offsetof(struct conf, deliver.transcript),
     SUB(CONF_LOGSPEC, CONF_G_CLIENT_TRANSCRIPT), "Transcripts of outbound sessions: a path template, or a group."},

    ANONSSL_KEYS(CONF_G_CLIENT_ANONSSL, struct conf, deliver.client, 0),

    {CONF_G_REMOTENET, "ip", offsetof(struct remotenet, nets),
     LIST(CONF_RNET_IP, offsetof(struct remotenet, nnets), CONF_MAX_LIST,
          CONF_F_REQUIRED | CONF_F_NONEMPTY, NULL),
     "Servers this entry applies to: CIDR blocks, or host names."},
    CLIENT_KEYS(CONF_G_REMOTENET, struct remotenet, client, CONF_F_INHERIT,
                CONF_G_REMOTENET_ANONSSL),

    ANONSSL_KEYS(CONF_G_REMOTENET_ANONSSL, struct remotenet, client, CONF_F_INHERIT),

    LOG_KEYS(CONF_G_CLIENT_TRANSCRIPT),
    PEERS_KEY(CONF_G_CLIENT_TRANSCRIPT),

    {CONF_G_RELAY, "address", 0, CONF_RELAY_ADDR, 0, 0, 0, 0, CONF_F_REQUIRED, 0, NULL,
     "The next hop: host, host:port, [ip] or [ip]:port (port: deliver.client.port), or a list of up to 8."},
    {CONF_G_RELAY, "spread", offsetof(struct relay, spread), CONF_SPREAD, 0, 0,
     RELAY_SPREAD_FAILOVER, RELAY_SPREAD_PARALLEL, 0, RELAY_SPREAD_FAILOVER, NULL,
     "Several hosts: failover (the next when one is down) or parallel (recipients divided)."},
    {CONF_G_RELAY, "order", offsetof(struct relay, order), CONF_ORDER, 0, 0, RELAY_ORDER_LISTED,
     RELAY_ORDER_RANDOM, 0, RELAY_ORDER_LISTED, NULL,
     "Several hosts: tried as listed, or shuffled for every connection (parallel: the backups)."},
    {CONF_G_RELAY, "destdomains", offsetof(struct relay, destdomains),
     LIST(CONF_DOMAINPATS, offsetof(struct relay, ndestdomains), CONF_MAX_LIST, 0, NULL),
     "Recipient domains routed to this relay: domain, .domain or *.domain (subdomains), *; "
     "!pattern excludes; first match wins."},
    {CONF_G_RELAY, "senders", offsetof(struct relay, senders),
     LIST(CONF_SENDERS, offsetof(struct relay, nsenders), CONF_MAX_LIST, 0, NULL),
     "Messages from these senders (\"domain\" or \"local@domain\") go to this relay."},
    {CONF_G_RELAY, "sendernets", offsetof(struct relay, sendernets),
     LIST(CONF_CIDRS, offsetof(struct relay, nsendernets), CONF_MAX_LIST, 0, NULL),
     "Messages received from clients in these networks go to this relay."},
    {CONF_G_RELAY, "ssl", 0, CONF_GROUP, CONF_G_RELAY_SSL, 0, 0, 0, CONF_F_BLOCK, 0, NULL,
     "TLS with this relay (absent: the server's anonssl): required unless mode none."},
    {CONF_G_RELAY, "auth", 0, CONF_GROUP, CONF_G_RELAY_AUTH, 0, 0, 0, CONF_F_BLOCK, 0, NULL,
     "SASL authentication to this relay (RFC 4954), after TLS."},

    {RELAY_SSL(mode), CONF_TLSMODE, 0, 0, RELAY_TLS_NONE, RELAY_TLS_IMPLICIT, 0,
     RELAY_TLS_STARTTLS, NULL,
     "none: no TLS; starttls: STARTTLS required; implicit: TLS from the first byte (465)."},
    {RELAY_SSL(verify), BOOL(1),
     "The certificate must chain to ca_file and name verify_name (else 4.7.5)."},
    {RELAY_SSL(ca_file), STR(CONF_PATH, 0, NULL), "PEM file of trusted CAs; absent: the system store."},
    {RELAY_SSL(verify_name), STR(CONF_HOST, CONF_F_LITERAL, NULL),
     "Name expected in the certificate (and SNI); absent: the relay's host."},
    {CONF_G_RELAY_SSL, "min_protocol", offsetof(struct relay, ssl.min_tls), CONF_TLSPROTO, 0, 0, 2, 3, 0, 2, NULL, "Least TLS protocol version."},
    {RELAY_SSL(cert_file), STR(CONF_PATH, 0, NULL),
     "Client certificate (PEM chain): shown when asked, the identity of AUTH EXTERNAL."},
    {RELAY_SSL(key_file), STR(CONF_PATH, 0, NULL), "Key of cert_file (PEM); absent: in cert_file."},

    {RELAY_AUTH(enabled), BOOL(1), "Authenticate (false keeps the block unused)."},
    {RELAY_AUTH(initrsp), BOOL(1), "Send the first SASL response on the AUTH line."},
    {CONF_G_RELAY_AUTH, "override", offsetof(struct relay, auth.external), CONF_OVERRIDE, 0, 0, 0, 1, 0, 0, NULL,
     "\"external\": SASL EXTERNAL with ssl.cert_file instead of PLAIN/LOGIN."},
    {RELAY_AUTH(allow_cleartext), BOOL(0), "Credentials may be sent without TLS."},
    {RELAY_AUTH(username), CONF_SECRET, 0, 0, 0, 0, 0, 0, NULL,
     "SASL user name (with EXTERNAL: the authorization identity, optional)."},
    {RELAY_AUTH(password), CONF_SECRET, 0, 0, 0, 0, 0, 0, NULL,
     "SASL password (never shown in messages or logs)."},
    {CONF_G_RELAY_AUTH, "password_file", offsetof(struct relay, auth.password), CONF_SECRET_FILE, 0, 0, 0, 0, 0, 0, NULL,
     "File whose first line is the password; mode 600, owned by root or user."},

    {POL(match), LIST(CONF_SELECTORS, offsetof(struct policy, nmatch), 256,
                      CONF_F_REQUIRED | CONF_F_NONEMPTY, NULL),
     "Destinations of this block: GLOB or smtp/GLOB (domain), mx:GLOB (MX host), ip:CIDR."},
    {POL(maxserverconnections), PUINT(1, 100000, "deliver.maxserverconnections"),
     "Simultaneous connections to the destination (ZMailer maxchannel)."},
    {POL(maxmessages), PUINT(1, 100000, "deliver.maxmessages"),
     "Messages sent over one connection (ZMailer maxta)."},
    {POL(maxrecips), PUINT(1, 100000, "deliver.maxrecips"), "Recipients in one transaction."},
    {POL(idlemax), CONF_DURATION, 0, 0, 0, CONF_H, CONF_F_COMPUTED, 0, "deliver.idlemax",
     "How long an idle connection waits for more mail to the destination."},
    {POL(queueonly), CONF_BOOL, 0, 0, 0, 1, CONF_F_COMPUTED, 0, "false",
     "Hold the destination's mail until ETRN or a queue run (ZMailer queueonly)."},
    {POL(msgs_per_second), PRATE, "Messages started per second (a token bucket)."},
    {POL(msgs_per_minute), PRATE, "Messages started per minute (the lowest rate given wins)."},
    {POL(msgs_per_hour), PRATE, "Messages started per hour (the lowest rate given wins)."},
    {POL(msgs_burst), PUINT(1, 100000, "1"),
     "Messages that may start at once above the rate (the bucket's size)."},
    {POL(connections_per_minute), PRATE, "New connections per minute (a token bucket of one)."},
    {POL(initial_concurrency), PUINT(0, 100000, "deliver.initial_concurrency"),
     "Slow start: connections the destination begins with; 0: none."},
    {POL(maxpipeline), CONF_UINT, 0, 0, 0, 1000, CONF_F_ZERO_IS_ONE | CONF_F_COMPUTED, 0,
     "deliver.client.maxpipeline",
     "Most commands in flight to the destination when it offers PIPELINING (0 is 1)."},
    {POL(retries), CONF_RETRIES, 0, offsetof(struct policy, nretries), 0, 0, CONF_F_COMPUTED, 0,
     "deliver.retries", "ZMailer retry factors for the destination's deferred mail."},
    {POL(interval), CONF_DURATION, 0, 0, CONF_S, CONF_D, CONF_F_COMPUTED, CONF_S, "deliver.interval",
     "The destination's retry time unit (ZMailer interval)."},
    {POL(skew), PUINT(0, 1000, "deliver.skew"),
     "Attempts after which the destination's retries align to multiples of interval."},
    {POL(expiry), CONF_DURATION, 0, 0, CONF_S, 365 * CONF_D, CONF_F_COMPUTED, CONF_S,
     "deliver.expiry",
     "The destination's mail undelivered this long after queueing fails permanently."},

    {RULE(match), STR(CONF_REGEX, CONF_F_REQUIRED, NULL),
     "Extended regular expression (no case) on the reply as one line: \"421 4.7.0 text\"."},
    {RULE(at), CONF_RULE_AT, 0, 0, RULE_AT_ANY, RULE_AT_DATA, 0, RULE_AT_ANY, NULL,
     "Where the reply came: greeting (before the session), mail, rcpt, data, or any."},
    {RULE(action), CONF_RULE_ACTION, 0, 0, RULE_SUSPEND, RULE_BOUNCE, CONF_F_REQUIRED, 0, NULL,
     "suspend, reduce_concurrency, reduce_rate, or bounce (the destination's ready mail)."},
    {RULE(duration), DUR(CONF_S, CONF_D, CONF_M),
     "How long suspend lasts; for reduce_rate, how long the rate stays just under the learned "
     "ceiling before probing above it."},
    {RULE(factor), CONF_RATE, 0, 0, 10, 990, 0, 500, NULL,
     "reduce_concurrency and reduce_rate multiply by this."},

    LOG_KEYS(CONF_G_AUDIT),
    LOG_KEYS(CONF_G_EVENT_LOG),

    {CONF_G_LOG, "target", offsetof(struct conf, log.target), CONF_LOGTARGET, 0, 0,
     LOG_TARGET_STDERR, LOG_TARGET_SYSLOG, 0, LOG_TARGET_STDERR, NULL,
     "Where the log goes: stderr, file (log.path) or syslog (facility mail)."},
    {CONF_G_LOG, "path", offsetof(struct conf, log.path), STR(CONF_PATH, 0, NULL),
     "target file: the file (appended to); target syslog: the socket (absent: /dev/log)."},

    {CONF_G_METRICS, "listen", offsetof(struct conf, metrics.listen),
     LIST(CONF_LISTEN, CNT(metrics.nlisten), 16, 0, NULL),
     "HTTP addresses (as smtpd.listen) serving GET /metrics (Prometheus text); empty: off."},

    {LOCAL(mailbox), CONF_MBOXKIND, 0, 0, LOCAL_MAILDIR, LOCAL_MBOX, 0, LOCAL_MAILDIR, NULL,
     "Mailbox format: maildir (home_mailbox in the home) or mbox (mail_spool_directory)."},
    {LOCAL(home_mailbox), STR(CONF_PATH, 0, "Maildir/"),
     "The Maildir, relative to the recipient's home."},
    {LOCAL(mail_spool_directory), STR(CONF_PATH, 0, "/var/mail"),
     "Directory of mbox mailboxes, one file per user."},
    {LOCAL(allow_mail_to_commands), LIST(CONF_ALLOWS, CNT(local.nallow_mail_to_commands), 3, 0,
                                         "alias, forward"),
     "Where |command deliveries may come from: alias, forward, include."},
    {LOCAL(allow_mail_to_files), LIST(CONF_ALLOWS, CNT(local.nallow_mail_to_files), 3, 0,
                                      "alias, forward"),
     "Where /file deliveries may come from: alias, forward, include."},
    {LOCAL(command_timeout), DUR(CONF_S, CONF_D, 1000 * CONF_S),
     "Longest run of a |command delivery; then it is killed and the mail deferred."},
    {LOCAL(mailbox_size_limit), U64(0, UINT64_C(1) << 50, 51200000),
     "Largest mbox or /file a delivery may grow (5.2.2 beyond); 0: no limit."},

    {CONF_G_TRANSPORT, "domains", offsetof(struct transport_rule, domains),
     LIST(CONF_DOMAINS, offsetof(struct transport_rule, ndomains), CONF_MAX_LIST,
          CONF_F_REQUIRED | CONF_F_NONEMPTY, NULL),
     "Recipient domains of this entry (exact names)."},
    {CONF_G_TRANSPORT, "nexthop", offsetof(struct transport_rule, nexthop),
     STR(CONF_NEXTHOP, CONF_F_REQUIRED, NULL),
     "local, lmtp:unix:PATH, lmtp:inet:HOST:PORT, smtp:[HOST]:PORT, error:TEXT or hold."},

    {CONF_G_DKIM, "sign", offsetof(struct conf, dkim.sign),
     GROUPS(CONF_SIGNS, CONF_G_DKIM_SIGN, CNT(dkim.nsign)),
     "Signing entries: each one whose From domains match adds its own signature."},
    {CONF_G_DKIM, "headers", offsetof(struct conf, dkim.headers),
     LIST(CONF_PATTERNS, CNT(dkim.nheaders), 100, CONF_F_NONEMPTY,
          "from, reply-to, subject, date, to, cc, resent-date, resent-from, resent-to, "
          "resent-cc, in-reply-to, references, message-id, mime-version, content-type, "
          "content-transfer-encoding, list-id, list-help, list-unsubscribe, "
          "list-unsubscribe-post, list-subscribe, list-post, list-owner, list-archive"),
     "Header fields signed when present (must name from)."},
    {CONF_G_DKIM, "oversign", offsetof(struct conf, dkim.oversign),
     LIST(CONF_PATTERNS, CNT(dkim.noversign), 100, 0, "from"),
     "Header fields signed once more than present, so none can be added after signing."},
    {CONF_G_DKIM, "canonicalization", offsetof(struct conf, dkim.canon), CONF_CANON, 0, 0, 0, 3,
     0, DKIM_CANON_RELAXED_RELAXED, NULL, "Header/body canonicalization (RFC 6376 3.4)."},

    {CONF_G_DKIM_SIGN, "domain", offsetof(struct dkim_sign_conf, domain),
     STR(CONF_HOST, CONF_F_REQUIRED, NULL), "The signing domain (d=)."},
    {CONF_G_DKIM_SIGN, "selector", offsetof(struct dkim_sign_conf, selector),
     STR(CONF_HOST, CONF_F_REQUIRED, NULL), "The selector (s=): the key is at SELECTOR._domainkey.DOMAIN."},
    {CONF_G_DKIM_SIGN, "key_file", offsetof(struct dkim_sign_conf, key_file),
     STR(CONF_PATH, CONF_F_REQUIRED, NULL), "PEM private key (RSA of 2048+ bits, or Ed25519); re-read on SIGHUP."},
    {CONF_G_DKIM_SIGN, "algorithm", offsetof(struct dkim_sign_conf, algorithm), CONF_DKIMALG, 0,
     0, 0, 1, 0, DKIM_ALG_RSA_SHA256, NULL, "Signing algorithm (a=); must fit the key."},
    {CONF_G_DKIM_SIGN, "from_domains", offsetof(struct dkim_sign_conf, from_domains),
     LIST(CONF_PATTERNS, offsetof(struct dkim_sign_conf, nfrom_domains), CONF_MAX_LIST, 0, NULL),
     "From: domains signed with this entry (globs, \"*.example.org\"); empty: domain only."},

    {CONF_G_SUPPRESSION, "enabled", offsetof(struct conf, suppression.enabled), BOOL(0),
     "Record hard bounces and fail later mail to them at once."},
    {CONF_G_SUPPRESSION, "duration", offsetof(struct conf, suppression.duration),
     DUR(CONF_M, 10 * 365 * CONF_D, 30 * CONF_D), "How long an address stays suppressed."},
    {CONF_G_SUPPRESSION, "codes", offsetof(struct conf, suppression.codes),
     LIST(CONF_PATTERNS, CNT(suppression.ncodes), 100, CONF_F_NONEMPTY,
          "5.1.1, 5.1.2, 5.1.3, 5.1.6, 5.1.10, 5.2.1"),
     "Permanent failures whose enhanced status (glob) suppresses the recipient."},
    {CONF_G_CTL, "socket", offsetof(struct conf, ctl.socket),
     STR(CONF_PATH, CONF_F_COMPUTED, "SPOOL/ctl.sock"),
     "UNIX control socket (mode 660); root, the daemon's user and group may use it."},
    {CONF_G_CTL, "listen", offsetof(struct conf, ctl.listen),
     LIST(CONF_LISTEN, CNT(ctl.nlisten), 64, 0, NULL),
     "TCP control listeners \"a.b.c.d:port\": users of authfile, from their networks."},
    {CONF_G_CTL, "authfile", offsetof(struct conf, ctl.authfile), STR(CONF_PATH, 0, NULL),
     "USER:CRYPT-HASH:ATTRIBUTES[:NETWORKS] lines for TCP clients (read, queue-ops, admin)."},
};

const size_t conf_nkeys = sizeof conf_keys / sizeof conf_keys[0];

/* What the dump says about each kind: its type, its bounds when they are not numbers, and
 * the separators of a list given as one string. */
static const struct {
    const char *type;
    const char *bounds;
    const char *seps;
} conf_kinds[] = {
    [CONF_PATH] = {"path", "1..512 bytes, no control bytes", NULL},
    [CONF_HOST] = {"host name", "DNS name of 1..253 bytes", NULL},
    [CONF_TEXT] = {"text", "1..512 printable bytes", NULL},
    [CONF_MAILBOX] = {"address", "\"\" or local@domain", NULL},
    [CONF_DELIMS] = {"delimiters", "two punctuation characters", NULL},
    [CONF_ACTION] = {"action", "DUNNO, OK, REJECT, DEFER, DEFER_IF_PERMIT, 4NN/5NN text", NULL},
    [CONF_LOGPATH] = {"path template", "1..1024 bytes, known tokens", NULL},
    [CONF_SECRET] = {"secret", "1..255 bytes, no control bytes", NULL},
    [CONF_SECRET_FILE] = {"path", "a file of mode 600 or stricter", NULL},
    [CONF_UINT] = {"integer", NULL, NULL},
    [CONF_U64] = {"integer", NULL, NULL},
    [CONF_PORT] = {"integer", NULL, NULL},
    [CONF_DURATION] = {"duration", NULL, NULL},
    [CONF_BOOL] = {"boolean", "true, false", NULL},
    [CONF_TLSMODE] = {"word", "none, starttls, implicit", NULL},
    [CONF_TLSPROTO] = {"word", "TLSv1.2, TLSv1.3", NULL},
    [CONF_LOGTARGET] = {"word", "stderr, file, syslog", NULL},
    [CONF_DKIMALG] = {"word", "rsa-sha256, ed25519-sha256", NULL},
    [CONF_CANON] = {"word", "relaxed/relaxed, relaxed/simple, simple/relaxed, simple/simple", NULL},
    [CONF_MILTERACT] = {"word", "accept, tempfail, reject", NULL},
    [CONF_OVERRIDE] = {"word", "external", NULL},
    [CONF_RULE_AT] = {"word", "any, greeting, mail, rcpt, data", NULL},
    [CONF_RULE_ACTION] = {"word", "suspend, reduce_concurrency, reduce_rate, bounce", NULL},
    [CONF_SPREAD] = {"word", "failover, parallel", NULL},
    [CONF_ORDER] = {"word", "listed, random", NULL},
    [CONF_RATE] = {"number", NULL, NULL},
    [CONF_REGEX] = {"regex", "1..512 bytes, ERE: no back-reference, stacked quantifier, {n} over 100", NULL},
    [CONF_SELECTORS] = {"selector list", NULL, ", \t"},
    [CONF_MBOXKIND] = {"word", "maildir, mbox", NULL},
    [CONF_MAILQUSERS] = {"word", "root, all", NULL},
    [CONF_NEXTHOP] = {"next hop", "see docs/local.md", NULL},
    [CONF_PATHS] = {"path list", NULL, ", \t"},
    [CONF_ALLOWS] = {"word list", "alias, forward, include", ", \t"},
    [CONF_TRANSPORTS] = {"list of groups", NULL, NULL},
    [CONF_ROT] = {"rotation", "never, hourly, daily, monthly", NULL},
    [CONF_RETRIES] = {"retries", "1..64 factors of 1..100000", NULL},
    [CONF_LISTEN] = {"listen list", NULL, ", \t"},
    [CONF_CIDRS] = {"CIDR list", NULL, ", \t"},
    [CONF_FORWARDERS] = {"forwarder list", NULL, ", \t"},
    [CONF_DOMAINS] = {"domain list", NULL, ", \t"},
    [CONF_DOMAINPATS] = {"domain pattern list", NULL, ", \t"},
    [CONF_SENDERS] = {"sender list", NULL, ", \t"},
    [CONF_PATTERNS] = {"pattern list", NULL, ", \t"},
    [CONF_RNET_IP] = {"CIDR or host list", NULL, "| \t"},
    [CONF_PEERS] = {"CIDR or domain list", NULL, ", \t|"},
    [CONF_POLICYDB] = {"path list", NULL, ", \t"},
    [CONF_DNSBL] = {"DNSBL list", "zone[=pattern][*weight]", ", \t"},
    [CONF_SERVICES] = {"policy service list", "inet:host:port or unix:/path [options]", "\n"},
    [CONF_MILTERS] = {"milter list", "inet:IP:PORT or unix:/PATH", ", \t"},
    [CONF_HELOPATS] = {"pattern table", "glob maxload style|!text", "\n"},
    [CONF_LINES] = {"line list", NULL, "\n"},
    [CONF_RELAY_ADDR] = {"relay address", "host, host:port, [ip], [ip]:port; or a list of 1..8", NULL},
    [CONF_GROUP] = {"group", "-", NULL},
    [CONF_LOGSPEC] = {"log spec", "path template or group", NULL},
    [CONF_REMOTENETS] = {"list of groups", NULL, NULL},
    [CONF_RELAYS] = {"list of groups", NULL, NULL},
    [CONF_POLICIES] = {"list of groups", NULL, NULL},
    [CONF_RULES] = {"list of groups", NULL, NULL},
    [CONF_SIGNS] = {"list of groups", NULL, NULL},
};

const char *const conf_group_names[CONF_NGROUPS] = {
    [CONF_G_TOP] = "",
    [CONF_G_SMTPD] = "smtpd",
    [CONF_G_SMTPD_TRANSCRIPT] = "smtpd.transcript",
    [CONF_G_SMTPD_TLS] = "smtpd.tls",
    [CONF_G_SMTPD_AUTH] = "smtpd.auth",
    [CONF_G_RESOLVER] = "resolver",
    [CONF_G_DELIVER] = "deliver",
    [CONF_G_CLIENT] = "deliver.client",
    [CONF_G_CLIENT_ANONSSL] = "deliver.client.anonssl",
    [CONF_G_REMOTENET] = "deliver.client.remotenets[]",
    [CONF_G_REMOTENET_ANONSSL] = "deliver.client.remotenets[].anonssl",
    [CONF_G_CLIENT_TRANSCRIPT] = "deliver.client.transcript",
    [CONF_G_RELAY] = "deliver.relays[]",
    [CONF_G_RELAY_SSL] = "deliver.relays[].ssl",
    [CONF_G_RELAY_AUTH] = "deliver.relays[].auth",
    [CONF_G_POLICY] = "deliver.policies[]",
    [CONF_G_RULE] = "deliver.rules[]",
    [CONF_G_AUDIT] = "deliver.audit",
    [CONF_G_EVENT_LOG] = "deliver.event_log",
    [CONF_G_LOG] = "log",
    [CONF_G_METRICS] = "metrics",
    [CONF_G_LOCAL] = "local",
    [CONF_G_TRANSPORT] = "transport[]",
    [CONF_G_DKIM] = "dkim",
    [CONF_G_DKIM_SIGN] = "dkim.sign[]",
    [CONF_G_SUPPRESSION] = "suppression",
    [CONF_G_CTL] = "ctl",
};

/* The index of the first row of each group (the table is sorted by group), and one past the
 * last row; and the same for the rows that may own memory (all but numbers), in table order.
 * Made once: every load and free looks groups up. */
static size_t conf_keys_bounds[CONF_NGROUPS + 1], conf_owning_bounds[CONF_NGROUPS + 1];
static const struct conf_key *conf_owning[sizeof conf_keys / sizeof conf_keys[0]];
static pthread_once_t conf_keys_bounds_once = PTHREAD_ONCE_INIT;

/* pthread_once: fills conf_keys_bounds, conf_owning and conf_owning_bounds. */
static void conf_keys_bounds_make(void)
{
    size_t i = 0, n = 0;
    for (unsigned g = 0; g <= CONF_NGROUPS; g++) {
        conf_keys_bounds[g] = i;
        conf_owning_bounds[g] = n;
        for (; i < conf_nkeys && (unsigned)conf_keys[i].group == g; i++)
            if (conf_keys[i].kind < CONF_UINT || conf_keys[i].kind > CONF_ROT)
                conf_owning[n++] = &conf_keys[i];
    }
}

/* The rows of group g: [first, *end). */
const struct conf_key *conf_keys_group(enum conf_gid g, const struct conf_key **end)
{
    pthread_once(&conf_keys_bounds_once, conf_keys_bounds_make);
    *end = &conf_keys[conf_keys_bounds[g + 1]];
    return &conf_keys[conf_keys_bounds[g]];
}

/* The rows of group g that may own memory: [first, *end). */
const struct conf_key *const *conf_keys_owning(enum conf_gid g, const struct conf_key *const **end)
{
    pthread_once(&conf_keys_bounds_once, conf_keys_bounds_make);
    *end = &conf_owning[conf_owning_bounds[g + 1]];
    return &conf_owning[conf_owning_bounds[g]];
}

/* The separators of a list of kind k given as one string. */
const char *conf_keys_seps(enum conf_kind k)
{
    return conf_kinds[k].seps ? conf_kinds[k].seps : ", \t";
}

/* Prints s as a libconfig string literal. */
static void conf_dump_string(FILE *out, const char *s, size_t len)
{
    fputc('"', out);
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '"' || s[i] == '\\')
            fputc('\\', out);
        fputc(s[i], out);
    }
    fputc('"', out);
}

/* Prints a list default as an array of strings. */
static void conf_dump_list(FILE *out, const struct conf_key *p)
{
    const char *seps = conf_keys_seps(p->kind), *s = p->def ? p->def : "";
    bool first = true;
    fputc('[', out);
    while (*s) {
        size_t n = strcspn(s, seps);
        if (n > 0) {
            fputs(first ? "" : ", ", out);
            conf_dump_string(out, s, n);
            first = false;
        }
        s += n + (s[n] != '\0');
    }
    fputc(']', out);
}

/* Prints p's default in libconfig syntax ("-": none, "(...)": computed when loading). */
static void conf_dump_default(FILE *out, const struct conf_key *p)
{
    char d[32];
    if (p->flags & CONF_F_REQUIRED) {
        fputc('-', out);
    } else if (p->flags & CONF_F_INHERIT) { /* the same key without "remotenets[]." */
        const char *g = conf_group_names[p->group], *r = strstr(g, ".remotenets[]");
        fprintf(out, "(%.*s%s.%s)", (int)(r - g), g, r + strlen(".remotenets[]"), p->name);
    } else if (p->flags & CONF_F_COMPUTED) {
        fprintf(out, "(%s)", p->def);
    } else if (p->kind >= CONF_PATH && p->kind <= CONF_LOGPATH) {
        if (p->def == NULL)
            fputc('-', out);
        else
            conf_dump_string(out, p->def, strlen(p->def));
    } else if (p->kind == CONF_UINT || p->kind == CONF_U64 || p->kind == CONF_PORT) {
        fprintf(out, "%llu%s", (unsigned long long)p->defv, p->defv > 2147483647 ? "L" : "");
    } else if (p->kind == CONF_DURATION) {
        fprintf(out, "\"%s\"", duration_to_text(p->defv, d, sizeof d));
    } else if (p->kind == CONF_BOOL) {
        fputs(p->defv ? "true" : "false", out);
    } else if (p->kind == CONF_ROT) {
        fprintf(out, "\"%s\"", logpath_rot_name((unsigned)p->defv));
    } else if (p->kind == CONF_RATE) {
        fprintf(out, "%g", (double)p->defv / 1000.0);
    } else if (p->kind >= CONF_TLSMODE && p->kind <= CONF_MAILQUSERS) { /* words (RATE above) */
        const char *w = conf_word_name(p->kind, p->defv);
        if (*w)
            fprintf(out, "\"%s\"", w);
        else
            fputc('-', out);
    } else if (p->kind == CONF_RETRIES) {
        conf_dump_string(out, p->def, strlen(p->def));
    } else if (p->kind >= CONF_LISTEN && p->kind <= CONF_LINES) {
        conf_dump_list(out, p);
    } else {
        fputs(p->kind >= CONF_REMOTENETS ? "()" : "-", out);
    }
}

/* Prints p's bounds. */
static void conf_dump_bounds(FILE *out, const struct conf_key *p)
{
    char a[32], b[32];
    if (p->flags & CONF_F_LITERAL)
        fputs("DNS name, or \"[ip]\"", out);
    else if (conf_kinds[p->kind].bounds != NULL)
        fputs(conf_kinds[p->kind].bounds, out);
    else if (p->kind == CONF_DURATION)
        fprintf(out, "%s..%s", duration_to_text(p->min, a, sizeof a),
                duration_to_text(p->max, b, sizeof b));
    else if (p->kind == CONF_UINT || p->kind == CONF_U64 || p->kind == CONF_PORT)
        fprintf(out, "%llu..%llu", (unsigned long long)p->min, (unsigned long long)p->max);
    else if (p->kind == CONF_RATE)
        fprintf(out, "%g..%g", (double)p->min / 1000.0, (double)p->max / 1000.0);
    else
        fprintf(out, "%d..%llu entries", (p->flags & CONF_F_NONEMPTY) ? 1 : 0,
                (unsigned long long)p->max);
}

/* Prints the rows of group, each followed by the rows below it. */
static void conf_dump_group(FILE *out, enum conf_gid group)
{
    const char *name = conf_group_names[group];
    const struct conf_key *end, *p = conf_keys_group(group, &end);
    for (; p < end; p++) {
        fprintf(out, "%s%s%s\t%s%s\t", name, *name ? "." : "", p->name,
                conf_kinds[p->kind].type, (p->flags & CONF_F_REQUIRED) ? " (required)" : "");
        conf_dump_default(out, p);
        fputc('\t', out);
        conf_dump_bounds(out, p);
        fprintf(out, "\t%s\n", p->doc);
        if (p->kind == CONF_GROUP || p->kind == CONF_LOGSPEC || p->kind >= CONF_REMOTENETS)
            conf_dump_group(out, p->sub);
    }
}

/* Prints every key, one line each, in the order the keys are applied. */
void conf_keys_dump(FILE *out)
{
    conf_dump_group(out, CONF_G_TOP);
}
