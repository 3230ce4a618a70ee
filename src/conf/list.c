/* list: the configuration's lists (contract in keys.h): lists of values, text lines, log
 * specs, and the lists of groups (deliver.client.remotenets, deliver.relays).
 * A list of values is an array or list of strings, or in seed style one string split on the
 * kind's separators (keys.c); each entry is 1..CONF_MAX_ITEM bytes and is checked by the
 * kind's syntax; a list has at most the row's max entries (CONF_F_NONEMPTY: at least one). A
 * list value replaces the default, it does not add to it. Domains, senders and patterns are
 * stored lower-case. A log spec is a path template string or a group of its rows. A list of
 * groups holds at most CONF_MAX_LIST groups, each read by conf_group() with its rows
 * ("deliver.relays[]"); a remotenet starts as a copy of deliver.client, a relay empty.
 * Error messages name the entry: "deliver.relays[1].auth". */
#include "conf/keys.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/xalloc.h"
#include "proto/domainpat.h"
#include "proto/dnsbl.h"
#include "proto/helopat.h"
#include "proto/milter.h"
#include "proto/policyd.h"

/* ---- storage ---- */

/* Appends one zeroed element of size elsz to the array at *arrp holding *n elements. Every
 * array is built by conf_push() from empty, so its capacity is the power of two at or above
 * *n: it grows only when *n is a power of two (or 0). */
void *conf_push(void *arrp, size_t *n, size_t elsz)
{
    void **arr = arrp;
    if ((*n & (*n - 1)) == 0)
        *arr = xrealloc(*arr, (*n ? 2 * *n : 1) * elsz);
    void *slot = (char *)*arr + *n * elsz;
    memset(slot, 0, elsz);
    (*n)++;
    return slot;
}

/* Frees a string array and zeroes it. */
void conf_free_strings(char ***arr, size_t *n)
{
    for (size_t i = 0; i < *n; i++)
        free((*arr)[i]);
    free(*arr);
    *arr = NULL;
    *n = 0;
}

/* Frees a CIDR array and zeroes it. */
static void conf_free_cidrs(struct cidr **arr, size_t *n)
{
    free(*arr);
    *arr = NULL;
    *n = 0;
}

/* Frees the list of p at base and leaves it empty. */
void conf_free_list(const struct conf_key *p, void *base)
{
    void *arr = (char *)base + p->off;
    size_t *n = (size_t *)((char *)base + p->cnt);
    if (p->kind == CONF_RNET_IP) {
        struct remotenet *rn = base;
        conf_free_cidrs(&rn->nets, &rn->nnets);
        conf_free_strings(&rn->hosts, &rn->nhosts);
    } else if (p->kind == CONF_PEERS) {
        struct logspec *l = base;
        conf_free_cidrs(&l->nets, &l->nnets);
        conf_free_strings(&l->domains, &l->ndomains);
    } else if (p->kind == CONF_CIDRS) {
        conf_free_cidrs(arr, n);
    } else {
        conf_free_strings(arr, n);
    }
}

/* ---- entries ---- */

/* Appends item to nets when it is a CIDR block, else (lower-cased) to names when it is a
 * host/domain name; otherwise an error naming `what`. */
static int conf_net_or_name(struct conf_ctx *x, const config_setting_t *s, const char *key,
                            const char *item, size_t len, struct cidr **nets, size_t *nnets,
                            char ***names, size_t *nnames, const char *what)
{
    struct cidr c;
    char q[96];
    if (cidr_parse(item, len, &c) == 0) {
        *(struct cidr *)conf_push(nets, nnets, sizeof c) = c;
        return 0;
    }
    if (!conf_is_hostname(item, len))
        return conf_error(x, s, "bad CIDR or %s in '%s': %s", what, key,
                          conf_quote(q, sizeof q, item, len));
    char **slot = conf_push(names, nnames, sizeof(char *));
    *slot = xstrndup(item, len);
    for (char *h = *slot; *h; h++)
        *h = (char)tolower((unsigned char)*h);
    return 0;
}

/* Collects a CIDR block. */
static int conf_item_cidr(struct conf_ctx *x, const config_setting_t *s, const char *key,
                          const struct conf_key *p, void *base, const char *item, size_t len)
{
    char q[96];
    struct cidr c;
    if (cidr_parse(item, len, &c) < 0)
        return conf_error(x, s, "bad CIDR in '%s': %s", key, conf_quote(q, sizeof q, item, len));
    *(struct cidr *)conf_push((char *)base + p->off, (size_t *)((char *)base + p->cnt),
                              sizeof c) = c;
    return 0;
}

/* True for an absolute path without control bytes. */
static bool conf_is_path(const char *s, size_t len)
{
    bool ok = len > 1 && s[0] == '/';
    for (size_t i = 0; ok && i < len; i++)
        ok = (unsigned char)s[i] > ' ' && (unsigned char)s[i] != 0x7f;
    return ok;
}

/* True for "alias", "forward" or "include" (any case). */
static bool conf_is_allow(const char *s, size_t len)
{
    static const char *const words[] = {"alias", "forward", "include"};
    for (size_t i = 0; i < 3; i++)
        if (len == strlen(words[i]) && strncasecmp(s, words[i], len) == 0)
            return true;
    return false;
}

/* Collects a DNSBL entry, policy service or HELO pattern row after its parser's check; the
 * error names the entry and says what is wrong with it. */
static int conf_item_policy(struct conf_ctx *x, const config_setting_t *s, const char *key,
                            const struct conf_key *p, void *base, const char *item, size_t len)
{
    char q[96];
    const char *why = "?";
    struct dnsbl_list d;
    struct policyd_service v;
    struct helopat h;
    int rc = p->kind == CONF_DNSBL      ? dnsbl_parse(item, len, &d, &why)
             : p->kind == CONF_SERVICES ? policyd_service_parse(item, len, &v, &why)
                                        : helopat_parse(item, len, &h, &why);
    if (rc < 0)
        return conf_error(x, s, "bad entry in '%s': %s: %s", key,
                          conf_quote(q, sizeof q, item, len), why);
    char **slot = conf_push((char *)base + p->off, (size_t *)((char *)base + p->cnt),
                            sizeof(char *));
    *slot = xstrndup(item, len);
    return 0;
}

/* Collects a milter target after milter_target_parse() checked it. */
static int conf_item_milter(struct conf_ctx *x, const config_setting_t *s, const char *key,
                            const struct conf_key *p, void *base, const char *item, size_t len)
{
    char q[96], why[160], text[MILTER_TARGET_MAX + 16];
    struct milter_target t;
    if (len >= sizeof text)
        return conf_error(x, s, "bad milter in '%s': %s: too long", key,
                          conf_quote(q, sizeof q, item, len));
    memcpy(text, item, len);
    text[len] = '\0';
    if (milter_target_parse(text, &t, why, sizeof why) < 0)
        return conf_error(x, s, "bad milter in '%s': %s: %s", key,
                          conf_quote(q, sizeof q, item, len), why);
    char **slot = conf_push((char *)base + p->off, (size_t *)((char *)base + p->cnt),
                            sizeof(char *));
    *slot = xstrndup(item, len);
    return 0;
}

/* Collects a listen address, forwarder, domain, sender or pattern after checking it. */
static int conf_item_string(struct conf_ctx *x, const config_setting_t *s, const char *key,
                            const struct conf_key *p, void *base, const char *item, size_t len)
{
    char q[96];
    bool ok, lower = true;
    const char *what;
    switch (p->kind) {
    case CONF_LISTEN: ok = conf_is_listen(item, len), what = "listen address", lower = false; break;
    case CONF_FORWARDERS: ok = conf_is_forwarder(item, len), what = "forwarder", lower = false; break;
    case CONF_DOMAINS: ok = conf_is_hostname(item, len), what = "domain"; break;
    case CONF_DOMAINPATS: {
        struct domainpat dp;
        const char *why;
        ok = domainpat_parse(item, len, &dp, &why) == 0;
        what = "domain pattern (domain, .domain, *.domain or *, optionally after !)";
        break;
    }
    case CONF_PATTERNS: ok = conf_is_pattern(item, len), what = "pattern"; break;
    case CONF_POLICYDB: ok = conf_is_pattern(item, len), what = "path", lower = false; break;
    case CONF_DNSBL:
    case CONF_SERVICES:
    case CONF_HELOPATS: return conf_item_policy(x, s, key, p, base, item, len);
    case CONF_MILTERS: return conf_item_milter(x, s, key, p, base, item, len);
    case CONF_SELECTORS:
        ok = conf_is_selector(item, len),
        what = "selector (want GLOB, smtp/GLOB, mx:GLOB or ip:CIDR)";
        break;
    case CONF_PATHS: ok = conf_is_path(item, len), what = "absolute path", lower = false; break;
    case CONF_ALLOWS: ok = conf_is_allow(item, len), what = "word (want alias, forward, include)"; break;
    default: ok = conf_is_sender(item, len), what = "sender"; break;
    }
    if (!ok)
        return conf_error(x, s, "bad %s in '%s': %s", what, key, conf_quote(q, sizeof q, item, len));
    char ***arr = (char ***)((char *)base + p->off);
    char **slot = conf_push(arr, (size_t *)((char *)base + p->cnt), sizeof(char *));
    *slot = xstrndup(item, len);
    for (size_t i = 0; lower && i < len; i++)
        (*slot)[i] = (char)tolower((unsigned char)(*slot)[i]);
    return 0;
}

/* Collects one entry of list row p. */
static int conf_item(struct conf_ctx *x, const config_setting_t *s, const char *key,
                     const struct conf_key *p, void *base, const char *item, size_t len)
{
    if (p->kind == CONF_CIDRS)
        return conf_item_cidr(x, s, key, p, base, item, len);
    if (p->kind == CONF_RNET_IP) {
        struct remotenet *rn = base;
        return conf_net_or_name(x, s, key, item, len, &rn->nets, &rn->nnets, &rn->hosts,
                                &rn->nhosts, "host name");
    }
    if (p->kind == CONF_PEERS) {
        struct logspec *l = base;
        return conf_net_or_name(x, s, key, item, len, &l->nets, &l->nnets, &l->domains,
                                &l->ndomains, "domain");
    }
    if (p->kind == CONF_LINES) {
        char ***arr = (char ***)((char *)base + p->off);
        *(char **)conf_push(arr, (size_t *)((char *)base + p->cnt), sizeof(char *)) =
            xstrndup(item, len);
        return 0;
    }
    return conf_item_string(x, s, key, p, base, item, len);
}

/* ---- lists of values ---- */

/* Splits a seed-style single string on seps and collects each non-empty piece. */
static int conf_split(struct conf_ctx *x, const config_setting_t *s, const char *key,
                      const struct conf_key *p, void *base, const char *str, size_t *count)
{
    const char *seps = conf_keys_seps(p->kind);
    size_t i = 0, len = strlen(str);
    while (i < len) {
        size_t n = strcspn(str + i, seps);
        if (n > 0) {
            if (n > CONF_MAX_ITEM)
                return conf_error(x, s, "too long (max %d bytes) entry in '%s'", CONF_MAX_ITEM,
                                  key);
            if (++*count > p->max)
                return 0; /* the caller reports the count */
            if (conf_item(x, s, key, p, base, str + i, n) < 0)
                return -1;
        }
        i += n + (i + n < len);
    }
    return 0;
}

/* Checks the entry count of a list just read. */
static int conf_list_count(struct conf_ctx *x, const config_setting_t *s, const char *key,
                           const struct conf_key *p, size_t count)
{
    if (count > p->max)
        return conf_error(x, s, "more than %llu entries in '%s'", (unsigned long long)p->max,
                          key);
    if (count == 0 && (p->flags & CONF_F_NONEMPTY))
        return conf_error(x, s, "'%s' must not be empty", key);
    return 0;
}

/* Replaces the list of p at base with the entries of seed-style string str (a default). */
int conf_set_list(struct conf_ctx *x, const char *key, const struct conf_key *p, void *base,
                  const char *str)
{
    size_t count = 0;
    conf_free_list(p, base);
    if (conf_split(x, NULL, key, p, base, str, &count) < 0)
        return -1;
    return conf_list_count(x, NULL, key, p, count);
}

/* Reads a list of values (an array or list of strings, or one seed-style string). */
int conf_read_list(struct conf_ctx *x, const config_setting_t *s, const char *key,
                   const struct conf_key *p, void *base)
{
    size_t count = 0;
    int t = config_setting_type(s);
    conf_free_list(p, base);
    if (t == CONFIG_TYPE_STRING)
        return conf_split(x, s, key, p, base, config_setting_get_string(s), &count) < 0
                   ? -1
                   : conf_list_count(x, s, key, p, count);
    if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST)
        return conf_wrong_type(x, s, key, "list of strings");
    for (int i = 0; i < config_setting_length(s); i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        if (config_setting_type(e) != CONFIG_TYPE_STRING)
            return conf_error(x, s, "wrong type for '%s': want list of strings, got %s in it",
                              key, conf_type_name(e));
        const char *str = config_setting_get_string(e);
        size_t len = strlen(str);
        if (len == 0 || len > CONF_MAX_ITEM)
            return conf_error(x, s, "empty or too long (max %d bytes) entry in '%s'",
                              CONF_MAX_ITEM, key);
        if (++count > p->max)
            break;
        if (conf_item(x, s, key, p, base, str, len) < 0)
            return -1;
    }
    return conf_list_count(x, s, key, p, count);
}

/* Reads text lines (smtpd.help): a list of strings, each printable, possibly empty, or one
 * string (one line). */
int conf_read_lines(struct conf_ctx *x, const config_setting_t *s, const char *key,
                    const struct conf_key *p, void *base)
{
    int t = config_setting_type(s);
    bool one = t == CONFIG_TYPE_STRING;
    if (!one && t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST)
        return conf_wrong_type(x, s, key, "list of strings");
    size_t count = one ? 1 : (size_t)config_setting_length(s);
    if (count > p->max)
        return conf_error(x, s, "more than %llu entries in '%s'", (unsigned long long)p->max, key);
    conf_free_list(p, base);
    for (size_t i = 0; i < count; i++) {
        const config_setting_t *e = one ? s : config_setting_get_elem(s, (unsigned)i);
        if (config_setting_type(e) != CONFIG_TYPE_STRING)
            return conf_error(x, s, "wrong type for '%s': want list of strings, got %s in it",
                              key, conf_type_name(e));
        const char *str = config_setting_get_string(e);
        size_t len = strlen(str);
        bool ok = len <= CONF_MAX_ITEM;
        for (size_t k = 0; ok && k < len; k++)
            ok = (unsigned char)str[k] >= ' ' && (unsigned char)str[k] != 0x7f;
        if (!ok)
            return conf_error(x, s, "bad line (control bytes, or over %d bytes) in '%s'",
                              CONF_MAX_ITEM, key);
        conf_item(x, s, key, p, base, str, len);
    }
    return 0;
}

/* ---- log specs ---- */

/* Reads a log spec: a path template string, or a group of the rows below p. */
int conf_read_logspec(struct conf_ctx *x, const config_setting_t *s, const char *key,
                      const struct conf_key *p, void *base)
{
    void *spec = (char *)base + p->off;
    if (config_setting_type(s) == CONFIG_TYPE_STRING) {
        const struct conf_key *end, *path = conf_keys_group(p->sub, &end);
        while (path + 1 < end && path->kind != CONF_LOGPATH) /* test_table_shape: one there */
            path++;
        return conf_set_text(x, s, key, path, spec, config_setting_get_string(s));
    }
    if (!config_setting_is_group(s))
        return conf_wrong_type(x, s, key, "path template string or group");
    return conf_group(x, s, p->sub, key, spec);
}

/* ---- relays and remotenets ---- */

/* Parses "host", "host:port", "[ip]", "[ip]:port" (or a bare IP) into h. */
static int conf_relay_parse(struct relay_host *h, const char *s, uint16_t defport)
{
    size_t len = strlen(s), hlen = len;
    const char *host = s, *port = NULL;
    bool literal = false;
    if (len == 0 || len > 300)
        return -1;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (close == NULL || (close[1] != '\0' && close[1] != ':'))
            return -1;
        host = s + 1, hlen = (size_t)(close - s) - 1, literal = true;
        port = close[1] == ':' ? close + 2 : NULL;
    } else if (conf_ip_family(s, len) == AF_INET6) {
        literal = true;
    } else if ((port = strchr(s, ':')) != NULL) {
        hlen = (size_t)(port++ - s);
    }
    if (literal ? conf_ip_family(host, hlen) == 0 : !conf_is_hostname(host, hlen))
        return -1;
    h->port = defport;
    if (port != NULL && conf_port_parse(port, strlen(port), &h->port) < 0)
        return -1;
    h->literal = literal || conf_ip_family(host, hlen) == AF_INET;
    h->host = xstrndup(host, hlen);
    return 0;
}

/* Appends one host of a relay's address (text s) to r; the first also sets r's host, port
 * and literal. Returns 0, or -1 with the error set. */
static int conf_relay_host(struct conf_ctx *x, const config_setting_t *s, const char *key,
                           struct relay *r, const char *str)
{
    char q[96];
    struct relay_host h;
    if (conf_relay_parse(&h, str, x->c->deliver.port) < 0)
        return conf_error(x, s,
                          "bad relay address for '%s': %s (want host, host:port, [ip] or "
                          "[ip]:port)",
                          key, conf_quote(q, sizeof q, str, strlen(str)));
    if (r->nhosts == 0) {
        r->host = xstrdup(h.host);
        r->port = h.port;
        r->literal = h.literal;
    }
    *(struct relay_host *)conf_push(&r->hosts, &r->nhosts, sizeof h) = h;
    size_t al = r->address ? strlen(r->address) : 0, sl = strlen(str);
    r->address = xrealloc(r->address, al + sl + 2);
    if (al)
        r->address[al++] = ',';
    memcpy(r->address + al, str, sl + 1);
    return 0;
}

/* Reads a relay's "address" key: one host, or a list of 1..RELAY_HOSTS_MAX hosts (the port
 * defaults to deliver.client.port). */
int conf_read_relay_addr(struct conf_ctx *x, const config_setting_t *s, const char *key,
                         const struct conf_key *p, void *base)
{
    const char *str = NULL;
    (void)p;
    if (config_setting_type(s) == CONFIG_TYPE_STRING) {
        if (conf_string(x, s, key, &str) < 0)
            return -1;
        return conf_relay_host(x, s, key, base, str);
    }
    if (!config_setting_is_aggregate(s) || config_setting_is_group(s))
        return conf_wrong_type(x, s, key, "string or list of strings");
    int n = config_setting_length(s);
    if (n < 1 || n > RELAY_HOSTS_MAX)
        return conf_error(x, s, "'%s' needs 1 to %d hosts, not %d", key, RELAY_HOSTS_MAX, n);
    for (int i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        if (conf_string(x, e, key, &str) < 0 || conf_relay_host(x, e, key, base, str) < 0)
            return -1;
    }
    return 0;
}

/* Reads a list of groups (remotenets, relays): checks its shape and size, then appends one
 * element per group (a remotenet starts as a copy of the base client) and reads it. */
static int conf_group_list(struct conf_ctx *x, const config_setting_t *s, const char *key,
                           const struct conf_key *p, void *base, size_t elsz)
{
    char k[CONF_KEY_MAX + 16];
    if (config_setting_type(s) != CONFIG_TYPE_LIST)
        return conf_wrong_type(x, s, key, "list of groups");
    if ((size_t)config_setting_length(s) > p->max)
        return conf_error(x, s, "more than %llu entries in '%s'", (unsigned long long)p->max,
                          key);
    for (int i = 0; i < config_setting_length(s); i++) {
        const config_setting_t *g = config_setting_get_elem(s, (unsigned)i);
        snprintf(k, sizeof k, "%s[%d]", key, i);
        if (!config_setting_is_group(g))
            return conf_wrong_type(x, g, k, "group");
        void *el = conf_push((char *)base + p->off, (size_t *)((char *)base + p->cnt), elsz);
        if (p->kind == CONF_REMOTENETS) {
            struct remotenet *rn = el;
            rn->client = x->c->deliver.client;
            rn->client.announcehost = xstrdup(x->c->deliver.client.announcehost);
        }
        if (conf_group(x, g, p->sub, k, el) < 0)
            return -1;
    }
    return 0;
}

/* Reads deliver.client.remotenets. */
int conf_read_remotenets(struct conf_ctx *x, const config_setting_t *s, const char *key,
                         const struct conf_key *p, void *base)
{
    return conf_group_list(x, s, key, p, base, sizeof(struct remotenet));
}

/* Reads deliver.relays. */
int conf_read_relays(struct conf_ctx *x, const config_setting_t *s, const char *key,
                     const struct conf_key *p, void *base)
{
    return conf_group_list(x, s, key, p, base, sizeof(struct relay));
}

/* Reads dkim.sign. */
int conf_read_signs(struct conf_ctx *x, const config_setting_t *s, const char *key,
                    const struct conf_key *p, void *base)
{
    return conf_group_list(x, s, key, p, base, sizeof(struct dkim_sign_conf));
}

/* The size of one element of the list of groups p. */
static size_t conf_entry_size(const struct conf_key *p)
{
    switch (p->kind) {
    case CONF_REMOTENETS: return sizeof(struct remotenet);
    case CONF_POLICIES: return sizeof(struct policy);
    case CONF_RULES: return sizeof(struct shape_rule);
    case CONF_TRANSPORTS: return sizeof(struct transport_rule);
    case CONF_SIGNS: return sizeof(struct dkim_sign_conf);
    default: return sizeof(struct relay);
    }
}

const char *const conf_policy_names[POLICY_NKEYS] = {
    [POLICY_MAXSERVERCONNECTIONS] = "maxserverconnections",
    [POLICY_MAXMESSAGES] = "maxmessages",
    [POLICY_MAXRECIPS] = "maxrecips",
    [POLICY_IDLEMAX] = "idlemax",
    [POLICY_QUEUEONLY] = "queueonly",
    [POLICY_MSGS_PER_SECOND] = "msgs_per_second",
    [POLICY_MSGS_PER_MINUTE] = "msgs_per_minute",
    [POLICY_MSGS_PER_HOUR] = "msgs_per_hour",
    [POLICY_MSGS_BURST] = "msgs_burst",
    [POLICY_CONNECTIONS_PER_MINUTE] = "connections_per_minute",
    [POLICY_INITIAL_CONCURRENCY] = "initial_concurrency",
    [POLICY_MAXPIPELINE] = "maxpipeline",
    [POLICY_RETRIES] = "retries",
    [POLICY_INTERVAL] = "interval",
    [POLICY_SKEW] = "skew",
    [POLICY_EXPIRY] = "expiry",
};

/* Reads deliver.policies (each entry records in `set` the keys it gives: only those
 * override) or deliver.rules (each entry starts from its rows' defaults). */
int conf_read_shaping(struct conf_ctx *x, const config_setting_t *s, const char *key,
                      const struct conf_key *p, void *base)
{
    char k[CONF_KEY_MAX + 16];
    if (config_setting_type(s) != CONFIG_TYPE_LIST)
        return conf_wrong_type(x, s, key, "list of groups");
    if ((size_t)config_setting_length(s) > p->max)
        return conf_error(x, s, "more than %llu entries in '%s'", (unsigned long long)p->max,
                          key);
    for (int i = 0; i < config_setting_length(s); i++) {
        const config_setting_t *g = config_setting_get_elem(s, (unsigned)i);
        snprintf(k, sizeof k, "%s[%d]", key, i);
        if (!config_setting_is_group(g))
            return conf_wrong_type(x, g, k, "group");
        void *el = conf_push((char *)base + p->off, (size_t *)((char *)base + p->cnt),
                             conf_entry_size(p));
        if (p->kind == CONF_RULES)
            conf_init_group(x, p->sub, el);
        if (conf_group(x, g, p->sub, k, el) < 0)
            return -1;
        if (p->kind == CONF_POLICIES) {
            struct policy *pol = el;
            for (unsigned b = 0; b < POLICY_NKEYS; b++)
                if (config_setting_get_member(g, conf_policy_names[b]))
                    pol->set |= 1u << b;
        }
    }
    return 0;
}

/* Reads the transport map. */
int conf_read_transports(struct conf_ctx *x, const config_setting_t *s, const char *key,
                         const struct conf_key *p, void *base)
{
    return conf_group_list(x, s, key, p, base, sizeof(struct transport_rule));
}

/* Frees every element of the list of groups p at base, then the array. */
void conf_free_entries(const struct conf_key *p, void *base)
{
    char **arr = (char **)((char *)base + p->off);
    size_t *n = (size_t *)((char *)base + p->cnt);
    size_t elsz = conf_entry_size(p);
    for (size_t i = 0; i < *n; i++)
        conf_free_group(p->sub, *arr + i * elsz);
    free(*arr);
    *arr = NULL;
    *n = 0;
}
