/* fuzz_conf: conf_load() on arbitrary file contents (held in a memfd, loaded through
 * /proc/self/fd/N), then conf_client_for() and conf_free(); the same bytes also go to
 * conf_retries_parse(). Any accepted configuration must keep its documented invariants;
 * every rejected one must carry "FILE:LINE: message". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "conf/conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);

/* libconfig 1.5's parser leaks a string token's buffer when a syntax error follows it (its
 * grammar has no %destructor): that is libconfig's, the daemon exits on any config error,
 * and suppressing only allocations made inside libconfig keeps every leak of ours visible. */
const char *__lsan_default_suppressions(void)
{
    return "leak:libconfig.so\n";
}

static int fuzz_fd = -1;
static char fuzz_path[64];

/* Aborts when a loaded configuration breaks a documented invariant. */
static void check_conf(const struct conf *c)
{
    if (c->deliver.client.maxpipeline < 1 || c->deliver.client.maxpipeline > 1000 ||
        c->deliver.port == 0 || c->smtpd.nlisten < 1 || c->deliver.nretries < 1 ||
        c->deliver.nretries > 64 || c->smtpd.max_message_size < 1024 ||
        c->deliver.client.announcehost == NULL)
        abort();
    for (size_t i = 0; i < c->deliver.nrelays; i++)
        if (c->deliver.relays[i].host == NULL || c->deliver.relays[i].port == 0)
            abort();
    for (size_t i = 0; i < c->deliver.nremotenets; i++)
        if (c->deliver.remotenets[i].nnets + c->deliver.remotenets[i].nhosts == 0 ||
            c->deliver.remotenets[i].client.maxpipeline < 1)
            abort();
}

/* One input. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fuzz_fd < 0) {
        fuzz_fd = memfd_create("fuzz_conf", 0);
        if (fuzz_fd < 0)
            abort();
        snprintf(fuzz_path, sizeof fuzz_path, "/proc/self/fd/%d", fuzz_fd);
    }
    if (ftruncate(fuzz_fd, 0) < 0 || pwrite(fuzz_fd, data, size, 0) != (ssize_t)size)
        abort();
    struct conf c;
    char err[512];
    conf_init(&c);
    if (conf_load(fuzz_path, &c, err, sizeof err) == 0) {
        struct sockaddr_storage ss;
        check_conf(&c);
        if (cidr_sockaddr_parse("127.0.0.1", 25, &ss, NULL) == 0)
            conf_client_for(&c, (struct sockaddr *)&ss, "mx.example");
    } else if (strncmp(err, fuzz_path, strlen(fuzz_path)) != 0 || strstr(err, ": ") == NULL) {
        abort(); /* every error is "FILE:LINE: message" */
    }
    conf_free(&c);
    char *s = malloc(size + 1);
    unsigned *arr = NULL;
    size_t n = 0;
    memcpy(s, data, size);
    s[size] = '\0';
    if (conf_retries_parse(s, &arr, &n) == 0 && (n < 1 || n > 64))
        abort();
    free(arr);
    free(s);
    return 0;
}
