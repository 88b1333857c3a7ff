/*
 * Every //libos/xen:abi header, compiled with -Wpadded and -pedantic:
 * the build fails if any ABI struct has a hole the compiler fills
 * silently, or if the headers lean on a compiler extension by accident.
 * Built for the host (:headers_strict_host) and, freestanding, for the
 * image (:abi_guest_test_lib includes it too).
 */
#include <xenabi/blkif.h>
#include <xenabi/callback.h>
#include <xenabi/console.h>
#include <xenabi/cpuid.h>
#include <xenabi/errno.h>
#include <xenabi/event_channel.h>
#include <xenabi/grant_table.h>
#include <xenabi/hvm.h>
#include <xenabi/hypercall.h>
#include <xenabi/memory.h>
#include <xenabi/netif.h>
#include <xenabi/pv.h>
#include <xenabi/ring.h>
#include <xenabi/sched.h>
#include <xenabi/shared_info.h>
#include <xenabi/start_info.h>
#include <xenabi/types.h>
#include <xenabi/vchan.h>
#include <xenabi/vcpu.h>
#include <xenabi/version.h>
#include <xenabi/xenbus.h>
#include <xenabi/xenstore.h>

/* ISO C wants at least one declaration in a translation unit. */
extern const int xenabi_headers_strict;
const int xenabi_headers_strict = XENABI_NETIF_TX_RING_SLOTS;
