/* metrics: Prometheus metrics over HTTP (libevent's evhttp; docs/admin.md "Metrics").
 * metrics_create() binds every metrics.listen address and answers GET /metrics (and HEAD)
 * with the text exposition format 0.0.4: on each scrape it calls gather(), which writes the
 * families through metrics_family/metrics_sample/metrics_hist. Any other path is 404, any
 * other method 405. The owner gathers the numbers from the modules' stats accessors, so this
 * module knows nothing about mail.
 * Label values are escaped as the format says (\\, \", \n); names are the caller's
 * constants. Everything runs on the loop; a scrape never blocks it (evhttp buffers). */
#ifndef SLUICE_METRICS_H
#define SLUICE_METRICS_H
#include <stddef.h>

struct event_base;
struct hist;
struct metrics;
struct metrics_writer;

typedef void (*metrics_gather_fn)(void *arg, struct metrics_writer *w);

/* Listens on listen[0..n) ("ip:port", "[v6]:port"). NULL with err on a bind failure. */
struct metrics *metrics_create(struct event_base *base, char *const *listen, size_t n,
                               metrics_gather_fn gather, void *arg, char *err, size_t errlen);
void metrics_free(struct metrics *m);

/* "# HELP name help" and "# TYPE name type" (counter, gauge, histogram). */
void metrics_family(struct metrics_writer *w, const char *name, const char *type, const char *help);
/* One sample "name{labels} value": labels are key/value pairs (nlabels of them, values
 * escaped here), or none. */
void metrics_sample(struct metrics_writer *w, const char *name, const char *const *labels,
                    size_t nlabels, double v);
/* A whole histogram family: HELP, TYPE, name_bucket{le=...}, name_sum, name_count. */
void metrics_hist(struct metrics_writer *w, const char *name, const char *help,
                  const struct hist *h);
#endif
