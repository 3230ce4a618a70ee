/* chain: the milters of one session in order (contract in chain.h).
 *
 * One operation at a time: a step (connect, HELO, MAIL, RCPT) or a message. The operation
 * keeps its own copies of the packet and the macros, since it outlives the caller's call.
 * A message is walked milter by milter through phases (DATA, headers, EOH, body, EOM);
 * the header and body packets are built from the message text as it is when that milter's
 * turn comes, so it sees the earlier milters' changes. Results are reported through a
 * zero-delay event: a callback never runs inside milter_chain_step/_message. */
#include "milter/chain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "conf/conf.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "proto/hdr.h"

enum chain_phase { PH_DATA, PH_HEADER, PH_EOH, PH_BODY, PH_EOM };

struct chain_milter {
    struct milter_target t;
    bool bad_target;
    char name[128];
    struct milter_conn *c;
    bool off_session, off_msg; /* accepted: not asked again */
};

struct milter_chain {
    struct event_base *base;
    struct milter_conn_opts opts;
    struct chain_milter *m;
    size_t n, cur;
    bool busy;
    struct event *report;
    milter_chain_fn cb;
    void *arg;
    struct milter_chain_result res;
    /* the operation */
    char step;
    uint8_t *pkt; /* MILTER_PKT_MAX + 4 bytes: the step's packet, or a message's */
    size_t len;
    char **mnames, **mvalues;
    struct milter_macros mac;
    /* a message */
    struct milter_msg *msg;
    size_t max, off, body_off;
    enum chain_phase phase;
};

static void chain_next(struct milter_chain *ch);

/* The report event: runs the operation's callback once. */
static void chain_on_report(evutil_socket_t fd, short what, void *arg)
{
    struct milter_chain *ch = arg;
    (void)fd, (void)what;
    milter_chain_fn cb = ch->cb;
    ch->cb = NULL;
    ch->busy = false;
    if (cb)
        cb(ch->arg, &ch->res);
}

struct milter_chain *milter_chain_create(struct event_base *base, char *const *targets,
                                         size_t n, const struct milter_conn_opts *opts)
{
    struct milter_chain *ch = xcalloc(1, sizeof *ch);
    char err[160];
    ch->base = base;
    ch->opts = *opts;
    ch->n = n;
    ch->m = xcalloc(n ? n : 1, sizeof *ch->m);
    for (size_t i = 0; i < n; i++) {
        snprintf(ch->m[i].name, sizeof ch->m[i].name, "%s", targets[i]);
        ch->m[i].bad_target = milter_target_parse(targets[i], &ch->m[i].t, err, sizeof err) < 0;
    }
    ch->pkt = xmalloc(MILTER_PKT_MAX + 4);
    ch->report = event_new(base, -1, 0, chain_on_report, ch);
    if (!ch->report)
        log_panic("milter: out of memory");
    return ch;
}

/* Frees the operation's macro copies. */
static void chain_macros_clear(struct milter_chain *ch)
{
    for (size_t i = 0; i < ch->mac.n; i++)
        free(ch->mnames[i]), free(ch->mvalues[i]);
    free(ch->mnames), free(ch->mvalues);
    ch->mnames = ch->mvalues = NULL;
    memset(&ch->mac, 0, sizeof ch->mac);
}

/* Keeps a copy of the caller's macros for the operation. */
static void chain_macros_copy(struct milter_chain *ch, const struct milter_macros *m)
{
    chain_macros_clear(ch);
    size_t n = m ? m->n : 0;
    ch->mnames = xcalloc(n + 1, sizeof *ch->mnames);
    ch->mvalues = xcalloc(n + 1, sizeof *ch->mvalues);
    for (size_t i = 0; i < n; i++) {
        ch->mnames[i] = xstrdup(m->names[i]);
        ch->mvalues[i] = xstrdup(m->values[i] ? m->values[i] : "");
    }
    ch->mac = (struct milter_macros){(const char *const *)ch->mnames,
                                     (const char *const *)ch->mvalues, n};
}

/* Ends the operation with verdict v (from milter i's result r, or none). */
static void chain_finish(struct milter_chain *ch, enum milter_verdict v,
                         const struct milter_result *r)
{
    ch->res.verdict = v;
    if (r && v != MILTER_CONTINUE) {
        snprintf(ch->res.name, sizeof ch->res.name, "%s", ch->m[ch->cur].name);
        snprintf(ch->res.reply, sizeof ch->res.reply, "%s", r->reply);
        ch->res.failed = r->failed;
        if (r->failed)
            snprintf(ch->res.why, sizeof ch->res.why, "%s", r->why);
    }
    event_active(ch->report, 0, 0);
}

/* True when milter i is not asked about the current operation. */
static bool chain_skip(const struct milter_chain *ch, size_t i)
{
    return ch->m[i].off_session ||
           (ch->m[i].off_msg && ch->step != SMFIC_CONNECT && ch->step != SMFIC_HELO);
}

/* ---- steps -------------------------------------------------------------------------------- */

/* Milter cur answered the step (or its connection's opening). */
static void chain_on_step(void *arg, const struct milter_result *r)
{
    struct milter_chain *ch = arg;
    struct chain_milter *m = &ch->m[ch->cur];
    bool session = ch->step == SMFIC_CONNECT || ch->step == SMFIC_HELO;
    switch (r->verdict) {
    case MILTER_CONTINUE:
    case MILTER_SKIP: break;
    case MILTER_ACCEPT:
        if (session || r->failed)
            m->off_session = true;
        else
            m->off_msg = true;
        break;
    default: chain_finish(ch, r->verdict, r); return;
    }
    ch->cur++;
    chain_next(ch);
}

/* The connection of milter cur opened (or failed): the step goes to it. */
static void chain_on_open(void *arg, const struct milter_result *r)
{
    struct milter_chain *ch = arg;
    struct chain_milter *m = &ch->m[ch->cur];
    if (r->verdict != MILTER_CONTINUE || r->failed) {
        chain_on_step(ch, r);
        return;
    }
    if (milter_conn_step(m->c, ch->step, &ch->mac, ch->pkt, ch->len, chain_on_step, ch) < 0)
        log_panic("milter %s: step refused while idle", m->name);
}

/* Asks the next milter that is still asked, or ends the step. */
static void chain_next_step(struct milter_chain *ch)
{
    while (ch->cur < ch->n && chain_skip(ch, ch->cur))
        ch->cur++;
    if (ch->cur == ch->n) {
        chain_finish(ch, MILTER_CONTINUE, NULL);
        return;
    }
    struct chain_milter *m = &ch->m[ch->cur];
    struct milter_conn_opts o = ch->opts;
    o.name = m->name;
    if (!m->c) {
        if (m->bad_target) { /* the configuration checks targets: not reached */
            m->off_session = true;
            ch->cur++;
            chain_next_step(ch);
            return;
        }
        m->c = milter_conn_open(ch->base, &m->t, &o, chain_on_open, ch);
        return;
    }
    if (milter_conn_step(m->c, ch->step, &ch->mac, ch->pkt, ch->len, chain_on_step, ch) < 0)
        log_panic("milter %s: step refused while idle", m->name);
}

int milter_chain_step(struct milter_chain *ch, char step, const struct milter_macros *macros,
                      const uint8_t *pkt, size_t len, milter_chain_fn cb, void *arg)
{
    if (ch->busy || len > MILTER_PKT_MAX + 4)
        return -1;
    memset(&ch->res, 0, sizeof ch->res);
    ch->busy = true;
    ch->cb = cb, ch->arg = arg;
    ch->step = step;
    ch->msg = NULL;
    memcpy(ch->pkt, pkt, len);
    ch->len = len;
    chain_macros_copy(ch, macros);
    ch->cur = 0;
    chain_next_step(ch);
    return 0;
}

/* ---- messages ----------------------------------------------------------------------------- */

/* Builds the header packet of the field at text[off] (value without the blanks after the
 * colon, folding as LF as Sendmail and Postfix send it); its size in bytes consumed *used. */
static size_t chain_header_pkt(struct milter_chain *ch, size_t *used)
{
    struct hdr_field f;
    struct milter_msg *g = ch->msg;
    *used = hdr_next(g->text, g->len, ch->off, &f);
    if (*used == 0)
        return 0;
    char name[256];
    size_t nl = f.namelen < sizeof name - 1 ? f.namelen : sizeof name - 1;
    memcpy(name, f.name, nl);
    name[nl] = '\0';
    const char *v = f.name + f.namelen + 1, *end = f.raw + f.rawlen;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    char *val = xmalloc((size_t)(end - v) + 1);
    size_t n = 0;
    for (; v < end; v++)
        if (*v != '\r')
            val[n++] = *v;
    while (n > 0 && val[n - 1] == '\n')
        n--;
    val[n] = '\0';
    struct milter_out o = {ch->pkt, MILTER_PKT_MAX + 4, 0, 0, false};
    size_t len = milter_fmt_header(&o, name, val);
    free(val);
    return len;
}

/* Builds the packet of the current phase into ch->pkt; 0 when the phase has nothing left. */
static size_t chain_phase_pkt(struct milter_chain *ch, char *step, size_t *used)
{
    struct milter_out o = {ch->pkt, MILTER_PKT_MAX + 4, 0, 0, false};
    size_t left = ch->msg->len - ch->off;
    *used = 0;
    switch (ch->phase) {
    case PH_DATA: *step = SMFIC_DATA; return milter_fmt_data(&o, SMFIC_DATA, NULL, 0);
    case PH_HEADER: *step = SMFIC_HEADER; return chain_header_pkt(ch, used);
    case PH_EOH: *step = SMFIC_EOH; return milter_fmt_data(&o, SMFIC_EOH, NULL, 0);
    case PH_BODY:
        *step = SMFIC_BODY;
        *used = left < MILTER_CHUNK_MAX ? left : MILTER_CHUNK_MAX;
        return *used ? milter_fmt_data(&o, SMFIC_BODY, ch->msg->text + ch->off, *used) : 0;
    case PH_EOM: *step = SMFIC_BODYEOB; return milter_fmt_data(&o, SMFIC_BODYEOB, NULL, 0);
    }
    return 0;
}

static void chain_content(struct milter_chain *ch);

/* Milter cur answered a content step. */
static void chain_on_content(void *arg, const struct milter_result *r)
{
    struct milter_chain *ch = arg;
    struct chain_milter *m = &ch->m[ch->cur];
    char err[160];
    if (r->verdict != MILTER_CONTINUE && r->verdict != MILTER_ACCEPT && r->verdict != MILTER_SKIP) {
        chain_finish(ch, r->verdict, r);
        return;
    }
    if (ch->phase == PH_EOM && r->nmods > 0 &&
        milter_edit_apply(ch->msg, r->mods, r->nmods, ch->max, err, sizeof err) < 0) {
        snprintf(ch->res.name, sizeof ch->res.name, "%s", m->name);
        snprintf(ch->res.why, sizeof ch->res.why, "%s", err);
        chain_finish(ch, MILTER_TEMPFAIL, NULL);
        return;
    }
    if (r->verdict == MILTER_ACCEPT || ch->phase == PH_EOM) {
        if (r->verdict == MILTER_ACCEPT && r->failed)
            m->off_session = true;
        ch->cur++;
        ch->phase = PH_DATA;
        chain_next(ch);
        return;
    }
    if (r->verdict == MILTER_SKIP && ch->phase == PH_BODY)
        ch->phase = PH_EOM;
    chain_content(ch);
}

/* Sends the next content packet to milter cur: DATA, then each header field (one too long
 * for a packet is not sent), EOH, the body chunks, EOM. */
static void chain_content(struct milter_chain *ch)
{
    size_t used, len;
    char step = 0;
    for (;;) {
        len = chain_phase_pkt(ch, &step, &used);
        if (len > 0)
            break;
        if (used > 0) {
            ch->off += used;
            continue;
        }
        ch->phase++; /* the headers or the body are over */
        if (ch->phase == PH_BODY)
            ch->off = ch->body_off;
    }
    ch->off += used;
    if (ch->phase == PH_DATA || ch->phase == PH_EOH) { /* one packet each */
        ch->phase++;
        if (ch->phase == PH_BODY)
            ch->off = ch->body_off;
    }
    const struct milter_macros *mac =
        step == SMFIC_DATA || step == SMFIC_EOH || step == SMFIC_BODYEOB ? &ch->mac : NULL;
    if (milter_conn_step(ch->m[ch->cur].c, step, mac, ch->pkt, len, chain_on_content, ch) < 0)
        log_panic("milter %s: content step refused while idle", ch->m[ch->cur].name);
}

/* The next milter's turn with the message, or the end of it. */
static void chain_next_message(struct milter_chain *ch)
{
    while (ch->cur < ch->n && (chain_skip(ch, ch->cur) || !ch->m[ch->cur].c))
        ch->cur++;
    if (ch->cur == ch->n) {
        chain_finish(ch, MILTER_CONTINUE, NULL);
        return;
    }
    milter_edit_header_end(ch->msg->text, ch->msg->len, &ch->body_off);
    ch->phase = PH_DATA;
    ch->off = 0;
    chain_content(ch);
}

static void chain_next(struct milter_chain *ch)
{
    if (ch->msg)
        chain_next_message(ch);
    else
        chain_next_step(ch);
}

int milter_chain_message(struct milter_chain *ch, struct milter_msg *msg, size_t max,
                         const struct milter_macros *macros, milter_chain_fn cb, void *arg)
{
    if (ch->busy)
        return -1;
    memset(&ch->res, 0, sizeof ch->res);
    ch->busy = true;
    ch->cb = cb, ch->arg = arg;
    ch->step = SMFIC_DATA;
    ch->msg = msg;
    ch->max = max;
    ch->len = 0;
    chain_macros_copy(ch, macros);
    ch->cur = 0;
    chain_next_message(ch);
    return 0;
}

void milter_chain_abort(struct milter_chain *ch)
{
    if (ch->busy) /* the session is being freed: milter_chain_free follows */
        return;
    for (size_t i = 0; i < ch->n; i++) {
        milter_conn_abort(ch->m[i].c);
        ch->m[i].off_msg = false;
    }
    ch->msg = NULL;
}

void milter_chain_free(struct milter_chain *ch)
{
    if (!ch)
        return;
    for (size_t i = 0; i < ch->n; i++)
        milter_conn_free(ch->m[i].c);
    chain_macros_clear(ch);
    event_free(ch->report);
    free(ch->pkt);
    free(ch->m);
    free(ch);
}

/* Every action and no-reply flag offered; the timeouts and smtpd.milter_default_action of c
 * (the same for smtpd.milters and non_smtpd_milters). */
void milter_opts_from_conf(const struct conf *c, struct milter_conn_opts *o)
{
    *o = (struct milter_conn_opts){
        .actions = SMFIF_ADDHDRS | SMFIF_CHGBODY | SMFIF_ADDRCPT | SMFIF_DELRCPT | SMFIF_CHGHDRS |
                   SMFIF_QUARANTINE | SMFIF_CHGFROM | SMFIF_ADDRCPT_PAR | SMFIF_SETSYMLIST,
        .protocol = SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NOMAIL | SMFIP_NORCPT | SMFIP_NOBODY |
                    SMFIP_NOHDRS | SMFIP_NOEOH | SMFIP_NR_HDR | SMFIP_NOUNKNOWN | SMFIP_NODATA |
                    SMFIP_SKIP | SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL | SMFIP_NR_RCPT |
                    SMFIP_NR_DATA | SMFIP_NR_UNKN | SMFIP_NR_EOH | SMFIP_NR_BODY,
        .connect_timeout_ms = c->milter_connect_timeout,
        .command_timeout_ms = c->milter_command_timeout,
        .content_timeout_ms = c->milter_content_timeout,
        .default_action = c->smtpd.milter_default_action == CONF_MILTER_ACCEPT   ? MILTER_ACCEPT
                          : c->smtpd.milter_default_action == CONF_MILTER_REJECT ? MILTER_REJECT
                                                                                 : MILTER_TEMPFAIL,
    };
}
