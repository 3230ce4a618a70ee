/* recover: the queue found at start, loaded in batches from the event loop (sched.h
 * sched_recover). A million queued messages take seconds to decode; loading them all
 * before the loop runs would delay the first delivery (and every connection) by as much.
 * So the scan reads SCHED_RECOVER_BATCH messages per turn of the loop (a few ms: the
 * connections in session wait no longer than that between two replies), each batch in its
 * own read transaction (queue_scan_batch), in id order, and the recipients of each batch
 * are scheduled at once: the first delivery starts after the first batch.
 *
 * Exactly once: while the scan runs, other paths add messages too (reception, sluice
 * submit's incoming marks, reports). A message they add with an id the scan has not passed
 * yet is noted (rec.early); when the scan reaches it, it is skipped, since it may have
 * been delivered and freed meanwhile, its queue records not yet deleted. Ids the scan has
 * passed were loaded by it, and sched_add_msg ignores an id still in memory. A batch that
 * cannot be read is retried after interval_error; nothing is given up. */
#include <event2/event.h>
#include <inttypes.h>

#include "conf/conf.h"
#include "core/dict.h"
#include "core/log.h"
#include "core/qid.h"
#include "dsn/report.h"
#include "queue/queue.h"
#include "sched/internal.h"

/* One recovered message: scheduled, or removed when nothing is left to do. */
static int sched_on_recover(void *arg, const struct qmsg *m)
{
    struct sched *s = arg;
    char qid[QID_TEXT_LEN + 1];
    if (dict_remove(s->rec.early, qid_to_text(m->id, qid)))
        return 0; /* another path has it (or had it) */
    uint32_t open = 0;
    for (uint32_t i = 0; i < m->nrcpt; i++) {
        const struct qrcpt *r = &m->rcpts[i];
        open += r->state == RCPT_PENDING || r->state == RCPT_DEFERRED;
        /* a final recipient that still owes its sender a report keeps the message */
        open += report_owed_final(r->state, r->notify, r->flags,
                                  report_is_report(m->sender, m->flags)) != 0;
    }
    if (open == 0) {
        sched_remove(s, m->id, m->nrcpt);
        s->rec.removed++;
        return 0;
    }
    sched_add_msg(s, m, s->rec.not_before);
    s->rec.loaded++;
    return 0;
}

/* The scan reached the end: the summary line, and the notes are no longer needed. */
static void sched_recover_done(struct sched *s)
{
    s->rec.on = false;
    dict_free(s->rec.early, NULL);
    s->rec.early = NULL;
    log_info("recovery: %ld messages scheduled, %" PRIu64 " finished messages removed, %" PRId64
             " ms",
             s->rec.loaded, s->rec.removed, clock_mono_ms() - s->rec.t0);
}

/* Reads one batch; -1 when the queue could not be read. */
static int sched_recover_batch(struct sched *s)
{
    long n = queue_scan_batch(s->q, s->rec.after, SCHED_RECOVER_BATCH, sched_on_recover, s,
                              &s->rec.after);
    if (n < 0)
        return -1;
    if (n == 0)
        sched_recover_done(s);
    return 0;
}

/* Timer: the next batch, then the turn goes back to the loop (a zero timeout runs after
 * the pending I/O, so connections keep being served). */
static void sched_on_recover_ev(evutil_socket_t fd, short what, void *arg)
{
    struct sched *s = arg;
    (void)fd;
    (void)what;
    if (s->stopping)
        return;
    struct timeval tv = {0, 0};
    if (sched_recover_batch(s) < 0) {
        uint64_t ms = s->conf->deliver.interval_error;
        log_warn("queue: recovery cannot read the queue; retrying in %" PRIu64 " ms", ms);
        tv = (struct timeval){(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
    }
    if (s->rec.on)
        event_add(s->rec.ev, &tv);
}

/* Starts recovery: the first batch now, the rest from the loop. */
int sched_recover(struct sched *s)
{
    s->rec = (struct sched_recovery){
        .on = true,
        .not_before = s->now() + (int64_t)s->conf->deliver.delay_start,
        .t0 = clock_mono_ms(),
        .early = dict_create(),
    };
    s->rec.ev = evtimer_new(s->base, sched_on_recover_ev, s);
    if (sched_recover_batch(s) < 0) {
        sched_recover_done(s);
        return -1;
    }
    if (s->rec.on) {
        struct timeval tv = {0, 0};
        event_add(s->rec.ev, &tv);
    }
    return 0;
}

bool sched_recovering(const struct sched *s)
{
    return s->rec.on;
}

void sched_recover_note(struct sched *s, uint64_t id)
{
    char qid[QID_TEXT_LEN + 1];
    if (s->rec.on && id > s->rec.after)
        dict_put(s->rec.early, qid_to_text(id, qid), s);
}

void sched_recover_free(struct sched *s)
{
    if (s->rec.ev)
        event_free(s->rec.ev);
    dict_free(s->rec.early, NULL);
    s->rec = (struct sched_recovery){0};
}
