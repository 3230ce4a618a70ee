/* notify: READY=1, STATUS=, RELOADING=1, STOPPING=1 and WATCHDOG=1 to the service manager
 * through libsystemd's sd_notify(). The socket and the watchdog period are read once at
 * notify_create(); the daemon drops privileges later, and the manager's socket takes
 * datagrams from any user of the service's main process. Contract in notify.h. */
#include "core/notify.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "core/log.h"
#include "core/xalloc.h"

#define NOTIFY_STATUS_MAX 256
#define NOTIFY_STATUS_PERIOD_US 1000000

struct notify {
    int on; /* $NOTIFY_SOCKET was set */
    notify_status_fn status;
    void *arg;
    struct event *tick;     /* STATUS= refresh */
    struct event *watchdog; /* WATCHDOG=1, NULL when not asked for */
    char last[NOTIFY_STATUS_MAX];
    int warned;
};

/* Sends one notification (newline-separated assignments); warns about the first failure. */
static void notify_send(struct notify *n, const char *text)
{
    int r = sd_notify(0, text);
    if (r < 0 && !n->warned) {
        n->warned = 1;
        log_warn("service manager notification failed: %s", strerror(-r));
    }
}

/* Sends STATUS= when the text changed (force: always), prefixed by head (may be ""). */
static void notify_status(struct notify *n, const char *head, int force)
{
    char now[NOTIFY_STATUS_MAX], msg[NOTIFY_STATUS_MAX + 64];
    now[0] = '\0';
    n->status(n->arg, now, sizeof now);
    if (!force && strcmp(now, n->last) == 0)
        return;
    snprintf(n->last, sizeof n->last, "%s", now);
    snprintf(msg, sizeof msg, "%sSTATUS=%s", head, now);
    notify_send(n, msg);
}

/* Timer: the status when it changed. */
static void notify_on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    notify_status(arg, "", 0);
}

/* Timer: the loop is alive. */
static void notify_on_watchdog(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    notify_send(arg, "WATCHDOG=1");
}

/* A persistent timer of period_us on base. */
static struct event *notify_timer(struct event_base *base, uint64_t period_us, event_callback_fn cb,
                                  struct notify *n)
{
    struct timeval tv = {(time_t)(period_us / 1000000), (suseconds_t)(period_us % 1000000)};
    struct event *ev = event_new(base, -1, EV_PERSIST, cb, n);
    if (!ev || event_add(ev, &tv) < 0)
        log_fatal("cannot start the service manager timer");
    return ev;
}

struct notify *notify_create(struct event_base *base, notify_status_fn status, void *arg)
{
    struct notify *n = xcalloc(1, sizeof *n);
    const char *sock = getenv("NOTIFY_SOCKET");
    n->on = sock && *sock;
    n->status = status;
    n->arg = arg;
    if (!n->on)
        return n;
    n->tick = notify_timer(base, NOTIFY_STATUS_PERIOD_US, notify_on_tick, n);
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
        /* Half the period, as sd_watchdog_enabled(3) advises; at least 1 ms. */
        uint64_t half = usec / 2 > 1000 ? usec / 2 : 1000;
        n->watchdog = notify_timer(base, half, notify_on_watchdog, n);
        log_info("service manager watchdog: every %llu ms", (unsigned long long)(half / 1000));
    }
    return n;
}

void notify_ready(struct notify *n)
{
    if (n && n->on)
        notify_status(n, "READY=1\n", 1);
}

void notify_reloading(struct notify *n)
{
    char msg[96];
    struct timespec ts;
    if (!n || !n->on)
        return;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    snprintf(msg, sizeof msg, "RELOADING=1\nMONOTONIC_USEC=%llu",
             (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000);
    notify_send(n, msg);
}

void notify_stopping(struct notify *n)
{
    if (n && n->on)
        notify_send(n, "STOPPING=1");
}

void notify_free(struct notify *n)
{
    if (!n)
        return;
    if (n->tick)
        event_free(n->tick);
    if (n->watchdog)
        event_free(n->watchdog);
    free(n);
}
