/* reload: which keys a running daemon cannot change (its reload keeps their running values
 * and says so). conf_keep_fixed() is declared in conf.h. Listeners, the spool, the user,
 * resolver forwarders, the open log files and the AUTH verifier's settings are bound at
 * start; everything else a reload applies to new work. */
#include <stdbool.h>
#include <string.h>

#include "conf/conf.h"
#include "core/log.h"

/* True when two optional strings differ. */
static bool conf_str_differ(const char *a, const char *b)
{
    return (a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0);
}

/* True when two string lists differ. */
static bool conf_list_differ(char **a, size_t na, char **b, size_t nb)
{
    if (na != nb)
        return true;
    for (size_t i = 0; i < na; i++)
        if (strcmp(a[i], b[i]) != 0)
            return true;
    return false;
}

/* True when two log specs differ in what the open log was made from. */
static bool conf_logspec_differ(const struct logspec *a, const struct logspec *b)
{
    return conf_str_differ(a->path, b->path) || a->rot != b->rot || a->flush != b->flush ||
           a->nnets != b->nnets || a->ndomains != b->ndomains;
}

#define CONF_SWAP(a, b)                                                                        \
    do {                                                                                       \
        __typeof__(a) t_ = (a);                                                                \
        (a) = (b);                                                                             \
        (b) = t_;                                                                              \
    } while (0)

/* A key that cannot change live: the caller gives nc the running value (swapped with
 * old's, so each configuration still frees what it holds); the log says so unless quiet. */
static bool conf_keep_note(const char *key, bool differ, bool quiet)
{
    if (differ && !quiet)
        log_warn("reload: %s changed: takes effect at the next start", key);
    return differ;
}

/* Gives every restart-bound key of nc the running value of old (quiet: swapping back after
 * a refusal, no log). Calling it twice undoes it. */
void conf_keep_fixed(struct conf *nc, struct conf *old, bool quiet)
{
    if (conf_keep_note("spool", conf_str_differ(nc->spool, old->spool), quiet))
        CONF_SWAP(nc->spool, old->spool);
    if (conf_keep_note("user", conf_str_differ(nc->user, old->user), quiet))
        CONF_SWAP(nc->user, old->user);
    if (conf_keep_note("ctl.socket", conf_str_differ(nc->ctl.socket, old->ctl.socket), quiet))
        CONF_SWAP(nc->ctl.socket, old->ctl.socket);
    if (conf_keep_note("mailq_users", nc->mailq_users != old->mailq_users, quiet))
        CONF_SWAP(nc->mailq_users, old->mailq_users);
#define CONF_KEEP_LIST(f, cnt, key)                                                            \
    if (conf_keep_note(key, conf_list_differ(nc->f, nc->cnt, old->f, old->cnt), quiet)) {      \
        CONF_SWAP(nc->f, old->f);                                                              \
        CONF_SWAP(nc->cnt, old->cnt);                                                          \
    }
    CONF_KEEP_LIST(smtpd.listen, smtpd.nlisten, "smtpd.listen")
    CONF_KEEP_LIST(smtpd.submission_listen, smtpd.nsubmission_listen, "smtpd.submission_listen")
    CONF_KEEP_LIST(smtpd.tls_listen, smtpd.ntls_listen, "smtpd.tls_listen")
    CONF_KEEP_LIST(resolver.forwarders, resolver.nforwarders, "resolver.forwarders")
    CONF_KEEP_LIST(metrics.listen, metrics.nlisten, "metrics.listen")
    CONF_KEEP_LIST(ctl.listen, ctl.nlisten, "ctl.listen")
#undef CONF_KEEP_LIST
#define CONF_KEEP_LOG(f, key)                                                                  \
    if (conf_keep_note(key, conf_logspec_differ(&nc->f, &old->f), quiet))                      \
        CONF_SWAP(nc->f, old->f);
    CONF_KEEP_LOG(smtpd.transcript, "smtpd.transcript")
    CONF_KEEP_LOG(deliver.audit, "deliver.audit")
    CONF_KEEP_LOG(deliver.event_log, "deliver.event_log")
    CONF_KEEP_LOG(deliver.transcript, "deliver.client.transcript")
#undef CONF_KEEP_LOG
    struct smtpd_auth_conf *na = &nc->smtpd.auth, *oa = &old->smtpd.auth;
    bool auth = conf_str_differ(na->backend, oa->backend) || conf_str_differ(na->path, oa->path) ||
                conf_str_differ(na->pam_service, oa->pam_service) || na->timeout != oa->timeout ||
                na->workers != oa->workers;
    if (conf_keep_note("smtpd.auth (backend, path, pam_service, timeout or workers)", auth, quiet)) {
        CONF_SWAP(na->backend, oa->backend);
        CONF_SWAP(na->path, oa->path);
        CONF_SWAP(na->pam_service, oa->pam_service);
        CONF_SWAP(na->timeout, oa->timeout);
        CONF_SWAP(na->workers, oa->workers);
    }
}

