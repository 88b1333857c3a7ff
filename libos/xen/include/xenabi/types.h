/*
 * xenabi/types.h - the vocabulary shared by every Xen interface: the page
 * size, domain ids, frame numbers, grant references, event channel ports,
 * and how a buffer is handed to the hypervisor.
 *
 * //libos/xen:abi is this project's own description of the Xen guest ABI
 * for x86_64: hypercall numbers and argument structures, the pages Xen
 * shares with a guest, and the split-driver protocols (xenstore, console,
 * netif, blkif, vchan). Everything is a constant, a plain struct or a
 * static inline function; there is nothing to link.
 *
 * Rules every header here follows:
 *   - names start with xenabi_ / XENABI_, so these headers can sit next to
 *     Xen's own <xen/...> headers in one translation unit (the oracle test
 *     in tests/ does exactly that);
 *   - struct fields are fixed-width, every hole the x86_64 ABI would leave
 *     is a named pad field (must be zero), and size and offsets are pinned
 *     with _Static_assert right after the struct;
 *   - the values and layouts are compared with Xen's public headers
 *     (Debian's libxen-dev) by //libos/xen/tests:abi_oracle_test.
 */
#ifndef XENABI_TYPES_H
#define XENABI_TYPES_H

#include <stddef.h>
#include <stdint.h>

/* Pin a layout: a wrong size or offset stops the build, not the boot. */
#define XENABI_ASSERT_SIZE(type, bytes) \
    _Static_assert(sizeof(type) == (bytes), "size of " #type)
#define XENABI_ASSERT_OFFSET(type, field, offset) \
    _Static_assert(offsetof(type, field) == (offset), #type "." #field)

/*
 * Rings, grants and hypercall buffers count in 4 KiB frames, whatever
 * page size the guest maps them with.
 */
#define XENABI_PAGE_SHIFT 12
#define XENABI_PAGE_SIZE (1u << XENABI_PAGE_SHIFT)

/* A frame number: guest-physical (GFN/PFN) or machine (MFN) by context. */
typedef uint64_t xenabi_pfn_t;

/* Domain ids. Values from 0x7ff0 on name something other than a guest. */
typedef uint16_t xenabi_domid_t;
#define XENABI_DOMID_FIRST_RESERVED 0x7ff0u
#define XENABI_DOMID_SELF 0x7ff0u    /* the calling domain */
#define XENABI_DOMID_IO 0x7ff1u      /* owner of I/O memory (privileged) */
#define XENABI_DOMID_XEN 0x7ff2u     /* the hypervisor itself */
#define XENABI_DOMID_COW 0x7ff3u     /* owner of shared copy-on-write pages */
#define XENABI_DOMID_INVALID 0x7ff4u /* owner unknown */
#define XENABI_DOMID_IDLE 0x7fffu
#define XENABI_DOMID_MASK 0x7fffu

/* Index into a domain's grant table (see <xenabi/grant_table.h>). */
typedef uint32_t xenabi_grant_ref_t;
/* What GNTTABOP_map_grant_ref returns, to unmap the mapping later. */
typedef uint32_t xenabi_grant_handle_t;
/* Event channel port number (see <xenabi/event_channel.h>). */
typedef uint32_t xenabi_evtchn_port_t;

/*
 * A hypercall argument that points at guest memory ("guest handle") is the
 * guest-virtual address of the buffer, 64 bits wide. Xen walks the
 * caller's page tables to reach it, so it must stay mapped for the call.
 */
typedef uint64_t xenabi_handle_t;

static inline xenabi_handle_t xenabi_handle(const volatile void *buffer)
{
    return (xenabi_handle_t)(uintptr_t)buffer;
}

#endif /* XENABI_TYPES_H */
