/* mailq: `sluice mailq [-c FILE]` (or the name `mailq`) prints one TAB-separated line per queued recipient:
 * QID ARRIVAL SENDER RECIPIENT STATE ATTEMPTS NEXT LAST. Times are UTC ISO 8601 ("-" when
 * none), the null sender is "<>", LAST is the last reply ("-" when none), sanitized.
 * It reads the queue directly (LMDB readers never block the daemon), so only those who may
 * read the spool can list it: root and the daemon's user. Anyone else gets a clear refusal
 * and exit 77 (EX_NOPERM); there is no per-user listing (docs/sendmail.md). */
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

/* One line per recipient of m. */
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
    "usage: sluice mailq [-c FILE]   (or: mailq [-c FILE])\n"
    "  One line per queued recipient: QID ARRIVAL SENDER RECIPIENT STATE ATTEMPTS NEXT LAST.\n"
    "  FILE: -c FILE or --config FILE, else $SLUICE_CONF, else " SLUICE_DEFAULT_CONF "\n";

/* Lists the queue. */
int tool_mailq(int argc, char **argv, int as_mailq)
{
    const char *given = NULL, *who = as_mailq ? "mailq" : "sluice mailq";
    int ch;
    while ((ch = getopt_long(argc, argv, ":c:", tool_longopts, NULL)) != -1) {
        if (ch == 'c')
            given = optarg;
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
        fprintf(stderr, "%s: only root and the user %s may list the queue (spool %s is theirs); "
                        "other users can send mail but not read the queue\n", who, c.user, c.spool);
        conf_free(&c);
        return EX_NOPERM;
    }
    struct queue *q = queue_open(c.spool, NULL, err, sizeof err);
    if (!q) {
        fprintf(stderr, "%s: %s\n", who, err);
        conf_free(&c);
        return EX_TEMPFAIL;
    }
    int rc = queue_scan(q, mailq_on_msg, NULL) < 0 ? EX_TEMPFAIL : 0;
    queue_close(q);
    conf_free(&c);
    return rc;
}
