/* event: the optional JSON-lines event log (`deliver.event_log`, docs/logging.md). One JSON
 * object per line, written through an audit_log (grouped fsyncs, never blocking the loop).
 * Field names are stable; every object has "ts" (ISO 8601 UTC, ms) and "event":
 *   reception  qid from nrcpt size client_ip helo
 *   attempt    qid rcpt status(sent|deferred|bounced) dsn relay reply attempts delay_ms
 *   bounce     qid report_qid kind(failed|delayed|relayed|delivered) to nrcpt
 *   expiry     qid rcpt attempts age_ms
 *   drop       qid rcpt reason          (a report that cannot be sent: double bounce)
 * Strings are JSON-escaped (control bytes as \u00XX; bytes >= 0x80 are passed through
 * when they form valid UTF-8, else replaced by U+FFFD). A NULL log ignores every call. */
#ifndef SLUICE_EVENT_H
#define SLUICE_EVENT_H
#include <stddef.h>
#include <stdint.h>

struct audit_log;

/* Appends s (at most 2048 bytes of it) as a JSON string with quotes to buf at *off (cap
 * bytes); never overruns cap. */
void event_json_str(char *buf, size_t cap, size_t *off, const char *s);

void event_reception(struct audit_log *l, int64_t now, const char *qid, const char *from,
                     uint32_t nrcpt, uint64_t size, const char *client_ip, const char *helo);
void event_attempt(struct audit_log *l, int64_t now, const char *qid, const char *rcpt,
                   const char *status, const char *dsn, const char *relay, const char *reply,
                   uint32_t attempts, int64_t delay_ms);
void event_bounce(struct audit_log *l, int64_t now, const char *qid, const char *report_qid,
                  const char *kind, const char *to, uint32_t nrcpt);
void event_expiry(struct audit_log *l, int64_t now, const char *qid, const char *rcpt,
                  uint32_t attempts, int64_t age_ms);
void event_drop(struct audit_log *l, int64_t now, const char *qid, const char *rcpt,
                const char *reason);
#endif
