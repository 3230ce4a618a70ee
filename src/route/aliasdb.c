/* aliasdb: compiled alias maps (LMDB, one file, replaced atomically). See aliasdb.h.
 * Invariant: FILE.db is only ever created by rename(2) of a complete, fsynced map, so a
 * reader sees the old map or the new one, never a half-written one. */
#include "route/aliasdb.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/xalloc.h"
#include "proto/addrmap.h"
#include "proto/aliases.h"

struct aliasdb {
    char *dbpath;
    MDB_env *env;
    MDB_dbi dbi;
    dev_t dev;
    ino_t ino;
    int warned;
};

/* Reads the whole file at path (bounded). 0 with a malloc'ed, NUL-terminated buffer, or -1. */
static int aliasdb_slurp(const char *path, char **buf, size_t *len, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || (size_t)st.st_size > ALIASDB_FILE_MAX) {
        snprintf(err, errlen, "%s:0: %s", path, fd < 0 ? strerror(errno) : "too large");
        if (fd >= 0)
            close(fd);
        return -1;
    }
    *buf = xmalloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, *buf + got, (size_t)st.st_size - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    (*buf)[got] = '\0';
    *len = got;
    return 0;
}

struct aliasdb_value {
    char *v;
    size_t len, cap;
};

/* Appends one target (and its '\0') to the value being built. */
static int aliasdb_add_target(void *arg, enum alias_kind k, const char *t, size_t len)
{
    struct aliasdb_value *val = arg;
    if (k == ALIAS_INCLUDE && (len < 10 || t[9] != '/'))
        return -1; /* :include: wants an absolute path */
    if (k == ALIAS_ADDRESS && memchr(t, ' ', len))
        return -1;
    if (val->len + len + 1 > ALIASDB_VALUE_MAX)
        return -1;
    while (val->len + len + 1 > val->cap) {
        val->cap = val->cap ? val->cap * 2 : 256;
        val->v = xrealloc(val->v, val->cap);
    }
    memcpy(val->v + val->len, t, len);
    val->v[val->len + len] = '\0';
    val->len += len + 1;
    return 0;
}

/* Puts name (lower-cased into key, which has room for it) -> val into the transaction;
 * -1 with "PATH:LINE: dup" (or LMDB's reason) in err when it cannot. */
static int aliasdb_put(MDB_txn *txn, MDB_dbi dbi, const char *name, size_t namelen,
                       const struct aliasdb_value *val, char *key, const char *dup,
                       const char *path, unsigned line, char *err, size_t errlen)
{
    for (size_t i = 0; i < namelen; i++)
        key[i] = (char)tolower((unsigned char)name[i]);
    MDB_val k = {namelen, key}, v = {val->len, val->v};
    int prc = mdb_put(txn, dbi, &k, &v, MDB_NOOVERWRITE);
    if (prc == 0)
        return 0;
    snprintf(err, errlen, "%s:%u: %s", path, line, prc == MDB_KEYEXIST ? dup : mdb_strerror(prc));
    return -1;
}

/* Writes every entry of buf into the open transaction; -1 with err set. */
static int aliasdb_fill(const char *path, const char *buf, size_t len, MDB_txn *txn, MDB_dbi dbi,
                        unsigned *count, char *err, size_t errlen)
{
    size_t pos = 0;
    unsigned line = 0;
    struct alias_entry e;
    char msg[256], *tmp = xmalloc(ALIASES_TARGET_MAX + 1), key[ALIASES_NAME_MAX];
    struct aliasdb_value val = {0};
    int rc, ret = -1;
    while ((rc = aliases_next(buf, len, &pos, &line, &e, msg, sizeof msg)) == 1) {
        val.len = 0;
        if (aliases_split(e.value, e.valuelen, tmp, aliasdb_add_target, &val, msg, sizeof msg) < 0) {
            snprintf(err, errlen, "%s:%u: %s", path, e.line, msg);
            goto done;
        }
        if (aliasdb_put(txn, dbi, e.name, e.namelen, &val, key, "duplicate alias name", path,
                        e.line, err, errlen) < 0)
            goto done;
        ++*count;
    }
    if (rc < 0)
        snprintf(err, errlen, "%s:%s", path, msg);
    else
        ret = 0;
done:
    free(val.v);
    free(tmp);
    return ret;
}

/* Appends one virtual/canonical value (and its '\0'). */
static int aliasdb_add_value(void *arg, const char *v, size_t len)
{
    return aliasdb_add_target(arg, ALIAS_ADDRESS, v, len);
}

/* Writes every entry of a virtual or canonical file into the open transaction. */
static int aliasdb_fill_map(const char *path, enum aliasdb_kind kind, const char *buf,
                            size_t len, MDB_txn *txn, MDB_dbi dbi, unsigned *count, char *err,
                            size_t errlen)
{
    size_t pos = 0;
    unsigned line = 0;
    struct addrmap_entry e;
    char msg[256], key[ADDRMAP_ADDR_MAX];
    struct aliasdb_value val = {0};
    int rc, ret = -1;
    enum addrmap_kind ak = kind == ALIASDB_CANONICAL ? ADDRMAP_CANONICAL : ADDRMAP_VIRTUAL;
    while ((rc = addrmap_next(buf, len, &pos, &line, &e, msg, sizeof msg)) == 1) {
        val.len = 0;
        if (addrmap_split(ak, &e, aliasdb_add_value, &val, msg, sizeof msg) < 0) {
            snprintf(err, errlen, "%s:%u: %s", path, e.line, msg);
            goto done;
        }
        if (aliasdb_put(txn, dbi, e.key, e.keylen, &val, key, "duplicate key", path, e.line,
                        err, errlen) < 0)
            goto done;
        ++*count;
    }
    if (rc < 0)
        snprintf(err, errlen, "%s:%s", path, msg);
    else
        ret = 0;
done:
    free(val.v);
    return ret;
}

/* Builds the map of buf into tmppath. 0, or -1 with err. */
static int aliasdb_write(const char *path, enum aliasdb_kind kind, const char *tmppath,
                         const char *buf, size_t len, unsigned *count, char *err, size_t errlen)
{
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi dbi;
    int rc = mdb_env_create(&env);
    if (rc == 0)
        rc = mdb_env_set_mapsize(env, (size_t)len * 4 + (size_t)16 * 1024 * 1024);
    if (rc == 0)
        rc = mdb_env_open(env, tmppath, MDB_NOSUBDIR | MDB_NOLOCK, 0644);
    if (rc == 0)
        rc = mdb_txn_begin(env, NULL, 0, &txn);
    if (rc == 0)
        rc = mdb_dbi_open(txn, NULL, 0, &dbi);
    if (rc != 0) {
        snprintf(err, errlen, "%s:0: %s", tmppath, mdb_strerror(rc));
        goto fail;
    }
    if ((kind == ALIASDB_ALIASES
             ? aliasdb_fill(path, buf, len, txn, dbi, count, err, errlen)
             : aliasdb_fill_map(path, kind, buf, len, txn, dbi, count, err, errlen)) < 0)
        goto fail;
    rc = mdb_txn_commit(txn); /* commit = fsync of the map */
    txn = NULL;
    if (rc != 0) {
        snprintf(err, errlen, "%s:0: %s", tmppath, mdb_strerror(rc == MDB_MAP_FULL ? ENOSPC : rc));
        goto fail;
    }
    mdb_env_close(env);
    return 0;
fail:
    if (txn)
        mdb_txn_abort(txn);
    if (env)
        mdb_env_close(env);
    return -1;
}

/* Compiles an aliases file; see aliasdb.h. */
int aliasdb_compile(const char *path, unsigned *nentries, char *err, size_t errlen)
{
    return aliasdb_compile_kind(path, ALIASDB_ALIASES, nentries, err, errlen);
}

/* Compiles path into path.db; see aliasdb.h. */
int aliasdb_compile_kind(const char *path, enum aliasdb_kind kind, unsigned *nentries,
                         char *err, size_t errlen)
{
    char *buf = NULL, tmppath[4200], dbpath[4200];
    size_t len;
    *nentries = 0;
    if (aliasdb_slurp(path, &buf, &len, err, errlen) < 0)
        return -1;
    snprintf(dbpath, sizeof dbpath, "%s.db", path);
    snprintf(tmppath, sizeof tmppath, "%s.db.tmp.%ld", path, (long)getpid());
    unlink(tmppath);
    int rc = aliasdb_write(path, kind, tmppath, buf, len, nentries, err, errlen);
    free(buf);
    if (rc == 0 && (chmod(tmppath, 0644) < 0 || rename(tmppath, dbpath) < 0)) {
        snprintf(err, errlen, "%s:0: cannot replace %s: %s", path, dbpath, strerror(errno));
        rc = -1;
    }
    if (rc < 0)
        unlink(tmppath);
    return rc;
}

/* Opens a read handle on path.db (the map is opened lazily by lookup). */
struct aliasdb *aliasdb_open(const char *path)
{
    struct aliasdb *a = xcalloc(1, sizeof *a);
    size_t n = strlen(path) + 4;
    a->dbpath = xmalloc(n);
    snprintf(a->dbpath, n, "%s.db", path);
    return a;
}

/* Closes the open map, if any. */
static void aliasdb_drop(struct aliasdb *a)
{
    if (a->env)
        mdb_env_close(a->env);
    a->env = NULL;
}

void aliasdb_close(struct aliasdb *a)
{
    if (!a)
        return;
    aliasdb_drop(a);
    free(a->dbpath);
    free(a);
}

/* (Re)opens the map when the file changed. 1 open, 0 no map, -1 error. */
static int aliasdb_fresh(struct aliasdb *a)
{
    struct stat st;
    if (stat(a->dbpath, &st) < 0) {
        if (errno != ENOENT)
            return -1;
        if (!a->warned++)
            log_warn("alias map %s does not exist: run `sluice newaliases`", a->dbpath);
        aliasdb_drop(a);
        return 0;
    }
    if (a->env && st.st_dev == a->dev && st.st_ino == a->ino)
        return 1;
    aliasdb_drop(a);
    MDB_txn *txn = NULL;
    int rc = mdb_env_create(&a->env);
    if (rc == 0)
        rc = mdb_env_open(a->env, a->dbpath, MDB_NOSUBDIR | MDB_NOLOCK | MDB_RDONLY, 0);
    if (rc == 0)
        rc = mdb_txn_begin(a->env, NULL, MDB_RDONLY, &txn);
    if (rc == 0)
        rc = mdb_dbi_open(txn, NULL, 0, &a->dbi);
    if (txn)
        mdb_txn_abort(txn);
    if (rc != 0) {
        log_warn("alias map %s: %s", a->dbpath, mdb_strerror(rc));
        aliasdb_drop(a);
        return -1;
    }
    a->dev = st.st_dev;
    a->ino = st.st_ino;
    return 1;
}

/* Looks name up; see aliasdb.h. */
int aliasdb_lookup(struct aliasdb *a, const char *name, char **out, size_t *outlen)
{
    char key[ALIASES_NAME_MAX];
    size_t n = strlen(name);
    if (n == 0 || n > ALIASES_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        key[i] = (char)tolower((unsigned char)name[i]);
    int f = aliasdb_fresh(a);
    if (f <= 0)
        return f;
    MDB_txn *txn;
    if (mdb_txn_begin(a->env, NULL, MDB_RDONLY, &txn) != 0)
        return -1;
    MDB_val k = {n, key}, v;
    int rc = mdb_get(txn, a->dbi, &k, &v);
    if (rc == 0) {
        *out = xmalloc(v.mv_size + 1);
        memcpy(*out, v.mv_data, v.mv_size);
        (*out)[v.mv_size] = '\0';
        *outlen = v.mv_size;
    }
    mdb_txn_abort(txn);
    return rc == 0 ? 1 : rc == MDB_NOTFOUND ? 0 : -1;
}
