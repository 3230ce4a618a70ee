/* edit: one milter's end-of-message modifications applied to the message (contract in
 * edit.h). Every edit is a splice of the message text: the header block is walked with
 * hdr_next() each time (a few fields; milters send few changes), so offsets never go
 * stale between two modifications. */
#include "milter/edit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/xalloc.h"
#include "proto/addr.h"
#include "proto/cmd.h"
#include "proto/esmtp.h"
#include "proto/hdr.h"
#include "proto/mime8to7.h"

size_t milter_edit_header_end(const char *text, size_t len, size_t *body)
{
    struct hdr_field f;
    size_t off = 0, used;
    while ((used = hdr_next(text, len, off, &f)) > 0)
        off += used;
    *body = off;
    if (off + 2 <= len && text[off] == '\r' && text[off + 1] == '\n')
        *body = off + 2;
    return off;
}

/* Replaces text[off, off + cut) with ins (n bytes); -1 when the result passes max. */
static int edit_splice(struct milter_msg *m, size_t off, size_t cut, const char *ins, size_t n,
                       size_t max)
{
    size_t nlen = m->len - cut + n;
    if (nlen > max)
        return -1;
    if (n > cut)
        m->text = xrealloc(m->text, nlen + 1);
    memmove(m->text + off + n, m->text + off + cut, m->len - off - cut);
    memcpy(m->text + off, ins, n);
    m->len = nlen;
    if (m->env && (m->env->flags & MSG_F_7BIT) && mime8to7_is_8bit(ins, n))
        m->env->flags &= ~(uint32_t)MSG_F_7BIT; /* what was cut cannot add one */
    return 0;
}

/* True for a field name libmilter may send: printable ASCII without ':' or blanks. */
static bool edit_name_ok(const char *name)
{
    if (!name || !*name)
        return false;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (*p <= ' ' || *p >= 0x7f || *p == ':')
            return false;
    return true;
}

/* "Name: value\r\n" with value's line ends made CRLF and continuation lines indented.
 * Returns a malloc'ed field, its length in *n. */
static char *edit_field(const char *name, const char *value, size_t *n)
{
    size_t vl = strlen(value), cap = strlen(name) + 3 * vl + 8, o = 0;
    char *f = xmalloc(cap);
    o += (size_t)snprintf(f, cap, "%s:%s", name, value[0] == ' ' || value[0] == '\t' ? "" : " ");
    for (size_t i = 0; i < vl; i++) {
        char c = value[i];
        if (c == '\r')
            continue; /* "\r\n" and "\n" alike; a lone CR would break the line structure */
        if (c != '\n') {
            f[o++] = c;
            continue;
        }
        f[o++] = '\r', f[o++] = '\n';
        if (i + 1 < vl && value[i + 1] != ' ' && value[i + 1] != '\t')
            f[o++] = '\t';
    }
    f[o++] = '\r', f[o++] = '\n';
    *n = o;
    return f;
}

/* The offset of field number idx (0-based) of the header block, or its end. */
static size_t edit_nth(const struct milter_msg *m, uint32_t idx)
{
    struct hdr_field f;
    size_t off = 0, used;
    for (uint32_t i = 0; i < idx && (used = hdr_next(m->text, m->len, off, &f)) > 0; i++)
        off += used;
    return off;
}

/* Finds the idx-th field named name (1-based): its offset and length; false when none. */
static bool edit_find(const struct milter_msg *m, const char *name, uint32_t idx, size_t *off,
                      size_t *flen)
{
    struct hdr_field f;
    size_t o = 0, used, nl = strlen(name);
    uint32_t seen = 0;
    while ((used = hdr_next(m->text, m->len, o, &f)) > 0) {
        if (f.namelen == nl && strncasecmp(f.name, name, nl) == 0 && ++seen == (idx ? idx : 1)) {
            *off = o, *flen = used;
            return true;
        }
        o += used;
    }
    return false;
}

/* ADDHEADER, INSHEADER, CHGHEADER. */
static int edit_header(struct milter_msg *m, const struct milter_mod *d, size_t max)
{
    size_t body, end = milter_edit_header_end(m->text, m->len, &body), off = end, cut = 0, n = 0;
    const char *value = d->value ? d->value : "";
    if (!edit_name_ok(d->name))
        return -1;
    if (d->code == SMFIR_INSHEADER)
        off = edit_nth(m, d->index);
    else if (d->code == SMFIR_CHGHEADER && !edit_find(m, d->name, d->index, &off, &cut))
        off = end, cut = 0;
    if (d->code == SMFIR_CHGHEADER && !value[0] && cut == 0)
        return 0; /* deleting a field that is not there */
    char *f = d->code == SMFIR_CHGHEADER && !value[0] ? NULL : edit_field(d->name, value, &n);
    int rc = edit_splice(m, off, cut, f ? f : "", n, max);
    free(f);
    return rc;
}

/* REPLBODY: the first piece replaces the body, the next ones append (bare LF -> CRLF). */
static int edit_body(struct milter_msg *m, const struct milter_mod *d, bool first, size_t max)
{
    size_t body, end = milter_edit_header_end(m->text, m->len, &body);
    if (first && body == end) { /* no empty line after the header block: one is added */
        if (edit_splice(m, end, m->len - end, "\r\n", 2, max) < 0)
            return -1;
        body = end + 2;
    }
    char *b = xmalloc(2 * d->bodylen + 1);
    size_t n = 0;
    bool cr = !first && m->len > body && m->text[m->len - 1] == '\r';
    for (size_t i = 0; i < d->bodylen; i++) {
        if (d->body[i] == '\n' && !cr)
            b[n++] = '\r';
        cr = d->body[i] == '\r';
        b[n++] = (char)d->body[i];
    }
    int rc = edit_splice(m, first ? body : m->len, first ? m->len - body : 0, b, n, max);
    free(b);
    return rc;
}

/* The address of "<a@b>" or "a@b" into out; false when it is not 0..ADDR_MAX printable
 * octets without blanks (empty only when empty_ok). */
static bool edit_addr(const char *in, char *out, size_t cap, bool empty_ok)
{
    size_t n = in ? strlen(in) : 0;
    if (n >= 2 && in[0] == '<' && in[n - 1] == '>')
        in++, n -= 2;
    if (n > ADDR_MAX || n >= cap || (n == 0 && !empty_ok))
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)in[i] <= ' ' || in[i] == 0x7f || in[i] == '<' || in[i] == '>')
            return false;
    memcpy(out, in, n);
    out[n] = '\0';
    return true;
}

/* A milter's ESMTP arguments split into c by the MAIL/RCPT parameter splitter; false (with
 * why) when they are malformed. */
static bool edit_args_split(const char *args, struct cmd *c, char *why, size_t wl)
{
    struct addr_opts o = {.sloppy = true, .utf8 = true};
    if (cmd_parse_params(args ? args : "", args ? strlen(args) : 0, &o, c) == CMD_OK)
        return true;
    snprintf(why, wl, "malformed ESMTP arguments");
    return false;
}

/* Why esmtp_*_parse() refused a milter's argument. */
static void edit_args_refused(int rc, const char *bad, char *why, size_t wl)
{
    snprintf(why, wl, rc == ESMTP_ERR_UNKNOWN ? "ESMTP argument %.40s is not applied here"
                                              : "bad ESMTP argument %.40s",
             bad ? bad : "?");
}

/* CHGFROM: the sender, and its ESMTP arguments parsed as MAIL's (esmtp_mail_parse): RET and
 * ENVID replace the message's, BODY and SMTPUTF8 set its flags, SIZE is only informative;
 * any other (BY, AUTH, unknown) is refused. Nothing changes when something is refused. */
static int edit_chgfrom(struct milter_msg *m, const struct milter_mod *d, char *why, size_t wl)
{
    char a[ADDR_MAX + 1];
    struct cmd c;
    struct esmtp_mail p;
    const char *bad;
    struct qmsg *e = m->env;
    if (!edit_addr(d->addr, a, sizeof a, true) || !edit_args_split(d->args, &c, why, wl))
        return -1;
    int rc = esmtp_mail_parse(c.params, c.nparams,
                              ESMTP_EXT_SIZE | ESMTP_EXT_8BITMIME | ESMTP_EXT_SMTPUTF8 | ESMTP_EXT_DSN,
                              &p, &bad);
    if (rc != ESMTP_OK) {
        edit_args_refused(rc, bad, why, wl);
        return -1;
    }
    free(e->sender);
    e->sender = xstrdup(a);
    if (p.ret != ESMTP_RET_NONE)
        e->flags = (e->flags & ~(uint32_t)(MSG_F_RET_FULL | MSG_F_RET_HDRS)) |
                   (p.ret == ESMTP_RET_FULL ? MSG_F_RET_FULL : MSG_F_RET_HDRS);
    if (p.envid[0]) {
        free(e->envid);
        e->envid = xstrdup(p.envid);
    }
    if (p.body != ESMTP_BODY_NONE)
        e->flags = (e->flags & ~(uint32_t)MSG_F_8BITMIME) |
                   (p.body == ESMTP_BODY_8BITMIME ? MSG_F_8BITMIME : 0);
    if (p.smtputf8)
        e->flags |= MSG_F_SMTPUTF8;
    return 0;
}

/* ADDRCPT, ADDRCPT_PAR: a new pending recipient; ADDRCPT_PAR's ESMTP arguments parsed as
 * RCPT's (esmtp_rcpt_parse): NOTIFY and ORCPT are stored with it, any other is refused. */
static int edit_addrcpt(struct milter_msg *m, const struct milter_mod *d, char *why, size_t wl)
{
    char a[ADDR_MAX + 1];
    struct cmd c;
    struct esmtp_rcpt r = {0};
    const char *bad;
    struct qmsg *e = m->env;
    if (!edit_addr(d->addr, a, sizeof a, false))
        return -1;
    if (d->code == SMFIR_ADDRCPT_PAR) {
        unsigned allowed = ESMTP_EXT_DSN | (e->flags & MSG_F_SMTPUTF8 ? ESMTP_EXT_SMTPUTF8 : 0);
        if (!edit_args_split(d->args, &c, why, wl))
            return -1;
        int rc = esmtp_rcpt_parse(c.params, c.nparams, allowed, &r, &bad);
        if (rc != ESMTP_OK) {
            edit_args_refused(rc, bad, why, wl);
            return -1;
        }
    }
    e->rcpts = xrealloc(e->rcpts, (e->nrcpt + 1) * sizeof *e->rcpts);
    e->rcpts[e->nrcpt++] = (struct qrcpt){.addr = xstrdup(a), .state = RCPT_PENDING,
                                          .last_reply = xstrdup(""), .notify = r.notify,
                                          .orcpt = xstrdup(r.orcpt)};
    return 0;
}

/* DELRCPT: removes every recipient equal to the address (any case). */
static int edit_delrcpt(struct milter_msg *m, const struct milter_mod *d)
{
    char a[ADDR_MAX + 1];
    struct qmsg *e = m->env;
    if (!edit_addr(d->addr, a, sizeof a, false))
        return -1;
    uint32_t k = 0;
    for (uint32_t i = 0; i < e->nrcpt; i++) {
        if (strcasecmp(e->rcpts[i].addr, a) == 0)
            record_rcpt_clear(&e->rcpts[i]);
        else
            e->rcpts[k++] = e->rcpts[i];
    }
    e->nrcpt = k;
    return 0;
}

int milter_edit_apply(struct milter_msg *m, const struct milter_mod *mods, size_t n,
                      size_t max, char *err, size_t errlen)
{
    bool first_body = true;
    char why[128];
    for (size_t i = 0; i < n; i++) {
        const struct milter_mod *d = &mods[i];
        int rc = 0;
        why[0] = '\0';
        switch (d->code) {
        case SMFIR_ADDHEADER:
        case SMFIR_INSHEADER:
        case SMFIR_CHGHEADER: rc = edit_header(m, d, max); break;
        case SMFIR_REPLBODY: rc = edit_body(m, d, first_body, max), first_body = false; break;
        case SMFIR_ADDRCPT:
        case SMFIR_ADDRCPT_PAR: rc = edit_addrcpt(m, d, why, sizeof why); break;
        case SMFIR_DELRCPT: rc = edit_delrcpt(m, d); break;
        case SMFIR_CHGFROM: rc = edit_chgfrom(m, d, why, sizeof why); break;
        case SMFIR_QUARANTINE:
            m->held = true;
            snprintf(m->held_reason, sizeof m->held_reason, "%s", d->text ? d->text : "");
            break;
        default: rc = -1; break;
        }
        if (rc < 0 && why[0]) {
            snprintf(err, errlen, "%s refused: %s", milter_reply_name(d->code), why);
            return -1;
        }
        if (rc < 0) {
            snprintf(err, errlen, "%s refused (bad value, or the message would pass %zu bytes)",
                     milter_reply_name(d->code), max);
            return -1;
        }
    }
    return 0;
}
