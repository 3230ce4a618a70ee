/* peer: one remote SMTP server to connect to (an address with its port, the MX or relay
 * host name it came from, and the configured relay it stands for). Vocabulary shared by
 * route/ (route_peers() builds the list for a destination) and smtpc/ (smtpc_start() tries
 * the list in order); it lives below both so neither includes the other. Header only: no
 * functions, no I/O. struct relay (conf/conf.h) is only named here, never looked into. */
#ifndef SLUICE_PEER_H
#define SLUICE_PEER_H
#include <sys/socket.h>

struct relay;

struct peer {
    struct sockaddr_storage sa; /* with port */
    socklen_t salen;
    char *name; /* MX or relay host name, for logs and remotenets ("" for literals); not
                   owned (route_peers() points it into the destination) */
    const struct relay *relay; /* the relay (its ssl and auth settings), NULL for an MX */
};
#endif
