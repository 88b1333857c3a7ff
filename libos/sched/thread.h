/*
 * A thread as the scheduler keeps it. Private to //libos/sched, but free
 * of anything image-specific, so that the policies and their host tests
 * can use it.
 */
#ifndef SCHED_THREAD_H
#define SCHED_THREAD_H

#include <sched/sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "timerq.h"

/* What the context switch saves of a thread that is not running. */
struct sched_context {
    uint64_t rsp; /* everything else is on the stack, at rsp */
};

struct sched_thread {
    struct sched_context context; /* first: switch.S addresses it */
    /* On the run queue (READY) or on a wait queue (WAITING); never both. */
    struct sched_link link;
    struct sched_timer timer;     /* queued while SLEEPING, or WAITING
                                   * with a deadline */
    struct sched_waitq *waiting_on;
    struct sched_waitq joiners;   /* sched_join() waits here */
    enum sched_state state;
    int priority;
    uint32_t id;
    bool in_use;                  /* the table slot holds a thread */
    bool detached;
    bool joining;                 /* a sched_join() is under way */
    bool timed_out;               /* how the last wait ended */
    char name[SCHED_NAME_MAX];
    char tag[SCHED_TAG_MAX];
    sched_fn fn;
    void *arg;
    int exit_status;
    uint8_t *stack;               /* lowest address; NULL for main */
    size_t stack_size;
    bool pooled_stack;            /* return it to the pool when freed */
    uint64_t switches;
    uint64_t run_ns;
    uint64_t wakeups;
};

#endif /* SCHED_THREAD_H */
