/* ctl/internal.h: what ctl.c (listeners, sessions, authentication, dispatch), view.c
 * (the read-only views as text or JSON) and showq.c (the showq socket) share; not for use outside src/ctl/. */
#ifndef SLUICE_CTL_INTERNAL_H
#define SLUICE_CTL_INTERNAL_H
#include <stdbool.h>
#include <stdint.h>

#include "ctl/ctl.h"
#include "proto/ctlproto.h"

struct evbuffer;

/* Each appends the body of a reply to out (lines ending in LF; JSON: one object per line
 * for listings, one object for show and stats). */
void view_queue(const struct ctl_env *e, struct evbuffer *out, bool json);
void view_qshape(const struct ctl_env *e, struct evbuffer *out, bool json);
void view_conns(const struct ctl_env *e, struct evbuffer *out, bool json);
void view_stats(const struct ctl_env *e, struct evbuffer *out, bool json);
/* -1 when the scheduler does not know qid. */
int view_show(const struct ctl_env *e, const char *qid, struct evbuffer *out, bool json);
/* suppress list [--json] / export (ctlproto.h's enum ctl_supp); -1 on a store error. */
int view_suppress(const struct ctl_env *e, enum ctl_supp how, bool json, struct evbuffer *out);
/* The queue as Postfix's mailq (text) or postqueue -j (json) prints it (queue/showq.h), from
 * the scheduler's memory: what the showq socket answers. */
void view_showq(const struct ctl_env *e, struct evbuffer *out, bool json);
/* The showq socket (showq.c), bound when mailq_users = "all"; env must outlive it. */
struct ctl_showq;
struct ctl_showq *ctl_showq_create(const struct ctl_env *env, char *err, size_t errlen);
void ctl_showq_free(struct ctl_showq *sq);
/* Appends s as a JSON string (quoted, escaped; invalid UTF-8 replaced). */
void view_json_str(struct evbuffer *out, const char *s);
/* "2026-11-23T07:50:00Z" for wall ms (buf of 32 bytes); "-" for 0. */
const char *view_time(int64_t ms, char *buf);
#endif
