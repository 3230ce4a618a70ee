/* fuzz_journal: arbitrary bytes as a queue journal file (src/queue/journal.c), the way a
 * replay after a crash reads it: journal_scan over the whole input, and every record of
 * every complete group decoded as its op. A decoded op must re-encode to exactly its
 * payload; a refused one must leave the op empty. Nothing may crash or leak (ASan, LSan). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "queue/journal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Frees what journal_op_decode allocated. */
static void fuzz_op_clear(struct queue_op *op)
{
    free(op->rec);
    free(op->rcpts);
    free(op->rcptoff);
    free(op->body_owned);
    free(op->ids);
    free(op->parent_addr);
    free(op->parent_reply);
}

/* journal_scan callback: decode, re-encode, compare. */
static int fuzz_group(void *arg, const struct journal_rec *recs, size_t n)
{
    (void)arg;
    for (size_t i = 0; i < n; i++) {
        struct queue_op op;
        memset(&op, 0, sizeof op);
        if (journal_op_decode(recs[i].type, recs[i].payload, recs[i].len, &op) < 0) {
            if (op.rec || op.rcpts || op.rcptoff || op.body_owned || op.ids || op.parent_addr)
                abort();
            continue;
        }
        size_t k = journal_op_encode(&op, NULL, 0);
        uint8_t *buf = malloc(k ? k : 1);
        if (k != recs[i].len || journal_op_encode(&op, buf, k) != k ||
            memcmp(buf, recs[i].payload, k) != 0)
            abort();
        free(buf);
        fuzz_op_clear(&op);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct journal_scan js;
    if (journal_scan(data, size, fuzz_group, NULL, &js) != 0 || js.good > size)
        abort();
    struct journal_rec r;
    long k = journal_rec_parse(data, size, &r);
    if (k > (long)size || (k > 0 && r.payload != data + JOURNAL_HDR))
        abort();
    return 0;
}
