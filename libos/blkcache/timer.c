/*
 * The write-back timer as a scheduler thread (<blkcache/timer.h>).
 *
 * The thread shares the device with the application's threads, which
 * <blkdev/blkdev.h> lets only one drive at a time. So it queues its
 * write-back like a request and drives the cache only while no other
 * thread is parked in the cache's wait; otherwise that thread's polls
 * carry it out. Its own waits have a deadline, so a completion another
 * thread consumed never leaves it parked for good.
 */
#include <blkcache/timer.h>
#include <errno.h>
#include <sched/sched.h>
#include <stdlib.h>
#include <time/time.h>

#include "internal.h"

struct blkcache_timer {
    struct blkcache *c;
    uint64_t period_ns;
    bool stop;
    struct sched_thread *thread;
};

struct waiter {
    bool done;
    int status;
};

static void on_done(void *arg, int status)
{
    struct waiter *w = arg;
    w->done = true;
    w->status = status;
}

static void tick(struct blkcache_timer *t)
{
    struct waiter w = {.done = false};
    if (blkcache_tick_submit(t->c, time_monotonic_ns(), on_done, &w) != 0)
        return;
    struct blkdev *bd = blkcache_blkdev(t->c);
    /* `w` is on this stack: stay until the request finished. */
    while (!w.done) {
        if (blkcache_waiters(t->c) > 0) {
            sched_sleep_ns(t->period_ns);
            continue;
        }
        (void)blkdev_poll(bd);
        if (!w.done)
            (void)blkdev_wait(bd, time_monotonic_ns() + t->period_ns);
    }
}

static int run(void *arg)
{
    struct blkcache_timer *t = arg;
    for (;;) {
        sched_sleep_ns(t->period_ns);
        if (t->stop)
            return 0;
        tick(t);
    }
}

int blkcache_timer_start(struct blkcache *c, uint64_t period_ns,
                         struct blkcache_timer **out)
{
    if (c == NULL || period_ns == 0 || out == NULL)
        return -EINVAL;
    struct blkcache_timer *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return -ENOMEM;
    t->c = c;
    t->period_ns = period_ns;
    struct sched_attr attr = {.priority = SCHED_PRIORITY_DEFAULT,
                              .tag = "blkcache"};
    t->thread = sched_spawn("blkcache-timer", run, t, &attr);
    if (t->thread == NULL) {
        free(t);
        return -EAGAIN;
    }
    *out = t;
    return 0;
}

void blkcache_timer_stop(struct blkcache_timer *t)
{
    if (t == NULL)
        return;
    t->stop = true;
    (void)sched_join(t->thread, NULL);
    free(t);
}
