/*
 * The scheduler core: start-up, the run loop, yielding, sleeping,
 * timers and the idle halt. Policy decisions are the policy's
 * (policy.h); this file only moves threads between states.
 */
#include <boot/boot.h>
#ifndef SCHED_HOST_BUILD
#include <platform/xen/xen.h> /* xenplat_interrupts_enabled */
#endif
#include <sched/sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time/time.h>

#include "context.h"
#include "list.h"
#include "policy.h"
#include "sched_internal.h"


struct sched_core sched_core;

_Noreturn void sched_panic(const char *fmt, ...)
{
    va_list ap;

    printf("[sched] panic: ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    platform_exit(BOOT_EXIT_PANIC);
}


void sched_init(void)
{
    struct sched_core *c = &sched_core;

    if (c->ready)
        return;
    time_init();
    sched_policy_reset();
    sched_timerq_init(&c->timers, c->timer_heap, SCHED_MAX_THREADS);

    /* The code that called us, on the boot stack, becomes "main". */
    struct sched_thread *main_thread = &c->threads[0];
    memset(main_thread, 0, sizeof *main_thread);
    main_thread->in_use = true;
    main_thread->id = c->next_id++;
    main_thread->state = SCHED_RUNNING;
    main_thread->priority = SCHED_PRIORITY_DEFAULT;
    strcpy(main_thread->name, "main");
    list_init(&main_thread->link);
    sched_timer_init(&main_thread->timer);
    sched_waitq_init(&main_thread->joiners);
    main_thread->switches = 1;

    c->current = main_thread;
    c->start_ns = c->slice_start = time_monotonic_ns();
    c->ready = true;
}

void sched_enter(void)
{
    /*
     * The scheduler's data has no locks: it relies on interrupts being
     * taken only inside the idle halt. Code that unmasked them would
     * race with the handlers; stop it here rather than corrupt a queue.
     */
#ifndef SCHED_HOST_BUILD
    /*
     * (Not in host test builds: user mode cannot mask interrupts.) On
     * Xen PV "interrupts" are event upcalls, masked by vcpu_info's
     * evtchn_upcall_mask: RFLAGS.IF is always set in ring 3.
     */
    if (xenplat_interrupts_enabled())
        sched_panic("called with interrupts enabled; the library OS runs "
                    "with them masked (see <sched/sched.h>)");
#endif
    sched_init();
}

void sched_make_ready(struct sched_thread *t, bool count_wakeup)
{
    t->state = SCHED_READY;
    if (count_wakeup)
        t->wakeups++;
    sched_policy_enqueue(t);
}

void sched_cancel_wait(struct sched_thread *t)
{
    if (t->waiting_on) {
        list_remove(&t->link);
        t->waiting_on = NULL;
    }
    if (sched_timer_queued(&t->timer))
        sched_timerq_remove(&sched_core.timers, &t->timer);
}

/*
 * Make every thread whose deadline has passed runnable, earliest first,
 * so that the policy sees them in deadline order.
 */
static void expire_timers(void)
{
    struct sched_core *c = &sched_core;
    uint64_t now = time_monotonic_ns();
    struct sched_timer *timer;

    while ((timer = sched_timerq_pop_expired(&c->timers, now)) != NULL) {
        struct sched_thread *t =
            SCHED_CONTAINER_OF(timer, struct sched_thread, timer);

        if (t->state == SCHED_WAITING) {
            sched_cancel_wait(t);
            t->timed_out = true;
        }
        sched_make_ready(t, true);
    }
}

/* Charge the running thread for the CPU time since the last charge. */
static uint64_t charge_current(void)
{
    struct sched_core *c = &sched_core;
    uint64_t now = time_monotonic_ns();

    c->current->run_ns += now - c->slice_start;
    c->slice_start = now;
    return now;
}

/*
 * Nothing is runnable: halt until the earliest deadline or an interrupt
 * (whose handler may wake a thread). The halt is charged to no thread.
 */
static void idle(void)
{
    struct sched_core *c = &sched_core;
    struct sched_timer *next = sched_timerq_peek(&c->timers);
    uint64_t start = charge_current();

    time_block_until(next ? next->deadline : TIME_NEVER);
    uint64_t end = time_monotonic_ns();
    c->idle_ns += end - start;
    c->idle_blocks++;
    c->slice_start = end;
}

static void switch_to(struct sched_thread *prev, struct sched_thread *next)
{
    struct sched_core *c = &sched_core;

    charge_current();
    next->state = SCHED_RUNNING;
    next->switches++;
    c->switches++;
    c->current = next;
    sched_context_switch(&prev->context, &next->context);

    /* Running prev again, on its own stack: free a thread that exited. */
    if (c->reap) {
        sched_free_thread(c->reap);
        c->reap = NULL;
    }
}

void sched_schedule(void)
{
    struct sched_core *c = &sched_core;
    struct sched_thread *prev = c->current, *next;

    /* Every yield point checks the stack, even when no switch follows. */
    sched_check_stack(prev);
    for (;;) {
        expire_timers();
        next = sched_policy_pick();
        if (next)
            break;
        idle();
    }
    if (next == prev) {
        /* Picked again (a lone yielder, or woken while idling here). */
        prev->state = SCHED_RUNNING;
        return;
    }
    switch_to(prev, next);
}

void sched_yield(void)
{
    sched_enter();
    /* Deadlines that passed while we ran go ahead of us. */
    expire_timers();
    sched_make_ready(sched_core.current, false);
    sched_schedule();
}

void sched_sleep_until(uint64_t deadline_ns)
{
    sched_enter();
    struct sched_thread *self = sched_core.current;

    self->state = SCHED_SLEEPING;
    if (!sched_timerq_insert(&sched_core.timers, &self->timer, deadline_ns))
        sched_panic("timer queue full"); /* one timer per thread: never */
    sched_schedule();
}

void sched_sleep_ns(uint64_t ns)
{
    sched_enter();
    uint64_t now = time_monotonic_ns();

    sched_sleep_until(ns > TIME_NEVER - 1 - now ? TIME_NEVER - 1 : now + ns);
}

struct sched_thread *sched_self(void)
{
    sched_enter();
    return sched_core.current;
}
