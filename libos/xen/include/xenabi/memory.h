/*
 * xenabi/memory.h - memory_op(cmd, arg): the guest's memory map, moving
 * pages in and out of the domain, and placing Xen's own pages (shared
 * info, grant table frames) into the guest-physical address space.
 */
#ifndef XENABI_MEMORY_H
#define XENABI_MEMORY_H

#include <xenabi/types.h>

#define XENABI_XENMEM_INCREASE_RESERVATION 0 /* xenabi_memory_reservation */
#define XENABI_XENMEM_DECREASE_RESERVATION 1 /* give frames back (ballooning) */
#define XENABI_XENMEM_MAXIMUM_RAM_PAGE 2
#define XENABI_XENMEM_CURRENT_RESERVATION 3  /* arg: domid_t *; returns pages */
#define XENABI_XENMEM_MAXIMUM_RESERVATION 4  /* arg: domid_t *; returns pages */
#define XENABI_XENMEM_MACHPHYS_MFN_LIST 5
#define XENABI_XENMEM_POPULATE_PHYSMAP 6     /* back guest frames with memory */
#define XENABI_XENMEM_ADD_TO_PHYSMAP 7       /* xenabi_add_to_physmap */
#define XENABI_XENMEM_MEMORY_MAP 9           /* arg: struct xenabi_memory_map */
#define XENABI_XENMEM_MACHINE_MEMORY_MAP 10  /* privileged */
#define XENABI_XENMEM_EXCHANGE 11
#define XENABI_XENMEM_MACHPHYS_MAPPING 12
#define XENABI_XENMEM_MAXIMUM_GPFN 14        /* arg: domid_t *; returns a GFN */
#define XENABI_XENMEM_REMOVE_FROM_PHYSMAP 15 /* xenabi_remove_from_physmap */
#define XENABI_XENMEM_ADD_TO_PHYSMAP_BATCH 23

struct xenabi_memory_reservation {
    xenabi_handle_t extent_start; /* xenabi_pfn_t[nr_extents], in and/or out */
    uint64_t nr_extents;
    uint32_t extent_order;        /* each extent is 2^order frames */
    uint32_t mem_flags;           /* XENABI_XENMEMF_*; 0 is fine */
    xenabi_domid_t domid;         /* XENABI_DOMID_SELF */
    uint16_t pad0[3];
};
XENABI_ASSERT_SIZE(struct xenabi_memory_reservation, 32);
XENABI_ASSERT_OFFSET(struct xenabi_memory_reservation, extent_start, 0);
XENABI_ASSERT_OFFSET(struct xenabi_memory_reservation, nr_extents, 8);
XENABI_ASSERT_OFFSET(struct xenabi_memory_reservation, extent_order, 16);
XENABI_ASSERT_OFFSET(struct xenabi_memory_reservation, mem_flags, 20);
XENABI_ASSERT_OFFSET(struct xenabi_memory_reservation, domid, 24);
XENABI_ASSERT_OFFSET(struct xenabi_memory_reservation, pad0, 26);

/* mem_flags: bits 7:0 limit the machine address width (0 = no limit). */
#define XENABI_XENMEMF_ADDRESS_BITS(bits) (bits)
#define XENABI_XENMEMF_POPULATE_ON_DEMAND (1u << 16)

/* What add_to_physmap maps. */
#define XENABI_XENMAPSPACE_SHARED_INFO 0  /* idx 0: the shared info page */
#define XENABI_XENMAPSPACE_GRANT_TABLE 1  /* idx: grant table frame number */
#define XENABI_XENMAPSPACE_GMFN 2         /* idx: a guest frame, moved */
#define XENABI_XENMAPSPACE_GMFN_RANGE 3   /* idx: first of size guest frames */
#define XENABI_XENMAPSPACE_GMFN_FOREIGN 4 /* batch only: a foreign frame */
#define XENABI_XENMAPSPACE_DEV_MMIO 5     /* Arm only */

/* Grant table space: ask for a v2 status frame instead of a grant frame. */
#define XENABI_XENMAPIDX_GRANT_TABLE_STATUS 0x80000000u

/*
 * Put frame idx of the given space at guest frame gpfn. Whatever was at
 * gpfn before is released, so pick a hole in the memory map (or RAM the
 * guest can spare).
 */
struct xenabi_add_to_physmap {
    xenabi_domid_t domid; /* XENABI_DOMID_SELF */
    uint16_t size;        /* GMFN_RANGE only: number of frames */
    uint32_t space;       /* XENABI_XENMAPSPACE_* */
    uint64_t idx;
    uint64_t gpfn;
};
XENABI_ASSERT_SIZE(struct xenabi_add_to_physmap, 24);
XENABI_ASSERT_OFFSET(struct xenabi_add_to_physmap, domid, 0);
XENABI_ASSERT_OFFSET(struct xenabi_add_to_physmap, size, 2);
XENABI_ASSERT_OFFSET(struct xenabi_add_to_physmap, space, 4);
XENABI_ASSERT_OFFSET(struct xenabi_add_to_physmap, idx, 8);
XENABI_ASSERT_OFFSET(struct xenabi_add_to_physmap, gpfn, 16);

struct xenabi_remove_from_physmap {
    xenabi_domid_t domid;
    uint16_t pad0[3];
    uint64_t gpfn;
};
XENABI_ASSERT_SIZE(struct xenabi_remove_from_physmap, 16);
XENABI_ASSERT_OFFSET(struct xenabi_remove_from_physmap, domid, 0);
XENABI_ASSERT_OFFSET(struct xenabi_remove_from_physmap, pad0, 2);
XENABI_ASSERT_OFFSET(struct xenabi_remove_from_physmap, gpfn, 8);

/*
 * The guest's memory map as the toolstack set it. nr_entries: in, room in
 * buffer; out, entries written. buffer holds BIOS E820 entries of 20
 * bytes each, with no padding between them (struct xenabi_e820_entry).
 */
struct xenabi_memory_map {
    uint32_t nr_entries;
    uint32_t pad0;
    xenabi_handle_t buffer;
};
XENABI_ASSERT_SIZE(struct xenabi_memory_map, 16);
XENABI_ASSERT_OFFSET(struct xenabi_memory_map, nr_entries, 0);
XENABI_ASSERT_OFFSET(struct xenabi_memory_map, pad0, 4);
XENABI_ASSERT_OFFSET(struct xenabi_memory_map, buffer, 8);

/*
 * One E820 entry: 64-bit address, 64-bit length, 32-bit type, 20 bytes in
 * all. A C struct of uint64_t fields would be 24 bytes, so the 64-bit
 * values are kept as 32-bit halves; use the accessors.
 */
struct xenabi_e820_entry {
    uint32_t addr_lo, addr_hi;
    uint32_t size_lo, size_hi;
    uint32_t type; /* 1 RAM, 2 reserved, 3 ACPI, 4 NVS, 5 unusable, ... */
};
XENABI_ASSERT_SIZE(struct xenabi_e820_entry, 20);
XENABI_ASSERT_OFFSET(struct xenabi_e820_entry, addr_lo, 0);
XENABI_ASSERT_OFFSET(struct xenabi_e820_entry, addr_hi, 4);
XENABI_ASSERT_OFFSET(struct xenabi_e820_entry, size_lo, 8);
XENABI_ASSERT_OFFSET(struct xenabi_e820_entry, size_hi, 12);
XENABI_ASSERT_OFFSET(struct xenabi_e820_entry, type, 16);

static inline uint64_t xenabi_e820_addr(const struct xenabi_e820_entry *e)
{
    return (uint64_t)e->addr_hi << 32 | e->addr_lo;
}

static inline uint64_t xenabi_e820_size(const struct xenabi_e820_entry *e)
{
    return (uint64_t)e->size_hi << 32 | e->size_lo;
}

#endif /* XENABI_MEMORY_H */
