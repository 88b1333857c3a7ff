/*
 * virtio_blk/virtio_blk.h - a virtio block device (virtio 1.x, 5.2)
 * behind <blkdev/blkdev.h>.
 *
 *     struct blkdev *bd;
 *     virtio_blk_open_first(&bd);          the first virtio-blk the boot
 *                                          scan found (-ENODEV: none)
 *     blkdev_write(bd, 0, buf, 4096);      (<blkdev/blkdev.h>)
 *     blkdev_flush(bd);
 *
 * One request queue (queue 0). Each of VIRTIO_BLK_SLOTS request slots
 * owns its header, its status byte and VIRTIO_BLK_SLOT_PAGES data pages;
 * a write's bytes are copied into them at submit, a read's out of them
 * in poll, so the device never addresses the caller's memory. A request
 * is one chain: header (device reads), data in segments of at most
 * size_max bytes and at most seg_max of them (VIRTIO_BLK_F_SIZE_MAX,
 * _SEG_MAX), status (device writes).
 *
 * Features negotiated: RO (writes refused with -EROFS), BLK_SIZE (the
 * interface's sector_size; requests go out in 512-byte units as the
 * protocol wants), SEG_MAX, SIZE_MAX, FLUSH. Never CONFIG_WCE: the driver
 * does not switch the device's cache mode. Without FLUSH the device
 * said nothing about a cache, and the driver takes a completed write as
 * stable (BLKDEV_F_FLUSH clear, flushes complete at once); a device that
 * offers CONFIG_WCE (a write-back cache it could switch on) without FLUSH
 * breaks the specification's rule that one needs the other and is
 * refused (-ENOTSUP), since its writes could never be made durable.
 *
 * The device is not trusted. A used element whose id is not a request
 * in flight, whose length is beyond the chain's writable bytes, or
 * whose status byte is not OK/IOERR/UNSUPP, or a read whose length is
 * not its data plus the status byte, breaks the device: it is reset (so
 * it stops using the pages), every request in flight fails with -EIO,
 * and later calls return -EIO. A request the device keeps for longer
 * than VIRTIO_BLK_TIMEOUT_NS breaks it the same way, so no caller waits
 * for ever. A read's bytes are copied out only after its element passed
 * every check.
 */
#ifndef VIRTIO_BLK_VIRTIO_BLK_H
#define VIRTIO_BLK_VIRTIO_BLK_H

#include <blkdev/blkdev.h>
#include <stdint.h>
#include <virtio/virtio.h>

/* Feature bits (virtio 1.x, 5.2.3). */
#define VIRTIO_BLK_F_SIZE_MAX (UINT64_C(1) << 1)
#define VIRTIO_BLK_F_SEG_MAX (UINT64_C(1) << 2)
#define VIRTIO_BLK_F_RO (UINT64_C(1) << 5)
#define VIRTIO_BLK_F_BLK_SIZE (UINT64_C(1) << 6)
#define VIRTIO_BLK_F_FLUSH (UINT64_C(1) << 9)
#define VIRTIO_BLK_F_CONFIG_WCE (UINT64_C(1) << 11)

/* Configuration space offsets (5.2.4). */
#define VIRTIO_BLK_CFG_CAPACITY 0u  /* u64, 512-byte sectors */
#define VIRTIO_BLK_CFG_SIZE_MAX 8u  /* u32 */
#define VIRTIO_BLK_CFG_SEG_MAX 12u  /* u32 */
#define VIRTIO_BLK_CFG_BLK_SIZE 20u /* u32 */

/* Request header (5.2.6). */
struct virtio_blk_req_hdr {
    uint32_t type;
    uint32_t reserved;
    uint64_t sector; /* 512-byte units */
};
_Static_assert(sizeof(struct virtio_blk_req_hdr) == 16, "virtio_blk hdr");

#define VIRTIO_BLK_T_IN 0u
#define VIRTIO_BLK_T_OUT 1u
#define VIRTIO_BLK_T_FLUSH 4u
#define VIRTIO_BLK_S_OK 0u
#define VIRTIO_BLK_S_IOERR 1u
#define VIRTIO_BLK_S_UNSUPP 2u

#define VIRTIO_BLK_SLOTS 16u      /* requests in flight at most */
#define VIRTIO_BLK_SLOT_PAGES 16u /* 64 KiB: the largest request */
#define VIRTIO_BLK_POLL_NS 1000000u
#define VIRTIO_BLK_IRQ_RECHECK_NS 100000000u
#define VIRTIO_BLK_TIMEOUT_NS UINT64_C(30000000000) /* 30 s */

struct virtio_blk;

struct virtio_blk_stats {
    uint64_t reads, writes, flushes; /* requests completed with 0 */
    uint64_t errors;       /* completed with another status */
    uint64_t full;         /* submits refused with -EAGAIN */
    uint64_t bad_status;   /* status byte not one the protocol defines */
    uint64_t bad_len;      /* length wrong for the request */
    uint64_t bad_id, bad_idx; /* struct virtq_stats */
    uint64_t timeouts;     /* requests the device kept too long */
    bool broken;
    bool interrupts;
};

/*
 * Bring up `dev` (a VIRTIO_ID_BLOCK device): negotiate, read and check
 * the configuration, set up the queue, DRIVER_OK. -ENODEV if dev is not
 * a block device, -ENOTSUP if it is not virtio 1.0 or claims a cache it
 * cannot flush, -EIO for a configuration that makes no sense (capacity
 * 0, a block size that is not a power of two in 512..4096, size_max
 * below it), -ENOMEM. seg_max 0 is taken as 1, as when absent.
 */
int virtio_blk_open(struct virtio_dev *dev, const struct virtio_env *env,
                    struct virtio_blk **out);

struct blkdev *virtio_blk_blkdev(struct virtio_blk *vb);

/* The virtio_blk behind a blkdev, or NULL if another driver has it. */
struct virtio_blk *virtio_blk_from_blkdev(struct blkdev *bd);

void virtio_blk_get_stats(const struct virtio_blk *vb,
                          struct virtio_blk_stats *out);

/* Reset the device and fail what is in flight (-ENOTCONN, at the next
 * poll); the memory is not freed. */
void virtio_blk_close(struct virtio_blk *vb);

/* Image only (//drivers/virtio_blk): open the first virtio-blk device
 * found at boot. -ENODEV if there is none. */
int virtio_blk_open_first(struct blkdev **out);

#endif /* VIRTIO_BLK_VIRTIO_BLK_H */
