/*
 * blkcache/timer.h - the write-back timer on a scheduler thread
 * (//libos/blkcache:timer, image only).
 *
 *     struct blkcache_timer *t;
 *     blkcache_timer_start(c, 500000000, &t);   every 500 ms
 *     ...
 *     blkcache_timer_stop(t);                   before blkcache_close
 *
 * The thread sleeps `period_ns`, then calls blkcache_tick(c,
 * time_monotonic_ns()), so a block written back by it was dirty for
 * between write_back_age_ns and write_back_age_ns + period_ns. It drives
 * the cache between the application's own calls (the scheduler is
 * cooperative; the cache is consistent wherever a thread can park).
 * A write-back error is counted in the cache's statistics and met again
 * by the next flush, which writes the block back once more.
 *
 * While the thread runs, use the device under the cache only through
 * the cache: a thread reading the device directly could have its
 * completion taken by the timer's poll and stay parked.
 */
#ifndef BLKCACHE_TIMER_H
#define BLKCACHE_TIMER_H

#include <blkcache/blkcache.h>

struct blkcache_timer;

/* 0, -EINVAL (period 0), -ENOMEM, -EAGAIN (no thread to be had). */
int blkcache_timer_start(struct blkcache *c, uint64_t period_ns,
                         struct blkcache_timer **out);

/* Stop the thread (waits for its current sleep or tick to end) and
 * free it. */
void blkcache_timer_stop(struct blkcache_timer *t);

#endif /* BLKCACHE_TIMER_H */
