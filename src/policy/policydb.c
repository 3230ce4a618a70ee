/* policydb: build and lookups of the compiled policy map (contract in policydb.h). */
#include "policy/policydb.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/xalloc.h"

struct policydb {
    MDB_env *env;
    MDB_dbi dbi;
};

/* ---- build ---- */

/* Adds one parsed line to the map being written (merging with the key's record). */
static int policydb_put(MDB_txn *txn, MDB_dbi dbi, const struct policyfile_line *l,
                        const char **why)
{
    struct policyfile_value v = {0};
    unsigned char buf[2 + POLICYFILE_TEXT_MAX];
    MDB_val k = {l->keylen, (void *)l->key}, d;
    if (mdb_get(txn, dbi, &k, &d) == 0 && policyfile_value_decode(d.mv_data, d.mv_size, &v) < 0) {
        *why = "corrupt record";
        return -1;
    }
    if (policyfile_value_add(&v, l, why) < 0)
        return -1;
    d.mv_size = policyfile_value_encode(&v, buf);
    d.mv_data = buf;
    int rc = mdb_put(txn, dbi, &k, &d, 0);
    if (rc != 0)
        *why = mdb_strerror(rc);
    return rc == 0 ? 0 : -1;
}

/* Compiles one source file into the open transaction. */
static int policydb_file(MDB_txn *txn, MDB_dbi dbi, const char *file, char *err, size_t errlen)
{
    FILE *f = fopen(file, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", file, strerror(errno));
        return -1;
    }
    char line[POLICYFILE_LINE_MAX + 2];
    unsigned long no = 0;
    int rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        size_t n = strlen(line);
        const char *why = NULL;
        struct policyfile_line l;
        no++;
        if (n > 0 && line[n - 1] == '\n')
            n--;
        else if (!feof(f))
            why = "line too long";
        if (n > 0 && line[n - 1] == '\r')
            n--;
        if (!why && policyfile_parse(line, n, &l, &why) == 1)
            policydb_put(txn, dbi, &l, &why);
        if (why) {
            snprintf(err, errlen, "%s:%lu: %s", file, no, why);
            rc = -1;
        }
    }
    if (rc == 0 && ferror(f)) {
        snprintf(err, errlen, "%s: read error", file);
        rc = -1;
    }
    fclose(f);
    return rc;
}

/* The map size for the sources: generous (sparse file), at least 16 MiB. */
static size_t policydb_mapsize(char *const *files, size_t n)
{
    size_t total = 16u << 20;
    struct stat st;
    for (size_t i = 0; i < n; i++)
        if (stat(files[i], &st) == 0)
            total += (size_t)st.st_size * 8;
    return total;
}

/* Writes every file into the environment at tmp. */
static int policydb_write(char *const *files, size_t n, const char *tmp, char *err, size_t errlen)
{
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi dbi;
    int rc = mdb_env_create(&env);
    if (rc == 0)
        rc = mdb_env_set_mapsize(env, policydb_mapsize(files, n));
    if (rc == 0)
        rc = mdb_env_open(env, tmp, MDB_NOSUBDIR | MDB_NOLOCK, 0644);
    if (rc == 0)
        rc = mdb_txn_begin(env, NULL, 0, &txn);
    if (rc == 0)
        rc = mdb_dbi_open(txn, NULL, 0, &dbi);
    if (rc != 0) {
        snprintf(err, errlen, "%s: %s", tmp, mdb_strerror(rc));
        goto out;
    }
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = policydb_file(txn, dbi, files[i], err, errlen);
    if (rc == 0) {
        rc = mdb_txn_commit(txn); /* frees the transaction whatever it returns */
        txn = NULL;
        if (rc != 0)
            snprintf(err, errlen, "%s: %s", tmp, mdb_strerror(rc));
    }
    if (rc == 0 && (rc = mdb_env_sync(env, 1)) != 0)
        snprintf(err, errlen, "%s: %s", tmp, mdb_strerror(rc));
out:
    if (txn)
        mdb_txn_abort(txn);
    if (env)
        mdb_env_close(env);
    return rc == 0 ? 0 : -1;
}

int policydb_build(char *const *files, size_t nfiles, const char *out, char *err, size_t errlen)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", out, (long)getpid());
    unlink(tmp);
    if (policydb_write(files, nfiles, tmp, err, errlen) < 0) {
        unlink(tmp);
        return -1;
    }
    if (rename(tmp, out) < 0) {
        snprintf(err, errlen, "rename %s to %s: %s", tmp, out, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* ---- lookups ---- */

struct policydb *policydb_open(const char *path, char *err, size_t errlen)
{
    struct policydb *db = xcalloc(1, sizeof *db);
    MDB_txn *txn = NULL;
    int rc = mdb_env_create(&db->env);
    if (rc == 0)
        rc = mdb_env_set_mapsize(db->env, 0);
    if (rc == 0)
        rc = mdb_env_open(db->env, path, MDB_NOSUBDIR | MDB_NOLOCK | MDB_RDONLY, 0644);
    if (rc == 0)
        rc = mdb_txn_begin(db->env, NULL, MDB_RDONLY, &txn);
    if (rc == 0)
        rc = mdb_dbi_open(txn, NULL, 0, &db->dbi);
    if (txn)
        mdb_txn_abort(txn);
    if (rc != 0) {
        snprintf(err, errlen, "%s: %s%s", path, mdb_strerror(rc),
                 rc == ENOENT ? " (compile it: sluice policy-build)" : "");
        policydb_close(db);
        return NULL;
    }
    return db;
}

void policydb_close(struct policydb *db)
{
    if (!db)
        return;
    if (db->env)
        mdb_env_close(db->env);
    free(db);
}

/* Writes the file form of an encoded key into out. */
static void policydb_key_text(const unsigned char *k, size_t n, char *out, size_t outlen)
{
    char ip[INET6_ADDRSTRLEN];
    if (k[0] == 'I') {
        inet_ntop(k[1] == '6' ? AF_INET6 : AF_INET, k + 3, ip, sizeof ip);
        snprintf(out, outlen, "%s/%u", ip, k[2]);
        return;
    }
    const char *pre = k[0] == 'S' ? "." : k[0] == 'A' ? "@" : "";
    snprintf(out, outlen, "%s%.*s", pre, (int)(n - 1), (const char *)k + 1);
}

/* One exact lookup of an encoded key: 1 found (h filled), 0 not, -1 error. */
static int policydb_get(struct policydb *db, const unsigned char *key, size_t n,
                        struct policydb_hit *h)
{
    MDB_txn *txn;
    MDB_val k = {n, (void *)key}, d;
    if (n == 0 || mdb_txn_begin(db->env, NULL, MDB_RDONLY, &txn) != 0)
        return n == 0 ? 0 : -1;
    int rc = mdb_get(txn, db->dbi, &k, &d), found = 0;
    if (rc == 0 && policyfile_value_decode(d.mv_data, d.mv_size, &h->v) == 0) {
        policydb_key_text(key, n, h->key, sizeof h->key);
        found = 1;
    } else if (rc != MDB_NOTFOUND) {
        log_warn("policydb: lookup: %s", rc ? mdb_strerror(rc) : "bad record");
        found = -1;
    }
    mdb_txn_abort(txn);
    return found;
}

/* The name exactly, then its parent suffixes. */
static int policydb_domain(struct policydb *db, const char *name, struct policydb_hit *h)
{
    unsigned char key[POLICYFILE_KEY_MAX];
    if (!name || !*name)
        return 0;
    int rc = policydb_get(db, key, policyfile_key_name('N', name, strlen(name), key), h);
    for (const char *p = strchr(name, '.'); rc == 0 && p; p = strchr(p + 1, '.'))
        rc = p[1] ? policydb_get(db, key, policyfile_key_name('S', p + 1, strlen(p + 1), key), h)
                  : 0;
    return rc;
}

int policydb_client(struct policydb *db, const struct sockaddr *sa, const char *name,
                    struct policydb_hit *h)
{
    unsigned char key[POLICYFILE_KEY_MAX];
    const uint8_t *a = NULL;
    int fam = 4;
    unsigned max = 32;
    if (sa->sa_family == AF_INET) {
        a = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
    } else if (sa->sa_family == AF_INET6) {
        const struct in6_addr *in6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        a = IN6_IS_ADDR_V4MAPPED(in6) ? in6->s6_addr + 12 : in6->s6_addr;
        fam = IN6_IS_ADDR_V4MAPPED(in6) ? 4 : 6;
        max = fam == 4 ? 32 : 128;
    }
    for (int p = (int)max; a && p >= 0; p--) {
        int rc = policydb_get(db, key, policyfile_key_ip(fam, a, (unsigned)p, key), h);
        if (rc != 0)
            return rc;
    }
    return name && strcmp(name, "unknown") != 0 ? policydb_domain(db, name, h) : 0;
}

int policydb_name(struct policydb *db, const char *name, struct policydb_hit *h)
{
    return policydb_domain(db, name, h);
}

int policydb_address(struct policydb *db, const char *addr, struct policydb_hit *h)
{
    unsigned char key[POLICYFILE_KEY_MAX];
    const char *at = strrchr(addr, '@');
    if (!at)
        return 0;
    int rc = policydb_get(db, key, policyfile_key_name('U', addr, strlen(addr), key), h);
    if (rc == 0)
        rc = policydb_get(db, key, policyfile_key_name('A', at + 1, strlen(at + 1), key), h);
    return rc == 0 ? policydb_domain(db, at + 1, h) : rc;
}
