/* micro_sync: what one durable commit costs on this disk, four ways, interleaved so that
 * the machine's noise hits all four alike (docs/design.md, "Durability"):
 *   lmdb default           an LMDB commit with default flags (data fdatasync + O_DSYNC meta)
 *   lmdb NOMETASYNC        the same with MDB_NOMETASYNC (data synced, meta not)
 *   NOMETASYNC || journal  that commit while another thread writes and syncs the journal
 *   journal alone          one 2,600-byte pwrite into a preallocated file + fdatasync
 * Each commit puts one 2,500-byte value and deletes the one put four commits before (a queue
 * in steady state: the LMDB file stops growing). Prints median, p25 and p90 in ms.
 *
 *     make build/bench/micro_sync && build/bench/micro_sync [DIR] [N]   (DIR default build/) */
#include <fcntl.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char buf[4096];
static int jfd;

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The journal's part: one record's worth, synced. */
static void *journal_sync(void *arg)
{
    (void)arg;
    if (pwrite(jfd, buf, 2600, 0) != 2600 || fdatasync(jfd) != 0)
        perror("journal");
    return NULL;
}

/* One steady-state commit: put key, delete key - 4. */
static void commit(MDB_env *e, MDB_dbi d, unsigned long key, int with_journal)
{
    MDB_txn *t;
    mdb_txn_begin(e, NULL, 0, &t);
    MDB_val k = {sizeof key, &key}, v = {2500, buf};
    mdb_put(t, d, &k, &v, 0);
    if (key >= 4) {
        unsigned long old = key - 4;
        MDB_val ok = {sizeof old, &old};
        mdb_del(t, d, &ok, NULL);
    }
    pthread_t th;
    if (with_journal)
        pthread_create(&th, NULL, journal_sync, NULL);
    mdb_txn_commit(t);
    if (with_journal)
        pthread_join(th, NULL);
}

/* Opens a fresh environment DIR/micro_sync_K.mdb. */
static MDB_env *env_open(const char *dir, int k, unsigned flags, MDB_dbi *d)
{
    char p[512];
    MDB_env *e;
    MDB_txn *t;
    snprintf(p, sizeof p, "%s/micro_sync_%d.mdb", dir, k);
    unlink(p);
    mdb_env_create(&e);
    mdb_env_set_mapsize(e, (size_t)1 << 30);
    if (mdb_env_open(e, p, MDB_NOSUBDIR | MDB_NOTLS | flags, 0600) != 0) {
        fprintf(stderr, "cannot open %s\n", p);
        exit(1);
    }
    mdb_txn_begin(e, NULL, 0, &t);
    mdb_dbi_open(t, NULL, 0, d);
    mdb_txn_commit(t);
    return e;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "build";
    int n = argc > 2 ? atoi(argv[2]) : 400, warm = 50;
    static const char *names[4] = {"lmdb default", "lmdb NOMETASYNC", "NOMETASYNC || journal",
                                   "journal alone"};
    char p[512];
    memset(buf, 'x', sizeof buf);
    snprintf(p, sizeof p, "%s/micro_sync.journal", dir);
    jfd = open(p, O_CREAT | O_TRUNC | O_RDWR, 0600);
    for (int i = 0; i < 256; i++) /* preallocated: overwrites change no metadata */
        if (jfd < 0 || write(jfd, buf, sizeof buf) != (ssize_t)sizeof buf)
            return 1;
    fsync(jfd);
    MDB_dbi d[2];
    MDB_env *e[2] = {env_open(dir, 0, 0, &d[0]), env_open(dir, 1, MDB_NOMETASYNC, &d[1])};
    double *v[4];
    unsigned long key[2] = {0, 0};
    for (int m = 0; m < 4; m++)
        v[m] = calloc((size_t)n, sizeof *v[m]);
    for (int i = 0; i < n + warm; i++)
        for (int m = 0; m < 4; m++) {
            double t0 = now_ms();
            if (m == 3)
                journal_sync(NULL);
            else
                commit(e[m != 0], d[m != 0], key[m != 0]++, m == 2);
            if (i >= warm)
                v[m][i - warm] = now_ms() - t0;
        }
    for (int m = 0; m < 4; m++) {
        qsort(v[m], (size_t)n, sizeof *v[m], cmp);
        printf("%-24s median %.3f  p25 %.3f  p90 %.3f ms\n", names[m], v[m][n / 2], v[m][n / 4],
               v[m][n * 9 / 10]);
        free(v[m]);
    }
    for (int k = 0; k < 2; k++) {
        mdb_env_close(e[k]);
        snprintf(p, sizeof p, "%s/micro_sync_%d.mdb", dir, k);
        unlink(p);
        snprintf(p, sizeof p, "%s/micro_sync_%d.mdb-lock", dir, k);
        unlink(p);
    }
    close(jfd);
    snprintf(p, sizeof p, "%s/micro_sync.journal", dir);
    unlink(p);
    return 0;
}
