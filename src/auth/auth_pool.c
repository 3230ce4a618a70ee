/* auth_pool: a small fixed pool of worker threads for the blocking parts of verification
 * (crypt_rn of slow hashes, PAM conversations), so the event loop never waits on them.
 *
 * Jobs go into one FIFO (at most AUTH_POOL_QUEUE_MAX waiting; beyond that
 * auth_pool_submit() refuses and the caller answers TEMPFAIL at once, so a flood of AUTH
 * attempts cannot queue unbounded memory and latency). A worker takes a job, runs work(),
 * appends it to the done list and activates done_ev (thread-safe through libevent's
 * pthreads support); the loop then runs each done() in completion order.
 * auth_pool_free() stops the workers after their current job, joins them, and gives every
 * job still queued or done its done() (with req NULL: the front has cancelled all). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "auth/auth_int.h"
#include "core/log.h"
#include "core/xalloc.h"

#define AUTH_POOL_QUEUE_MAX 4096

struct auth_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct auth_job *head, *tail; /* waiting */
    size_t nwaiting;
    struct auth_job *done_head, *done_tail;
    bool stopping;
    struct event *done_ev;
    pthread_t *threads;
    unsigned nthreads;
};

/* Appends job to a singly linked FIFO. */
static void auth_pool_append(struct auth_job **head, struct auth_job **tail,
                             struct auth_job *job)
{
    job->next = NULL;
    if (*tail)
        (*tail)->next = job;
    else
        *head = job;
    *tail = job;
}

/* Worker: runs jobs until stopped. */
static void *auth_pool_main(void *arg)
{
    struct auth_pool *p = arg;
    pthread_setname_np(pthread_self(), "sluice-auth"); /* top -H, ps -L */
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (p->head == NULL && !p->stopping)
            pthread_cond_wait(&p->cv, &p->mu);
        if (p->stopping)
            break;
        struct auth_job *job = p->head;
        p->head = job->next;
        if (p->head == NULL)
            p->tail = NULL;
        p->nwaiting--;
        pthread_mutex_unlock(&p->mu);
        job->work(job);
        pthread_mutex_lock(&p->mu);
        auth_pool_append(&p->done_head, &p->done_tail, job);
        event_active(p->done_ev, EV_READ, 0);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* Loop: hands every finished job back to its owner. */
static void auth_pool_on_done(evutil_socket_t fd, short what, void *arg)
{
    struct auth_pool *p = arg;
    (void)fd;
    (void)what;
    pthread_mutex_lock(&p->mu);
    struct auth_job *list = p->done_head;
    p->done_head = p->done_tail = NULL;
    pthread_mutex_unlock(&p->mu);
    while (list) {
        struct auth_job *job = list;
        list = job->next;
        job->done(job);
    }
}

struct auth_pool *auth_pool_create(struct event_base *base, unsigned nthreads, char *err,
                                   size_t errlen)
{
    struct auth_pool *p = xcalloc(1, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->done_ev = event_new(base, -1, 0, auth_pool_on_done, p);
    if (!p->done_ev)
        log_panic("auth: event_new failed");
    p->threads = xcalloc(nthreads, sizeof *p->threads);
    for (unsigned i = 0; i < nthreads; i++) {
        int e = pthread_create(&p->threads[i], NULL, auth_pool_main, p);
        if (e != 0) {
            snprintf(err, errlen, "auth: cannot start worker thread: %s", strerror(e));
            auth_pool_free(p);
            return NULL;
        }
        p->nthreads++;
    }
    return p;
}

int auth_pool_submit(struct auth_pool *p, struct auth_job *job)
{
    pthread_mutex_lock(&p->mu);
    if (p->nwaiting >= AUTH_POOL_QUEUE_MAX) {
        pthread_mutex_unlock(&p->mu);
        return -1;
    }
    auth_pool_append(&p->head, &p->tail, job);
    p->nwaiting++;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return 0;
}

void auth_pool_free(struct auth_pool *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    /* no thread is left: the lists are ours */
    struct auth_job *lists[2] = {p->done_head, p->head};
    for (int k = 0; k < 2; k++) {
        while (lists[k]) {
            struct auth_job *job = lists[k];
            lists[k] = job->next;
            job->req = NULL;
            job->done(job);
        }
    }
    event_free(p->done_ev);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->threads);
    free(p);
}
