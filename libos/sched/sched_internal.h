/*
 * Private to //libos/sched: the core's state and the joints between
 * core.c, thread.c, waitq.c, stats.c and stack_pool.c.
 */
#ifndef SCHED_INTERNAL_H
#define SCHED_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "thread.h"
#include "timerq.h"

struct sched_core {
    bool ready;
    struct sched_thread *current;
    /* A detached thread that exited: freed once we are off its stack. */
    struct sched_thread *reap;
    struct sched_thread threads[SCHED_MAX_THREADS]; /* [0] is main */
    uint32_t next_id;
    struct sched_timerq timers;
    struct sched_timer *timer_heap[SCHED_MAX_THREADS];
    uint64_t slice_start; /* when current began running (or idle ended) */
    uint64_t start_ns;
    uint64_t switches;
    uint64_t idle_ns;
    uint64_t idle_blocks;
};

extern struct sched_core sched_core;

/* core.c */
_Noreturn void sched_panic(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
/* Initialise if needed and check that interrupts are masked. */
void sched_enter(void);
/* The current thread has left RUNNING (queued, blocked or dead): run
 * the next one. Returns when the current thread is picked again. */
void sched_schedule(void);
/* t (not RUNNING, not queued) becomes READY. */
void sched_make_ready(struct sched_thread *t, bool count_wakeup);
/* Cancel t's wait: off its wait queue and its timer. */
void sched_cancel_wait(struct sched_thread *t);

/* thread.c */
void sched_free_thread(struct sched_thread *t);
/* Deepest stack use of t so far, in bytes (0 if unknown). */
size_t sched_stack_used(const struct sched_thread *t);
/* Stop the image if t's stack canary was overwritten. */
void sched_check_stack(const struct sched_thread *t);

/* stack_pool.c */
void *sched_stack_alloc(void);   /* SCHED_STACK_SIZE bytes, or NULL */
void sched_stack_free(void *stack);

#endif /* SCHED_INTERNAL_H */
