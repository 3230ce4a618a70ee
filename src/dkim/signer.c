/* signer: the signing thread of the daemon (contract in dkim.h).
 *
 * One thread takes jobs from a FIFO, signs each with the key set it was queued with (a
 * reference: a reload meanwhile does not change it), appends it to the done list and
 * activates done_ev (thread-safe through libevent's pthreads support, as auth_pool.c); the
 * loop then runs each done() in completion order and logs the outcome. The number of jobs
 * is bounded by the sessions waiting for their 250 (one message each).
 * dkim_signer_reload() swaps the current set under the lock; the old one is freed when its last job
 * is done. dkim_signer_free() stops the thread after its current job, joins it, and gives every job
 * left its done() with the message unchanged. */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "conf/conf.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "dkim/dkim.h"

struct dkim_set {
    struct dkim_keys *keys;
    unsigned refs; /* under dkim.mu */
};

struct dkim_job {
    struct dkim_job *next;
    struct dkim_set *set;
    char label[64];
    char *msg;
    size_t len;
    int nsig; /* signatures added; -1: failed; 0: none applied */
    char why[256];
    dkim_done_fn done;
    void *arg;
};

struct dkim_signer {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct dkim_job *head, *tail;
    struct dkim_job *done_head, *done_tail;
    bool stopping;
    struct dkim_set *cur;
    struct event *done_ev;
    pthread_t thread;
};

/* Appends job to a FIFO. */
static void dkim_append(struct dkim_job **head, struct dkim_job **tail, struct dkim_job *job)
{
    job->next = NULL;
    if (*tail)
        (*tail)->next = job;
    else
        *head = job;
    *tail = job;
}

/* Drops a reference to set (under d->mu); the last one frees it. */
static void dkim_set_unref(struct dkim_set *set)
{
    if (--set->refs > 0)
        return;
    dkim_keys_free(set->keys);
    free(set);
}

/* Signs job->msg with its key set (worker thread, without the lock). */
static void dkim_job_run(struct dkim_job *job)
{
    char *out = NULL;
    size_t outlen = 0;
    job->nsig = dkim_keys_sign(job->set->keys, job->msg, job->len, &out, &outlen, job->why,
                               sizeof job->why);
    if (job->nsig > 0) {
        free(job->msg);
        job->msg = out;
        job->len = outlen;
    }
}

/* The worker thread: runs jobs until stopped. */
static void *dkim_main(void *arg)
{
    struct dkim_signer *d = arg;
    pthread_setname_np(pthread_self(), "sluice-dkim"); /* top -H, ps -L */
    pthread_mutex_lock(&d->mu);
    for (;;) {
        while (!d->head && !d->stopping)
            pthread_cond_wait(&d->cv, &d->mu);
        if (d->stopping)
            break;
        struct dkim_job *job = d->head;
        d->head = job->next;
        if (!d->head)
            d->tail = NULL;
        pthread_mutex_unlock(&d->mu);
        dkim_job_run(job);
        pthread_mutex_lock(&d->mu);
        dkim_append(&d->done_head, &d->done_tail, job);
        event_active(d->done_ev, EV_READ, 0);
    }
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

/* Logs a finished job, hands its message back and frees it. */
static void dkim_job_finish(struct dkim_signer *d, struct dkim_job *job)
{
    char why[sizeof job->why * 4 + 1];
    log_sanitize(why, sizeof why, job->why, strlen(job->why));
    if (job->nsig > 0)
        log_info("%s: dkim: %d signature%s added", job->label, job->nsig, job->nsig > 1 ? "s" : "");
    else if (job->nsig < 0)
        log_warn("%s: dkim: signing failed, message sent unsigned: %s", job->label, why);
    else
        log_debug("%s: dkim: not signed: %s", job->label, why);
    pthread_mutex_lock(&d->mu);
    dkim_set_unref(job->set);
    pthread_mutex_unlock(&d->mu);
    job->done(job->arg, job->msg, job->len);
    free(job);
}

/* Loop: hands every finished job back. */
static void dkim_on_done(evutil_socket_t fd, short what, void *arg)
{
    struct dkim_signer *d = arg;
    (void)fd;
    (void)what;
    pthread_mutex_lock(&d->mu);
    struct dkim_job *list = d->done_head;
    d->done_head = d->done_tail = NULL;
    pthread_mutex_unlock(&d->mu);
    while (list) {
        struct dkim_job *next = list->next;
        dkim_job_finish(d, list);
        list = next;
    }
}

struct dkim_signer *dkim_signer_create(struct event_base *base, const struct conf *c, char *err,
                                       size_t errlen)
{
    struct dkim_keys *keys = dkim_keys_load(c, err, errlen);
    if (!keys)
        return NULL;
    struct dkim_signer *d = xcalloc(1, sizeof *d);
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->cv, NULL);
    d->cur = xcalloc(1, sizeof *d->cur);
    d->cur->keys = keys;
    d->cur->refs = 1;
    d->done_ev = event_new(base, -1, 0, dkim_on_done, d);
    if (!d->done_ev || pthread_create(&d->thread, NULL, dkim_main, d) != 0)
        log_fatal("dkim: cannot start the signing thread");
    return d;
}

int dkim_signer_reload(struct dkim_signer *d, const struct conf *c, char *err, size_t errlen)
{
    struct dkim_keys *keys = dkim_keys_load(c, err, errlen);
    if (!keys)
        return -1;
    struct dkim_set *set = xcalloc(1, sizeof *set);
    set->keys = keys;
    set->refs = 1;
    pthread_mutex_lock(&d->mu);
    dkim_set_unref(d->cur);
    d->cur = set;
    pthread_mutex_unlock(&d->mu);
    return 0;
}

void dkim_signer_submit(struct dkim_signer *d, const char *label, char *msg, size_t len,
                        dkim_done_fn done, void *arg)
{
    struct dkim_job *job = xcalloc(1, sizeof *job);
    snprintf(job->label, sizeof job->label, "%s", label);
    job->msg = msg;
    job->len = len;
    job->done = done;
    job->arg = arg;
    pthread_mutex_lock(&d->mu);
    job->set = d->cur;
    d->cur->refs++;
    dkim_append(&d->head, &d->tail, job);
    pthread_cond_signal(&d->cv);
    pthread_mutex_unlock(&d->mu);
}

void dkim_signer_free(struct dkim_signer *d)
{
    if (!d)
        return;
    pthread_mutex_lock(&d->mu);
    d->stopping = true;
    pthread_cond_broadcast(&d->cv);
    pthread_mutex_unlock(&d->mu);
    pthread_join(d->thread, NULL);
    dkim_on_done(-1, 0, d); /* signed before the stop */
    while (d->head) {       /* never started: unchanged */
        struct dkim_job *job = d->head;
        d->head = job->next;
        snprintf(job->why, sizeof job->why, "stopping");
        dkim_job_finish(d, job);
    }
    event_free(d->done_ev);
    dkim_set_unref(d->cur);
    pthread_mutex_destroy(&d->mu);
    pthread_cond_destroy(&d->cv);
    free(d);
}
