/* policyd: Postfix's policy delegation protocol (SMTPD_POLICY_README), pure.
 * A request is "name=value" lines and an empty line; policyd_attr() appends one line, the
 * value cut at POLICYD_VALUE_MAX and stripped of control bytes (a peer's text cannot end the
 * request or add an attribute). A reply is "name=value" lines ending with an empty line, of
 * at most POLICYD_REPLY_MAX bytes; its "action=" is what counts (other names are ignored,
 * as Postfix does). policyd_action_parse() reads an action as access(5) spells it:
 *   OK, DUNNO, REJECT [text], DEFER [text], DEFER_IF_PERMIT [text], DEFER_IF_REJECT [text],
 *   4NN [x.y.z] text, 5NN [x.y.z] text, HOLD [text], DISCARD [text], PREPEND Name: value,
 *   REDIRECT address, WARN text, INFO text (case-insensitive words; text printable ASCII,
 *   at most POLICYD_TEXT_MAX bytes). A text of REJECT/DEFER* that starts with an enhanced
 *   status code of the right class ("4.2.0 Greylisted") sets the status, as in Postfix.
 *   Anything else is an error.
 * policyd_service_parse() reads a smtpd.policy_services entry:
 *   "inet:HOST:PORT" (HOST an IP address, IPv6 optionally in brackets) or "unix:/PATH", then
 * optional " timeout=DURATION" and " default_action=ACTION" (an action of the form above without
 * text). */
#ifndef SLUICE_POLICYD_H
#define SLUICE_POLICYD_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define POLICYD_REPLY_MAX 4096
#define POLICYD_TEXT_MAX 400
#define POLICYD_VALUE_MAX 512
#define POLICYD_TARGET_MAX 107 /* "unix:" path (sun_path less its NUL) or "inet:" host:port */

enum policyd_action {
    POLICYD_DUNNO,
    POLICYD_OK,
    POLICYD_REJECT,          /* code 5NN (default 554 5.7.1) */
    POLICYD_DEFER,           /* code 4NN (default 450 4.7.1) */
    POLICYD_DEFER_IF_PERMIT, /* 450 4.7.1 unless something else refuses */
    POLICYD_DEFER_IF_REJECT, /* 450 4.7.1 when something else refuses */
    POLICYD_HOLD,
    POLICYD_DISCARD,
    POLICYD_PREPEND,
    POLICYD_REDIRECT,
    POLICYD_WARN,
    POLICYD_INFO,
};

struct policyd_reply {
    enum policyd_action action;
    unsigned code;   /* REJECT/DEFER: the SMTP code (554, 450, or the numeric action's) */
    char status[12]; /* "5.7.1" (the numeric action's, else a default) */
    char text[POLICYD_TEXT_MAX + 1];
};

struct policyd_service {
    bool unix_socket;
    char target[POLICYD_TARGET_MAX + 1]; /* the path, or "host:port" */
    char host[64];                       /* inet: the host (IP or name) */
    uint16_t port;
    uint64_t timeout_ms; /* 0: the global policy_timeout */
    bool has_default;
    struct policyd_reply deflt;
};

/* Parses an action (no newline). 0, or -1 when it is none of the forms above. */
int policyd_action_parse(const char *s, size_t len, struct policyd_reply *r);
/* Reads one reply from buf[0..len): bytes consumed through its empty line (> 0); 0 when
 * incomplete (and len is below POLICYD_REPLY_MAX); -1 when invalid: too long, a line without
 * '=', a NUL, no action, two actions, or an action policyd_action_parse() refuses. */
long policyd_reply_parse(const char *buf, size_t len, struct policyd_reply *r);
/* Appends "name=value\n" to buf (used bytes *o, capacity cap, always NUL-terminated);
 * returns -1 when it does not fit (buf keeps what it had). */
int policyd_attr(char *buf, size_t cap, size_t *o, const char *name, const char *value);
/* Parses a policy_services entry; -1 with *why (static text). */
int policyd_service_parse(const char *s, size_t len, struct policyd_service *out, const char **why);
/* The action's word ("DEFER_IF_PERMIT"). */
const char *policyd_action_name(enum policyd_action a);
#endif
