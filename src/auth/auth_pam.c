/* auth_pam: the PAM backend. Each verification is one PAM transaction on a worker thread:
 * pam_start(service, user) -> PAM_RHOST = client address -> pam_authenticate() ->
 * pam_acct_mgmt() -> pam_end(). The conversation answers every hidden prompt
 * (PAM_PROMPT_ECHO_OFF) with the password and every visible one (PAM_PROMPT_ECHO_ON) with
 * the user name; messages are ignored. PAM_SILENT is passed and PAM_FAIL_DELAY is set to a
 * function that does not sleep: modules such as pam_unix would otherwise hold a worker for
 * two seconds per failure, and tarpitting failed logins is the SMTP server's job.
 *
 * Outcomes: PAM_SUCCESS from both calls is AUTH_OK with PAM_USER as the identity (a module
 * may canonicalise it). Credential and account refusals (PAM_AUTH_ERR, PAM_USER_UNKNOWN,
 * PAM_MAXTRIES, PAM_CRED_INSUFFICIENT, PAM_ACCT_EXPIRED, PAM_PERM_DENIED,
 * PAM_NEW_AUTHTOK_REQD, PAM_AUTHTOK_EXPIRED) are AUTH_FAIL; anything else (PAM_AUTHINFO_UNAVAIL,
 * PAM_SERVICE_ERR, PAM_SYSTEM_ERR, PAM_BUF_ERR, PAM_ABORT, ...) is AUTH_TEMPFAIL. The reason
 * is pam_strerror()'s text.
 *
 * Privileges: pam_unix can check other users' passwords only as root (its unix_chkpwd
 * helper checks just the caller's own); after sluice drops to its own user, use modules
 * that need no root (sssd, LDAP, pam_userdb with a readable database). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <security/pam_appl.h>

#include "auth/auth_int.h"
#include "core/xalloc.h"

struct auth_pam {
    char *service;
    struct auth_pool *pool;
};

struct auth_pam_job {
    struct auth_job job;
    char service[128];
    char user[SASL_FIELD_MAX + 1];
    char password[SASL_FIELD_MAX + 1];
    char client[AUTH_ADDR_MAX];
    int rc;                        /* the first failing PAM call's code, or PAM_SUCCESS */
    char out_user[SASL_FIELD_MAX + 1];
    char reason[AUTH_REASON_MAX];
};

/* PAM_FAIL_DELAY: no sleeping on a worker thread. */
static void auth_pam_nodelay(int status, unsigned int usec, void *arg)
{
    (void)status;
    (void)usec;
    (void)arg;
}

/* Frees n conversation answers. */
static void auth_pam_free_resp(struct pam_response *resp, int n)
{
    for (int i = 0; i < n; i++) {
        if (resp[i].resp) {
            OPENSSL_cleanse(resp[i].resp, strlen(resp[i].resp));
            free(resp[i].resp);
        }
    }
    free(resp);
}

/* The conversation: password for hidden prompts, user for visible ones. */
static int auth_pam_conv(int n, const struct pam_message **msg, struct pam_response **out,
                         void *arg)
{
    struct auth_pam_job *j = arg;
    if (n <= 0 || n > PAM_MAX_NUM_MSG)
        return PAM_CONV_ERR;
    struct pam_response *resp = calloc((size_t)n, sizeof *resp);
    if (resp == NULL)
        return PAM_BUF_ERR;
    for (int i = 0; i < n; i++) {
        const char *answer = NULL;
        if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF)
            answer = j->password;
        else if (msg[i]->msg_style == PAM_PROMPT_ECHO_ON)
            answer = j->user;
        if (answer && (resp[i].resp = strdup(answer)) == NULL) {
            auth_pam_free_resp(resp, n);
            return PAM_BUF_ERR;
        }
    }
    *out = resp;
    return PAM_SUCCESS;
}

/* Runs the PAM calls on an open handle; the first failure's code. */
static int auth_pam_run(struct auth_pam_job *j, pam_handle_t *h)
{
    int rc = pam_set_item(h, PAM_FAIL_DELAY, (const void *)auth_pam_nodelay);
    if (rc == PAM_SUCCESS && j->client[0])
        rc = pam_set_item(h, PAM_RHOST, j->client);
    if (rc == PAM_SUCCESS)
        rc = pam_authenticate(h, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
    if (rc == PAM_SUCCESS)
        rc = pam_acct_mgmt(h, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
    const void *u = NULL;
    if (rc == PAM_SUCCESS && pam_get_item(h, PAM_USER, &u) == PAM_SUCCESS && u)
        snprintf(j->out_user, sizeof j->out_user, "%s", (const char *)u);
    return rc;
}

/* Worker: one PAM transaction. */
static void auth_pam_work(struct auth_job *job)
{
    struct auth_pam_job *j = (struct auth_pam_job *)job;
    struct pam_conv conv = {auth_pam_conv, j};
    pam_handle_t *h = NULL;
    j->rc = pam_start(j->service, j->user, &conv, &h);
    if (j->rc == PAM_SUCCESS)
        j->rc = auth_pam_run(j, h);
    snprintf(j->reason, sizeof j->reason, "pam: %s", pam_strerror(h, j->rc));
    if (h)
        pam_end(h, j->rc);
    OPENSSL_cleanse(j->password, sizeof j->password);
}

/* Whether a PAM code refuses the credentials (rather than failing to check them). */
static bool auth_pam_refusal(int rc)
{
    switch (rc) {
    case PAM_AUTH_ERR:
    case PAM_USER_UNKNOWN:
    case PAM_MAXTRIES:
    case PAM_CRED_INSUFFICIENT:
    case PAM_ACCT_EXPIRED:
    case PAM_PERM_DENIED:
    case PAM_NEW_AUTHTOK_REQD:
    case PAM_AUTHTOK_EXPIRED:
        return true;
    }
    return false;
}

/* Loop: reports and frees the job. */
static void auth_pam_done(struct auth_job *job)
{
    struct auth_pam_job *j = (struct auth_pam_job *)job;
    if (job->req) {
        enum auth_result r = j->rc == PAM_SUCCESS ? AUTH_OK
                             : auth_pam_refusal(j->rc) ? AUTH_FAIL
                                                       : AUTH_TEMPFAIL;
        auth_req_finish(job->req, r, j->out_user[0] ? j->out_user : NULL, "%s", j->reason);
    }
    OPENSSL_cleanse(j, sizeof *j);
    free(j);
}

struct auth_pam *auth_pam_create(const char *service, struct auth_pool *pool)
{
    struct auth_pam *p = xcalloc(1, sizeof *p);
    p->service = xstrdup(service);
    p->pool = pool;
    return p;
}

void auth_pam_start(struct auth_pam *p, struct auth_req *req)
{
    struct auth_pam_job *j = xcalloc(1, sizeof *j);
    snprintf(j->service, sizeof j->service, "%s", p->service);
    snprintf(j->user, sizeof j->user, "%s", req->user);
    snprintf(j->password, sizeof j->password, "%s", req->password);
    snprintf(j->client, sizeof j->client, "%s", req->client);
    j->job.work = auth_pam_work;
    j->job.done = auth_pam_done;
    j->job.req = req;
    req->be = j;
    if (auth_pool_submit(p->pool, &j->job) < 0) {
        req->be = NULL;
        OPENSSL_cleanse(j, sizeof *j);
        free(j);
        auth_req_finish(req, AUTH_TEMPFAIL, NULL, "too many verifications queued");
    }
}

void auth_pam_cancel(struct auth_req *req)
{
    struct auth_pam_job *j = req->be;
    if (j)
        j->job.req = NULL;
}

void auth_pam_free(struct auth_pam *p)
{
    if (p == NULL)
        return;
    free(p->service);
    free(p);
}
