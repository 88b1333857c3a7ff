/*
 * What the timer thread (timer.c) needs of the engine beside the public
 * header: a tick that only queues its work, and whether another thread
 * is parked in the cache's wait (then that thread drives the device,
 * and the timer must not poll it: a completion it consumed would leave
 * that thread waiting for an interrupt that already came).
 */
#ifndef BLKCACHE_INTERNAL_H
#define BLKCACHE_INTERNAL_H

#include <blkcache/blkcache.h>

/* Queue the timer's write-back as a request whose `done` runs from a
 * poll of the cache. 0: queued; 1: nothing to write back (nothing
 * queued, `done` will not run); -ENOMEM. */
int blkcache_tick_submit(struct blkcache *c, uint64_t now_ns,
                         blkdev_done_fn done, void *arg);

/* Threads parked in the cache's wait now. */
uint32_t blkcache_waiters(const struct blkcache *c);

#endif /* BLKCACHE_INTERNAL_H */
