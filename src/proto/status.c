/* status: enhanced status codes of delivery outcomes (contracts in status.h). Pure.
 *
 * The codes are Postfix's: smtp_connect.c (4.4.1 connect), smtp_trouble.c (4.4.2 lost
 * connection or timeout in a session), smtp_addr.c (4.4.3 DNS trouble, 5.4.4 host or domain
 * not found), smtp_chat.c (a reply without a valid code of its class gets "N.0.0"); null MX
 * gets RFC 7505's 5.1.10 where Postfix says 5.1.0; 4.3.0 for local trouble; 4.5.0 / 5.5.0 for protocol errors; X.4.7 (RFC 3463
 * "delivery time expired", for permanent and persistent transient errors alike) for expiry
 * and delay notices; smtp_proto.c and smtp_sasl_glue.c for TLS and SASL (4.7.4 TLS not
 * offered, 4.7.5 TLS handshake or certificate failure, 4.7.0 SASL authentication). */
#include "proto/status.h"

#include <string.h>

/* Codes per class: [0] temporary, [1] permanent. Indexed by enum status_class. */
static const char *const status_table[][2] = {
    [STATUS_CONNECT] = {"4.4.1", "5.4.1"},  [STATUS_SESSION] = {"4.4.2", "5.4.2"},
    [STATUS_PROTOCOL] = {"4.5.0", "5.5.0"}, [STATUS_DNS] = {"4.4.3", "5.4.3"},
    [STATUS_NO_ROUTE] = {"4.4.4", "5.4.4"}, [STATUS_NULL_MX] = {"4.1.10", "5.1.10"},
    [STATUS_EXPIRED] = {"4.4.7", "5.4.7"},  [STATUS_LOCAL] = {"4.3.0", "5.3.0"},
    [STATUS_SECURITY] = {"4.7.0", "5.7.0"}, [STATUS_TLS_NEEDED] = {"4.7.4", "5.7.4"},
    [STATUS_TLS] = {"4.7.5", "5.7.5"},
};

/* The code of class c for outcome o. */
const char *status_code(enum status_class c, enum outcome o)
{
    if (o == OUTCOME_OK)
        return "2.0.0";
    if ((unsigned)c >= sizeof status_table / sizeof status_table[0])
        c = STATUS_LOCAL; /* not reachable through the enum; never an undefined code */
    return status_table[c][o == OUTCOME_PERMFAIL];
}

/* Number of ASCII digits at s, when it is 1..3; else 0. */
static size_t status_digits(const char *s)
{
    size_t n = 0;
    while (n < 4 && s[n] >= '0' && s[n] <= '9')
        n++;
    return n <= 3 ? n : 0;
}

/* Length of a valid code at s, followed by the end or a space; else 0. */
size_t status_valid(const char *s)
{
    if ((s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.')
        return 0;
    size_t i = 2, d = status_digits(s + i);
    if (d == 0 || s[i + d] != '.')
        return 0;
    i += d + 1;
    d = status_digits(s + i);
    if (d == 0)
        return 0;
    i += d;
    return s[i] == '\0' || s[i] == ' ' ? i : 0;
}

/* True when s starts with a basic reply code "NNN" (200..599) and a space or the end. */
static int status_is_reply(const char *s)
{
    return s[0] >= '2' && s[0] <= '5' && s[1] >= '0' && s[1] <= '9' && s[2] >= '0' &&
           s[2] <= '9' && (s[3] == ' ' || s[3] == '\0');
}

/* True for a class that a status code may have. */
static int status_class_ok(char c)
{
    return c == '2' || c == '4' || c == '5';
}

/* The enhanced status of an outcome text. */
char *status_of(const char *text, enum outcome o, char *out)
{
    const char *code = NULL;
    char cls = o == OUTCOME_OK ? '2' : o == OUTCOME_TEMPFAIL ? '4' : '5';
    size_t n = 0;
    if (text && status_is_reply(text)) {
        if (status_class_ok(text[0])) /* a 3xx out of place keeps the outcome's class */
            cls = text[0];
        code = text[3] == ' ' ? text + 4 : text + 3;
        n = status_valid(code);
        if (n > 0 && code[0] != text[0])
            n = 0; /* a code of another class than the reply's is ignored (RFC 3463 §2) */
    } else if (text) {
        code = text;
        n = status_valid(code);
    }
    if (n == 0) {
        out[0] = cls;
        memcpy(out + 1, ".0.0", 5);
    } else {
        memcpy(out, code, n);
        out[n] = '\0';
    }
    return out;
}
