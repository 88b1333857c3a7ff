/*
 * xenabi/blkif.h - the PV block protocol (blkfront <-> blkback): one ring
 * of <xenabi/ring.h> (xenstore: ring-ref, event-channel), requests that
 * name sectors and the granted pages to move them through.
 *
 * Sectors are 512 bytes in sector_number, first_sect and last_sect,
 * whatever the disk's own sector size (the "sector-size" xenstore node),
 * unless both ends negotiated feature-large-sector-size. One segment is
 * one granted page: sectors first_sect..last_sect (inclusive, 0..7) of it.
 */
#ifndef XENABI_BLKIF_H
#define XENABI_BLKIF_H

#include <xenabi/ring.h>
#include <xenabi/types.h>

#define XENABI_BLKIF_OP_READ 0
#define XENABI_BLKIF_OP_WRITE 1
#define XENABI_BLKIF_OP_WRITE_BARRIER 2   /* if feature-barrier */
#define XENABI_BLKIF_OP_FLUSH_DISKCACHE 3 /* if feature-flush-cache */
#define XENABI_BLKIF_OP_RESERVED_1 4
#define XENABI_BLKIF_OP_DISCARD 5         /* if feature-discard */
#define XENABI_BLKIF_OP_INDIRECT 6        /* if feature-max-indirect-segments */

#define XENABI_BLKIF_SECTOR_SIZE 512
#define XENABI_BLKIF_MAX_SEGMENTS_PER_REQUEST 11

typedef uint16_t xenabi_blkif_vdev_t;

struct xenabi_blkif_request_segment {
    xenabi_grant_ref_t gref;
    uint8_t first_sect; /* first 512-byte sector of the page used */
    uint8_t last_sect;  /* last one, inclusive */
    uint16_t pad0;
};
XENABI_ASSERT_SIZE(struct xenabi_blkif_request_segment, 8);
XENABI_ASSERT_OFFSET(struct xenabi_blkif_request_segment, gref, 0);
XENABI_ASSERT_OFFSET(struct xenabi_blkif_request_segment, first_sect, 4);
XENABI_ASSERT_OFFSET(struct xenabi_blkif_request_segment, last_sect, 5);
XENABI_ASSERT_OFFSET(struct xenabi_blkif_request_segment, pad0, 6);

/* Read, write, barrier and flush requests. */
struct xenabi_blkif_request {
    uint8_t operation;          /* XENABI_BLKIF_OP_* */
    uint8_t nr_segments;        /* 1..MAX_SEGMENTS_PER_REQUEST; 0 for a flush */
    xenabi_blkif_vdev_t handle; /* the device (xenstore virtual-device) */
    uint32_t pad0;
    uint64_t id;                /* ours; echoed in the response */
    uint64_t sector_number;     /* first sector on the disk */
    struct xenabi_blkif_request_segment
        seg[XENABI_BLKIF_MAX_SEGMENTS_PER_REQUEST];
};
XENABI_ASSERT_SIZE(struct xenabi_blkif_request, 112);
XENABI_ASSERT_OFFSET(struct xenabi_blkif_request, operation, 0);
XENABI_ASSERT_OFFSET(struct xenabi_blkif_request, nr_segments, 1);
XENABI_ASSERT_OFFSET(struct xenabi_blkif_request, handle, 2);
XENABI_ASSERT_OFFSET(struct xenabi_blkif_request, pad0, 4);
XENABI_ASSERT_OFFSET(struct xenabi_blkif_request, id, 8);
XENABI_ASSERT_OFFSET(struct xenabi_blkif_request, sector_number, 16);
XENABI_ASSERT_OFFSET(struct xenabi_blkif_request, seg, 24);

/* BLKIF_OP_DISCARD, in the same slot. */
#define XENABI_BLKIF_DISCARD_SECURE (1u << 0) /* if discard-secure */

struct xenabi_blkif_request_discard {
    uint8_t operation; /* XENABI_BLKIF_OP_DISCARD */
    uint8_t flag;      /* XENABI_BLKIF_DISCARD_SECURE or 0 */
    xenabi_blkif_vdev_t handle;
    uint32_t pad0;
    uint64_t id;
    uint64_t sector_number;
    uint64_t nr_sectors;
};
XENABI_ASSERT_SIZE(struct xenabi_blkif_request_discard, 32);
XENABI_ASSERT_OFFSET(struct xenabi_blkif_request_discard, operation, 0);
XENABI_ASSERT_OFFSET(struct xenabi_blkif_request_discard, flag, 1);
XENABI_ASSERT_OFFSET(struct xenabi_blkif_request_discard, handle, 2);
XENABI_ASSERT_OFFSET(struct xenabi_blkif_request_discard, pad0, 4);
XENABI_ASSERT_OFFSET(struct xenabi_blkif_request_discard, id, 8);
XENABI_ASSERT_OFFSET(struct xenabi_blkif_request_discard, sector_number, 16);
XENABI_ASSERT_OFFSET(struct xenabi_blkif_request_discard, nr_sectors, 24);

/*
 * BLKIF_OP_INDIRECT: the segments live in separate granted pages (an
 * array of struct xenabi_blkif_request_segment, 512 per page) and the
 * request names those pages. nr_segments is at most the backend's
 * feature-max-indirect-segments. Note that handle moves to offset 24.
 */
#define XENABI_BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST 8
#define XENABI_BLKIF_SEGS_PER_INDIRECT_PAGE \
    (XENABI_PAGE_SIZE / sizeof(struct xenabi_blkif_request_segment))

struct xenabi_blkif_request_indirect {
    uint8_t operation;    /* XENABI_BLKIF_OP_INDIRECT */
    uint8_t indirect_op;  /* XENABI_BLKIF_OP_READ or _WRITE */
    uint16_t nr_segments;
    uint32_t pad0;
    uint64_t id;
    uint64_t sector_number;
    xenabi_blkif_vdev_t handle;
    uint16_t pad1;
    xenabi_grant_ref_t
        indirect_grefs[XENABI_BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];
    uint32_t pad2;
};
XENABI_ASSERT_SIZE(struct xenabi_blkif_request_indirect, 64);
XENABI_ASSERT_OFFSET(struct xenabi_blkif_request_indirect, operation, 0);
XENABI_ASSERT_OFFSET(struct xenabi_blkif_request_indirect, indirect_op, 1);
XENABI_ASSERT_OFFSET(struct xenabi_blkif_request_indirect, nr_segments, 2);
XENABI_ASSERT_OFFSET(struct xenabi_blkif_request_indirect, pad0, 4);
XENABI_ASSERT_OFFSET(struct xenabi_blkif_request_indirect, id, 8);
XENABI_ASSERT_OFFSET(struct xenabi_blkif_request_indirect, sector_number, 16);
XENABI_ASSERT_OFFSET(struct xenabi_blkif_request_indirect, handle, 24);
XENABI_ASSERT_OFFSET(struct xenabi_blkif_request_indirect, pad1, 26);
XENABI_ASSERT_OFFSET(struct xenabi_blkif_request_indirect, indirect_grefs, 28);
XENABI_ASSERT_OFFSET(struct xenabi_blkif_request_indirect, pad2, 60);

struct xenabi_blkif_response {
    uint64_t id;       /* from the request */
    uint8_t operation; /* from the request */
    uint8_t pad0;
    int16_t status;    /* XENABI_BLKIF_RSP_* */
    uint32_t pad1;
};
XENABI_ASSERT_SIZE(struct xenabi_blkif_response, 16);
XENABI_ASSERT_OFFSET(struct xenabi_blkif_response, id, 0);
XENABI_ASSERT_OFFSET(struct xenabi_blkif_response, operation, 8);
XENABI_ASSERT_OFFSET(struct xenabi_blkif_response, pad0, 9);
XENABI_ASSERT_OFFSET(struct xenabi_blkif_response, status, 10);
XENABI_ASSERT_OFFSET(struct xenabi_blkif_response, pad1, 12);

#define XENABI_BLKIF_RSP_EOPNOTSUPP (-2) /* e.g. an unsupported barrier */
#define XENABI_BLKIF_RSP_ERROR (-1)
#define XENABI_BLKIF_RSP_OKAY 0

/* The "info" xenstore node of a disk. */
#define XENABI_VDISK_CDROM 0x1u
#define XENABI_VDISK_REMOVABLE 0x2u
#define XENABI_VDISK_READONLY 0x4u

union xenabi_blkif_slot {
    struct xenabi_blkif_request req;
    struct xenabi_blkif_request_discard discard;
    struct xenabi_blkif_request_indirect indirect;
    struct xenabi_blkif_response rsp;
};
XENABI_ASSERT_SIZE(union xenabi_blkif_slot, 112);

/* Slots in a ring of 2^order pages (xenstore ring-page-order). */
#define XENABI_BLKIF_RING_SLOTS(order) \
    XENABI_RING_SLOTS(XENABI_PAGE_SIZE << (order), \
                      sizeof(union xenabi_blkif_slot))
_Static_assert(XENABI_BLKIF_RING_SLOTS(0) == 32, "blkif one-page ring slots");

#endif /* XENABI_BLKIF_H */
