/* metrics: the HTTP side of Prometheus metrics, on evhttp (contract in metrics.h). */
#include "ctl/metrics.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hist.h"
#include "core/log.h"
#include "core/xalloc.h"

struct metrics {
    struct evhttp *http;
    metrics_gather_fn gather;
    void *arg;
};

struct metrics_writer {
    struct evbuffer *out;
};

/* Writes a label value escaped as the text format wants. */
static void metrics_escape(struct evbuffer *out, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            evbuffer_add_printf(out, "\\%c", *v);
        else if (*v == '\n')
            evbuffer_add(out, "\\n", 2);
        else
            evbuffer_add(out, v, 1);
    }
}

/* "# HELP" and "# TYPE" lines. */
void metrics_family(struct metrics_writer *w, const char *name, const char *type, const char *help)
{
    evbuffer_add_printf(w->out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A value as the format writes it (integers without a fraction). */
static void metrics_value(struct evbuffer *out, double v)
{
    if (v == (double)(long long)v && v < 9e15 && v > -9e15)
        evbuffer_add_printf(out, " %lld\n", (long long)v);
    else
        evbuffer_add_printf(out, " %.17g\n", v);
}

/* One sample line. */
void metrics_sample(struct metrics_writer *w, const char *name, const char *const *labels,
                    size_t nlabels, double v)
{
    evbuffer_add_printf(w->out, "%s", name);
    for (size_t i = 0; i < nlabels; i++) {
        evbuffer_add_printf(w->out, "%s%s=\"", i ? "," : "{", labels[2 * i]);
        metrics_escape(w->out, labels[2 * i + 1]);
        evbuffer_add(w->out, "\"", 1);
    }
    if (nlabels)
        evbuffer_add(w->out, "}", 1);
    metrics_value(w->out, v);
}

/* A histogram family. */
void metrics_hist(struct metrics_writer *w, const char *name, const char *help,
                  const struct hist *h)
{
    struct hist_snapshot s;
    char le[32], n[128];
    hist_read(h, &s);
    metrics_family(w, name, "histogram", help);
    snprintf(n, sizeof n, "%s_bucket", name);
    for (size_t i = 0; i <= s.n; i++) {
        if (i < s.n)
            snprintf(le, sizeof le, "%g", s.le[i]);
        else
            snprintf(le, sizeof le, "+Inf");
        const char *l[] = {"le", le};
        metrics_sample(w, n, l, 1, (double)s.cumulative[i]);
    }
    snprintf(n, sizeof n, "%s_sum", name);
    metrics_sample(w, n, NULL, 0, s.sum);
    snprintf(n, sizeof n, "%s_count", name);
    metrics_sample(w, n, NULL, 0, (double)s.cumulative[s.n]);
}

/* GET /metrics: the families the owner gathers; other paths 404, other methods 405. */
static void metrics_on_request(struct evhttp_request *req, void *arg)
{
    struct metrics *m = arg;
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    if (!path || strcmp(path, "/metrics") != 0) {
        evhttp_send_error(req, HTTP_NOTFOUND, "only /metrics is served here");
        return;
    }
    if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
        evhttp_send_error(req, 405, "Method Not Allowed");
        return;
    }
    struct evbuffer *out = evbuffer_new();
    struct metrics_writer w = {out};
    m->gather(m->arg, &w);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "text/plain; version=0.0.4; charset=utf-8");
    evhttp_send_reply(req, HTTP_OK, "OK", out);
    evbuffer_free(out);
}

/* Splits "ip:port" / "[v6]:port" into host and port. */
static int metrics_split(const char *a, char *host, size_t hostlen, unsigned *port)
{
    const char *colon = strrchr(a, ':');
    if (!colon)
        return -1;
    size_t hl = (size_t)(colon - a);
    if (a[0] == '[' && hl >= 2 && a[hl - 1] == ']') {
        a++;
        hl -= 2;
    }
    if (hl == 0 || hl >= hostlen)
        return -1;
    memcpy(host, a, hl);
    host[hl] = '\0';
    *port = (unsigned)strtoul(colon + 1, NULL, 10);
    return *port > 0 && *port < 65536 ? 0 : -1;
}

/* Binds the listeners. */
struct metrics *metrics_create(struct event_base *base, char *const *listen, size_t n,
                               metrics_gather_fn gather, void *arg, char *err, size_t errlen)
{
    struct metrics *m = xcalloc(1, sizeof *m);
    m->gather = gather;
    m->arg = arg;
    m->http = evhttp_new(base);
    if (!m->http)
        log_panic("metrics: evhttp_new failed");
    evhttp_set_allowed_methods(m->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
                                            EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
    evhttp_set_max_headers_size(m->http, 8192);
    evhttp_set_max_body_size(m->http, 0);
    evhttp_set_timeout(m->http, 10);
    evhttp_set_gencb(m->http, metrics_on_request, m);
    for (size_t i = 0; i < n; i++) {
        char host[64];
        unsigned port;
        if (metrics_split(listen[i], host, sizeof host, &port) < 0 ||
            !evhttp_bind_socket_with_handle(m->http, host, (ev_uint16_t)port)) {
            snprintf(err, errlen, "metrics.listen %s: cannot listen", listen[i]);
            metrics_free(m);
            return NULL;
        }
        log_info("metrics: listening on %s (GET /metrics)", listen[i]);
    }
    return m;
}

/* Closes the listeners and every open request. */
void metrics_free(struct metrics *m)
{
    if (!m)
        return;
    evhttp_free(m->http);
    free(m);
}
