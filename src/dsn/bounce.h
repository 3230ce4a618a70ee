/* bounce: turns a DSN report (dsn.h) into a queued message: the null sender, one recipient
 * (the original sender, or the postmaster for a double bounce), MSG_F_BOUNCE, and the
 * report as content. The scheduler stores it with queue_put() and schedules it like any
 * other message once durable, so reports are retried and survive restarts; the scheduler
 * never reports on a MSG_F_BOUNCE message to its (null) sender. Pure apart from qid_next(). */
#ifndef SLUICE_BOUNCE_H
#define SLUICE_BOUNCE_H
#include <stddef.h>
#include <stdint.h>

#include "dsn/dsn.h"
#include "queue/record.h"

struct bounce {
    struct qmsg m;  /* envelope of the report (strings owned by the bounce) */
    struct qrcpt r; /* its one recipient */
    char qid[17];   /* text of m.id */
};

/* Builds the report message to `to` (the report's to/id/now are filled in here: id from a
 * new queue id, now given). Returns the content (malloc'ed, *len bytes) for queue_put(). */
char *bounce_build(struct bounce *b, struct dsn_report *r, const char *to, int64_t now, size_t *len);
/* Frees what bounce_build() allocated in b. */
void bounce_clear(struct bounce *b);
/* What to return: RET=FULL -> full, RET=HDRS -> headers, else full unless size > limit. */
enum dsn_ret bounce_ret(uint32_t msg_flags, uint64_t size, uint64_t limit);
/* Remote-MTA name from a relay text "name[ip]:port": the name, or the IP when the name is
 * empty; "" for "none" or anything else. */
char *bounce_remote_mta(const char *relay, char *out, size_t cap);
#endif
