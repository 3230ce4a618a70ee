/* cmd: parses one SMTP command line received by the server. Pure.
 * Input: one line without its CRLF, at most CMD_LINE_MAX (1000 incl. CRLF, RFC 5321
 * §4.5.3.1.4) bytes. Verbs are case-insensitive. For MAIL and RCPT the path is parsed with
 * addr_parse_path_route() (the first host of a source route in route) and the ESMTP
 * parameters after it are split into name[=value] pairs
 * (at most CMD_PARAMS_MAX). The opts' sloppy/utf8 apply; null_ok is implied by the verb
 * ("<>" for MAIL only). "RCPT TO:<Postmaster>" gives addr "postmaster" (no domain).
 * Arguments holding control bytes other than HTAB are CMD_ERR_ARGS. */
#ifndef SLUICE_CMD_H
#define SLUICE_CMD_H
#include <stdbool.h>
#include <stddef.h>

#include "proto/addr.h"

#define CMD_LINE_MAX 1000
#define CMD_PARAMS_MAX 16

enum cmd_verb {
    CMD_UNKNOWN, CMD_HELO, CMD_EHLO, CMD_MAIL, CMD_RCPT, CMD_DATA, CMD_RSET, CMD_NOOP,
    CMD_QUIT, CMD_VRFY, CMD_EXPN, CMD_HELP, CMD_BDAT, CMD_STARTTLS, CMD_AUTH, CMD_ETRN
};

struct cmd_param {
    const char *name;  /* points into struct cmd.buf, NUL-terminated */
    const char *value; /* NULL when the parameter has no '=' */
};

struct cmd {
    enum cmd_verb verb;
    char addr[ADDR_MAX + 1];   /* MAIL/RCPT: parsed path ("" for <>) */
    char route[ADDR_MAX + 1];  /* MAIL/RCPT: the first host of its source route, or "" */
    const char *arg;           /* HELO/EHLO/VRFY/...: argument text (into buf), "" if none */
    size_t nparams;
    struct cmd_param params[CMD_PARAMS_MAX];
    char buf[CMD_LINE_MAX + 1]; /* private copy the pointers refer to */
};

enum cmd_status {
    CMD_OK = 0,
    CMD_ERR_SYNTAX = -1,   /* 500: unrecognised or malformed command */
    CMD_ERR_ARGS = -2,     /* 501: bad arguments (bad path, bad parameter syntax) */
    CMD_ERR_TOOLONG = -3,  /* 500 5.5.2: line too long */
};

/* Parses line (len bytes, no CRLF, may contain any bytes) into *c. Returns CMD_OK or one of
 * the errors; NUL bytes in the line are a syntax error. */
int cmd_parse(const char *line, size_t len, const struct addr_opts *o, struct cmd *c);
/* Parses a bare ESMTP parameter list ("RET=FULL ENVID=x", as a milter's SMFIR_CHGFROM or
 * SMFIR_ADDRCPT_PAR carries it) into c->params with the rules of MAIL/RCPT parameters
 * (o->sloppy: spaces before, between and after; o->utf8). c->verb is CMD_UNKNOWN, c->addr
 * "". Returns CMD_OK (also for ""), CMD_ERR_TOOLONG past CMD_LINE_MAX - 3 bytes,
 * CMD_ERR_SYNTAX for a NUL, CMD_ERR_ARGS for a malformed or 17th parameter. */
int cmd_parse_params(const char *s, size_t len, const struct addr_opts *o, struct cmd *c);
#endif
