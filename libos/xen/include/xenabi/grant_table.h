/*
 * xenabi/grant_table.h - sharing pages with another domain (version 1
 * grant tables) and grant_table_op(cmd, arg, count).
 *
 * A domain's grant table is an array of xenabi_grant_entry_v1 in frames
 * Xen owns; an HVM/PVH guest maps them with XENMEM_add_to_physmap (space
 * XENABI_XENMAPSPACE_GRANT_TABLE, idx = frame number), a PV guest with
 * GNTTABOP_setup_table. To share a page, the granting domain fills an
 * entry (frame, domid), then - after a write barrier - sets its flags to
 * GTF_PERMIT_ACCESS (| GTF_READONLY); the entry's index (the grant
 * reference) goes to the peer, usually through xenstore. To revoke, it
 * clears the flags with a compare-and-swap that fails while the peer has
 * the page mapped or is copying (GTF_READING / GTF_WRITING set by Xen).
 */
#ifndef XENABI_GRANT_TABLE_H
#define XENABI_GRANT_TABLE_H

#include <xenabi/types.h>

struct xenabi_grant_entry_v1 {
    uint16_t flags;       /* XENABI_GTF_*; written last when granting */
    xenabi_domid_t domid; /* the domain allowed to use the frame */
    uint32_t frame;       /* the guest frame shared (GFN, or MFN for PV) */
};
XENABI_ASSERT_SIZE(struct xenabi_grant_entry_v1, 8);
XENABI_ASSERT_OFFSET(struct xenabi_grant_entry_v1, flags, 0);
XENABI_ASSERT_OFFSET(struct xenabi_grant_entry_v1, domid, 2);
XENABI_ASSERT_OFFSET(struct xenabi_grant_entry_v1, frame, 4);

#define XENABI_GRANT_ENTRIES_PER_FRAME \
    (XENABI_PAGE_SIZE / sizeof(struct xenabi_grant_entry_v1))

/*
 * The first entries are kept for the toolstack, which uses them to grant
 * the console and xenstore rings to their backends. Allocate from 8 up.
 */
#define XENABI_GNTTAB_NR_RESERVED_ENTRIES 8
#define XENABI_GNTTAB_RESERVED_CONSOLE 0
#define XENABI_GNTTAB_RESERVED_XENSTORE 1

/* flags bits 1:0, the entry's type. */
#define XENABI_GTF_INVALID 0u         /* free, or revoked */
#define XENABI_GTF_PERMIT_ACCESS 1u   /* domid may map or copy the frame */
#define XENABI_GTF_ACCEPT_TRANSFER 2u /* domid may give us a frame */
#define XENABI_GTF_TRANSITIVE 3u      /* v2 only */
#define XENABI_GTF_TYPE_MASK 3u
/* With GTF_PERMIT_ACCESS: */
#define XENABI_GTF_READONLY (1u << 2) /* set by us: no write mappings */
#define XENABI_GTF_READING (1u << 3)  /* set by Xen: the peer is reading it */
#define XENABI_GTF_WRITING (1u << 4)  /* set by Xen: the peer may be writing */
#define XENABI_GTF_PWT (1u << 5)      /* cache attributes of the peer's map */
#define XENABI_GTF_PCD (1u << 6)
#define XENABI_GTF_PAT (1u << 7)
#define XENABI_GTF_SUB_PAGE (1u << 8) /* v2 only */
/* With GTF_ACCEPT_TRANSFER: */
#define XENABI_GTF_TRANSFER_COMMITTED (1u << 2)
#define XENABI_GTF_TRANSFER_COMPLETED (1u << 3)

/* Operations (cmd of grant_table_op; arg points to count structures). */
#define XENABI_GNTTABOP_MAP_GRANT_REF 0
#define XENABI_GNTTABOP_UNMAP_GRANT_REF 1
#define XENABI_GNTTABOP_SETUP_TABLE 2
#define XENABI_GNTTABOP_DUMP_TABLE 3
#define XENABI_GNTTABOP_TRANSFER 4
#define XENABI_GNTTABOP_COPY 5
#define XENABI_GNTTABOP_QUERY_SIZE 6
#define XENABI_GNTTABOP_UNMAP_AND_REPLACE 7
#define XENABI_GNTTABOP_SET_VERSION 8
#define XENABI_GNTTABOP_GET_STATUS_FRAMES 9
#define XENABI_GNTTABOP_GET_VERSION 10
#define XENABI_GNTTABOP_SWAP_GRANT_REF 11
#define XENABI_GNTTABOP_CACHE_FLUSH 12

/*
 * Per-operation status (the hypercall itself may still return 0): check
 * it in each structure.
 */
#define XENABI_GNTST_OKAY 0
#define XENABI_GNTST_GENERAL_ERROR (-1)
#define XENABI_GNTST_BAD_DOMAIN (-2)
#define XENABI_GNTST_BAD_GNTREF (-3)
#define XENABI_GNTST_BAD_HANDLE (-4)
#define XENABI_GNTST_BAD_VIRT_ADDR (-5)
#define XENABI_GNTST_BAD_DEV_ADDR (-6)
#define XENABI_GNTST_NO_DEVICE_SPACE (-7)
#define XENABI_GNTST_PERMISSION_DENIED (-8)
#define XENABI_GNTST_BAD_PAGE (-9)
#define XENABI_GNTST_BAD_COPY_ARG (-10)  /* a copy crosses a page boundary */
#define XENABI_GNTST_ADDRESS_TOO_BIG (-11)
#define XENABI_GNTST_EAGAIN (-12)        /* retry */
#define XENABI_GNTST_NO_SPACE (-13)

/* PV: where are my grant table frames? (HVM/PVH: use add_to_physmap.) */
struct xenabi_gnttab_setup_table {
    xenabi_domid_t dom;         /* in: XENABI_DOMID_SELF */
    uint16_t pad0;
    uint32_t nr_frames;         /* in: frames wanted */
    int16_t status;             /* out: XENABI_GNTST_* */
    uint16_t pad1[3];
    xenabi_handle_t frame_list; /* out: xenabi_pfn_t[nr_frames] */
};
XENABI_ASSERT_SIZE(struct xenabi_gnttab_setup_table, 24);
XENABI_ASSERT_OFFSET(struct xenabi_gnttab_setup_table, dom, 0);
XENABI_ASSERT_OFFSET(struct xenabi_gnttab_setup_table, pad0, 2);
XENABI_ASSERT_OFFSET(struct xenabi_gnttab_setup_table, nr_frames, 4);
XENABI_ASSERT_OFFSET(struct xenabi_gnttab_setup_table, status, 8);
XENABI_ASSERT_OFFSET(struct xenabi_gnttab_setup_table, pad1, 10);
XENABI_ASSERT_OFFSET(struct xenabi_gnttab_setup_table, frame_list, 16);

/* How many grant frames the domain has now and may grow to. */
struct xenabi_gnttab_query_size {
    xenabi_domid_t dom;     /* in: XENABI_DOMID_SELF */
    uint16_t pad0;
    uint32_t nr_frames;     /* out */
    uint32_t max_nr_frames; /* out */
    int16_t status;         /* out */
    uint16_t pad1;
};
XENABI_ASSERT_SIZE(struct xenabi_gnttab_query_size, 16);
XENABI_ASSERT_OFFSET(struct xenabi_gnttab_query_size, dom, 0);
XENABI_ASSERT_OFFSET(struct xenabi_gnttab_query_size, pad0, 2);
XENABI_ASSERT_OFFSET(struct xenabi_gnttab_query_size, nr_frames, 4);
XENABI_ASSERT_OFFSET(struct xenabi_gnttab_query_size, max_nr_frames, 8);
XENABI_ASSERT_OFFSET(struct xenabi_gnttab_query_size, status, 12);
XENABI_ASSERT_OFFSET(struct xenabi_gnttab_query_size, pad1, 14);

/* GNTTABOP_set_version / get_version: stay on (the default) version 1. */
struct xenabi_gnttab_set_version {
    uint32_t version; /* in: wanted; out: in effect */
};
XENABI_ASSERT_SIZE(struct xenabi_gnttab_set_version, 4);
XENABI_ASSERT_OFFSET(struct xenabi_gnttab_set_version, version, 0);

/* Map flags. */
#define XENABI_GNTMAP_DEVICE_MAP (1u << 0)
#define XENABI_GNTMAP_HOST_MAP (1u << 1)
#define XENABI_GNTMAP_READONLY (1u << 2)
#define XENABI_GNTMAP_APPLICATION_MAP (1u << 3)
#define XENABI_GNTMAP_CONTAINS_PTE (1u << 4)

/*
 * Map a page another domain granted us. For an HVM/PVH guest host_addr is
 * the guest-physical address where the page should appear.
 */
struct xenabi_gnttab_map_grant_ref {
    uint64_t host_addr;         /* in */
    uint32_t flags;             /* in: XENABI_GNTMAP_* */
    xenabi_grant_ref_t ref;     /* in */
    xenabi_domid_t dom;         /* in: the granting domain */
    int16_t status;             /* out: XENABI_GNTST_* */
    xenabi_grant_handle_t handle; /* out: for unmap */
    uint64_t dev_bus_addr;      /* out, with GNTMAP_DEVICE_MAP */
};
XENABI_ASSERT_SIZE(struct xenabi_gnttab_map_grant_ref, 32);
XENABI_ASSERT_OFFSET(struct xenabi_gnttab_map_grant_ref, host_addr, 0);
XENABI_ASSERT_OFFSET(struct xenabi_gnttab_map_grant_ref, flags, 8);
XENABI_ASSERT_OFFSET(struct xenabi_gnttab_map_grant_ref, ref, 12);
XENABI_ASSERT_OFFSET(struct xenabi_gnttab_map_grant_ref, dom, 16);
XENABI_ASSERT_OFFSET(struct xenabi_gnttab_map_grant_ref, status, 18);
XENABI_ASSERT_OFFSET(struct xenabi_gnttab_map_grant_ref, handle, 20);
XENABI_ASSERT_OFFSET(struct xenabi_gnttab_map_grant_ref, dev_bus_addr, 24);

struct xenabi_gnttab_unmap_grant_ref {
    uint64_t host_addr;           /* in: as mapped */
    uint64_t dev_bus_addr;        /* in: as mapped, or 0 */
    xenabi_grant_handle_t handle; /* in */
    int16_t status;               /* out */
    uint16_t pad0;
};
XENABI_ASSERT_SIZE(struct xenabi_gnttab_unmap_grant_ref, 24);
XENABI_ASSERT_OFFSET(struct xenabi_gnttab_unmap_grant_ref, host_addr, 0);
XENABI_ASSERT_OFFSET(struct xenabi_gnttab_unmap_grant_ref, dev_bus_addr, 8);
XENABI_ASSERT_OFFSET(struct xenabi_gnttab_unmap_grant_ref, handle, 16);
XENABI_ASSERT_OFFSET(struct xenabi_gnttab_unmap_grant_ref, status, 20);
XENABI_ASSERT_OFFSET(struct xenabi_gnttab_unmap_grant_ref, pad0, 22);

/*
 * Copy bytes between granted pages and/or our own frames, without mapping
 * anything. Neither side may cross a page boundary.
 */
#define XENABI_GNTCOPY_SOURCE_GREF (1u << 0) /* source.u is a grant reference */
#define XENABI_GNTCOPY_DEST_GREF (1u << 1)   /* dest.u is a grant reference */

struct xenabi_gnttab_copy_ptr {
    union {
        xenabi_grant_ref_t ref; /* with GNTCOPY_*_GREF: a grant of domid */
        xenabi_pfn_t gmfn;      /* otherwise: a frame of our own */
    } u;
    xenabi_domid_t domid;
    uint16_t offset; /* byte offset in the page */
    uint32_t pad0;
};
XENABI_ASSERT_SIZE(struct xenabi_gnttab_copy_ptr, 16);
XENABI_ASSERT_OFFSET(struct xenabi_gnttab_copy_ptr, u, 0);
XENABI_ASSERT_OFFSET(struct xenabi_gnttab_copy_ptr, u.ref, 0);
XENABI_ASSERT_OFFSET(struct xenabi_gnttab_copy_ptr, u.gmfn, 0);
XENABI_ASSERT_OFFSET(struct xenabi_gnttab_copy_ptr, domid, 8);
XENABI_ASSERT_OFFSET(struct xenabi_gnttab_copy_ptr, offset, 10);
XENABI_ASSERT_OFFSET(struct xenabi_gnttab_copy_ptr, pad0, 12);

struct xenabi_gnttab_copy {
    struct xenabi_gnttab_copy_ptr source;
    struct xenabi_gnttab_copy_ptr dest;
    uint16_t len;   /* bytes */
    uint16_t flags; /* XENABI_GNTCOPY_* */
    int16_t status; /* out: XENABI_GNTST_* */
    uint16_t pad0;
};
XENABI_ASSERT_SIZE(struct xenabi_gnttab_copy, 40);
XENABI_ASSERT_OFFSET(struct xenabi_gnttab_copy, source, 0);
XENABI_ASSERT_OFFSET(struct xenabi_gnttab_copy, dest, 16);
XENABI_ASSERT_OFFSET(struct xenabi_gnttab_copy, len, 32);
XENABI_ASSERT_OFFSET(struct xenabi_gnttab_copy, flags, 34);
XENABI_ASSERT_OFFSET(struct xenabi_gnttab_copy, status, 36);
XENABI_ASSERT_OFFSET(struct xenabi_gnttab_copy, pad0, 38);

#endif /* XENABI_GRANT_TABLE_H */
