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
 * be a user (getpwnam): 5.1.1 otherwise. Each final target goes to the privileged helper
 * (local/helper.h) as one request with the content and "Return-Path:" / "Delivered-To:"
 * prepended; a message already carrying "Delivered-To: <this recipient>" is a loop
 * (5.4.6). The recipient's outcome is the worst of its targets' (a temporary failure of one
 * target retries them all later). Results come back as events on the loop: the daemon never
 * waits and never opens a user's file.
 * Not supported (refused, never ignored): alias targets that are remote addresses (4.3.5:
 * kept in the queue), .forward files, LMTP. */
#ifndef SLUICE_LOCAL_LOCAL_H
#define SLUICE_LOCAL_LOCAL_H

struct conf;
struct event_base;
struct local;

#define LOCAL_DEPTH 20
#define LOCAL_INCLUDE_MAX (4u * 1024 * 1024)
#define LOCAL_TARGETS_MAX 20000

/* helper_fd: helper_start()'s socket (taken over). */
struct local *local_create(struct event_base *base, const struct conf *c, int helper_fd);
void local_free(struct local *l);
/* The transport for route_set_local(); its arg is the struct local. */
extern const struct deliver_transport local_transport;
#endif
