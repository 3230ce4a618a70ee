/* Unit tests: relay selection (seed 000 §4.5.4 precedence) and peer lists (route/route.c),
 * the destinations of a relay with several hosts (route/spread.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "conf/conf.h"
#include "route/route.h"
#include "route/spread.h"
#include "proto/peer.h"

static char *dd1[] = {"a.test", "b.test"};
static char *dd3[] = {"c.test"};
static char *snd2[] = {"vip.test", "boss@corp.test"};

/* Relays: 0 = default relay, 1 = destdomains a/b, 2 = senders, 3 = sendernets + destdomain c. */
static void route_fixture(struct conf *c, struct relay *rl, struct cidr *net)
{
    memset(c, 0, sizeof *c);
    memset(rl, 0, 4 * sizeof *rl);
    rl[0].address = rl[0].host = "smarthost.test";
    rl[1].address = rl[1].host = "r1.test";
    rl[1].destdomains = dd1;
    rl[1].ndestdomains = 2;
    rl[2].address = rl[2].host = "r2.test";
    rl[2].senders = snd2;
    rl[2].nsenders = 2;
    assert_int_equal(cidr_parse("192.168/16", 10, net), 0);
    rl[3].address = rl[3].host = "r3.test";
    rl[3].sendernets = net;
    rl[3].nsendernets = 1;
    rl[3].destdomains = dd3;
    rl[3].ndestdomains = 1;
    c->deliver.relays = rl;
    c->deliver.nrelays = 4;
}

/* Sender rules beat destination rules; the default relay catches the rest. */
static void test_relay_select(void **state)
{
    (void)state;
    struct conf c;
    struct relay rl[4];
    struct cidr net;
    route_fixture(&c, rl, &net);
    struct { const char *sender, *ip, *domain; int want; } cases[] = {
        {"x@y.test", "10.0.0.1", "a.test", 1},
        {"x@y.test", "10.0.0.1", "B.TEST", 1},
        {"x@vip.test", "10.0.0.1", "a.test", 2},     /* sender domain beats destdomains */
        {"boss@corp.test", "", "b.test", 2},         /* whole address */
        {"other@corp.test", "", "b.test", 1},
        {"x@y.test", "192.168.4.5", "a.test", 3},   /* sendernets beats destdomains */
        {"x@y.test", "10.0.0.1", "c.test", 3},
        {"x@y.test", "10.0.0.1", "elsewhere.test", 0},
        {"", "10.0.0.1", "elsewhere.test", 0},      /* null sender */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int got = route_relay_select(&c, cases[i].sender, cases[i].ip, cases[i].domain);
        if (got != cases[i].want)
            fail_msg("case %zu: got %d, want %d", i, got, cases[i].want);
    }
    c.deliver.nrelays = 0;
    assert_int_equal(route_relay_select(&c, "x@y.test", "", "a.test"), -1);
    c.deliver.relays = &rl[1]; /* no default relay: MX for the rest */
    c.deliver.nrelays = 1;
    assert_int_equal(route_relay_select(&c, "x@y.test", "", "z.test"), -1);
}

/* destdomains patterns (FML's CF example 2): GW mlrelay0 for or.jp first, then NGW mlrelay
 * for everything but co.jp; co.jp goes to its MX. Relays in file order, first match wins. */
static void test_relay_select_patterns(void **state)
{
    (void)state;
    static char *gw[] = {"or.jp", ".or.jp"};
    static char *ngw[] = {"!co.jp", "!.co.jp", "*"};
    static char *mixed[] = {"!sub.example.com", "*.example.com"};
    struct relay rl[3];
    memset(rl, 0, sizeof rl);
    rl[0].address = rl[0].host = "mlrelay0.domain0";
    rl[0].destdomains = gw;
    rl[0].ndestdomains = 2;
    rl[1].address = rl[1].host = "mlrelay.domain";
    rl[1].destdomains = ngw;
    rl[1].ndestdomains = 3;
    rl[2].address = rl[2].host = "ex.relay";
    rl[2].destdomains = mixed;
    rl[2].ndestdomains = 2;
    struct conf c;
    memset(&c, 0, sizeof c);
    c.deliver.relays = rl;
    c.deliver.nrelays = 3;
    struct { const char *domain; int want; } cases[] = {
        {"or.jp", 0}, {"foo.or.jp", 0}, {"co.jp", -1}, {"foo.co.jp", -1}, {"ac.jp", 1},
        {"phys.titech.ac.jp", 1}, {"example.net", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int got = route_relay_select(&c, "x@y.test", "", cases[i].domain);
        if (got != cases[i].want)
            fail_msg("%s: got %d, want %d", cases[i].domain, got, cases[i].want);
    }
    c.deliver.relays = &rl[2]; /* !sub.example.com first: it goes to its MX */
    c.deliver.nrelays = 1;
    struct { const char *domain; int want; } ex[] = {
        {"sub.example.com", -1}, {"www.example.com", 0}, {"a.sub.example.com", 0},
        {"example.com", -1},
    };
    for (size_t i = 0; i < sizeof ex / sizeof ex[0]; i++) {
        int got = route_relay_select(&c, "x@y.test", "", ex[i].domain);
        if (got != ex[i].want)
            fail_msg("%s: got %d, want %d", ex[i].domain, got, ex[i].want);
    }
}

/* Peers follow preference order, every address, with the destination's port. */
static void test_peers(void **state)
{
    (void)state;
    struct sockaddr_storage a[3];
    memset(a, 0, sizeof a);
    for (int i = 0; i < 3; i++) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&a[i];
        sin->sin_family = AF_INET;
        sin->sin_addr.s_addr = htonl(0x7f000002 + (uint32_t)i);
    }
    struct mx_host h[2] = {{"mx2.test", 20, &a[2], 1, 0}, {"mx1.test", 10, &a[0], 2, 0}};
    struct relay rl = {.address = "relay"};
    struct dest d = {.key = "k", .hosts = h, .nhosts = 2, .port = 2525, .relay = &rl};
    struct peer p[8];
    size_t n = route_peers(&d, p, 8);
    assert_int_equal(n, 3);
    assert_string_equal(p[0].name, "mx1.test");
    assert_string_equal(p[1].name, "mx1.test");
    assert_string_equal(p[2].name, "mx2.test");
    assert_int_equal(ntohs(((struct sockaddr_in *)&p[2].sa)->sin_port), 2525);
    assert_int_equal(ntohl(((struct sockaddr_in *)&p[2].sa)->sin_addr.s_addr), 0x7f000004);
    for (size_t i = 0; i < n; i++) /* the relay's ssl and auth reach the client */
        assert_ptr_equal(p[i].relay, &rl);
    assert_int_equal(route_peers(&d, p, 2), 2);
    /* the destination's own order is untouched */
    assert_string_equal(h[0].name, "mx2.test");
}

struct spread_case {
    unsigned spread, order;
    size_t nhosts;      /* resolved hosts given (of h1 h2 h3 h4) */
    size_t want_n;      /* destinations */
    const char *want;   /* per destination: its key, its hosts with their prefs, then
                           "> " and its backups (indices), ";" between */
};

static const struct spread_case spread_cases[] = {
    {RELAY_SPREAD_FAILOVER, RELAY_ORDER_LISTED, 4, 1, "relay:R h1=0 h2=1 h3=2 h4=3 >"},
    {RELAY_SPREAD_FAILOVER, RELAY_ORDER_RANDOM, 4, 1, "relay:R h1=0 h2=0 h3=0 h4=0 >"},
    /* parallel: each lane its own host alone, the others its backups, following it */
    {RELAY_SPREAD_PARALLEL, RELAY_ORDER_LISTED, 4, 4,
     "relay:R#h1 h1=0 > 1 2 3;relay:R#h2 h2=0 > 2 3 0;relay:R#h3 h3=0 > 3 0 1;"
     "relay:R#h4 h4=0 > 0 1 2"},
    {RELAY_SPREAD_PARALLEL, RELAY_ORDER_RANDOM, 3, 3,
     "relay:R#h1 h1=0 > 1 2;relay:R#h2 h2=0 > 2 0;relay:R#h3 h3=0 > 0 1"},
    {RELAY_SPREAD_PARALLEL, RELAY_ORDER_LISTED, 1, 1, "relay:R h1=0 >"}, /* one: one dest */
    {RELAY_SPREAD_PARALLEL, RELAY_ORDER_LISTED, 0, 0, ""},
};

/* Failover gives one destination with every host; parallel one per host with that host
 * alone (its connections count against it only) and the others as backups. */
static void test_spread_plan(void **state)
{
    (void)state;
    struct sockaddr_storage a[4];
    memset(a, 0, sizeof a);
    struct mx_host h[4] = {{"h1", 0, &a[0], 1, 25}, {"h2", 1, &a[1], 1, 2526},
                           {"h3", 2, &a[2], 1, 25}, {"h4", 3, &a[3], 1, 25}};
    for (size_t i = 0; i < sizeof spread_cases / sizeof spread_cases[0]; i++) {
        const struct spread_case *sc = &spread_cases[i];
        struct relay rl = {.address = "R", .spread = sc->spread, .order = sc->order};
        struct spread_dest out[RELAY_HOSTS_MAX];
        size_t n = spread_plan(&rl, h, sc->nhosts, "relay:R", out);
        char got[512] = "";
        for (size_t k = 0; k < n; k++) {
            size_t l = strlen(got);
            snprintf(got + l, sizeof got - l, "%s%s", k ? ";" : "", out[k].key);
            for (size_t j = 0; j < out[k].nhosts; j++) {
                const struct mx_host *src = &h[n > 1 && out[k].nhosts == 1 ? k : j];
                l = strlen(got);
                snprintf(got + l, sizeof got - l, " %s=%u", out[k].hosts[j].name,
                         out[k].hosts[j].pref);
                if (strcmp(out[k].hosts[j].name, src->name) != 0 ||
                    out[k].hosts[j].port != src->port || out[k].hosts[j].addrs == src->addrs)
                    fail_msg("case %zu dest %zu host %zu: got %s port %u (copy %d), want %s port %u",
                             i, k, j, out[k].hosts[j].name, out[k].hosts[j].port,
                             out[k].hosts[j].addrs != src->addrs, src->name, src->port);
                free(out[k].hosts[j].name);
                free(out[k].hosts[j].addrs);
            }
            l = strlen(got);
            snprintf(got + l, sizeof got - l, " >");
            for (size_t j = 0; j < out[k].nbackups; j++) {
                l = strlen(got);
                snprintf(got + l, sizeof got - l, " %zu", out[k].backup[j]);
            }
            free(out[k].hosts);
            free(out[k].key);
        }
        if (n != sc->want_n || strcmp(got, sc->want) != 0)
            fail_msg("case %zu: got %zu \"%s\", want %zu \"%s\"", i, n, got, sc->want_n, sc->want);
    }
}

/* Peers of a relay host carry the host's own port, not the destination's. */
static void test_peers_host_port(void **state)
{
    (void)state;
    struct sockaddr_storage a[2];
    memset(a, 0, sizeof a);
    for (int i = 0; i < 2; i++)
        ((struct sockaddr_in *)&a[i])->sin_family = AF_INET;
    struct mx_host h[2] = {{"h1", 0, &a[0], 1, 2601}, {"h2", 1, &a[1], 1, 0}};
    struct dest d = {.key = "k", .hosts = h, .nhosts = 2, .port = 25};
    struct peer p[4];
    assert_int_equal(route_peers(&d, p, 4), 2);
    assert_int_equal(ntohs(((struct sockaddr_in *)&p[0].sa)->sin_port), 2601);
    assert_int_equal(ntohs(((struct sockaddr_in *)&p[1].sa)->sin_port), 25);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_relay_select),
        cmocka_unit_test(test_relay_select_patterns),
        cmocka_unit_test(test_peers),
        cmocka_unit_test(test_spread_plan),
        cmocka_unit_test(test_peers_host_port),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
