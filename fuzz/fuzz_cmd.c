/* fuzz_cmd: cmd_parse and cmd_parse_params (a milter's bare ESMTP arguments) on arbitrary
 * lines under every option combination (first byte); checks the returned status and the
 * pointers into struct cmd. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/cmd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* True when p points inside c->buf. */
static int in_buf(const struct cmd *c, const char *p)
{
    return p >= c->buf && p <= c->buf + CMD_LINE_MAX;
}

/* Aborts when a successful parse breaks the header's promises. */
static void check_cmd(const struct cmd *c, int rc)
{
    if (rc != CMD_OK && rc != CMD_ERR_SYNTAX && rc != CMD_ERR_ARGS && rc != CMD_ERR_TOOLONG)
        abort();
    if (rc != CMD_OK)
        return;
    if (!in_buf(c, c->arg) || c->nparams > CMD_PARAMS_MAX)
        abort();
    if (strnlen(c->addr, sizeof c->addr) > ADDR_MAX)
        abort();
    for (size_t i = 0; i < c->nparams; i++) {
        if (!in_buf(c, c->params[i].name) || c->params[i].name[0] == '\0')
            abort();
        if (c->params[i].value != NULL && (!in_buf(c, c->params[i].value) || c->params[i].value[0] == '\0'))
            abort();
    }
    if (c->verb != CMD_MAIL && c->verb != CMD_RCPT && c->verb != CMD_UNKNOWN &&
        (c->nparams != 0 || c->addr[0] != '\0'))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct cmd c;
    if (size == 0)
        return 0;
    struct addr_opts o = {.null_ok = data[0] & 1, .sloppy = (data[0] >> 1) & 1, .utf8 = (data[0] >> 2) & 1};
    size--;
    char *line = malloc(size ? size : 1);
    if (line == NULL)
        return 0;
    memcpy(line, data + 1, size);
    int rc = cmd_parse(line, size, &o, &c);
    if (rc == CMD_OK && c.verb == CMD_UNKNOWN)
        abort();
    check_cmd(&c, rc);
    if (size > CMD_LINE_MAX - 2 && rc != CMD_ERR_TOOLONG)
        abort();
    rc = cmd_parse_params(line, size, &o, &c);
    check_cmd(&c, rc);
    if (rc == CMD_OK && (c.verb != CMD_UNKNOWN || c.addr[0] != '\0'))
        abort();
    if (size > CMD_LINE_MAX - 3 && rc != CMD_ERR_TOOLONG)
        abort();
    free(line);
    return 0;
}
