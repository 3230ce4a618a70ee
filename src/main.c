/* main: wiring only. `sluice run` builds the daemon from its modules (queue, dns, route,
 * deliver, sched, smtpd) on one libevent loop; the other subcommands are in tools/.
 *
 *   sluice run [-c FILE] [-v]      daemon in the foreground, logs to log.target (stderr)
 *   sluice check-config [-c FILE]  "ok", or the error on stderr (exit 78)
 *   sluice config-keys             every configuration key: type, default, bounds, meaning
 *   sluice submit [-c FILE] [-f SENDER] [-t] [-i] [RCPT...]
 *   sluice mailq [-c FILE]
 *   sluice verp-decode [-c FILE] [-d DELIMS] [-s] ADDRESS
 *   sluice ctl [-c FILE] COMMAND [ARG...]   (tools/ctl.c; the daemon's side is src/ctl/)
 *   sluice cat [-c FILE] [-e] [-b] QID
 *   sluice newaliases [-c FILE]    compile the alias files (also invoked as `newaliases`)
 *   sluice suppress [-c FILE] list|export|add ADDRESS [REASON]|remove ADDRESS
 *   sluice --version | --help      (every subcommand takes --help too)
 * Invoked as `sendmail` it is `sluice submit`; as `mailq`, `sluice mailq`. Every name and
 * subcommand finds its configuration the same way (tool_conf_path): -c FILE or --config
 * FILE, else $SLUICE_CONF, else /etc/sluice/sluice.conf. Exit codes are sysexits.h's.
 * SIGTERM/SIGINT: stop accepting, let transactions finish for up to 10 s, keep the queue.
 * SIGHUP: reload (main_reload): the configuration is read again and checked whole; a bad
 * file is refused (FILE:LINE in the log) and the running configuration stays. Otherwise new
 * work uses the new one: smtpd policy values and certificates, deliver limits, relays and
 * routing (the route cache is emptied), remotenets, scheduler settings, the log target.
 * Sessions and connections in progress go on (a replaced configuration is kept until exit:
 * they may point into it). Keys that cannot change live (spool, user, listeners, resolver,
 * log files, metrics.listen) keep their running values and the log says so.
 * The policy database is mapped again (after `sluice policy-build`) and the DKIM keys are
 * read again (dkim.sign; a key that fails keeps the current set); the policy engine's
 * other settings (block lists, services, HELO table) are read at start only.
 * One daemon per spool: spool/sluice.lock is taken before anything else (queue_lock_spool).
 * metrics.listen: GET /metrics (ctl/metrics.h), gathered here from the modules' stats.
 * SIGUSR1: log statistics.
 * Under systemd (Type=notify; systemd/sluice.service) the daemon says READY=1 once its
 * listeners are bound and the queue is recovered, keeps STATUS= up to date with the queue's
 * size, RELOADING=1 then READY=1 around a reload, STOPPING=1 on SIGTERM, and
 * WATCHDOG=1 when WatchdogSec= is set (core/notify.c). */
#include <event2/event.h>
#include <event2/thread.h>
#include <pthread.h>
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <inttypes.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "audit/audit.h"
#include "audit/event.h"
#include "conf/conf.h"
#include "core/hist.h"
#include "core/log.h"
#include "core/notify.h"
#include "core/qid.h"
#include "core/xalloc.h"
#include "ctl/ctl.h"
#include "ctl/gather.h"
#include "ctl/metrics.h"
#include "proto/addr.h"
#include "deliver/deliver.h"
#include "dns/dns.h"
#include "local/helper.h"
#include "local/local.h"
#include "pickup/pickup.h"
#include "policy/policy.h"
#include "queue/queue.h"
#include "route/route.h"
#include "sched/sched.h"
#include "smtpc/smtpc.h"
#include "dkim/dkim.h"
#include "smtpd/smtpd.h"
#include "suppress/router.h"
#include "suppress/suppress.h"
#include "tls/client.h"
#include "tools/tools.h"

#define MAIN_GRACE_MS 10000

struct daemon {
    struct event_base *base;
    const char *conf_path;
    struct conf *conf;     /* the running configuration */
    struct conf **retired; /* configurations replaced by reloads, freed at exit */
    size_t nretired;
    struct tls_client **old_tls; /* outbound TLS contexts replaced by reloads */
    size_t nold_tls;
    int lock_fd;           /* spool/sluice.lock, held for the daemon's life */
    struct metrics *metrics;
    struct queue *q;
    struct dns *dns;
    struct route *route;
    struct local *local; /* local delivery (its helper was forked before the drop) */
    struct deliver *deliver;
    struct sched *sched;
    struct dkim_signer *dkim; /* dkim.sign: the signer of accepted messages, or NULL */
    struct suppress *suppress; /* suppression.enabled: the list, or NULL */
    struct suppress_router *srouter; /* ... and the router in front of routing */
    struct smtpd *smtpd;
    struct ctl *ctl; /* the control channel (sluice ctl) */
    struct pickup *pickup; /* NULL: no spool/maildrop (non-root sendmail off) */
    struct policy_engine *policy;
    struct tls_client *tls; /* outbound TLS contexts and caches (smtpc_set_tls) */
    struct sched_logs logs; /* audit, event log (NULL = off) */
    struct audit_log *client_transcript; /* deliver.client.transcript (NULL = off) */
    struct audit_log *server_transcript; /* smtpd.transcript (NULL = off) */
    struct event *sigterm, *sigint, *sigusr1, *sighup;
    struct notify *notify; /* the service manager (no-op without $NOTIFY_SOCKET) */
    int stopping;
};

/* SMTP server: a durable message goes to the scheduler. */
static void main_on_accepted(void *arg, const struct qmsg *m)
{
    struct daemon *d = arg;
    char qid[QID_TEXT_LEN + 1];
    event_reception(d->logs.events, clock_wall_ms(), qid_to_text(m->id, qid), m->sender, m->nrcpt,
                    m->size, m->client_ip, m->helo);
    sched_add(d->sched, m, 0);
}

/* Opens one configured log (deliver.audit, event_log, client.transcript); fatal on error. */
static struct audit_log *main_open_log(const struct conf *c, const struct logspec *spec,
                                       const char *what)
{
    char err[256], dirlog[1100];
    if (!spec->path)
        return NULL;
    snprintf(dirlog, sizeof dirlog, "%s/log", c->spool);
    struct logpath_vars v = {dirlog, c->hostname};
    struct audit_log *l = audit_log_open(spec, &v, err, sizeof err);
    if (!l)
        log_fatal("%s: %s", what, err);
    return l;
}

/* ETRN from an SMTP client: deliver what waits for that domain now. */
static void main_on_etrn(void *arg, const char *domain, bool subdomains)
{
    struct daemon *d = arg;
    sched_flush_domain(d->sched, domain, subdomains);
}

/* A tool wrote to the queue: load it now; `sendmail -q` also makes everything due. */
static void main_on_incoming(void *arg, int flush)
{
    struct daemon *d = arg;
    sched_poll_incoming(d->sched);
    if (flush)
        sched_flush_domain(d->sched, NULL, true);
}

/* sendmail -qR DOMAIN / -qI QID from a tool: that domain's or that message's waiting
 * recipients become due now. The value is untrusted (any local user may send it). */
static void main_on_request(void *arg, char kind, const char *value)
{
    struct daemon *d = arg;
    char shown[LOG_SANITIZED_SIZE(QUEUE_REQUEST_MAX)];
    uint64_t id;
    if (kind == 'I' && qid_from_text(value, &id) == 0) {
        char qid[QID_TEXT_LEN + 1];
        sched_flush_message(d->sched, qid_to_text(id, qid));
    } else if (kind == 'R' && addr_domain_valid(value, strlen(value))) {
        char dom[QUEUE_REQUEST_MAX + 1];
        size_t n = strlen(value);
        for (size_t i = 0; i <= n; i++)
            dom[i] = (char)tolower((unsigned char)value[i]);
        sched_flush_domain_local(d->sched, dom);
    } else {
        log_warn("queue run request %c refused: bad value %s", kind,
                 log_sanitize(shown, sizeof shown, value, strlen(value)));
    }
}

/* Logs one statistics line. */
static void main_stats(struct daemon *d)
{
    struct sched_stats ss;
    struct queue_stats qs;
    sched_get_stats(d->sched, &ss);
    queue_get_stats(d->q, &qs);
    log_info("stats: delivered=%" PRIu64 " deferred=%" PRIu64 " bounced=%" PRIu64
             " connections=%" PRIu64 " transactions=%" PRIu64 " messages=%" PRIu64
             " waiting=%" PRIu64 " active=%" PRIu64 " commits=%" PRIu64 " msgs_per_commit=%.2f",
             ss.delivered, ss.deferred, ss.bounced, ss.connections, ss.transactions, ss.messages,
             ss.waiting, ss.active, qs.commits,
             qs.commits ? (double)qs.msgs_committed / (double)qs.commits : 0.0);
}

/* The service manager's STATUS= line: what is queued now and what became of the rest. */
static void main_status(void *arg, char *buf, size_t len)
{
    struct daemon *d = arg;
    struct sched_stats ss;
    sched_get_stats(d->sched, &ss);
    snprintf(buf, len,
             "queue: %" PRIu64 " messages, %" PRIu64 " recipients (%" PRIu64 " in delivery); "
             "delivered %" PRIu64 ", deferred %" PRIu64 ", bounced %" PRIu64,
             ss.messages, ss.waiting + ss.active, ss.active, ss.delivered, ss.deferred, ss.bounced);
}

/* Every connection is gone: leave the loop. */
static void main_on_stopped(void *arg)
{
    struct daemon *d = arg;
    event_base_loopexit(d->base, NULL);
}

/* SIGTERM/SIGINT: begin an orderly stop; a second signal leaves at once. */
static void main_on_term(evutil_socket_t sig, short what, void *arg)
{
    struct daemon *d = arg;
    (void)what;
    if (d->stopping++) {
        log_warn("signal %d again: stopping now", (int)sig);
        event_base_loopexit(d->base, NULL);
        return;
    }
    log_info("signal %d: stopping", (int)sig);
    notify_stopping(d->notify);
    smtpd_stop_listening(d->smtpd);
    sched_shutdown(d->sched, MAIN_GRACE_MS, main_on_stopped, d);
}

/* sched's bounced hook: hard bounces go on the suppression list (suppress.h's rule). */
static void main_on_bounced(void *arg, const char *rcpt, const char *reply)
{
    struct daemon *d = arg;
    suppress_note_bounce(d->suppress, d->conf, rcpt, reply, clock_wall_ms());
}

/* SIGHUP: the DKIM keys are read again (rotated key files); on error the current ones stay. */
static void main_reload_dkim(struct daemon *d)
{
    char err[1024];
    if (!d->dkim)
        return;
    if (dkim_signer_reload(d->dkim, d->conf, err, sizeof err) < 0)
        log_warn("%s; the current DKIM keys stay", err);
    else
        log_info("dkim: %zu signing key%s reloaded", d->conf->dkim.nsign,
                 d->conf->dkim.nsign == 1 ? "" : "s");
}

/* ---- reload ------------------------------------------------------------------------ */

/* Loads and checks the file again into a new configuration; NULL with the reason in msg. */
static struct conf *main_reload_load(struct daemon *d, char *msg, size_t msglen)
{
    char err[1024];
    struct conf *nc = xmalloc(sizeof *nc);
    conf_init(nc);
    if (conf_load(d->conf_path, nc, err, sizeof err) < 0) {
        snprintf(msg, msglen, "reload refused, the running configuration stays: %s", err);
        conf_free(nc);
        free(nc);
        return NULL;
    }
    conf_keep_fixed(nc, d->conf, false);
    if (nc->smtpd.ntls_listen > 0 && !nc->smtpd.tls.cert_file) {
        snprintf(msg, msglen, "reload refused, the running configuration stays: %s: "
                 "smtpd.tls_listen (kept until restart) needs smtpd.tls.cert_file", d->conf_path);
        conf_keep_fixed(nc, d->conf, true); /* swap back what was kept */
        conf_free(nc);
        free(nc);
        return NULL;
    }
    return nc;
}

/* Gives up a prepared configuration: the kept keys go back to the running one. */
static void main_reload_drop(struct daemon *d, struct conf *nc, struct tls_client *tc)
{
    conf_keep_fixed(nc, d->conf, true);
    tls_client_free(tc);
    conf_free(nc);
    free(nc);
}

/* Reload (SIGHUP; `sluice ctl reload` calls it too): see the top of this file. Returns 0
 * with "reloaded ..." in msg, or -1 with the reason (the running configuration stays).
 * Either way the text is logged. */
static int main_reload(struct daemon *d, char *msg, size_t msglen)
{
    char err[1024];
    notify_reloading(d->notify);
    struct conf *nc = main_reload_load(d, msg, msglen);
    if (!nc)
        goto refused;
    struct tls_client *tc = tls_client_create(nc, err, sizeof err);
    if (!tc) {
        snprintf(msg, msglen, "reload refused, the running configuration stays: tls: %s", err);
        main_reload_drop(d, nc, NULL);
        goto refused;
    }
    if (log_open((enum log_target)nc->log.target, nc->log.path, err, sizeof err) < 0) {
        snprintf(msg, msglen, "reload refused, the running configuration stays: log: %s", err);
        main_reload_drop(d, nc, tc);
        goto refused;
    }
    if (smtpd_reload(d->smtpd, nc, err, sizeof err) < 0) {
        snprintf(msg, msglen, "reload refused, the running configuration stays: %s", err);
        log_open((enum log_target)d->conf->log.target, d->conf->log.path, err, sizeof err);
        main_reload_drop(d, nc, tc);
        goto refused;
    }
    policy_reload(d->policy); /* a new `sluice policy-build` map (a failure keeps the old) */
    smtpc_set_tls(tc);
    d->old_tls = xrealloc(d->old_tls, (d->nold_tls + 1) * sizeof *d->old_tls);
    d->old_tls[d->nold_tls++] = d->tls;
    d->tls = tc;
    route_set_conf(d->route, nc);
    local_set_conf(d->local, nc);
    if (d->pickup)
        pickup_set_conf(d->pickup, nc);
    deliver_set_conf(d->deliver, nc);
    sched_set_conf(d->sched, nc);
    d->retired = xrealloc(d->retired, (d->nretired + 1) * sizeof *d->retired);
    d->retired[d->nretired++] = d->conf;
    d->conf = nc;
    main_reload_dkim(d); /* the keys of the new dkim.sign (a failure keeps the current set) */
    snprintf(msg, msglen, "reloaded %s: new sessions, connections and routes use it", d->conf_path);
    log_info("%s", msg);
    notify_ready(d->notify);
    return 0;
refused:
    log_warn("%s", msg);
    notify_ready(d->notify);
    return -1;
}

/* `sluice ctl reload`: the same reload; the reply carries msg. */
static int main_ctl_reload(void *arg, char *msg, size_t msglen)
{
    return main_reload(arg, msg, msglen);
}

/* SIGHUP: reload; never stops the daemon. */
static void main_on_hup(evutil_socket_t sig, short what, void *arg)
{
    char msg[1200];
    (void)what;
    log_info("signal %d: reloading the configuration", (int)sig);
    main_reload(arg, msg, sizeof msg);
}

/* GET /metrics: every module's counters, gauges and histograms (ctl/gather.h). */
static void main_metrics(void *arg, struct metrics_writer *w)
{
    struct daemon *d = arg;
    const struct gather_sources src = {.sched = d->sched, .deliver = d->deliver,
                                       .smtpd = d->smtpd, .q = d->q, .dns = d->dns};
    gather_metrics(&src, w);
}

/* SIGUSR1: statistics. */
static void main_on_usr1(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    main_stats(arg);
}

/* Gives the directory open at fd and everything below it to uid/gid without ever following
 * a symbolic link (openat O_NOFOLLOW, fchownat AT_SYMLINK_NOFOLLOW): the tree may belong to
 * the unprivileged user from an earlier run, so a swapped-in link must not make root chown
 * files elsewhere. depth bounds the recursion (the spool is shallow). */
static void main_chown_tree(int fd, const char *path, uid_t uid, gid_t gid, int depth)
{
    /* spool/maildrop keeps its owners: a drop file's owner is who submitted it. */
    const char *skip = depth == 8 ? PICKUP_DIR : NULL;
    if (fchown(fd, uid, gid) < 0)
        log_fatal("cannot chown %s: %s", path, strerror(errno));
    DIR *d = fdopendir(fd);
    if (!d)
        log_fatal("cannot read %s: %s", path, strerror(errno));
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
            (skip && strcmp(e->d_name, skip) == 0))
            continue;
        int sub = depth > 0 ? openat(dirfd(d), e->d_name,
                                     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                            : -1;
        if (sub >= 0) {
            main_chown_tree(sub, e->d_name, uid, gid, depth - 1);
            continue;
        }
        if (fchownat(dirfd(d), e->d_name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
            log_fatal("cannot chown %s/%s: %s", path, e->d_name, strerror(errno));
    }
    closedir(d);
}

/* Gives the spool and everything below it (queue, logs) to uid/gid; spool mode 0700. */
static void main_chown_spool(const char *spool, uid_t uid, gid_t gid)
{
    int fd = open(spool, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || fchmod(fd, 0700) < 0)
        log_fatal("cannot give spool %s to uid %d: %s", spool, (int)uid, strerror(errno));
    main_chown_tree(fd, spool, uid, gid, 8);
}

/* Started as root: listeners are bound, so become `user` for good (all threads: glibc
 * applies set*id process-wide). Fatal when the user is missing or the switch fails. */
static void main_drop_privileges(const struct conf *c)
{
    if (geteuid() != 0)
        return;
    if (strcmp(c->user, "root") == 0) {
        log_warn("user = \"root\": running as root");
        pickup_prepare_spool(c->spool, 0);
        return;
    }
    struct passwd *pw = getpwnam(c->user);
    if (!pw)
        log_fatal("user %s does not exist (create it: useradd --system %s)", c->user, c->user);
    main_chown_spool(c->spool, pw->pw_uid, pw->pw_gid);
    /* the log file is opened again by the user at each reload (logrotate) */
    if (c->log.target == LOG_TARGET_FILE && chown(c->log.path, pw->pw_uid, pw->pw_gid) < 0)
        log_warn("cannot give log file %s to %s: %s (a reload will not reopen it)", c->log.path,
                 c->user, strerror(errno));
    pickup_prepare_spool(c->spool, pw->pw_uid);
    if (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0)
        log_fatal("cannot become user %s: %s", c->user, strerror(errno));
    if (setuid(0) == 0)
        log_panic("privileges could be regained after dropping them");
    log_info("running as user %s (uid %d)", c->user, (int)pw->pw_uid);
}

/* Builds every module; fatal on failure. */
/* The event loop, with the epoll changelist. */
/* One descriptor per SMTP session in and out, plus the spool, logs, resolver and listeners:
 * the soft RLIMIT_NOFILE is raised towards what the limits need (up to the hard limit), and
 * a warning says when even that is short (docs/service.md: LimitNOFILE). */
static void main_raise_nofile(const struct conf *c)
{
    struct rlimit rl;
    rlim_t want = (rlim_t)c->smtpd.max_connections + c->deliver.maxconnections + 256;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= want)
        return;
    rlim_t old = rl.rlim_cur;
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want ? want : rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
        rl.rlim_cur = old;
    if (rl.rlim_cur < want)
        log_warn("open files limit %llu is below the %llu that smtpd.max_connections and "
                 "deliver.maxconnections need: raise LimitNOFILE (docs/service.md)",
                 (unsigned long long)rl.rlim_cur, (unsigned long long)want);
}

static void main_setup_loop(struct daemon *d)
{
    main_raise_nofile(d->conf);
    evthread_use_pthreads();
    /* The changelist merges the many enable/disable calls of one loop pass into one
     * epoll_ctl per descriptor (we never dup descriptors, the changelist's one caveat). */
    struct event_config *ec = event_config_new();
    if (!ec || event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST) < 0)
        log_fatal("cannot configure the event loop");
    d->base = event_base_new_with_config(ec);
    event_config_free(ec);
    if (!d->base)
        log_fatal("cannot create the event loop");
}

/* The outbound side: queue, resolver, routing, local delivery, TLS, logs, suppression,
 * delivery and the scheduler. */
static void main_setup_outbound(struct daemon *d, int helper_fd)
{
    char err[1024];
    d->q = queue_open(d->conf->spool, d->base, err, sizeof err);
    if (!d->q)
        log_fatal("queue: %s", err);
    d->dns = dns_create(d->base, d->conf, err, sizeof err);
    if (!d->dns)
        log_fatal("resolver: %s", err);
    d->route = route_create(d->base, d->conf, d->dns);
    d->local = local_create(d->base, d->conf, helper_fd);
    route_set_local(d->route, &local_transport, d->local);
    d->tls = tls_client_create(d->conf, err, sizeof err); /* before the privileges go */
    if (!d->tls)
        log_fatal("tls: %s", err);
    smtpc_set_tls(d->tls);
    d->logs.audit = main_open_log(d->conf, &d->conf->deliver.audit, "deliver.audit");
    d->logs.events = main_open_log(d->conf, &d->conf->deliver.event_log, "deliver.event_log");
    d->client_transcript = main_open_log(d->conf, &d->conf->deliver.transcript,
                                         "deliver.client.transcript");
    struct deliver_io io = {.router = &deliver_route, .router_arg = d->route,
                            .transport = &deliver_smtpc, .transport_arg = d->client_transcript,
                            .now = clock_wall_ms};
    if (d->conf->suppression.enabled) { /* suppressed recipients fail before routing */
        d->suppress = suppress_open(d->conf->spool, d->base, err, sizeof err);
        if (!d->suppress)
            log_fatal("suppress: %s", err);
        d->srouter = suppress_router_create(d->base, d->conf, d->suppress, &deliver_route,
                                            d->route, clock_wall_ms);
        io.router = &suppress_router_ops;
        io.router_arg = d->srouter;
    }
    d->deliver = deliver_create(d->base, d->conf, d->q, &io);
    d->sched = sched_create(d->base, d->conf, d->q, d->deliver, clock_wall_ms);
    if (d->suppress)
        sched_set_bounced(d->sched, main_on_bounced, d);
    local_set_queue(d->local, d->q, main_on_accepted, d);
    sched_set_logs(d->sched, &d->logs);
}

/* The inbound side: the SMTP server, its policy engine and DKIM signer, transcripts, the
 * wakeup sockets, metrics and the control channel (all bound while still root). */
static void main_setup_inbound(struct daemon *d)
{
    char err[1024];
    d->smtpd = smtpd_create(d->base, d->conf, d->q, main_on_accepted, d, err, sizeof err);
    if (!d->smtpd)
        log_fatal("smtpd: %s", err);
    smtpd_set_version(d->smtpd, SLUICE_VERSION);
    smtpd_set_dns(d->smtpd, d->dns);
    d->policy = policy_create(d->base, d->conf, d->dns, err, sizeof err);
    if (!d->policy)
        log_fatal("policy: %s", err);
    smtpd_set_policy(d->smtpd, d->policy);
    smtpd_set_etrn(d->smtpd, main_on_etrn, d);
    if (d->conf->dkim.nsign > 0) {
        d->dkim = dkim_signer_create(d->base, d->conf, err, sizeof err); /* before the privileges go */
        if (!d->dkim)
            log_fatal("%s", err);
        smtpd_set_dkim(d->smtpd, d->dkim);
    }
    d->server_transcript = main_open_log(d->conf, &d->conf->smtpd.transcript, "smtpd.transcript");
    smtpd_set_transcript(d->smtpd, d->server_transcript, &d->conf->smtpd.transcript);
    if (queue_watch_incoming(d->q, main_on_incoming, d) < 0)
        log_fatal("queue: cannot bind %s/incoming.sock", d->conf->spool);
    queue_watch_requests(d->q, main_on_request, d);
    if (d->conf->metrics.nlisten > 0) {
        d->metrics = metrics_create(d->base, d->conf->metrics.listen, d->conf->metrics.nlisten,
                                    main_metrics, d, err, sizeof err);
        if (!d->metrics)
            log_fatal("%s", err);
    }
    struct ctl_env ce = {.base = d->base, .conf = d->conf, .q = d->q, .sched = d->sched,
                         .dl = d->deliver, .suppress = d->suppress, .reload = main_ctl_reload, .reload_arg = d,
                         .version = SLUICE_VERSION};
    if (!(d->ctl = ctl_create(&ce, err, sizeof err)))
        log_fatal("%s", err);
}

/* Builds the daemon: everything that needs root first, then the privilege drop, then what
 * runs as the user, and the signals. */
static void main_setup(struct daemon *d)
{
    /* The local delivery helper is forked first: while still root, before any thread,
     * listener or queue exists (it holds nothing but its socket; local/helper.h). */
    int helper_fd = helper_start();
    if (helper_fd < 0)
        log_fatal("cannot start the local delivery helper: %s", strerror(errno));
    /* A SIGHUP or SIGTERM that comes while setting up waits (blocked, pending) for its
     * handler instead of killing the daemon; threads made meanwhile keep them blocked, so
     * the loop's thread takes every signal. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGHUP);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    main_setup_loop(d);
    main_setup_outbound(d, helper_fd);
    main_setup_inbound(d);
    main_drop_privileges(d->conf);
    d->pickup = pickup_create(d->base, d->conf, d->q, main_on_accepted, d);
    if (d->pickup && d->dkim)
        pickup_set_dkim(d->pickup, d->dkim);
    d->sigterm = evsignal_new(d->base, SIGTERM, main_on_term, d);
    d->sigint = evsignal_new(d->base, SIGINT, main_on_term, d);
    d->sigusr1 = evsignal_new(d->base, SIGUSR1, main_on_usr1, d);
    d->sighup = evsignal_new(d->base, SIGHUP, main_on_hup, d);
    event_add(d->sigterm, NULL);
    event_add(d->sigint, NULL);
    event_add(d->sigusr1, NULL);
    event_add(d->sighup, NULL);
    signal(SIGPIPE, SIG_IGN);
    pthread_sigmask(SIG_UNBLOCK, &sigs, NULL); /* the handlers are there: pending ones run */
}

/* Tears everything down in dependency order; the queue drains its last commits. */
static void main_teardown(struct daemon *d)
{
    main_stats(d);
    metrics_free(d->metrics);
    notify_free(d->notify);
    smtpd_free(d->smtpd);
    dkim_signer_free(d->dkim); /* after the server: jobs of its detached sessions are dropped */
    queue_close(d->q);
    ctl_free(d->ctl); /* after the queue's last done callbacks (replies to operations) */
    pickup_free(d->pickup); /* after queue_close: its puts in flight have completed */
    sched_free(d->sched);
    deliver_free(d->deliver);
    local_free(d->local);
    suppress_router_free(d->srouter);
    suppress_close(d->suppress); /* commits the bounces still waiting */
    smtpc_set_tls(NULL);
    tls_client_free(d->tls);
    audit_log_close(d->logs.audit);
    audit_log_close(d->logs.events);
    audit_log_close(d->client_transcript);
    audit_log_close(d->server_transcript);
    route_free(d->route);
    dns_free(d->dns);
    policy_free(d->policy); /* after dns_free: no block list answer can come */
    event_free(d->sigterm);
    event_free(d->sigint);
    event_free(d->sigusr1);
    event_free(d->sighup);
    event_base_free(d->base);
    for (size_t i = 0; i < d->nold_tls; i++)
        tls_client_free(d->old_tls[i]);
    free(d->old_tls);
    for (size_t i = 0; i < d->nretired; i++) {
        conf_free(d->retired[i]);
        free(d->retired[i]);
    }
    free(d->retired);
    conf_free(d->conf);
    free(d->conf);
    close(d->lock_fd);
}

static const char main_run_usage[] =
    "usage: sluice run [-c FILE] [-v]\n"
    "  Runs the daemon in the foreground; the log goes to log.target, stderr by default\n"
    "  (-v: debug lines too). SIGHUP reloads the configuration.\n"
    "  FILE: -c FILE or --config FILE, else $SLUICE_CONF, else " SLUICE_DEFAULT_CONF "\n";

/* sluice run [-c FILE] [-v] */
static int main_run(int argc, char **argv)
{
    const char *given = NULL;
    int ch;
    while ((ch = getopt_long(argc, argv, ":c:v", tool_longopts, NULL)) != -1) {
        if (ch == 'c')
            given = optarg;
        else if (ch == 'v')
            log_set_verbose(1);
        else if (ch == TOOL_OPT_HELP)
            return tool_help(main_run_usage);
        else
            return tool_bad_option("sluice run", ch, argv, main_run_usage);
    }
    if (optind != argc) {
        fprintf(stderr, "sluice run: unexpected argument %s\n%s", argv[optind], main_run_usage);
        return EX_USAGE;
    }
    struct daemon d = {0};
    char err[1024];
    d.conf_path = tool_conf_path(given, NULL);
    d.conf = xmalloc(sizeof *d.conf);
    if (tool_load_conf(d.conf_path, d.conf) < 0) {
        free(d.conf);
        return EX_CONFIG;
    }
    /* The instance lock comes first: a second daemon on this spool touches nothing. */
    d.lock_fd = queue_lock_spool(d.conf->spool, err, sizeof err);
    if (d.lock_fd < 0) {
        log_warn("%s", err);
        conf_free(d.conf);
        free(d.conf);
        return EX_TEMPFAIL;
    }
    if (log_open((enum log_target)d.conf->log.target, d.conf->log.path, err, sizeof err) < 0)
        log_fatal("%s", err);
    main_setup(&d);
    if (sched_recover(d.sched) < 0)
        log_fatal("queue: recovery failed");
    sched_poll_incoming(d.sched);
    if (d.pickup)
        pickup_scan(d.pickup);
    log_info("sluice %s started: hostname=%s spool=%s", SLUICE_VERSION, d.conf->hostname, d.conf->spool);
    d.notify = notify_create(d.base, main_status, &d);
    notify_ready(d.notify);
    event_base_dispatch(d.base);
    main_teardown(&d);
    log_info("stopped");
    return 0;
}

static const char main_usage_text[] =
    "usage: sluice COMMAND [options]\n"
    "  run [-c FILE] [-v]                   the daemon, in the foreground\n"
    "  check-config [-c FILE]               validate the configuration\n"
    "  config-keys                          every configuration key, its default and bounds\n"
    "  submit [-c FILE] [options] [RCPT...] queue a message from stdin (as `sendmail`)\n"
    "  mailq [-c FILE]                      list the queue (as `mailq`)\n"
    "  verp-decode [-c FILE] [-d DELIMS] [-s] ADDRESS\n"
    "  ctl [-c FILE] COMMAND [ARG...]       control the running daemon (docs/admin.md)\n"
    "  cat [-c FILE] [-e] [-b] QID          print a queued message (as postcat -q)\n"
    "  newaliases [-c FILE]                 compile the alias files into FILE.db\n"
    "  policy-build [-c FILE]               compile smtpd.policydb (docs/policy.md)\n"
    "  suppress [-c FILE] list|export|add ADDRESS [REASON]|remove ADDRESS  the suppression list\n"
    "  --version, --help                    (COMMAND --help: that command's options)\n"
    "FILE: -c FILE or --config FILE, else $SLUICE_CONF, else " SLUICE_DEFAULT_CONF "\n";

/* A missing or unknown command: what is wrong and the usage, on stderr. */
static int main_usage(const char *cmd)
{
    if (cmd)
        fprintf(stderr, "sluice: unknown command %s\n", cmd);
    fputs(main_usage_text, stderr);
    return EX_USAGE;
}

/* Dispatches on the program name, then on the subcommand. */
int main(int argc, char **argv)
{
    char *prog = basename(argv[0]);
    log_init("sluice");
    srandom((unsigned)(clock_wall_ms() ^ getpid()));
    if (strcmp(prog, "sendmail") == 0)
        return tool_submit(argc, argv, 1);
    if (strcmp(prog, "mailq") == 0)
        return tool_mailq(argc, argv, 1);
    if (strcmp(prog, "newaliases") == 0)
        return tool_newaliases(argc, argv);
    if (argc < 2)
        return main_usage(NULL);
    const char *cmd = argv[1];
    argv[1] = argv[0];
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("sluice %s\n", SLUICE_VERSION);
        return 0;
    }
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0)
        return tool_help(main_usage_text);
    if (strcmp(cmd, "run") == 0)
        return main_run(argc - 1, argv + 1);
    if (strcmp(cmd, "check-config") == 0)
        return tool_check_config(argc - 1, argv + 1);
    if (strcmp(cmd, "config-keys") == 0)
        return tool_config_keys(argc - 1, argv + 1);
    if (strcmp(cmd, "submit") == 0)
        return tool_submit(argc - 1, argv + 1, 0);
    if (strcmp(cmd, "mailq") == 0)
        return tool_mailq(argc - 1, argv + 1, 0);
    if (strcmp(cmd, "ctl") == 0)
        return tool_ctl(argc - 1, argv + 1);
    if (strcmp(cmd, "cat") == 0)
        return tool_cat(argc - 1, argv + 1);
    if (strcmp(cmd, "verp-decode") == 0)
        return tool_verp_decode(argc - 1, argv + 1);
    if (strcmp(cmd, "newaliases") == 0)
        return tool_newaliases(argc - 1, argv + 1);
    if (strcmp(cmd, "policy-build") == 0)
        return tool_policy_build(argc - 1, argv + 1);
    if (strcmp(cmd, "suppress") == 0)
        return tool_suppress(argc - 1, argv + 1);
    return main_usage(cmd);
}
