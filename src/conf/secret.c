/* secret: the credentials of the configuration and the checks of a relay's ssl and auth
 * blocks (docs/tls.md "Outbound"; the contract of these readers is keys.h's).
 *
 * Credentials (auth.username, auth.password, the first line of auth.password_file) are
 * 1..255 bytes without control bytes (RFC 4616 §2's field size); a message about one names
 * the key, never the value; freeing one wipes it first. A password file must be a regular
 * file that nobody but its owner may access (mode 600 or stricter) and whose owner is root,
 * the configured `user` or the user loading the file (it is read once, at load time, before
 * the daemon drops privileges).
 *
 * conf_check_block() runs after a relay's ssl or auth block was read (ssl comes first in
 * the table, so auth sees it): key_file needs cert_file; an enabled auth needs a user name
 * and a password (or EXTERNAL, which needs a client certificate and TLS), not both password
 * and password_file, and never cleartext credentials behind ssl.mode = "none" unless
 * allow_cleartext says so; password and password_file exclude each other. */
#include "conf/keys.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/xalloc.h"

#define CONF_SECRET_MAX 255

/* True for a credential: 1..255 bytes, no control bytes. */
static bool conf_is_secret(const char *s, size_t len)
{
    if (len == 0 || len > CONF_SECRET_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < ' ' || (unsigned char)s[i] == 0x7f)
            return false;
    return true;
}

/* Wipes and frees the secret of row p at base. */
void conf_free_secret(const struct conf_key *p, void *base)
{
    char **f = (char **)((char *)base + p->off);
    if (*f && !conf_shared(*f)) {
        explicit_bzero(*f, strlen(*f));
        free(*f);
    }
    *f = NULL;
}

/* Replaces the secret of row p at base with str[0..len). */
static void conf_set_secret(const struct conf_key *p, void *base, const char *str, size_t len)
{
    conf_free_secret(p, base);
    *(char **)((char *)base + p->off) = xstrndup(str, len);
}

/* Reads a user name or password; a message names the key, never the value. */
int conf_read_secret(struct conf_ctx *x, const config_setting_t *s, const char *key,
                     const struct conf_key *p, void *base)
{
    const char *str = NULL;
    if (conf_string(x, s, key, &str) < 0)
        return -1;
    if (!conf_is_secret(str, strlen(str)))
        return conf_error(x, s, "bad value for '%s' (want 1..255 bytes without control bytes)",
                          key);
    conf_set_secret(p, base, str, strlen(str));
    return 0;
}

/* True when uid may own a secret file: root, the loading process, or the configured user. */
static bool conf_secret_owner_ok(const struct conf *c, uid_t uid)
{
    if (uid == 0 || uid == getuid() || uid == geteuid())
        return true;
    struct passwd *pw = c->user ? getpwnam(c->user) : NULL;
    return pw != NULL && pw->pw_uid == uid;
}

/* What is wrong with the password file of status st, or NULL. */
static const char *conf_secret_file_bad(const struct conf *c, const struct stat *st)
{
    if (!S_ISREG(st->st_mode))
        return "is not a regular file";
    if (st->st_mode & (S_IRWXG | S_IRWXO))
        return "is accessible by group or others (chmod 600)";
    if (!conf_secret_owner_ok(c, st->st_uid))
        return "must belong to root or the sluice user";
    return NULL;
}

/* Reads the first line of a password file after checking who may read it. */
int conf_read_secret_file(struct conf_ctx *x, const config_setting_t *s, const char *key,
                          const struct conf_key *p, void *base)
{
    const char *path = NULL, *bad;
    char q[96], buf[512];
    struct stat st;
    if (conf_string(x, s, key, &path) < 0)
        return -1;
    const config_setting_t *g = config_setting_parent(s);
    if (g && config_setting_get_member(g, "password")) /* two sources of one password */
        return conf_error(x, s, "'%.*s': password and password_file both given",
                          (int)(strlen(key) - strlen(".password_file")), key);
    conf_quote(q, sizeof q, path, strlen(path));
    int fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0 || fstat(fd, &st) < 0) {
        int err = errno;
        if (fd >= 0)
            close(fd);
        return conf_error(x, s, "cannot read '%s' %s: %s", key, q, strerror(err));
    }
    if ((bad = conf_secret_file_bad(x->c, &st)) != NULL) {
        close(fd);
        return conf_error(x, s, "'%s' %s %s", key, q, bad);
    }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    size_t len = strcspn(buf, "\r\n");
    int rc = 0;
    if (n < 0 || (size_t)n == sizeof buf - 1 || !conf_is_secret(buf, len))
        rc = conf_error(x, s, "'%s' %s: want one line of 1..255 bytes without control bytes", key,
                        q);
    else
        conf_set_secret(p, base, buf, len);
    explicit_bzero(buf, sizeof buf);
    return rc;
}

/* The auth block's checks (see the top of the file). */
static int conf_check_auth(struct conf_ctx *x, const config_setting_t *s, const char *key,
                           const struct relay *r)
{
    const struct relay_auth *a = &r->auth;
    if (!a->enabled)
        return 0;
    if (!a->external && (!a->username || !a->password))
        return conf_error(x, s, "'%s' needs username and password (or password_file)", key);
    size_t kl = strlen(key) - strlen(".auth"); /* "deliver.relays[N]" */
    if (a->external &&
        (!r->ssl.cert_file || r->ssl.mode == RELAY_TLS_DEFAULT || r->ssl.mode == RELAY_TLS_NONE))
        return conf_error(x, s,
                          "'%s.override = \"external\"' needs '%.*s.ssl' with mode "
                          "starttls or implicit and a cert_file",
                          key, (int)kl, key);
    if (r->ssl.mode == RELAY_TLS_NONE && !a->allow_cleartext)
        return conf_error(x, s,
                          "'%s' with '%.*s.ssl.mode = \"none\"' would send the password "
                          "in cleartext: set '%s.allow_cleartext = true'",
                          key, (int)kl, key, key);
    return 0;
}

/* Checks a relay's ssl or auth block after it was read. */
int conf_check_block(struct conf_ctx *x, const config_setting_t *s, const char *key,
                     const struct conf_key *p, void *base)
{
    const struct relay *r = base;
    if (p->sub == CONF_G_RELAY_AUTH)
        return conf_check_auth(x, s, key, r);
    if (r->ssl.key_file && !r->ssl.cert_file)
        return conf_error(x, s, "'%s.key_file' needs '%s.cert_file'", key, key);
    return 0;
}
