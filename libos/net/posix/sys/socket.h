/*
 * <sys/socket.h> in an image: lwIP's lwip/sockets.h (socket, bind, listen, accept, connect, send, recv, sendto, recvfrom, setsockopt, getsockopt, shutdown, close).
 * The functions carry their POSIX names (LWIP_COMPAT_SOCKETS 2 in the
 * port's lwipopts.h); a blocking call parks only the calling thread.
 * docs/networking.md.
 */
#ifndef NET_POSIX_SYS_SOCKET_H
#define NET_POSIX_SYS_SOCKET_H

#include <lwip/sockets.h>

#endif
