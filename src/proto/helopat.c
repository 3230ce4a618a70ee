/* helopat: rows of the HELO/EHLO pattern table (contract in helopat.h). Pure. */
#include "proto/helopat.h"

#include <string.h>

/* The length of the word at s[*i..len) after skipping blanks; *i at its start. */
static size_t helopat_word(const char *s, size_t len, size_t *i)
{
    while (*i < len && (s[*i] == ' ' || s[*i] == '\t'))
        (*i)++;
    size_t n = 0;
    while (*i + n < len && s[*i + n] != ' ' && s[*i + n] != '\t')
        n++;
    return n;
}

/* Reads the STYLE letters. */
static int helopat_style(const char *s, size_t n, struct helopat *out, const char **why)
{
    if (n == 1 && s[0] == '-')
        return 0;
    for (size_t k = 0; k < n; k++) {
        if (s[k] != 'R') {
            *why = "style letters: sluice implements only R (strict syntax) and - (none)";
            return -1;
        }
        out->strict = true;
    }
    return 0;
}

/* Reads "!TEXT": the rest of the row. */
static int helopat_text(const char *s, size_t n, struct helopat *out, const char **why)
{
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n == 0 || n > HELOPAT_TEXT_MAX) {
        *why = "!TEXT: 1..200 bytes of text";
        return -1;
    }
    for (size_t k = 0; k < n; k++)
        if ((unsigned char)s[k] < ' ' || (unsigned char)s[k] >= 0x7f) {
            *why = "!TEXT: printable ASCII only";
            return -1;
        }
    memcpy(out->text, s, n);
    out->refuse = true;
    return 0;
}

int helopat_parse(const char *s, size_t len, struct helopat *out, const char **why)
{
    size_t i = 0;
    memset(out, 0, sizeof *out);
    size_t n = helopat_word(s, len, &i);
    if (n == 0 || n > HELOPAT_GLOB_MAX) {
        *why = "want GLOB MAXLOAD STYLE or GLOB MAXLOAD !TEXT";
        return -1;
    }
    for (size_t k = 0; k < n; k++) {
        unsigned char c = (unsigned char)s[i + k];
        if (c <= ' ' || c >= 0x7f) {
            *why = "GLOB: printable ASCII only";
            return -1;
        }
        out->glob[k] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    i += n;
    n = helopat_word(s, len, &i);
    if (n == 0 || n > 3) {
        *why = "MAXLOAD: a number 0..999";
        return -1;
    }
    for (size_t k = 0; k < n; k++) {
        if (s[i + k] < '0' || s[i + k] > '9') {
            *why = "MAXLOAD: a number 0..999";
            return -1;
        }
        out->maxload = out->maxload * 10 + (unsigned)(s[i + k] - '0');
    }
    i += n;
    n = helopat_word(s, len, &i);
    if (n == 0) {
        *why = "missing STYLE or !TEXT";
        return -1;
    }
    if (s[i] == '!')
        return helopat_text(s + i + 1, len - i - 1, out, why);
    if (helopat_style(s + i, n, out, why) < 0)
        return -1;
    i += n;
    if (helopat_word(s, len, &i) != 0) {
        *why = "something after STYLE";
        return -1;
    }
    return 0;
}
