/* policy: selectors -> the effective per-destination limits (policy.h). Globs are
 * fnmatch(3) patterns without flags over lower-case names ("*" also spans dots), "mx:.sfx"
 * matches names ending in ".sfx", "ip:" a CIDR block (proto/cidr.h). */
#include "deliver/policy.h"

#include <ctype.h>
#include <fnmatch.h>
#include <string.h>

#include "dns/mx.h"
#include "proto/cidr.h"
#include "proto/duration.h"
#include "route/route.h"

#define POLICY_NAME_MAX 255
#define POLICY_TEXT_MAX 800 /* a value as text: 64 retry factors of up to 6 digits */

/* The kind of a selector and its argument. */
enum policy_sel { SEL_DOMAIN, SEL_MX, SEL_IP };
static enum policy_sel policy_sel_kind(const char *s, const char **arg)
{
    if (strncmp(s, "ip:", 3) == 0)
        return *arg = s + 3, SEL_IP;
    if (strncmp(s, "mx:", 3) == 0)
        return *arg = s + 3, SEL_MX;
    *arg = strncmp(s, "smtp/", 5) == 0 ? s + 5 : s;
    return SEL_DOMAIN;
}

/* A glob (or ".suffix") over a lower-case name. */
static bool policy_glob(const char *pat, const char *name)
{
    if (pat[0] == '.') {
        size_t pl = strlen(pat), nl = strlen(name);
        return nl > pl && strcmp(name + nl - pl, pat) == 0;
    }
    return fnmatch(pat, name, 0) == 0;
}

/* Lower-cases name into buf (POLICY_NAME_MAX + 1); false when too long. */
static bool policy_lower(const char *name, char *buf)
{
    size_t n = strlen(name);
    if (n > POLICY_NAME_MAX)
        return false;
    for (size_t i = 0; i <= n; i++)
        buf[i] = (char)tolower((unsigned char)name[i]);
    return true;
}

/* Blocks with a matching domain selector. */
uint64_t policy_domain_mask(const struct conf *c, const char *domain)
{
    char d[POLICY_NAME_MAX + 1];
    uint64_t mask = 0;
    if (!domain || !*domain || !policy_lower(domain, d))
        return 0;
    for (size_t i = 0; i < c->deliver.npolicies && i < 64; i++) {
        const struct policy *p = &c->deliver.policies[i];
        for (size_t k = 0; k < p->nmatch; k++) {
            const char *arg;
            if (policy_sel_kind(p->match[k], &arg) == SEL_DOMAIN && policy_glob(arg, d)) {
                mask |= UINT64_C(1) << i;
                break;
            }
        }
    }
    return mask;
}

/* True when some block has a domain selector. */
bool policy_has_domain_selectors(const struct conf *c)
{
    for (size_t i = 0; i < c->deliver.npolicies; i++)
        for (size_t k = 0; k < c->deliver.policies[i].nmatch; k++) {
            const char *arg;
            if (policy_sel_kind(c->deliver.policies[i].match[k], &arg) == SEL_DOMAIN)
                return true;
        }
    return false;
}

/* True when selector s (MX or IP) matches a host of d. */
static bool policy_dest_matches(const char *s, const struct dest *d)
{
    const char *arg;
    enum policy_sel k = policy_sel_kind(s, &arg);
    struct cidr net;
    if (k == SEL_DOMAIN || (k == SEL_IP && cidr_parse(arg, strlen(arg), &net) < 0))
        return false;
    for (size_t h = 0; h < d->nhosts; h++) {
        const struct mx_host *mh = &d->hosts[h];
        if (k == SEL_MX && mh->name && policy_glob(arg, mh->name))
            return true;
        for (size_t a = 0; k == SEL_IP && a < mh->naddrs; a++)
            if (cidr_match(&net, (const struct sockaddr *)&mh->addrs[a]))
                return true;
    }
    return false;
}

/* True when block i applies. */
static bool policy_applies(const struct conf *c, size_t i, uint64_t dmask, const struct dest *d)
{
    const struct policy *p = &c->deliver.policies[i];
    if (i < 64 && (dmask >> i) & 1)
        return true;
    for (size_t k = 0; d && k < p->nmatch; k++)
        if (policy_dest_matches(p->match[k], d))
            return true;
    return false;
}

/* True when d is the default relay of a smarthost setup (the only relay, without rules).
 * A relay spreading over several hosts in parallel is not: each host is a destination with
 * its own maxserverconnections (docs/routing.md). */
static bool policy_smarthost(const struct conf *c, const struct dest *d)
{
    const struct relay *r = c->deliver.nrelays == 1 ? &c->deliver.relays[0] : NULL;
    return d && r && d->relay == r && r->ndestdomains == 0 && r->nsenders == 0 &&
           r->nsendernets == 0 && !d->lane;
}

/* Copies the keys block i gives. */
static void policy_apply(struct policy_eff *o, const struct policy *p, int i)
{
#define POLICY_TAKE2(K, of, pf)                                                                    \
    if (p->set & (1u << (K)))                                                                      \
    o->of = p->pf, o->from[K] = (int16_t)i
#define POLICY_TAKE(K, f) POLICY_TAKE2(K, f, f)
    POLICY_TAKE(POLICY_MAXSERVERCONNECTIONS, maxserverconnections);
    POLICY_TAKE(POLICY_MAXMESSAGES, maxmessages);
    POLICY_TAKE(POLICY_MAXRECIPS, maxrecips);
    POLICY_TAKE(POLICY_IDLEMAX, idlemax);
    POLICY_TAKE(POLICY_QUEUEONLY, queueonly);
    POLICY_TAKE(POLICY_MSGS_PER_SECOND, msgs_per_second);
    POLICY_TAKE(POLICY_MSGS_PER_MINUTE, msgs_per_minute);
    POLICY_TAKE(POLICY_MSGS_PER_HOUR, msgs_per_hour);
    POLICY_TAKE(POLICY_MSGS_BURST, msgs_burst);
    POLICY_TAKE(POLICY_CONNECTIONS_PER_MINUTE, connections_per_minute);
    POLICY_TAKE(POLICY_INITIAL_CONCURRENCY, initial_concurrency);
    POLICY_TAKE(POLICY_MAXPIPELINE, maxpipeline);
    POLICY_TAKE2(POLICY_INTERVAL, plan.interval, interval);
    POLICY_TAKE2(POLICY_SKEW, plan.skew, skew);
    POLICY_TAKE2(POLICY_EXPIRY, plan.expiry, expiry);
#undef POLICY_TAKE
#undef POLICY_TAKE2
    if (p->set & (1u << POLICY_RETRIES)) {
        o->plan.retries = p->retries;
        o->plan.nretries = p->nretries;
        o->from[POLICY_RETRIES] = (int16_t)i;
    }
}

/* The effective policy. */
void policy_resolve(const struct conf *c, uint64_t dmask, const struct dest *d,
                    struct policy_eff *out)
{
    *out = (struct policy_eff){
        .maxserverconnections = c->deliver.maxserverconnections,
        .maxmessages = c->deliver.maxmessages,
        .maxrecips = c->deliver.maxrecips,
        .idlemax = c->deliver.idlemax,
        .msgs_burst = 1,
        .initial_concurrency = c->deliver.initial_concurrency,
        .maxpipeline = c->deliver.client.maxpipeline,
        .plan = {.retries = c->deliver.retries,
                 .nretries = c->deliver.nretries,
                 .interval = c->deliver.interval,
                 .skew = c->deliver.skew,
                 .expiry = c->deliver.expiry},
    };
    for (int k = 0; k < POLICY_NKEYS; k++)
        out->from[k] = -1;
    if (policy_smarthost(c, d))
        out->maxserverconnections = c->deliver.maxconnections;
    for (size_t i = 0; i < c->deliver.npolicies; i++)
        if (policy_applies(c, i, dmask, d))
            policy_apply(out, &c->deliver.policies[i], (int)i);
}

/* The lowest of the three message rates, per second. */
double policy_msg_rate(const struct policy_eff *p)
{
    double r = 0, v[3] = {p->msgs_per_second, p->msgs_per_minute / 60.0, p->msgs_per_hour / 3600.0};
    for (int i = 0; i < 3; i++)
        if (v[i] > 0 && (r == 0 || v[i] < r))
            r = v[i];
    return r;
}

/* The retry factors as a quoted string ("1 1 2 3"), cut to fit len. */
static void policy_retries_text(const struct retry_plan *p, char *buf, size_t len)
{
    size_t at = (size_t)snprintf(buf, len, "\"");
    for (size_t i = 0; i < p->nretries && at + 12 < len; i++)
        at += (size_t)snprintf(buf + at, len - at, "%s%u", i ? " " : "", p->retries[i]);
    snprintf(buf + at, len - at, "\"");
}

/* The deliver-level key a policy key falls back to ("deliver.retries"), or NULL when its
 * fallback is a fixed default. */
static const char *policy_base_name(int k)
{
    static const char *const names[POLICY_NKEYS] = {
        [POLICY_MAXSERVERCONNECTIONS] = "deliver.maxserverconnections",
        [POLICY_MAXMESSAGES] = "deliver.maxmessages",
        [POLICY_MAXRECIPS] = "deliver.maxrecips",
        [POLICY_IDLEMAX] = "deliver.idlemax",
        [POLICY_INITIAL_CONCURRENCY] = "deliver.initial_concurrency",
        [POLICY_MAXPIPELINE] = "deliver.client.maxpipeline",
        [POLICY_RETRIES] = "deliver.retries",
        [POLICY_INTERVAL] = "deliver.interval",
        [POLICY_SKEW] = "deliver.skew",
        [POLICY_EXPIRY] = "deliver.expiry",
    };
    return names[k];
}

/* The value of key k of o as text. */
static const char *policy_value_text(const struct policy_eff *o, int k, char *buf, size_t len)
{
    double r = 0;
    switch (k) {
    case POLICY_MAXSERVERCONNECTIONS:
        snprintf(buf, len, "%u", o->maxserverconnections);
        break;
    case POLICY_MAXMESSAGES:
        snprintf(buf, len, "%u", o->maxmessages);
        break;
    case POLICY_MAXRECIPS:
        snprintf(buf, len, "%u", o->maxrecips);
        break;
    case POLICY_IDLEMAX:
        snprintf(buf, len, "\"%s\"", duration_to_text(o->idlemax, (char[32]){0}, 32));
        break;
    case POLICY_QUEUEONLY:
        snprintf(buf, len, "%s", o->queueonly ? "true" : "false");
        break;
    case POLICY_MSGS_BURST:
        snprintf(buf, len, "%u", o->msgs_burst);
        break;
    case POLICY_INITIAL_CONCURRENCY:
        snprintf(buf, len, "%u", o->initial_concurrency);
        break;
    case POLICY_MAXPIPELINE:
        snprintf(buf, len, "%u", o->maxpipeline);
        break;
    case POLICY_SKEW:
        snprintf(buf, len, "%u", o->plan.skew);
        break;
    case POLICY_INTERVAL:
    case POLICY_EXPIRY:
        snprintf(buf, len, "\"%s\"",
                 duration_to_text(k == POLICY_INTERVAL ? o->plan.interval : o->plan.expiry,
                                  (char[32]){0}, 32));
        break;
    case POLICY_RETRIES:
        policy_retries_text(&o->plan, buf, len);
        break;
    case POLICY_MSGS_PER_SECOND:
        r = o->msgs_per_second;
        break;
    case POLICY_MSGS_PER_MINUTE:
        r = o->msgs_per_minute;
        break;
    case POLICY_MSGS_PER_HOUR:
        r = o->msgs_per_hour;
        break;
    default:
        r = o->connections_per_minute;
        break;
    }
    if (k == POLICY_MSGS_PER_SECOND || k == POLICY_MSGS_PER_MINUTE || k == POLICY_MSGS_PER_HOUR ||
        k == POLICY_CONNECTIONS_PER_MINUTE) {
        if (r > 0)
            snprintf(buf, len, "%g", r);
        else
            snprintf(buf, len, "0 (no limit)");
    }
    return buf;
}

/* Prints the selectors of block i on one line. */
static void policy_print_match(const struct conf *c, size_t i, FILE *out)
{
    const struct policy *p = &c->deliver.policies[i];
    for (size_t k = 0; k < p->nmatch; k++)
        fprintf(out, "%s\"%s\"", k ? ", " : "", p->match[k]);
}

/* `check-config --explain DOMAIN`. */
void policy_explain(const struct conf *c, const char *domain, FILE *out)
{
    struct policy_eff o;
    char v[POLICY_TEXT_MAX];
    uint64_t dmask = policy_domain_mask(c, domain);
    policy_resolve(c, dmask, NULL, &o);
    fprintf(out, "policy for %s\n", domain);
    for (int k = 0; k < POLICY_NKEYS; k++) {
        fprintf(out, "  %s = %s", conf_policy_names[k], policy_value_text(&o, k, v, sizeof v));
        if (o.from[k] < 0) {
            const char *base = policy_base_name(k);
            fprintf(out, "  # %s\n", base ? base : "default");
            continue;
        }
        fprintf(out, "  # deliver.policies[%d] (", o.from[k]);
        policy_print_match(c, (size_t)o.from[k], out);
        fputs(")\n", out);
    }
    bool first = true;
    for (size_t i = 0; i < c->deliver.npolicies; i++) {
        const struct policy *p = &c->deliver.policies[i];
        bool other = false;
        for (size_t k = 0; k < p->nmatch; k++) {
            const char *arg;
            other |= policy_sel_kind(p->match[k], &arg) != SEL_DOMAIN;
        }
        if (!other || (i < 64 && (dmask >> i) & 1))
            continue;
        if (first)
            fputs("also once DNS answers, when an MX host or its address matches:\n", out);
        first = false;
        fprintf(out, "  deliver.policies[%zu] (", i);
        policy_print_match(c, i, out);
        fputs(")\n", out);
    }
    if (c->deliver.nrelays == 1 && c->deliver.relays[0].ndestdomains == 0 &&
        c->deliver.relays[0].nsenders == 0 && c->deliver.relays[0].nsendernets == 0 &&
        o.from[POLICY_MAXSERVERCONNECTIONS] < 0)
        fprintf(out, "smarthost mode: the relay %s may have maxconnections (%u) connections\n",
                c->deliver.relays[0].address, c->deliver.maxconnections);
}
