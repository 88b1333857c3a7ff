/*
 * <netdb.h> in an image: lwIP's lwip/netdb.h (getaddrinfo, freeaddrinfo, gethostbyname (lwIP's DNS resolver)).
 * The functions carry their POSIX names (LWIP_COMPAT_SOCKETS 2 in the
 * port's lwipopts.h); a blocking call parks only the calling thread.
 * docs/networking.md.
 */
#ifndef NET_POSIX_NETDB_H
#define NET_POSIX_NETDB_H

#include <lwip/netdb.h>

#endif
