/* policy: the inbound server's configuration-dependent decisions (contract in session.h).
 *
 * Relaying (seed 002 smtp-policy: fulltrustnet, relaytarget, localnames): a client in
 * trusted_networks, or one that authenticated (AUTH, any listener), may send to any address; any other client only to the hostname, to
 * local_domains, to relay_domains, or to "postmaster" without a domain (RFC 5321 §4.5.1).
 * Domains compare case-insensitively and exactly (a subdomain is not included).
 * Sloppy syntax (seed "veR" flags without R): a client in sloppy_networks, or whose HELO/EHLO
 * argument matches a sloppy_helo glob (fnmatch, case-insensitive), may omit the angle
 * brackets of MAIL FROM / RCPT TO and put extra spaces around the path and parameters.
 * Greeting: hdr220 with %H hostname, %V version, %T current time (RFC 5322 form), %% '%';
 * %I and %X (ident, language) expand to nothing; control bytes never get through.
 * Space: statvfs(spool) must show min_free_space + the incoming size available.
 * Connections: max_connections in all, max_connections_per_ip from one address; refused
 * sessions (being closed with a 421) are not counted. */
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/statvfs.h>

#include "conf/conf.h"
#include "core/log.h"
#include "core/qid.h"
#include "core/xalloc.h"
#include "policy/policy.h"
#include "smtpd/session.h"

/* True when domain equals one of the n domains (case-insensitive). */
static bool policy_domain_in(char *const *list, size_t n, const char *domain)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(list[i], domain) == 0)
            return true;
    return false;
}

bool policy_relay_domain(const struct smtpd *sd, const char *domain)
{
    return policy_domain_in(sd->c->smtpd.relay_domains, sd->c->smtpd.nrelay_domains, domain);
}

bool policy_rcpt_ok(const struct session *s, const char *addr)
{
    const struct conf *c = s->sd->c;
    if (s->trusted || s->authenticated)
        return true;
    if (!strchr(addr, '@'))
        return strcasecmp(addr, "postmaster") == 0;
    const char *d = addr_domain(addr);
    return (c->hostname && strcasecmp(d, c->hostname) == 0) ||
           policy_domain_in(c->smtpd.local_domains, c->smtpd.nlocal_domains, d) ||
           policy_relay_domain(s->sd, d);
}

void policy_sloppy_helo(struct session *s)
{
    const struct conf *c = s->sd->c;
    s->sloppy = s->sloppy_net;
    for (size_t i = 0; !s->sloppy && i < c->smtpd.nsloppy_helo; i++)
        s->sloppy = fnmatch(c->smtpd.sloppy_helo[i], s->helo, FNM_CASEFOLD) == 0;
}

/* Appends the text t to buf (at *o, len bytes), dropping control bytes. */
static void policy_put(char *buf, size_t len, size_t *o, const char *t)
{
    for (; *t && *o + 1 < len; t++)
        if ((unsigned char)*t >= ' ' && *t != 0x7f)
            buf[(*o)++] = *t;
    buf[*o] = '\0';
}

void policy_greeting(const struct smtpd *sd, char *buf, size_t len)
{
    const char *t = sd->c->smtpd.hdr220 ? sd->c->smtpd.hdr220 : "%H ESMTP sluice";
    const char *host = sd->c->hostname ? sd->c->hostname : "localhost";
    char date[64], one[2] = {0, 0};
    size_t o = 0;
    buf[0] = '\0';
    for (; *t; t++) {
        if (*t != '%' || t[1] == '\0') {
            one[0] = *t;
            policy_put(buf, len, &o, one);
            continue;
        }
        switch (*++t) {
        case 'H': policy_put(buf, len, &o, host); break;
        case 'V': policy_put(buf, len, &o, sd->version); break;
        case 'T':
            content_date(clock_wall_ms(), date, sizeof date);
            policy_put(buf, len, &o, date);
            break;
        case '%': policy_put(buf, len, &o, "%"); break;
        default: break; /* %I, %X and unknown tags: nothing */
        }
    }
}

bool policy_space_ok(const struct smtpd *sd, uint64_t extra)
{
    struct statvfs v;
    if (sd->c->smtpd.min_free_space == 0 && extra == 0)
        return true;
    if (statvfs(sd->c->spool, &v) < 0) {
        log_warn("smtpd: statvfs %s: %m", sd->c->spool);
        return true; /* the queue write will tell */
    }
    uint64_t avail = (uint64_t)v.f_bavail * (uint64_t)v.f_frsize;
    return avail >= extra && avail - extra >= sd->c->smtpd.min_free_space;
}

const char *policy_protocol(const struct session *s)
{
    if (s->helo_kind != HELO_ESMTP)
        return "SMTP"; /* RFC 3848 registers no "S" form of plain SMTP */
    static const char *const names[2][4] = {{"ESMTP", "ESMTPS", "ESMTPA", "ESMTPSA"},
                                            {"UTF8SMTP", "UTF8SMTPS", "UTF8SMTPA", "UTF8SMTPSA"}};
    return names[s->smtputf8][session_tls_active(s) + 2 * s->authenticated];
}

const char *policy_connection_limit(const struct smtpd *sd, const struct session *s)
{
    size_t total = 0, same = 0;
    for (const struct session *x = sd->sessions; x; x = x->next) {
        if (x->refused)
            continue;
        total++;
        same += strcmp(x->ip, s->ip) == 0;
    }
    if (total >= sd->c->smtpd.max_connections)
        return "too many connections";
    /* Trusted clients (relay hosts, local injectors) are exempt, like Postfix's
     * smtpd_client_event_limit_exceptions = $mynetworks. */
    if (!s->trusted && same >= sd->c->smtpd.max_connections_per_ip)
        return "too many connections from your address";
    return NULL;
}

/* ---- inbound policy (src/policy/): HELO table, map, block lists, policy servers ---- */

/* Logs a refusal as Postfix does, so log watchers (fail2ban's postfix filter) match it:
 * "NOQUEUE: reject: VERB from NAME[IP]: REPLY; from=<S> to=<R> proto=P helo=<H>", then the
 * rule that refused. */
static void policy_log_reject_id(struct session *s, const char *id, const char *verb,
                                 const char *reply, const char *rcpt, const char *rule)
{
    s->sd->st.rejected++;
    char from[ADDR_MAX * 4 + 1] = "", to[ADDR_MAX * 4 + 1] = "";
    const char *snd = s->txn.sender ? s->txn.sender : "";
    log_sanitize(from, sizeof from, snd, strlen(snd));
    if (rcpt)
        log_sanitize(to, sizeof to, rcpt, strlen(rcpt));
    log_mail("smtpd", "%s: reject: %s from %s[%s]: %s; %s%s%s%s%s%sproto=%s helo=<%s> rule=<%s>",
             id, verb, s->rdns, s->ip, reply, s->in_mail ? "from=<" : "", s->in_mail ? from : "",
             s->in_mail ? "> " : "", rcpt ? "to=<" : "", rcpt ? to : "", rcpt ? "> " : "",
             policy_protocol(s), s->helo, rule);
}

/* The same before a queue id exists. */
static void policy_log_reject(struct session *s, const char *verb, const char *reply,
                              const char *rcpt, const char *rule)
{
    policy_log_reject_id(s, "NOQUEUE", verb, reply, rcpt, rule);
}

bool policy_helo_check(struct session *s, const char *verb)
{
    struct policy_verdict v;
    bool strict = true;
    if (!s->sd->policy || policy_helo(s->sd->policy, s->helo, &strict, &v) == 0)
        return true;
    if (v.kind != POLICY_REFUSE) {
        s->sloppy = s->sloppy || !strict;
        return true;
    }
    char reply[POLICY_REPLY_MAX];
    snprintf(reply, sizeof reply, "%u %s %s", v.code, v.status, v.text);
    s->helo_kind = verb[0] == 'E' ? HELO_ESMTP : HELO_SMTP; /* proto= of the log line */
    policy_log_reject(s, verb, reply, NULL, v.rule);
    session_reply(s, "%s", reply);
    s->helo_kind = HELO_NONE;
    if (v.code == 421)
        s->closing = true;
    return false;
}

/* Parks the current command until the checks (or the reverse lookup) are over. */
static int policy_park(struct session *s, bool rdns)
{
    s->park = xmalloc(s->cur_len + 1);
    memcpy(s->park, s->cur_line, s->cur_len);
    s->park[s->cur_len] = '\0';
    s->park_len = s->cur_len;
    s->park_rdns = rdns;
    s->state = SESSION_POLICY;
    return 0;
}

/* The asynchronous checks are over: run the parked RCPT again. */
static void policy_on_checked(void *arg)
{
    session_policy_resume(arg);
}

/* Turns a refusal into the reply and the log line. */
static int policy_refused(struct session *s, const struct policy_verdict *v, const char *addr,
                          char *reply, size_t len)
{
    snprintf(reply, len, "%u %s %s", v->code, v->status, v->text);
    policy_log_reject(s, "RCPT", reply, addr, v->rule);
    return -1;
}

/* HOLD, DISCARD, REDIRECT of an accepted RCPT: they apply to the whole message (as
 * Postfix's), logged in Postfix's shape ("NOQUEUE: hold: RCPT from ...: <rcpt>: Recipient
 * address triggers HOLD action"). */
static void policy_actions(struct session *s, const struct policy_verdict *v, const char *addr)
{
    const char *what = v->discard ? "discard" : v->hold && v->redirect[0] ? "hold, redirect"
                       : v->hold                                       ? "hold"
                       : v->redirect[0]                                ? "redirect"
                                                                       : NULL;
    if (!what)
        return;
    char to[ADDR_MAX * 4 + 1], from[ADDR_MAX * 4 + 1];
    const char *snd = s->txn.sender ? s->txn.sender : "";
    log_sanitize(to, sizeof to, addr, strlen(addr));
    log_sanitize(from, sizeof from, snd, strlen(snd));
    log_mail("smtpd", "NOQUEUE: %s: RCPT from %s[%s]: <%s>: Recipient address triggers %s action; "
             "from=<%s> to=<%s> proto=%s helo=<%s> rule=<%s>", what, s->rdns, s->ip, to, what,
             from, to, policy_protocol(s), s->helo, v->action_rule);
    s->pol_hold |= v->hold;
    s->pol_discard |= v->discard;
    if (v->redirect[0]) {
        free(s->pol_redirect);
        s->pol_redirect = xstrdup(v->redirect);
    }
}

int policy_rcpt_check(struct session *s, const char *addr, char *reply, size_t len)
{
    char shown[ADDR_MAX * 4 + 1];
    struct policy_verdict mv = {0}, av;
    const struct tls_info *ti = session_tls_info(s);
    struct policy_req r = {
        .ip = s->ip, .name = s->rdns, .helo = s->helo, .proto = policy_protocol(s),
        .sender = s->txn.sender ? s->txn.sender : "", .rcpt = addr, .instance = s->instance,
        .tls_proto = ti && ti->active ? ti->version : "",
        .tls_cipher = ti && ti->active ? ti->cipher : "", .nrcpt = (unsigned)s->txn.nrcpt,
        .size = s->mail_size};
    if (s->pol && s->rdns_pending && policy_wants_rdns(s->sd->policy))
        return policy_park(s, true);
    if (s->pol) {
        policy_map_rcpt(s->pol, (const struct sockaddr *)&s->peer, &r, &mv);
        if (mv.kind == POLICY_REFUSE)
            return policy_refused(s, &mv, addr, reply, len);
    }
    if (!mv.relay && !policy_rcpt_ok(s, addr)) {
        log_sanitize(shown, sizeof shown, addr, strlen(addr));
        snprintf(reply, len, "554 5.7.1 <%s>: Relay access denied", shown);
        policy_log_reject(s, "RCPT", reply, addr, "relay");
        return -1;
    }
    if (!s->pol || mv.kind == POLICY_ACCEPT)
        return 1;
    if (policy_async_rcpt(s->pol, &r, policy_on_checked, s, &av) == 0)
        return policy_park(s, false);
    if (av.kind == POLICY_REFUSE)
        return policy_refused(s, &av, addr, reply, len);
    policy_actions(s, &av, addr);
    if (av.prepend[0]) { /* the message's first header lines (PREPEND) */
        size_t o = s->prepend ? strlen(s->prepend) : 0, n = strlen(av.prepend);
        if (o + n < 4096) {
            s->prepend = xrealloc(s->prepend, o + n + 1);
            memcpy(s->prepend + o, av.prepend, n + 1);
        }
    }
    return 1;
}

void policy_mail_begin(struct session *s)
{
    if (s->pol)
        policy_rhs_begin(s->pol, s->txn.sender ? s->txn.sender : "", s->rdns, s->helo);
}

/* The end-of-data servers answered: the content goes on (content.c). */
static void policy_on_data_checked(void *arg)
{
    content_policy_resume(arg);
}

/* HOLD, DISCARD, REDIRECT answered at the end of DATA: logged in Postfix's shape, marked
 * for content_policy_actions(). */
static void policy_data_actions(struct session *s, const struct policy_verdict *v,
                                const char *qid)
{
    const char *what = v->discard ? "discard" : v->hold && v->redirect[0] ? "hold, redirect"
                       : v->hold                                       ? "hold"
                       : v->redirect[0]                                ? "redirect"
                                                                       : NULL;
    if (!what)
        return;
    log_mail("smtpd", "%s: %s: END-OF-MESSAGE from %s[%s]: <END-OF-MESSAGE>: End-of-data "
             "triggers %s action; proto=%s helo=<%s> rule=<%s>", qid, what, s->rdns, s->ip,
             what, policy_protocol(s), s->helo, v->action_rule);
    s->pol_hold |= v->hold;
    s->pol_discard |= v->discard;
    if (v->redirect[0]) {
        free(s->pol_redirect);
        s->pol_redirect = xstrdup(v->redirect);
    }
}

int policy_data_check(struct session *s, char *prepend, size_t plen)
{
    char qid[QID_TEXT_LEN + 1], reply[POLICY_REPLY_MAX];
    struct policy_verdict v;
    const struct tls_info *ti = session_tls_info(s);
    prepend[0] = '\0';
    if (!s->pol)
        return 1;
    qid_to_text(s->txn.id, qid);
    struct policy_req r = {
        .ip = s->ip, .name = s->rdns, .helo = s->helo, .proto = policy_protocol(s),
        .sender = s->txn.sender ? s->txn.sender : "",
        .rcpt = s->txn.nrcpt == 1 ? s->txn.rcpts[0].addr : "", /* as Postfix: one only */
        .instance = s->instance, .tls_proto = ti && ti->active ? ti->version : "",
        .tls_cipher = ti && ti->active ? ti->cipher : "", .nrcpt = (unsigned)s->txn.nrcpt,
        .size = content_size(s), .state = "END-OF-MESSAGE", .queue_id = qid};
    if (policy_async_data(s->pol, &r, policy_on_data_checked, s, &v) == 0) {
        s->state = SESSION_POLICY; /* input is not read until the servers answered */
        return 0;
    }
    if (v.kind == POLICY_REFUSE) {
        snprintf(reply, sizeof reply, "%u %s %s", v.code, v.status, v.text);
        policy_log_reject_id(s, qid, "END-OF-MESSAGE", reply, NULL, v.rule);
        session_reply(s, "%s", reply);
        session_txn_reset(s);
        s->state = SESSION_CMD;
        return -1;
    }
    policy_data_actions(s, &v, qid);
    snprintf(prepend, plen, "%s", v.prepend);
    return 1;
}
