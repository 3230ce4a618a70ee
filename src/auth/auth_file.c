/* auth_file: the password-file backend. The file holds one "user:HASH" line per user,
 * HASH as crypt(3) makes it (libxcrypt: yescrypt $y$, bcrypt $2b$, sha512-crypt $6$, ...).
 * Blank lines and lines whose first non-blank byte is '#' are ignored; a trailing CR is
 * dropped. A HASH beginning with '!' or '*' marks a locked account (always refused).
 *
 * Hard limits: AUTH_FILE_MAX bytes per file, AUTH_FILE_LINE_MAX per line, user names are
 * proto/sasl identities (1..255 bytes of UTF-8, no control characters, no surrounding
 * blanks, no ':'), hashes 1..CRYPT_OUTPUT_SIZE-1 bytes without blanks or ':' of a
 * method crypt_checksalt() calls CRYPT_SALT_OK (yescrypt, gost-yescrypt, scrypt, bcrypt,
 * sha512-crypt, sha256-crypt); legacy methods (DES, md5crypt, ...) are refused, they are
 * weak and any short string passes for a DES hash. A bad line, a duplicate user or a limit passed makes the whole
 * load fail with "FILE:LINE: what" (the line's content is never quoted: it may hold a
 * hash); a reload that fails keeps the table in force.
 *
 * Verification runs crypt_rn() on the worker pool with a private crypt_data, compares with
 * CRYPTO_memcmp, and wipes the password and the crypt state afterwards. A user not in the
 * table (or locked) still costs one crypt_rn() against the dummy hash (the first usable
 * entry's hash, else a fresh yescrypt setting) so response time does not reveal which
 * users exist. */
#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "auth/auth_int.h"
#include "core/dict.h"
#include "core/log.h"
#include "core/xalloc.h"

#define AUTH_FILE_MAX (16 * 1024 * 1024)
#define AUTH_FILE_LINE_MAX 1024

struct auth_table {
    struct dict *users; /* user -> char *hash */
    bool fields;        /* more ':'-separated fields may follow the hash (ignored) */
    char dummy[CRYPT_OUTPUT_SIZE];
};

struct auth_file {
    char *path;
    bool fields;
    struct auth_pool *pool;
    struct auth_table *t;
};

struct auth_file_job {
    struct auth_job job;
    bool known, locked, match, error;
    char hash[CRYPT_OUTPUT_SIZE];
    char password[SASL_FIELD_MAX + 1];
};

/* Frees a table and its hashes. */
static void auth_table_free(struct auth_table *t)
{
    if (t == NULL)
        return;
    dict_free(t->users, free);
    free(t);
}

/* Checks one HASH field; NULL when fine, else what is wrong. */
static const char *auth_file_hash_check(const char *h, size_t len)
{
    if (len == 0)
        return "empty hash";
    if (len >= CRYPT_OUTPUT_SIZE)
        return "hash too long";
    if (strpbrk(h, " \t:"))
        return "extra field or blank after the hash";
    if (h[0] == '!' || h[0] == '*')
        return NULL;
    switch (crypt_checksalt(h)) {
    case CRYPT_SALT_OK:
        return NULL;
    case CRYPT_SALT_METHOD_DISABLED:
        return "hash method disabled in libxcrypt";
    }
    /* legacy DES/MD5 hashes are refused: anything can pass crypt_checksalt as DES */
    return "weak or unknown hash method (use $y$, $2b$ or $6$)";
}

/* Parses one line (NUL-terminated, no LF) into t; NULL when fine, else what is wrong. */
static const char *auth_file_line(struct auth_table *t, char *line)
{
    size_t len = strlen(line);
    if (len && line[len - 1] == '\r')
        line[--len] = '\0';
    size_t lead = strspn(line, " \t");
    if (line[lead] == '\0' || line[lead] == '#')
        return NULL;
    char *colon = strchr(line, ':');
    if (colon == NULL)
        return "no ':' between user and hash";
    *colon = '\0';
    size_t ulen = (size_t)(colon - line);
    if (!sasl_identity_valid(line, ulen) || lead > 0 || line[ulen - 1] == ' ')
        return "bad user name";
    char *more = t->fields ? strchr(colon + 1, ':') : NULL;
    if (more)
        *more = '\0'; /* the control authfile's attributes and networks: not ours */
    const char *bad = auth_file_hash_check(colon + 1, strlen(colon + 1));
    if (bad)
        return bad;
    if (dict_find(t->users, line))
        return "duplicate user";
    dict_put(t->users, line, xstrdup(colon + 1));
    if (t->dummy[0] == '\0' && colon[1] != '!' && colon[1] != '*')
        snprintf(t->dummy, sizeof t->dummy, "%s", colon + 1);
    return NULL;
}

/* Reads the whole file (at most AUTH_FILE_MAX bytes) into a NUL-terminated buffer. */
static char *auth_file_read(const char *path, size_t *len, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    if (!S_ISREG(st.st_mode) || st.st_size > AUTH_FILE_MAX) {
        snprintf(err, errlen, "%s: not a regular file of at most %d bytes", path,
                 AUTH_FILE_MAX);
        close(fd);
        return NULL;
    }
    if (st.st_mode & S_IROTH)
        log_warn("auth: password file %s is readable by everyone", path);
    char *buf = xmalloc((size_t)st.st_size + 1);
    size_t n = 0;
    ssize_t r;
    while (n < (size_t)st.st_size && (r = read(fd, buf + n, (size_t)st.st_size - n)) != 0) {
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            free(buf);
            close(fd);
            return NULL;
        }
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* Gives t a dummy hash when the file had no usable entry: a yescrypt setting. */
static int auth_table_dummy(struct auth_table *t, char *err, size_t errlen)
{
    if (t->dummy[0])
        return 0;
    if (crypt_gensalt_rn("$y$", 0, NULL, 0, t->dummy, sizeof t->dummy) == NULL) {
        snprintf(err, errlen, "auth: crypt_gensalt_rn: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* Parses buf (len bytes) line by line into a new table; NULL with "PATH:LINE: what". */
static struct auth_table *auth_table_parse(const char *path, bool fields, char *buf, size_t len,
                                           char *err, size_t errlen)
{
    struct auth_table *t = xcalloc(1, sizeof *t);
    t->fields = fields;
    t->users = dict_create();
    char *p = buf, *end = buf + len;
    for (unsigned lineno = 1; p < end; lineno++) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        const char *bad = NULL;
        if (n > AUTH_FILE_LINE_MAX)
            bad = "line too long";
        else if (memchr(p, '\0', n))
            bad = "NUL byte";
        else {
            p[n] = '\0';
            bad = auth_file_line(t, p);
        }
        if (bad) {
            snprintf(err, errlen, "%s:%u: %s", path, lineno, bad);
            auth_table_free(t);
            return NULL;
        }
        p += n + 1;
    }
    if (auth_table_dummy(t, err, errlen) < 0) {
        auth_table_free(t);
        return NULL;
    }
    return t;
}

/* Loads path into a new table. */
static struct auth_table *auth_table_load(const char *path, bool fields, char *err,
                                          size_t errlen)
{
    size_t len;
    char *buf = auth_file_read(path, &len, err, errlen);
    if (buf == NULL)
        return NULL;
    struct auth_table *t = auth_table_parse(path, fields, buf, len, err, errlen);
    OPENSSL_cleanse(buf, len);
    free(buf);
    return t;
}

struct auth_file *auth_file_create(const char *path, bool fields, struct auth_pool *pool,
                                   char *err, size_t errlen)
{
    struct auth_table *t = auth_table_load(path, fields, err, errlen);
    if (t == NULL)
        return NULL;
    struct auth_file *f = xcalloc(1, sizeof *f);
    f->path = xstrdup(path);
    f->fields = fields;
    f->pool = pool;
    f->t = t;
    log_info("auth: %s: %zu users", path, dict_count(t->users));
    return f;
}

int auth_file_reload(struct auth_file *f, char *err, size_t errlen)
{
    struct auth_table *t = auth_table_load(f->path, f->fields, err, errlen);
    if (t == NULL)
        return -1;
    auth_table_free(f->t);
    f->t = t;
    log_info("auth: %s reloaded: %zu users", f->path, dict_count(t->users));
    return 0;
}

/* Worker: one crypt_rn() and a constant-time comparison. */
static void auth_file_work(struct auth_job *job)
{
    struct auth_file_job *j = (struct auth_file_job *)job;
    struct crypt_data *cd = xmalloc(sizeof *cd);
    memset(cd, 0, sizeof *cd);
    const char *out = crypt_rn(j->password, j->hash, cd, sizeof *cd);
    size_t hl = strlen(j->hash);
    j->error = out == NULL;
    j->match = out && strlen(out) == hl && CRYPTO_memcmp(out, j->hash, hl) == 0;
    OPENSSL_cleanse(cd, sizeof *cd);
    free(cd);
    OPENSSL_cleanse(j->password, sizeof j->password);
}

/* Loop: the outcome, then the job is freed. */
static void auth_file_done(struct auth_job *job)
{
    struct auth_file_job *j = (struct auth_file_job *)job;
    struct auth_req *req = job->req;
    if (req == NULL) {
        /* cancelled: nothing to report */
    } else if (!j->known)
        auth_req_finish(req, AUTH_FAIL, NULL, "no such user");
    else if (j->locked)
        auth_req_finish(req, AUTH_FAIL, NULL, "account locked");
    else if (j->error)
        auth_req_finish(req, AUTH_TEMPFAIL, NULL, "crypt failed");
    else if (j->match)
        auth_req_finish(req, AUTH_OK, NULL, "password matches");
    else
        auth_req_finish(req, AUTH_FAIL, NULL, "password mismatch");
    OPENSSL_cleanse(j, sizeof *j);
    free(j);
}

void auth_file_start(struct auth_file *f, struct auth_req *req)
{
    struct auth_file_job *j = xcalloc(1, sizeof *j);
    const char *hash = dict_find(f->t->users, req->user);
    j->known = hash != NULL;
    j->locked = hash && (hash[0] == '!' || hash[0] == '*');
    snprintf(j->hash, sizeof j->hash, "%s", j->known && !j->locked ? hash : f->t->dummy);
    snprintf(j->password, sizeof j->password, "%s", req->password);
    j->job.work = auth_file_work;
    j->job.done = auth_file_done;
    j->job.req = req;
    req->be = j;
    if (auth_pool_submit(f->pool, &j->job) < 0) {
        req->be = NULL;
        OPENSSL_cleanse(j, sizeof *j);
        free(j);
        auth_req_finish(req, AUTH_TEMPFAIL, NULL, "too many verifications queued");
    }
}

void auth_file_cancel(struct auth_req *req)
{
    struct auth_file_job *j = req->be;
    if (j)
        j->job.req = NULL;
}

void auth_file_free(struct auth_file *f)
{
    if (f == NULL)
        return;
    auth_table_free(f->t);
    free(f->path);
    free(f);
}
