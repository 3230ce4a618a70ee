/* notify: the service manager's notification protocol (sd_notify(3), libsystemd). Without
 * $NOTIFY_SOCKET (started by hand, or by a manager that does not listen) every call does
 * nothing, so the daemon behaves the same under systemd and without it.
 *
 * notify_create(base, status, arg)  reads $NOTIFY_SOCKET and the watchdog request
 *     ($WATCHDOG_USEC, $WATCHDOG_PID: sd_watchdog_enabled(3)) once. When notifying, a 1 s
 *     timer asks status() for the STATUS= text and sends it when it differs from the last
 *     one sent; when a watchdog was asked for, WATCHDOG=1 goes every half period. Never NULL.
 * notify_ready(n)      READY=1 with the current STATUS=: call once the listeners are bound
 *                      and the queue is recovered (and again after a reload).
 * notify_reloading(n)  RELOADING=1 with MONOTONIC_USEC= (Type=notify-reload wants both).
 * notify_stopping(n)   STOPPING=1.
 * notify_free(n)       stops the timers.
 * Every call takes NULL (nothing created yet) and does nothing then.
 * A send that fails is logged once (warn) and the daemon carries on. */
#ifndef SLUICE_NOTIFY_H
#define SLUICE_NOTIFY_H
#include <stddef.h>

struct event_base;
struct notify;

/* Writes the one-line status text (no newline) into buf, NUL-terminated. */
typedef void (*notify_status_fn)(void *arg, char *buf, size_t len);

struct notify *notify_create(struct event_base *base, notify_status_fn status, void *arg);
void notify_ready(struct notify *n);
void notify_reloading(struct notify *n);
void notify_stopping(struct notify *n);
void notify_free(struct notify *n);
#endif
