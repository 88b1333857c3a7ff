/*
 * <poll.h> in an image: lwIP's lwip/sockets.h (poll, struct pollfd, POLLIN, POLLOUT).
 * The functions carry their POSIX names (LWIP_COMPAT_SOCKETS 2 in the
 * port's lwipopts.h); a blocking call parks only the calling thread.
 * docs/networking.md.
 */
#ifndef NET_POSIX_POLL_H
#define NET_POSIX_POLL_H

#include <lwip/sockets.h>

#endif
