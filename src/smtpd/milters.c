/* milters: smtpd.milters on an SMTP session (contract in session.h; docs/milter.md).
 *
 * The session pauses in SESSION_MILTER (input not read) while the milters (milter/chain.h)
 * answer, as it pauses in SESSION_POLICY for the policy servers: before the greeting
 * (connect), after HELO/EHLO, MAIL and RCPT passed their own checks, and after the content
 * passed its own (headers, EOH, body, EOM; the modifications are applied to the message
 * before it is queued, and DKIM signing comes after them). Replies as Postfix gives them:
 * a milter's own SMFIR_REPLYCODE text, else "550 5.7.1 Command rejected" (reject) or
 * "451 4.7.1 Service unavailable - try again later" (tempfail; also a milter that fails
 * with milter_default_action tempfail). A connect or HELO refusal answers every later
 * HELO/EHLO, MAIL and ETRN with it. Macros sent (only those a milter asks for, when it
 * lists them): connect j _ v {daemon_name} {daemon_addr} {daemon_port} {if_name} {if_addr}
 * {client_addr} {client_port} {client_name} {client_ptr} {client_connections}; HELO
 * {tls_version} {cipher} {cipher_bits} {cert_subject} {cert_issuer} (under TLS); MAIL
 * i {auth_type} {auth_authen} (after AUTH) {auth_author} (MAIL's AUTH=, decoded, unless
 * <>) {mail_mailer} {mail_host} {mail_addr}; RCPT i {rcpt_mailer} {rcpt_host} {rcpt_addr};
 * DATA, EOH and EOM i. i is the queue id, given to the transaction at MAIL (verbs.c) as
 * Postfix does with smtpd_delay_open_until_valid_rcpt = no, so every step has it. A
 * milter's refused modification is logged with its reason after the milter's name. */
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <event2/bufferevent.h>

#include "conf/conf.h"
#include "core/log.h"
#include "core/qid.h"
#include "core/xalloc.h"
#include "milter/chain.h"
#include "proto/cidr.h"
#include "smtpd/session.h"

enum { MILTERS_MACROS_MAX = 16, MILTERS_VALUE_MAX = 512 };

/* The macros of one step: names and the values' storage. */
struct milters_mac {
    const char *names[MILTERS_MACROS_MAX];
    const char *values[MILTERS_MACROS_MAX];
    char buf[MILTERS_MACROS_MAX][MILTERS_VALUE_MAX];
    size_t n;
};

/* Adds one macro (the value is copied). */
__attribute__((format(printf, 3, 4))) static void milters_put(struct milters_mac *m,
                                                              const char *name, const char *fmt, ...)
{
    if (m->n == MILTERS_MACROS_MAX)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->buf[m->n], MILTERS_VALUE_MAX, fmt, ap);
    va_end(ap);
    m->names[m->n] = name;
    m->values[m->n] = m->buf[m->n];
    m->n++;
}

/* The chain's view of the macros. */
static struct milter_macros milters_view(const struct milters_mac *m)
{
    return (struct milter_macros){m->names, m->values, m->n};
}

/* The SMTP reply of a refusing verdict. */
static void milters_reply(const struct milter_chain_result *r, char *buf, size_t len)
{
    if (r->reply[0])
        snprintf(buf, len, "%s", r->reply);
    else if (r->verdict == MILTER_REJECT)
        snprintf(buf, len, "550 5.7.1 Command rejected");
    else
        snprintf(buf, len, "451 4.7.1 Service unavailable - try again later");
}

/* Logs a refusal as Postfix's "milter-reject" line. */
static void milters_log(struct session *s, const char *id, const char *what, const char *verb,
                        const char *reply, const struct milter_chain_result *r)
{
    char from[ADDR_MAX * 4 + 1] = "";
    const char *snd = s->txn.sender ? s->txn.sender : "";
    log_sanitize(from, sizeof from, snd, strlen(snd));
    log_mail("smtpd", "%s: %s: %s from %s[%s]: %s; from=<%s> proto=%s helo=<%s> milter=<%s>%s%s",
             id, what, verb, s->rdns, s->ip, reply, from, policy_protocol(s), s->helo, r->name,
             r->failed ? " failed: " : r->why[0] ? " " : "", r->why);
}

/* Leaves SESSION_MILTER; false when the session is going away (nothing more to do). */
static bool milters_resume(struct session *s)
{
    s->state = SESSION_CMD;
    return s->bev && !s->closing;
}

/* Goes on with the input after a step's reply. */
static void milters_run(struct session *s)
{
    if (s->bev && !s->in_process)
        session_run(s);
}

/* ---- connect and HELO --------------------------------------------------------------------- */

/* Answers a connect or HELO refusal: kept for every later HELO, MAIL, ETRN. */
static void milters_deny(struct session *s, const struct milter_chain_result *r, const char *verb)
{
    char reply[600];
    milters_reply(r, reply, sizeof reply);
    milters_log(s, "NOQUEUE", "milter-reject", verb, reply, r);
    free(s->milter_deny);
    s->milter_deny = xstrdup(reply);
}

/* The connect step was answered: greet. */
static void milters_on_connect(void *arg, const struct milter_chain_result *r)
{
    struct session *s = arg;
    s->milter_connected = true;
    if (!milters_resume(s))
        return;
    if (r->verdict == MILTER_REJECT || r->verdict == MILTER_TEMPFAIL)
        milters_deny(s, r, "CONNECT");
    session_greet(s);
    milters_run(s);
}

/* The connect macros. */
static void milters_connect_macros(struct session *s, struct milters_mac *m)
{
    struct sockaddr_storage me;
    socklen_t ml = sizeof me;
    char ip[SMTPD_IP_MAX] = "";
    uint16_t port = 0, cport = 0;
    if (getsockname(bufferevent_getfd(s->bev), (struct sockaddr *)&me, &ml) == 0) {
        cidr_sockaddr_to_text((struct sockaddr *)&me, ip, sizeof ip);
        port = ntohs(me.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&me)->sin6_port
                                              : ((struct sockaddr_in *)&me)->sin_port);
    }
    cport = ntohs(s->peer.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&s->peer)->sin6_port
                                                : ((struct sockaddr_in *)&s->peer)->sin_port);
    size_t same = 0;
    for (const struct session *x = s->sd->sessions; x; x = x->next)
        same += strcmp(x->ip, s->ip) == 0;
    milters_put(m, "j", "%s", session_host(s));
    milters_put(m, "_", "%s [%s]", s->rdns, s->ip);
    milters_put(m, "v", "%s", s->sd->version);
    milters_put(m, "{daemon_name}", "%s", session_host(s));
    milters_put(m, "{daemon_addr}", "%s", ip);
    milters_put(m, "{daemon_port}", "%u", (unsigned)port);
    milters_put(m, "{if_name}", "%s", session_host(s));
    milters_put(m, "{if_addr}", "%s", ip);
    milters_put(m, "{client_addr}", "%s", s->ip);
    milters_put(m, "{client_port}", "%u", (unsigned)cport);
    milters_put(m, "{client_name}", "%s", s->rdns);
    milters_put(m, "{client_ptr}", "%s", s->rdns);
    milters_put(m, "{client_connections}", "%zu", same);
}

bool milters_connect(struct session *s)
{
    if (!s->milters || s->milter_connected)
        return false;
    struct milters_mac m = {0};
    milters_connect_macros(s, &m);
    uint8_t buf[1024];
    struct milter_out o = {buf, sizeof buf, 0, 0, false};
    size_t len = milter_fmt_connect(&o, s->rdns, s->v6 ? '6' : '4',
                                    ntohs(s->peer.ss_family == AF_INET6
                                              ? ((struct sockaddr_in6 *)&s->peer)->sin6_port
                                              : ((struct sockaddr_in *)&s->peer)->sin_port),
                                    s->ip);
    struct milter_macros v = milters_view(&m);
    if (len == 0 || milter_chain_step(s->milters, SMFIC_CONNECT, &v, buf, len,
                                      milters_on_connect, s) < 0)
        return false;
    s->state = SESSION_MILTER;
    return true;
}

/* The HELO step was answered: the HELO/EHLO reply, or the refusal. */
static void milters_on_helo(void *arg, const struct milter_chain_result *r)
{
    struct session *s = arg;
    if (!milters_resume(s))
        return;
    if (r->verdict == MILTER_REJECT || r->verdict == MILTER_TEMPFAIL) {
        milters_deny(s, r, s->helo_kind == HELO_ESMTP ? "EHLO" : "HELO");
        s->helo_kind = HELO_NONE;
        session_reply(s, "%s", s->milter_deny);
    } else {
        verbs_helo_reply(s);
    }
    milters_run(s);
}

bool milters_helo(struct session *s)
{
    if (!s->milters)
        return false;
    struct milters_mac m = {0};
    const struct tls_info *t = session_tls_info(s);
    if (t && t->active) {
        milters_put(&m, "{tls_version}", "%s", t->version);
        milters_put(&m, "{cipher}", "%s", t->cipher);
        milters_put(&m, "{cipher_bits}", "%d", t->bits);
        milters_put(&m, "{cert_subject}", "%s", t->subject);
        milters_put(&m, "{cert_issuer}", "%s", t->issuer);
    }
    const char *argv[1] = {s->helo};
    uint8_t buf[1024];
    struct milter_out o = {buf, sizeof buf, 0, 0, false};
    size_t len = milter_fmt_strings(&o, SMFIC_HELO, argv, 1);
    struct milter_macros v = milters_view(&m);
    if (len == 0 || milter_chain_step(s->milters, SMFIC_HELO, &v, buf, len, milters_on_helo, s) < 0)
        return false;
    s->state = SESSION_MILTER;
    return true;
}

/* ---- MAIL and RCPT ------------------------------------------------------------------------ */

/* "domain" of an address ("" for none). */
static const char *milters_domain(const char *a)
{
    const char *at = strrchr(a, '@');
    return at ? at + 1 : "";
}

/* MAIL was answered: 250, or the transaction is closed with the refusal. */
static void milters_on_mail(void *arg, const struct milter_chain_result *r)
{
    struct session *s = arg;
    char reply[600];
    if (!milters_resume(s))
        return;
    if (r->verdict == MILTER_REJECT || r->verdict == MILTER_TEMPFAIL) {
        milters_reply(r, reply, sizeof reply);
        milters_log(s, "NOQUEUE", "milter-reject", "MAIL", reply, r);
        session_txn_reset(s);
        session_reply(s, "%s", reply);
    } else {
        s->milter_discard |= r->verdict == MILTER_DISCARD;
        session_reply(s, "250 2.1.0 Ok");
    }
    milters_run(s);
}

/* The envelope step (SMFIC_MAIL, SMFIC_RCPT) of address a with its macros. */
static bool milters_envelope(struct session *s, char step, const char *a, struct milters_mac *m,
                             milter_chain_fn cb)
{
    char path[ADDR_MAX + 3];
    snprintf(path, sizeof path, "<%s>", a);
    const char *argv[1] = {path};
    uint8_t buf[1024];
    struct milter_out o = {buf, sizeof buf, 0, 0, false};
    size_t len = milter_fmt_strings(&o, step, argv, 1);
    struct milter_macros v = milters_view(m);
    if (len == 0 || milter_chain_step(s->milters, step, &v, buf, len, cb, s) < 0)
        return false;
    s->state = SESSION_MILTER;
    return true;
}

bool milters_mail(struct session *s)
{
    if (!s->milters)
        return false;
    struct milters_mac m = {0};
    char qid[QID_TEXT_LEN + 1];
    const char *a = s->txn.sender ? s->txn.sender : "";
    milters_put(&m, "i", "%s", qid_to_text(s->txn.id, qid));
    if (s->authenticated) {
        milters_put(&m, "{auth_type}", "%s", sasl_mech_name(s->auth_mech));
        milters_put(&m, "{auth_authen}", "%s", s->auth_user);
    }
    if (s->mail_auth[0])
        milters_put(&m, "{auth_author}", "%s", s->mail_auth);
    milters_put(&m, "{mail_mailer}", "%s", "smtp");
    milters_put(&m, "{mail_host}", "%s", milters_domain(a));
    milters_put(&m, "{mail_addr}", "%s", a);
    return milters_envelope(s, SMFIC_MAIL, a, &m, milters_on_mail);
}

/* RCPT was answered: 250, or the recipient just added is taken back with the refusal. */
static void milters_on_rcpt(void *arg, const struct milter_chain_result *r)
{
    struct session *s = arg;
    char reply[600];
    if (!milters_resume(s))
        return;
    if (r->verdict == MILTER_REJECT || r->verdict == MILTER_TEMPFAIL) {
        struct qrcpt *q = &s->txn.rcpts[--s->txn.nrcpt];
        milters_reply(r, reply, sizeof reply);
        milters_log(s, "NOQUEUE", "milter-reject", "RCPT", reply, r);
        record_rcpt_clear(q);
        verbs_rcpt_refused_reply(s, reply);
    } else {
        s->milter_discard |= r->verdict == MILTER_DISCARD;
        session_reply(s, "250 2.1.5 Ok");
    }
    milters_run(s);
}

bool milters_rcpt(struct session *s)
{
    if (!s->milters || s->txn.nrcpt == 0)
        return false;
    struct milters_mac m = {0};
    char qid[QID_TEXT_LEN + 1];
    const char *a = s->txn.rcpts[s->txn.nrcpt - 1].addr;
    const struct conf *c = s->sd->c;
    const char *d = milters_domain(a);
    bool local = (c->hostname && strcasecmp(d, c->hostname) == 0);
    for (size_t i = 0; !local && i < c->smtpd.nlocal_domains; i++)
        local = strcasecmp(c->smtpd.local_domains[i], d) == 0;
    milters_put(&m, "i", "%s", qid_to_text(s->txn.id, qid));
    milters_put(&m, "{rcpt_mailer}", "%s", local ? "local" : "smtp");
    milters_put(&m, "{rcpt_host}", "%s", d);
    milters_put(&m, "{rcpt_addr}", "%s", a);
    return milters_envelope(s, SMFIC_RCPT, a, &m, milters_on_rcpt);
}

/* ---- the content -------------------------------------------------------------------------- */

/* The milters' verdict on the content: refuse, discard, or go on to the queue. */
static void milters_on_content(void *arg, const struct milter_chain_result *r)
{
    struct session *s = arg;
    struct milter_msg *g = s->milter_msg;
    char qid[QID_TEXT_LEN + 1], reply[600];
    s->milter_msg = NULL;
    s->body = g->text, s->body_len = s->body_cap = g->len;
    qid_to_text(s->txn.id, qid);
    bool held = g->held;
    char reason[256];
    snprintf(reason, sizeof reason, "%s", g->held_reason);
    free(g);
    if (!milters_resume(s)) {
        session_txn_reset(s);
        milters_run(s);
        return;
    }
    if (r->verdict == MILTER_REJECT || r->verdict == MILTER_TEMPFAIL) {
        milters_reply(r, reply, sizeof reply);
        milters_log(s, qid, "milter-reject", "END-OF-MESSAGE", reply, r);
        session_reply(s, "%s", reply);
        session_txn_reset(s);
        milters_run(s);
        return;
    }
    if (held)
        log_mail("cleanup", "%s: milter-hold: END-OF-MESSAGE from %s[%s]: %s; proto=%s helo=<%s>",
                 qid, s->rdns, s->ip, reason[0] ? reason : "quarantined", policy_protocol(s),
                 s->helo);
    s->milter_held = held;
    content_milters_done(s, r->verdict == MILTER_DISCARD || s->milter_discard);
    milters_run(s);
}

bool milters_content(struct session *s)
{
    if (!s->milters)
        return false;
    char qid[QID_TEXT_LEN + 1];
    struct milters_mac m = {0};
    milters_put(&m, "i", "%s", qid_to_text(s->txn.id, qid));
    struct milter_msg *g = xcalloc(1, sizeof *g);
    g->text = s->body, g->len = s->body_len, g->env = &s->txn;
    struct milter_macros v = milters_view(&m);
    size_t max = s->hdr_len + s->sd->c->smtpd.max_message_size + 65536;
    if (milter_chain_message(s->milters, g, max, &v, milters_on_content, s) < 0) {
        free(g);
        return false;
    }
    s->milter_msg = g;
    s->body = NULL; /* the chain owns the text until it answers */
    s->body_len = s->body_cap = 0;
    s->state = SESSION_MILTER;
    return true;
}

/* ---- lifetime ----------------------------------------------------------------------------- */

void milters_start(struct session *s)
{
    const struct conf *c = s->sd->c;
    if (c->smtpd.nmilters == 0)
        return;
    struct milter_conn_opts o;
    milter_opts_from_conf(c, &o);
    s->milters = milter_chain_create(s->sd->base, c->smtpd.milters, c->smtpd.nmilters, &o);
}

void milters_txn_end(struct session *s)
{
    if (s->milters)
        milter_chain_abort(s->milters);
    s->milter_discard = s->milter_held = false;
}

void milters_free(struct session *s)
{
    milter_chain_free(s->milters);
    s->milters = NULL;
    if (s->milter_msg) {
        free(s->milter_msg->text);
        free(s->milter_msg);
        s->milter_msg = NULL;
    }
    free(s->milter_deny);
    s->milter_deny = NULL;
}
