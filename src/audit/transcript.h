/* transcript: per-session SMTP transcripts (seed 000 §4.5.3 `transcript`, §4.4.7), for the
 * client (`deliver.client.transcript`, wired in smtpc) and for the server (the smtpd owner
 * calls the same API). Every command and reply of a session is one line in the log's
 * current file:
 *   TIME SESSION DIR TEXT
 * TIME ISO 8601 UTC with ms; SESSION "C" (client) or "S" (server) + a process-wide number;
 * DIR ">" for what we sent, "<" for what we received, "*" for a note (connect, close and
 * its reason). Message bodies are never recorded: callers write a note such as
 * "(1234 body bytes)" instead. TEXT is cut at TRANSCRIPT_TEXT_MAX bytes and escaped by
 * log_sanitize() (control and non-ASCII bytes -> \xHH, '\' -> \\). A session is recorded only when the spec's peers list is
 * empty, or the peer's address lies in one of its CIDR blocks, or the peer's name equals or
 * lies below one of its domains. */
#ifndef SLUICE_TRANSCRIPT_H
#define SLUICE_TRANSCRIPT_H
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct audit_log;
struct logspec;
struct transcript;

#define TRANSCRIPT_TEXT_MAX 2048

/* True when a peer (address and/or name, either may be NULL) is to be recorded. */
bool transcript_wanted(const struct logspec *spec, const struct sockaddr *peer, const char *name);
/* Starts a session record, or returns NULL (log NULL, or the peer is not wanted).
 * kind 'C' or 'S'. Writes a "*" line "connect NAME[IP]". */
struct transcript *transcript_open(struct audit_log *log, const struct logspec *spec, char kind,
                                   const struct sockaddr *peer, const char *name);
/* One line; dir '>' '<' or '*'. t may be NULL (ignored). */
void transcript_line(struct transcript *t, char dir, const char *text, size_t len);
/* Writes a "*" line "close: WHY" and frees t. NULL is ignored. */
void transcript_close(struct transcript *t, const char *why);
#endif
