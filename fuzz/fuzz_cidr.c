/* fuzz_cidr: cidr_parse() on arbitrary bytes; an accepted block must be canonical (prefix in
 * range, host bits clear) and must match its own network address. The same bytes are also
 * tried as a textual IP for cidr_sockaddr_parse()/_to_text(). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "proto/cidr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts unless every bit of c beyond its prefix is zero. */
static void check_canonical(const struct cidr *c)
{
    unsigned bits = c->family == AF_INET ? 32 : 128;
    if ((c->family != AF_INET && c->family != AF_INET6) || c->prefix > bits)
        abort();
    for (unsigned b = c->prefix; b < bits; b++)
        if (c->addr[b / 8] & (0x80 >> (b % 8)))
            abort();
}

/* Builds a sockaddr holding c's network address and checks that c matches it. */
static void check_self_match(const struct cidr *c)
{
    struct sockaddr_storage ss;
    char text[64];
    memset(&ss, 0, sizeof ss);
    if (c->family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
        sin->sin_family = AF_INET;
        memcpy(&sin->sin_addr, c->addr, 4);
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
        sin6->sin6_family = AF_INET6;
        memcpy(&sin6->sin6_addr, c->addr, 16);
    }
    if (!cidr_match(c, (struct sockaddr *)&ss) || !cidr_match_any(c, 1, (struct sockaddr *)&ss))
        abort();
    cidr_sockaddr_to_text((struct sockaddr *)&ss, text, sizeof text);
}

/* One input. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cidr c;
    if (cidr_parse((const char *)data, size, &c) == 0) {
        check_canonical(&c);
        check_self_match(&c);
    }
    char ip[80];
    if (size < sizeof ip) {
        struct sockaddr_storage ss;
        socklen_t len;
        char text[64];
        memcpy(ip, data, size);
        ip[size] = '\0';
        if (cidr_sockaddr_parse(ip, 25, &ss, &len) == 0)
            cidr_sockaddr_to_text((struct sockaddr *)&ss, text, sizeof text);
    }
    return 0;
}
