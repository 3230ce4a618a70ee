/* test_milter: the milter protocol (proto/milter.h), table-driven: framing (incomplete,
 * whole, size limits), every reply code's parse (fields, or the reason it is refused),
 * option negotiation, and the bytes of every command formatted (as libmilter reads them). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "proto/milter.h"

#define B(s) (const uint8_t *)(s), sizeof(s) - 1

/* ---- framing --------------------------------------------------------------------------- */

struct frame_case {
    const uint8_t *in;
    size_t len;
    size_t max;
    long want;      /* bytes consumed, 0 incomplete, -1 invalid */
    char cmd;
    size_t datalen;
};

static const struct frame_case frame_cases[] = {
    {B(""), MILTER_PKT_MAX, 0, 0, 0},
    {B("\0\0\0"), MILTER_PKT_MAX, 0, 0, 0},
    {B("\0\0\0\1"), MILTER_PKT_MAX, 0, 0, 0},
    {B("\0\0\0\1c"), MILTER_PKT_MAX, 5, 'c', 0},
    {B("\0\0\0\1cNEXT"), MILTER_PKT_MAX, 5, 'c', 0},
    {B("\0\0\0\3hX"), MILTER_PKT_MAX, 0, 0, 0},
    {B("\0\0\0\3hX\0"), MILTER_PKT_MAX, 7, 'h', 2},
    {B("\0\0\0\0"), MILTER_PKT_MAX, -1, 0, 0},
    {B("\0\1\0\1b"), MILTER_PKT_MAX, -1, 0, 0},     /* 65537 > 64 KiB */
    {B("\0\1\0\0b"), MILTER_PKT_MAX, 0, 0, 0},      /* exactly 64 KiB: allowed, waits */
    {B("\0\1\0\1b"), MILTER_PKT_MAX_256K, 0, 0, 0}, /* negotiated: waits */
    {B("\xff\xff\xff\xff"), MILTER_PKT_MAX_1M, -1, 0, 0},
};

static void test_frame(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof frame_cases / sizeof frame_cases[0]; i++) {
        const struct frame_case *c = &frame_cases[i];
        struct milter_pkt p = {0};
        long got = (long)milter_frame(c->in, c->len, c->max, &p);
        if (got != c->want)
            fail_msg("frame case %zu: got %ld, want %ld", i, got, c->want);
        if (got > 0 && (p.cmd != c->cmd || p.len != c->datalen))
            fail_msg("frame case %zu: got cmd %c len %zu, want %c %zu", i, p.cmd, p.len, c->cmd,
                     c->datalen);
    }
    assert_int_equal(milter_pkt_max(0), MILTER_PKT_MAX);
    assert_int_equal(milter_pkt_max(SMFIP_MDS_256K), MILTER_PKT_MAX_256K);
    assert_int_equal(milter_pkt_max(SMFIP_MDS_1M | SMFIP_MDS_256K), MILTER_PKT_MAX_1M);
}

/* ---- replies ---------------------------------------------------------------------------- */

struct reply_case {
    char cmd;
    const uint8_t *data;
    size_t len;
    int rc;
    const char *want; /* the fields set, "k=v" words; or a substring of the reason */
};

static const struct reply_case reply_cases[] = {
    {SMFIR_ACCEPT, B(""), 0, ""},
    {SMFIR_CONTINUE, B(""), 0, ""},
    {SMFIR_DISCARD, B(""), 0, ""},
    {SMFIR_REJECT, B(""), 0, ""},
    {SMFIR_TEMPFAIL, B(""), 0, ""},
    {SMFIR_SKIP, B(""), 0, ""},
    {SMFIR_PROGRESS, B(""), 0, ""},
    {SMFIR_ADDHEADER, B("X-Spam\0yes\0"), 0, "name=X-Spam value=yes"},
    {SMFIR_ADDHEADER, B("X-Spam\0 folded\n\tline\0"), 0, "name=X-Spam value= folded\n\tline"},
    {SMFIR_ADDHEADER, B("X-Spam\0yes"), -1, "not NUL-terminated"},
    {SMFIR_ADDHEADER, B("X-Spam"), -1, "not NUL-terminated"},
    {SMFIR_ADDHEADER, B("\0yes\0"), -1, "bad header field name"},
    {SMFIR_ADDHEADER, B("X:Y\0yes\0"), -1, "bad header field name"},
    {SMFIR_ADDHEADER, B("X Y\0yes\0"), -1, "bad header field name"},
    {SMFIR_CHGHEADER, B("\0\0\0\2Subject\0new\0"), 0, "index=2 name=Subject value=new"},
    {SMFIR_CHGHEADER, B("\0\0\0\1Subject\0\0"), 0, "index=1 name=Subject value="},
    {SMFIR_CHGHEADER, B("\0\0\0"), -1, "index missing"},
    {SMFIR_INSHEADER, B("\0\0\0\0Authentication-Results\0x; dkim=pass\0"), 0,
     "index=0 name=Authentication-Results value=x; dkim=pass"},
    {SMFIR_ADDRCPT, B("<new@example.org>\0"), 0, "addr=<new@example.org>"},
    {SMFIR_ADDRCPT, B("\0"), -1, "address missing"},
    {SMFIR_ADDRCPT, B(""), -1, "address missing"},
    {SMFIR_DELRCPT, B("<old@example.org>\0"), 0, "addr=<old@example.org>"},
    {SMFIR_ADDRCPT_PAR, B("<a@b>\0NOTIFY=NEVER\0"), 0, "addr=<a@b> args=NOTIFY=NEVER"},
    {SMFIR_ADDRCPT_PAR, B("<a@b>\0NOTIFY"), -1, "arguments not NUL"},
    {SMFIR_CHGFROM, B("<bounce@example.org>\0"), 0, "addr=<bounce@example.org>"},
    {SMFIR_CHGFROM, B("<>\0SIZE=10\0"), 0, "addr=<> args=SIZE=10"},
    {SMFIR_REPLBODY, B("new body\r\n"), 0, "body=new body\r\n"},
    {SMFIR_REPLBODY, B(""), 0, "body="},
    {SMFIR_QUARANTINE, B("looks like spam\0"), 0, "text=looks like spam"},
    {SMFIR_QUARANTINE, B("x"), -1, "not NUL-terminated"},
    {SMFIR_REPLYCODE, B("550 5.7.1 go away\0"), 0, "text=550 5.7.1 go away code=550"},
    {SMFIR_REPLYCODE, B("451\0"), 0, "text=451 code=451"},
    {SMFIR_REPLYCODE, B("250 ok\0"), -1, "4NN or 5NN"},
    {SMFIR_REPLYCODE, B("55 short\0"), -1, "4NN or 5NN"},
    {SMFIR_REPLYCODE, B("550x\0"), -1, "4NN or 5NN"},
    {SMFIR_REPLYCODE, B("550 a\r\nb\0"), -1, "control"},
    {SMFIR_REPLYCODE, B("550 \xc3\xa9\0"), -1, "non-ASCII"},
    {SMFIR_REPLYCODE, B("550 no nul"), -1, "not NUL-terminated"},
    {SMFIR_OPTNEG, B("\0\0\0\6\0\0\0\x3f\0\0\0\x10"), 0, "version=6 actions=0x3f protocol=0x10"},
    {SMFIR_OPTNEG, B("\0\0\0\6\0\0\0\1\0\0\0\0\0\0\0\5{queue_id} i\0"), 0,
     "version=6 actions=0x1 protocol=0x0 sym5={queue_id} i"},
    {SMFIR_OPTNEG, B("\0\0\0\6\0\0\0\1\0\0\0"), -1, "shorter than 12"},
    {SMFIR_OPTNEG, B("\0\0\0\6\0\0\0\1\0\0\0\0\0\0\0\5j"), -1, "truncated macro list"},
    {SMFIR_OPTNEG, B("\0\0\0\6\0\0\0\1\0\0\0\0\0\0\0\7j\0"), -1, "unknown stage"},
    {SMFIR_SETSYMLIST, B("\0\0\0\2{mail_addr}\0"), 0, "index=2 text={mail_addr}"},
    {'Z', B(""), -1, "unknown reply code 0x5a"},
    {'\0', B(""), -1, "unknown reply code 0x00"},
};

/* The set fields of r as "k=v" words. */
static void reply_fields(const struct milter_reply *r, char *buf, size_t cap)
{
    size_t o = 0;
    buf[0] = '\0';
#define F(...) o += (size_t)snprintf(buf + o, cap - o, __VA_ARGS__)
    if (r->code == SMFIR_CHGHEADER || r->code == SMFIR_INSHEADER || r->code == SMFIR_SETSYMLIST)
        F("%sindex=%u", o ? " " : "", r->index);
    if (r->name)
        F("%sname=%s value=%s", o ? " " : "", r->name, r->value);
    if (r->addr)
        F("%saddr=%s", o ? " " : "", r->addr);
    if (r->args)
        F("%sargs=%s", o ? " " : "", r->args);
    if (r->code == SMFIR_REPLBODY)
        F("%sbody=%.*s", o ? " " : "", (int)r->bodylen, (const char *)r->body);
    if (r->text)
        F("%stext=%s", o ? " " : "", r->text);
    if (r->smtp_code)
        F("%scode=%u", o ? " " : "", r->smtp_code);
    if (r->code == SMFIR_OPTNEG) {
        F("%sversion=%u actions=0x%x protocol=0x%x", o ? " " : "", r->opts.version,
          r->opts.actions, r->opts.protocol);
        for (int i = 0; i < MILTER_STAGES; i++)
            if (r->opts.symlist[i])
                F(" sym%d=%s", i, r->opts.symlist[i]);
    }
#undef F
}

static void test_replies(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof reply_cases / sizeof reply_cases[0]; i++) {
        const struct reply_case *c = &reply_cases[i];
        struct milter_pkt p = {c->cmd, c->data, c->len};
        struct milter_reply r;
        char err[160] = "", got[512];
        int rc = milter_reply_parse(&p, &r, err, sizeof err);
        if (rc != c->rc)
            fail_msg("reply case %zu (%c): got rc %d (%s), want %d", i, c->cmd, rc, err, c->rc);
        if (rc < 0) {
            if (!strstr(err, c->want))
                fail_msg("reply case %zu: got reason '%s', want '%s'", i, err, c->want);
            continue;
        }
        reply_fields(&r, got, sizeof got);
        if (strcmp(got, c->want) != 0)
            fail_msg("reply case %zu (%c): got '%s', want '%s'", i, c->cmd, got, c->want);
        assert_int_equal(r.code, c->cmd);
    }
    assert_string_equal(milter_reply_name(SMFIR_REJECT), "reject");
    assert_string_equal(milter_reply_name('Z'), "unknown");
}

/* ---- negotiation ------------------------------------------------------------------------ */

struct neg_case {
    uint32_t version, actions, protocol; /* the milter's reply */
    int rc;
    uint32_t want_version;
    const char *err;
};

static const struct neg_case neg_cases[] = {
    {6, 0x1ff, 0x1fffff, 0, 6, NULL},
    {6, SMFIF_ADDHDRS, SMFIP_NOCONNECT | SMFIP_NOHELO, 0, 6, NULL},
    {2, 0, 0, 0, 2, NULL},
    {7, 0, 0, 0, 6, NULL},
    {1, 0, 0, -1, 0, "too old"},
    {6, 0x200, 0, -1, 0, "actions 0x200"},
    {6, 0, SMFIP_MDS_1M, -1, 0, "protocol flags 0x20000000"},
};

static void test_negotiate(void **state)
{
    (void)state;
    struct milter_opts offer = {6, 0x1ff, 0x1fffff, {0}};
    for (size_t i = 0; i < sizeof neg_cases / sizeof neg_cases[0]; i++) {
        const struct neg_case *c = &neg_cases[i];
        struct milter_opts reply = {c->version, c->actions, c->protocol, {0}}, out;
        char err[160] = "";
        int rc = milter_negotiate(&offer, &reply, &out, err, sizeof err);
        if (rc != c->rc)
            fail_msg("negotiate case %zu: got %d (%s), want %d", i, rc, err, c->rc);
        if (rc < 0 && !strstr(err, c->err))
            fail_msg("negotiate case %zu: got reason '%s', want '%s'", i, err, c->err);
        if (rc == 0 && (out.version != c->want_version || out.actions != c->actions ||
                        out.protocol != c->protocol))
            fail_msg("negotiate case %zu: got version %u actions %x protocol %x", i,
                     out.version, out.actions, out.protocol);
    }
}

/* ---- formatting ------------------------------------------------------------------------- */

static const char *const mac_names[] = {"j", "{daemon_name}"};
static const char *const mac_values[] = {"mx.example", "sluice"};
static const char *const mail_argv[] = {"<a@b.example>", "SIZE=100"};
static const char *const helo_argv[] = {"client.example"};
static uint8_t big[MILTER_CHUNK_MAX + 1];

struct fmt_case {
    int kind;
    const uint8_t *want;
    size_t wantlen; /* 0: must not fit */
};

enum { K_OPTNEG, K_MACROS, K_CONN4, K_CONNU, K_HELO, K_MAIL, K_HEADER, K_EOH, K_BODY,
       K_BODY_TOO_BIG, K_EOM, K_QUIT };

static const struct fmt_case fmt_cases[] = {
    {K_OPTNEG, B("\0\0\0\x0dO\0\0\0\6\0\0\1\xff\0\0\0\x10")},
    {K_MACROS, B("\0\0\0\x24" "DCj\0mx.example\0{daemon_name}\0sluice\0")},
    {K_CONN4, B("\0\0\0\x1d" "Cclient.example\0" "4\x30\x39" "192.0.2.1\0")},
    {K_CONNU, B("\0\0\0\x05" "Cab\0U")},
    {K_HELO, B("\0\0\0\x10" "Hclient.example\0")},
    {K_MAIL, B("\0\0\0\x18" "M<a@b.example>\0SIZE=100\0")},
    {K_HEADER, B("\0\0\0\x0d" "LSubject\0 hi\0")},
    {K_EOH, B("\0\0\0\1N")},
    {K_BODY, B("\0\0\0\x06" "Bx\r\ny\n")},
    {K_BODY_TOO_BIG, NULL, 0},
    {K_EOM, B("\0\0\0\1E")},
    {K_QUIT, B("\0\0\0\1Q")},
};

/* Formats case kind into o; the bytes it reports. */
static size_t fmt_one(struct milter_out *o, int kind)
{
    struct milter_opts offer = {6, 0x1ff, SMFIP_NOBODY, {0}};
    switch (kind) {
    case K_OPTNEG: return milter_fmt_optneg(o, &offer);
    case K_MACROS: return milter_fmt_macros(o, SMFIC_CONNECT, mac_names, mac_values, 2);
    case K_CONN4: return milter_fmt_connect(o, "client.example", '4', 12345, "192.0.2.1");
    case K_CONNU: return milter_fmt_connect(o, "ab", 'U', 0, NULL);
    case K_HELO: return milter_fmt_strings(o, SMFIC_HELO, helo_argv, 1);
    case K_MAIL: return milter_fmt_strings(o, SMFIC_MAIL, mail_argv, 2);
    case K_HEADER: return milter_fmt_header(o, "Subject", " hi");
    case K_EOH: return milter_fmt_data(o, SMFIC_EOH, NULL, 0);
    case K_BODY: return milter_fmt_data(o, SMFIC_BODY, "x\r\ny\n", 5);
    case K_BODY_TOO_BIG: return milter_fmt_data(o, SMFIC_BODY, big, sizeof big);
    case K_EOM: return milter_fmt_data(o, SMFIC_BODYEOB, NULL, 0);
    default: return milter_fmt_data(o, SMFIC_QUIT, NULL, 0);
    }
}

static void test_format(void **state)
{
    (void)state;
    static uint8_t buf[2 * MILTER_CHUNK_MAX];
    for (size_t i = 0; i < sizeof fmt_cases / sizeof fmt_cases[0]; i++) {
        const struct fmt_case *c = &fmt_cases[i];
        struct milter_out o = {buf, sizeof buf, 0, 0, false};
        size_t got = fmt_one(&o, c->kind);
        if (got != c->wantlen || o.len != c->wantlen)
            fail_msg("format case %zu: got %zu bytes (len %zu), want %zu", i, got, o.len,
                     c->wantlen);
        if (got && memcmp(buf, c->want, got) != 0)
            fail_msg("format case %zu: bytes differ", i);
        /* what we format frames back whole */
        struct milter_pkt p;
        if (got && milter_frame(buf, got, MILTER_PKT_MAX, &p) != (ssize_t)got)
            fail_msg("format case %zu: does not frame back", i);
    }
    /* a full chunk fits a 64 KiB packet */
    struct milter_out o = {buf, sizeof buf, 0, 0, false};
    assert_int_equal(milter_fmt_data(&o, SMFIC_BODY, big, MILTER_CHUNK_MAX), MILTER_CHUNK_MAX + 5);
    /* a buffer too small: nothing written, the next packet still starts at the same place */
    uint8_t small[10];
    struct milter_out s = {small, sizeof small, 0, 0, false};
    assert_int_equal(milter_fmt_header(&s, "Subject", "too long for ten"), 0);
    assert_int_equal(s.len, 0);
    assert_int_equal(milter_fmt_data(&s, SMFIC_EOH, NULL, 0), 5);
    assert_int_equal(s.len, 5);
}

/* ---- targets ---------------------------------------------------------------------------- */

struct target_case {
    const char *in;
    int rc;
    const char *want; /* "unix PATH" / "inet HOST PORT", or a substring of the reason */
};

static const struct target_case target_cases[] = {
    {"inet:127.0.0.1:8891", 0, "inet 127.0.0.1 8891"},
    {"inet:[::1]:8891", 0, "inet ::1 8891"},
    {"inet:::1:11332", 0, "inet ::1 11332"},
    {"unix:/run/opendkim/opendkim.sock", 0, "unix /run/opendkim/opendkim.sock"},
    {"unix:relative.sock", -1, "absolute path"},
    {"unix:/" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
     -1, "absolute path"},
    {"inet:localhost:8891", -1, "IP address"},
    {"inet:127.0.0.1", -1, "HOST:PORT"},
    {"inet:127.0.0.1:0", -1, "bad port"},
    {"inet:127.0.0.1:65536", -1, "bad port"},
    {"inet:127.0.0.1:88x", -1, "bad port"},
    {"inet::8891", -1, "HOST:PORT"},
    {"inet:[]:8891", -1, "bad host"},
    {"inet:8891", -1, "HOST:PORT"},
    {"local:/x", -1, "inet:HOST:PORT or unix:/PATH"},
    {"", -1, "inet:HOST:PORT or unix:/PATH"},
};

static void test_targets(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof target_cases / sizeof target_cases[0]; i++) {
        const struct target_case *c = &target_cases[i];
        struct milter_target t;
        char err[160] = "", got[256];
        int rc = milter_target_parse(c->in, &t, err, sizeof err);
        if (rc != c->rc)
            fail_msg("%s: got rc %d (%s), want %d", c->in, rc, err, c->rc);
        if (rc < 0) {
            if (!strstr(err, c->want))
                fail_msg("%s: got reason '%s', want '%s'", c->in, err, c->want);
            continue;
        }
        if (t.unix_socket)
            snprintf(got, sizeof got, "unix %s", t.path);
        else
            snprintf(got, sizeof got, "inet %s %u", t.host, t.port);
        if (strcmp(got, c->want) != 0)
            fail_msg("%s: got '%s', want '%s'", c->in, got, c->want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frame),
        cmocka_unit_test(test_replies),
        cmocka_unit_test(test_negotiate),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_targets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
