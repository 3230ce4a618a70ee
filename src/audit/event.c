/* event: JSON-lines event records (contracts and field names in event.h). Each function
 * formats one object into a stack buffer and hands it to audit_log_write(). */
#include "audit/event.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "audit/audit.h"

#define EVENT_MAX 16000      /* <= AUDIT_LINE_MAX */
#define EVENT_STR_MAX 2048   /* input bytes of one string value kept */

/* Appends formatted text, never past cap - 1. */
static void event_add(char *buf, size_t cap, size_t *off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void event_add(char *buf, size_t cap, size_t *off, const char *fmt, ...)
{
    if (*off >= cap - 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *off, cap - *off, fmt, ap);
    va_end(ap);
    if (n > 0)
        *off = *off + (size_t)n >= cap ? cap - 1 : *off + (size_t)n;
}

/* Length of the valid UTF-8 sequence at p (0 when invalid). */
static size_t event_utf8_len(const unsigned char *p)
{
    size_t n = p[0] >= 0xf0 && p[0] <= 0xf4 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc2 ? 2 : 0;
    if (p[0] >= 0xf5)
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    if (n == 3 && ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] >= 0xa0)))
        return 0;
    if (n == 4 && ((p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] >= 0x90)))
        return 0;
    return n;
}

/* Appends a JSON string; stops before the buffer end (keeping room for the quote). */
void event_json_str(char *buf, size_t cap, size_t *off, const char *s)
{
    const unsigned char *p = (const unsigned char *)(s ? s : ""), *start = p;
    event_add(buf, cap, off, "\"");
    while (*p && *off + 16 < cap && (size_t)(p - start) < EVENT_STR_MAX) {
        if (*p == '"' || *p == '\\') {
            event_add(buf, cap, off, "\\%c", *p++);
        } else if (*p < 0x20 || *p == 0x7f) {
            event_add(buf, cap, off, "\\u%04x", *p++);
        } else if (*p < 0x80) {
            buf[(*off)++] = (char)*p++;
        } else {
            size_t n = event_utf8_len(p);
            if (n == 0) {
                event_add(buf, cap, off, "\\ufffd");
                p++;
            } else {
                memcpy(buf + *off, p, n);
                *off += n;
                p += n;
            }
        }
    }
    buf[*off] = '\0';
    event_add(buf, cap, off, "\"");
}

/* Starts an object: {"ts":"...","event":"NAME" */
static void event_begin(char *buf, size_t cap, size_t *off, int64_t now, const char *name)
{
    char t[32];
    *off = 0;
    event_add(buf, cap, off, "{\"ts\":\"%s\",\"event\":\"%s\"", audit_time(now, t, sizeof t), name);
}

/* Appends ,"key":"string" */
static void event_kv(char *buf, size_t cap, size_t *off, const char *key, const char *val)
{
    event_add(buf, cap, off, ",\"%s\":", key);
    event_json_str(buf, cap, off, val);
}

/* Closes the object and writes it. */
static void event_end(struct audit_log *l, char *buf, size_t cap, size_t *off, int64_t now)
{
    event_add(buf, cap, off, "}");
    if (buf[*off - 1] != '}') { /* truncated: keep the line valid JSON */
        *off = cap - 2;
        buf[*off - 1] = '"';
        buf[(*off)++] = '}';
    }
    audit_log_write(l, now, buf, *off);
}

/* A message was accepted. */
void event_reception(struct audit_log *l, int64_t now, const char *qid, const char *from,
                     uint32_t nrcpt, uint64_t size, const char *client_ip, const char *helo)
{
    if (!l)
        return;
    char b[EVENT_MAX];
    size_t o;
    event_begin(b, sizeof b, &o, now, "reception");
    event_kv(b, sizeof b, &o, "qid", qid);
    event_kv(b, sizeof b, &o, "from", from);
    event_add(b, sizeof b, &o, ",\"nrcpt\":%" PRIu32 ",\"size\":%" PRIu64, nrcpt, size);
    event_kv(b, sizeof b, &o, "client_ip", client_ip);
    event_kv(b, sizeof b, &o, "helo", helo);
    event_end(l, b, sizeof b, &o, now);
}

/* One recipient's attempt outcome. */
void event_attempt(struct audit_log *l, int64_t now, const char *qid, const char *rcpt,
                   const char *status, const char *dsn, const char *relay, const char *reply,
                   uint32_t attempts, int64_t delay_ms)
{
    if (!l)
        return;
    char b[EVENT_MAX];
    size_t o;
    event_begin(b, sizeof b, &o, now, "attempt");
    event_kv(b, sizeof b, &o, "qid", qid);
    event_kv(b, sizeof b, &o, "rcpt", rcpt);
    event_kv(b, sizeof b, &o, "status", status);
    event_kv(b, sizeof b, &o, "dsn", dsn);
    event_kv(b, sizeof b, &o, "relay", relay);
    event_add(b, sizeof b, &o, ",\"attempts\":%" PRIu32 ",\"delay_ms\":%" PRId64, attempts,
              delay_ms < 0 ? 0 : delay_ms);
    event_kv(b, sizeof b, &o, "reply", reply);
    event_end(l, b, sizeof b, &o, now);
}

/* A delivery report was queued. */
void event_bounce(struct audit_log *l, int64_t now, const char *qid, const char *report_qid,
                  const char *kind, const char *to, uint32_t nrcpt)
{
    if (!l)
        return;
    char b[EVENT_MAX];
    size_t o;
    event_begin(b, sizeof b, &o, now, "bounce");
    event_kv(b, sizeof b, &o, "qid", qid);
    event_kv(b, sizeof b, &o, "report_qid", report_qid);
    event_kv(b, sizeof b, &o, "kind", kind);
    event_kv(b, sizeof b, &o, "to", to);
    event_add(b, sizeof b, &o, ",\"nrcpt\":%" PRIu32, nrcpt);
    event_end(l, b, sizeof b, &o, now);
}

/* A recipient expired. */
void event_expiry(struct audit_log *l, int64_t now, const char *qid, const char *rcpt,
                  uint32_t attempts, int64_t age_ms)
{
    if (!l)
        return;
    char b[EVENT_MAX];
    size_t o;
    event_begin(b, sizeof b, &o, now, "expiry");
    event_kv(b, sizeof b, &o, "qid", qid);
    event_kv(b, sizeof b, &o, "rcpt", rcpt);
    event_add(b, sizeof b, &o, ",\"attempts\":%" PRIu32 ",\"age_ms\":%" PRId64, attempts, age_ms);
    event_end(l, b, sizeof b, &o, now);
}

/* A report that could not be sent (failed bounce without double_bounce). */
void event_drop(struct audit_log *l, int64_t now, const char *qid, const char *rcpt,
                const char *reason)
{
    if (!l)
        return;
    char b[EVENT_MAX];
    size_t o;
    event_begin(b, sizeof b, &o, now, "drop");
    event_kv(b, sizeof b, &o, "qid", qid);
    event_kv(b, sizeof b, &o, "rcpt", rcpt);
    event_kv(b, sizeof b, &o, "reason", reason);
    event_end(l, b, sizeof b, &o, now);
}
