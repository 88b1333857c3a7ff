/*
 * arch/cc.h - the compiler and C library facts lwIP asks its port for
 * (//libos/net). The same file serves the image (freestanding, our libc)
 * and the port's host tests (glibc): __STDC_HOSTED__ tells them apart.
 */
#ifndef NET_PORT_ARCH_CC_H
#define NET_PORT_ARCH_CC_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#if __STDC_HOSTED__
/* glibc: its errno and struct timeval (<sys/time.h>). */
#define LWIP_ERRNO_STDINCLUDE 1
#define LWIP_TIMEVAL_PRIVATE 0
#include <sys/time.h>
#else
/* Our libc's <errno.h> has the values the C standard and the drivers
 * need; lwIP's lwip/errno.h supplies the rest of Linux's (the same
 * numbers, so either header may come first) and uses our libc's one
 * `errno`. lwIP defines struct timeval itself. */
#include <errno.h>
#define LWIP_PROVIDE_ERRNO 1
/* No <inttypes.h> in a freestanding build: the printf formats of lwIP's
 * debug messages, for x86-64 (LP64). */
#define LWIP_NO_INTTYPES_H 1
#define X8_F "02hhx"
#define U16_F "hu"
#define S16_F "hd"
#define X16_F "hx"
#define U32_F "u"
#define S32_F "d"
#define X32_F "x"
#define SZT_F "zu"
#endif

/* A failed lwIP assertion is a bug: say where, and stop the image (or the
 * host test, whose buffered output abort() would otherwise lose). */
#if __STDC_HOSTED__
#define NET_PORT_FLUSH() fflush(NULL)
#else
#define NET_PORT_FLUSH() ((void)0)
#endif
#define LWIP_PLATFORM_ASSERT(x)                                              \
    do {                                                                     \
        printf("lwIP assertion \"%s\" failed at %s:%d\n", (x), __FILE__,     \
               __LINE__);                                                    \
        NET_PORT_FLUSH();                                                    \
        abort();                                                             \
    } while (0)

#define LWIP_PLATFORM_DIAG(x) \
    do {                      \
        printf x;             \
    } while (0)

/* Initial sequence numbers, ephemeral ports, DNS ids: from the boot
 * entropy source (rand.c; host tests define net_port_rand themselves). */
uint32_t net_port_rand(void);
#define LWIP_RAND() ((u32_t)net_port_rand())

#endif /* NET_PORT_ARCH_CC_H */
