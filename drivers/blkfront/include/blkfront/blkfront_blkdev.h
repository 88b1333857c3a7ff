/*
 * blkfront/blkfront_blkdev.h - blkfront behind <blkdev/blkdev.h>, so a
 * cache or a filesystem drives a Xen vbd and a virtio-blk disk alike
 * (//drivers/blkfront:blkdev).
 *
 *     evtchn_init(); gnttab_init(); xs_init();       (the caller's job,
 *     evtchn_sched_init(); evtchn_sched_start();      as for blkfront)
 *     struct blkdev *bd;
 *     blkfront_blkdev_open("device/vbd/768", &bd);   connected, geometry read
 *
 * Requests go to blkfront's async calls unchanged: its bounce pages are
 * the driver-owned pages the interface promises (a write copied at
 * submit, a read copied into the buffer inside blkdev_poll, just before
 * the callback). Sectors are the disk's own (info.sector_size, from the
 * backend's "sector-size"); blkfront's 512-byte units stay inside.
 * queue_depth is the ring's slots, max_request the negotiated segments
 * times 4096.
 *
 * Flush: BLKDEV_F_FLUSH when the backend offers feature-flush-cache
 * (BLKIF_OP_FLUSH_DISKCACHE) or feature-barrier (a write barrier, which
 * blkback carries out as a flush of the disk's cache too); without
 * either, a flush completes at the next poll with 0 and nothing is sent
 * (the backend promises no cache the guest could empty).
 *
 * Waiting: evtchn_sched_wait on blkfront's event channel port, so only
 * the calling thread parks; -ENOTCONN if //libos/xen/evtchn_sched is not
 * started or the vbd is not connected.
 */
#ifndef BLKFRONT_BLKFRONT_BLKDEV_H
#define BLKFRONT_BLKFRONT_BLKDEV_H

#include <blkdev/blkdev.h>
#include <blkfront/blkfront.h>

/* Requests in flight at most (the largest ring's slots). */
#define BLKFRONT_BLKDEV_DEPTH (32u << BLKFRONT_MAX_RING_ORDER)

/*
 * Open and connect the vbd at `nodename` (blkfront_open +
 * blkfront_wait_connected + blkfront_info). 0, -ENOMEM, or blkfront's
 * error as a negative errno.
 */
int blkfront_blkdev_open(const char *nodename, struct blkdev **out);

/* The blkfront underneath (for its statistics). */
struct blkfront *blkfront_blkdev_blkfront(struct blkdev *bd);

/* Close the vbd (requests in flight complete with -ENOTCONN) and free
 * the adapter. Returns what blkfront_close returned, as an errno. */
int blkfront_blkdev_close(struct blkdev *bd);

#endif /* BLKFRONT_BLKFRONT_BLKDEV_H */
