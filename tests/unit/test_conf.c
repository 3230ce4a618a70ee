/* test_conf: the configuration key table and loader (src/conf/), table-driven.
 * Texts are loaded with conf_load_text() as "test.conf"; files with conf_load(). Every row
 * of the key table is checked: its default against its bounds, its bounds and an unknown
 * key in its group against the loader's "FILE:LINE: message", its name against
 * docs/config.md; `sluice config-keys` output against tests/golden/config-keys.txt (run from
 * the repository root; UPDATE_GOLDEN=1 rewrites it after a deliberate change). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf/conf.h"
#include "conf/keys.h"
#include "proto/duration.h"
#include "proto/logpath.h"

#define NAME "test.conf"
#define GOLDEN "tests/golden/config-keys.txt"

static char conf_tmp[64];

/* Loads text over the defaults into c; returns conf_load_text's result, error in err. */
static int load_text(const char *text, struct conf *c, char *err, size_t errlen)
{
    conf_init(c);
    return conf_load_text(NAME, text, strlen(text), c, err, errlen);
}

/* Reads a whole file (at most 1 MiB) into a NUL-terminated buffer; NULL when missing. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc((1 << 20) + 1);
    *len = fread(buf, 1, 1 << 20, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

/* Checks that every field of c holds the documented default. */
static void check_defaults(const struct conf *c, const char *hostname)
{
    assert_string_equal(c->spool, "/var/spool/sluice");
    assert_string_equal(c->hostname, hostname);
    assert_int_equal(c->smtpd.nlisten, 1);
    assert_string_equal(c->smtpd.listen[0], "127.0.0.1:25");
    assert_int_equal(c->smtpd.ntrusted_networks, 2);
    assert_int_equal(c->smtpd.trusted_networks[0].prefix, 8);
    assert_int_equal(c->smtpd.trusted_networks[1].family, AF_INET6);
    assert_int_equal(c->smtpd.max_message_size, 10240000);
    assert_int_equal(c->smtpd.max_hops, 100); /* RFC 5321 §6.3: at least 100 */
    assert_int_equal(c->smtpd.nbare_newline_networks, 0); /* bare LF ends no command line */
    assert_null(c->smtpd.tls.cert_file); /* no certificate: no STARTTLS */
    assert_null(c->smtpd.tls.key_file);
    assert_null(c->smtpd.tls.ca_file);
    assert_int_equal(c->smtpd.tls.min_tls, 2);
    assert_int_equal(c->smtpd.tls.session_timeout, 3600000);
    assert_int_equal(c->smtpd.tls.handshake_timeout, 60000);
    assert_false(c->smtpd.tls.ask_cert || c->smtpd.tls.require_cert);
    assert_int_equal(c->smtpd.ntls_listen, 0);
    assert_null(c->smtpd.auth.backend); /* no backend: no AUTH */
    assert_false(c->smtpd.auth.allow_cleartext || c->smtpd.auth.sender_must_match);
    assert_true(c->smtpd.auth.rcvd_auth_user);
    assert_string_equal(c->smtpd.auth.pam_service, "smtp");
    assert_int_equal(c->smtpd.auth.timeout, 10000);
    assert_int_equal(c->smtpd.auth.workers, 2);
    assert_int_equal(c->smtpd.auth.max_failures, 3);
    assert_int_equal(c->smtpd.auth.max_failures_per_ip, 10);
    assert_int_equal(c->smtpd.auth.failure_window, 600000);
    assert_int_equal(c->smtpd.auth.failure_delay, 1000);
    assert_int_equal(c->resolver.nforwarders, 0);
    assert_int_equal(c->deliver.queuecache, 2500);
    assert_int_equal(c->deliver.maxconnections, 2500);
    assert_int_equal(c->deliver.maxserverconnections, 20);
    assert_int_equal(c->deliver.maxmessages, 100);
    assert_int_equal(c->deliver.maxrecips, 50);
    assert_int_equal(c->deliver.interval_low, 100);
    assert_int_equal(c->deliver.interval_high, 15000);
    assert_int_equal(c->deliver.interval_error, 180000);
    assert_int_equal(c->deliver.delay_start, 30000);
    assert_int_equal(c->deliver.nretries, 9);
    assert_int_equal(c->deliver.retries[8], 34);
    assert_int_equal(c->deliver.interval, 60000);
    assert_int_equal(c->deliver.skew, 1);
    assert_int_equal(c->deliver.expiry, 3 * 86400000);
    assert_string_equal(c->deliver.client.announcehost, hostname);
    assert_int_equal(c->deliver.client.maxpipeline, 25);
    assert_int_equal(c->deliver.client.timeout, 60000);
    assert_int_equal(c->deliver.client.mindatarate, 1000000);
    assert_false(c->deliver.client.sayHELO);
    assert_false(c->deliver.client.fallbackHELO);
    assert_true(c->deliver.client.sendQUIT);
    assert_true(c->deliver.client.waitQUIT);
    assert_int_equal(c->deliver.port, 25);
    assert_false(c->deliver.fallbackMX_A);
    assert_int_equal(c->deliver.nremotenets, 0);
    assert_int_equal(c->deliver.nrelays, 0);
    assert_true(c->deliver.client.anonssl.latent); /* opportunistic STARTTLS by default */
    assert_false(c->deliver.client.anonssl.mandatory);
    assert_int_equal(c->deliver.client.anonssl.min_tls, 2);
}

/* Fails unless string lists a[0..na) and b[0..nb) are equal. */
static void check_same_strings(const char *key, char *const *a, size_t na, char *const *b,
                               size_t nb)
{
    if (na != nb)
        fail_msg("%s: got %zu entries, want %zu", key, na, nb);
    for (size_t i = 0; i < na; i++)
        if (strcmp(a[i], b[i]) != 0)
            fail_msg("%s[%zu]: got \"%s\", want \"%s\"", key, i, a[i], b[i]);
}

/* Fails unless CIDR lists a[0..na) and b[0..nb) are equal. */
static void check_same_cidrs(const char *key, const struct cidr *a, size_t na,
                             const struct cidr *b, size_t nb)
{
    if (na != nb)
        fail_msg("%s: got %zu blocks, want %zu", key, na, nb);
    for (size_t i = 0; i < na; i++)
        if (a[i].family != b[i].family || a[i].prefix != b[i].prefix ||
            memcmp(a[i].addr, b[i].addr, a[i].family == AF_INET ? 4 : 16) != 0)
            fail_msg("%s[%zu]: blocks differ", key, i);
}

/* Fails unless the number of row p is equal in a and b. */
static void check_same_number(const char *key, const struct conf_key *p, const char *a,
                              const char *b)
{
    uint64_t va, vb;
    switch (p->kind) {
    case CONF_UINT:
    case CONF_TLSMODE:
    case CONF_TLSPROTO:
    case CONF_DKIMALG:
    case CONF_CANON:
    case CONF_MILTERACT:
    case CONF_RULE_AT:
    case CONF_RULE_ACTION:
    case CONF_SPREAD:
    case CONF_ORDER:
    case CONF_MBOXKIND:
    case CONF_ROT: va = *(const unsigned *)a, vb = *(const unsigned *)b; break;
    case CONF_RATE: va = (uint64_t)(*(const double *)a * 1000), vb = (uint64_t)(*(const double *)b * 1000); break;
    case CONF_PORT: va = *(const uint16_t *)a, vb = *(const uint16_t *)b; break;
    case CONF_BOOL:
    case CONF_OVERRIDE: va = *(const bool *)a, vb = *(const bool *)b; break;
    default: va = *(const uint64_t *)a, vb = *(const uint64_t *)b; break;
    }
    if (va != vb)
        fail_msg("%s: got %llu, want %llu", key, (unsigned long long)va, (unsigned long long)vb);
}

/* Fails unless every value of the rows of group is equal at bases a (got) and b (want). */
static void check_same_group(enum conf_gid group, const void *a, const void *b)
{
    char key[CONF_KEY_MAX];
    const char *gname = conf_group_names[group];
    const struct conf_key *end, *p = conf_keys_group(group, &end);
    for (; p < end; p++) {
        const char *fa = (const char *)a + p->off, *fb = (const char *)b + p->off;
        size_t na = p->cnt ? *(const size_t *)((const char *)a + p->cnt) : 0;
        size_t nb = p->cnt ? *(const size_t *)((const char *)b + p->cnt) : 0;
        snprintf(key, sizeof key, "%s%s%s", gname, *gname ? "." : "", p->name);
        if (p->kind >= CONF_PATH && p->kind <= CONF_LOGPATH) {
            const char *sa = *(char *const *)fa, *sb = *(char *const *)fb;
            if ((sa == NULL) != (sb == NULL) || (sa != NULL && strcmp(sa, sb) != 0))
                fail_msg("%s: got \"%s\", want \"%s\"", key, sa ? sa : "(null)",
                         sb ? sb : "(null)");
        } else if (p->kind >= CONF_UINT && p->kind <= CONF_ROT) {
            check_same_number(key, p, fa, fb);
        } else if (p->kind == CONF_RETRIES) {
            if (na != nb || memcmp(*(unsigned *const *)fa, *(unsigned *const *)fb,
                                   na * sizeof(unsigned)) != 0)
                fail_msg("%s: retries differ", key);
        } else if (p->kind == CONF_CIDRS) {
            check_same_cidrs(key, *(struct cidr *const *)fa, na, *(struct cidr *const *)fb, nb);
        } else if (p->kind == CONF_PEERS) {
            const struct logspec *la = a, *lb = b;
            check_same_cidrs(key, la->nets, la->nnets, lb->nets, lb->nnets);
            check_same_strings(key, la->domains, la->ndomains, lb->domains, lb->ndomains);
        } else if (p->kind >= CONF_LISTEN && p->kind <= CONF_LINES) {
            check_same_strings(key, *(char **const *)fa, na, *(char **const *)fb, nb);
        } else if (p->kind == CONF_GROUP) {
            check_same_group(p->sub, a, b);
        } else if (p->kind == CONF_LOGSPEC) {
            check_same_group(p->sub, fa, fb);
        } else if (na != nb) {
            fail_msg("%s: got %zu entries, want %zu", key, na, nb);
        }
    }
}

/* conf_init() alone, and an empty file, give the defaults; hostname = gethostname(). */
static void test_defaults(void **state)
{
    (void)state;
    char host[256] = "", err[512];
    struct conf c;
    gethostname(host, sizeof host - 1);
    conf_init(&c);
    check_defaults(&c, host[0] ? host : "localhost");
    conf_free(&c);
    assert_int_equal(load_text("# nothing\n", &c, err, sizeof err), 0);
    check_defaults(&c, host[0] ? host : "localhost");
    conf_free(&c);
}

/* The shipped etc/sluice.conf loads without error and holds exactly the defaults (every
 * row compared with conf_init()). */
static void test_shipped_file(void **state)
{
    (void)state;
    char path[4096], err[512], host[256] = "";
    const char *me = __FILE__, *cut = strstr(me, "tests/unit/test_conf.c");
    assert_non_null(cut);
    snprintf(path, sizeof path, "%.*setc/sluice.conf", (int)(cut - me), me);
    gethostname(host, sizeof host - 1);
    struct conf c, d;
    conf_init(&c);
    if (conf_load(path, &c, err, sizeof err) != 0)
        fail_msg("%s: got error \"%s\", want success", path, err);
    check_defaults(&c, host[0] ? host : "localhost");
    conf_init(&d);
    check_same_group(CONF_G_TOP, &c, &d);
    conf_free(&c);
    conf_free(&d);
}

static const char full_text[] =
    "spool = \"/tmp/spool\";\n"
    "hostname = \"MX.Example.org\";\n"
    "smtpd = { listen = [\"127.0.0.1:2525\", \"[::1]:2526\"];\n"
    "  trusted_networks = [\"192.168/16\"]; max_message_size = 1099511627776L;\n"
    "  bare_newline_networks = \"10.1/16, ::1\";\n"
    "  tls = { cert_file = \"/etc/rsa.pem\"; key_file = \"/etc/rsa.key\"; ca_file = \"/etc/ca\";\n"
    "    ecdsa_cert_file = \"/etc/ec.pem\"; min_protocol = \"tlsv1.3\"; session_timeout = \"0\";\n"
    "    handshake_timeout = \"10s\"; ask_cert = true; require_cert = \"yes\"; };\n"
    "  tls_listen = [ \"127.0.0.1:465\", \"[::1]:465\" ];\n"
    "  auth = { backend = \"file\"; path = \"/etc/sluice/passwd\"; workers = 4;\n"
    "    allow_cleartext = true; max_failures = 5; max_failures_per_ip = 7;\n"
    "    failure_window = \"1h\"; failure_delay = \"250ms\"; rcvd_auth_user = false;\n"
    "    sender_must_match = true; }; };\n"
    "resolver = { forwarders = [\"127.0.0.1@5353\", \"::1\"]; };\n"
    "deliver = {\n"
    "  queuecache = 10; maxconnections = 11; maxserverconnections = 12; maxmessages = 13;\n"
    "  maxrecips = 14; interval_low = \"250\"; interval_high = 2000; interval_error = \"2h\";\n"
    "  delay_start = \"0\"; retries = \" 2  4\t8 \"; interval = \"15s\"; skew = 0; expiry = \"1m\";\n"
    "  client = { maxpipeline = 0; timeout = \"30s\"; mindatarate = 5000000000L;\n"
    "    sayHELO = \"Y\"; fallbackHELO = \"yes\"; sendQUIT = \"N\"; waitQUIT = false;\n"
    "    fallbackMX_A = true; port = 2525;\n"
    "    remotenets = ( { ip = [\"127.0.0.0/8\", \"Slow.Example\"]; maxpipeline = 1; },\n"
    "                   { ip = \"10/8|::1/128\"; announcehost = \"[192.0.2.1]\"; timeout = 5000; } );\n"
    "  };\n"
    "  relays = ( { address = \"relay.example:2500\"; destdomains = [\"A.Test\", \"b.test\"]; },\n"
    "             { address = \"[127.0.0.1]\"; senders = \"SrcDomain, User@Dom.Test\";\n"
    "               sendernets = \"192.168/16, 127.0.0.1\"; },\n"
    "             { address = \"smarthost\"; } );\n"
    "};\n";

/* Every key set: the values land in the right fields, converted and resolved. */
static void test_full(void **state)
{
    (void)state;
    char err[512];
    struct conf c;
    if (load_text(full_text, &c, err, sizeof err) != 0)
        fail_msg("got error \"%s\", want success", err);
    assert_string_equal(c.spool, "/tmp/spool");
    assert_string_equal(c.hostname, "MX.Example.org");
    assert_int_equal(c.smtpd.nlisten, 2);
    assert_string_equal(c.smtpd.listen[1], "[::1]:2526");
    assert_int_equal(c.smtpd.ntrusted_networks, 1);
    assert_int_equal(c.smtpd.trusted_networks[0].prefix, 16);
    assert_int_equal(c.smtpd.max_message_size, UINT64_C(1) << 40);
    assert_int_equal(c.smtpd.nbare_newline_networks, 2);
    assert_int_equal(c.smtpd.bare_newline_networks[0].prefix, 16);
    assert_int_equal(c.smtpd.bare_newline_networks[1].family, AF_INET6);
    const struct smtpd_tls_conf *t = &c.smtpd.tls;
    assert_string_equal(t->cert_file, "/etc/rsa.pem");
    assert_string_equal(t->key_file, "/etc/rsa.key");
    assert_string_equal(t->ca_file, "/etc/ca");
    assert_string_equal(t->ecdsa_cert_file, "/etc/ec.pem");
    assert_null(t->ecdsa_key_file); /* in ecdsa_cert_file */
    assert_int_equal(t->min_tls, 3);
    assert_int_equal(t->session_timeout, 0);
    assert_int_equal(t->handshake_timeout, 10000);
    assert_true(t->ask_cert && t->require_cert);
    assert_int_equal(c.smtpd.ntls_listen, 2);
    assert_string_equal(c.smtpd.tls_listen[1], "[::1]:465");
    const struct smtpd_auth_conf *au = &c.smtpd.auth;
    assert_string_equal(au->backend, "file");
    assert_string_equal(au->path, "/etc/sluice/passwd");
    assert_int_equal(au->workers, 4);
    assert_true(au->allow_cleartext && au->sender_must_match && !au->rcvd_auth_user);
    assert_int_equal(au->max_failures, 5);
    assert_int_equal(au->max_failures_per_ip, 7);
    assert_int_equal(au->failure_window, 3600000);
    assert_int_equal(au->failure_delay, 250);
    assert_int_equal(c.resolver.nforwarders, 2);
    assert_string_equal(c.resolver.forwarders[0], "127.0.0.1@5353");
    assert_int_equal(c.deliver.queuecache, 10);
    assert_int_equal(c.deliver.maxrecips, 14);
    assert_int_equal(c.deliver.interval_low, 250);
    assert_int_equal(c.deliver.interval_high, 2000);
    assert_int_equal(c.deliver.interval_error, 7200000);
    assert_int_equal(c.deliver.delay_start, 0);
    assert_int_equal(c.deliver.nretries, 3);
    assert_int_equal(c.deliver.retries[2], 8);
    assert_int_equal(c.deliver.interval, 15000);
    assert_int_equal(c.deliver.skew, 0);
    assert_int_equal(c.deliver.expiry, 60000);
    const struct client_conf *b = &c.deliver.client;
    assert_string_equal(b->announcehost, "MX.Example.org"); /* follows hostname */
    assert_int_equal(b->maxpipeline, 1);                     /* 0 is stored as 1 */
    assert_int_equal(b->timeout, 30000);
    assert_int_equal(b->mindatarate, UINT64_C(5000000000));
    assert_true(b->sayHELO && b->fallbackHELO && !b->sendQUIT && !b->waitQUIT);
    assert_true(c.deliver.fallbackMX_A);
    assert_int_equal(c.deliver.port, 2525);
    assert_int_equal(c.deliver.nremotenets, 2);
    const struct remotenet *r0 = &c.deliver.remotenets[0], *r1 = &c.deliver.remotenets[1];
    assert_int_equal(r0->nnets, 1);
    assert_int_equal(r0->nhosts, 1);
    assert_string_equal(r0->hosts[0], "slow.example");
    assert_int_equal(r0->client.maxpipeline, 1);
    assert_int_equal(r0->client.timeout, 30000); /* inherited */
    assert_string_equal(r0->client.announcehost, "MX.Example.org");
    assert_true(r0->client.sayHELO);
    assert_int_equal(r1->nnets, 2);
    assert_string_equal(r1->client.announcehost, "[192.0.2.1]");
    assert_int_equal(r1->client.timeout, 5000);
    assert_int_equal(r1->client.maxpipeline, 1);
    assert_int_equal(c.deliver.nrelays, 3);
    const struct relay *a = &c.deliver.relays[0], *l = &c.deliver.relays[1];
    assert_string_equal(a->host, "relay.example");
    assert_int_equal(a->port, 2500);
    assert_false(a->literal);
    assert_int_equal(a->ndestdomains, 2);
    assert_string_equal(a->destdomains[0], "a.test");
    assert_string_equal(l->host, "127.0.0.1");
    assert_true(l->literal);
    assert_int_equal(l->port, 2525); /* deliver.client.port */
    assert_int_equal(l->nsenders, 2);
    assert_string_equal(l->senders[0], "srcdomain");
    assert_string_equal(l->senders[1], "user@dom.test");
    assert_int_equal(l->nsendernets, 2);
    assert_string_equal(c.deliver.relays[2].address, "smarthost");
    conf_free(&c);
}

/* Remotenets are picked by address or host name, first match wins, else the base. */
static void test_client_for(void **state)
{
    (void)state;
    static const struct {
        const char *ip, *host;
        int want; /* remotenet index, -1 = base */
    } cases[] = {
        {"127.0.0.5", NULL, 0},         {"10.9.9.9", NULL, 1},
        {"::1", "slow.example", 0},     {"::ffff:10.0.0.1", NULL, 1},
        {"192.0.2.1", NULL, -1},        {"192.0.2.1", "SLOW.example.", 0},
        {"192.0.2.1", "other", -1},     {NULL, "slow.example", 0},
        {NULL, NULL, -1},
    };
    char err[512];
    struct conf c;
    if (load_text(full_text, &c, err, sizeof err) != 0)
        fail_msg("got error \"%s\", want success", err);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct sockaddr_storage ss;
        const struct sockaddr *sa = NULL;
        if (cases[i].ip) {
            assert_int_equal(cidr_sockaddr_parse(cases[i].ip, 25, &ss, NULL), 0);
            sa = (const struct sockaddr *)&ss;
        }
        const struct client_conf *got = conf_client_for(&c, sa, cases[i].host);
        const struct client_conf *want = cases[i].want < 0
                                             ? &c.deliver.client
                                             : &c.deliver.remotenets[cases[i].want].client;
        if (got != want)
            fail_msg("%s/%s: got client %p, want remotenet %d", cases[i].ip, cases[i].host,
                     (const void *)got, cases[i].want);
    }
    conf_free(&c);
}

struct relay_case {
    const char *address;
    const char *host;
    int port;
    bool literal;
};

static const struct relay_case relay_cases[] = {
    {"relay.example", "relay.example", 25, false},
    {"relay.example:2525", "relay.example", 2525, false},
    {"[127.0.0.1]:2525", "127.0.0.1", 2525, true},
    {"[127.0.0.1]", "127.0.0.1", 25, true},
    {"[::1]:26", "::1", 26, true},
    {"192.168.101.1:8025", "192.168.101.1", 8025, true},
    {"2001:db8::1", "2001:db8::1", 25, true},
    {"host", "host", 25, false},
};

/* Each relay address form gives host, port and literal as wanted. */
static void test_relay_forms(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof relay_cases / sizeof relay_cases[0]; i++) {
        char text[256], err[512];
        struct conf c;
        snprintf(text, sizeof text, "deliver = { relays = ( { address = \"%s\"; } ); };\n",
                 relay_cases[i].address);
        if (load_text(text, &c, err, sizeof err) != 0)
            fail_msg("%s: got error \"%s\", want success", relay_cases[i].address, err);
        const struct relay *r = &c.deliver.relays[0];
        if (strcmp(r->host, relay_cases[i].host) != 0 || r->port != relay_cases[i].port ||
            r->literal != relay_cases[i].literal)
            fail_msg("%s: got %s port %u literal %d, want %s port %d literal %d",
                     relay_cases[i].address, r->host, r->port, r->literal, relay_cases[i].host,
                     relay_cases[i].port, relay_cases[i].literal);
        conf_free(&c);
    }
}

/* A list of hosts (docs/routing.md): every host with its port, the first as host/port,
 * the address joined; spread and order as words. */
static void test_relay_host_list(void **state)
{
    (void)state;
    char err[512];
    struct conf c;
    const char *text = "deliver = { relays = ( { address = [ \"h1.example\", \"[127.0.0.2]:2526\", "
                       "\"h3.example:27\" ]; spread = \"parallel\"; order = \"random\"; },\n"
                       "{ address = \"one.example\"; } ); };\n";
    if (load_text(text, &c, err, sizeof err) != 0)
        fail_msg("got error \"%s\", want success", err);
    const struct relay *r = &c.deliver.relays[0];
    struct { const char *host; unsigned port; bool literal; } want[] = {
        {"h1.example", 25, false}, {"127.0.0.2", 2526, true}, {"h3.example", 27, false}};
    assert_int_equal(r->nhosts, 3);
    for (size_t i = 0; i < 3; i++)
        if (strcmp(r->hosts[i].host, want[i].host) != 0 || r->hosts[i].port != want[i].port ||
            r->hosts[i].literal != want[i].literal)
            fail_msg("host %zu: got %s port %u literal %d, want %s port %u literal %d", i,
                     r->hosts[i].host, r->hosts[i].port, r->hosts[i].literal, want[i].host,
                     want[i].port, want[i].literal);
    assert_string_equal(r->host, "h1.example");
    assert_string_equal(r->address, "h1.example,[127.0.0.2]:2526,h3.example:27");
    assert_int_equal(r->spread, RELAY_SPREAD_PARALLEL);
    assert_int_equal(r->order, RELAY_ORDER_RANDOM);
    const struct relay *one = &c.deliver.relays[1]; /* the single string form: one host */
    assert_int_equal(one->nhosts, 1);
    assert_string_equal(one->hosts[0].host, "one.example");
    assert_int_equal(one->spread, RELAY_SPREAD_FAILOVER);
    assert_int_equal(one->order, RELAY_ORDER_LISTED);
    conf_free(&c);
}

struct bool_case {
    const char *value;
    int want; /* 1 true, 0 false, -1 error */
};

static const struct bool_case bool_cases[] = {
    {"true", 1},   {"false", 0}, {"\"Y\"", 1},  {"\"N\"", 0},     {"\"yes\"", 1},
    {"\"no\"", 0}, {"\"y\"", 1}, {"\"NO\"", 0}, {"\"maybe\"", -1}, {"1", -1},
};

/* Each boolean spelling for sayHELO. */
static void test_bool_forms(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bool_cases / sizeof bool_cases[0]; i++) {
        char text[256], err[512];
        struct conf c;
        snprintf(text, sizeof text, "deliver = { client = { sayHELO = %s; }; };\n",
                 bool_cases[i].value);
        int rc = load_text(text, &c, err, sizeof err);
        int got = rc < 0 ? -1 : c.deliver.client.sayHELO;
        if (got != bool_cases[i].want)
            fail_msg("%s: got %d (%s), want %d", bool_cases[i].value, got, err,
                     bool_cases[i].want);
        conf_free(&c);
    }
}

struct err_case {
    const char *text;
    const char *want; /* after "FILE:" */
};

static const struct err_case err_cases[] = {
    {"spool = \"/x\";\nfoo = 1;\n", "2: unknown key 'foo'"},
    {"deliver = {\n  queuecache = 5;\n  foo = 1;\n};\n", "3: unknown key 'deliver.foo'"},
    {"deliver = { client = {\n bar = 1; }; };\n", "2: unknown key 'deliver.client.bar'"},
    {"deliver = { client = { remotenets = (\n { ip = \"10/8\";\n port = 1; } ); }; };\n",
     "3: unknown key 'deliver.client.remotenets[0].port'"},
    {"deliver = { relays = ( { address = \"a\"; },\n { address = \"b\"; tls = 1; } ); };\n",
     "2: unknown key 'deliver.relays[1].tls'"},
    {"deliver = { relays = ( { address = \"b\"; auth = 1; } ); };\n",
     "1: wrong type for 'deliver.relays[0].auth': want group, got integer"},
    {"deliver = { relays = ( { address = \"b\";\n ssl = { mode = \"tls\"; }; } ); };\n",
     "2: bad value for 'deliver.relays[0].ssl.mode': \"tls\" (want none, starttls, implicit)"},
    {"deliver = { relays = ( { address = \"b\"; ssl = { min_protocol = \"TLSv1.1\"; }; } ); };\n",
     "1: bad value for 'deliver.relays[0].ssl.min_protocol': \"TLSv1.1\" (want TLSv1.2, "
     "TLSv1.3)"},
    {"deliver = { relays = ( { address = \"b\"; ssl = { key_file = \"/k\"; }; } ); };\n",
     "1: 'deliver.relays[0].ssl.key_file' needs 'deliver.relays[0].ssl.cert_file'"},
    {"deliver = { relays = ( { address = \"b\"; ssl = { verify = 3; }; } ); };\n",
     "1: wrong type for 'deliver.relays[0].ssl.verify': want boolean, got integer"},
    {"deliver = { relays = ( { address = \"b\"; auth = { override = \"plain\"; }; } ); };\n",
     "1: bad value for 'deliver.relays[0].auth.override': \"plain\" (want external)"},
    {"deliver = { relays = ( { address = \"b\";\n auth = { username = \"u\"; }; } ); };\n",
     "2: 'deliver.relays[0].auth' needs username and password (or password_file)"},
    {"deliver = { relays = ( { address = \"b\"; auth = { username = \"u\";\n"
     " password = \"p\"; password_file = \"/f\"; }; } ); };\n",
     "2: 'deliver.relays[0].auth': password and password_file both given"},
    {"deliver = { relays = ( { address = \"b\"; auth = { username = \"u\";\n"
     " password = \"se\\ncret\"; }; } ); };\n",
     "2: bad value for 'deliver.relays[0].auth.password' (want 1..255 bytes without control "
     "bytes)"},
    {"deliver = { relays = ( { address = \"b\"; auth = { username = \"\"; password = \"p\"; }; "
     "} ); };\n",
     "1: bad value for 'deliver.relays[0].auth.username' (want 1..255 bytes without control "
     "bytes)"},
    {"deliver = { relays = ( { address = \"b\";\n auth = { override = \"external\"; }; } ); };\n",
     "2: 'deliver.relays[0].auth.override = \"external\"' needs 'deliver.relays[0].ssl' with mode "
     "starttls or implicit and a cert_file"},
    {"deliver = { relays = ( { address = \"b\"; ssl = { mode = \"none\"; };\n"
     " auth = { username = \"u\"; password = \"p\"; }; } ); };\n",
     "2: 'deliver.relays[0].auth' with 'deliver.relays[0].ssl.mode = \"none\"' would send the "
     "password in cleartext: set 'deliver.relays[0].auth.allow_cleartext = true'"},
    {"deliver = { client = { anonssl = { latent = true; strict = true; }; }; };\n",
     "1: unknown key 'deliver.client.anonssl.strict'"},
    {"deliver = { client = { remotenets = ( { ip = \"10/8\";\n anonssl = 1; } ); }; };\n",
     "2: wrong type for 'deliver.client.remotenets[0].anonssl': want group, got integer"},
    {"deliver = { relays = ( { address = \"b\"; auth = { username = \"u\";\n"
     " password_file = \"/nonexistent/pw\"; }; } ); };\n",
     "2: cannot read 'deliver.relays[0].auth.password_file' \"/nonexistent/pw\": No such file or "
     "directory"},
    {"deliver = { relays = ( { address = [ ]; } ); };\n",
     "1: 'deliver.relays[0].address' needs 1 to 8 hosts, not 0"},
    {"deliver = { relays = ( { address = [ \"a\", \"b\", \"c\", \"d\", \"e\", \"f\", \"g\", \"h\", "
     "\"i\" ]; } ); };\n",
     "1: 'deliver.relays[0].address' needs 1 to 8 hosts, not 9"},
    {"deliver = { relays = ( { address = [ \"a\",\n \"b:x\" ]; } ); };\n",
     "2: bad relay address for 'deliver.relays[0].address': \"b:x\" (want host, host:port, [ip] "
     "or [ip]:port)"},
    {"deliver = { relays = ( { address = ( \"a\", 3 ); } ); };\n",
     "1: wrong type for 'deliver.relays[0].address': want string, got integer"},
    {"deliver = { relays = ( { address = { x = 1; }; } ); };\n",
     "1: wrong type for 'deliver.relays[0].address': want string or list of strings, got group"},
    {"deliver = { relays = ( { address = [ \"a\", \"b\" ]; spread = \"roundrobin\"; } ); };\n",
     "1: bad value for 'deliver.relays[0].spread': \"roundrobin\" (want failover, parallel)"},
    {"deliver = { relays = ( { address = \"a\"; order = \"sorted\"; } ); };\n",
     "1: bad value for 'deliver.relays[0].order': \"sorted\" (want listed, random)"},
    {"deliver = { relays = ( { address = \"a\"; destdomains = [ \".ac.jp\", \"!*.x\", \"a..b\" ]; } ); };\n",
     "1: bad domain pattern (domain, .domain, *.domain or *, optionally after !) in "
     "'deliver.relays[0].destdomains': \"a..b\""},
    {"deliver = {\n maxconnections = \"10\"; };\n",
     "2: wrong type for 'deliver.maxconnections': want integer, got string"},
    {"smtpd = 1;\n", "1: wrong type for 'smtpd': want group, got integer"},
    {"spool = 5;\n", "1: wrong type for 'spool': want string, got integer"},
    {"deliver = { interval = 1.5; };\n",
     "1: wrong type for 'deliver.interval': want duration (string or integer ms), got float"},
    {"smtpd = { listen = [ 1 ]; };\n",
     "1: wrong type for 'smtpd.listen': want list of strings, got integer in it"},
    {"deliver = { relays = { address = \"a\"; }; };\n",
     "1: wrong type for 'deliver.relays': want list of groups, got group"},
    {"\n\ndeliver = { maxconnections = 0; };\n",
     "3: 'deliver.maxconnections' out of range: 0 not in 1..100000"},
    {"deliver = { maxrecips = 100001; };\n",
     "1: 'deliver.maxrecips' out of range: 100001 not in 1..100000"},
    {"deliver = { client = { port = 65536; }; };\n",
     "1: 'deliver.client.port' out of range: 65536 not in 1..65535"},
    {"deliver = { client = { maxpipeline = -1; }; };\n",
     "1: 'deliver.client.maxpipeline' out of range: -1 not in 0..1000"},
    {"deliver = { skew = 1001; };\n", "1: 'deliver.skew' out of range: 1001 not in 0..1000"},
    {"deliver = { queuecache = 10000001; };\n",
     "1: 'deliver.queuecache' out of range: 10000001 not in 1..10000000"},
    {"smtpd = { max_message_size = 1023; };\n",
     "1: 'smtpd.max_message_size' out of range: 1023 not in 1024..1099511627776"},
    {"deliver = { interval = \"500ms\"; };\n",
     "1: 'deliver.interval' out of range: 500ms not in 1s..1d"},
    {"deliver = { expiry = -5; };\n", "1: 'deliver.expiry' out of range: -5 not in 1s..365d"},
    {"deliver = {\n interval_high = \"15 s\"; };\n",
     "2: bad duration for 'deliver.interval_high': \"15 s\""},
    {"deliver = { client = { timeout = \"1w\"; }; };\n",
     "1: bad duration for 'deliver.client.timeout': \"1w\""},
    {"smtpd = {\n trusted_networks = [\"10.0.0.0/33\"]; };\n",
     "2: bad CIDR in 'smtpd.trusted_networks': \"10.0.0.0/33\""},
    {"smtpd = { bare_newline_networks = [\"mx.example\"]; };\n",
     "1: bad CIDR in 'smtpd.bare_newline_networks': \"mx.example\""},
    {"deliver = { relays = ( { address = \"r\";\n sendernets = \"192.168\"; } ); };\n",
     "2: bad CIDR in 'deliver.relays[0].sendernets': \"192.168\""},
    {"deliver = { client = { remotenets = ( { ip = \"10/8 | bad!host\"; } ); }; };\n",
     "1: bad CIDR or host name in 'deliver.client.remotenets[0].ip': \"bad!host\""},
    {"deliver = { relays = (\n { address = \"relay:0\"; } ); };\n",
     "2: bad relay address for 'deliver.relays[0].address': \"relay:0\" (want host, "
     "host:port, [ip] or [ip]:port)"},
    {"deliver = { relays = ( { address = \"[relay]:25\"; } ); };\n",
     "1: bad relay address for 'deliver.relays[0].address': \"[relay]:25\" (want host, "
     "host:port, [ip] or [ip]:port)"},
    {"deliver = { relays = ( { address = \"a:b:c\"; } ); };\n",
     "1: bad relay address for 'deliver.relays[0].address': \"a:b:c\" (want host, host:port, "
     "[ip] or [ip]:port)"},
    {"deliver = { relays = ( { address = \"\"; } ); };\n",
     "1: bad relay address for 'deliver.relays[0].address': \"\" (want host, host:port, [ip] "
     "or [ip]:port)"},
    {"deliver = { relays = (\n { destdomains = [\"a.test\"]; } ); };\n",
     "2: missing key 'deliver.relays[0].address'"},
    {"deliver = { client = { remotenets = (\n { maxpipeline = 1; } ); }; };\n",
     "2: missing key 'deliver.client.remotenets[0].ip'"},
    {"smtpd = { listen = [\"127.0.0.1\"]; };\n",
     "1: bad listen address in 'smtpd.listen': \"127.0.0.1\""},
    {"smtpd = { listen = [\"::1:25\"]; };\n", "1: bad listen address in 'smtpd.listen': \"::1:25\""},
    {"smtpd = { listen = []; };\n", "1: 'smtpd.listen' must not be empty"},
    {"resolver = { forwarders = [\"dns.example\"]; };\n",
     "1: bad forwarder in 'resolver.forwarders': \"dns.example\""},
    {"resolver = { forwarders = [\"1.1.1.1@99999\"]; };\n",
     "1: bad forwarder in 'resolver.forwarders': \"1.1.1.1@99999\""},
    {"deliver = { client = { sendQUIT = \"maybe\"; }; };\n",
     "1: bad boolean for 'deliver.client.sendQUIT': \"maybe\" (want true/false, Y/N, yes/no)"},
    {"deliver = { retries = \"1 0 2\"; };\n",
     "1: bad retries for 'deliver.retries': \"1 0 2\" (want 1..64 factors 1..100000 separated "
     "by blanks)"},
    {"hostname = \"bad_host!\";\n", "1: bad host name for 'hostname': \"bad_host!\""},
    {"spool = \"\";\n", "1: bad path for 'spool': \"\""},
    {"deliver = { relays = ( { address = \"r\"; senders = [\"a b@c\"]; } ); };\n",
     "1: bad sender in 'deliver.relays[0].senders': \"a b@c\""},
    {"deliver = {\n  queuecache = 5;\n  maxrecips = ;\n};\n", "3: syntax error"},
    {"a = 1;\na = 2;\n", "2: duplicate setting name"},
    {"spool = \"/x\";\n@include \"/etc/passwd\"\n", "2: @include is not supported"},
    {"deliver = { audit = {\n rot = \"daily\"; }; };\n", "1: missing key 'deliver.audit.path'"},
    {"deliver = { audit = { path = \"/x\";\n peers = \"10/8\"; }; };\n",
     "2: unknown key 'deliver.audit.peers'"},
    {"deliver = { event_log = \"/x/%Q%\"; };\n",
     "1: bad path template for 'deliver.event_log': \"/x/%Q%\" (tokens: %Y% %M% %D% %H% %DT% "
     "%DIRLOG% %SYSNAME% %%)"},
    {"smtpd = { transcript = { path = \"/x\"; rot = \"weekly\"; }; };\n",
     "1: bad rotation for 'smtpd.transcript.rot': \"weekly\" (want never, hourly, daily or "
     "monthly)"},
    {"deliver = { audit = 5; };\n",
     "1: wrong type for 'deliver.audit': want path template string or group, got integer"},
    {"deliver = {\n maxrecips = 5 \"x\"; };\n", "2: syntax error"},
    {"smtpd = { max_hops = 5,\n\n \"x\" };\n", "3: syntax error"},
    {"a = = 1;\nb \"x\";\n", "1: syntax error"},
    {"a = 1;\na = 2;\nb \"x\";\n", "2: duplicate setting name"},
    {"\"x\"", "1: syntax error"},
    {"deliver = { relays = ( { address = \"a\"; }\n \"x\" ); };\n", "2: syntax error"},
    {"deliver = { relays = ( { address = \"a\" \"b:0\"; } ); };\n", "1: bad relay address for "
     "'deliver.relays[0].address': \"ab:0\" (want host, host:port, [ip] or [ip]:port)"},
    {"a = ((((((((((((((((\n( 1 )))))))))))))))));\n",
     "2: lists and groups nested deeper than 16 levels"},
    {"smtpd = { tls = {\n min_protocol = \"TLSv1.1\"; }; };\n",
     "2: bad value for 'smtpd.tls.min_protocol': \"TLSv1.1\" (want TLSv1.2, TLSv1.3)"},
    {"smtpd = { tls = { min_protocol = 3; }; };\n",
     "1: wrong type for 'smtpd.tls.min_protocol': want string, got integer"},
    {"smtpd = { tls = { cert_file = \"\"; }; };\n", "1: bad path for 'smtpd.tls.cert_file': \"\""},
    {"smtpd = { tls = { cert_file = \"/c\"; session_timeout = \"8d\"; }; };\n",
     "1: 'smtpd.tls.session_timeout' out of range: 8d not in 0ms..7d"},
    {"smtpd = { tls = { cert_file = \"/c\"; handshake_timeout = \"0\"; }; };\n",
     "1: 'smtpd.tls.handshake_timeout' out of range: 0ms not in 1s..1h"},
    {"smtpd = { tls = { cert = \"/c\"; }; };\n", "1: unknown key 'smtpd.tls.cert'"},
    {"smtpd = {\n auth = { path = \"/p\"; }; };\n",
     "2: 'smtpd.auth' needs backend (\"file\", \"pam\", \"pipe\" or \"dovecot\")"},
    {"smtpd = { auth = {\n backend = \"ldap\"; }; };\n",
     "2: unknown backend for 'smtpd.auth.backend': \"ldap\" (want \"file\", \"pam\", \"pipe\" or "
     "\"dovecot\")"},
    {"smtpd = {\n auth = { backend = \"file\"; }; };\n",
     "2: 'smtpd.auth' with backend \"file\" needs path (the password file)"},
    {"smtpd = {\n auth = { backend = \"dovecot\"; }; };\n",
     "2: 'smtpd.auth' with backend \"dovecot\" needs path (the socket)"},
    {"smtpd = { auth = { backend = \"pam\";\n path = \"/p\"; }; };\n",
     "2: 'smtpd.auth.path' is not used by backend \"pam\""},
    {"smtpd = { auth = { backend = \"file\"; path = \"/p\";\n timeout = \"5s\"; }; };\n",
     "2: 'smtpd.auth.timeout' is not used by backend \"file\""},
    {"smtpd = { auth = { backend = \"pipe\";\n path = \"prog\"; }; };\n",
     "2: 'smtpd.auth.path' of backend \"pipe\" must be an absolute path"},
    {"smtpd = { auth = { backend = \"pam\"; workers = 17; }; };\n",
     "1: 'smtpd.auth.workers' out of range: 17 not in 1..16"},
    {"smtpd = { auth = { backend = \"pam\"; secret = 1; }; };\n",
     "1: unknown key 'smtpd.auth.secret'"},
    {"smtpd = { tls = {\n key_file = \"/k\"; }; };\n",
     "2: 'smtpd.tls.key_file' needs smtpd.tls.cert_file"},
    {"smtpd = { tls = {\n ecdsa_cert_file = \"/e\"; }; };\n",
     "2: 'smtpd.tls.ecdsa_cert_file' needs smtpd.tls.cert_file"},
    {"smtpd = { tls = { cert_file = \"/c\";\n ecdsa_key_file = \"/k\"; }; };\n",
     "2: 'smtpd.tls.ecdsa_key_file' needs smtpd.tls.ecdsa_cert_file"},
    {"smtpd = { tls = { cert_file = \"/c\";\n ask_cert = true; }; };\n",
     "2: 'smtpd.tls.ask_cert' needs smtpd.tls.ca_file"},
    {"smtpd = { tls = { cert_file = \"/c\";\n\n require_cert = true; }; };\n",
     "3: 'smtpd.tls.require_cert' needs smtpd.tls.ca_file"},
    {"smtpd = { tls = {\n ca_file = \"/ca\"; }; };\n",
     "2: 'smtpd.tls.ca_file' needs smtpd.tls.cert_file"},
    {"smtpd = {\n tls_listen = [ \"127.0.0.1:465\" ]; };\n",
     "2: 'smtpd.tls_listen' needs smtpd.tls.cert_file"},
    {"smtpd = { tls = { cert_file = \"/c\"; }; tls_listen = [ \"465\" ]; };\n",
     "1: bad listen address in 'smtpd.tls_listen': \"465\""},
    {"ctl = {\n listen = [ \"127.0.0.1:9925\" ]; };\n", "2: 'ctl.listen' needs ctl.authfile"},
    {"ctl = { listen = [ \"9925\" ]; authfile = \"/a\"; };\n",
     "1: bad listen address in 'ctl.listen': \"9925\""},
    {"ctl = { sockets = \"/s\"; };\n", "1: unknown key 'ctl.sockets'"},
    {"smtpd = {\n max_message_size = 4294977296; };\n",
     "2: integer out of range for libconfig (write 64-bit integers with an L suffix, e.g. "
     "1099511627776L)"},
};

/* The shape of the key table: sorted by group, names unique in their group, every group
 * row has rows below it and every group but the top a parent row, every row a one-line
 * description, every list a maximum, every number a default within its bounds. */
static void test_table_shape(void **state)
{
    (void)state;
    size_t parents[CONF_NGROUPS] = {0}, rows[CONF_NGROUPS] = {0};
    for (size_t i = 0; i < conf_nkeys; i++) {
        const struct conf_key *p = &conf_keys[i];
        const char *g = conf_group_names[p->group];
        if (i > 0 && p->group < conf_keys[i - 1].group)
            fail_msg("%s.%s: the table is not sorted by group", g, p->name);
        const struct conf_key *end, *q = conf_keys_group(p->group, &end);
        for (; q < p; q++)
            if (strcmp(q->name, p->name) == 0)
                fail_msg("%s.%s: the name twice in its group", g, p->name);
        if (p->doc == NULL || strlen(p->doc) < 10 || strchr(p->doc, '\t') || strchr(p->doc, '\n'))
            fail_msg("%s.%s: want a one-line description", g, p->name);
        if (p->kind >= CONF_UINT && p->kind <= CONF_ROT && (p->defv < p->min || p->defv > p->max))
            fail_msg("%s.%s: default %llu not in %llu..%llu", g, p->name,
                     (unsigned long long)p->defv, (unsigned long long)p->min,
                     (unsigned long long)p->max);
        if (((p->kind >= CONF_LISTEN && p->kind <= CONF_LINES) || p->kind >= CONF_REMOTENETS) &&
            p->max == 0)
            fail_msg("%s.%s: a list without a maximum", g, p->name);
        if (p->kind == CONF_GROUP || p->kind == CONF_LOGSPEC || p->kind >= CONF_REMOTENETS)
            parents[p->sub]++;
        if (p->kind == CONF_LOGSPEC) { /* its string form sets the LOGPATH row "path" */
            const struct conf_key *e, *r = conf_keys_group(p->sub, &e);
            while (r < e && r->kind != CONF_LOGPATH)
                r++;
            if (r == e || strcmp(r->name, "path") != 0)
                fail_msg("%s.%s: a log spec without its path row", g, p->name);
        }
        rows[p->group]++;
    }
    for (int g = 0; g < CONF_NGROUPS; g++)
        if (rows[g] == 0 || rows[g] > CONF_GROUP_ROWS || parents[g] != (g != CONF_G_TOP))
            fail_msg("group '%s': got %zu rows and %zu parents, want 1..%d rows and %d parent",
                     conf_group_names[g], rows[g], parents[g], CONF_GROUP_ROWS, g != CONF_G_TOP);
}

/* A value that would satisfy required row p of a list entry or log spec. */
static const char *required_value(const struct conf_key *p)
{
    switch (p->kind) {
    case CONF_RNET_IP: return "\"10.0.0.0/8\"";
    case CONF_RELAY_ADDR: return "\"relay\"";
    case CONF_SELECTORS: return "\"*\"";
    case CONF_RULE_ACTION: return "\"suspend\"";
    default: return "\"/x\"";
    }
}

/* The id of the group named by the first len bytes of name. */
static enum conf_gid group_id(const char *name, size_t len)
{
    for (int g = 0; g < CONF_NGROUPS; g++)
        if (strlen(conf_group_names[g]) == len && strncmp(conf_group_names[g], name, len) == 0)
            return (enum conf_gid)g;
    fail_msg("no group named %.*s", (int)len, name);
    return CONF_G_TOP;
}

/* Appends "key = value; " to buf for every required row of group gid but `except`. */
static void required_keys(char *buf, size_t cap, enum conf_gid gid, const char *except)
{
    const struct conf_key *end, *p = conf_keys_group(gid, &end);
    for (; p < end; p++)
        if ((p->flags & CONF_F_REQUIRED) && (!except || strcmp(p->name, except) != 0))
            snprintf(buf + strlen(buf), cap - strlen(buf), "%s = %s; ", p->name,
                     required_value(p));
}

/* Builds a file setting key `name` of group to value on line 2 (with the keys the group
 * requires), and the key as messages name it ("deliver.relays[0].address"). */
static void text_for(char *text, size_t textlen, char *shown, size_t shownlen,
                     enum conf_gid gid, const char *name, const char *value)
{
    const char *group = conf_group_names[gid];
    char open[512] = "", close[256] = "", tmp[256];
    size_t s = 0;
    shown[0] = '\0';
    for (const char *g = group; *g;) {
        size_t n = strcspn(g, ".");
        bool list = n > 2 && g[n - 1] == ']';
        snprintf(open + strlen(open), sizeof open - strlen(open), "%.*s = %s", (int)(list ? n - 2 : n),
                 g, list ? "( { " : "{ ");
        snprintf(tmp, sizeof tmp, "%s%s", list ? " } );" : " };", close);
        snprintf(close, sizeof close, "%s", tmp);
        s += snprintf(shown + s, shownlen - s, "%.*s%s.", (int)(list ? n - 2 : n), g, list ? "[0]" : "");
        g += n + (g[n] == '.');
        if (list && *g) /* an entry above the group: its own required keys */
            required_keys(open, sizeof open, group_id(group, (size_t)(g - 1 - group)), NULL);
    }
    required_keys(open, sizeof open, gid, name);
    snprintf(shown + s, shownlen - s, "%s", name);
    snprintf(text, textlen, "\n%s%s = %s;%s\n", open, name, value, close);
}

/* Loads text and fails unless the error is NAME ":2: " want. */
static void check_error_line2(const char *text, const char *want)
{
    char err[512], full[640];
    struct conf c;
    int rc = load_text(text, &c, err, sizeof err);
    snprintf(full, sizeof full, NAME ":2: %s", want);
    if (rc != -1 || strcmp(err, full) != 0)
        fail_msg("%s: got rc %d \"%s\", want \"%s\"", text, rc, err, full);
    conf_free(&c);
}

/* Every number row refuses min - 1 and max + 1 with "FILE:LINE: 'KEY' out of range: ...". */
static void test_bounds_every_row(void **state)
{
    (void)state;
    for (size_t i = 0; i < conf_nkeys; i++) {
        const struct conf_key *p = &conf_keys[i];
        if (p->kind != CONF_UINT && p->kind != CONF_U64 && p->kind != CONF_PORT &&
            p->kind != CONF_DURATION)
            continue;
        for (int side = 0; side < 2; side++) {
            char text[1024], shown[CONF_KEY_MAX], value[32], want[256], v[32], a[32], b[32];
            if (side == 0 && p->min == 0)
                snprintf(value, sizeof value, "-1");
            else
                snprintf(value, sizeof value, "%lluL",
                         (unsigned long long)(side == 0 ? p->min - 1 : p->max + 1));
            text_for(text, sizeof text, shown, sizeof shown, p->group, p->name, value);
            long long got = side == 0 && p->min == 0 ? -1 : (long long)(side ? p->max + 1 : p->min - 1);
            if (p->kind == CONF_DURATION)
                snprintf(want, sizeof want, "'%s' out of range: %s not in %s..%s", shown,
                         got < 0 ? "-1" : duration_to_text((uint64_t)got, v, sizeof v),
                         duration_to_text(p->min, a, sizeof a), duration_to_text(p->max, b, sizeof b));
            else
                snprintf(want, sizeof want, "'%s' out of range: %lld not in %llu..%llu", shown, got,
                         (unsigned long long)p->min, (unsigned long long)p->max);
            check_error_line2(text, want);
        }
    }
}

/* Every group (the top level, groups, log specs, list entries) refuses an unknown key. */
static void test_unknown_key_every_group(void **state)
{
    (void)state;
    for (size_t i = 0; i < conf_nkeys; i++) {
        char text[1024], shown[CONF_KEY_MAX], want[256];
        if (i > 0 && conf_keys[i].group == conf_keys[i - 1].group)
            continue;
        text_for(text, sizeof text, shown, sizeof shown, conf_keys[i].group, "bogus_key", "1");
        snprintf(want, sizeof want, "unknown key '%s'", shown);
        check_error_line2(text, want);
    }
}

/* docs/config.md names every key (as `name`). */
static void test_docs_name_every_key(void **state)
{
    (void)state;
    size_t len;
    char *doc = slurp("docs/config.md", &len), want[96];
    if (doc == NULL)
        fail_msg("docs/config.md: missing (run from the repository root)");
    for (size_t i = 0; i < conf_nkeys; i++) {
        snprintf(want, sizeof want, "`%s`", conf_keys[i].name);
        if (strstr(doc, want) == NULL)
            fail_msg("docs/config.md: got no %s, want the key documented", want);
    }
    free(doc);
}

/* `sluice config-keys` prints the golden file tests/golden/config-keys.txt: one line per key,
 * five tab-separated fields. */
static void test_dump_golden(void **state)
{
    (void)state;
    char *got = NULL;
    size_t len = 0, glen = 0, lines = 0;
    FILE *f = open_memstream(&got, &len);
    assert_non_null(f);
    conf_keys_dump(f);
    fclose(f);
    if (getenv("UPDATE_GOLDEN")) {
        FILE *g = fopen(GOLDEN, "w");
        assert_non_null(g);
        fwrite(got, 1, len, g);
        fclose(g);
    }
    char *want = slurp(GOLDEN, &glen);
    if (want == NULL)
        fail_msg(GOLDEN ": missing (run with UPDATE_GOLDEN=1 from the repository root)");
    if (glen != len || memcmp(got, want, len) != 0)
        fail_msg("got %zu bytes:\n%s\nwant %zu bytes (" GOLDEN ")", len, got, glen);
    for (char *line = got, *nl; (nl = strchr(line, '\n')) != NULL; line = nl + 1, lines++) {
        size_t tabs = 0;
        for (char *c = line; c < nl; c++)
            tabs += *c == '\t';
        if (tabs != 4)
            fail_msg("line %zu: got %zu tabs, want 4: %.*s", lines + 1, tabs, (int)(nl - line), line);
    }
    if (lines < conf_nkeys)
        fail_msg("got %zu lines, want at least one per row (%zu)", lines, conf_nkeys);
    free(got);
    free(want);
}

/* Log specs: a template string, or a group; rot and flush default per spec; peers. */
static void test_logspecs(void **state)
{
    (void)state;
    static const char text[] =
        "smtpd = { transcript = \"%DIRLOG%transcripts/smtpd-%DT%.log\"; };\n"
        "deliver = { audit = { path = \"/l/a-%DT%.log\"; rot = \"Hourly\"; flush = \"1s\"; };\n"
        "  client = { transcript = { path = \"/t.log\"; peers = \"10/8, Example.NET\"; }; }; };\n";
    char err[512];
    struct conf c;
    if (load_text(text, &c, err, sizeof err) != 0)
        fail_msg("got error \"%s\", want success", err);
    assert_string_equal(c.smtpd.transcript.path, "%DIRLOG%transcripts/smtpd-%DT%.log");
    assert_int_equal(c.smtpd.transcript.rot, LOGROT_DAILY);
    assert_int_equal(c.smtpd.transcript.flush, 200);
    assert_string_equal(c.deliver.audit.path, "/l/a-%DT%.log");
    assert_int_equal(c.deliver.audit.rot, LOGROT_HOURLY);
    assert_int_equal(c.deliver.audit.flush, 1000);
    assert_int_equal(c.deliver.transcript.nnets, 1);
    assert_int_equal(c.deliver.transcript.ndomains, 1);
    assert_string_equal(c.deliver.transcript.domains[0], "example.net");
    assert_null(c.deliver.event_log.path);
    conf_free(&c);
}

/* A NUL byte anywhere is refused with its line (libconfig itself mishandles it). */
static void test_nul_byte(void **state)
{
    (void)state;
    static const char text[] = "spool = \"/x\";\nhostname = \"a\0b\";\n";
    char err[512], want[640];
    struct conf c;
    snprintf(conf_tmp, sizeof conf_tmp, "/tmp/sluice-test-conf-XXXXXX");
    int fd = mkstemp(conf_tmp);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
    close(fd);
    conf_init(&c);
    int rc = conf_load(conf_tmp, &c, err, sizeof err);
    unlink(conf_tmp);
    snprintf(want, sizeof want, "%s:2: NUL byte in file", conf_tmp);
    if (rc != -1 || strcmp(err, want) != 0)
        fail_msg("got rc %d \"%s\", want \"%s\"", rc, err, want);
    conf_free(&c);
}

/* TLS and AUTH keys: anonssl defaults and overrides (remotenets inherit the base), a
 * relay's ssl and auth blocks with their defaults. */
static void test_tls_auth_keys(void **state)
{
    (void)state;
    char err[512];
    struct conf c;
    int rc = load_text(
        "deliver = { client = { anonssl = { mandatory = true; min_protocol = \"TLSv1.3\"; };\n"
        "  remotenets = ( { ip = \"10/8\"; anonssl = { latent = false; mandatory = false; }; },\n"
        "                 { ip = \"mx.b\"; maxpipeline = 2; } ); };\n"
        " relays = ( { address = \"r1.example:587\"; ssl = { ca_file = \"/ca.pem\"; };\n"
        "   auth = { username = \"u1\"; password = \"p w\"; initrsp = false; }; },\n"
        "  { address = \"[192.0.2.1]:465\"; ssl = { mode = \"implicit\"; verify = false;\n"
        "     verify_name = \"relay.example\"; min_protocol = \"tlsv1.3\";\n"
        "     cert_file = \"/c.pem\"; key_file = \"/k.pem\"; };\n"
        "   auth = { override = \"external\"; }; },\n"
        "  { address = \"r3\"; ssl = { mode = \"none\"; };\n"
        "   auth = { enabled = false; username = \"x\"; } },\n"
        "  { address = \"r4\"; } ); };\n",
        &c, err, sizeof err);
    if (rc != 0)
        fail_msg("got error \"%s\", want success", err);
    const struct anonssl *a = &c.deliver.client.anonssl;
    assert_true(a->latent && a->mandatory && a->min_tls == 3);
    a = &c.deliver.remotenets[0].client.anonssl;
    assert_true(!a->latent && !a->mandatory && a->min_tls == 3);
    a = &c.deliver.remotenets[1].client.anonssl; /* inherited */
    assert_true(a->latent && a->mandatory && a->min_tls == 3);
    const struct relay *r = &c.deliver.relays[0];
    assert_int_equal(r->ssl.mode, RELAY_TLS_STARTTLS);
    assert_true(r->ssl.verify);
    assert_string_equal(r->ssl.ca_file, "/ca.pem");
    assert_null(r->ssl.verify_name);
    assert_int_equal(r->ssl.min_tls, 2);
    assert_true(r->auth.enabled && !r->auth.initrsp && !r->auth.external && !r->auth.allow_cleartext);
    assert_string_equal(r->auth.username, "u1");
    assert_string_equal(r->auth.password, "p w");
    r = &c.deliver.relays[1];
    assert_int_equal(r->ssl.mode, RELAY_TLS_IMPLICIT);
    assert_false(r->ssl.verify);
    assert_string_equal(r->ssl.verify_name, "relay.example");
    assert_int_equal(r->ssl.min_tls, 3);
    assert_string_equal(r->ssl.cert_file, "/c.pem");
    assert_string_equal(r->ssl.key_file, "/k.pem");
    assert_true(r->auth.enabled && r->auth.external && r->auth.initrsp);
    assert_null(r->auth.password);
    r = &c.deliver.relays[2];
    assert_int_equal(r->ssl.mode, RELAY_TLS_NONE);
    assert_false(r->auth.enabled);
    r = &c.deliver.relays[3];
    assert_int_equal(r->ssl.mode, RELAY_TLS_DEFAULT);
    assert_false(r->auth.enabled);
    conf_free(&c);
}

struct pwfile_case {
    const char *content;
    mode_t mode;
    const char *want_password; /* NULL: an error containing want_error */
    const char *want_error;
};

static const struct pwfile_case pwfile_cases[] = {
    {"s3cret pass\n", 0600, "s3cret pass", NULL},
    {"first\r\nsecond\n", 0400, "first", NULL},
    {"no newline", 0600, "no newline", NULL},
    {"s3cret\n", 0640, NULL, "is accessible by group or others (chmod 600)"},
    {"s3cret\n", 0604, NULL, "is accessible by group or others (chmod 600)"},
    {"\n", 0600, NULL, "want one line of 1..255 bytes without control bytes"},
    {"", 0600, NULL, "want one line of 1..255 bytes without control bytes"},
    {"bad\tbyte\n", 0600, NULL, "want one line of 1..255 bytes without control bytes"},
};

/* password_file: the first line, only from a file nobody else may read; the error never
 * shows the file's content. */
static void test_password_file(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof pwfile_cases / sizeof pwfile_cases[0]; i++) {
        const struct pwfile_case *pc = &pwfile_cases[i];
        char pw[64] = "/tmp/sluice-test-pw-XXXXXX", text[512], err[512];
        int fd = mkstemp(pw);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, pc->content, strlen(pc->content)), (ssize_t)strlen(pc->content));
        assert_int_equal(fchmod(fd, pc->mode), 0);
        close(fd);
        snprintf(text, sizeof text,
                 "deliver = { relays = ( { address = \"r\"; auth = { username = \"u\"; "
                 "password_file = \"%s\"; }; } ); };\n", pw);
        struct conf c;
        int rc = load_text(text, &c, err, sizeof err);
        unlink(pw);
        if (pc->want_password && (rc != 0 || strcmp(c.deliver.relays[0].auth.password,
                                                    pc->want_password) != 0))
            fail_msg("case %zu: got rc %d (%s), want password \"%s\"", i, rc, err,
                     pc->want_password);
        if (!pc->want_password && (rc == 0 || !strstr(err, pc->want_error) ||
                                   strstr(err, "s3cret") || strstr(err, "byte\t")))
            fail_msg("case %zu: got rc %d \"%s\", want an error with \"%s\"", i, rc, err,
                     pc->want_error);
        conf_free(&c);
    }
}

/* Each broken file gives exactly "FILE:LINE: message". */
static void test_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof err_cases / sizeof err_cases[0]; i++) {
        char err[512], want[640];
        struct conf c;
        int rc = load_text(err_cases[i].text, &c, err, sizeof err);
        snprintf(want, sizeof want, NAME ":%s", err_cases[i].want);
        if (rc != -1 || strcmp(err, want) != 0)
            fail_msg("case %zu: got rc %d \"%s\", want \"%s\"", i, rc, err, want);
        conf_free(&c);
    }
}

/* A missing file is "FILE:0: cannot open: ..."; a NULL err buffer is allowed. */
static void test_missing_file(void **state)
{
    (void)state;
    char err[512];
    struct conf c;
    conf_init(&c);
    assert_int_equal(conf_load("/nonexistent/sluice.conf", &c, err, sizeof err), -1);
    assert_string_equal(err, "/nonexistent/sluice.conf:0: cannot open: No such file or directory");
    assert_int_equal(conf_load("/nonexistent/sluice.conf", &c, NULL, 0), -1);
    conf_free(&c);
}

struct retries_case {
    const char *in;
    int rc;
    size_t n;
    unsigned last;
};

static const struct retries_case retries_cases[] = {
    {"1 1 2 3 5 8 13 21 34", 0, 9, 34},
    {"12", 0, 1, 12},
    {"\t 7  9 ", 0, 2, 9},
    {"100000", 0, 1, 100000},
    {"100001", -1, 0, 0},
    {"0", -1, 0, 0},
    {"", -1, 0, 0},
    {"   ", -1, 0, 0},
    {"1,2", -1, 0, 0},
    {"-1", -1, 0, 0},
    {"1 2x", -1, 0, 0},
    {"99999999999999999999", -1, 0, 0},
    {"1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 "
     "1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 5",
     0, 64, 5},
    {"1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 "
     "1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1",
     -1, 0, 0},
};

/* Each retries string: rc, count and last factor as wanted. */
static void test_retries_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof retries_cases / sizeof retries_cases[0]; i++) {
        const struct retries_case *rc = &retries_cases[i];
        unsigned *arr = NULL;
        size_t n = 0;
        int got = conf_retries_parse(rc->in, &arr, &n);
        if (got != rc->rc)
            fail_msg("\"%s\": got rc %d, want %d", rc->in, got, rc->rc);
        if (got == 0 && (n != rc->n || arr[n - 1] != rc->last))
            fail_msg("\"%s\": got %zu factors ending %u, want %zu ending %u", rc->in, n,
                     arr[n - 1], rc->n, rc->last);
        free(arr);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_shape),   cmocka_unit_test(test_bounds_every_row),
        cmocka_unit_test(test_unknown_key_every_group),
        cmocka_unit_test(test_docs_name_every_key),
        cmocka_unit_test(test_logspecs),     cmocka_unit_test(test_dump_golden),
        cmocka_unit_test(test_defaults),      cmocka_unit_test(test_shipped_file),
        cmocka_unit_test(test_full),          cmocka_unit_test(test_client_for),
        cmocka_unit_test(test_relay_forms),
        cmocka_unit_test(test_relay_host_list),   cmocka_unit_test(test_bool_forms),
        cmocka_unit_test(test_errors),        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_nul_byte),
        cmocka_unit_test(test_retries_table), cmocka_unit_test(test_tls_auth_keys),
        cmocka_unit_test(test_password_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
