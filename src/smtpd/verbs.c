/* verbs: the inbound server's command handlers (contract in session.h).
 *
 * verbs_command() parses one line with cmd_parse() (strict RFC 5321 syntax unless the
 * session is sloppy; UTF-8 octets in paths only after EHLO) and dispatches on the verb.
 * Every reply but the greeting, the EHLO/HELO replies and 354 carries an enhanced status
 * code (RFC 2034). MAIL and RCPT parameters are parsed by esmtp_*_parse() and stored with
 * the message: SIZE (552 5.3.4 when over max_message_size), BODY, SMTPUTF8 (RFC 6531: a
 * non-ASCII address needs it, 553 5.6.7), DSN RET/ENVID/NOTIFY/ORCPT (RFC 3461), DELIVERBY
 * BY (RFC 2852: R mode needs at least smtpd.deliverby). MAIL checks min_free_space (452).
 * RCPT: relaying rules (policy.c) on the address without its source route, max_recipients
 * (452 4.5.3), and a client whose refused RCPTs exceed max_error_recipients is disconnected
 * (421); a source route is kept ("@relay:local@domain") only with allow_source_routes for a
 * trusted or authenticated client, else dropped (docs/routing.md). On a submission listener MAIL
 * needs a trusted or authenticated client (530 5.7.0, authn.c). AUTH is authn.c's; EHLO
 * lists "AUTH PLAIN LOGIN" with a backend, under TLS or with smtpd.auth.allow_cleartext. DATA and BDAT hand over to
 * content.c, once the client's reverse lookup is over (session_rdns_wait). ETRN (RFC 1985) for trusted clients or relay_domains calls the etrn callback.
 * STARTTLS (advertised with a certificate, until TLS is on) is starttls.c's.
 * VRFY/EXPN answer 252 or 502 as configured; HELP prints smtpd.help. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf/conf.h"
#include "core/log.h"
#include "core/qid.h"
#include "core/xalloc.h"
#include "proto/esmtp.h"
#include "smtpd/session.h"

/* The extensions whose parameters this session accepts. */
static unsigned verbs_allowed(const struct session *s)
{
    if (s->helo_kind != HELO_ESMTP)
        return 0;
    unsigned a = ESMTP_EXT_SIZE | ESMTP_EXT_8BITMIME | ESMTP_EXT_SMTPUTF8 | ESMTP_EXT_DSN;
    if (s->sd->c->smtpd.deliverby > 0)
        a |= ESMTP_EXT_DELIVERBY;
    return a;
}

/* True when the address holds octets above 0x7f. */
static bool verbs_8bit(const char *a)
{
    for (; *a; a++)
        if ((unsigned char)*a >= 0x80)
            return true;
    return false;
}

/* Answers a command whose arguments cmd_parse() refused. */
static void verbs_bad_args(struct session *s, enum cmd_verb verb)
{
    switch (verb) {
    case CMD_HELO: session_reply(s, "501 5.5.4 Syntax: HELO hostname"); break;
    case CMD_EHLO: session_reply(s, "501 5.5.4 Syntax: EHLO hostname"); break;
    case CMD_MAIL: session_reply(s, "501 5.5.4 Syntax: MAIL FROM:<address> [parameters]"); break;
    case CMD_RCPT: session_reply(s, "501 5.5.4 Syntax: RCPT TO:<address> [parameters]"); break;
    case CMD_BDAT: session_reply(s, "501 5.5.4 Syntax: BDAT chunk-size [LAST]"); break;
    case CMD_ETRN: session_reply(s, "501 5.5.4 Syntax: ETRN domain"); break;
    case CMD_STARTTLS: session_reply(s, "501 5.5.4 Syntax: STARTTLS"); break;
    default: session_reply(s, "501 5.5.4 Syntax error in parameters or arguments"); break;
    }
}

/* HELO/EHLO: remembers the argument, resets the transaction, asks the milters. */
static void verbs_helo(struct session *s, const struct cmd *c)
{
    session_txn_reset(s);
    log_sanitize(s->helo, sizeof s->helo, c->arg, strlen(c->arg));
    policy_sloppy_helo(s);
    if (!policy_helo_check(s, c->verb == CMD_HELO ? "HELO" : "EHLO"))
        return;
    s->helo_kind = c->verb == CMD_HELO ? HELO_SMTP : HELO_ESMTP;
    if (!milters_helo(s))
        verbs_helo_reply(s);
}

void verbs_helo_reply(struct session *s)
{
    const struct conf *conf = s->sd->c;
    if (s->helo_kind == HELO_SMTP) {
        session_reply(s, "250 %s", session_host(s));
        return;
    }
    session_reply(s, "250-%s", session_host(s));
    session_reply(s, "250-PIPELINING");
    session_reply(s, "250-SIZE %llu", (unsigned long long)conf->smtpd.max_message_size);
    session_reply(s, "250-8BITMIME");
    session_reply(s, "250-ENHANCEDSTATUSCODES");
    session_reply(s, "250-DSN");
    session_reply(s, "250-CHUNKING");
    session_reply(s, "250-SMTPUTF8");
    session_reply(s, "250-ETRN");
    if (s->sd->tls && !session_tls_active(s)) /* RFC 3207 §4.2: not once under TLS */
        session_reply(s, "250-STARTTLS");
    if (s->sd->auth && (session_tls_active(s) || conf->smtpd.auth.allow_cleartext))
        session_reply(s, "250-AUTH PLAIN LOGIN");
    if (conf->smtpd.deliverby > 0)
        session_reply(s, "250-DELIVERBY %llu",
                      (unsigned long long)(conf->smtpd.deliverby + 999) / 1000);
    session_reply(s, "250 HELP");
}

/* Replies to a refused ESMTP parameter. */
static void verbs_param_error(struct session *s, int rc, const char *name)
{
    char n[64];
    log_sanitize(n, sizeof n, name ? name : "", name ? strlen(name) : 0);
    if (rc == ESMTP_ERR_UNKNOWN)
        session_reply(s, "555 5.5.4 Unsupported option: %s", n);
    else
        session_reply(s, "501 5.5.4 Bad %s parameter", n);
}

/* Checks the MAIL parameters' values against the limits; replies and returns false when
 * one is refused. */
static bool verbs_mail_limits(struct session *s, const struct esmtp_mail *m)
{
    const struct conf *c = s->sd->c;
    uint64_t min_by = (c->smtpd.deliverby + 999) / 1000;
    if (m->has_size && m->size > c->smtpd.max_message_size) {
        session_reply(s, "552 5.3.4 Message size exceeds fixed limit");
        return false;
    }
    if (m->has_by && m->by_mode == 'R' && (uint64_t)m->by_seconds < min_by) {
        session_reply(s, "501 5.5.4 BY time below the minimum of %llu seconds",
                      (unsigned long long)min_by);
        return false;
    }
    if (!policy_space_ok(s->sd, m->has_size ? m->size : 0)) {
        log_warn("smtpd: spool %s below min_free_space: MAIL refused", c->spool);
        session_reply(s, "452 4.3.1 Insufficient system storage");
        return false;
    }
    return true;
}

/* Stores the accepted MAIL parameters in the transaction. */
static void verbs_mail_store(struct session *s, const struct cmd *c, const struct esmtp_mail *m)
{
    s->txn.id = qid_next(); /* the queue id from MAIL on: milters get it as i (milters.c) */
    s->txn.sender = xstrdup(c->addr);
    s->txn.envid = xstrdup(m->envid);
    s->smtputf8 = m->smtputf8;
    s->txn.flags = (m->smtputf8 ? MSG_F_SMTPUTF8 : 0) |
                   (m->body == ESMTP_BODY_8BITMIME ? MSG_F_8BITMIME : 0) |
                   (m->ret == ESMTP_RET_FULL ? MSG_F_RET_FULL : 0) |
                   (m->ret == ESMTP_RET_HDRS ? MSG_F_RET_HDRS : 0);
    if (m->has_by) {
        s->txn.flags |= (m->by_mode == 'R' ? MSG_F_BY_RETURN : MSG_F_BY_NOTIFY) |
                        (m->by_trace ? MSG_F_BY_TRACE : 0);
        s->by_seconds = m->by_seconds;
    }
    s->mail_size = m->has_size ? m->size : 0;
    snprintf(s->instance, sizeof s->instance, "%llx.%llx", (unsigned long long)clock_wall_ms(),
             (unsigned long long)++s->sd->ninstances);
    s->in_mail = true;
}

/* MAIL FROM: opens a transaction after HELO/EHLO. */
static void verbs_mail(struct session *s, const struct cmd *c)
{
    struct esmtp_mail m;
    const char *bad;
    if (s->helo_kind == HELO_NONE) {
        session_reply(s, "503 5.5.1 Error: send HELO/EHLO first");
        return;
    }
    if (s->in_mail) {
        session_reply(s, "503 5.5.1 Error: nested MAIL command");
        return;
    }
    struct cmd_param params[CMD_PARAMS_MAX];
    size_t nparams = c->nparams;
    memcpy(params, c->params, nparams * sizeof *params);
    if (!authn_mail(s, c->addr, params, &nparams))
        return;
    int rc = esmtp_mail_parse(params, nparams, verbs_allowed(s), &m, &bad);
    if (rc != ESMTP_OK) {
        verbs_param_error(s, rc, bad);
        return;
    }
    if (verbs_8bit(c->addr) && !esmtp_utf8_valid(c->addr, strlen(c->addr))) {
        session_reply(s, "553 5.1.7 Bad sender address syntax");
        return;
    }
    if (verbs_8bit(c->addr) && !m.smtputf8) {
        session_reply(s, "553 5.6.7 SMTPUTF8 is required for a non-ASCII address");
        return;
    }
    if (!verbs_mail_limits(s, &m))
        return;
    verbs_mail_store(s, c, &m);
    policy_mail_begin(s);
    if (!milters_mail(s))
        session_reply(s, "250 2.1.0 Ok");
}

/* Replies to a refused RCPT (logging the NOQUEUE line for rcpt when not NULL) and
 * disconnects a client past max_error_recipients. */
__attribute__((format(printf, 3, 4))) static void verbs_rcpt_refused(struct session *s,
                                                                    const char *rcpt,
                                                                    const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (rcpt) /* NULL: not a reject line, or one logged already */
        session_log_reject(s, "RCPT", text, rcpt);
    verbs_rcpt_refused_reply(s, text);
}

void verbs_rcpt_refused_reply(struct session *s, const char *text)
{
    session_reply(s, "%s", text);
    if (++s->rcpt_errors > s->sd->c->smtpd.max_error_recipients) {
        log_info("client=[%s]: %u refused recipients, disconnecting", s->ip, s->rcpt_errors);
        session_reply(s, "421 4.7.0 %s Error: too many failed recipients", session_host(s));
        s->closing = true;
    }
}

/* Checks a recipient address against syntax, SMTPUTF8 and relaying; replies when refused. */
static bool verbs_rcpt_allowed(struct session *s, const char *addr)
{
    char shown[ADDR_MAX * 4 + 1];
    log_sanitize(shown, sizeof shown, addr, strlen(addr));
    if (verbs_8bit(addr) && !esmtp_utf8_valid(addr, strlen(addr))) {
        verbs_rcpt_refused(s, shown, "553 5.1.3 <%s>: Bad recipient address syntax", shown);
        return false;
    }
    if (verbs_8bit(addr) && !s->smtputf8) {
        verbs_rcpt_refused(s, shown, "553 5.6.7 <%s>: SMTPUTF8 is required for a non-ASCII address",
                           shown);
        return false;
    }
    char reply[POLICY_REPLY_MAX];
    int rc = policy_rcpt_check(s, addr, reply, sizeof reply);
    if (rc < 0)
        verbs_rcpt_refused(s, NULL, "%s", reply); /* policy.c logged its reject line */
    return rc > 0;
}

/* An unqualified recipient gets a domain at acceptance (Postfix's append_at_myorigin):
 * bare "postmaster" (RFC 5321 §4.5.1) this host's name, any other myorigin. */
static char *verbs_qualify(const struct conf *c, const char *addr)
{
    if (strchr(addr, '@'))
        return xstrdup(addr);
    const char *d = strcasecmp(addr, "postmaster") == 0 ? c->hostname : conf_myorigin(c);
    size_t n = strlen(addr) + strlen(d) + 2;
    char *q = xmalloc(n);
    snprintf(q, n, "%s@%s", addr, d);
    return q;
}

/* True when a source route's host is this host (hostname or a local domain): the route
 * ends here (RFC 5321 Appendix C: a host removes itself from the route). */
static bool verbs_route_is_us(const struct conf *c, const char *host)
{
    if (c->hostname && strcasecmp(host, c->hostname) == 0)
        return true;
    for (size_t i = 0; i < c->smtpd.nlocal_domains; i++)
        if (strcasecmp(host, c->smtpd.local_domains[i]) == 0)
            return true;
    return false;
}

/* The recipient as stored: "@relay:local@domain" for a source route honoured (docs/
 * routing.md: smtpd.allow_source_routes, a trusted or authenticated client, a relay that is
 * not us), else the address without its route (RFC 5321 §4.1.1.3: servers may ignore
 * it; relaying was checked on that address). NULL (replied) when the route does not fit. */
static char *verbs_rcpt_stored(struct session *s, const struct cmd *c)
{
    const struct conf *cf = s->sd->c;
    if (!c->route[0] || !cf->smtpd.allow_source_routes || !(s->trusted || s->authenticated) ||
        verbs_route_is_us(cf, c->route))
        return verbs_qualify(cf, c->addr);
    size_t n = strlen(c->route) + strlen(c->addr) + 3;
    if (n > ADDR_MAX + 1) {
        session_reply(s, "553 5.1.3 Error: source route too long");
        return NULL;
    }
    char *q = xmalloc(n);
    snprintf(q, n, "@%s:%s", c->route, c->addr);
    return q;
}

/* RCPT TO: adds a recipient when the client may relay and the limit allows. */
static void verbs_rcpt(struct session *s, const struct cmd *c)
{
    struct esmtp_rcpt r;
    const char *bad;
    if (!s->in_mail) {
        session_reply(s, "503 5.5.1 Error: need MAIL command");
        return;
    }
    if (s->content_started) {
        session_reply(s, "503 5.5.1 Error: RCPT after BDAT");
        return;
    }
    int rc = esmtp_rcpt_parse(c->params, c->nparams, verbs_allowed(s), &r, &bad);
    if (rc != ESMTP_OK) {
        verbs_param_error(s, rc, bad);
        return;
    }
    if (!verbs_rcpt_allowed(s, c->addr))
        return;
    if (s->txn.nrcpt >= s->sd->c->smtpd.max_recipients) {
        session_reply(s, "452 4.5.3 Error: too many recipients");
        return;
    }
    char *stored = verbs_rcpt_stored(s, c);
    if (!stored)
        return;
    xgrow(&s->txn.rcpts, &s->rcpt_cap, s->txn.nrcpt, sizeof *s->txn.rcpts);
    struct qrcpt *q = &s->txn.rcpts[s->txn.nrcpt++];
    memset(q, 0, sizeof *q);
    q->addr = stored;
    q->state = RCPT_PENDING;
    q->last_reply = xstrdup("");
    q->notify = r.notify;
    q->orcpt = xstrdup(r.orcpt);
    if (!milters_rcpt(s))
        session_reply(s, "250 2.1.5 Ok");
}

/* True when a transaction with recipients is open; replies 503 otherwise. */
static bool verbs_have_rcpts(struct session *s)
{
    if (!s->in_mail) {
        session_reply(s, "503 5.5.1 Error: need MAIL command");
        return false;
    }
    if (s->txn.nrcpt == 0) {
        session_reply(s, "503 5.5.1 Error: need RCPT command");
        return false;
    }
    return true;
}

/* DATA: starts the content and switches to reading it. */
static void verbs_data(struct session *s)
{
    if (!verbs_have_rcpts(s))
        return;
    if (s->used_bdat) {
        session_reply(s, "503 5.5.1 Error: DATA after BDAT");
        return;
    }
    if (!session_rdns_wait(s, SESSION_DATA))
        content_open(s, SESSION_DATA);
}

/* BDAT size [LAST]: reads the chunk; outside a transaction it is read and dropped. */
static void verbs_bdat(struct session *s, const struct cmd *c)
{
    uint64_t n = 0;
    const char *a = c->arg;
    for (; *a >= '0' && *a <= '9'; a++) {
        unsigned d = (unsigned)(*a - '0');
        n = n > (UINT64_MAX - d) / 10 ? UINT64_MAX : n * 10 + d;
    }
    s->bdat_size = s->bdat_left = n;
    s->bdat_last = *a == ' ';
    s->bdat_discard = !s->in_mail || s->txn.nrcpt == 0;
    s->used_bdat = !s->bdat_discard;
    if (s->bdat_discard || s->content_started)
        s->state = SESSION_BDAT;
    else if (!session_rdns_wait(s, SESSION_BDAT))
        content_open(s, SESSION_BDAT);
}

/* ETRN [@]domain (RFC 1985): starts delivery for the domain. */
static void verbs_etrn(struct session *s, const struct cmd *c)
{
    const char *d = c->arg;
    bool sub = d[0] == '@';
    char dom[256];
    if (s->in_mail) {
        session_reply(s, "503 5.5.1 Error: ETRN inside a mail transaction");
        return;
    }
    if (d[0] == '#') {
        session_reply(s, "458 4.5.0 Unable to queue messages for node %.200s", d);
        return;
    }
    d += sub;
    size_t len = strlen(d);
    if (len == 0 || len >= sizeof dom || !addr_domain_valid(d, len)) {
        verbs_bad_args(s, CMD_ETRN);
        return;
    }
    for (size_t i = 0; i <= len; i++)
        dom[i] = (char)((d[i] >= 'A' && d[i] <= 'Z') ? d[i] + 32 : d[i]);
    if (!s->trusted && !policy_relay_domain(s->sd, dom)) {
        session_reply(s, "459 4.7.1 <%s>: node not allowed", dom);
        return;
    }
    log_info("client=[%s]: ETRN %s%s", s->ip, sub ? "@" : "", dom);
    if (s->sd->etrn)
        s->sd->etrn(s->sd->etrn_arg, dom, sub);
    session_reply(s, "250 2.0.0 Queuing for node %s started", dom);
}

/* HELP: the configured text, one 214 line each. */
static void verbs_help(struct session *s)
{
    const struct conf *c = s->sd->c;
    if (c->smtpd.nhelp == 0) {
        session_reply(s, "214 2.0.0 No help available");
        return;
    }
    for (size_t i = 0; i < c->smtpd.nhelp; i++)
        session_reply(s, "214%c2.0.0 %s", i + 1 < c->smtpd.nhelp ? '-' : ' ', c->smtpd.help[i]);
}

/* VRFY/EXPN: disabled; 252 (cannot verify, will try) or 502 as configured. */
static void verbs_vrfy(struct session *s, enum cmd_verb v)
{
    unsigned code = v == CMD_VRFY ? s->sd->c->smtpd.vrfy_code : s->sd->c->smtpd.expn_code;
    if (code < 500)
        session_reply(s, "252 2.5.0 Cannot %s user, but will accept message and attempt delivery",
                      v == CMD_VRFY ? "VRFY" : "EXPN");
    else
        session_reply(s, "502 5.5.1 Error: %s is disabled", v == CMD_VRFY ? "VRFY" : "EXPN");
}

/* Runs the handler of a parsed command. */
static void verbs_dispatch(struct session *s, const struct cmd *c)
{
    if (s->milter_deny && (c->verb == CMD_HELO || c->verb == CMD_EHLO || c->verb == CMD_MAIL ||
                           c->verb == CMD_ETRN)) { /* a milter refused the connection */
        session_reply(s, "%s", s->milter_deny);
        return;
    }
    switch (c->verb) {
    case CMD_HELO:
    case CMD_EHLO: verbs_helo(s, c); break;
    case CMD_MAIL: verbs_mail(s, c); break;
    case CMD_RCPT: verbs_rcpt(s, c); break;
    case CMD_DATA: verbs_data(s); break;
    case CMD_BDAT: verbs_bdat(s, c); break;
    case CMD_RSET:
        session_txn_reset(s);
        session_reply(s, "250 2.0.0 Ok");
        break;
    case CMD_NOOP: session_reply(s, "250 2.0.0 Ok"); break;
    case CMD_QUIT:
        session_reply(s, "221 2.0.0 Bye");
        s->closing = true;
        break;
    case CMD_VRFY:
    case CMD_EXPN: verbs_vrfy(s, c->verb); break;
    case CMD_HELP: verbs_help(s); break;
    case CMD_ETRN: verbs_etrn(s, c); break;
    case CMD_STARTTLS: starttls_command(s); break;
    case CMD_AUTH: authn_command(s, c->arg, strlen(c->arg)); break; /* not reached: see below */
    case CMD_UNKNOWN: session_reply(s, "500 5.5.1 Error: command not recognized"); break;
    }
}

void verbs_command(struct session *s, const char *line, size_t len)
{
    struct cmd c;
    const struct addr_opts o = {.null_ok = true, .sloppy = s->sloppy,
                                .utf8 = s->helo_kind == HELO_ESMTP};
    if (authn_is_auth(line, len)) { /* up to SASL_LINE_MAX octets: not cmd_parse's */
        authn_command(s, len > 5 ? line + 5 : "", len > 5 ? len - 5 : 0);
        return;
    }
    int r = cmd_parse(line, len, &o, &c);
    s->cur_line = line; /* policy checks may park the line (SESSION_POLICY) */
    s->cur_len = len;
    if (r == CMD_ERR_TOOLONG) {
        session_reply(s, "500 5.5.2 line too long");
        return;
    }
    if (r == CMD_ERR_ARGS) {
        if (c.verb == CMD_BDAT) { /* the chunk cannot be found: the session is lost */
            session_reply(s, "501 5.5.4 Syntax: BDAT chunk-size [LAST]");
            session_reply(s, "421 4.5.0 %s Error: lost synchronisation", session_host(s));
            s->closing = true;
            return;
        }
        if (c.verb == CMD_RCPT && s->in_mail) {
            verbs_rcpt_refused(s, NULL, "501 5.5.4 Syntax: RCPT TO:<address> [parameters]");
            return;
        }
        verbs_bad_args(s, c.verb);
        return;
    }
    if (r != CMD_OK) {
        session_reply(s, "500 5.5.1 Error: command not recognized");
        return;
    }
    verbs_dispatch(s, &c);
}
