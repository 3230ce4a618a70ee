/* qfill: fills a sluice queue with N messages for the bench's `queue-scale` (sluice only;
 * SMTP injection of 1,000,000 messages takes many minutes). It writes exactly what the
 * daemon's queue_put() writes: the same encoder (queue_encode_put: envelope, recipient
 * records) and the same apply step (queue_apply_op: envelope, recipients, content) of
 * src/queue/, only many messages per LMDB transaction (one commit per BATCH). Message i
 * has one pending recipient user<i>@<P><k>.test, k = 1 + i % DOMAINS (the bench's
 * round-robin), P the PREFIX (default "d"), the sender app@source.bench.test, client 127.0.0.1, a SIZE-byte content.
 * The daemon must not run on the spool (it takes the spool's lock to be sure).
 *
 *     make build/bench/qfill && build/bench/qfill SPOOL COUNT [DOMAINS [SIZE [PREFIX]]] */
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/qid.h"
#include "core/xalloc.h"
#include "queue/internal.h"
#include "queue/queue.h"

#define QFILL_BATCH 10000

/* The content: a few headers, then 76-character lines up to size bytes. */
static char *qfill_body(size_t size, size_t *len)
{
    static const char head[] = "From: app@source.bench.test\r\nTo: user@bench.test\r\n"
                               "Subject: queue-scale\r\nMessage-ID: <qfill@source.bench.test>"
                               "\r\n\r\n";
    size_t hl = sizeof head - 1, n = size > hl + 78 ? size : hl + 78;
    char *b = xmalloc(n);
    memcpy(b, head, hl);
    size_t off = hl;
    while (off + 78 <= n) {
        memset(b + off, 'x', 76);
        memcpy(b + off + 76, "\r\n", 2);
        off += 78;
    }
    *len = off;
    return b;
}

/* Puts message i into txn the way the writer does; 0 or the LMDB error. */
static int qfill_one(struct queue *q, MDB_txn *txn, long i, int domains, const char *prefix,
                     const char *body, size_t len)
{
    char addr[96];
    snprintf(addr, sizeof addr, "user%ld@%.16s%ld.test", i, prefix, 1 + i % domains);
    struct qrcpt r = {.addr = addr, .state = RCPT_PENDING, .last_reply = "", .orcpt = ""};
    struct qmsg m = {.id = qid_next(),
                     .arrival = clock_wall_ms(),
                     .sender = "app@source.bench.test",
                     .client_ip = "127.0.0.1",
                     .helo = "source.bench.test",
                     .size = len,
                     .envid = "",
                     .nrcpt = 1,
                     .rcpts = &r};
    struct queue_op op = {.type = QOP_PUT, .body = body, .bodylen = len};
    int rc = queue_encode_put(&op, &m) < 0 ? MDB_BAD_VALSIZE : queue_apply_op(q, txn, &op);
    free(op.rec);
    free(op.rcpts);
    free(op.rcptoff);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: qfill SPOOL COUNT [DOMAINS [SIZE [PREFIX]]]\n");
        return 2;
    }
    long count = atol(argv[2]);
    int domains = argc > 3 ? atoi(argv[3]) : 200;
    size_t len, size = argc > 4 ? (size_t)atol(argv[4]) : 2048;
    const char *prefix = argc > 5 ? argv[5] : "d";
    char err[512];
    if (domains < 1 || count < 0) {
        fprintf(stderr, "qfill: bad COUNT or DOMAINS\n");
        return 2;
    }
    int lock = queue_lock_spool(argv[1], err, sizeof err);
    struct queue *q = lock < 0 ? NULL : queue_open(argv[1], NULL, err, sizeof err);
    if (!q) {
        fprintf(stderr, "qfill: %s\n", err);
        return 1;
    }
    char *body = qfill_body(size, &len);
    int rc = 0;
    for (long i = 0; i < count && rc == 0;) {
        MDB_txn *txn;
        rc = mdb_txn_begin(q->env, NULL, 0, &txn);
        for (long n = 0; rc == 0 && n < QFILL_BATCH && i < count; n++, i++)
            rc = qfill_one(q, txn, i, domains, prefix, body, len);
        rc = rc == 0 ? mdb_txn_commit(txn) : (mdb_txn_abort(txn), rc);
    }
    if (rc != 0)
        fprintf(stderr, "qfill: %s\n", mdb_strerror(rc));
    free(body);
    queue_close(q);
    close(lock);
    return rc != 0;
}
