/* audit: append-only log files written by a thread with grouped fsyncs, and the delivery
 * audit record (seed 000 §4.5.2 `audit`).
 *
 * struct audit_log is one log (audit, event log or transcripts): a path template with
 * rotation (proto/logpath.h) and a writer thread. audit_log_write() copies one record into
 * memory under a mutex and returns at once: the event loop never waits for the disk. The
 * thread takes everything waiting, appends each record as one line ('\n' added) to the file
 * its own timestamp expands to (so rotation falls between records, never inside one), and
 * fsyncs each file it wrote, then waits `flush` ms before the next group (one fsync covers
 * every record of a group). A failed write is undone (the file is truncated back to its
 * size before the write, so no record is ever torn) and retried after a second. Records
 * waiting in memory are limited to AUDIT_PENDING_MAX bytes; beyond it a record is dropped,
 * counted and warned about. Files are opened O_APPEND (mode 0640); missing directories are
 * created (mode 0750).
 *
 * Delivery records: audit_delivery() formats one line per delivered recipient:
 *   TIME qid=Q from=<S> to=<R> received_from=IP delivered_to=IP message_id=<ID> reply=TEXT
 * (TIME is ISO 8601 UTC with milliseconds; absent values are "-"; every value goes through
 * log_sanitize(): control and non-ASCII bytes become \xHH, '\' becomes \\; blanks in the
 * fields before reply become '_'). */
#ifndef SLUICE_AUDIT_H
#define SLUICE_AUDIT_H
#include <stddef.h>
#include <stdint.h>

#include "proto/logpath.h"

struct logspec;
struct audit_log;

#define AUDIT_PENDING_MAX (64u * 1024 * 1024)
#define AUDIT_LINE_MAX 16384 /* longest record; longer ones are truncated */

struct audit_log_stats {
    uint64_t records; /* written and fsync'ed */
    uint64_t groups;  /* write groups (each ends with one fsync per file touched) */
    uint64_t files;   /* files opened */
    uint64_t dropped; /* records lost to AUDIT_PENDING_MAX or to close after errors */
    uint64_t errors;  /* failed opens/writes/fsyncs */
};

/* Starts a log for spec (spec->path must be set). vars give %DIRLOG% and %SYSNAME%.
 * Returns NULL with a message in err when the template is invalid or the thread cannot
 * start. Nothing is opened on disk before the first record. */
struct audit_log *audit_log_open(const struct logspec *spec, const struct logpath_vars *vars,
                                 char *err, size_t errlen);
/* Queues one record (len bytes, no newline needed; a trailing newline and inner CR/LF are
 * replaced) stamped when_ms (wall ms: it chooses the file). Thread-safe, never blocks on
 * disk. l may be NULL (log off). */
void audit_log_write(struct audit_log *l, int64_t when_ms, const char *line, size_t len);
/* Waits until every record queued before the call has been written and fsync'ed (or given
 * up after errors). For tests and tools, not for the event loop. */
void audit_log_flush(struct audit_log *l);
/* Flushes, stops the thread, closes the files, frees. NULL is ignored. */
void audit_log_close(struct audit_log *l);
void audit_log_get_stats(struct audit_log *l, struct audit_log_stats *st);

/* Formats ms as "2024-05-01T12:00:00.123Z" into buf (at least 25 bytes). */
char *audit_time(int64_t ms, char *buf, size_t cap);

struct audit_delivery {
    int64_t when;           /* wall ms */
    const char *qid;
    const char *sender;     /* "" = null sender */
    const char *rcpt;
    const char *client_ip;  /* received from; "" for local submission */
    const char *relay;      /* "name[ip]:port" of the next hop */
    const char *message_id; /* "<...>" or NULL */
    const char *reply;      /* the remote reply */
};
/* Formats a delivery record (no newline) into buf; returns its length (< cap). */
size_t audit_format(const struct audit_delivery *d, char *buf, size_t cap);
/* Formats and queues a delivery record. l may be NULL. */
void audit_delivery(struct audit_log *l, const struct audit_delivery *d);
/* The IP of a relay text "name[ip]:port" into out ("-" when there is none). */
char *audit_relay_ip(const char *relay, char *out, size_t cap);
#endif
