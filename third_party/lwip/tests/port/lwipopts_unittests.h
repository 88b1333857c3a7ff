/*
 * What lwIP's unit tests need on top of the port's lwipopts.h
 * (libos/net/port/lwipopts.h, which includes this file last through
 * NET_PORT_LWIPOPTS_EXTRA). Only switches the suites cannot run without:
 * test hooks, statistics they read, and two features they exercise.
 * Everything else (memory from malloc, window and buffer sizes, the
 * protocols, core locking, socket names) is the port's.
 * docs/dependencies.md lists what each switch is for.
 */
#ifndef RULES_UNIKERNEL_LWIPOPTS_UNITTESTS_H
#define RULES_UNIKERNEL_LWIPOPTS_UNITTESTS_H

/* lwIP's test hooks (tcp_active_pcbs exported, timer lists readable) and
 * tcpip_thread_poll_one(), which the sockets suite calls. */
#define LWIP_TESTMODE 1
#define TCPIP_THREAD_TEST 1
/* The SOCKETS suite calls read(), write() and close() meaning lwIP's:
 * its sockets under the POSIX names, as macros (the port's host build
 * keeps lwIP's own names, and an image has real functions). */
#undef LWIP_COMPAT_SOCKETS
#define LWIP_COMPAT_SOCKETS 1
#undef LWIP_POSIX_SOCKETS_IO_NAMES
#define LWIP_POSIX_SOCKETS_IO_NAMES 1

/* The TCP suite steers lwIP's own ISN counter (through tcp_ticks) to
 * known sequence numbers: the port's keyed ISNs are off here. */
#undef LWIP_HOOK_TCP_ISN

/* The suites call lwIP's core from the test thread without the core lock
 * (as code on NO_SYS would): the port's check is off here. */
#undef LWIP_ASSERT_CORE_LOCKED
#define LWIP_ASSERT_CORE_LOCKED()

/* lwIP's clock, set by hand by the TIMERS, IPv4 and IPv6 suites (lwIP's
 * test sys_arch.h declares it; the port's sys_now() reads it in this
 * build: NET_PORT_TEST_CLOCK, port_main.c). */
#include <stdint.h>
extern uint32_t lwip_sys_now;

/* The suites check counters (lwip_stats, MIB-2 for reassembly). */
#undef LWIP_STATS
#define LWIP_STATS 1
#define MIB2_STATS 1
/* lwIP counts heap and pool use also when both come from malloc (the
 * port's MEM_LIBC_MALLOC, MEMP_MEM_MALLOC), but only if asked to; the
 * suites check that a test leaves nothing allocated. */
#define MEM_STATS 1
#define MEMP_STATS 1
/* Each suite checks that a test leaves lwIP's heap empty
 * (lwip_stats.mem.used == 0) while lwIP's timers are pending; with the
 * port's MEMP_MEM_MALLOC the pools' objects, timers among them, are heap,
 * so that check could never hold. Here the pools stay pools (the heap is
 * still the C library's malloc, MEM_LIBC_MALLOC, as in the port). */
#undef MEMP_MEM_MALLOC
#define MEMP_MEM_MALLOC 0

/* Exercised by the ETHARP and NETIF suites; off in the port. */
#undef ETHARP_SUPPORT_STATIC_ENTRIES
#define ETHARP_SUPPORT_STATIC_ENTRIES 1
#define LWIP_NETIF_EXT_STATUS_CALLBACK 1

/* The MEM suite counts illegal frees instead of asserting (it frees a
 * bad pointer on purpose). */
#define LWIP_MEM_ILLEGAL_FREE(msg) /* counted in lwip_stats.mem.illegal */

#endif
