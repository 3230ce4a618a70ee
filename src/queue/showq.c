/* showq: Postfix's queue listing formats (contract in showq.h). */
#include "queue/showq.h"

#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "core/qid.h"

#define SHOWQ_RCPT_PAD 41   /* "%-10s %8s %-20s " of the heading */
#define SHOWQ_REASON_COL 76 /* reasons end at this column (Postfix's showq) */

/* True when recipient r is not final (it is still in the queue). */
static bool showq_open(const struct qrcpt *r)
{
    return r->state == RCPT_PENDING || r->state == RCPT_DEFERRED;
}

/* "hold" when held, "active" when a recipient is due (never tried or retry time passed),
 * "deferred" otherwise. */
const char *showq_queue_name(const struct qmsg *m, int64_t now)
{
    if (m->flags & MSG_F_HELD)
        return "hold";
    for (uint32_t i = 0; i < m->nrcpt; i++)
        if (showq_open(&m->rcpts[i]) &&
            (m->rcpts[i].state == RCPT_PENDING || m->rcpts[i].next_attempt <= now))
            return "active";
    return "deferred";
}

/* Text: s with every byte outside printable ASCII as '?' (Postfix's printable()). */
static void showq_print_text(FILE *out, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        fputc(c >= 0x20 && c < 0x7f ? c : '?', out);
    }
}

/* JSON string: quotes, backslashes and control bytes escaped. */
static void showq_print_json(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

/* postqueue -j: one object on one line. */
static void showq_json(struct showq *q, const struct qmsg *m, const char *qid)
{
    FILE *out = q->out;
    bool first = true;
    fprintf(out,
            "{\"queue_name\": \"%s\", \"queue_id\": \"%s\", \"arrival_time\": %lld, "
            "\"message_size\": %llu, \"forced_expire\": false, \"sender\": ",
            showq_queue_name(m, q->now), qid, (long long)(m->arrival / 1000),
            (unsigned long long)m->size);
    showq_print_json(out, m->sender);
    fputs(", \"recipients\": [", out);
    for (uint32_t i = 0; i < m->nrcpt; i++) {
        const struct qrcpt *r = &m->rcpts[i];
        if (!showq_open(r))
            continue;
        fputs(first ? "{\"address\": " : ", {\"address\": ", out);
        showq_print_json(out, r->addr);
        if (r->last_reply && *r->last_reply) {
            fputs(", \"delay_reason\": ", out);
            showq_print_json(out, r->last_reply);
        }
        fputc('}', out);
        first = false;
    }
    fputs("]}\n", out);
}

/* showq's text block of one message. */
static void showq_text(struct showq *q, const struct qmsg *m, const char *qid)
{
    FILE *out = q->out;
    char at[32];
    time_t t = (time_t)(m->arrival / 1000);
    struct tm tm;
    const char *qn = showq_queue_name(m, q->now);
    if (q->count == 0)
        fprintf(out, "%-10s %8s %-20s %s\n", "-Queue ID-", "--Size--", "----Arrival Time----",
                "-Sender/Recipient-------");
    else
        fputc('\n', out);
    localtime_r(&t, &tm);
    asctime_r(&tm, at);
    fprintf(out, "%-10s%c%8llu %20.20s ", qid,
            strcmp(qn, "hold") == 0     ? '!'
            : strcmp(qn, "active") == 0 ? '*'
                                        : ' ',
            (unsigned long long)m->size, at);
    showq_print_text(out, *m->sender ? m->sender : "MAILER-DAEMON");
    fputc('\n', out);
    const char *prev = NULL;
    for (uint32_t i = 0; i < m->nrcpt; i++) {
        const struct qrcpt *r = &m->rcpts[i];
        if (!showq_open(r))
            continue;
        if (r->last_reply && *r->last_reply && (!prev || strcmp(prev, r->last_reply) != 0)) {
            int pad = SHOWQ_REASON_COL - (int)strlen(r->last_reply);
            fprintf(out, "%*s(", pad > 0 ? pad : 0, "");
            showq_print_text(out, r->last_reply);
            fputs(")\n", out);
            prev = r->last_reply;
        }
        fprintf(out, "%*s", SHOWQ_RCPT_PAD, "");
        showq_print_text(out, r->addr);
        fputc('\n', out);
    }
}

/* One message, when it still has a recipient to deliver. */
int showq_msg(struct showq *q, const struct qmsg *m)
{
    char qid[QID_TEXT_LEN + 1];
    uint32_t open = 0;
    for (uint32_t i = 0; i < m->nrcpt; i++)
        open += showq_open(&m->rcpts[i]);
    if (open == 0)
        return 0;
    qid_to_text(m->id, qid);
    if (q->json)
        showq_json(q, m, qid);
    else
        showq_text(q, m, qid);
    q->bytes += m->size;
    q->count++;
    return 0;
}

/* The summary line. */
void showq_end(struct showq *q)
{
    if (q->json)
        return;
    if (q->count == 0)
        fputs("Mail queue is empty\n", q->out);
    else
        fprintf(q->out, "\n-- %llu Kbytes in %lu Request%s.\n",
                (unsigned long long)(q->bytes / 1024), q->count, q->count == 1 ? "" : "s");
}
