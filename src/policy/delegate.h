/* delegate: one request to a Postfix policy delegation server (proto/policyd.h), on the
 * loop. delegate_start() connects (TCP to an IP address, or a UNIX socket), writes the
 * request text, reads one reply of at most POLICYD_REPLY_MAX bytes and closes. Exactly one
 * callback per request, always from the loop (never from inside delegate_start()): the
 * parsed reply, or NULL and why: connect failure, the peer closing early, a reply that
 * does not parse (garbage, no action, too long), or the timeout (connect, write and read
 * together). delegate_cancel() drops a request: no callback. A new connection per request
 * keeps a hung or confused server from affecting the next request. */
#ifndef SLUICE_DELEGATE_H
#define SLUICE_DELEGATE_H
#include <stdint.h>

#include "proto/policyd.h"

struct event_base;
struct delegate_req;

typedef void (*delegate_fn)(void *arg, const struct policyd_reply *r, const char *why);

struct delegate_req *delegate_start(struct event_base *base, const struct policyd_service *svc,
                                    uint64_t timeout_ms, const char *request, delegate_fn cb,
                                    void *arg);
void delegate_cancel(struct delegate_req *q);
#endif
