/* local: the local delivery transport (docs/local.md). Plugs into deliver/ as the transport
 * of route.h's "local" destination (struct deliver_transport: start/resume/abort with
 * smtpc.h's ops semantics), so deliver's limits apply to it like to any destination.
 *
 * For each recipient of a transaction (local@domain, domain local): the alias maps (the
 * `aliases` files compiled by `sluice newaliases`) are looked up by the local part,
 * recursively (at most LOCAL_DEPTH levels): a target that is a local address recurses, an
 * alias naming itself is that user's mailbox, "|command" and "/file" are allowed only when
 * local.allow_mail_to_commands / _files hold "alias" (or "include" inside an :include:
 * list), ":include:/path" lists are read (as the daemon; at most LOCAL_INCLUDE_MAX bytes).
 * Every name and target is expanded at most once (duplicates dropped); an expansion that
 * only leads back to names already expanded is a loop: 5.4.6. No alias: the local part must
 * be a user (getpwnam): 5.1.1 otherwise. Each mailbox reached so is first a HELPER_FORWARD
 * request (local/forward.h: the user's checked ~/.forward, read as the user); its entries
 * (via "forward", run as the user, "\\user" = the mailbox) replace the mailbox, one level. Each final target goes to the privileged helper
 * (local/helper.h) as one request with the content and "Return-Path:" / "Delivered-To:"
 * prepended; a message already carrying "Delivered-To: <this recipient>" is a loop
 * (5.4.6). The recipient's outcome is the worst of its targets' (a temporary failure of one
 * target retries them all later). Results come back as events on the loop: the daemon never
 * waits and never opens a user's file.
 * Remote addresses of an expansion (each once, at most LOCAL_TARGETS_MAX) become ONE new
 * message (same content and sender) stored with queue_put_expansion(), which marks the
 * recipient final in the same queue transaction; this happens once its local targets are
 * done (none failed temporarily), and the recipient is reported after that commit; the new
 * message goes to the scheduler through local_set_queue()'s callback. */
#ifndef SLUICE_LOCAL_LOCAL_H
#define SLUICE_LOCAL_LOCAL_H

struct conf;
struct event_base;
struct local;
struct qmsg;
struct queue;

#define LOCAL_DEPTH 20
#define LOCAL_INCLUDE_MAX (4u * 1024 * 1024)
#define LOCAL_TARGETS_MAX 20000

/* helper_fd: helper_start()'s socket (taken over). */
struct local *local_create(struct event_base *base, const struct conf *c, int helper_fd);
/* Reload: later expansions and deliveries read c (local.*, hostname, local domains); c must
 * outlive l, as must the configuration it replaces. */
void local_set_conf(struct local *l, const struct conf *c);
/* Where expansions to remote addresses are stored; accepted(arg, m) gets each new message
 * once durable (the scheduler's sched_add). */
void local_set_queue(struct local *l, struct queue *q,
                     void (*accepted)(void *arg, const struct qmsg *m), void *arg);
void local_free(struct local *l);
/* The transport for route_set_local(); its arg is the struct local. */
extern const struct deliver_transport local_transport;
#endif
