/* micro_suppress: the cost of one suppression lookup (src/suppress/) with N entries
 * (default 1,000,000), the check every recipient passes before routing. Fills a fresh store
 * (the tools' synchronous adds are too slow for a million: the entries go in through the
 * daemon's grouped writer), then times lookups of present and absent addresses in random
 * order and prints nanoseconds per lookup and the store's size.
 *
 *     make build/bench/micro_suppress && build/bench/micro_suppress [N] */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include <event2/event.h>

#include "suppress/suppress.h"

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000000, lookups = 1000000;
    char dir[] = "/tmp/micro_suppress.XXXXXX", addr[64], path[256], err[256];
    if (!mkdtemp(dir))
        return 1;
    struct event_base *base = event_base_new();
    struct suppress *s = suppress_open(dir, base, err, sizeof err);
    if (!s)
        return fprintf(stderr, "%s\n", err), 1;
    double t0 = now_ns();
    for (long i = 0; i < n; i++) {
        snprintf(addr, sizeof addr, "user%ld@domain%ld.example", i, i % 5000);
        suppress_add(s, addr, 1000, "550 5.1.1 <user@domain.example>: Recipient address rejected");
    }
    suppress_close(s); /* waits for the writer's last commit */
    double fill = now_ns() - t0;
    s = suppress_open(dir, NULL, err, sizeof err);
    struct suppress_entry e;
    long found = 0;
    srandom(1);
    t0 = now_ns();
    for (long i = 0; i < lookups; i++) {
        long k = random() % (2 * n); /* half of them absent */
        snprintf(addr, sizeof addr, "user%ld@domain%ld.example", k, k % 5000);
        found += suppress_find(s, addr, 2000, 86400000, &e) == 1;
    }
    double look = now_ns() - t0;
    suppress_close(s);
    snprintf(path, sizeof path, "%s/suppress.mdb", dir);
    struct stat st;
    stat(path, &st);
    printf("entries=%ld fill=%.1f s (%.1f us/entry, grouped) lookups=%ld found=%ld "
           "lookup=%.0f ns (incl. formatting the address) file=%lld MB\n",
           n, fill / 1e9, fill / 1e3 / (double)n, lookups, found, look / (double)lookups,
           (long long)st.st_size >> 20);
    snprintf(path, sizeof path, "rm -rf %s", dir);
    event_base_free(base);
    return system(path);
}
