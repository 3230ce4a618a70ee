/* Unit tests for dns/dns.c against a real authoritative server: nsd on 127.0.0.1 (a free
 * port, a temporary directory, run in the foreground as a child) serves the zones below,
 * and sluice's libunbound stub forwards to it. Must run inside a private network namespace
 * (scripts/run-unit). Every test is skipped when /usr/sbin/nsd is not installed. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "conf/conf.h"
#include "core/qid.h"
#include "dns/dns.h"

#ifndef NSD_PATH
#define NSD_PATH "/usr/sbin/nsd"
#endif

static struct {
    bool installed, up;
    pid_t pid;
    uint16_t port;
    char dir[64];
} nsd;

/* The zones nsd serves: name, then the zone file body (origin = name). */
static const char *const test_zones[][2] = {
    {"ok.test", "@ MX 10 mx1\n@ MX 10 mx2\n@ MX 20 MX3.OK.TEST.\n"
                "mx1 A 192.0.2.1\nmx1 AAAA 2001:db8::1\nmx2 A 192.0.2.2\nmx3 A 192.0.2.3\n"
                "alias CNAME ok.test.\nwide MX 10 wide-host\n"
                "loop A 127.0.0.1\nliar A 192.0.2.99\nz A 127.0.0.4\nmulti A 127.0.0.4\n"
                "second A 127.0.0.5\nmixed A 127.0.0.8\nlan A 10.0.0.1\nbad A 127.0.0.6\n"},
    {"nullmx.test", "@ MX 0 .\n"},
    {"nomx.test", "@ A 192.0.2.10\nbare TXT \"no mail here\"\n"},
    {"noaddr.test", "@ MX 10 nothing.noaddr.test.\n@ MX 20 txtonly\ntxtonly TXT \"x\"\n"},
    /* reverse zones: loopback and RFC 1918 / RFC 3849 blocks are built-in local zones of
     * libunbound, which dns.c turns off so these answers are seen */
    {"0.0.127.in-addr.arpa", "1 PTR loop.ok.test.\n2 PTR liar.ok.test.\n3 PTR nowhere.ok.test.\n"
                             "4 PTR z.ok.test.\n4 PTR multi.ok.test.\n"
                             "5 PTR liar.ok.test.\n5 PTR second.ok.test.\n"
                             "6 PTR b\\@d.ok.test.\n8 PTR MiXeD.OK.test.\n9 TXT \"no ptr\"\n"},
    {"10.in-addr.arpa", "1.0.0 PTR lan.ok.test.\n"},
    {"8.b.d.0.1.0.0.2.ip6.arpa", "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0 PTR mx1.ok.test.\n"},
};

/* Writes a file in the nsd directory from a format. */
__attribute__((format(printf, 2, 3))) static void test_write(const char *file, const char *fmt, ...)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", nsd.dir, file);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    assert_int_equal(fclose(f), 0);
}

/* Appends the generated records of ok.test: 40 MX hosts, and one host with 20 A records. */
static void test_zone_generated(FILE *f)
{
    for (int i = 1; i <= 40; i++)
        fprintf(f, "many MX %d h%d.many\nh%d.many A 192.0.2.%d\n", i, i, i, 100 + i);
    for (int i = 1; i <= 20; i++)
        fprintf(f, "wide-host A 198.51.100.%d\n", i);
}

/* Writes nsd.conf and every zone file into nsd.dir. */
static void test_nsd_files(void)
{
    char conf[4096];
    int n = snprintf(conf, sizeof conf,
                     "server:\n  ip-address: 127.0.0.1\n  port: %u\n  zonesdir: \"%s\"\n"
                     "  pidfile: \"%s/nsd.pid\"\n  database: \"\"\n  username: \"\"\n"
                     "  chroot: \"\"\n  xfrdfile: \"%s/xfrd.state\"\n"
                     "  zonelistfile: \"%s/zone.list\"\n  logfile: \"%s/nsd.log\"\n"
                     "  server-count: 1\n  verbosity: 1\n",
                     nsd.port, nsd.dir, nsd.dir, nsd.dir, nsd.dir, nsd.dir);
    for (size_t i = 0; i < sizeof test_zones / sizeof test_zones[0]; i++) {
        const char *z = test_zones[i][0];
        n += snprintf(conf + n, sizeof conf - (size_t)n,
                      "zone:\n  name: \"%s\"\n  zonefile: \"%s.zone\"\n", z, z);
        char file[64], path[128];
        snprintf(file, sizeof file, "%s.zone", z);
        test_write(file,
                   "$TTL 300\n@ SOA ns.%s. hostmaster.%s. 1 3600 600 86400 60\n"
                   "@ NS ns.%s.\nns.%s. A 127.0.0.1\n%s",
                   z, z, z, z, test_zones[i][1]);
        if (strcmp(z, "ok.test") == 0) {
            snprintf(path, sizeof path, "%s/%s", nsd.dir, file);
            FILE *f = fopen(path, "a");
            assert_non_null(f);
            test_zone_generated(f);
            fclose(f);
        }
    }
    assert_true(n > 0 && (size_t)n < sizeof conf);
    test_write("nsd.conf", "%s", conf);
}

/* A loopback port that is free for both UDP and TCP right now. */
static uint16_t test_free_port(void)
{
    for (int tries = 0; tries < 50; tries++) {
        struct sockaddr_in sin = {.sin_family = AF_INET};
        sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t sl = sizeof sin;
        int u = socket(AF_INET, SOCK_DGRAM, 0), t = socket(AF_INET, SOCK_STREAM, 0);
        uint16_t port = 0;
        if (u >= 0 && t >= 0 && bind(u, (struct sockaddr *)&sin, sizeof sin) == 0 &&
            getsockname(u, (struct sockaddr *)&sin, &sl) == 0 &&
            bind(t, (struct sockaddr *)&sin, sizeof sin) == 0)
            port = ntohs(sin.sin_port);
        close(u);
        close(t);
        if (port)
            return port;
    }
    return 0;
}

/* Sends one SOA query for ok.test to nsd and waits 20 ms for a NOERROR answer. */
static bool test_nsd_answers(void)
{
    static const uint8_t q[] = {0x51, 0xce, 0, 0,   0,   1,   0,   0, 0, 0, 0, 0, 2,
                                'o',  'k',  4, 't', 'e', 's', 't', 0, 0, 6, 0, 1};
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(nsd.port)};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    bool ok = false;
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sin, sizeof sin) == 0 &&
        send(fd, q, sizeof q, 0) == (ssize_t)sizeof q) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        uint8_t buf[512];
        ssize_t n;
        if (poll(&p, 1, 20) == 1 && (n = recv(fd, buf, sizeof buf, 0)) >= 12)
            ok = buf[0] == 0x51 && buf[1] == 0xce && (buf[2] & 0x80) && (buf[3] & 0x0f) == 0;
    }
    if (fd >= 0)
        close(fd);
    if (!ok)
        usleep(20000);
    return ok;
}

/* Forks nsd -d -c nsd.conf with output into nsd.out. */
static pid_t test_nsd_spawn(void)
{
    char conf[128], out[128];
    snprintf(conf, sizeof conf, "%s/nsd.conf", nsd.dir);
    snprintf(out, sizeof out, "%s/nsd.out", nsd.dir);
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a crashed test */
        int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execl(NSD_PATH, "nsd", "-d", "-c", conf, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* Group setup: temp dir, config, nsd started and answering (or not installed: skip). */
static int test_nsd_start(void **state)
{
    (void)state;
    nsd.installed = access(NSD_PATH, X_OK) == 0;
    if (!nsd.installed)
        return 0;
    snprintf(nsd.dir, sizeof nsd.dir, "/tmp/sluice-test-dns-XXXXXX");
    if (!mkdtemp(nsd.dir) || !(nsd.port = test_free_port()))
        return 0;
    test_nsd_files();
    nsd.pid = test_nsd_spawn();
    if (nsd.pid < 0)
        return 0;
    for (int i = 0; i < 500 && !nsd.up; i++) {
        if (waitpid(nsd.pid, NULL, WNOHANG) == nsd.pid) {
            nsd.pid = 0;
            fprintf(stderr, "nsd exited early; see %s/nsd.out and nsd.log\n", nsd.dir);
            return 0;
        }
        nsd.up = test_nsd_answers();
    }
    return 0;
}

/* Group teardown: stops nsd and removes its files. */
static int test_nsd_stop(void **state)
{
    (void)state;
    if (nsd.pid > 0) {
        kill(nsd.pid, SIGTERM);
        int i;
        for (i = 0; i < 150 && waitpid(nsd.pid, NULL, WNOHANG) != nsd.pid; i++)
            usleep(20000);
        if (i == 150) {
            kill(nsd.pid, SIGKILL);
            waitpid(nsd.pid, NULL, 0);
        }
    }
    if (nsd.dir[0]) {
        static const char *const files[] = {
            "nsd.conf", "nsd.pid",      "xfrd.state",       "zone.list",      "nsd.log",
            "nsd.out",  "ok.test.zone", "nullmx.test.zone", "nomx.test.zone", "noaddr.test.zone",
            "0.0.127.in-addr.arpa.zone", "10.in-addr.arpa.zone", "8.b.d.0.1.0.0.2.ip6.arpa.zone"};
        char path[128];
        for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
            snprintf(path, sizeof path, "%s/%s", nsd.dir, files[i]);
            unlink(path);
        }
        rmdir(nsd.dir);
    }
    return 0;
}

/* Per-test state: a loop and a resolver forwarding to a port. */
struct fixture {
    struct event_base *base;
    struct dns *dns;
    struct conf conf;
    char fwd[32];
    char *fwds[1];
};

/* Builds a fixture that forwards to 127.0.0.1@port. */
static struct fixture *test_fixture(uint16_t port)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->base = event_base_new();
    assert_non_null(f->base);
    snprintf(f->fwd, sizeof f->fwd, "127.0.0.1@%u", port);
    f->fwds[0] = f->fwd;
    f->conf.resolver.forwarders = f->fwds;
    f->conf.resolver.nforwarders = 1;
    char err[256] = "";
    f->dns = dns_create(f->base, &f->conf, err, sizeof err);
    if (!f->dns)
        fail_msg("dns_create: got NULL (%s), want a resolver", err);
    return f;
}

/* Setup of the tests that need nsd. */
static int test_setup(void **state)
{
    *state = NULL;
    if (nsd.up)
        *state = test_fixture(nsd.port);
    return 0;
}

/* Teardown: frees the resolver and the loop. */
static int test_teardown(void **state)
{
    struct fixture *f = *state;
    if (f) {
        dns_free(f->dns);
        event_base_free(f->base);
        free(f);
    }
    return 0;
}

/* Skips without nsd, fails when it is installed but did not come up. */
static struct fixture *test_need_nsd(void **state)
{
    if (!nsd.installed)
        skip();
    if (!nsd.up)
        fail_msg("nsd is installed but did not answer on 127.0.0.1@%u (dir %s)", nsd.port, nsd.dir);
    return *state;
}

/* Where a dns_ptr callback leaves its answer. */
struct ptr_waiter {
    struct event_base *base;
    char name[256];
    bool null;
    int calls;
};

static const char *test_ptr(struct fixture *f, const char *ip, struct ptr_waiter *w);

/* Where a callback leaves its result. */
struct waiter {
    struct event_base *base;
    struct mx_result *res;
    int calls;
};

/* The dns callback: keeps the result and stops the loop. */
static void test_on_result(void *arg, struct mx_result *res)
{
    struct waiter *w = arg;
    w->res = res;
    w->calls++;
    event_base_loopbreak(w->base);
}

/* Safety net: a test never waits more than 40 s. */
static void test_on_stuck(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    event_base_loopbreak(arg);
}

/* Runs the loop until the waiter got its callback; checks it was not synchronous. */
static struct mx_result *test_wait(struct fixture *f, struct waiter *w)
{
    if (w->calls)
        fail_msg("callback ran inside the call: got %d calls, want 0", w->calls);
    struct event *stuck = evtimer_new(f->base, test_on_stuck, f->base);
    struct timeval tv = {40, 0};
    evtimer_add(stuck, &tv);
    event_base_dispatch(f->base);
    event_free(stuck);
    if (w->calls != 1)
        fail_msg("got %d callbacks, want 1", w->calls);
    return w->res;
}

/* dns_mx and wait. */
static struct mx_result *test_mx(struct fixture *f, const char *domain, bool fallback_a)
{
    struct waiter w = {.base = f->base};
    dns_mx(f->dns, domain, fallback_a, test_on_result, &w);
    return test_wait(f, &w);
}

/* dns_host and wait. */
static struct mx_result *test_host(struct fixture *f, const char *host)
{
    struct waiter w = {.base = f->base};
    dns_host(f->dns, host, test_on_result, &w);
    return test_wait(f, &w);
}

static const char *const status_names[] = {"OK", "NXDOMAIN", "NULLMX", "NOMX", "TEMPFAIL"};

/* Fails unless res has the wanted status (and, for failures, no hosts). */
static void test_expect(const char *what, const struct mx_result *res, enum dns_status want)
{
    if (res->status != want)
        fail_msg("%s: got %s (%s), want %s", what, status_names[res->status], res->why,
                 status_names[want]);
    if (want != DNS_OK && (res->hosts || res->nhosts))
        fail_msg("%s: got %zu hosts on failure, want none", what, res->nhosts);
}

/* Text form of a host's address k. */
static const char *test_addr(const struct mx_host *h, size_t k, char *buf, size_t len)
{
    const struct sockaddr_storage *ss = &h->addrs[k];
    if (ss->ss_family == AF_INET)
        return inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, buf, len);
    return inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, buf, len);
}

/* Checks one host: name, preference and addresses in order (A first, then AAAA). */
static void test_expect_host(const struct mx_host *h, const char *name, uint16_t pref,
                             const char *const *addrs, size_t naddrs)
{
    char buf[64];
    if (strcmp(h->name, name) != 0 || h->pref != pref)
        fail_msg("got host %s pref %u, want %s pref %u", h->name, h->pref, name, pref);
    if (h->naddrs != naddrs)
        fail_msg("%s: got %zu addresses, want %zu", name, h->naddrs, naddrs);
    for (size_t k = 0; k < naddrs; k++)
        if (strcmp(test_addr(h, k, buf, sizeof buf), addrs[k]) != 0)
            fail_msg("%s address %zu: got %s, want %s", name, k, buf, addrs[k]);
}

/* ok.test: three hosts ordered by preference, addresses present, names lower-cased,
 * TTL the smallest seen (the 60 s negative TTL of the missing AAAA records). */
static void test_mx_ok(void **state)
{
    struct fixture *f = test_need_nsd(state);
    static const char *const a1[] = {"192.0.2.1", "2001:db8::1"}, *const a2[] = {"192.0.2.2"},
                             *const a3[] = {"192.0.2.3"};
    const char *names[] = {"ok.test", "OK.Test.", "alias.ok.test"};
    for (size_t i = 0; i < 3; i++) {
        struct mx_result *res = test_mx(f, names[i], false);
        test_expect(names[i], res, DNS_OK);
        assert_int_equal(res->nhosts, 3);
        bool first1 = strcmp(res->hosts[0].name, "mx1.ok.test") == 0;
        test_expect_host(&res->hosts[first1 ? 0 : 1], "mx1.ok.test", 10, a1, 2);
        test_expect_host(&res->hosts[first1 ? 1 : 0], "mx2.ok.test", 10, a2, 1);
        test_expect_host(&res->hosts[2], "mx3.ok.test", 20, a3, 1);
        if (res->ttl == 0 || res->ttl > 60)
            fail_msg("%s: got ttl %u, want 1..60", names[i], res->ttl);
        mx_result_free(res);
    }
}

/* Equal preferences come back in both orders over repeated lookups (cached answers). */
static void test_mx_equal_pref_shuffled(void **state)
{
    struct fixture *f = test_need_nsd(state);
    int first_mx1 = 0, runs = 60;
    for (int i = 0; i < runs; i++) {
        struct mx_result *res = test_mx(f, "ok.test", false);
        test_expect("ok.test", res, DNS_OK);
        first_mx1 += strcmp(res->hosts[0].name, "mx1.ok.test") == 0;
        mx_result_free(res);
    }
    if (first_mx1 == 0 || first_mx1 == runs)
        fail_msg("got mx1 first %d of %d times, want both orders", first_mx1, runs);
}

/* Table of lookups with their expected status (and reason where it is fixed). */
static void test_mx_outcomes(void **state)
{
    struct fixture *f = test_need_nsd(state);
    static const struct {
        const char *domain;
        bool fallback_a;
        enum dns_status want;
        const char *why;
    } cases[] = {
        {"nope.ok.test", false, DNS_NXDOMAIN, "domain nope.ok.test does not exist"},
        {"nope.ok.test", true, DNS_NXDOMAIN, NULL},
        {"nullmx.test", false, DNS_NULLMX, NULL},
        {"nullmx.test", true, DNS_NULLMX, NULL},
        {"nomx.test", false, DNS_NOMX, "no MX records for nomx.test"},
        {"bare.nomx.test", true, DNS_NOMX, "no MX and no address records for bare.nomx.test"},
        {"noaddr.test", false, DNS_TEMPFAIL, "no address for any MX host"},
        {"noaddr.test", true, DNS_TEMPFAIL, "no address for any MX host"},
        {"unserved.example", false, DNS_TEMPFAIL, NULL},
        {"a..b.test", false, DNS_NXDOMAIN, NULL},
        {"", false, DNS_NXDOMAIN, NULL},
        {"bad name.test", false, DNS_NXDOMAIN, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct mx_result *res = test_mx(f, cases[i].domain, cases[i].fallback_a);
        test_expect(cases[i].domain, res, cases[i].want);
        if (cases[i].why && strcmp(res->why, cases[i].why) != 0)
            fail_msg("%s: got why \"%s\", want \"%s\"", cases[i].domain, res->why, cases[i].why);
        mx_result_free(res);
    }
}

/* NODATA with fallback_a: the domain itself is the one host (implicit MX). */
static void test_mx_implicit(void **state)
{
    struct fixture *f = test_need_nsd(state);
    static const char *const a[] = {"192.0.2.10"};
    struct mx_result *res = test_mx(f, "nomx.test", true);
    test_expect("nomx.test", res, DNS_OK);
    assert_int_equal(res->nhosts, 1);
    test_expect_host(&res->hosts[0], "nomx.test", 0, a, 1);
    mx_result_free(res);
}

/* Caps: 40 MX records keep the 32 lowest preferences; 20 A records keep 16. */
static void test_mx_caps(void **state)
{
    struct fixture *f = test_need_nsd(state);
    struct mx_result *res = test_mx(f, "many.ok.test", false);
    test_expect("many.ok.test", res, DNS_OK);
    assert_int_equal(res->nhosts, DNS_MX_MAX);
    for (size_t i = 0; i < res->nhosts; i++) {
        char want[32];
        snprintf(want, sizeof want, "h%u.many.ok.test", (unsigned)i + 1);
        if (res->hosts[i].pref != i + 1 || strcmp(res->hosts[i].name, want) != 0 ||
            res->hosts[i].naddrs != 1)
            fail_msg("host %zu: got %s pref %u (%zu addrs), want %s pref %zu (1)", i,
                     res->hosts[i].name, res->hosts[i].pref, res->hosts[i].naddrs, want, i + 1);
    }
    mx_result_free(res);
    res = test_mx(f, "wide.ok.test", false);
    test_expect("wide.ok.test", res, DNS_OK);
    assert_int_equal(res->nhosts, 1);
    assert_int_equal(res->hosts[0].naddrs, DNS_ADDR_MAX);
    mx_result_free(res);
}

/* dns_host: a name, a literal, a missing name, an invalid name. */
static void test_host_lookups(void **state)
{
    struct fixture *f = test_need_nsd(state);
    static const char *const a1[] = {"192.0.2.1", "2001:db8::1"}, *const lit4[] = {"192.0.2.55"},
                             *const lit6[] = {"2001:db8::55"};
    struct mx_result *res = test_host(f, "MX1.ok.test");
    test_expect("mx1", res, DNS_OK);
    assert_int_equal(res->nhosts, 1);
    test_expect_host(&res->hosts[0], "mx1.ok.test", 0, a1, 2);
    mx_result_free(res);
    res = test_host(f, "192.0.2.55");
    test_expect("literal", res, DNS_OK);
    test_expect_host(&res->hosts[0], "192.0.2.55", 0, lit4, 1);
    mx_result_free(res);
    res = test_host(f, "2001:db8::55");
    test_expect("literal6", res, DNS_OK);
    test_expect_host(&res->hosts[0], "2001:db8::55", 0, lit6, 1);
    mx_result_free(res);
    res = test_host(f, "nope.ok.test");
    test_expect("nope", res, DNS_NXDOMAIN);
    mx_result_free(res);
    res = test_host(f, "txtonly.noaddr.test");
    test_expect("txtonly", res, DNS_TEMPFAIL);
    mx_result_free(res);
    res = test_host(f, "-bad\x01name");
    test_expect("invalid", res, DNS_NXDOMAIN);
    mx_result_free(res);
}

/* why must name the refusing forwarder ("resolver 127.0.0.1@PORT refused"), not a
 * libunbound SERVFAIL or a timeout. */
static void test_expect_refused(const char *what, const struct mx_result *res, uint16_t port)
{
    char want[64];
    snprintf(want, sizeof want, "resolver 127.0.0.1@%u refused", port);
    test_expect(what, res, DNS_TEMPFAIL);
    if (!strstr(res->why, want))
        fail_msg("%s: got why \"%s\", want one with \"%s\"", what, res->why, want);
}

/* A forwarder port where nothing listens (ICMP port unreachable): libunbound alone would
 * retry for about 5 s and answer SERVFAIL; the probe sees the refusal, so the lookup fails
 * at once with a reason naming the resolver, and so do the next ones (MX, host, PTR). */
static void test_mx_dead_forwarder(void **state)
{
    (void)state;
    uint16_t port = test_free_port();
    assert_true(port != 0);
    struct fixture *f = test_fixture(port);
    int64_t t0 = clock_mono_ms();
    struct mx_result *res = test_mx(f, "ok.test", false);
    int64_t took = clock_mono_ms() - t0;
    print_message("dead forwarder: TEMPFAIL after %lld ms (%s)\n", (long long)took, res->why);
    test_expect_refused("MX with a refusing forwarder", res, port);
    mx_result_free(res);
    res = test_host(f, "mx1.ok.test");
    test_expect_refused("host with a refusing forwarder", res, port);
    mx_result_free(res);
    struct ptr_waiter w;
    if (test_ptr(f, "127.0.0.1", &w) != NULL)
        fail_msg("PTR with a refusing forwarder: got %s, want NULL", w.name);
    *state = f; /* freed by the teardown */
}

/* One forwarder refuses, the other (nsd) answers: nothing fails fast, lookups succeed. */
static void test_one_of_two_forwarders_refusing(void **state)
{
    if (!nsd.installed)
        skip();
    if (!nsd.up)
        fail_msg("nsd is installed but did not answer on 127.0.0.1@%u", nsd.port);
    uint16_t port = test_free_port();
    assert_true(port != 0);
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    *state = f; /* freed by the teardown */
    f->base = event_base_new();
    assert_non_null(f->base);
    char dead[32], live[32];
    snprintf(dead, sizeof dead, "127.0.0.1@%u", port);
    snprintf(live, sizeof live, "127.0.0.1@%u", nsd.port);
    char *fwds[2] = {dead, live};
    f->conf.resolver.forwarders = fwds;
    f->conf.resolver.nforwarders = 2;
    char err[256] = "";
    f->dns = dns_create(f->base, &f->conf, err, sizeof err);
    if (!f->dns)
        fail_msg("dns_create: got NULL (%s), want a resolver", err);
    f->conf.resolver.forwarders = NULL;
    f->conf.resolver.nforwarders = 0;
    for (int i = 0; i < 3; i++) {
        struct mx_result *res = test_mx(f, "ok.test", false);
        test_expect("MX with one of two forwarders refusing", res, DNS_OK);
        mx_result_free(res);
    }
}

/* Bad forwarders make dns_create fail with a message. */
static void test_create_errors(void **state)
{
    (void)state;
    static const char *const bad[] = {"not-an-ip", "127.0.0.1@", "1.2.3.4.5"};
    struct event_base *base = event_base_new();
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct conf c;
        memset(&c, 0, sizeof c);
        char *fwds[2] = {(char *)"127.0.0.1", (char *)bad[i]};
        c.resolver.forwarders = fwds;
        c.resolver.nforwarders = 2;
        char err[256] = "";
        struct dns *d = dns_create(base, &c, err, sizeof err);
        if (d || !strstr(err, bad[i]))
            fail_msg("%s: got %p \"%s\", want NULL and a message naming it", bad[i], (void *)d,
                     err);
    }
    event_base_free(base);
}

/* No forwarders: /etc/resolv.conf is used (only created, never queried here). */
static void test_create_resolvconf(void **state)
{
    (void)state;
    if (access("/etc/resolv.conf", R_OK) != 0)
        skip();
    struct event_base *base = event_base_new();
    struct conf c;
    memset(&c, 0, sizeof c);
    char err[256] = "";
    struct dns *d = dns_create(base, &c, err, sizeof err);
    if (!d)
        fail_msg("got NULL (%s), want a resolver from /etc/resolv.conf", err);
    dns_free(d);
    event_base_free(base);
}

/* dns_free with lookups in flight: no callback, nothing leaked (ASan). */
static void test_free_pending(void **state)
{
    (void)state;
    struct fixture *f = test_fixture(nsd.up ? nsd.port : 9);
    struct waiter w = {.base = f->base};
    dns_mx(f->dns, "ok.test", false, test_on_result, &w);
    dns_mx(f->dns, "many.ok.test", true, test_on_result, &w);
    dns_mx(f->dns, "bad..name", false, test_on_result, &w);
    dns_host(f->dns, "192.0.2.1", test_on_result, &w);
    usleep(5000); /* let the resolver thread get going */
    dns_free(f->dns);
    f->dns = NULL;
    event_base_loop(f->base, EVLOOP_NONBLOCK);
    assert_int_equal(w.calls, 0);
    *state = f;
}

/* A callback may free the resolver. */
static void test_on_result_free(void *arg, struct mx_result *res)
{
    struct fixture *f = arg;
    mx_result_free(res);
    dns_free(f->dns);
    f->dns = NULL;
    event_base_loopbreak(f->base);
}

/* dns_free from inside a callback, with another request still pending. */
static void test_free_in_callback(void **state)
{
    struct fixture *f = test_need_nsd(state);
    struct waiter w = {.base = f->base};
    dns_mx(f->dns, "ok.test", false, test_on_result, &w);
    dns_host(f->dns, "192.0.2.9", test_on_result_free, f);
    event_base_dispatch(f->base);
    assert_null(f->dns);
    assert_int_equal(w.calls, 0);
}

/* The dns_ptr callback: keeps the name (or NULL) and stops the loop. */
static void test_on_ptr(void *arg, const char *name)
{
    struct ptr_waiter *w = arg;
    w->null = name == NULL;
    snprintf(w->name, sizeof w->name, "%s", name ? name : "");
    w->calls++;
    event_base_loopbreak(w->base);
}

/* dns_ptr of a text address and wait; the answer or NULL. */
static const char *test_ptr(struct fixture *f, const char *ip, struct ptr_waiter *w)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1)
        ss.ss_family = AF_INET;
    else if (inet_pton(AF_INET6, ip, &sin6->sin6_addr) == 1)
        ss.ss_family = AF_INET6;
    else
        ss.ss_family = AF_UNIX;
    memset(w, 0, sizeof *w);
    w->base = f->base;
    uint64_t id = dns_ptr(f->dns, (struct sockaddr *)&ss, test_on_ptr, w);
    if (id == 0)
        fail_msg("%s: got id 0, want a request id", ip);
    if (w->calls)
        fail_msg("%s: callback ran inside dns_ptr: got %d calls, want 0", ip, w->calls);
    struct event *stuck = evtimer_new(f->base, test_on_stuck, f->base);
    struct timeval tv = {40, 0};
    evtimer_add(stuck, &tv);
    event_base_dispatch(f->base);
    event_free(stuck);
    if (w->calls != 1)
        fail_msg("%s: got %d callbacks, want 1", ip, w->calls);
    return w->null ? NULL : w->name;
}

/* dns_ptr: forward-confirmed names, and NULL for every way a name fails to confirm. */
static void test_ptr_lookups(void **state)
{
    struct fixture *f = test_need_nsd(state);
    static const struct {
        const char *ip, *want; /* want NULL: no confirmed name */
    } cases[] = {
        {"127.0.0.1", "loop.ok.test"},    /* not libunbound's built-in "localhost" */
        {"127.0.0.2", NULL},              /* the PTR name resolves elsewhere */
        {"127.0.0.3", NULL},              /* the PTR name does not exist */
        {"127.0.0.4", "multi.ok.test"},   /* two confirm: the smallest name */
        {"127.0.0.5", "second.ok.test"},  /* the first name fails, the second confirms */
        {"127.0.0.6", NULL},              /* PTR name not a host name */
        {"127.0.0.7", NULL},              /* NXDOMAIN: no PTR */
        {"127.0.0.8", "mixed.ok.test"},   /* lower-cased */
        {"127.0.0.9", NULL},              /* NODATA: a TXT, no PTR */
        {"127.0.1.1", NULL},              /* no reverse zone (REFUSED by nsd) */
        {"10.0.0.1", "lan.ok.test"},      /* RFC 1918 reverse zone reaches the forwarder */
        {"2001:db8::1", "mx1.ok.test"},   /* ip6.arpa, AAAA confirms */
        {"2001:db8::2", NULL},
        {"::ffff:127.0.0.1", "loop.ok.test"}, /* v4-mapped: the IPv4 name */
        {"not an address", NULL},         /* AF_UNIX: no lookup, still a callback */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ptr_waiter w;
        const char *got = test_ptr(f, cases[i].ip, &w);
        const char *want = cases[i].want;
        if ((got == NULL) != (want == NULL) || (got && strcmp(got, want) != 0))
            fail_msg("dns_ptr %s: got %s, want %s", cases[i].ip, got ? got : "NULL",
                     want ? want : "NULL");
    }
}

/* The reverse-lookup cache: a confirmed name, a definitive "none" and, for a few seconds, a
 * failure are answered again from the cache (still on the loop, never inside dns_ptr). */
static void test_ptr_cache(void **state)
{
    struct fixture *f = test_need_nsd(state);
    static const struct {
        const char *ip, *want;
        uint64_t cached; /* dns_stats.ptr_cached after the second lookup */
    } cases[] = {
        {"127.0.0.1", "loop.ok.test", 1},
        {"127.0.0.2", NULL, 2},           /* no confirmed name: kept too */
        {"127.0.1.1", NULL, 3},           /* REFUSED: a failure, kept 5 s */
        {"::ffff:127.0.0.1", "loop.ok.test", 5}, /* the IPv4 entry, twice */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int round = 0; round < 2; round++) {
            struct ptr_waiter w;
            const char *got = test_ptr(f, cases[i].ip, &w);
            const char *want = cases[i].want;
            if ((got == NULL) != (want == NULL) || (got && strcmp(got, want) != 0))
                fail_msg("dns_ptr %s round %d: got %s, want %s", cases[i].ip, round,
                         got ? got : "NULL", want ? want : "NULL");
        }
    struct dns_stats st;
    dns_get_stats(f->dns, &st);
    if (st.ptr_lookups != 8 || st.ptr_cached != 5)
        fail_msg("got %llu lookups, %llu cached; want 8 and 5", (unsigned long long)st.ptr_lookups,
                 (unsigned long long)st.ptr_cached);
}

/* Safety net of the cancel test: stops the loop after a while. */
static void test_on_quiet(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    event_base_loopbreak(arg);
}

/* dns_cancel: the callback of a cancelled request never runs; others still do; an unknown
 * or answered id is ignored; nothing leaks (ASan). */
static void test_ptr_cancel(void **state)
{
    struct fixture *f = test_need_nsd(state);
    struct ptr_waiter a = {.base = f->base}, b = {.base = f->base};
    struct sockaddr_in sin = {.sin_family = AF_INET};
    sin.sin_addr.s_addr = htonl(0x7f000001);
    uint64_t ida = dns_ptr(f->dns, (struct sockaddr *)&sin, test_on_ptr, &a);
    uint64_t idb = dns_ptr(f->dns, (struct sockaddr *)&sin, test_on_ptr, &b);
    if (ida == idb)
        fail_msg("got the same id %llu twice, want distinct ids", (unsigned long long)ida);
    dns_cancel(f->dns, ida);
    dns_cancel(f->dns, ida);
    dns_cancel(f->dns, idb + 1000);
    event_base_dispatch(f->base); /* b answers and breaks the loop */
    struct event *quiet = evtimer_new(f->base, test_on_quiet, f->base);
    struct timeval tv = {0, 300000};
    evtimer_add(quiet, &tv);
    event_base_dispatch(f->base);
    event_free(quiet);
    if (a.calls != 0 || b.calls != 1 || strcmp(b.name, "loop.ok.test") != 0)
        fail_msg("got cancelled %d calls, other %d calls (%s), want 0 and 1 (loop.ok.test)",
                 a.calls, b.calls, b.name);
    dns_cancel(f->dns, idb);
    /* cancelled while its forward lookups are in flight, then freed with one pending. The
     * whole chain can finish inside one ub_process() pass (libunbound keeps reading answers
     * while its thread produces them, and nsd on loopback is fast), so an address whose
     * callback beat the cancel is tried again with the next one (names not cached yet). */
    static const uint32_t mid[] = {0x7f000002, 0x7f000003, 0x7f000004, 0x7f000005, 0x7f000008};
    /* shorter waits after each chain that beat its cancel (a loaded box can answer the whole
     * chain in 2 ms, an idle one not); the last one is cancelled before any answer */
    static const useconds_t wait_us[] = {2000, 1000, 400, 100, 0};
    struct ptr_waiter c = {.base = f->base};
    size_t k;
    for (k = 0; k < sizeof mid / sizeof mid[0]; k++) {
        memset(&c, 0, sizeof c);
        c.base = f->base;
        sin.sin_addr.s_addr = htonl(mid[k]);
        uint64_t idc = dns_ptr(f->dns, (struct sockaddr *)&sin, test_on_ptr, &c);
        if (wait_us[k]) {
            usleep(wait_us[k]);
            event_base_loop(f->base, EVLOOP_NONBLOCK);
        }
        dns_cancel(f->dns, idc);
        if (c.calls == 0)
            break;
    }
    if (k == sizeof mid / sizeof mid[0])
        fail_msg("every PTR chain answered before its cancel: got %zu, want one cancelled mid-way", k);
    dns_ptr(f->dns, (struct sockaddr *)&sin, test_on_ptr, &c);
    dns_free(f->dns);
    f->dns = NULL;
    event_base_loop(f->base, EVLOOP_NONBLOCK);
    assert_int_equal(c.calls, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_mx_ok, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_mx_equal_pref_shuffled, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_mx_outcomes, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_mx_implicit, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_mx_caps, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_host_lookups, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_free_in_callback, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_ptr_lookups, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_ptr_cancel, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_ptr_cache, test_setup, test_teardown),
        cmocka_unit_test_teardown(test_free_pending, test_teardown),
        cmocka_unit_test(test_create_errors),
        cmocka_unit_test(test_create_resolvconf),
        cmocka_unit_test_teardown(test_mx_dead_forwarder, test_teardown),
        cmocka_unit_test_teardown(test_one_of_two_forwarders_refusing, test_teardown),
    };
    return cmocka_run_group_tests(tests, test_nsd_start, test_nsd_stop);
}
