/* mime8to7: the 8-bit to 7-bit MIME downgrade of mime8to7.h. One entity at a time:
 * split header and body at the first empty line, look at Content-Type and
 * Content-Transfer-Encoding, then copy, walk (multipart), recurse (message/rfc822) or
 * encode (quoted-printable). Every write goes through m8_put(), which refuses to pass cap. */
#include "proto/mime8to7.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "proto/hdr.h"

#define M8_VALUE_MAX 1024   /* Content-Type / -Transfer-Encoding value looked at */
#define M8_BOUNDARY_MAX 200 /* RFC 2046 allows 70 */
#define M8_QP_LINE 76       /* RFC 2045 §6.7 rule 5 */

struct m8 {
    char *out;
    size_t cap, len;
    unsigned parts;
    int err; /* 0 or a MIME8TO7_* reason; the first one stays */
};

/* What an entity's header says. */
struct m8_head {
    size_t hend;  /* header bytes, up to the empty line (its line ends included) */
    size_t bstart; /* where the body starts (after the empty line); len when none */
    bool mime_version, multipart, rfc822, encoded;
    char boundary[M8_BOUNDARY_MAX + 1];
};

static void m8_fail(struct m8 *m, int why)
{
    if (!m->err)
        m->err = why;
}

/* Appends n bytes, or fails MIME8TO7_SPACE. */
static void m8_put(struct m8 *m, const char *p, size_t n)
{
    if (m->err)
        return;
    if (n > m->cap - m->len) {
        m8_fail(m, MIME8TO7_SPACE);
        return;
    }
    memcpy(m->out + m->len, p, n);
    m->len += n;
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

/* Length of the line at p (n bytes left), its line end included; *body_len: without it. */
static size_t m8_line(const char *p, size_t n, size_t *body_len)
{
    const char *nl = memchr(p, '\n', n);
    size_t end = nl ? (size_t)(nl - p) + 1 : n;
    size_t b = nl ? end - 1 : n;
    if (nl && b > 0 && p[b - 1] == '\r')
        b--;
    *body_len = b;
    return end;
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
        for (k += quoted; *k && n < M8_BOUNDARY_MAX; k++) {
            if (quoted ? *k == '"' : (*k == ';' || *k == ' '))
                break;
            out[n++] = *k;
        }
        out[n] = '\0';
        return;
    }
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
    } else if (f->namelen == 25 && strncasecmp(f->name, "Content-Transfer-Encoding", 25) == 0) {
        hdr_value(f, v, sizeof v);
        h->encoded = strncasecmp(v, "base64", 6) == 0 || strncasecmp(v, "quoted-printable", 16) == 0;
    }
}

/* Splits an entity at its empty line and reads its fields. */
static void m8_head_parse(const char *p, size_t n, struct m8_head *h)
{
    size_t off = 0, bl, used;
    memset(h, 0, sizeof *h);
    h->hend = h->bstart = n;
    while (off < n) {
        size_t l = m8_line(p + off, n - off, &bl);
        if (bl == 0) {
            h->hend = off;
            h->bstart = off + l;
            break;
        }
        off += l;
    }
    struct hdr_field f;
    for (off = 0; (used = hdr_next(p, h->hend, off, &f)) > 0; off += used)
        m8_field(&f, h);
}

/* The header of an entity without its Content-Transfer-Encoding fields, then cte_line
 * and the empty line. */
static void m8_put_head(struct m8 *m, const char *p, const struct m8_head *h, const char *cte_line)
{
    struct hdr_field f;
    size_t off = 0, used;
    while ((used = hdr_next(p, h->hend, off, &f)) > 0) {
        if (!(f.namelen == 25 && strncasecmp(f.name, "Content-Transfer-Encoding", 25) == 0))
            m8_put(m, f.raw, f.rawlen);
        off += used;
    }
    m8_put(m, p + off, h->hend - off);
    m8_put(m, cte_line, strlen(cte_line));
    m8_put(m, "\r\n", 2);
}

/* One quoted-printable token, with a soft line break first when it would not fit. */
static void m8_qp_token(struct m8 *m, const char *tok, size_t n, size_t *col)
{
    if (*col + n > M8_QP_LINE - 1) {
        m8_put(m, "=\r\n", 3);
        *col = 0;
    }
    m8_put(m, tok, n);
    *col += n;
}

/* Encodes one line's bytes (its line end not included). */
static void m8_qp_line(struct m8 *m, const unsigned char *p, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t col = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        bool blank = c == ' ' || c == '\t';
        if ((c >= 33 && c <= 126 && c != '=') || (blank && i + 1 < n)) {
            m8_qp_token(m, (const char *)&p[i], 1, &col);
        } else {
            char t[3] = {'=', hex[c >> 4], hex[c & 15]};
            m8_qp_token(m, t, 3, &col);
        }
    }
}

/* Encodes a body quoted-printable, line by line; line ends become CRLF. */
static void m8_qp(struct m8 *m, const char *p, size_t n)
{
    size_t off = 0, bl;
    while (off < n && !m->err) {
        size_t l = m8_line(p + off, n - off, &bl);
        m8_qp_line(m, (const unsigned char *)p + off, bl);
        if (bl < l)
            m8_put(m, "\r\n", 2);
        off += l;
    }
}

static void m8_entity(struct m8 *m, const char *p, size_t n, unsigned depth, bool top);

/* True when the line (bl bytes) is a delimiter of boundary b; *close: the closing one. */
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

/* Walks a multipart body: preamble and epilogue copied (7-bit only), each part converted. */
static void m8_multipart(struct m8 *m, const char *p, size_t n, const char *b, unsigned depth)
{
    size_t blen = strlen(b), off = 0, bl, part = 0;
    bool in_part = false, close = false;
    if (blen == 0) {
        m8_fail(m, MIME8TO7_INVALID);
        return;
    }
    while (off < n && !close && !m->err) {
        size_t l = m8_line(p + off, n - off, &bl);
        if (m8_delim(p + off, bl, b, blen, &close)) {
            if (in_part)
                m8_entity(m, p + part, off - part, depth + 1, false);
            else if (mime8to7_is_8bit(p, off))
                m8_fail(m, MIME8TO7_INVALID); /* an 8-bit preamble */
            else
                m8_put(m, p, off);
            m8_put(m, p + off, l);
            in_part = true;
            part = off + l;
        }
        off += l;
    }
    if (!in_part) {
        m8_fail(m, MIME8TO7_INVALID); /* no delimiter at all: nothing can be labelled */
    } else if (!close) {
        m8_entity(m, p + part, n - part, depth + 1, false); /* unterminated: the rest */
    } else if (mime8to7_is_8bit(p + off, n - off)) {
        m8_fail(m, MIME8TO7_INVALID); /* an 8-bit epilogue */
    } else {
        m8_put(m, p + off, n - off);
    }
}

/* Converts one entity (header, empty line, body). */
static void m8_entity(struct m8 *m, const char *p, size_t n, unsigned depth, bool top)
{
    struct m8_head h;
    if (depth > MIME8TO7_DEPTH_MAX || ++m->parts > MIME8TO7_PARTS_MAX) {
        m8_fail(m, MIME8TO7_LIMIT);
        return;
    }
    m8_head_parse(p, n, &h);
    const char *body = p + h.bstart;
    size_t blen = n - h.bstart;
    if (mime8to7_is_8bit(p, h.hend))
        m8_fail(m, MIME8TO7_HEADER);
    else if (!mime8to7_is_8bit(body, blen))
        m8_put(m, p, n);
    else if (top && !h.mime_version)
        m8_fail(m, MIME8TO7_NOT_MIME);
    else if (h.multipart) {
        m8_put(m, p, h.bstart);
        m8_multipart(m, body, blen, h.boundary, depth);
    } else if (h.rfc822) {
        m8_put_head(m, p, &h, "Content-Transfer-Encoding: 7bit\r\n");
        m8_entity(m, body, blen, depth + 1, false);
    } else if (h.encoded) {
        m8_fail(m, MIME8TO7_INVALID);
    } else {
        m8_put_head(m, p, &h, "Content-Transfer-Encoding: quoted-printable\r\n");
        m8_qp(m, body, blen);
    }
}

ssize_t mime8to7(const char *in, size_t len, char *out, size_t cap)
{
    struct m8 m = {.out = out, .cap = cap};
    if (len > MIME8TO7_IN_MAX)
        return MIME8TO7_LIMIT;
    m8_entity(&m, in, len, 0, true);
    return m.err ? m.err : (ssize_t)m.len;
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
