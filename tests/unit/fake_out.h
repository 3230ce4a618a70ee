/* fake_out: the world outside deliver/ for unit tests, without sockets or DNS: a fake wall
 * clock, a router (deliver_router) and a transport (deliver_transport) that play scripted
 * destinations, and a real queue in a temporary directory for message contents.
 *
 * Destinations: fake_dest_add(f, "a") makes the destination of domain "a.test" (one host
 * named "a"). Its behaviour: `refuse` (every connect fails TEMPFAIL "4.4.1 connection
 * refused"; PERMFAIL "554 5.7.1 go away" with refuse_perm), `limit` (at most that many
 * sessions at once: a connect beyond fails TEMPFAIL "421 4.7.0 too many connections", as
 * peer.py --max-connections), `dsn` (announces DSN: passed_on). Recipients whose local part
 * starts with "temp" get "451 4.2.0 try later", with "perm" "550 5.1.1 no such user", others
 * "250 2.0.0 ok" (the first two at RCPT, the last at DATA: smtpc_txn.stage). A domain that is not "NAME.test" of a known destination gets PERMFAIL
 * "5.4.4 no such domain" from the router.
 *
 * Nothing happens by itself, as on a network nothing happens before the loop runs: router
 * answers, connects, transactions and QUITs wait until fake_run(), which plays them in
 * rounds until nothing is left to do: each round first answers every pending lookup, then
 * gives every open connection one step, in the order they were opened (connect: refused, or
 * a session that asks next() at once; play the transaction taken; ask next() again; QUIT).
 * So connections opened together progress together, as on a network. resume() and abort()
 * behave as smtpc's: resume asks next() at once, abort reports and closes before it
 * returns.
 * Everything that happened is recorded: per destination the connections opened, the most
 * open and in session at once, and every transaction (recipient count, sender, first
 * recipient, the start of the content) in order. */
#ifndef FAKE_OUT_H
#define FAKE_OUT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "deliver/deliver.h"

#define FAKE_DESTS_MAX 8
#define FAKE_TXNS_MAX 512

struct fake_txn {
    int dest; /* index of the destination */
    int conn; /* id of the connection that carried it */
    size_t nrcpt;
    char sender[300];
    char rcpt0[128]; /* first recipient */
    char body[4096]; /* the start of the content */
};

struct fake_dest {
    char name[32];
    struct dest d;
    bool refuse, refuse_perm, dsn;
    unsigned limit;
    /* recorded */
    unsigned opened, refused, open, sessions, peak_open, peak_sessions;
};

struct fake_out {
    struct event_base *base;
    struct queue *q;
    char dir[64];
    struct fake_dest dests[FAKE_DESTS_MAX];
    int ndests;
    struct fake_conn **conns;
    int nconns;
    struct fake_route *routes; /* pending router answers, FIFO */
    struct fake_route **routes_tail;
    struct fake_txn txns[FAKE_TXNS_MAX];
    int ntxns;
    unsigned open, peak_open; /* connections of every destination */
    struct deliver_io io;
};

/* The fake wall clock (ms); tests move it. */
extern int64_t fake_clock;
int64_t fake_now(void);

/* A new world with an event loop and an empty queue in a temporary directory. */
struct fake_out *fake_out_create(void);
/* Removes everything (the queue directory too). Call after deliver_free. */
void fake_out_free(struct fake_out *f);
/* Adds a destination; returns its index. */
int fake_dest_add(struct fake_out *f, const char *name);
/* Stores a message content of a few lines in the queue (runs the loop until it is
 * durable); returns its queue id. */
uint64_t fake_put_body(struct fake_out *f);
/* Plays everything pending until nothing is left. Returns the number of steps played. */
int fake_run(struct fake_out *f);
/* The same, for at most `rounds` rounds (to stop with a transaction in flight). */
int fake_run_for(struct fake_out *f, int rounds);
/* Connections still open (connecting, in session or idle). */
int fake_open_conns(const struct fake_out *f);
/* Runs the event loop once (blocking until a timer such as idlemax fires), then fake_run. */
void fake_loop_once(struct fake_out *f);
#endif
