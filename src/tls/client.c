/* tls/client: OpenSSL client contexts, the per-peer session cache and the handshake
 * fallback memory (contracts in client.h).
 *
 * Owns: SSL_CTX objects (index 0 the opportunistic one, index i + 1 relay i's when its ssl
 * block asks for TLS), two bounded stores of expiring entries keyed by text (sessions,
 * failed peers), and one SSL ex_data slot per SSL it makes: the cache key its new sessions
 * are filed under, and whether an expected name was set (so "verified" means chain and
 * name).
 *
 * A store is a dict from key to entry plus a FIFO list of entries in insertion order: a full
 * store drops its oldest entry; an entry past its expiry is dropped when it is looked up.
 *
 * Sessions are kept serialized (i2d_SSL_SESSION, as Postfix's tlsmgr cache does) and each
 * connection gets a fresh copy: OpenSSL marks a TLS 1.3 session object unresumable once a
 * client used it (tickets are single-use for privacy between web clients), while an MTA
 * may resume the same ticket with the same server until it expires, which servers that
 * issue no new ticket on resumption (Postfix) rely on.
 * Invariants: every entry is in both the dict and the list; n counts them; n <= max. */
#include "tls/client.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "conf/conf.h"
#include "core/dict.h"
#include "core/log.h"
#include "core/xalloc.h"

#define TLS_CLIENT_KEY_MAX 1200      /* "ctx|min|name|peer" */
#define TLS_CLIENT_SESSION_MAX 65536 /* bytes of one serialized session */

struct tls_entry {
    char *key;
    void *val;
    time_t expires;
    struct tls_entry *prev, *next;
};

struct tls_store {
    struct dict *d;
    struct tls_entry *head, *tail; /* oldest first */
    size_t n, max;
    void (*free_val)(void *);
};

struct tls_client {
    const struct conf *conf;
    SSL_CTX **ctx; /* [0] opportunistic, [i + 1] relay i (NULL when it asks for no TLS) */
    size_t nctx;
    struct tls_store sessions, fallback;
};

/* What an SSL made here carries (ex_data): where its new sessions go. */
struct tls_conn {
    struct tls_client *tc;
    bool named; /* an expected host name or IP was set */
    char key[];
};

static int tls_ex_index = -1;

/* ---- stores ---- */

/* Initializes an empty store of at most max entries. */
static void tls_store_init(struct tls_store *st, size_t max, void (*free_val)(void *))
{
    memset(st, 0, sizeof *st);
    st->d = dict_create();
    st->max = max;
    st->free_val = free_val;
}

/* Unlinks and frees one entry. */
static void tls_store_drop(struct tls_store *st, struct tls_entry *e)
{
    dict_remove(st->d, e->key);
    if (e->prev)
        e->prev->next = e->next;
    else
        st->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        st->tail = e->prev;
    st->n--;
    if (st->free_val)
        st->free_val(e->val);
    free(e->key);
    free(e);
}

/* Files val under key until expires, replacing an older value, dropping the oldest entry
 * when the store is full. */
static void tls_store_put(struct tls_store *st, const char *key, void *val, time_t expires)
{
    struct tls_entry *e = dict_find(st->d, key);
    if (e)
        tls_store_drop(st, e);
    if (st->n >= st->max && st->head)
        tls_store_drop(st, st->head);
    e = xcalloc(1, sizeof *e);
    e->key = xstrdup(key);
    e->val = val;
    e->expires = expires;
    e->prev = st->tail;
    if (st->tail)
        st->tail->next = e;
    else
        st->head = e;
    st->tail = e;
    st->n++;
    dict_put(st->d, key, e);
}

/* The live entry of key, or NULL (an expired one is dropped). */
static struct tls_entry *tls_store_get(struct tls_store *st, const char *key, time_t now)
{
    struct tls_entry *e = dict_find(st->d, key);
    if (e && e->expires <= now) {
        tls_store_drop(st, e);
        return NULL;
    }
    return e;
}

/* Frees every entry and the store. */
static void tls_store_free(struct tls_store *st)
{
    while (st->head)
        tls_store_drop(st, st->head);
    dict_free(st->d, NULL);
    st->d = NULL;
}

/* A serialized session. */
struct tls_der {
    size_t len;
    unsigned char der[];
};

/* ---- contexts ---- */

/* ex_data destructor: the SSL's cache key goes with it. */
static void tls_conn_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
                          void *argp)
{
    (void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
    free(ptr);
}

/* The server granted a session: file a serialized copy under the SSL's key. */
static int tls_client_on_session(SSL *ssl, SSL_SESSION *sess)
{
    struct tls_conn *tcn = SSL_get_ex_data(ssl, tls_ex_index);
    int len = tcn && SSL_SESSION_is_resumable(sess) ? i2d_SSL_SESSION(sess, NULL) : 0;
    if (len <= 0 || len > TLS_CLIENT_SESSION_MAX)
        return 0;
    time_t now = time(NULL), start = (time_t)SSL_SESSION_get_time(sess);
    long life = SSL_SESSION_get_timeout(sess);
    time_t expires = start + (life > 0 ? life : 0);
    if (expires > now + TLS_CLIENT_SCACHE_TTL)
        expires = now + TLS_CLIENT_SCACHE_TTL;
    if (expires <= now)
        return 0;
    struct tls_der *d = xmalloc(sizeof *d + (size_t)len);
    unsigned char *p = d->der;
    d->len = (size_t)i2d_SSL_SESSION(sess, &p);
    tls_store_put(&tcn->tc->sessions, tcn->key, d, expires);
    return 0; /* the object stays OpenSSL's */
}

/* The last OpenSSL error as text into err, prefixed by what. Returns -1. */
static int tls_client_fail(char *err, size_t errlen, const char *what)
{
    char e[256];
    ERR_error_string_n(ERR_get_error(), e, sizeof e);
    snprintf(err, errlen, "%s: %s", what, e);
    ERR_clear_error();
    return -1;
}

/* Loads the trust store (ca_file, else the system's) and the client certificate. */
static int tls_client_ctx_files(SSL_CTX *ctx, const struct relay_ssl *ssl, char *err, size_t errlen)
{
    char what[700];
    const char *ca = ssl ? ssl->ca_file : NULL;
    if (ca && SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
        snprintf(what, sizeof what, "ca_file %s", ca);
        return tls_client_fail(err, errlen, what);
    }
    if (!ca && SSL_CTX_set_default_verify_paths(ctx) != 1)
        return tls_client_fail(err, errlen, "system CA store");
    if (!ssl || !ssl->cert_file)
        return 0;
    const char *key = ssl->key_file ? ssl->key_file : ssl->cert_file;
    snprintf(what, sizeof what, "cert_file %s", ssl->cert_file);
    if (SSL_CTX_use_certificate_chain_file(ctx, ssl->cert_file) != 1)
        return tls_client_fail(err, errlen, what);
    snprintf(what, sizeof what, "key_file %s", key);
    if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1)
        return tls_client_fail(err, errlen, what);
    return 0;
}

/* One client context: TLS 1.2+, no renegotiation, verification left to the caller, new
 * sessions to our cache; ssl (NULL: opportunistic) gives its files. */
static SSL_CTX *tls_client_ctx_new(const struct relay_ssl *ssl, char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        tls_client_fail(err, errlen, "SSL_CTX_new");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, tls_client_on_session);
    if (tls_client_ctx_files(ctx, ssl, err, errlen) < 0) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

/* True when relay r has its own context (its ssl block asks for TLS). */
static bool tls_client_relay_tls(const struct relay *r)
{
    return r && (r->ssl.mode == RELAY_TLS_STARTTLS || r->ssl.mode == RELAY_TLS_IMPLICIT);
}

/* Builds every context of c. */
struct tls_client *tls_client_create(const struct conf *c, char *err, size_t errlen)
{
    if (tls_ex_index < 0)
        tls_ex_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, tls_conn_free);
    struct tls_client *tc = xcalloc(1, sizeof *tc);
    tc->conf = c;
    tc->nctx = 1 + c->deliver.nrelays;
    tc->ctx = xcalloc(tc->nctx, sizeof *tc->ctx);
    tls_store_init(&tc->sessions, TLS_CLIENT_SCACHE_MAX, free);
    tls_store_init(&tc->fallback, TLS_CLIENT_FALLBACK_MAX, NULL);
    tc->ctx[0] = tls_client_ctx_new(NULL, err, errlen);
    for (size_t i = 0; tc->ctx[0] && i < c->deliver.nrelays; i++) {
        const struct relay *r = &c->deliver.relays[i];
        if (!tls_client_relay_tls(r))
            continue;
        char e[512];
        tc->ctx[i + 1] = tls_client_ctx_new(&r->ssl, e, sizeof e);
        if (!tc->ctx[i + 1]) {
            snprintf(err, errlen, "deliver.relays[%zu].ssl: %s", i, e);
            tls_client_free(tc);
            return NULL;
        }
    }
    if (!tc->ctx[0]) {
        tls_client_free(tc);
        return NULL;
    }
    return tc;
}

/* Frees the contexts and both caches. */
void tls_client_free(struct tls_client *tc)
{
    if (!tc)
        return;
    tls_store_free(&tc->sessions);
    tls_store_free(&tc->fallback);
    for (size_t i = 0; i < tc->nctx; i++)
        SSL_CTX_free(tc->ctx[i]);
    free(tc->ctx);
    free(tc);
}

/* ---- connections ---- */

/* Sets the expected name (and SNI) of ssl: an IP address (brackets allowed) is checked
 * against the certificate's IP names, a host name against its DNS names. Returns true when
 * a name was set. */
static bool tls_client_expect(SSL *ssl, const char *name)
{
    char host[256];
    size_t len = name ? strlen(name) : 0;
    if (len > 0 && name[len - 1] == '.')
        len--; /* an MX name from DNS may end in the root */
    if (len > 1 && name[0] == '[' && name[len - 1] == ']')
        name++, len -= 2;
    if (len == 0 || len >= sizeof host)
        return false;
    memcpy(host, name, len);
    host[len] = '\0';
    unsigned char bin[16];
    if (inet_pton(AF_INET, host, bin) == 1 || inet_pton(AF_INET6, host, bin) == 1)
        return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) == 1;
    SSL_set_tlsext_host_name(ssl, host);
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    return SSL_set1_host(ssl, host) == 1;
}

/* A new SSL for one peer, resuming its cached session when there is one. */
SSL *tls_client_ssl(struct tls_client *tc, const struct relay *r, unsigned min_tls,
                    const char *name, const char *peer)
{
    size_t ci = 0;
    if (tls_client_relay_tls(r) && r >= tc->conf->deliver.relays &&
        r < tc->conf->deliver.relays + tc->conf->deliver.nrelays)
        ci = (size_t)(r - tc->conf->deliver.relays) + 1;
    SSL *ssl = SSL_new(tc->ctx[ci]);
    if (!ssl)
        return NULL;
    SSL_set_min_proto_version(ssl, min_tls >= 3 ? TLS1_3_VERSION : TLS1_2_VERSION);
    char key[TLS_CLIENT_KEY_MAX];
    int n = snprintf(key, sizeof key, "%zu|%u|%s|%s", ci, min_tls, name ? name : "", peer);
    size_t klen = n < 0 ? 0 : (size_t)n >= sizeof key ? sizeof key - 1 : (size_t)n;
    struct tls_conn *tcn = xmalloc(sizeof *tcn + klen + 1);
    tcn->tc = tc;
    memcpy(tcn->key, key, klen);
    tcn->key[klen] = '\0';
    tcn->named = tls_client_expect(ssl, name);
    SSL_set_ex_data(ssl, tls_ex_index, tcn);
    struct tls_entry *e = tls_store_get(&tc->sessions, tcn->key, time(NULL));
    if (e) {
        const struct tls_der *d = e->val;
        const unsigned char *p = d->der;
        SSL_SESSION *sess = d2i_SSL_SESSION(NULL, &p, (long)d->len);
        if (sess && SSL_SESSION_is_resumable(sess))
            SSL_set_session(ssl, sess);
        SSL_SESSION_free(sess);
        ERR_clear_error();
    }
    SSL_set_connect_state(ssl);
    return ssl;
}

/* The handshake's outcome: protocol, cipher, what the certificate proved, resumption. */
void tls_client_info(SSL *ssl, struct tls_client_info *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->version, sizeof out->version, "%s", SSL_get_version(ssl));
    const char *cipher = SSL_get_cipher_name(ssl);
    snprintf(out->cipher, sizeof out->cipher, "%s", cipher ? cipher : "unknown");
    out->bits = SSL_get_cipher_bits(ssl, NULL);
    out->resumed = SSL_session_reused(ssl) == 1;
    struct tls_conn *tcn = SSL_get_ex_data(ssl, tls_ex_index);
    long v = SSL_get_verify_result(ssl);
    if (!SSL_get0_peer_certificate(ssl)) {
        out->trust = TLS_TRUST_ANONYMOUS;
        snprintf(out->why, sizeof out->why, "no certificate");
    } else if (v != X509_V_OK) {
        out->trust = TLS_TRUST_UNTRUSTED;
        snprintf(out->why, sizeof out->why, "%s", X509_verify_cert_error_string(v));
    } else if (!tcn || !tcn->named) {
        out->trust = TLS_TRUST_UNTRUSTED;
        snprintf(out->why, sizeof out->why, "no host name to check the certificate against");
    } else {
        out->trust = TLS_TRUST_VERIFIED;
    }
}

/* Name of a trust level. */
const char *tls_trust_name(enum tls_trust t)
{
    switch (t) {
    case TLS_TRUST_VERIFIED:
        return "verified";
    case TLS_TRUST_UNTRUSTED:
        return "untrusted";
    case TLS_TRUST_ANONYMOUS:
        break;
    }
    return "anonymous";
}

/* OpenSSL's reason text for code (just the reason: the library and function add noise). */
const char *tls_client_error_text(unsigned long code, char *buf, size_t len)
{
    const char *reason = code ? ERR_reason_error_string(code) : NULL;
    if (code == 0)
        snprintf(buf, len, "connection closed or reset");
    else if (reason)
        snprintf(buf, len, "%s", reason);
    else
        ERR_error_string_n(code, buf, len);
    return buf;
}

/* Remembers a failed handshake with peer. */
void tls_client_fallback_note(struct tls_client *tc, const char *peer, time_t now)
{
    tls_store_put(&tc->fallback, peer, NULL, now + TLS_CLIENT_FALLBACK_TTL);
}

/* True while a failed handshake with peer is remembered. */
bool tls_client_fallback_active(struct tls_client *tc, const char *peer, time_t now)
{
    return tls_store_get(&tc->fallback, peer, now) != NULL;
}

/* Sessions cached. */
size_t tls_client_sessions(const struct tls_client *tc)
{
    return tc->sessions.n;
}
