/* mailq: `sluice mailq [-c FILE] [--json | --tsv]` (also the names `mailq` and `sendmail -bp`).
 * Default: Postfix's `mailq` format (queue/showq.h: held ids end in '!', active in '*',
 * "-- N Kbytes in M Requests." or "Mail queue is empty"), so scripts and monitoring checks
 * written for Postfix read it. --json: one object per message with `postqueue -j`'s names.
 * --tsv: sluice's table, one TAB-separated line per queued recipient: QID ARRIVAL SENDER
 * RECIPIENT STATE ATTEMPTS NEXT LAST (times UTC ISO 8601, "-" when none; the null sender
 * "<>"; LAST the last reply, "-" when none; sanitized).
 * Root and the daemon's user read the queue directly (LMDB readers never block the daemon),
 * whether the daemon runs or not. Anyone else: with mailq_users = "all", mailq becomes the
 * set-group-id helper `sluice-postdrop -p [-j]`, which asks the running daemon for the
 * listing over its showq socket (ctl/showq.c; Postfix's postqueue and showq): the same
 * Postfix text or JSON, never content; the daemon down is "mail system is down", exit 75
 * (EX_TEMPFAIL). --tsv stays root's. With mailq_users = "root" (the default) they get a
 * clear refusal and exit 77 (EX_NOPERM) (docs/sendmail.md). */
#include <getopt.h>
#include <inttypes.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "conf/conf.h"
#include "core/log.h"
#include "core/qid.h"
#include "queue/queue.h"
#include "queue/showq.h"
#include "tools/tools.h"

/* "2026-11-23T07:50:00Z", or "-" for 0. */
static const char *mailq_time(int64_t ms, char *buf, size_t len)
{
    if (ms <= 0)
        return "-";
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

/* --tsv: one line per recipient of m. */
static int mailq_on_msg(void *arg, const struct qmsg *m)
{
    char qid[QID_TEXT_LEN + 1], at[32], nt[32], last[1024], snd[300], rcpt[300];
    (void)arg;
    qid_to_text(m->id, qid);
    log_sanitize(snd, sizeof snd, m->sender, strlen(m->sender));
    for (uint32_t i = 0; i < m->nrcpt; i++) {
        const struct qrcpt *r = &m->rcpts[i];
        const char *lr = r->last_reply ? r->last_reply : "";
        log_sanitize(last, sizeof last, lr, strlen(lr));
        log_sanitize(rcpt, sizeof rcpt, r->addr, strlen(r->addr));
        printf("%s\t%s\t%s\t%s\t%s\t%" PRIu32 "\t%s\t%s\n", qid, mailq_time(m->arrival, at, sizeof at),
               *snd ? snd : "<>", rcpt, record_state_to_text(r->state), r->attempts,
               r->state == RCPT_PENDING || r->state == RCPT_DEFERRED
                   ? mailq_time(r->next_attempt, nt, sizeof nt)
                   : "-",
               *last ? last : "-");
    }
    return 0;
}

static const char mailq_usage[] =
    "usage: sluice mailq [-c FILE] [--json | --tsv]   (or: mailq, sendmail -bp)\n"
    "  The queue in Postfix's mailq format (held: QID!, active: QID*).\n"
    "  --json  one object per message, as postqueue -j\n"
    "  --tsv   one line per queued recipient: QID ARRIVAL SENDER RECIPIENT STATE ATTEMPTS NEXT LAST\n"
    "  FILE: -c FILE or --config FILE, else $SLUICE_CONF, else " SLUICE_DEFAULT_CONF "\n";

enum { MAILQ_OPT_JSON = 0x200, MAILQ_OPT_TSV };
static const struct option mailq_longopts[] = {
    {"config", required_argument, NULL, 'c'},
    {"help", no_argument, NULL, TOOL_OPT_HELP},
    {"json", no_argument, NULL, MAILQ_OPT_JSON},
    {"tsv", no_argument, NULL, MAILQ_OPT_TSV},
    {NULL, 0, NULL, 0},
};

/* Postfix's formats: one message at a time through queue/showq. */
static int mailq_on_showq(void *arg, const struct qmsg *m)
{
    return showq_msg(arg, m);
}

/* Lists the open queue q in the chosen format. 0, or -1 on a read error. */
static int mailq_list(struct queue *q, int format)
{
    if (format == MAILQ_OPT_TSV)
        return queue_scan(q, mailq_on_msg, NULL);
    struct showq sq = {.out = stdout, .now = clock_wall_ms(), .json = format == MAILQ_OPT_JSON};
    if (queue_scan(q, mailq_on_showq, &sq) < 0)
        return -1;
    showq_end(&sq);
    return 0;
}

/* A user who may not read the spool: the daemon's listing through the helper (it replaces
 * this process), or the refusal; the exit code. */
static int mailq_via_daemon(const struct conf *c, const char *who, int format)
{
    if (c->mailq_users != MAILQ_USERS_ALL || format == MAILQ_OPT_TSV) {
        fprintf(stderr, "%s: only root and the user %s may %s (spool %s is theirs)%s\n", who,
                c->user, format == MAILQ_OPT_TSV ? "use --tsv" : "list the queue", c->spool,
                c->mailq_users == MAILQ_USERS_ALL ? "; mailq and mailq --json work for everyone"
                : "; other users can send mail but not read the queue");
        return EX_NOPERM;
    }
    char helper[4200];
    const char *json = format == MAILQ_OPT_JSON ? "-j" : NULL;
    tool_helper_path(helper, sizeof helper);
    fflush(NULL);
    if (c->path)
        execl(helper, who, "-c", c->path, "-p", json, (char *)NULL);
    else
        execl(helper, who, "-p", json, (char *)NULL);
    fprintf(stderr, "%s: cannot run %s: %s\n", who, helper, strerror(errno));
    return EX_UNAVAILABLE;
}

/* Lists the queue. */
int tool_mailq(int argc, char **argv, int as_mailq)
{
    const char *given = NULL, *who = as_mailq ? "mailq" : "sluice mailq";
    int ch, format = 0;
    while ((ch = getopt_long(argc, argv, ":c:", mailq_longopts, NULL)) != -1) {
        if (ch == 'c')
            given = optarg;
        else if (ch == MAILQ_OPT_JSON || ch == MAILQ_OPT_TSV)
            format = ch;
        else if (ch == TOOL_OPT_HELP)
            return tool_help(mailq_usage);
        else
            return tool_bad_option(who, ch, argv, mailq_usage);
    }
    if (optind != argc) {
        fprintf(stderr, "%s: unexpected argument %s\n%s", who, argv[optind], mailq_usage);
        return EX_USAGE;
    }
    struct conf c;
    if (tool_load_conf(tool_conf_path(given, NULL), &c) < 0)
        return EX_CONFIG;
    char err[512];
    if (getuid() != 0 && access(c.spool, R_OK | X_OK) < 0 && errno == EACCES) {
        int rc = mailq_via_daemon(&c, who, format);
        conf_free(&c);
        return rc;
    }
    struct queue *q = queue_open(c.spool, NULL, err, sizeof err);
    if (!q) {
        fprintf(stderr, "%s: %s\n", who, err);
        conf_free(&c);
        return EX_TEMPFAIL;
    }
    int rc = mailq_list(q, format) < 0 ? EX_TEMPFAIL : 0;
    queue_close(q);
    conf_free(&c);
    return rc;
}
