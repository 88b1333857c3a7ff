/*
 * Wait queues: the generic "wait for a wake-up source" of
 * <sched/sched.h>.
 */
#include <sched/sched.h>
#include <stddef.h>
#include <time/time.h>

#include "list.h"
#include "sched_internal.h"

void sched_waitq_init(struct sched_waitq *q)
{
    list_init(&q->waiters);
}

/* A zeroed queue is an empty one: give it its self-pointers. */
static void ensure_initialised(struct sched_waitq *q)
{
    if (q->waiters.next == NULL)
        list_init(&q->waiters);
}

static int wait_common(struct sched_waitq *q, uint64_t deadline_ns)
{
    sched_enter();
    struct sched_thread *self = sched_core.current;

    if (deadline_ns != TIME_NEVER && deadline_ns <= time_monotonic_ns())
        return SCHED_TIMED_OUT; /* nothing to wait for */
    ensure_initialised(q);
    self->state = SCHED_WAITING;
    self->waiting_on = q;
    self->timed_out = false;
    list_push_back(&q->waiters, &self->link);
    if (deadline_ns != TIME_NEVER
        && !sched_timerq_insert(&sched_core.timers, &self->timer,
                                deadline_ns))
        sched_panic("timer queue full"); /* one timer per thread: never */
    sched_schedule();
    return self->timed_out ? SCHED_TIMED_OUT : SCHED_WOKEN;
}

void sched_wait(struct sched_waitq *q)
{
    wait_common(q, TIME_NEVER);
}

int sched_wait_until(struct sched_waitq *q, uint64_t deadline_ns)
{
    return wait_common(q, deadline_ns);
}

int sched_wait_timeout(struct sched_waitq *q, uint64_t timeout_ns)
{
    sched_enter();
    uint64_t now = time_monotonic_ns();

    return wait_common(q, timeout_ns > TIME_NEVER - 1 - now
                              ? TIME_NEVER - 1
                              : now + timeout_ns);
}

/*
 * Also called from interrupt handlers, which run inside the idle halt:
 * then no thread is between states and the queues are consistent. So no
 * sched_enter() (which would initialise, or object to the handler's
 * context): a non-empty queue implies an initialised scheduler.
 */
size_t sched_wake_one(struct sched_waitq *q)
{
    ensure_initialised(q);
    if (list_empty(&q->waiters))
        return 0;
    struct sched_thread *t =
        SCHED_CONTAINER_OF(q->waiters.next, struct sched_thread, link);

    sched_cancel_wait(t);
    t->timed_out = false;
    sched_make_ready(t, true);
    return 1;
}

size_t sched_wake_all(struct sched_waitq *q)
{
    size_t woken = 0;

    while (sched_wake_one(q))
        woken++;
    return woken;
}
