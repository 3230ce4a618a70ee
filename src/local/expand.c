/* expand: what a local recipient resolves to (docs/local.md's router order: canonical,
 * virtual, aliases with :include:, then .forward in local.c): the final targets (mailboxes,
 * |commands, /files) and the remote addresses, each once; loops and over-deep nesting are
 * errors (5.4.6). Contracts in local/internal.h. */
#include <ctype.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "conf/conf.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "local/internal.h"
#include "local/local.h"

/* True (and remembered) when s was seen before in this expansion. */
int lexp_seen(struct lexp *x, const char *s)
{
    char key[ALIASES_TARGET_MAX + 1];
    size_t n = 0;
    for (; s[n] && n < sizeof key - 1; n++)
        key[n] = (char)tolower((unsigned char)s[n]);
    key[n] = '\0';
    if (!x->seen)
        x->seen = dict_create();
    if (dict_find(x->seen, key))
        return 1;
    dict_put(x->seen, key, x);
    return 0;
}

/* Adds a remote address (once); too many is a permanent error, never a silent cut. */
void lexp_remote(struct lexp *x, const char *addr)
{
    if (lexp_seen(x, addr))
        return;
    if (x->nremote >= LOCAL_TARGETS_MAX) {
        snprintf(x->err, sizeof x->err, "5.3.4 expansion has more than %u addresses",
                 LOCAL_TARGETS_MAX);
        return;
    }
    x->remote = xrealloc(x->remote, (x->nremote + 1) * sizeof *x->remote);
    x->remote[x->nremote++] = xstrdup(addr);
}

/* Adds a final target. */
void lexp_add(struct lexp *x, enum helper_kind k, const char *user, const char *target)
{
    const struct conf *c = x->l->conf;
    if (x->nout >= LOCAL_TARGETS_MAX)
        return;
    x->out = xrealloc(x->out, (x->nout + 1) * sizeof *x->out);
    struct helper_req *q = &x->out[x->nout++];
    memset(q, 0, sizeof *q);
    q->kind = k;
    snprintf(q->user, sizeof q->user, "%s", user);
    snprintf(q->target, sizeof q->target, "%s", target);
    q->timeout_ms = c->local.command_timeout;
    q->size_limit = c->local.mailbox_size_limit;
}


/* One target of an alias or :include: list. */
int lexp_target(void *arg, enum alias_kind k, const char *t, size_t len)
{
    struct lexp_ctx *cx = arg;
    struct lexp *x = cx->x;
    const struct conf *c = x->l->conf;
    (void)len;
    if (k != ALIAS_ADDRESS && lexp_seen(x, t))
        return 0; /* a duplicate target is delivered once (names: lexp_name) */
    if (k == ALIAS_COMMAND || k == ALIAS_FILE) {
        int ok = k == ALIAS_COMMAND ? conf_allows(c->local.allow_mail_to_commands,
                                                  c->local.nallow_mail_to_commands, cx->via)
                                    : conf_allows(c->local.allow_mail_to_files,
                                                  c->local.nallow_mail_to_files, cx->via);
        if (!ok) {
            snprintf(x->err, sizeof x->err, "5.7.1 mail to %s is not allowed in %s",
                     k == ALIAS_COMMAND ? "commands" : "files", cx->via);
            return 0;
        }
        lexp_add(x, k == ALIAS_COMMAND ? HELPER_PIPE : HELPER_FILE, cx->owner,
                 k == ALIAS_COMMAND ? t + 1 : t);
        return 0;
    }
    if (k == ALIAS_INCLUDE) {
        char *buf = NULL;
        int fd = open(t + 9, O_RDONLY | O_CLOEXEC);
        ssize_t n = -1;
        if (fd >= 0) {
            buf = xmalloc(LOCAL_INCLUDE_MAX + 1);
            n = read(fd, buf, LOCAL_INCLUDE_MAX);
            close(fd);
        }
        char tmp[ALIASES_TARGET_MAX + 1], err[128];
        struct lexp_ctx sub = {x, cx->name, cx->owner, "include", cx->depth};
        if (n < 0 || aliases_split_list(buf, (size_t)n, tmp, lexp_target, &sub, err, sizeof err) < 0)
            snprintf(x->err, sizeof x->err, "4.3.0 cannot read %s", t);
        free(buf);
        return 0;
    }
    const char *at = strchr(t, '@');
    if (at && !route_is_local(c, at + 1)) {
        lexp_remote(x, t);
        return 0;
    }
    char local[ALIASES_TARGET_MAX + 1];
    int bs = t[0] == '\\'; /* "\\user": that user's mailbox, no alias, no .forward */
    snprintf(local, sizeof local, "%.*s", at ? (int)(at - t - bs) : (int)strlen(t + bs), t + bs);
    if (bs && !getpwnam(local)) {
        snprintf(x->err, sizeof x->err, "5.1.1 <%.200s>: user unknown", local);
        return 0;
    }
    if (bs || strcasecmp(local, cx->name) == 0) { /* "root: root, |x": root's own mailbox */
        lexp_add(x, c->local.mailbox == LOCAL_MBOX ? HELPER_MBOX : HELPER_MAILDIR, local,
                 c->local.mailbox == LOCAL_MBOX ? c->local.mail_spool_directory
                                                : c->local.home_mailbox);
        return 0;
    }
    lexp_name(x, local, cx->owner, cx->depth + 1, "alias");
    return 0;
}

/* The owner- convention (Postfix local(8), sendmail): when the recipient's own alias name
 * (depth 0) has an "owner-name" alias, owner-name@myorigin is its expansion's sender. */
static void lexp_owner(struct lexp *x, const char *name)
{
    char key[ALIASES_NAME_MAX + 1], *v = NULL;
    size_t vlen;
    if (snprintf(key, sizeof key, "owner-%s", name) >= (int)sizeof key)
        return;
    for (size_t i = 0; i < x->l->ndbs; i++) {
        int rc = aliasdb_lookup(x->l->dbs[i], key, &v, &vlen);
        if (rc < 0)
            snprintf(x->err, sizeof x->err, "4.3.0 alias map unreadable");
        if (rc != 0)
            break;
    }
    if (v && snprintf(x->sender, sizeof x->sender, "%s@%s", key, conf_myorigin(x->l->conf)) >=
                 (int)sizeof x->sender)
        x->sender[0] = '\0'; /* too long for an address: the original sender stays */
    free(v);
}

/* Expands one local name: its aliases, else the user's mailbox. */
void lexp_name(struct lexp *x, const char *name, const char *owner, int depth,
                      const char *via)
{
    const struct conf *c = x->l->conf;
    if (depth > LOCAL_DEPTH || lexp_seen(x, name)) {
        x->loops++;
        return;
    }
    for (size_t i = 0; i < x->l->ndbs; i++) {
        char *v = NULL;
        size_t vlen;
        int rc = aliasdb_lookup(x->l->dbs[i], name, &v, &vlen);
        if (rc < 0) {
            snprintf(x->err, sizeof x->err, "4.3.0 alias map unreadable");
            return;
        }
        if (rc == 0)
            continue;
        if (depth == 0)
            lexp_owner(x, name);
        struct lexp_ctx cx = {x, name, owner, via, depth};
        for (size_t off = 0; off < vlen; off += strlen(v + off) + 1)
            lexp_target(&cx, aliases_kind(v + off, strlen(v + off)), v + off, strlen(v + off));
        free(v);
        return;
    }
    if (!getpwnam(name)) {
        snprintf(x->err, sizeof x->err, "5.1.1 <%s>: user unknown", name);
        return;
    }
    lexp_add(x, c->local.mailbox == LOCAL_MBOX ? HELPER_MBOX : HELPER_MAILDIR, name,
             c->local.mailbox == LOCAL_MBOX ? c->local.mail_spool_directory
                                            : c->local.home_mailbox);
}

/* Looks addr up in the maps: the whole address, then "@domain". 1 and the NUL-separated
 * values in *out (malloc'ed), 0 no entry, -1 a map unreadable. */
int local_map_lookup(struct aliasdb **dbs, size_t n, const char *addr, char **out,
                            size_t *outlen)
{
    const char *at = strrchr(addr, '@');
    for (int pass = 0; pass < 2; pass++) {
        const char *key = pass == 0 ? addr : at;
        if (!key)
            break;
        for (size_t i = 0; i < n; i++) {
            int rc = aliasdb_lookup(dbs[i], key, out, outlen);
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}

/* The canonical form of addr into out (ADDR_MAX + 1 bytes): a whole-address entry replaces
 * it, an "@domain" entry whose value is "@other" replaces its domain. 0, or -1 (map error). */
int local_canonical(struct local *l, const char *addr, char *out, size_t outlen)
{
    char *v = NULL;
    size_t vlen;
    snprintf(out, outlen, "%s", addr);
    int rc = addr[0] ? local_map_lookup(l->cdbs, l->ncdbs, addr, &v, &vlen) : 0;
    if (rc <= 0)
        return rc;
    const char *at = strrchr(addr, '@');
    if (v[0] == '@' && at)
        snprintf(out, outlen, "%.*s%s", (int)(at - addr), addr, v);
    else if (v[0] != '@')
        snprintf(out, outlen, "%s", v);
    free(v);
    return 0;
}

/* The virtual map step for rcpt (already canonical): 1 when an entry decided its targets
 * (local ones expanded through the aliases, remote ones added), 0 no entry, -1 map error. */
int lexp_virtual(struct lexp *x, const char *rcpt)
{
    char *v = NULL;
    size_t vlen;
    int rc = local_map_lookup(x->l->vdbs, x->l->nvdbs, rcpt, &v, &vlen);
    if (rc <= 0)
        return rc;
    for (size_t off = 0; off < vlen; off += strlen(v + off) + 1) {
        const char *t = v + off, *at = strrchr(t, '@');
        char local[ALIASES_NAME_MAX + 1];
        if (!at || !route_is_local(x->l->conf, at + 1)) {
            lexp_remote(x, t);
            continue;
        }
        snprintf(local, sizeof local, "%.*s", (int)(at - t), t);
        lexp_name(x, local, "nobody", 1, "alias");
    }
    free(v);
    return 1;
}

/* Frees an expansion. */
void lexp_clear(struct lexp *x)
{
    if (x->seen)
        dict_free(x->seen, NULL);
    for (size_t i = 0; i < x->nremote; i++)
        free(x->remote[i]);
    free(x->remote);
    free(x->out);
}

