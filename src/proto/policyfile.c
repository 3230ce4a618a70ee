/* policyfile: parser of policy database lines and codec of map records (contract in
 * policyfile.h). Pure: no I/O, no allocation, no globals but constant tables. */
#include "proto/policyfile.h"

#include <string.h>

#include "proto/addr.h"
#include "proto/cidr.h"

static const struct {
    const char *name;
    enum policyfile_attr attr;
} policyfile_attrs[] = {
    {"full_rights", POLICY_A_FULL_RIGHTS}, {"relay_target", POLICY_A_RELAY_TARGET},
    {"bulk_mail", POLICY_A_BULK_MAIL},     {"local_names", POLICY_A_LOCAL_NAMES},
    {"accept", POLICY_A_ACCEPT},           {"reject", POLICY_A_REJECT},
    {"tempfail", POLICY_A_TEMPFAIL},
};

const char *policyfile_attr_name(enum policyfile_attr a)
{
    for (size_t i = 0; i < sizeof policyfile_attrs / sizeof policyfile_attrs[0]; i++)
        if (policyfile_attrs[i].attr == a)
            return policyfile_attrs[i].name;
    return "?";
}

/* True for a blank (space or tab). */
static bool policyfile_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* The length of the word at s[0..len) (up to a blank). */
static size_t policyfile_word(const char *s, size_t len)
{
    size_t n = 0;
    while (n < len && !policyfile_blank(s[n]))
        n++;
    return n;
}

size_t policyfile_key_ip(int family, const uint8_t *addr, unsigned plen, unsigned char *out)
{
    size_t n = family == 6 ? 16 : 4;
    out[0] = 'I';
    out[1] = family == 6 ? '6' : '4';
    out[2] = (unsigned char)plen;
    for (size_t i = 0; i < n; i++) {
        unsigned keep = plen >= 8 * (i + 1) ? 8 : plen > 8 * i ? plen - 8 * (unsigned)i : 0;
        out[3 + i] = (unsigned char)(addr[i] & (0xff00u >> keep));
    }
    return 3 + n;
}

size_t policyfile_key_name(char tag, const char *name, size_t len, unsigned char *out)
{
    if (len == 0 || len + 1 > POLICYFILE_KEY_MAX)
        return 0;
    out[0] = (unsigned char)tag;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        out[1 + i] = c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
    }
    return len + 1;
}

/* True when s[0..len) is a local part we keep as a key: printable, no blanks, no '@'. */
static bool policyfile_local_ok(const char *s, size_t len)
{
    if (len == 0 || len > 64)
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f || s[i] == '@' || s[i] == '"')
            return false;
    return true;
}

/* Encodes the KEY word into out; -1 with why when it is none of the key forms. */
static int policyfile_key(const char *k, size_t n, struct policyfile_line *out, const char **why)
{
    struct cidr c;
    const char *at = memchr(k, '@', n);
    if (at) {
        size_t local = (size_t)(at - k), dom = n - local - 1;
        if (!addr_domain_valid(at + 1, dom) || (local > 0 && !policyfile_local_ok(k, local))) {
            *why = "bad address key";
            return -1;
        }
        out->keylen = local == 0 ? policyfile_key_name('A', at + 1, dom, out->key)
                                 : policyfile_key_name('U', k, n, out->key);
    } else if (cidr_parse(k, n, &c) == 0) {
        out->keylen = policyfile_key_ip(c.family == AF_INET6 ? 6 : 4, c.addr, c.prefix, out->key);
    } else if (k[0] == '.' && n > 1 && addr_domain_valid(k + 1, n - 1)) {
        out->keylen = policyfile_key_name('S', k + 1, n - 1, out->key);
    } else if (addr_domain_valid(k, n)) {
        out->keylen = policyfile_key_name('N', k, n, out->key);
    } else {
        *why = "bad key (want an IP, CIDR, domain, .domain, user@domain or @domain)";
        return -1;
    }
    if (out->keylen == 0) {
        *why = "key too long";
        return -1;
    }
    return 0;
}

/* Reads the optional TEXT at s[0..len) (blanks skipped already) into out. */
static int policyfile_text(const char *s, size_t len, char *out, const char **why)
{
    if (len > 0 && s[0] == '"') {
        const char *q = memchr(s + 1, '"', len - 1);
        size_t rest = q ? len - (size_t)(q - s) - 1 : 0;
        for (size_t i = 0; q && i < rest; i++)
            if (!policyfile_blank(q[1 + i]))
                q = NULL;
        if (!q) {
            *why = "text: missing closing quote, or something after it";
            return -1;
        }
        s++;
        len = (size_t)(q - s);
    }
    while (len > 0 && policyfile_blank(s[len - 1]))
        len--;
    if (len > POLICYFILE_TEXT_MAX) {
        *why = "text longer than 200 bytes";
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < ' ' || c >= 0x7f) {
            *why = "text: only printable ASCII";
            return -1;
        }
    }
    memcpy(out, s, len);
    out[len] = '\0';
    return 0;
}

/* Finds the attribute named s[0..n). */
static int policyfile_attr(const char *s, size_t n, enum policyfile_attr *a)
{
    for (size_t i = 0; i < sizeof policyfile_attrs / sizeof policyfile_attrs[0]; i++)
        if (strlen(policyfile_attrs[i].name) == n && strncmp(policyfile_attrs[i].name, s, n) == 0) {
            *a = policyfile_attrs[i].attr;
            return 0;
        }
    return -1;
}

int policyfile_parse(const char *line, size_t len, struct policyfile_line *out, const char **why)
{
    size_t i = 0;
    memset(out, 0, sizeof *out);
    if (len > POLICYFILE_LINE_MAX) {
        *why = "line too long";
        return -1;
    }
    while (i < len && policyfile_blank(line[i]))
        i++;
    if (i == len || line[i] == '#')
        return 0;
    size_t kn = policyfile_word(line + i, len - i);
    if (policyfile_key(line + i, kn, out, why) < 0)
        return -1;
    for (i += kn; i < len && policyfile_blank(line[i]); i++)
        ;
    size_t an = policyfile_word(line + i, len - i);
    if (an == 0 || policyfile_attr(line + i, an, &out->attr) < 0) {
        *why = "missing or unknown attribute (full_rights, relay_target, bulk_mail, "
               "local_names, accept, reject, tempfail)";
        return -1;
    }
    for (i += an; i < len && policyfile_blank(line[i]); i++)
        ;
    bool texty = out->attr & (POLICY_A_REJECT | POLICY_A_TEMPFAIL | POLICY_A_BULK_MAIL);
    if (i < len && !texty) {
        *why = "this attribute takes no text";
        return -1;
    }
    return policyfile_text(line + i, len - i, out->text, why) < 0 ? -1 : 1;
}

int policyfile_value_add(struct policyfile_value *v, const struct policyfile_line *l,
                         const char **why)
{
    enum policyfile_verdict nv = l->attr == POLICY_A_ACCEPT     ? POLICY_V_ACCEPT
                                 : l->attr == POLICY_A_REJECT   ? POLICY_V_REJECT
                                 : l->attr == POLICY_A_TEMPFAIL ? POLICY_V_TEMPFAIL
                                                                : POLICY_V_NONE;
    if (nv == POLICY_V_NONE) {
        v->flags |= (unsigned)l->attr;
        if (l->attr == POLICY_A_BULK_MAIL && l->text[0] && !v->text[0])
            memcpy(v->text, l->text, sizeof v->text);
        return 0;
    }
    if (v->verdict != POLICY_V_NONE) {
        *why = "this key has an accept, reject or tempfail already";
        return -1;
    }
    v->verdict = nv;
    memcpy(v->text, l->text, sizeof v->text);
    return 0;
}

size_t policyfile_value_encode(const struct policyfile_value *v, unsigned char *out)
{
    size_t n = strnlen(v->text, POLICYFILE_TEXT_MAX);
    out[0] = (unsigned char)v->flags;
    out[1] = (unsigned char)v->verdict;
    memcpy(out + 2, v->text, n);
    return n + 2;
}

int policyfile_value_decode(const unsigned char *in, size_t len, struct policyfile_value *v)
{
    if (len < 2 || len > 2 + POLICYFILE_TEXT_MAX || (in[0] & ~0x0fu) || in[1] > POLICY_V_TEMPFAIL)
        return -1;
    for (size_t i = 2; i < len; i++)
        if (in[i] < ' ' || in[i] >= 0x7f)
            return -1;
    v->flags = in[0];
    v->verdict = (enum policyfile_verdict)in[1];
    memcpy(v->text, in + 2, len - 2);
    v->text[len - 2] = '\0';
    return 0;
}
