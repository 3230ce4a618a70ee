/* mime8to7: the 8-bit to 7-bit MIME downgrade of mime8to7.h, as a byte-sequential state
 * machine fed pieces of the input. The state is a stack of the open entities (the top
 * message, then each part or message/rfc822 body inside the last), each in its header or
 * its body. A header is collected in s->head (MIME8TO7_HEAD_MAX) and looked at when its
 * empty line arrives; a line that starts with "-" while some multipart is open is held in
 * s->hold until it is known to be a delimiter (outermost boundary first) or not (then it
 * is replayed as content). Pass 1 (analyse) marks, per entity, whether its body holds an
 * 8-bit octet and finds the first error; pass 2 (emit) copies each entity whose plan bit is
 * clear and converts the others, the quoted-printable encoder keeping its column and up to
 * two octets whose encoding depends on the next one (a blank or CR before a line end).
 * Output that is not produced byte by byte (a header, a delimiter line) waits in s->pend,
 * pointing into the state, and goes out before any further input is read. */
#include "proto/mime8to7.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "proto/hdr.h"

#define M8_VALUE_MAX 1024 /* Content-Type / -Transfer-Encoding value looked at */
#define M8_QP_LINE 76     /* RFC 2045 §6.7 rule 5 */
#define M8_ONESHOT_CHUNK 4096

enum { M8_HEAD, M8_BODY };                     /* ent.phase */
enum { M8_LEAF, M8_MULTI, M8_RFC822, M8_OPAQUE }; /* ent.kind (OPAQUE: non-MIME top) */
enum { M8_PRE, M8_IN, M8_EPI };                /* ent.mp of a multipart */

/* Where output goes: cap bytes at p, len used. */
struct m8_out {
    char *p;
    size_t cap, len;
};

/* What an entity's header says. */
struct m8_head {
    bool mime_version, multipart, rfc822, encoded;
    char boundary[MIME8TO7_BOUNDARY_MAX + 1];
};

static void m8_fail(struct mime8to7 *s, int why)
{
    if (!s->err)
        s->err = why;
}

static void m8_put(struct m8_out *o, const char *p, size_t n)
{
    memcpy(o->p + o->len, p, n);
    o->len += n;
}

static size_t m8_room(const struct m8_out *o)
{
    return o->cap - o->len;
}

/* Queues n bytes at p (state-owned, left alone until written) to go out next. */
static void m8_pend(struct mime8to7 *s, const char *p, size_t n)
{
    if (s->analyse || n == 0)
        return;
    s->pend[s->npend].p = p;
    s->pend[s->npend++].n = n;
}

/* Writes what is pending; true when nothing is left. */
static bool m8_drain(struct mime8to7 *s, struct m8_out *o)
{
    while (s->npend > 0) {
        size_t k = s->pend[0].n < m8_room(o) ? s->pend[0].n : m8_room(o);
        m8_put(o, s->pend[0].p, k);
        s->pend[0].p += k;
        if ((s->pend[0].n -= k) > 0)
            return false;
        memmove(&s->pend[0], &s->pend[1], --s->npend * sizeof s->pend[0]);
    }
    return true;
}

int mime8to7_is_8bit(const char *p, size_t n)
{
    const uint64_t high = 0x8080808080808080ULL; /* eight bytes at a time (large bodies) */
    uint64_t acc = 0, w;
    size_t k = 0;
    for (; k + 32 <= n && !(acc & high); k += 32)
        for (size_t j = 0; j < 32; j += 8) {
            memcpy(&w, p + k + j, 8);
            acc |= w;
        }
    for (; k < n && !(acc & high); k++)
        acc |= (unsigned char)p[k];
    return (acc & high) != 0;
}

/* Copies and checks in one pass, eight bytes at a time. */
bool mime8to7_copy_8bit(char *dst, const char *src, size_t n)
{
    uint64_t acc = 0, w;
    size_t k = 0;
    for (; k + 8 <= n; k += 8) {
        memcpy(&w, src + k, 8);
        memcpy(dst + k, &w, 8);
        acc |= w;
    }
    for (; k < n; k++) {
        dst[k] = src[k];
        acc |= (unsigned char)src[k];
    }
    return (acc & 0x8080808080808080ULL) != 0;
}

/* The boundary parameter of a Content-Type value ("multipart/x; boundary=\"b\""). */
static void m8_boundary(const char *v, char *out)
{
    out[0] = '\0';
    for (const char *s = strchr(v, ';'); s; s = strchr(s + 1, ';')) {
        const char *k = s + 1;
        while (*k == ' ')
            k++;
        if (strncasecmp(k, "boundary", 8) != 0)
            continue;
        k += 8;
        while (*k == ' ')
            k++;
        if (*k++ != '=')
            continue;
        while (*k == ' ')
            k++;
        bool quoted = *k == '"';
        size_t n = 0;
        for (k += quoted; *k && n < MIME8TO7_BOUNDARY_MAX; k++) {
            if (quoted ? *k == '"' : (*k == ';' || *k == ' '))
                break;
            out[n++] = *k;
        }
        out[n] = '\0';
        return;
    }
}

static bool m8_is_cte(const struct hdr_field *f)
{
    return f->namelen == 25 && strncasecmp(f->name, "Content-Transfer-Encoding", 25) == 0;
}

/* Applies one header field to h. */
static void m8_field(const struct hdr_field *f, struct m8_head *h)
{
    char v[M8_VALUE_MAX];
    if (f->namelen == 12 && strncasecmp(f->name, "MIME-Version", 12) == 0) {
        h->mime_version = true;
    } else if (f->namelen == 12 && strncasecmp(f->name, "Content-Type", 12) == 0) {
        hdr_value(f, v, sizeof v);
        h->multipart = strncasecmp(v, "multipart/", 10) == 0;
        h->rfc822 = strncasecmp(v, "message/rfc822", 14) == 0 &&
                    (v[14] == '\0' || v[14] == ';' || v[14] == ' ');
        if (h->multipart)
            m8_boundary(v, h->boundary);
    } else if (m8_is_cte(f)) {
        hdr_value(f, v, sizeof v);
        h->encoded = strncasecmp(v, "base64", 6) == 0 || strncasecmp(v, "quoted-printable", 16) == 0;
    }
}

/* Rewrites the header block p[0..hend) in place without its Content-Transfer-Encoding
 * fields, then cte_line and the empty line; returns the new length (<= hend + 64). */
static size_t m8_head_rewrite(char *p, size_t hend, const char *cte_line)
{
    struct hdr_field f;
    size_t off = 0, used, w = 0, n = strlen(cte_line);
    while ((used = hdr_next(p, hend, off, &f)) > 0) {
        if (!m8_is_cte(&f)) {
            memmove(p + w, f.raw, f.rawlen); /* w <= off: only ever moved back */
            w += f.rawlen;
        }
        off += used;
    }
    memmove(p + w, p + off, hend - off);
    w += hend - off;
    memcpy(p + w, cte_line, n);
    memcpy(p + w + n, "\r\n", 2);
    return w + n + 2;
}

/* The innermost open entity. */
static struct mime8to7_ent *m8_cur(struct mime8to7 *s)
{
    return &s->ent[s->depth - 1];
}

/* Opens a new entity inside the innermost one (or the top one). */
static void m8_push(struct mime8to7 *s)
{
    if (s->depth > MIME8TO7_DEPTH_MAX || s->parts >= MIME8TO7_PARTS_MAX) {
        m8_fail(s, MIME8TO7_LIMIT);
        return;
    }
    struct mime8to7_ent *e = &s->ent[s->depth++];
    memset(e, 0, sizeof *e);
    e->idx = s->parts++;
    e->phase = M8_HEAD;
    e->conv = !s->analyse && (s->plan->conv[e->idx / 8] >> (e->idx % 8) & 1);
    s->hlen = s->hline = 0;
}

/* An 8-bit octet in the innermost entity (pass 1): is it allowed there? */
static void m8_saw8(struct mime8to7 *s)
{
    struct mime8to7_ent *e = m8_cur(s);
    s->any8 = true;
    if (!s->analyse)
        return;
    if (e->phase == M8_HEAD) {
        e->head8 = true;
        m8_fail(s, MIME8TO7_HEADER);
        return;
    }
    e->body8 = true;
    if (e->kind == M8_OPAQUE)
        m8_fail(s, MIME8TO7_NOT_MIME);
    else if (e->kind == M8_MULTI || (e->kind == M8_LEAF && e->encoded))
        m8_fail(s, MIME8TO7_INVALID); /* 8-bit preamble or epilogue, or in base64 / QP */
}

/* The header's empty line arrived at head[hend]: what kind of entity, then its header out
 * (verbatim, or rewritten when converted) and, for message/rfc822, the inner message. */
static void m8_head_end(struct mime8to7 *s, size_t hend)
{
    struct mime8to7_ent *e = m8_cur(s);
    struct m8_head h;
    struct hdr_field f;
    memset(&h, 0, sizeof h);
    for (size_t off = 0, used; (used = hdr_next(s->head, hend, off, &f)) > 0; off += used)
        m8_field(&f, &h);
    e->phase = M8_BODY;
    e->encoded = h.encoded;
    if (s->depth == 1 && !h.mime_version) {
        e->kind = M8_OPAQUE;
    } else if (h.multipart) {
        e->kind = M8_MULTI;
        e->blen = strlen(h.boundary);
        memcpy(e->boundary, h.boundary, e->blen + 1);
    } else {
        e->kind = h.rfc822 ? M8_RFC822 : M8_LEAF;
    }
    size_t n = s->hlen;
    if (e->conv && e->kind == M8_RFC822)
        n = m8_head_rewrite(s->head, hend, "Content-Transfer-Encoding: 7bit\r\n");
    else if (e->conv && e->kind == M8_LEAF)
        n = m8_head_rewrite(s->head, hend, "Content-Transfer-Encoding: quoted-printable\r\n");
    m8_pend(s, s->head, n);
    s->qp_col = s->qp_npend = 0;
    if (e->kind == M8_RFC822)
        m8_push(s);
}

/* Header bytes of the innermost entity, up to and including one line end. */
static size_t m8_head_bytes(struct mime8to7 *s, const char *p, size_t n)
{
    const char *nl = memchr(p, '\n', n);
    size_t k = nl ? (size_t)(nl - p) + 1 : n;
    if (mime8to7_is_8bit(p, k))
        m8_saw8(s);
    if (s->hlen + k > MIME8TO7_HEAD_MAX) {
        m8_fail(s, MIME8TO7_LIMIT);
        return k;
    }
    memcpy(s->head + s->hlen, p, k);
    s->hlen += k;
    if (!nl)
        return k;
    size_t ll = s->hlen - s->hline;
    s->bol = true;
    if (ll == 1 || (ll == 2 && s->head[s->hline] == '\r'))
        m8_head_end(s, s->hline);
    else
        s->hline = s->hlen;
    return k;
}

/* Appends one quoted-printable token, with a soft line break first when it would not fit. */
static void m8_qp_token(struct mime8to7 *s, struct m8_out *o, unsigned char c, bool literal)
{
    static const char hex[] = "0123456789ABCDEF";
    unsigned n = literal ? 1 : 3;
    if (s->qp_col + n > M8_QP_LINE - 1) {
        m8_put(o, "=\r\n", 3);
        s->qp_col = 0;
    }
    if (literal) {
        o->p[o->len++] = (char)c;
    } else {
        char t[3] = {'=', hex[c >> 4], hex[c & 15]};
        m8_put(o, t, 3);
    }
    s->qp_col += n;
}

/* Writes the held blank / CR, which are not at a line end (blank literal, CR encoded), or,
 * at_end, are the last octets of the line (blank encoded). */
static void m8_qp_flush(struct mime8to7 *s, struct m8_out *o, bool at_end)
{
    for (unsigned i = 0; i < s->qp_npend; i++) {
        unsigned char c = (unsigned char)s->qp_pend[i];
        bool blank = c == ' ' || c == '\t';
        m8_qp_token(s, o, c, blank && !(at_end && i + 1 == s->qp_npend));
    }
    s->qp_npend = 0;
}

/* Encodes one body octet. A blank or CR waits for the next octet: a line end makes the
 * CR part of it and the blank its last octet. */
static void m8_qp_byte(struct mime8to7 *s, struct m8_out *o, unsigned char c)
{
    bool blank = c == ' ' || c == '\t';
    if (c == '\n') {
        if (s->qp_npend > 0 && s->qp_pend[s->qp_npend - 1] == '\r')
            s->qp_npend--; /* CRLF */
        m8_qp_flush(s, o, true);
        m8_put(o, "\r\n", 2);
        s->qp_col = 0;
    } else if (c == '\r' && s->qp_npend == 1 && s->qp_pend[0] != '\r') {
        s->qp_pend[s->qp_npend++] = '\r';
    } else if (c == '\r' || blank) {
        m8_qp_flush(s, o, false);
        s->qp_pend[s->qp_npend++] = (char)c;
    } else {
        m8_qp_flush(s, o, false);
        m8_qp_token(s, o, c, c >= 33 && c <= 126 && c != '=');
    }
}

/* Quoted-printable body bytes, up to and including one line end, while out has room. */
static size_t m8_qp_bytes(struct mime8to7 *s, struct m8_out *o, const char *p, size_t n)
{
    size_t i = 0;
    while (i < n && m8_room(o) >= MIME8TO7_STEP_MIN) {
        unsigned char c = (unsigned char)p[i++];
        m8_qp_byte(s, o, c);
        if (c == '\n') {
            s->bol = true;
            break;
        }
    }
    return i;
}

/* True when some open multipart may see a delimiter line (lines then matter). */
static unsigned m8_watching(const struct mime8to7 *s)
{
    unsigned mask = 0;
    for (unsigned i = 0; i < s->depth; i++) {
        const struct mime8to7_ent *e = &s->ent[i];
        if (e->phase == M8_BODY && e->kind == M8_MULTI && e->mp != M8_EPI && e->blen > 0)
            mask |= 1u << i;
    }
    return mask;
}

/* Body bytes copied (pass 2) or looked at (pass 1), up to one line end when lines matter. */
static size_t m8_copy_bytes(struct mime8to7 *s, struct m8_out *o, const char *p, size_t n)
{
    size_t k = n;
    if (m8_watching(s)) {
        const char *nl = memchr(p, '\n', n);
        k = nl ? (size_t)(nl - p) + 1 : n;
    }
    if (!s->analyse && k > m8_room(o))
        k = m8_room(o);
    if (k == 0)
        return 0;
    if (s->analyse && mime8to7_is_8bit(p, k))
        m8_saw8(s);
    if (!s->analyse)
        m8_put(o, p, k);
    s->bol = p[k - 1] == '\n';
    return k;
}

/* Content of the innermost entity: header, encoded or copied body. Returns bytes used. */
static size_t m8_content(struct mime8to7 *s, struct m8_out *o, const char *p, size_t n)
{
    struct mime8to7_ent *e = m8_cur(s);
    s->bol = false;
    if (e->phase == M8_HEAD)
        return m8_head_bytes(s, p, n);
    if (e->conv && e->kind == M8_LEAF)
        return m8_qp_bytes(s, o, p, n);
    return m8_copy_bytes(s, o, p, n);
}

/* Closes the innermost entity: its header when it never got a body, the held octets of
 * its encoding, and (pass 1) its plan bit and what its parent's body now holds. */
static void m8_close(struct mime8to7 *s, struct m8_out *o)
{
    struct mime8to7_ent *e = m8_cur(s);
    if (e->phase == M8_HEAD)
        m8_pend(s, s->head, s->hlen);
    else if (e->conv && e->kind == M8_LEAF && s->qp_npend > 0)
        m8_qp_flush(s, o, true); /* only at the end of input: no line end */
    if (s->analyse && e->kind == M8_MULTI && e->body8 && !e->delim_seen)
        m8_fail(s, MIME8TO7_INVALID); /* no delimiter: nothing can be labelled */
    if (s->analyse && e->body8)
        s->plan->conv[e->idx / 8] |= (unsigned char)(1u << (e->idx % 8));
    if (s->depth > 1 && (e->body8 || e->head8))
        s->ent[s->depth - 2].body8 = true;
    s->depth--;
}

/* True when line (bl bytes, line end excluded) is a delimiter of boundary b; *close: the
 * closing one. */
static bool m8_delim(const char *line, size_t bl, const char *b, size_t blen, bool *close)
{
    if (bl < blen + 2 || line[0] != '-' || line[1] != '-' || memcmp(line + 2, b, blen) != 0)
        return false;
    size_t k = blen + 2;
    bool last = bl >= k + 2 && line[k] == '-' && line[k + 1] == '-';
    for (k += last ? 2 : 0; k < bl; k++)
        if (line[k] != ' ' && line[k] != '\t')
            return false;
    *close = last;
    return true;
}

/* True when held octet k (not a LF) keeps h a possible delimiter line of b. */
static bool m8_delim_byte(const char *h, size_t k, const char *b, size_t blen)
{
    char c = h[k];
    if (k < 2)
        return c == '-';
    if (k < 2 + blen)
        return c == b[k - 2];
    size_t j = k - 2 - blen;
    if (h[k - 1] == '\r')
        return false; /* a CR not followed by LF */
    if (c == '-')
        return j == 0 || (j == 1 && h[k - 1] == '-');
    if (c == ' ' || c == '\t' || c == '\r')
        return !(j == 1 && h[k - 1] == '-') && j <= 2 + MIME8TO7_PAD_MAX;
    return false;
}

/* A delimiter of entity f's boundary: closes the parts inside f, copies the line and opens
 * the next part (or f's epilogue). */
static void m8_delimiter(struct mime8to7 *s, struct m8_out *o, unsigned f, bool close)
{
    while (s->depth > f + 1)
        m8_close(s, o);
    m8_pend(s, s->hold, s->hold_len);
    struct mime8to7_ent *e = &s->ent[f];
    e->delim_seen = true;
    s->bol = true;
    if (close)
        e->mp = M8_EPI;
    else {
        e->mp = M8_IN;
        m8_push(s);
    }
}

/* A held line is complete (LF, or eol: the end of input): a delimiter of the outermost
 * entity it matches, or content to replay. */
static void m8_hold_end(struct mime8to7 *s, struct m8_out *o, bool eol)
{
    size_t bl = s->hold_len;
    if (eol) {
        bl--;
        if (bl > 0 && s->hold[bl - 1] == '\r')
            bl--;
    }
    s->holding = false;
    for (unsigned i = 0; i < s->depth; i++) {
        bool close = false;
        const struct mime8to7_ent *e = &s->ent[i];
        if ((s->alive >> i & 1) && m8_delim(s->hold, bl, e->boundary, e->blen, &close)) {
            m8_delimiter(s, o, i, close);
            return;
        }
    }
    s->replay = 0;
    s->rlen = s->hold_len;
}

/* Takes one octet into the held line. */
static void m8_hold_byte(struct mime8to7 *s, struct m8_out *o, char c)
{
    size_t k = s->hold_len;
    s->hold[s->hold_len++] = c;
    if (c == '\n') {
        m8_hold_end(s, o, true);
        return;
    }
    for (unsigned i = 0; i < s->depth; i++)
        if ((s->alive >> i & 1) &&
            !m8_delim_byte(s->hold, k, s->ent[i].boundary, s->ent[i].blen))
            s->alive &= ~(1u << i);
    if (s->alive == 0 || s->hold_len == sizeof s->hold) {
        s->holding = false;
        s->replay = 0;
        s->rlen = s->hold_len;
    }
}

/* The end of the input: a held last line, then every open entity closed, one per call. */
static void m8_eof(struct mime8to7 *s, struct m8_out *o)
{
    if (s->holding)
        m8_hold_end(s, o, false);
    else if (s->depth > 0)
        m8_close(s, o);
    else
        s->eof = true;
}

/* Pass 1 after an error: only whether the input holds any 8-bit octet still matters (a
 * 7-bit message is copied whatever its structure). */
static void m8_step_failed(struct mime8to7 *s, const char *in, size_t len, bool last,
                           size_t *used)
{
    if (mime8to7_is_8bit(in, len))
        s->any8 = true;
    *used = len;
    s->eof = s->done = last;
}

/* Pass 2 of a message whose top-level body is 7-bit: a copy. */
static size_t m8_step_verbatim(struct mime8to7 *s, const char *in, size_t len, bool last,
                               size_t *used, char *out, size_t cap)
{
    size_t k = len < cap ? len : cap;
    memcpy(out, in, k);
    *used = k;
    s->done = last && k == len;
    return k;
}

/* One unit of work on the input at p (n bytes; n == 0 at the end): replay, hold or
 * content. Returns input bytes used. */
static size_t m8_unit(struct mime8to7 *s, struct m8_out *o, const char *p, size_t n, bool last)
{
    if (s->replay < s->rlen) {
        s->replay += m8_content(s, o, s->hold + s->replay, s->rlen - s->replay);
        return 0;
    }
    if (n == 0) {
        if (last)
            m8_eof(s, o);
        return 0;
    }
    if (!s->holding && s->bol && p[0] == '-' && (s->alive = m8_watching(s)) != 0) {
        s->holding = true;
        s->hold_len = 0;
    }
    if (s->holding) {
        m8_hold_byte(s, o, p[0]);
        return 1;
    }
    return m8_content(s, o, p, n);
}

size_t mime8to7_step(struct mime8to7 *s, const char *in, size_t len, bool last, size_t *used,
                     char *out, size_t cap)
{
    struct m8_out o = {.p = out, .cap = s->analyse ? 0 : cap};
    size_t i = 0, k;
    *used = 0;
    if (s->done)
        return 0;
    if (s->verbatim)
        return m8_step_verbatim(s, in, len, last, used, out, cap);
    for (;;) {
        if (s->err && s->analyse) {
            m8_step_failed(s, in + i, len - i, last, &k);
            i += k;
            break;
        }
        if (s->err) { /* pass 2 over other input than pass 1 read: stop */
            s->eof = true;
            s->npend = 0;
        }
        if (!m8_drain(s, &o) || s->eof || (!s->analyse && m8_room(&o) < MIME8TO7_STEP_MIN))
            break;
        size_t before = o.len;
        k = m8_unit(s, &o, in + i, len - i, last);
        i += k;
        if (k == 0 && i == len && !last && s->replay >= s->rlen && o.len == before && !s->npend)
            break;
    }
    *used = i;
    s->done = s->done || (s->eof && s->npend == 0);
    return o.len;
}

/* Common start of both passes. */
static void m8_init(struct mime8to7 *s, struct mime8to7_plan *plan, bool analyse)
{
    s->plan = plan;
    s->analyse = analyse;
    s->verbatim = s->any8 = s->eof = s->done = s->holding = false;
    s->bol = true;
    s->err = 0;
    s->depth = s->parts = s->qp_col = s->qp_npend = s->npend = s->alive = 0;
    s->hold_len = s->replay = s->rlen = 0;
    m8_push(s);
}

void mime8to7_analyse(struct mime8to7 *s, struct mime8to7_plan *plan)
{
    memset(plan, 0, sizeof *plan);
    m8_init(s, plan, true);
}

void mime8to7_emit(struct mime8to7 *s, struct mime8to7_plan *plan)
{
    m8_init(s, plan, false);
    s->verbatim = !(plan->conv[0] & 1);
}

bool mime8to7_done(const struct mime8to7 *s)
{
    return s->done;
}

int mime8to7_verdict(const struct mime8to7 *s)
{
    return s->any8 ? s->err : 0;
}

ssize_t mime8to7(const char *in, size_t len, char *out, size_t cap)
{
    struct mime8to7 s;
    struct mime8to7_plan plan;
    char chunk[M8_ONESHOT_CHUNK];
    size_t used, n = 0;
    if (len > MIME8TO7_IN_MAX)
        return MIME8TO7_LIMIT;
    mime8to7_analyse(&s, &plan);
    mime8to7_step(&s, in, len, true, &used, NULL, 0);
    if (mime8to7_verdict(&s))
        return mime8to7_verdict(&s);
    mime8to7_emit(&s, &plan);
    for (size_t at = 0; !mime8to7_done(&s); at += used) {
        size_t k = mime8to7_step(&s, in + at, len - at, true, &used, chunk, sizeof chunk);
        if (k > cap - n)
            return MIME8TO7_SPACE;
        memcpy(out + n, chunk, k);
        n += k;
    }
    return (ssize_t)n;
}

const char *mime8to7_error_text(ssize_t why)
{
    switch (why) {
    case MIME8TO7_NOT_MIME:
        return "8-bit body that is not MIME (no MIME-Version)";
    case MIME8TO7_HEADER:
        return "8-bit octets in a header field";
    case MIME8TO7_INVALID:
        return "8-bit octets where no transfer encoding can be labelled";
    case MIME8TO7_LIMIT:
        return "message too large or too deeply nested to convert";
    case MIME8TO7_SPACE:
        return "conversion output too large";
    }
    return "converted";
}
