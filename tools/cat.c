/* cat: `sluice cat [-c FILE] [-e] [-b] QID`, Postfix's postcat -q: prints one queued
 * message's envelope (sender, arrival, size, flags: held, report, 7bit (content known to be
 * 7-bit, MSG_F_7BIT), every recipient's state) and content
 * (CR LF shown as LF), between postcat's "*** ... ***" markers. -e: the envelope only; -b:
 * the content only. It reads the queue read-only (an LMDB reader never blocks the daemon),
 * so it works with or without a running daemon. Exit 0; 1 with a reason for an unknown
 * queue id; 64 usage; 78 configuration. */
#include <event2/buffer.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "conf/conf.h"
#include "core/log.h"
#include "core/qid.h"
#include "queue/queue.h"
#include "tools/tools.h"

static const char cat_usage[] =
    "usage: sluice cat [-c FILE] [-e] [-b] QID\n"
    "  One queued message: envelope (-e only) and content (-b only), as postcat -q.\n"
    "  FILE: -c FILE or --config FILE, else $SLUICE_CONF, else " SLUICE_DEFAULT_CONF "\n";

struct cat_find {
    uint64_t id;
    bool found;
    bool print; /* the envelope */
};

/* "2026-11-23T07:50:00Z", or "-" for 0. */
static const char *cat_time(int64_t ms, char *buf, size_t len)
{
    if (ms <= 0)
        return "-";
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

/* queue_scan: prints the envelope of the wanted message and stops. */
static int cat_on_msg(void *arg, const struct qmsg *m)
{
    struct cat_find *f = arg;
    char qid[QID_TEXT_LEN + 1], t[32], s[600], lr[2048];
    if (m->id != f->id)
        return 0;
    f->found = true;
    if (!f->print)
        return -1;
    printf("*** ENVELOPE RECORDS %s ***\n", qid_to_text(m->id, qid));
    printf("message_size: %" PRIu64 "\narrival_time: %s\nsender: <%s>\n", m->size,
           cat_time(m->arrival, t, sizeof t), log_sanitize(s, sizeof s, m->sender, strlen(m->sender)));
    snprintf(t, sizeof t, "%s%s%s", m->flags & MSG_F_HELD ? " held" : "",
             m->flags & MSG_F_BOUNCE ? " report" : "", m->flags & MSG_F_7BIT ? " 7bit" : "");
    printf("client: %s helo=%s\nflags:%s\n", *m->client_ip ? m->client_ip : "local",
           log_sanitize(lr, sizeof lr, m->helo, strlen(m->helo)), t);
    for (uint32_t i = 0; i < m->nrcpt; i++) {
        const struct qrcpt *r = &m->rcpts[i];
        const char *last = r->last_reply ? r->last_reply : "";
        printf("recipient: <%s> %s attempts=%" PRIu32 " next=%s%s%s\n",
               log_sanitize(s, sizeof s, r->addr, strlen(r->addr)), record_state_to_text(r->state),
               r->attempts, cat_time(r->next_attempt, t, sizeof t), *last ? " last=" : "",
               log_sanitize(lr, sizeof lr, last, strlen(last)));
    }
    return -1;
}

/* Prints the content with CR LF as LF. */
static int cat_body(struct queue *q, uint64_t id, const char *qid)
{
    struct evbuffer *b = evbuffer_new();
    if (queue_body(q, id, b) < 0) {
        evbuffer_free(b);
        fprintf(stderr, "sluice cat: %s: content unreadable\n", qid);
        return 1;
    }
    printf("*** MESSAGE CONTENTS %s ***\n", qid);
    char *line;
    size_t n;
    while ((line = evbuffer_readln(b, &n, EVBUFFER_EOL_CRLF))) {
        fwrite(line, 1, n, stdout);
        putchar('\n');
        free(line);
    }
    size_t rest = evbuffer_get_length(b);
    if (rest) {
        fwrite(evbuffer_pullup(b, -1), 1, rest, stdout);
        putchar('\n');
    }
    evbuffer_free(b);
    printf("*** END OF MESSAGE %s ***\n", qid);
    return 0;
}

/* Opens the queue read-only and prints the message. */
static int cat_run(const char *given, const char *qid, bool env, bool body)
{
    struct cat_find f = {.print = env};
    if (qid_from_text(qid, &f.id) < 0) {
        fprintf(stderr, "sluice cat: not a queue id: %s\n", qid);
        return 1;
    }
    struct conf c;
    if (tool_load_conf(tool_conf_path(given, NULL), &c) < 0)
        return EX_CONFIG;
    char err[512];
    struct queue *q = queue_open(c.spool, NULL, err, sizeof err);
    conf_free(&c);
    if (!q) {
        fprintf(stderr, "sluice cat: %s\n", err);
        return 1;
    }
    int rc = queue_scan(q, cat_on_msg, &f) < 0 ? 1 : 0;
    if (rc == 0 && !f.found) {
        fprintf(stderr, "sluice cat: no such message %s\n", qid);
        rc = 1;
    }
    if (rc == 0 && body)
        rc = cat_body(q, f.id, qid);
    queue_close(q);
    return rc;
}

/* sluice cat */
int tool_cat(int argc, char **argv)
{
    const char *given = NULL;
    bool env_only = false, body_only = false;
    int ch;
    while ((ch = getopt_long(argc, argv, ":c:eb", tool_longopts, NULL)) != -1) {
        if (ch == 'c')
            given = optarg;
        else if (ch == 'e')
            env_only = true;
        else if (ch == 'b')
            body_only = true;
        else if (ch == TOOL_OPT_HELP)
            return tool_help(cat_usage);
        else
            return tool_bad_option("sluice cat", ch, argv, cat_usage);
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "sluice cat: want one queue id\n%s", cat_usage);
        return EX_USAGE;
    }
    return cat_run(given, argv[optind], env_only || !body_only, body_only || !env_only);
}
