/* suppress: the suppression store (contract in suppress.h).
 *
 * One LMDB environment of its own (not a database of the queue's: the queue's writer thread
 * and group commit stay the queue's, and a suppression list of millions of entries never
 * grows the queue's file). Lookups use one read transaction kept reset between lookups
 * (mdb_txn_renew: no allocation per lookup). In the daemon, additions wait in a list that
 * the writer thread commits in one write transaction each time it wakes (grouped writes;
 * the loop only takes a mutex). The tools' additions and removals are synchronous; the
 * daemon's operator edits (ctl) go to the writer thread too (suppress_edit) and complete
 * on the loop, once committed. */
#include "suppress/suppress.h"

#include <errno.h>
#include <fnmatch.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <event2/event.h>

#include "conf/conf.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "proto/status.h"

#define SUPPRESS_MAPSIZE ((size_t)4 << 30)

struct suppress_job {
    struct suppress_job *next;
    struct suppress_entry e;
    /* an operator's edit (suppress_edit): remove instead of put, and its completion */
    bool remove;
    suppress_done_fn done;
    void *arg;
    int rc;
};

struct suppress {
    MDB_env *env;
    MDB_dbi dbi;
    MDB_txn *rtxn; /* the lookups' read transaction, reset between lookups */
    bool daemon;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct suppress_job *head; /* waiting for the writer */
    struct suppress_job *edits; /* operator edits, committed one by one by the writer */
    struct suppress_job *finished; /* edits done, their callbacks due on the loop */
    struct event *done_ev;
    bool stopping;
};

/* addr lower-cased into key (SUPPRESS_ADDR_MAX + 1 bytes); its length, or 0 when too long. */
static size_t suppress_key(const char *addr, char *key)
{
    size_t n = strlen(addr);
    if (n == 0 || n > SUPPRESS_ADDR_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        key[i] = (char)(addr[i] >= 'A' && addr[i] <= 'Z' ? addr[i] + 32 : addr[i]);
    key[n] = '\0';
    return n;
}

/* Decodes a stored value into e (key: the address). */
static void suppress_decode(const MDB_val *k, const MDB_val *v, struct suppress_entry *e)
{
    size_t kn = k->mv_size < SUPPRESS_ADDR_MAX ? k->mv_size : SUPPRESS_ADDR_MAX;
    memcpy(e->addr, k->mv_data, kn);
    e->addr[kn] = '\0';
    uint64_t at = 0;
    const unsigned char *p = v->mv_data;
    for (size_t i = 0; i < 8 && i < v->mv_size; i++)
        at |= (uint64_t)p[i] << (8 * i);
    e->at = (int64_t)at;
    size_t rn = v->mv_size > 8 ? v->mv_size - 8 : 0;
    rn = rn < SUPPRESS_REASON_MAX ? rn : SUPPRESS_REASON_MAX;
    memcpy(e->reason, p + 8, rn);
    e->reason[rn] = '\0';
}

/* Writes one entry inside txn. */
static int suppress_put(struct suppress *s, MDB_txn *txn, const struct suppress_entry *e)
{
    char key[SUPPRESS_ADDR_MAX + 1];
    unsigned char val[8 + SUPPRESS_REASON_MAX];
    size_t kn = suppress_key(e->addr, key), rn = strlen(e->reason);
    if (kn == 0)
        return EINVAL;
    for (size_t i = 0; i < 8; i++)
        val[i] = (unsigned char)((uint64_t)e->at >> (8 * i));
    memcpy(val + 8, e->reason, rn);
    MDB_val k = {kn, key}, v = {8 + rn, val};
    return mdb_put(txn, s->dbi, &k, &v, 0);
}

/* Writes one entry in its own transaction: 0 or -1. */
static int suppress_commit_one(struct suppress *s, const struct suppress_entry *e)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc == 0)
        rc = suppress_put(s, txn, e);
    rc = rc == 0 ? mdb_txn_commit(txn) : (mdb_txn_abort(txn), rc);
    if (rc != 0)
        log_warn("suppress: cannot record %s: %s", e->addr, mdb_strerror(rc));
    return rc == 0 ? 0 : -1;
}

/* Commits a list of entries in one write transaction; frees the list. */
static int suppress_commit(struct suppress *s, struct suppress_job *list)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    for (struct suppress_job *j = list; rc == 0 && j; j = j->next)
        rc = suppress_put(s, txn, &j->e);
    rc = rc == 0 ? mdb_txn_commit(txn) : (mdb_txn_abort(txn), rc);
    while (list) {
        struct suppress_job *next = list->next;
        if (rc != 0)
            log_warn("suppress: cannot record %s: %s", list->e.addr, mdb_strerror(rc));
        free(list);
        list = next;
    }
    return rc == 0 ? 0 : -1;
}

/* Writer thread: runs operator edits in order, then hands them to the loop (done_ev). */
static void suppress_run_edits(struct suppress *s, struct suppress_job *edits)
{
    struct suppress_job *rev = NULL;
    while (edits) { /* queued newest first: run them in the order given */
        struct suppress_job *next = edits->next;
        edits->next = rev;
        rev = edits;
        edits = next;
    }
    for (struct suppress_job *j = rev; j; j = j->next)
        j->rc = j->remove ? suppress_remove(s, j->e.addr) : suppress_commit_one(s, &j->e);
    pthread_mutex_lock(&s->mu);
    struct suppress_job **tail = &s->finished;
    while (*tail)
        tail = &(*tail)->next;
    *tail = rev;
    pthread_mutex_unlock(&s->mu);
    event_active(s->done_ev, EV_READ, 0);
}

/* Loop: calls the finished edits' callbacks. */
static void suppress_on_done(evutil_socket_t fd, short what, void *arg)
{
    struct suppress *s = arg;
    (void)fd, (void)what;
    pthread_mutex_lock(&s->mu);
    struct suppress_job *list = s->finished;
    s->finished = NULL;
    pthread_mutex_unlock(&s->mu);
    while (list) {
        struct suppress_job *next = list->next;
        list->done(list->arg, list->rc);
        free(list);
        list = next;
    }
}

/* The writer thread: commits what waits, in groups, until stopped (then once more). */
static void *suppress_main(void *arg)
{
    struct suppress *s = arg;
    pthread_setname_np(pthread_self(), "sluice-suppress"); /* top -H, ps -L */
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->head && !s->edits && !s->stopping)
            pthread_cond_wait(&s->cv, &s->mu);
        struct suppress_job *list = s->head, *edits = s->edits;
        s->head = s->edits = NULL;
        bool stop = s->stopping;
        pthread_mutex_unlock(&s->mu);
        if (list)
            suppress_commit(s, list);
        if (edits)
            suppress_run_edits(s, edits);
        pthread_mutex_lock(&s->mu);
        if (stop && !s->head && !s->edits)
            break;
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* Opens the environment and its database. */
static int suppress_open_env(struct suppress *s, const char *spool, char *err, size_t errlen)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/suppress.mdb", spool) >= sizeof path) {
        snprintf(err, errlen, "spool path too long");
        return -1;
    }
    if (mkdir(spool, 0700) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "%s: %s", spool, strerror(errno));
        return -1;
    }
    MDB_txn *txn = NULL;
    int rc = mdb_env_create(&s->env);
    if (rc == 0)
        rc = mdb_env_set_mapsize(s->env, SUPPRESS_MAPSIZE);
    if (rc == 0)
        rc = mdb_env_open(s->env, path, MDB_NOSUBDIR | MDB_NOTLS, 0600);
    if (rc == 0)
        rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc == 0)
        rc = mdb_dbi_open(txn, NULL, 0, &s->dbi);
    if (rc == 0)
        rc = mdb_txn_commit(txn);
    else if (txn)
        mdb_txn_abort(txn);
    if (rc != 0) {
        snprintf(err, errlen, "%s: %s", path, mdb_strerror(rc));
        return -1;
    }
    int dead = 0;
    mdb_reader_check(s->env, &dead);
    return 0;
}

struct suppress *suppress_open(const char *spool, struct event_base *base, char *err, size_t errlen)
{
    struct suppress *s = xcalloc(1, sizeof *s);
    if (suppress_open_env(s, spool, err, errlen) < 0) {
        if (s->env)
            mdb_env_close(s->env);
        free(s);
        return NULL;
    }
    s->daemon = base != NULL;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    if (s->daemon && pthread_create(&s->thread, NULL, suppress_main, s) != 0)
        log_fatal("suppress: cannot start the writer thread");
    if (s->daemon)
        s->done_ev = event_new(base, -1, 0, suppress_on_done, s);
    return s;
}

void suppress_close(struct suppress *s)
{
    if (!s)
        return;
    if (s->daemon) {
        pthread_mutex_lock(&s->mu);
        s->stopping = true;
        pthread_cond_signal(&s->cv);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->thread, NULL);
        while (s->finished) { /* committed; their askers (ctl) are gone by now */
            struct suppress_job *next = s->finished->next;
            free(s->finished);
            s->finished = next;
        }
        event_free(s->done_ev);
    }
    if (s->rtxn)
        mdb_txn_abort(s->rtxn);
    mdb_env_close(s->env);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}

int suppress_find(struct suppress *s, const char *addr, int64_t now, uint64_t duration,
                  struct suppress_entry *e)
{
    char key[SUPPRESS_ADDR_MAX + 1];
    size_t kn = suppress_key(addr, key);
    if (kn == 0)
        return 0;
    int rc = s->rtxn ? mdb_txn_renew(s->rtxn) : mdb_txn_begin(s->env, NULL, MDB_RDONLY, &s->rtxn);
    if (rc != 0) {
        log_warn("suppress: lookup: %s", mdb_strerror(rc));
        return -1;
    }
    MDB_val k = {kn, key}, v;
    rc = mdb_get(s->rtxn, s->dbi, &k, &v);
    if (rc == 0)
        suppress_decode(&k, &v, e);
    mdb_txn_reset(s->rtxn);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc != 0) {
        log_warn("suppress: lookup: %s", mdb_strerror(rc));
        return -1;
    }
    return e->at + (int64_t)duration > now; /* expired entries stay until removed */
}

int suppress_add(struct suppress *s, const char *addr, int64_t at, const char *reason)
{
    struct suppress_job *j = xcalloc(1, sizeof *j);
    if (suppress_key(addr, j->e.addr) == 0) {
        free(j);
        return -1;
    }
    j->e.at = at;
    snprintf(j->e.reason, sizeof j->e.reason, "%s", reason);
    if (!s->daemon)
        return suppress_commit(s, j);
    pthread_mutex_lock(&s->mu);
    j->next = s->head;
    s->head = j;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

int suppress_remove(struct suppress *s, const char *addr)
{
    char key[SUPPRESS_ADDR_MAX + 1];
    size_t kn = suppress_key(addr, key);
    MDB_txn *txn;
    if (kn == 0)
        return 0;
    int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc != 0)
        return -1;
    MDB_val k = {kn, key};
    rc = mdb_del(txn, s->dbi, &k, NULL);
    if (rc != 0) {
        mdb_txn_abort(txn);
        return rc == MDB_NOTFOUND ? 0 : -1;
    }
    return mdb_txn_commit(txn) == 0 ? 1 : -1;
}

int suppress_edit(struct suppress *s, bool add, const char *addr, int64_t at,
                  const char *reason, suppress_done_fn done, void *arg)
{
    struct suppress_job *j = xcalloc(1, sizeof *j);
    if (!s->daemon || suppress_key(addr, j->e.addr) == 0) {
        free(j);
        return -1;
    }
    j->e.at = at;
    snprintf(j->e.reason, sizeof j->e.reason, "%s", reason ? reason : "");
    j->remove = !add;
    j->done = done;
    j->arg = arg;
    pthread_mutex_lock(&s->mu);
    j->next = s->edits;
    s->edits = j;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

int suppress_walk(struct suppress *s, int (*fn)(void *arg, const struct suppress_entry *e),
                  void *arg)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k, v;
    struct suppress_entry e;
    if (mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn) != 0)
        return -1;
    if (mdb_cursor_open(txn, s->dbi, &cur) != 0) {
        mdb_txn_abort(txn);
        return -1;
    }
    int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    while (rc == 0) {
        suppress_decode(&k, &v, &e);
        if (fn(arg, &e) != 0)
            break;
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return 0;
}

bool suppress_note_bounce(struct suppress *s, const struct conf *c, const char *addr,
                          const char *reply, int64_t now)
{
    char st[STATUS_MAX];
    struct suppress_entry e;
    if (!s || !c->suppression.enabled)
        return false;
    status_of(reply, OUTCOME_PERMFAIL, st);
    size_t i = 0;
    while (i < c->suppression.ncodes && fnmatch(c->suppression.codes[i], st, 0) != 0)
        i++;
    if (i == c->suppression.ncodes || suppress_find(s, addr, now, c->suppression.duration, &e) != 0)
        return false;
    char a[SUPPRESS_ADDR_MAX * 4 + 1];
    log_info("suppress: <%s> recorded (%s): later mail to it fails at once",
             log_sanitize(a, sizeof a, addr, strlen(addr)), st);
    return suppress_add(s, addr, now, reply) == 0;
}
