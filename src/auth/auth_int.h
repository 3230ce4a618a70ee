/* auth_int: what the auth front (auth.c) and its backends share; not for other modules.
 *
 * A struct auth_req is one verification, owned by auth.c. A backend's start function takes
 * it and later calls auth_req_finish() exactly once on the loop thread, unless auth.c
 * cancels it first through the backend's cancel function (after which the backend must
 * never touch it again). auth_req_finish() only records the outcome and schedules the
 * callback, so backends may call it from inside their start function.
 *
 * The worker pool (auth_pool.c) runs jobs on threads: work() on a worker, done() back on
 * the loop. A job must carry copies of everything work() reads; done() frees the job and
 * finishes job->req unless that was cancelled (set to NULL on the loop). */
#ifndef SLUICE_AUTH_INT_H
#define SLUICE_AUTH_INT_H
#include <stdbool.h>
#include <stdint.h>

#include "auth/auth.h"
#include "proto/sasl.h"

#define AUTH_ADDR_MAX 64

struct event;

struct auth_req {
    struct auth *a;
    uint64_t id;
    auth_done_fn cb;
    void *arg;
    struct auth_req *prev, *next; /* the front's list of live requests */
    struct event *ev;             /* fires the callback */
    void *be;                     /* the backend's state for this request */
    bool finished;
    enum auth_result result;
    char out_user[SASL_FIELD_MAX + 1];
    char reason[AUTH_REASON_MAX];
    /* the request, copied */
    char authzid[SASL_FIELD_MAX + 1];
    char user[SASL_FIELD_MAX + 1];
    char password[SASL_FIELD_MAX + 1];
    char client[AUTH_ADDR_MAX];
    char local[AUTH_ADDR_MAX];
    bool secured;
};

/* Records the outcome of req and schedules its callback. user NULL: req->user. */
void auth_req_finish(struct auth_req *req, enum auth_result r, const char *user,
                     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

struct auth_job {
    void (*work)(struct auth_job *job); /* on a worker thread */
    void (*done)(struct auth_job *job); /* on the loop: finish job->req (if any), free */
    struct auth_req *req;               /* NULL once cancelled */
    struct auth_job *next;
};

struct auth_pool;
struct event_base;
struct auth_pool *auth_pool_create(struct event_base *base, unsigned nthreads, char *err,
                                   size_t errlen);
/* Queues a job; -1 when the queue is full (the caller finishes the request itself). */
int auth_pool_submit(struct auth_pool *p, struct auth_job *job);
/* Stops and joins the workers; jobs not yet done get their done() with req NULL. */
void auth_pool_free(struct auth_pool *p);

struct auth_file;
struct auth_file *auth_file_create(const char *path, bool fields, struct auth_pool *pool,
                                   char *err, size_t errlen);
int auth_file_reload(struct auth_file *f, char *err, size_t errlen);
void auth_file_start(struct auth_file *f, struct auth_req *req);
void auth_file_cancel(struct auth_req *req);
void auth_file_free(struct auth_file *f);

struct auth_pam;
struct auth_pam *auth_pam_create(const char *service, struct auth_pool *pool);
void auth_pam_start(struct auth_pam *p, struct auth_req *req);
void auth_pam_cancel(struct auth_req *req);
void auth_pam_free(struct auth_pam *p);

struct auth_pipe;
struct auth_pipe *auth_pipe_create(struct event_base *base, const char *program,
                                   unsigned timeout_ms, char *err, size_t errlen);
void auth_pipe_start(struct auth_pipe *p, struct auth_req *req);
void auth_pipe_cancel(struct auth_pipe *p, struct auth_req *req);
void auth_pipe_free(struct auth_pipe *p);

struct auth_dovecot;
struct auth_dovecot *auth_dovecot_create(struct event_base *base, const char *socket,
                                         const char *service, unsigned timeout_ms, char *err,
                                         size_t errlen);
void auth_dovecot_start(struct auth_dovecot *d, struct auth_req *req);
void auth_dovecot_cancel(struct auth_dovecot *d, struct auth_req *req);
void auth_dovecot_free(struct auth_dovecot *d);
#endif
