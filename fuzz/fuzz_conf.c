/* fuzz_conf: conf_init(), conf_load_text() on arbitrary file contents (the pre-scan,
 * libconfig's parser and the key table's readers), then conf_client_for() and conf_free();
 * the same bytes also go to conf_retries_parse() (at most CONF_RETRIES_TEXT_MAX + 1 of them:
 * it refuses a longer string before reading it, so the rest cannot change its outcome). Any
 * accepted configuration must keep its documented invariants; every rejected one must carry
 * "FILE:LINE: message". The text goes in directly, not through a file: conf_load() only adds
 * reading the file to conf_load_text(). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);

/* libconfig 1.5's parser leaks a string token it finds where its grammar has none (no
 * %destructor), and on a NUL byte in a string. conf's pre-scan keeps both from libconfig
 * (a run without this suppression found no leak); the suppression stays for leaks of
 * libconfig not known yet, and covers only allocations made inside libconfig, so every leak
 * of ours stays visible. */
const char *__lsan_default_suppressions(void)
{
    return "leak:libconfig.so\n";
}

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
    struct conf c;
    char err[512];
    conf_init(&c);
    if (conf_load_text("fuzz.conf", (const char *)data, size, &c, err, sizeof err) == 0) {
        struct sockaddr_storage ss;
        check_conf(&c);
        if (cidr_sockaddr_parse("127.0.0.1", 25, &ss, NULL) == 0)
            conf_client_for(&c, (struct sockaddr *)&ss, "mx.example");
    } else if (strncmp(err, "fuzz.conf:", 10) != 0 || strstr(err, ": ") == NULL) {
        abort(); /* every error is "FILE:LINE: message" */
    }
    conf_free(&c);
    size_t len = size > CONF_RETRIES_TEXT_MAX + 1 ? CONF_RETRIES_TEXT_MAX + 1 : size;
    char *s = malloc(len + 1);
    unsigned *arr = NULL;
    size_t n = 0;
    memcpy(s, data, len);
    s[len] = '\0';
    if (conf_retries_parse(s, &arr, &n) == 0 && (n < 1 || n > 64))
        abort();
    free(arr);
    free(s);
    return 0;
}
