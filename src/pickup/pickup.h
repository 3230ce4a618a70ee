/* pickup: non-root submission's daemon side. A local user's `sendmail` hands its message to
 * the setgid helper sluice-postdrop, which leaves a drop file (proto/maildrop.h) in
 * spool/maildrop (mode 1730, owner the daemon's user, group PICKUP_GROUP: users cannot list
 * or read it, only the helper can create files). pickup watches that directory (inotify,
 * plus a rescan every minute and at start), reads each file (bounded, O_NOFOLLOW, regular
 * files only), forces the envelope sender to the file owner's login unless that owner is
 * trusted (root, the daemon's own user, or a name in `trusted_users`), stores the message
 * with one queue_put (group commit, fsync), and only once it is durable removes the file and
 * passes the message on (stored callback). A file that does not parse is renamed
 * ".bad.NAME" and kept for the administrator; a failed put leaves the file for the next scan.
 *   pickup_prepare_spool()  before privileges are dropped: spool mode 0710 group
 *                           PICKUP_GROUP, maildrop created/fixed. 0; -1 when the group is
 *                           missing (non-root submission then stays off; logged).
 *   pickup_create()         NULL (logged) when spool/maildrop is absent.
 *   pickup_scan()           picks up every file present now.
 *   pickup_free()           stops watching; puts in flight still complete in the queue. */
#ifndef SLUICE_PICKUP_H
#define SLUICE_PICKUP_H
#include <sys/types.h>

#define PICKUP_GROUP "sluicedrop"
#define PICKUP_DIR "maildrop"

struct conf;
struct event_base;
struct pickup;
struct qmsg;
struct queue;

typedef void (*pickup_stored_fn)(void *arg, const struct qmsg *m);

int pickup_prepare_spool(const char *spool, uid_t owner);
struct pickup *pickup_create(struct event_base *base, const struct conf *c, struct queue *q,
                             pickup_stored_fn stored, void *arg);
void pickup_scan(struct pickup *p);
struct dkim_signer;
/* dkim.sign: drop files are DKIM-signed (dkim/dkim.h, on its worker) before queue_put. The
 * signer must be freed before the queue is closed (main_teardown's order). */
void pickup_set_dkim(struct pickup *p, struct dkim_signer *d);
void pickup_free(struct pickup *p);
#endif
