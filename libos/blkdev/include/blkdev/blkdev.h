/*
 * blkdev/blkdev.h - one block device, whatever drives it.
 *
 * A block driver (//drivers/blkfront:blkdev on Xen, //drivers/virtio_blk
 * on QEMU, KVM and Firecracker) fills a struct blkdev with its
 * operations; a cache or a filesystem is written against this header
 * only, so the same appliance runs on either device by its image's deps.
 *
 * Geometry. The device is `sectors` sectors of `sector_size` bytes (a
 * power of two, 512..4096); requests address sectors in that unit and
 * move whole sectors. `max_request` bytes at most per request,
 * `queue_depth` requests in flight at most (then -EAGAIN).
 *
 * Requests. blkdev_submit() queues a read, a write or a flush and
 * returns at once; the driver runs its `done(arg, status)` callback
 * exactly once, from inside blkdev_poll() (never from submit, never from
 * an interrupt), with 0 or a negative errno. Requests in flight may be
 * completed in any order and are not ordered against each other.
 *
 * Memory. The device never sees the caller's buffer: a driver moves data
 * through pages of its own (a write's bytes are copied before submit
 * returns, so the buffer is the caller's again at once; a read's bytes
 * are copied into the buffer inside blkdev_poll(), just before its
 * callback, so a read buffer must stay valid until then). Buffers must be
 * BLKDEV_ALIGN-aligned.
 *
 * Durability (BLKDEV_OP_FLUSH). When a flush completes with 0, every
 * write whose callback ran with 0 before the flush was submitted is on
 * stable storage: it survives the device losing power or the VM being
 * killed. Nothing is said of writes still in flight when the flush was
 * submitted: to order a write after others, wait for their callbacks,
 * flush, then submit it (a barrier is "wait, then flush"). A write's own
 * completion says only that the device has it (possibly in a volatile
 * cache), unless the device has no such cache:
 *
 *   - BLKDEV_F_FLUSH set: the device has (or may have) a volatile write
 *     cache, and a flush empties it.
 *   - BLKDEV_F_FLUSH clear: the device offers no way to flush and says
 *     nothing of a cache; the driver takes it at its word that a
 *     completed write is stable (write-through) and completes a flush
 *     at once (at the next poll) with 0. A driver refuses a device that
 *     claims a write-back cache it cannot flush.
 *
 * Waiting. blkdev_wait() parks the calling thread (only it) until the
 * device may have completed something or the deadline passes;
 * blkdev_poll() then runs the callbacks. The blocking forms
 * (blkdev_read, blkdev_write, blkdev_flush) do submit, poll, wait for
 * one request; other threads run meanwhile. One thread at a time drives
 * one blkdev (the scheduler is cooperative: no call runs concurrently
 * with another).
 *
 * A device that breaks (misbehaves, is reset or closed) completes every
 * request in flight with -EIO or -ENOTCONN in its next poll and refuses
 * new ones; its wait then returns at once, so no caller waits on a dead
 * device.
 *
 * Errors are negative errno values (<errno.h>). docs/storage.md: the
 * implementations and what a flush guarantees on each.
 */
#ifndef BLKDEV_BLKDEV_H
#define BLKDEV_BLKDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BLKDEV_ALIGN 512u /* buffer alignment every driver accepts */

/* Features (struct blkdev_info.features). */
#define BLKDEV_F_FLUSH (1u << 0) /* a flush reaches the device's cache */

enum blkdev_op {
    BLKDEV_OP_READ,
    BLKDEV_OP_WRITE,
    BLKDEV_OP_FLUSH, /* sector, buf and len are ignored */
};

struct blkdev_info {
    uint32_t sector_size; /* bytes, a power of two, 512..4096 */
    uint64_t sectors;     /* capacity in sector_size units */
    bool readonly;        /* writes fail with -EROFS */
    uint32_t features;    /* BLKDEV_F_* */
    uint32_t queue_depth; /* requests in flight at most (>= 1) */
    uint32_t max_request; /* bytes one request may move (>= sector_size) */
};

typedef void (*blkdev_done_fn)(void *arg, int status);

struct blkdev;

struct blkdev_ops {
    int (*submit)(struct blkdev *dev, enum blkdev_op op, uint64_t sector,
                  void *buf, size_t len, blkdev_done_fn done, void *arg);
    int (*poll)(struct blkdev *dev);
    int (*wait)(struct blkdev *dev, uint64_t deadline_ns);
};

struct blkdev {
    const struct blkdev_ops *ops;
    const char *name; /* "virtio-blk@...", "vbd768", ... */
    struct blkdev_info info;
};

/*
 * Queue a request of `len` bytes (a multiple of sector_size, at most
 * max_request) at `sector`. 0: accepted, `done` will run. -EAGAIN when
 * queue_depth requests are in flight (poll, then retry), -EINVAL for a
 * misaligned, empty or partial-sector buffer or an unknown op, -EMSGSIZE
 * above max_request, -ERANGE past the end of the device, -EROFS for a
 * write to a read-only device, -ENOTCONN or -EIO for a device that is
 * closed or broken, -ENOMEM.
 */
static inline int blkdev_submit(struct blkdev *dev, enum blkdev_op op,
                                uint64_t sector, void *buf, size_t len,
                                blkdev_done_fn done, void *arg)
{
    return dev->ops->submit(dev, op, sector, buf, len, done, arg);
}

/* Run the callbacks of completed requests. Returns how many ran, or a
 * negative errno once the device is broken (after failing what was in
 * flight). */
static inline int blkdev_poll(struct blkdev *dev)
{
    return dev->ops->poll(dev);
}

/* Park this thread until the device may have completed a request or the
 * monotonic clock reaches deadline_ns (0: no deadline). 0 or -ETIMEDOUT;
 * -ENOTCONN or -EIO for a device that cannot be waited on. */
static inline int blkdev_wait(struct blkdev *dev, uint64_t deadline_ns)
{
    return dev->ops->wait(dev, deadline_ns);
}

static inline const struct blkdev_info *blkdev_info(const struct blkdev *dev)
{
    return &dev->info;
}

/*
 * Blocking forms: submit (waiting for a free slot while the queue is
 * full), then poll and wait until this request completed; return its
 * status. Only the calling thread parks.
 */
int blkdev_read(struct blkdev *dev, uint64_t sector, void *buf, size_t len);
int blkdev_write(struct blkdev *dev, uint64_t sector, const void *buf,
                 size_t len);
int blkdev_flush(struct blkdev *dev);

#endif /* BLKDEV_BLKDEV_H */
