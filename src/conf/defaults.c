/* defaults: the configuration's defaults, applied once per process, and the life cycle of
 * a configuration (conf_init(), conf_free(); contract in conf.h and keys.h).
 * conf_init() was most of the cost of reading a small file (it parsed and checked every
 * default list and word again); now the table's defaults are applied once into a prototype
 * and each configuration starts as a copy of it that shares its heap blocks (strings,
 * lists, retries). conf_shared() names those blocks, conf_release() frees anything else:
 * every place that frees or replaces a value goes through them, so a shared block is never
 * freed nor changed. The host name is read at each conf_init(), so a reload sees a renamed
 * host. */
#include "conf/keys.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

/* ---- the defaults, applied once ---- */

#define CONF_SHARED_MAX 64 /* heap blocks of the defaults: strings, lists, retries */

/* The table's defaults applied once per process (parsing the default lists and checking
 * every value on each conf_init() was most of the cost of reading a small file), with the
 * sorted addresses of their heap blocks. hostname is left out: it is read at each
 * conf_init(), so a reload sees a renamed host. */
static struct {
    struct conf c;
    const struct conf_key *hostname; /* the CONF_F_HOSTNAME row */
    const void *blocks[CONF_SHARED_MAX];
    size_t n;
} conf_defaults;
static pthread_once_t conf_defaults_once = PTHREAD_ONCE_INIT;

/* Adds block b (if any) to the sorted shared blocks. */
static void conf_share(const void *b)
{
    size_t i = conf_defaults.n;
    if (!b)
        return;
    if (i == CONF_SHARED_MAX)
        log_panic("conf: more than %d heap blocks in the defaults", CONF_SHARED_MAX);
    for (; i > 0 && (uintptr_t)conf_defaults.blocks[i - 1] > (uintptr_t)b; i--)
        conf_defaults.blocks[i] = conf_defaults.blocks[i - 1];
    conf_defaults.blocks[i] = b;
    conf_defaults.n++;
}

/* Shares the heap blocks the rows of group own at base (lists of groups start empty). */
static void conf_share_group(enum conf_gid group, void *base)
{
    const struct conf_key *end, *p = conf_keys_group(group, &end);
    for (; p < end; p++) {
        void **field = (void **)((char *)base + p->off);
        if (p->flags & CONF_F_HOSTNAME)
            conf_defaults.hostname = p;
        if (p->kind == CONF_RNET_IP) {
            conf_share(((struct remotenet *)base)->nets);
            conf_share(((struct remotenet *)base)->hosts);
        } else if (p->kind == CONF_PEERS) {
            conf_share(((struct logspec *)base)->nets);
            conf_share(((struct logspec *)base)->domains);
        } else if ((p->kind >= CONF_PATH && p->kind <= CONF_SECRET_FILE) ||
                   p->kind == CONF_RETRIES || (p->kind >= CONF_LISTEN && p->kind <= CONF_LINES)) {
            conf_share(*field);
        } else if (p->kind == CONF_GROUP || p->kind == CONF_LOGSPEC) {
            conf_share_group(p->sub, p->kind == CONF_GROUP ? base : (void *)field);
        }
    }
}

/* pthread_once: applies the defaults to conf_defaults.c and notes their blocks. */
static void conf_defaults_make(void)
{
    char err[512];
    struct conf *c = &conf_defaults.c;
    struct conf_ctx x = {c, "(defaults)", err, sizeof err};
    conf_init_group(&x, CONF_G_TOP, c);
    free(c->hostname); /* per conf_init(), with the announcehost it sets */
    free(c->deliver.client.announcehost);
    c->hostname = c->deliver.client.announcehost = NULL;
    conf_share_group(CONF_G_TOP, c);
}

bool conf_shared(const void *ptr)
{
    size_t lo = 0, hi = conf_defaults.n;
    while (ptr && lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (conf_defaults.blocks[mid] == ptr)
            return true;
        if ((uintptr_t)conf_defaults.blocks[mid] < (uintptr_t)ptr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

void conf_release(void *ptr)
{
    if (ptr && !conf_shared(ptr))
        free(ptr);
}

/* Fills c with every default of the key table: a copy of the defaults (sharing their
 * blocks), and this host's name. */
void conf_init(struct conf *c)
{
    char err[512];
    struct conf_ctx x = {c, "(defaults)", err, sizeof err};
    pthread_once(&conf_defaults_once, conf_defaults_make);
    *c = conf_defaults.c;
    if (conf_defaults.hostname && conf_init_row(&x, conf_defaults.hostname, c) < 0)
        log_panic("conf: cannot set the default hostname: %s", err);
}

/* Frees everything and zeroes c. A configuration no reader changed (a file that did not
 * parse) owns only its name and host names besides the shared defaults: when c equals the
 * defaults but for those, they are freed without walking the table. */
void conf_free(struct conf *c)
{
    char *host = c->hostname, *ann = c->deliver.client.announcehost;
    free(c->path);
    c->path = c->hostname = c->deliver.client.announcehost = NULL;
    bool pristine = memcmp(c, &conf_defaults.c, sizeof *c) == 0;
    c->hostname = host;
    c->deliver.client.announcehost = ann;
    if (pristine) {
        conf_release(host);
        conf_release(ann);
    } else {
        conf_free_group(CONF_G_TOP, c);
    }
    memset(c, 0, sizeof *c);
}
