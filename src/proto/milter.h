/* milter: the Sendmail/Postfix milter protocol, version 6 (libmilter's mfdef.h), pure: no
 * I/O, no globals, no clock. docs/milter.md.
 *
 * A packet is a 4-byte length in network order (counting the command byte and the data),
 * one command byte, then the data. Strings in the data are NUL-terminated; numbers are
 * 32-bit (16-bit for the port of SMFIC_CONNECT), network order.
 *
 * Framing (untrusted bytes from the milter):
 *   milter_frame(buf, len, max, &pkt)  MILTER_INCOMPLETE (0) while a packet is not whole,
 *       -1 when its length is 0 or over max (MILTER_PKT_MAX unless a larger size was
 *       negotiated: MILTER_PKT_MAX_256K / _1M), else the bytes consumed with pkt filled
 *       (cmd, data, len pointing into buf).
 * Replies (the milter's packets, SMFIR_*):
 *   milter_reply_parse(&pkt, &r, err, errlen)  0, or -1 with a reason: an unknown code, a
 *       string not NUL-terminated inside the packet, a reply code that is not "4NN ..." /
 *       "5NN ..." printable text, a header name that is empty or not a field name, an
 *       option negotiation shorter than 12 bytes. Pointers in r point into the packet.
 *   milter_negotiate(offer, reply, &out, err, errlen)  the options both sides use: 0, or
 *       -1 when the milter's version is below 2, it asks for actions or protocol steps the
 *       MTA did not offer.
 * Targets: milter_target_parse("inet:HOST:PORT" | "unix:/PATH") as smtpd.milters spells
 *   them (HOST an IP address, IPv6 in brackets; a port 1..65535; an absolute path that fits
 *   sun_path): 0, or -1 with a reason.
 * Commands (the MTA's packets, SMFIC_*): a builder (struct milter_out) over a caller's
 *   buffer; milter_end() returns the packet's size, or 0 when it did not fit (nothing is
 *   ever written past cap). Helpers format each command: optneg, macros, connect, helo,
 *   mail/rcpt (argument vector), header, eoh, body, eom, abort, quit.
 */
#ifndef SLUICE_MILTER_H
#define SLUICE_MILTER_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define MILTER_VERSION 6
#define MILTER_CHUNK_MAX 65535              /* bytes of body in one SMFIC_BODY */
#define MILTER_PKT_MAX (64 * 1024)           /* bytes of a packet (after the length) */
#define MILTER_PKT_MAX_256K (256 * 1024 - 1) /* with SMFIP_MDS_256K negotiated */
#define MILTER_PKT_MAX_1M (1024 * 1024 - 1)  /* with SMFIP_MDS_1M */
#define MILTER_INCOMPLETE 0
#define MILTER_STAGES 7 /* macro stages, SMFIM_* */

/* Commands the MTA sends. */
enum {
    SMFIC_ABORT = 'A', SMFIC_BODY = 'B', SMFIC_CONNECT = 'C', SMFIC_MACRO = 'D',
    SMFIC_BODYEOB = 'E', SMFIC_HELO = 'H', SMFIC_QUIT_NC = 'K', SMFIC_HEADER = 'L',
    SMFIC_MAIL = 'M', SMFIC_EOH = 'N', SMFIC_OPTNEG = 'O', SMFIC_QUIT = 'Q',
    SMFIC_RCPT = 'R', SMFIC_DATA = 'T', SMFIC_UNKNOWN = 'U',
};

/* Replies a milter sends. */
enum {
    SMFIR_ADDRCPT = '+', SMFIR_DELRCPT = '-', SMFIR_ADDRCPT_PAR = '2', SMFIR_SHUTDOWN = '4',
    SMFIR_ACCEPT = 'a', SMFIR_REPLBODY = 'b', SMFIR_CONTINUE = 'c', SMFIR_DISCARD = 'd',
    SMFIR_CHGFROM = 'e', SMFIR_CONN_FAIL = 'f', SMFIR_ADDHEADER = 'h', SMFIR_INSHEADER = 'i',
    SMFIR_SETSYMLIST = 'l', SMFIR_CHGHEADER = 'm', SMFIR_PROGRESS = 'p', SMFIR_QUARANTINE = 'q',
    SMFIR_REJECT = 'r', SMFIR_SKIP = 's', SMFIR_TEMPFAIL = 't', SMFIR_REPLYCODE = 'y',
    SMFIR_OPTNEG = 'O',
};

/* Actions a milter may take (SMFIF_*). */
enum {
    SMFIF_ADDHDRS = 0x01, SMFIF_CHGBODY = 0x02, SMFIF_ADDRCPT = 0x04, SMFIF_DELRCPT = 0x08,
    SMFIF_CHGHDRS = 0x10, SMFIF_QUARANTINE = 0x20, SMFIF_CHGFROM = 0x40,
    SMFIF_ADDRCPT_PAR = 0x80, SMFIF_SETSYMLIST = 0x100,
};

/* Protocol flags (SMFIP_*): steps the milter does not want, replies it will not send. */
enum {
    SMFIP_NOCONNECT = 0x1, SMFIP_NOHELO = 0x2, SMFIP_NOMAIL = 0x4, SMFIP_NORCPT = 0x8,
    SMFIP_NOBODY = 0x10, SMFIP_NOHDRS = 0x20, SMFIP_NOEOH = 0x40, SMFIP_NR_HDR = 0x80,
    SMFIP_NOUNKNOWN = 0x100, SMFIP_NODATA = 0x200, SMFIP_SKIP = 0x400,
    SMFIP_RCPT_REJ = 0x800, SMFIP_NR_CONN = 0x1000, SMFIP_NR_HELO = 0x2000,
    SMFIP_NR_MAIL = 0x4000, SMFIP_NR_RCPT = 0x8000, SMFIP_NR_DATA = 0x10000,
    SMFIP_NR_UNKN = 0x20000, SMFIP_NR_EOH = 0x40000, SMFIP_NR_BODY = 0x80000,
    SMFIP_HDR_LEADSPC = 0x100000, SMFIP_MDS_256K = 0x10000000, SMFIP_MDS_1M = 0x20000000,
};

/* Macro stages (SMFIM_*): where a SETSYMLIST list applies. */
enum {
    SMFIM_CONNECT = 0, SMFIM_HELO = 1, SMFIM_ENVFROM = 2, SMFIM_ENVRCPT = 3, SMFIM_DATA = 4,
    SMFIM_EOM = 5, SMFIM_EOH = 6,
};

/* One packet inside a buffer. */
struct milter_pkt {
    char cmd;
    const uint8_t *data;
    size_t len; /* bytes of data (the length field less one) */
};

/* Both sides' options. */
struct milter_opts {
    uint32_t version, actions, protocol;
    const char *symlist[MILTER_STAGES]; /* reply only: macros the milter wants, or NULL */
};

/* A parsed reply. */
struct milter_reply {
    char code;          /* SMFIR_* */
    uint32_t index;     /* chgheader, insheader: the header's index (1-based for chg) */
    const char *name;   /* add/chg/insheader */
    const char *value;  /* add/chg/insheader (chgheader: "" deletes) */
    const char *addr;   /* addrcpt, delrcpt, addrcpt_par, chgfrom */
    const char *args;   /* addrcpt_par, chgfrom: ESMTP arguments, or NULL */
    const char *text;   /* replycode: "550 5.7.1 text"; quarantine: the reason */
    unsigned smtp_code; /* replycode: 4NN or 5NN */
    const uint8_t *body; /* replbody */
    size_t bodylen;
    struct milter_opts opts; /* optneg */
};

ssize_t milter_frame(const uint8_t *buf, size_t len, size_t max, struct milter_pkt *pkt);
int milter_reply_parse(const struct milter_pkt *pkt, struct milter_reply *r, char *err,
                       size_t errlen);
int milter_negotiate(const struct milter_opts *offer, const struct milter_opts *reply,
                     struct milter_opts *out, char *err, size_t errlen);
/* The packet size limit that out's protocol flags allow. */
size_t milter_pkt_max(uint32_t protocol);
/* The name of a reply code for logs ("reject"), or "unknown". */
const char *milter_reply_name(char code);

#define MILTER_TARGET_MAX 107 /* a unix path (sun_path less its NUL) */
struct milter_target {
    bool unix_socket;
    char path[MILTER_TARGET_MAX + 1]; /* unix: */
    char host[64];                    /* inet: the IP address, without brackets */
    uint16_t port;
};
int milter_target_parse(const char *s, struct milter_target *t, char *err, size_t errlen);

/* The command builder: writes into p[0..cap). */
struct milter_out {
    uint8_t *p;
    size_t cap, len, start;
    bool overflow;
};
void milter_begin(struct milter_out *o, char cmd);
void milter_put_u32(struct milter_out *o, uint32_t v);
void milter_put_u16(struct milter_out *o, uint16_t v);
void milter_put_bytes(struct milter_out *o, const void *p, size_t n);
void milter_put_str(struct milter_out *o, const char *s); /* with its NUL */
size_t milter_end(struct milter_out *o); /* the packet's bytes, 0 on overflow */

/* Each formats one whole command at o's current end; returns its bytes, or 0 when it does
 * not fit. */
size_t milter_fmt_optneg(struct milter_out *o, const struct milter_opts *offer);
/* SMFIC_MACRO for the command stage (SMFIC_CONNECT, ...): n name/value pairs. */
size_t milter_fmt_macros(struct milter_out *o, char stage, const char *const *names,
                         const char *const *values, size_t n);
/* family: '4', '6', 'L' (local), 'U' (unknown: no port nor address follow). */
size_t milter_fmt_connect(struct milter_out *o, const char *host, char family, uint16_t port,
                          const char *addr);
/* SMFIC_HELO, SMFIC_MAIL/SMFIC_RCPT (argv[0] the address in <>, then ESMTP args). */
size_t milter_fmt_strings(struct milter_out *o, char cmd, const char *const *argv, size_t n);
size_t milter_fmt_header(struct milter_out *o, const char *name, const char *value);
/* SMFIC_BODY (n <= MILTER_CHUNK_MAX), or any data-less command (EOH, BODYEOB, ABORT, QUIT,
 * DATA) with n = 0. */
size_t milter_fmt_data(struct milter_out *o, char cmd, const void *p, size_t n);
#endif
