/* store: the scheduler's compact in-memory records (docs/design.md "Memory"). A queued
 * message costs about 250 bytes here, so a million fit in the ~300 MB issue 14 allows:
 *  - one allocation per message: struct smsg, its recipients (a flexible array) and their
 *    strings (address, ORCPT, ENVID) back to back; an empty string is the block's one NUL;
 *  - sender, client address and HELO name are interned (shared, counted): a queue holds
 *    few distinct ones;
 *  - a recipient's last attempt (time, relay, reply) is a separate allocation made only once
 *    there is one (struct sattempt); a recipient never tried costs none;
 *  - the table of messages is keyed by the 64-bit id, chained through smsg.next (8 bytes
 *    of bucket per message), not a string dictionary.
 * Public to src/sched/ through internal.h: sched_msg_alloc/_free, sched_msgs_* (table),
 * sched_rcpt_set_last and the accessors of the last attempt. Loop thread only. */
#include <stdlib.h>
#include <string.h>

#include "core/dict.h"
#include "core/qid.h"
#include "core/xalloc.h"
#include "deliver/deliver.h"
#include "queue/record.h"
#include "sched/internal.h"

/* An interned string with its count of users. */
struct sched_istr {
    size_t refs;
    char s[];
};

static char sched_empty[1];

/* The shared copy of str ("" is never counted). */
static char *sched_intern(struct sched *s, const char *str)
{
    if (!str || !*str)
        return sched_empty;
    struct sched_istr *is = dict_find(s->strings, str);
    if (!is) {
        size_t n = strlen(str) + 1;
        is = xmalloc(sizeof *is + n);
        is->refs = 0;
        memcpy(is->s, str, n);
        dict_put(s->strings, str, is);
    }
    is->refs++;
    return is->s;
}

/* Drops one use of an interned string. */
static void sched_unintern(struct sched *s, const char *str)
{
    if (!*str)
        return;
    struct sched_istr *is = dict_find(s->strings, str);
    if (is && --is->refs == 0) {
        dict_remove(s->strings, str);
        free(is);
    }
}

/* Copies str (NULL = "") to *pos in the block; returns the copy. */
static char *sched_put_str(char **pos, char *empty, const char *str)
{
    if (!str || !*str)
        return empty;
    size_t n = strlen(str) + 1;
    char *p = memcpy(*pos, str, n);
    *pos += n;
    return p;
}

/* A new message record for qm: envelope and recipient strings copied, recipients zeroed
 * but for their strings and NOTIFY (sched.c fills the rest). */
struct smsg *sched_msg_alloc(struct sched *s, const struct qmsg *qm)
{
    size_t strs = 1 + (qm->envid ? strlen(qm->envid) + 1 : 0);
    for (uint32_t i = 0; i < qm->nrcpt; i++)
        strs += strlen(qm->rcpts[i].addr) + 1 +
                (qm->rcpts[i].orcpt ? strlen(qm->rcpts[i].orcpt) + 1 : 0);
    size_t head = sizeof(struct smsg) + (size_t)qm->nrcpt * sizeof(struct srcpt);
    struct smsg *m = xcalloc(1, head + strs);
    char *empty = (char *)m + head, *pos = empty + 1;
    m->d.id = qm->id;
    qid_to_text(qm->id, m->d.qid);
    m->d.sender = sched_intern(s, qm->sender);
    m->d.client_ip = sched_intern(s, qm->client_ip);
    m->helo = sched_intern(s, qm->helo);
    m->d.envid = sched_put_str(&pos, empty, qm->envid);
    m->nrcpt = qm->nrcpt;
    for (uint32_t i = 0; i < qm->nrcpt; i++) {
        struct srcpt *r = &m->rcpts[i];
        r->d.msg = &m->d;
        r->d.addr = sched_put_str(&pos, empty, qm->rcpts[i].addr);
        r->d.orcpt = sched_put_str(&pos, empty, qm->rcpts[i].orcpt);
        r->d.notify = qm->rcpts[i].notify;
    }
    return m;
}

/* Frees a message record with its recipients' last attempts (not its queue records). */
void sched_msg_free(struct sched *s, struct smsg *m)
{
    for (uint32_t i = 0; i < m->nrcpt; i++)
        free(m->rcpts[i].last);
    deliver_msg_clear(&m->d);
    sched_unintern(s, m->d.sender);
    sched_unintern(s, m->d.client_ip);
    sched_unintern(s, m->helo);
    free(m);
}

/* Records r's last attempt: when, through which relay, with which reply (NULL: none). */
void sched_rcpt_set_last(struct srcpt *r, int64_t at, const char *relay, const char *reply)
{
    size_t rl = strlen(relay ? relay : ""), pl = strlen(reply ? reply : "");
    struct sattempt *a = xmalloc(sizeof *a + rl + pl + 2);
    a->at = at;
    memcpy(a->text, relay ? relay : "", rl + 1);
    a->reply = a->text + rl + 1;
    memcpy(a->reply, reply ? reply : "", pl + 1);
    free(r->last);
    r->last = a;
}

const char *sched_rcpt_reply(const struct srcpt *r)
{
    return r->last ? r->last->reply : "";
}

const char *sched_rcpt_relay(const struct srcpt *r)
{
    return r->last ? r->last->text : "";
}

int64_t sched_rcpt_last_at(const struct srcpt *r)
{
    return r->last ? r->last->at : 0;
}

/* ---- the table of messages by id --------------------------------------------------- */

/* The bucket of id (Fibonacci hashing: ids differ mostly in their middle bits). */
static size_t sched_msgs_slot(const struct sched *s, uint64_t id)
{
    return (size_t)((id * 0x9E3779B97F4A7C15ull) >> (64 - s->msgs_bits));
}

/* Doubles the bucket array and rechains every message. */
static void sched_msgs_grow(struct sched *s)
{
    size_t old = s->msgs_nb;
    struct smsg **ob = s->msgs_b;
    s->msgs_bits++;
    s->msgs_nb = (size_t)1 << s->msgs_bits;
    s->msgs_b = xcalloc(s->msgs_nb, sizeof *s->msgs_b);
    for (size_t i = 0; i < old; i++)
        for (struct smsg *m = ob[i], *next; m; m = next) {
            next = m->next;
            size_t k = sched_msgs_slot(s, m->d.id);
            m->next = s->msgs_b[k];
            s->msgs_b[k] = m;
        }
    free(ob);
}

void sched_msgs_init(struct sched *s)
{
    s->msgs_bits = 10;
    s->msgs_nb = (size_t)1 << s->msgs_bits;
    s->msgs_b = xcalloc(s->msgs_nb, sizeof *s->msgs_b);
    s->strings = dict_create();
}

struct smsg *sched_msgs_find_id(const struct sched *s, uint64_t id)
{
    for (struct smsg *m = s->msgs_b[sched_msgs_slot(s, id)]; m; m = m->next)
        if (m->d.id == id)
            return m;
    return NULL;
}

/* By queue id text (16 hex digits); NULL when not a queue id or not known. */
struct smsg *sched_msgs_find(const struct sched *s, const char *qid)
{
    uint64_t id;
    if (qid_from_text(qid, &id) < 0)
        return NULL;
    return sched_msgs_find_id(s, id);
}

void sched_msgs_put(struct sched *s, struct smsg *m)
{
    if (s->msgs_n >= s->msgs_nb)
        sched_msgs_grow(s);
    size_t k = sched_msgs_slot(s, m->d.id);
    m->next = s->msgs_b[k];
    s->msgs_b[k] = m;
    s->msgs_n++;
}

void sched_msgs_remove(struct sched *s, struct smsg *m)
{
    for (struct smsg **pp = &s->msgs_b[sched_msgs_slot(s, m->d.id)]; *pp; pp = &(*pp)->next)
        if (*pp == m) {
            *pp = m->next;
            s->msgs_n--;
            return;
        }
}

/* Calls fn(arg, qid, m) for every message; the table must not change during the walk. */
void sched_msgs_foreach(const struct sched *s, void (*fn)(void *arg, const char *qid, void *m),
                        void *arg)
{
    for (size_t i = 0; i < s->msgs_nb; i++)
        for (struct smsg *m = s->msgs_b[i]; m; m = m->next)
            fn(arg, m->d.qid, m);
}

/* Frees every message and the table. */
void sched_msgs_free(struct sched *s)
{
    for (size_t i = 0; i < s->msgs_nb; i++)
        for (struct smsg *m = s->msgs_b[i], *next; m; m = next) {
            next = m->next;
            sched_msg_free(s, m);
        }
    free(s->msgs_b);
    dict_free(s->strings, free);
}
