/*
 * arch/cc.h for lwIP's own unit tests on the host (Linux, glibc): the
 * compiler and C library facts lwIP asks its port for. The unikernel's port
 * has its own; this one only serves //third_party/lwip/tests.
 */
#ifndef RULES_UNIKERNEL_LWIP_TEST_CC_H
#define RULES_UNIKERNEL_LWIP_TEST_CC_H

#include <stdio.h>
#include <stdlib.h>

/* errno values and `errno` itself come from the C library (sockets test). */
#define LWIP_ERRNO_STDINCLUDE 1

/* <sys/time.h> (pulled in by <check.h>) already defines struct timeval. */
#define LWIP_TIMEVAL_PRIVATE 0
#include <sys/time.h>

/*
 * A failed lwIP assertion ends the test process with the message; Check
 * runs each test in a child process and reports it as that test's failure.
 */
#define LWIP_PLATFORM_ASSERT(x)                                                   \
    do {                                                                          \
        fprintf(stderr, "lwIP assertion \"%s\" failed at %s:%d\n", (x), __FILE__, \
                __LINE__);                                                        \
        fflush(NULL);                                                             \
        abort();                                                                  \
    } while (0)

#define LWIP_PLATFORM_DIAG(x) \
    do {                      \
        printf x;             \
    } while (0)

/* Deterministic: the same ISNs and ports every run, so results are cacheable. */
#define LWIP_RAND() ((u32_t)rand())

#endif
