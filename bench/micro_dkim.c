/* micro_dkim: the cost of one DKIM signature, to decide where signing runs (docs/dkim.md).
 * Signs messages of 2 KB and 1 MB with an RSA-2048 key (libopendkim) and an Ed25519 key
 * (OpenSSL EVP, src/dkim/ed25519.c), relaxed/relaxed, and prints microseconds per message.
 *
 *     make build/bench/micro_dkim && build/bench/micro_dkim [ITERATIONS] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "conf/conf.h"
#include "dkim/dkim.h"

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void write_key(const char *path, EVP_PKEY *k)
{
    FILE *f = fopen(path, "w");
    if (!f || !k || PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) != 1)
        exit(1);
    fclose(f);
    EVP_PKEY_free(k);
}

/* A message of about size bytes: headers, then 76-byte lines. */
static char *message(size_t size, size_t *len)
{
    char *m = malloc(size + 1024);
    size_t n = (size_t)sprintf(m, "From: Bench <b@bench.test>\r\nTo: u@x.test\r\nSubject: "
                                  "bench\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\n");
    while (n < size) {
        memset(m + n, 'x', 74);
        memcpy(m + n + 74, "\r\n", 2);
        n += 76;
    }
    *len = n;
    return m;
}

static void run(const char *dir, const char *alg, const char *key, int iters)
{
    char cfg[1024], err[512];
    snprintf(cfg, sizeof cfg,
             "dkim = { sign = ( { domain = \"bench.test\"; selector = \"s\"; "
             "key_file = \"%s/%s\"; algorithm = \"%s\"; } ); };",
             dir, key, alg);
    struct conf c;
    conf_init(&c);
    if (conf_load_text("bench", cfg, strlen(cfg), &c, err, sizeof err) < 0)
        exit(1);
    struct dkim_keys *k = dkim_keys_load(&c, err, sizeof err);
    if (!k) {
        fprintf(stderr, "%s\n", err);
        exit(1);
    }
    size_t sizes[] = {2048, 1 << 20};
    for (size_t s = 0; s < 2; s++) {
        size_t len;
        char *m = message(sizes[s], &len), *out;
        size_t outlen;
        int n = s == 0 ? iters : iters / 20 + 1;
        double t0 = now_us();
        for (int i = 0; i < n; i++) {
            if (dkim_keys_sign(k, m, len, &out, &outlen, err, sizeof err) != 1)
                exit(1);
            free(out);
        }
        printf("%-15s %8zu bytes: %8.1f us/message\n", alg, len, (now_us() - t0) / n);
        free(m);
    }
    dkim_keys_free(k);
    conf_free(&c);
}

int main(int argc, char **argv)
{
    int iters = argc > 1 ? atoi(argv[1]) : 2000;
    char dir[] = "/tmp/micro_dkim.XXXXXX", path[256];
    if (!mkdtemp(dir))
        return 1;
    snprintf(path, sizeof path, "%s/rsa.pem", dir);
    write_key(path, EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048));
    snprintf(path, sizeof path, "%s/ed.pem", dir);
    write_key(path, EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"));
    run(dir, "rsa-sha256", "rsa.pem", iters);
    run(dir, "ed25519-sha256", "ed.pem", iters);
    snprintf(path, sizeof path, "%s/rsa.pem", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/ed.pem", dir);
    unlink(path);
    rmdir(dir);
    return 0;
}
