/* gather: every module's metrics for GET /metrics (gather.c). */
#ifndef SLUICE_CTL_GATHER_H
#define SLUICE_CTL_GATHER_H
struct deliver;
struct dns;
struct metrics_writer;
struct queue;
struct sched;
struct smtpd;

/* Where the numbers come from (all required). */
struct gather_sources {
    struct sched *sched;
    struct deliver *deliver;
    struct smtpd *smtpd;
    struct queue *q;
    struct dns *dns;
};
/* Writes every counter, gauge and histogram of the daemon into w. */
void gather_metrics(const struct gather_sources *src, struct metrics_writer *w);
#endif
