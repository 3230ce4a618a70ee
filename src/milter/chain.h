/* chain: the milters of one session, asked in order (smtpd.milters for an SMTP session,
 * non_smtpd_milters for a picked-up submission); docs/milter.md. Over client.c (one
 * connection per milter, opened at the first step) and edit.c.
 *
 * milter_chain_create(base, targets, n, opts)  targets as milter_target_parse() reads them
 *     (the configuration checked them: one that does not parse fails at its first step).
 * milter_chain_step(ch, step, macros, pkt, len, cb, arg)  SMFIC_CONNECT, _HELO, _MAIL or
 *     _RCPT to each milter in turn: a milter that answers accept (or failed with the default
 *     action accept) is not asked again for the session (connect, HELO) or the message (MAIL,
 *     RCPT); the first reject, tempfail or discard ends the step with it. cb runs once, from
 *     the loop, with MILTER_CONTINUE when every milter let it pass.
 * milter_chain_message(ch, msg, max, macros, cb, arg)  the content to each milter in turn
 *     (DATA, each header field, end of header, the body in chunks of at most 65,535 bytes,
 *     end of message), each one seeing the changes of the ones before: its end-of-message
 *     modifications are applied to msg (edit.h) before the next milter is asked. macros go
 *     with DATA, end of header and end of message. A reject, tempfail or discard ends it; a
 *     modification edit.c refuses ends it with MILTER_TEMPFAIL (why says which).
 * milter_chain_abort(ch)  the message is over (refused, queued or reset): every milter hears
 *     SMFIC_ABORT and is asked again about the next message.
 * milter_chain_free(ch)  closes every connection (SMFIC_QUIT); no callback runs after it.
 * Nothing blocks: each connection is a bufferevent with its timeouts (client.c). */
#ifndef SLUICE_MILTER_CHAIN_H
#define SLUICE_MILTER_CHAIN_H
#include "milter/edit.h"
#include "milter/milter.h"

struct milter_chain;

struct milter_chain_result {
    enum milter_verdict verdict; /* MILTER_CONTINUE, _REJECT, _TEMPFAIL or _DISCARD */
    char reply[512];             /* the milter's own reply ("550 5.7.1 text"), or "" */
    char name[128];              /* the milter that decided ("" for CONTINUE) */
    bool failed;                 /* ... by failing: verdict is its default action */
    char why[200];               /* failed or refused modification: the reason */
};

struct conf;

/* The connection options every milter gets: every action and no-reply flag offered, the
 * milter_*_timeout settings and smtpd.milter_default_action of c. */
void milter_opts_from_conf(const struct conf *c, struct milter_conn_opts *o);

typedef void (*milter_chain_fn)(void *arg, const struct milter_chain_result *res);

struct milter_chain *milter_chain_create(struct event_base *base, char *const *targets,
                                         size_t n, const struct milter_conn_opts *opts);
/* -1 (no callback) while another step or message is running. */
int milter_chain_step(struct milter_chain *ch, char step, const struct milter_macros *macros,
                      const uint8_t *pkt, size_t len, milter_chain_fn cb, void *arg);
int milter_chain_message(struct milter_chain *ch, struct milter_msg *msg, size_t max,
                         const struct milter_macros *macros, milter_chain_fn cb, void *arg);
void milter_chain_abort(struct milter_chain *ch);
void milter_chain_free(struct milter_chain *ch);
#endif
