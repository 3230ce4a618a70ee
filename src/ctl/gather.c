/* gather: the Prometheus metrics of GET /metrics (docs/admin.md "Metrics") read from the
 * modules' stats: counters (received, rejects, recipient outcomes, attempts by destination
 * class, connections), gauges (queue by state, sessions, connections per destination, dead
 * and paused destinations) and histograms (delivery and accept latency, fsync, messages per
 * commit). Runs on the loop; reads only. */
#include "ctl/gather.h"

#include <stddef.h>

#include "core/hist.h"
#include "ctl/metrics.h"
#include "deliver/deliver.h"
#include "dns/dns.h"
#include "queue/queue.h"
#include "sched/sched.h"
#include "smtpd/smtpd.h"

struct gather_dest_walk {
    struct metrics_writer *w;
    unsigned dead;
};

/* One destination's gauges: its connections (labelled by destination key). */
static void gather_on_dest(void *arg, const struct deliver_dest_stat *v)
{
    struct gather_dest_walk *dw = arg;
    const char *l[] = {"destination", v->key};
    if (v->connections > 0)
        metrics_sample(dw->w, "sluice_destination_connections", l, 1, v->connections);
    dw->dead += v->dead;
}

/* Counts one paused domain. */
static void gather_on_paused(void *arg, const char *domain)
{
    (void)domain;
    ++*(unsigned *)arg;
}

/* Counters: received, recipient outcomes, attempts by destination class, commits. */
static void gather_counters(const struct gather_sources *d, struct metrics_writer *w)
{
    struct sched_stats ss;
    struct deliver_stats ds;
    struct smtpd_stats ms;
    static const char *const res[] = {"ok", "tempfail", "permfail"};
    sched_get_stats(d->sched, &ss);
    deliver_get_stats(d->deliver, &ds);
    smtpd_get_stats(d->smtpd, &ms);
    metrics_family(w, "sluice_messages_received_total", "counter",
                   "Messages accepted over SMTP (250 after the content).");
    metrics_sample(w, "sluice_messages_received_total", NULL, 0, (double)ms.received);
    metrics_family(w, "sluice_smtpd_rejects_total", "counter", "SMTP commands refused (NOQUEUE).");
    metrics_sample(w, "sluice_smtpd_rejects_total", NULL, 0, (double)ms.rejected);
    metrics_family(w, "sluice_recipients_total", "counter",
                   "Recipient outcomes: delivered, deferred, bounced.");
    const char *l1[] = {"outcome", "delivered"}, *l2[] = {"outcome", "deferred"},
               *l3[] = {"outcome", "bounced"};
    metrics_sample(w, "sluice_recipients_total", l1, 1, (double)ss.delivered);
    metrics_sample(w, "sluice_recipients_total", l2, 1, (double)ss.deferred);
    metrics_sample(w, "sluice_recipients_total", l3, 1, (double)ss.bounced);
    metrics_family(w, "sluice_delivery_attempts_total", "counter",
                   "Recipient attempt results by destination class (mx, relay, none).");
    for (int c = 0; c < DELIVER_NCLASS; c++)
        for (int o = 0; o < 3; o++) {
            const char *l[] = {"class", deliver_class_name((enum deliver_class)c), "result", res[o]};
            metrics_sample(w, "sluice_delivery_attempts_total", l, 2, (double)ds.outcomes[c][o]);
        }
    struct dns_stats ns;
    dns_get_stats(d->dns, &ns);
    metrics_family(w, "sluice_rdns_lookups_total", "counter",
                   "Reverse lookups of clients; cached: answered from the one-minute cache.");
    const char *lr[] = {"source", "dns"}, *lc[] = {"source", "cached"};
    metrics_sample(w, "sluice_rdns_lookups_total", lr, 1, (double)(ns.ptr_lookups - ns.ptr_cached));
    metrics_sample(w, "sluice_rdns_lookups_total", lc, 1, (double)ns.ptr_cached);
    metrics_family(w, "sluice_connections_opened_total", "counter", "Outbound connections opened.");
    metrics_sample(w, "sluice_connections_opened_total", NULL, 0, (double)ds.connections);
}

/* Gauges and histograms. */
static void gather_gauges(const struct gather_sources *d, struct metrics_writer *w)
{
    struct sched_stats ss;
    struct smtpd_stats ms;
    const struct hist *fsync, *per_commit;
    sched_get_stats(d->sched, &ss);
    smtpd_get_stats(d->smtpd, &ms);
    queue_get_hists(d->q, &fsync, &per_commit);
    metrics_family(w, "sluice_queue_messages", "gauge", "Messages in the queue.");
    metrics_sample(w, "sluice_queue_messages", NULL, 0, (double)ss.messages);
    metrics_family(w, "sluice_queue_recipients", "gauge",
                   "Queued recipients by state: waiting (deferred or not yet due), active.");
    const char *lw[] = {"state", "waiting"}, *la[] = {"state", "active"};
    metrics_sample(w, "sluice_queue_recipients", lw, 1, (double)ss.waiting);
    metrics_sample(w, "sluice_queue_recipients", la, 1, (double)ss.active);
    metrics_family(w, "sluice_smtpd_sessions", "gauge", "Inbound SMTP sessions open.");
    metrics_sample(w, "sluice_smtpd_sessions", NULL, 0, (double)ms.sessions);
    struct gather_dest_walk dw = {w, 0};
    metrics_family(w, "sluice_destination_connections", "gauge",
                   "Outbound connections open or opening, per destination.");
    deliver_foreach_dest(d->deliver, gather_on_dest, &dw);
    metrics_family(w, "sluice_destinations_dead", "gauge",
                   "Destinations where no host would talk (postponed without connecting).");
    metrics_sample(w, "sluice_destinations_dead", NULL, 0, dw.dead);
    unsigned paused = 0;
    sched_paused_foreach(d->sched, gather_on_paused, &paused);
    metrics_family(w, "sluice_destinations_paused", "gauge",
                   "Domains paused by `sluice ctl pause` (no new connections).");
    metrics_sample(w, "sluice_destinations_paused", NULL, 0, paused);
    metrics_hist(w, "sluice_delivery_latency_seconds",
                 "Seconds from arrival to delivery, per delivered recipient.",
                 sched_delivery_latency(d->sched));
    metrics_hist(w, "sluice_accept_latency_seconds",
                 "Seconds from the end of a message's content to its 250 (queue commit).",
                 ms.accept_latency);
    metrics_hist(w, "sluice_queue_fsync_seconds", "Seconds each group commit took (fdatasync).",
                 fsync);
    metrics_hist(w, "sluice_queue_messages_per_commit", "Messages stored by each group commit.",
                 per_commit);
}

/* Writes every metric. */
void gather_metrics(const struct gather_sources *src, struct metrics_writer *w)
{
    gather_counters(src, w);
    gather_gauges(src, w);
}
