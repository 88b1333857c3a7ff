/*
 * <netinet/in.h> in an image: lwIP's lwip/sockets.h (struct sockaddr_in, sockaddr_in6, IPPROTO_*, INADDR_*, htons and friends).
 * The functions carry their POSIX names (LWIP_COMPAT_SOCKETS 2 in the
 * port's lwipopts.h); a blocking call parks only the calling thread.
 * docs/networking.md.
 */
#ifndef NET_POSIX_NETINET_IN_H
#define NET_POSIX_NETINET_IN_H

#include <lwip/sockets.h>

#endif
