/*
 * blkcache/blkcache.h - a block cache that is itself a block device.
 *
 * A cache is stacked on a struct blkdev (<blkdev/blkdev.h>) and exposes
 * one, with the same geometry, so whatever is written against the block
 * interface (a filesystem, an appliance) gets a cache by one call:
 *
 *     struct blkcache *c;
 *     blkcache_open(disk, NULL, &c);          defaults: 256 blocks
 *     struct blkdev *bd = blkcache_blkdev(c); use bd instead of disk
 *
 * A cached block is one sector of the device below. Reads that hit are
 * served from memory; runs of misses are read from the device in as
 * few requests as fit.
 *
 * Policies. Two choices, each a component filling one slot; an image
 * links exactly one of each (docs/storage.md, "The block cache"):
 *
 *   write policy, slot "blkcache_write":
 *     //libos/blkcache:write_back     a write completes once in the
 *         cache; dirty blocks go to the device when a flush asks, when
 *         the cache needs their room (capacity), and when the timer
 *         finds them older than write_back_age_ns (blkcache_tick), each
 *         run of consecutive dirty sectors in one device request of at
 *         most max_request. The cache then has a volatile write cache:
 *         BLKDEV_F_FLUSH is set.
 *     //libos/blkcache:write_through  a write completes once the device
 *         completed it; the cache holds no dirty block.
 *   replacement policy, slot "blkcache_replacement":
 *     //libos/blkcache:lru            least recently used.
 *     //libos/blkcache:two_q          2Q (Johnson and Shasha, 1994):
 *         blocks seen once wait in a small FIFO; only a block asked
 *         for again after it left that FIFO enters the main LRU, so a
 *         one-off scan cannot push out a hot set.
 *
 * //libos/blkcache alone is write_back + two_q.
 *
 * Ordering. The cache carries out its requests one at a time, in the
 * order they were submitted (each may use several device requests at
 * once). A flush completes with 0 only after every write submitted
 * before it is on the device and the device's own flush completed with
 * 0, which is what <blkdev/blkdev.h> promises and a little more.
 *
 * Errors from the device reach the caller unchanged: a failed read, a
 * failed write-through, a failed write-back (of a flush, of the timer,
 * or of a block the request needed room for; the block stays dirty and
 * is tried again later, so nothing acknowledged is dropped), a failed
 * device flush.
 *
 * Threads: as for any blkdev, one thread at a time drives the cache;
 * calls never run concurrently (the scheduler is cooperative), and the
 * cache is consistent at its only yield point, the device's wait.
 */
#ifndef BLKCACHE_BLKCACHE_H
#define BLKCACHE_BLKCACHE_H

#include <blkdev/blkdev.h>
#include <stdint.h>

#define BLKCACHE_DEFAULT_BLOCKS 256u
#define BLKCACHE_DEFAULT_AGE_NS UINT64_C(1000000000) /* 1 s */
#define BLKCACHE_DEFAULT_DEPTH 32u

struct blkcache;

struct blkcache_config {
    uint32_t blocks;            /* capacity in device sectors; 0: default */
    uint64_t write_back_age_ns; /* the timer writes back blocks dirty at
                                 * least this long; 0: default */
    uint32_t queue_depth;       /* requests queued at once; 0: default */
};

/*
 * Stack a cache on `lower` (NULL config: defaults). 0, -EINVAL for a bad
 * configuration, -ENOMEM. The cache's blkdev has the lower device's
 * sector size, capacity, read-only flag and max_request; its own
 * queue_depth; BLKDEV_F_FLUSH if the lower device has it or the cache
 * writes back.
 */
int blkcache_open(struct blkdev *lower, const struct blkcache_config *config,
                  struct blkcache **out);

/* The cache as a block device. */
struct blkdev *blkcache_blkdev(struct blkcache *c);

/*
 * The write-back timer. `now_ns` is the caller's monotonic clock; blocks
 * that became dirty are stamped with the latest time given here, and
 * every block dirty since write_back_age_ns or longer before now_ns is
 * written back (without a device flush). Blocking like blkdev_flush: 0,
 * or the first device error. The application calls it from its own
 * loop, or links //libos/blkcache:timer and lets a scheduler thread do
 * it (<blkcache/timer.h>). Call it from the thread that drives the
 * cache. Does nothing under write-through.
 */
int blkcache_tick(struct blkcache *c, uint64_t now_ns);

struct blkcache_stats {
    uint64_t hits;       /* blocks read from the cache */
    uint64_t misses;     /* blocks read from the device */
    uint64_t evictions;  /* blocks dropped to make room */
    uint64_t write_backs; /* dirty blocks written to the device, of which: */
    uint64_t write_backs_flush;    /* by a flush */
    uint64_t write_backs_pressure; /* to make room */
    uint64_t write_backs_timer;    /* by blkcache_tick */
    uint64_t write_back_requests;  /* the device writes they took: each
                                    * a run of consecutive sectors */
    uint64_t flushes;    /* device flushes that completed with 0 */
    uint64_t errors;     /* device requests that failed */
    uint32_t resident;   /* blocks held now */
    uint32_t dirty;      /* of which dirty */
};

void blkcache_get_stats(const struct blkcache *c, struct blkcache_stats *out);

/* "write-back" or "write-through"; "lru" or "2q": what the image linked. */
const char *blkcache_write_policy_name(void);
const char *blkcache_replacement_name(void);

/*
 * Flush (blocking) and free the cache. 0; -EAGAIN while requests are
 * still queued (poll until their callbacks ran, then close); the
 * flush's error, and the cache stays open (its dirty blocks kept), if
 * the flush failed.
 */
int blkcache_close(struct blkcache *c);

/* Free the cache at once, dropping dirty blocks: what a crash does
 * (tests), or the end of a device that is gone. Call it with no request
 * queued (the device may still hold the cache's requests otherwise). */
void blkcache_destroy(struct blkcache *c);

#endif /* BLKCACHE_BLKCACHE_H */
