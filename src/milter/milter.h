/* milter: the asynchronous client of one milter for one SMTP session (docs/milter.md),
 * over proto/milter.h; used by chain.h (smtpd.milters, non_smtpd_milters).
 *
 * milter_conn_open(base, target, opts, cb, arg)  connects (inet: or unix:), sends the option
 *     negotiation (version 6, the actions and protocol steps the MTA offers) and calls cb
 *     once with MILTER_CONTINUE when the milter answered with options both accept, or with
 *     the failure's verdict (below). Never NULL.
 * milter_conn_step(c, step, macros, cmd, cb, arg)  sends the step's macros (only those the
 *     milter asked for with SMFIR_SETSYMLIST, when it did) and its command (a whole packet
 *     from proto/milter.h's formatters), then calls cb once with the milter's verdict. A step
 *     the milter declined in negotiation (SMFIP_NO*) is not sent; one it will not answer
 *     (SMFIP_NR_*) is answered CONTINUE once written. At end of message (SMFIC_BODYEOB) the
 *     modification replies (headers, body, recipients, sender, quarantine) are collected
 *     into the result, in the order they came, until the final verdict.
 *     cb always runs from the loop, never inside the call.
 * milter_conn_free(c)  sends SMFIC_QUIT when idle and closes; no callback runs after it.
 *
 * Failures (connect refused or timed out, a reply late by more than the step's timeout, the
 * connection closing, a packet over the negotiated size, an unparsable packet, a reply that
 * is not allowed at that step, a negotiation the MTA cannot accept) end the connection and
 * give opts->default_action as the verdict (MILTER_ACCEPT: the caller stops asking this
 * milter for the rest of the session, MILTER_TEMPFAIL or MILTER_REJECT), with
 * res->failed set and res->why saying what happened. Every reply waited for has a hard
 * size limit (MILTER_PKT_MAX, or the negotiated 256 KiB / 1 MiB).
 */
#ifndef SLUICE_MILTER_CLIENT_H
#define SLUICE_MILTER_CLIENT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/milter.h"

struct event_base;
struct milter_conn;

enum milter_verdict {
    MILTER_CONTINUE, /* go on with the next step */
    MILTER_ACCEPT,   /* accept; stop asking this milter about this message (or session) */
    MILTER_REJECT,   /* 5xx (text: replycode's, else the caller's default) */
    MILTER_TEMPFAIL, /* 4xx */
    MILTER_DISCARD,  /* accept and drop the message */
    MILTER_SKIP,     /* no more body chunks; go on to end of message */
};

struct milter_conn_opts {
    uint32_t actions;  /* SMFIF_* offered */
    uint32_t protocol; /* SMFIP_* offered */
    uint64_t connect_timeout_ms, command_timeout_ms, content_timeout_ms;
    enum milter_verdict default_action; /* MILTER_ACCEPT, MILTER_TEMPFAIL or MILTER_REJECT */
    const char *name;                   /* for logs: the configured target */
};

/* One modification asked for at end of message (the strings and body are copies). */
struct milter_mod {
    char code; /* SMFIR_ADDHEADER, _CHGHEADER, _INSHEADER, _ADDRCPT, _ADDRCPT_PAR, _DELRCPT,
                  _CHGFROM, _REPLBODY, _QUARANTINE */
    uint32_t index;
    char *name, *value, *addr, *args, *text;
    uint8_t *body;
    size_t bodylen;
};

struct milter_result {
    enum milter_verdict verdict;
    bool failed;        /* the milter failed: verdict is the default action */
    char why[160];      /* failed: the reason */
    char reply[512];    /* SMFIR_REPLYCODE: "550 5.7.1 text" (reject/tempfail), else "" */
    struct milter_mod *mods; /* end of message: the modifications, in order */
    size_t nmods;
};

/* Macros for one step: names and values, n pairs. */
struct milter_macros {
    const char *const *names;
    const char *const *values;
    size_t n;
};

typedef void (*milter_conn_fn)(void *arg, const struct milter_result *res);

struct milter_conn *milter_conn_open(struct event_base *base, const struct milter_target *t,
                                     const struct milter_conn_opts *opts, milter_conn_fn cb,
                                     void *arg);
/* step: the SMFIC_* command byte (SMFIC_CONNECT ... SMFIC_BODYEOB); pkt/len the whole
 * packet. -1 (no callback) when a step is still running or the connection has failed. */
int milter_conn_step(struct milter_conn *c, char step, const struct milter_macros *macros,
                     const uint8_t *pkt, size_t len, milter_conn_fn cb, void *arg);
/* SMFIC_ABORT: the message is over (refused or done); the connection stays for the next. */
void milter_conn_abort(struct milter_conn *c);
/* The negotiated options (valid once open succeeded). */
const struct milter_opts *milter_conn_negotiated(const struct milter_conn *c);
void milter_conn_free(struct milter_conn *c);
#endif
