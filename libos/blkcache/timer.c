/* The write-back timer as a scheduler thread (<blkcache/timer.h>). */
#include <blkcache/timer.h>
#include <errno.h>
#include <sched/sched.h>
#include <stdlib.h>
#include <time/time.h>

struct blkcache_timer {
    struct blkcache *c;
    uint64_t period_ns;
    bool stop;
    struct sched_thread *thread;
};

static int run(void *arg)
{
    struct blkcache_timer *t = arg;
    for (;;) {
        sched_sleep_ns(t->period_ns);
        if (t->stop)
            return 0;
        (void)blkcache_tick(t->c, time_monotonic_ns());
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
