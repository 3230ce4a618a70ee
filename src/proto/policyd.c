/* policyd: Postfix policy delegation protocol codec (contract in policyd.h). Pure. */
#include "proto/policyd.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "proto/duration.h"

static const struct {
    const char *word;
    enum policyd_action action;
} policyd_words[] = {
    {"DUNNO", POLICYD_DUNNO},
    {"OK", POLICYD_OK},
    {"REJECT", POLICYD_REJECT},
    {"DEFER", POLICYD_DEFER},
    {"DEFER_IF_PERMIT", POLICYD_DEFER_IF_PERMIT},
    {"DEFER_IF_REJECT", POLICYD_DEFER_IF_REJECT},
    {"HOLD", POLICYD_HOLD},
    {"DISCARD", POLICYD_DISCARD},
    {"PREPEND", POLICYD_PREPEND},
    {"REDIRECT", POLICYD_REDIRECT},
    {"WARN", POLICYD_WARN},
    {"INFO", POLICYD_INFO},
};

const char *policyd_action_name(enum policyd_action a)
{
    for (size_t i = 0; i < sizeof policyd_words / sizeof policyd_words[0]; i++)
        if (policyd_words[i].action == a)
            return policyd_words[i].word;
    return "?";
}

/* Copies the text s[0..len) (leading blanks skipped) into r->text; -1 when it has control
 * bytes or is too long. */
static int policyd_text(const char *s, size_t len, struct policyd_reply *r)
{
    while (len > 0 && (*s == ' ' || *s == '\t'))
        s++, len--;
    if (len > POLICYD_TEXT_MAX)
        return -1;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < ' ' || (unsigned char)s[i] >= 0x7f)
            return -1;
    memcpy(r->text, s, len);
    r->text[len] = '\0';
    return 0;
}

/* True when s[0..5) is an enhanced status code "D.D.D" of class c (one digit each part,
 * the second and third up to three). Sets *n to its length. */
static bool policyd_status(const char *s, size_t len, char c, size_t *n)
{
    size_t i = 0, parts = 0;
    if (len < 5 || s[0] != c || s[1] != '.')
        return false;
    for (i = 2, parts = 1; i < len && parts < 3; parts++) {
        size_t d = 0;
        while (i < len && d < 3 && s[i] >= '0' && s[i] <= '9')
            i++, d++;
        if (d == 0)
            return false;
        if (parts < 2) {
            if (i >= len || s[i] != '.')
                return false;
            i++;
        }
    }
    if (i < len && s[i] != ' ')
        return false;
    *n = i;
    return true;
}

/* A numeric action "4NN [x.y.z] text" / "5NN ...". */
static int policyd_numeric(const char *s, size_t len, struct policyd_reply *r)
{
    if (len < 3 || (s[0] != '4' && s[0] != '5') || s[1] < '0' || s[1] > '9' || s[2] < '0' ||
        s[2] > '9' || (len > 3 && s[3] != ' '))
        return -1;
    r->code = (unsigned)((s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0'));
    r->action = s[0] == '4' ? POLICYD_DEFER : POLICYD_REJECT;
    snprintf(r->status, sizeof r->status, "%c.7.1", s[0]);
    s += 3, len -= 3;
    while (len > 0 && *s == ' ')
        s++, len--;
    size_t n;
    if (policyd_status(s, len, r->code >= 500 ? '5' : '4', &n)) {
        memcpy(r->status, s, n);
        r->status[n] = '\0';
        s += n, len -= n;
    }
    return policyd_text(s, len, r);
}

/* True when t is a header field "Name: value" (RFC 5322 field name, then a colon). */
static bool policyd_header_ok(const char *t)
{
    size_t n = 0;
    while (t[n] > ' ' && t[n] < 0x7f && t[n] != ':')
        n++;
    return n > 0 && n <= 76 && t[n] == ':';
}

int policyd_action_parse(const char *s, size_t len, struct policyd_reply *r)
{
    memset(r, 0, sizeof *r);
    if (len > 0 && s[0] >= '0' && s[0] <= '9')
        return policyd_numeric(s, len, r);
    size_t w = 0;
    while (w < len && s[w] != ' ' && s[w] != '\t')
        w++;
    for (size_t i = 0; i < sizeof policyd_words / sizeof policyd_words[0]; i++) {
        if (strlen(policyd_words[i].word) != w || strncasecmp(policyd_words[i].word, s, w) != 0)
            continue;
        r->action = policyd_words[i].action;
        bool rej = r->action == POLICYD_REJECT;
        r->code = rej ? 554 : 450;
        snprintf(r->status, sizeof r->status, rej ? "5.7.1" : "4.7.1");
        if (policyd_text(s + w, len - w, r) < 0)
            return -1;
        size_t n, tl = strlen(r->text);
        if (r->action <= POLICYD_DEFER_IF_REJECT &&
            policyd_status(r->text, tl, rej ? '5' : '4', &n)) {
            memcpy(r->status, r->text, n); /* "DEFER_IF_PERMIT 4.2.0 text": Postfix's status */
            r->status[n] = '\0';
            memmove(r->text, r->text + n + (r->text[n] == ' '), tl - n + 1 - (r->text[n] == ' '));
        }
        if (r->action == POLICYD_PREPEND)
            return policyd_header_ok(r->text) ? 0 : -1;
        return r->action == POLICYD_REDIRECT && r->text[0] == '\0' ? -1 : 0;
    }
    return -1;
}

long policyd_reply_parse(const char *buf, size_t len, struct policyd_reply *r)
{
    size_t i = 0;
    bool have = false;
    while (i < len && i < POLICYD_REPLY_MAX) {
        const char *nl = memchr(buf + i, '\n', len - i);
        if (!nl)
            return len >= POLICYD_REPLY_MAX ? -1 : 0;
        size_t n = (size_t)(nl - (buf + i)), end = i + n + 1;
        if (end > POLICYD_REPLY_MAX)
            return -1;
        if (n > 0 && buf[i + n - 1] == '\r')
            n--;
        if (n == 0)
            return have ? (long)end : -1;
        const char *line = buf + i;
        if (memchr(line, '\0', n))
            return -1;
        const char *eq = memchr(line, '=', n);
        if (!eq)
            return -1;
        size_t kn = (size_t)(eq - line);
        if (kn == 6 && strncmp(line, "action", 6) == 0) {
            if (have || policyd_action_parse(eq + 1, n - kn - 1, r) < 0)
                return -1;
            have = true;
        }
        i = end;
    }
    return len >= POLICYD_REPLY_MAX ? -1 : 0;
}

int policyd_attr(char *buf, size_t cap, size_t *o, const char *name, const char *value)
{
    size_t nl = strlen(name), start = *o, k = *o;
    if (k + nl + 3 > cap)
        return -1;
    memcpy(buf + k, name, nl);
    k += nl;
    buf[k++] = '=';
    for (size_t i = 0; value && value[i] && i < POLICYD_VALUE_MAX; i++) {
        unsigned char c = (unsigned char)value[i];
        if (c < ' ' || c == 0x7f)
            continue;
        if (k + 2 >= cap) {
            buf[start] = '\0';
            return -1;
        }
        buf[k++] = (char)c;
    }
    buf[k++] = '\n';
    buf[k] = '\0';
    *o = k;
    return 0;
}

/* Reads "inet:HOST:PORT" or "unix:PATH" (the first word). */
static int policyd_target(const char *s, size_t n, struct policyd_service *out, const char **why)
{
    if (n > 5 && strncmp(s, "unix:", 5) == 0 && s[5] == '/' && n - 5 <= POLICYD_TARGET_MAX) {
        out->unix_socket = true;
        memcpy(out->target, s + 5, n - 5);
        return 0;
    }
    const char *colon = n > 5 ? memrchr(s + 5, ':', n - 5) : NULL;
    if (n <= 5 || strncmp(s, "inet:", 5) != 0 || !colon) {
        *why = "want inet:HOST:PORT or unix:/PATH";
        return -1;
    }
    size_t hn = (size_t)(colon - (s + 5)), pn = n - 5 - hn - 1;
    unsigned long port = 0;
    for (size_t i = 0; i < pn; i++) {
        if (colon[1 + i] < '0' || colon[1 + i] > '9' || port > 65535) {
            *why = "bad port";
            return -1;
        }
        port = port * 10 + (unsigned long)(colon[1 + i] - '0');
    }
    if (hn == 0 || hn >= sizeof out->host || pn == 0 || port == 0 || port > 65535) {
        *why = "bad host or port";
        return -1;
    }
    const char *h = s + 5;
    if (hn > 2 && h[0] == '[' && h[hn - 1] == ']')
        h++, hn -= 2;
    memcpy(out->host, h, hn);
    unsigned char a[16];
    if (inet_pton(AF_INET, out->host, a) != 1 && inet_pton(AF_INET6, out->host, a) != 1) {
        *why = "the host must be an IP address (no DNS lookup on the way to a policy server)";
        return -1;
    }
    out->port = (uint16_t)port;
    memcpy(out->target, s + 5, n - 5);
    return 0;
}

/* Reads one "name=value" option of a service. */
static int policyd_option(const char *s, size_t n, struct policyd_service *out, const char **why)
{
    if (n > 8 && strncmp(s, "timeout=", 8) == 0) {
        if (duration_parse(s + 8, n - 8, &out->timeout_ms) < 0 || out->timeout_ms == 0) {
            *why = "bad timeout";
            return -1;
        }
        return 0;
    }
    if (n > 15 && strncmp(s, "default_action=", 15) == 0) {
        if (policyd_action_parse(s + 15, n - 15, &out->deflt) < 0) {
            *why = "bad default_action";
            return -1;
        }
        out->has_default = true;
        return 0;
    }
    *why = "unknown option (timeout=, default_action=)";
    return -1;
}

int policyd_service_parse(const char *s, size_t len, struct policyd_service *out, const char **why)
{
    memset(out, 0, sizeof *out);
    size_t i = 0;
    for (int first = 1; i < len; first = 0) {
        while (i < len && s[i] == ' ')
            i++;
        size_t n = 0;
        while (i + n < len && s[i + n] != ' ')
            n++;
        if (n == 0)
            break;
        for (size_t k = 0; k < n; k++)
            if ((unsigned char)s[i + k] <= ' ' || (unsigned char)s[i + k] >= 0x7f) {
                *why = "control or non-ASCII byte";
                return -1;
            }
        int rc = first ? policyd_target(s + i, n, out, why) : policyd_option(s + i, n, out, why);
        if (rc < 0)
            return -1;
        i += n;
    }
    if (out->target[0] == '\0') {
        *why = "empty";
        return -1;
    }
    return 0;
}
