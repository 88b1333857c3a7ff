/*
 * <arpa/inet.h> in an image: lwIP's lwip/inet.h (inet_addr, inet_aton, inet_ntoa, inet_pton, inet_ntop).
 * The functions carry their POSIX names (LWIP_COMPAT_SOCKETS 2 in the
 * port's lwipopts.h); a blocking call parks only the calling thread.
 * docs/networking.md.
 */
#ifndef NET_POSIX_ARPA_INET_H
#define NET_POSIX_ARPA_INET_H

#include <lwip/inet.h>
#include <lwip/sockets.h> /* inet_pton, inet_ntop */

#endif
