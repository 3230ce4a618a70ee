/* milter: framing, reply parsing, option negotiation and command formatting of the milter
 * protocol (contract in milter.h). A reply is read with a cursor over the packet's data:
 * every string must end with its NUL inside the packet, every number must be whole. */
#include "proto/milter.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

/* A cursor over a packet's data. */
struct milter_cur {
    const uint8_t *p;
    size_t len, off;
};

/* Writes a reason into err; returns -1. */
static int milter_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int milter_fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (errlen)
        vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* Reads a 32-bit number; -1 when fewer than 4 bytes remain. */
static int milter_get_u32(struct milter_cur *c, uint32_t *v)
{
    if (c->len - c->off < 4)
        return -1;
    const uint8_t *p = c->p + c->off;
    *v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    c->off += 4;
    return 0;
}

/* Reads a NUL-terminated string; -1 when no NUL ends it inside the packet. */
static int milter_get_str(struct milter_cur *c, const char **s)
{
    const uint8_t *nul = c->off < c->len ? memchr(c->p + c->off, 0, c->len - c->off) : NULL;
    if (!nul)
        return -1;
    *s = (const char *)(c->p + c->off);
    c->off = (size_t)(nul - c->p) + 1;
    return 0;
}

size_t milter_pkt_max(uint32_t protocol)
{
    if (protocol & SMFIP_MDS_1M)
        return MILTER_PKT_MAX_1M;
    if (protocol & SMFIP_MDS_256K)
        return MILTER_PKT_MAX_256K;
    return MILTER_PKT_MAX;
}

ssize_t milter_frame(const uint8_t *buf, size_t len, size_t max, struct milter_pkt *pkt)
{
    if (len < 4)
        return MILTER_INCOMPLETE;
    uint32_t n = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 | (uint32_t)buf[2] << 8 | buf[3];
    if (n == 0 || n > max)
        return -1;
    if (len - 4 < n)
        return MILTER_INCOMPLETE;
    pkt->cmd = (char)buf[4];
    pkt->data = buf + 5;
    pkt->len = n - 1;
    return (ssize_t)n + 4;
}

/* A header field name: printable ASCII but ':', at least one byte (RFC 5322 ftext). */
static bool milter_field_name(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if ((unsigned char)*s < 33 || (unsigned char)*s > 126 || *s == ':')
            return false;
    return true;
}

/* "4NN text" / "5NN text" (or "5NN" alone, or "5NN-..."), printable ASCII. */
static int milter_replycode(struct milter_reply *r, char *err, size_t errlen)
{
    const char *t = r->text;
    if ((t[0] != '4' && t[0] != '5') || t[1] < '0' || t[1] > '9' || t[2] < '0' ||
        t[2] > '9' || (t[3] && t[3] != ' ' && t[3] != '-'))
        return milter_fail(err, errlen, "reply code is not 4NN or 5NN text");
    for (const char *p = t; *p; p++)
        if ((unsigned char)*p < 32 || (unsigned char)*p > 126)
            return milter_fail(err, errlen, "control or non-ASCII byte in reply text");
    r->smtp_code = (unsigned)((t[0] - '0') * 100 + (t[1] - '0') * 10 + (t[2] - '0'));
    return 0;
}

/* SMFIR_OPTNEG: version, actions, protocol, then (stage, macro list) pairs. */
static int milter_optneg(struct milter_cur *c, struct milter_opts *o, char *err, size_t errlen)
{
    if (milter_get_u32(c, &o->version) < 0 || milter_get_u32(c, &o->actions) < 0 ||
        milter_get_u32(c, &o->protocol) < 0)
        return milter_fail(err, errlen, "option negotiation shorter than 12 bytes");
    while (c->off < c->len) {
        uint32_t stage;
        const char *list;
        if (milter_get_u32(c, &stage) < 0 || milter_get_str(c, &list) < 0)
            return milter_fail(err, errlen, "truncated macro list in option negotiation");
        if (stage >= MILTER_STAGES)
            return milter_fail(err, errlen, "macro list for unknown stage %u", stage);
        o->symlist[stage] = list;
    }
    return 0;
}

/* Replies with a header: [index] name value. */
static int milter_header(struct milter_cur *c, struct milter_reply *r, bool indexed,
                         char *err, size_t errlen)
{
    if (indexed && milter_get_u32(c, &r->index) < 0)
        return milter_fail(err, errlen, "header index missing");
    if (milter_get_str(c, &r->name) < 0 || milter_get_str(c, &r->value) < 0)
        return milter_fail(err, errlen, "header name or value not NUL-terminated");
    if (!milter_field_name(r->name))
        return milter_fail(err, errlen, "bad header field name");
    return 0;
}

/* Replies with an address and optional arguments. */
static int milter_address(struct milter_cur *c, struct milter_reply *r, bool args, char *err,
                          size_t errlen)
{
    if (milter_get_str(c, &r->addr) < 0 || !r->addr[0])
        return milter_fail(err, errlen, "address missing or not NUL-terminated");
    if (args && c->off < c->len && milter_get_str(c, &r->args) < 0)
        return milter_fail(err, errlen, "arguments not NUL-terminated");
    return 0;
}

int milter_reply_parse(const struct milter_pkt *pkt, struct milter_reply *r, char *err,
                       size_t errlen)
{
    struct milter_cur c = {pkt->data, pkt->len, 0};
    memset(r, 0, sizeof *r);
    r->code = pkt->cmd;
    switch (pkt->cmd) {
    case SMFIR_ACCEPT: case SMFIR_CONTINUE: case SMFIR_DISCARD: case SMFIR_REJECT:
    case SMFIR_TEMPFAIL: case SMFIR_SKIP: case SMFIR_PROGRESS: case SMFIR_CONN_FAIL:
    case SMFIR_SHUTDOWN:
        return 0;
    case SMFIR_ADDHEADER:
        return milter_header(&c, r, false, err, errlen);
    case SMFIR_CHGHEADER: case SMFIR_INSHEADER:
        return milter_header(&c, r, true, err, errlen);
    case SMFIR_ADDRCPT: case SMFIR_DELRCPT:
        return milter_address(&c, r, false, err, errlen);
    case SMFIR_ADDRCPT_PAR: case SMFIR_CHGFROM:
        return milter_address(&c, r, true, err, errlen);
    case SMFIR_REPLBODY:
        r->body = pkt->data;
        r->bodylen = pkt->len;
        return 0;
    case SMFIR_QUARANTINE:
        if (milter_get_str(&c, &r->text) < 0)
            return milter_fail(err, errlen, "quarantine reason not NUL-terminated");
        return 0;
    case SMFIR_REPLYCODE:
        if (milter_get_str(&c, &r->text) < 0)
            return milter_fail(err, errlen, "reply text not NUL-terminated");
        return milter_replycode(r, err, errlen);
    case SMFIR_OPTNEG:
        return milter_optneg(&c, &r->opts, err, errlen);
    case SMFIR_SETSYMLIST: {
        const char *list;
        if (milter_get_u32(&c, &r->index) < 0 || milter_get_str(&c, &list) < 0)
            return milter_fail(err, errlen, "truncated macro list");
        r->text = list;
        return 0;
    }
    default:
        return milter_fail(err, errlen, "unknown reply code 0x%02x", (unsigned char)pkt->cmd);
    }
}

int milter_negotiate(const struct milter_opts *offer, const struct milter_opts *reply,
                     struct milter_opts *out, char *err, size_t errlen)
{
    if (reply->version < 2)
        return milter_fail(err, errlen, "milter protocol version %u is too old", reply->version);
    if (reply->actions & ~offer->actions)
        return milter_fail(err, errlen, "milter asks for actions 0x%x not offered 0x%x",
                           reply->actions, offer->actions);
    if (reply->protocol & ~offer->protocol)
        return milter_fail(err, errlen, "milter asks for protocol flags 0x%x not offered 0x%x",
                           reply->protocol, offer->protocol);
    *out = *reply;
    out->version = reply->version < offer->version ? reply->version : offer->version;
    return 0;
}

const char *milter_reply_name(char code)
{
    static const struct {
        char code;
        const char *name;
    } names[] = {
        {SMFIR_ADDRCPT, "addrcpt"}, {SMFIR_DELRCPT, "delrcpt"}, {SMFIR_ADDRCPT_PAR, "addrcpt_par"},
        {SMFIR_SHUTDOWN, "shutdown"}, {SMFIR_ACCEPT, "accept"}, {SMFIR_REPLBODY, "replbody"},
        {SMFIR_CONTINUE, "continue"}, {SMFIR_DISCARD, "discard"}, {SMFIR_CHGFROM, "chgfrom"},
        {SMFIR_CONN_FAIL, "conn_fail"}, {SMFIR_ADDHEADER, "addheader"},
        {SMFIR_INSHEADER, "insheader"}, {SMFIR_SETSYMLIST, "setsymlist"},
        {SMFIR_CHGHEADER, "chgheader"}, {SMFIR_PROGRESS, "progress"},
        {SMFIR_QUARANTINE, "quarantine"}, {SMFIR_REJECT, "reject"}, {SMFIR_SKIP, "skip"},
        {SMFIR_TEMPFAIL, "tempfail"}, {SMFIR_REPLYCODE, "replycode"}, {SMFIR_OPTNEG, "optneg"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].code == code)
            return names[i].name;
    return "unknown";
}

int milter_target_parse(const char *s, struct milter_target *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    if (strncmp(s, "unix:", 5) == 0) {
        t->unix_socket = true;
        if (s[5] != '/' || strlen(s + 5) > MILTER_TARGET_MAX)
            return milter_fail(err, errlen, "unix: wants an absolute path of at most %d bytes",
                               MILTER_TARGET_MAX);
        memcpy(t->path, s + 5, strlen(s + 5) + 1);
        return 0;
    }
    if (strncmp(s, "inet:", 5) != 0)
        return milter_fail(err, errlen, "a milter is inet:HOST:PORT or unix:/PATH");
    const char *h = s + 5, *colon = strrchr(h, ':');
    if (!colon || colon == h)
        return milter_fail(err, errlen, "inet: wants HOST:PORT");
    size_t hl = (size_t)(colon - h);
    if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']')
        h++, hl -= 2;
    if (hl == 0 || hl >= sizeof t->host)
        return milter_fail(err, errlen, "inet: bad host");
    memcpy(t->host, h, hl);
    t->host[hl] = '\0';
    char *end;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (!colon[1] || *end || port == 0 || port > 65535 || colon[1] == '-' || colon[1] == '+')
        return milter_fail(err, errlen, "inet: bad port");
    t->port = (uint16_t)port;
    uint8_t a[16];
    if (inet_pton(AF_INET, t->host, a) != 1 && inet_pton(AF_INET6, t->host, a) != 1)
        return milter_fail(err, errlen, "inet: HOST must be an IP address");
    return 0;
}

/* ---- the command builder ---------------------------------------------------------- */

void milter_put_bytes(struct milter_out *o, const void *p, size_t n)
{
    if (o->overflow || o->cap - o->len < n) {
        o->overflow = true;
        return;
    }
    if (n)
        memcpy(o->p + o->len, p, n);
    o->len += n;
}

void milter_begin(struct milter_out *o, char cmd)
{
    static const uint8_t zero[4];
    o->start = o->len;
    o->overflow = false;
    milter_put_bytes(o, zero, 4);
    milter_put_bytes(o, &cmd, 1);
}

void milter_put_u32(struct milter_out *o, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    milter_put_bytes(o, b, 4);
}

void milter_put_u16(struct milter_out *o, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    milter_put_bytes(o, b, 2);
}

void milter_put_str(struct milter_out *o, const char *s)
{
    milter_put_bytes(o, s, strlen(s) + 1);
}

size_t milter_end(struct milter_out *o)
{
    size_t n = o->len - o->start;
    if (o->overflow || n - 4 > MILTER_PKT_MAX) {
        o->len = o->start; /* nothing of a packet that does not fit */
        o->overflow = false;
        return 0;
    }
    uint32_t body = (uint32_t)(n - 4);
    uint8_t *p = o->p + o->start;
    p[0] = (uint8_t)(body >> 24), p[1] = (uint8_t)(body >> 16);
    p[2] = (uint8_t)(body >> 8), p[3] = (uint8_t)body;
    return n;
}

size_t milter_fmt_optneg(struct milter_out *o, const struct milter_opts *offer)
{
    milter_begin(o, SMFIC_OPTNEG);
    milter_put_u32(o, offer->version);
    milter_put_u32(o, offer->actions);
    milter_put_u32(o, offer->protocol);
    return milter_end(o);
}

size_t milter_fmt_macros(struct milter_out *o, char stage, const char *const *names,
                         const char *const *values, size_t n)
{
    milter_begin(o, SMFIC_MACRO);
    milter_put_bytes(o, &stage, 1);
    for (size_t i = 0; i < n; i++) {
        milter_put_str(o, names[i]);
        milter_put_str(o, values[i]);
    }
    return milter_end(o);
}

size_t milter_fmt_connect(struct milter_out *o, const char *host, char family, uint16_t port,
                          const char *addr)
{
    milter_begin(o, SMFIC_CONNECT);
    milter_put_str(o, host);
    milter_put_bytes(o, &family, 1);
    if (family != 'U') {
        milter_put_u16(o, port);
        milter_put_str(o, addr);
    }
    return milter_end(o);
}

size_t milter_fmt_strings(struct milter_out *o, char cmd, const char *const *argv, size_t n)
{
    milter_begin(o, cmd);
    for (size_t i = 0; i < n; i++)
        milter_put_str(o, argv[i]);
    return milter_end(o);
}

size_t milter_fmt_header(struct milter_out *o, const char *name, const char *value)
{
    milter_begin(o, SMFIC_HEADER);
    milter_put_str(o, name);
    milter_put_str(o, value);
    return milter_end(o);
}

size_t milter_fmt_data(struct milter_out *o, char cmd, const void *p, size_t n)
{
    if (n > MILTER_CHUNK_MAX)
        return 0;
    milter_begin(o, cmd);
    milter_put_bytes(o, p, n);
    return milter_end(o);
}
