/*
 * The interface between the scheduler core and a scheduling policy.
 *
 * A policy is the run queue: it holds the READY threads and decides
 * which runs next. Each policy is one file defining these functions
 * (and sched_policy_name() of <sched/sched.h>); an image links exactly
 * one, so they need no indirection, and linking two is a duplicate
 * symbol. The core calls them with interrupts masked and keeps the
 * states straight: a thread is enqueued only when it becomes READY and
 * was not queued, and leaves only through sched_policy_pick().
 *
 * Policies use struct sched_thread's `link` and `priority`, nothing
 * else, and are pure (no clock, no devices): the host tests drive them
 * with random sequences against a model.
 */
#ifndef SCHED_POLICY_H
#define SCHED_POLICY_H

#include <stddef.h>

#include "thread.h"

/* Empty the run queue (start-up; tests). */
void sched_policy_reset(void);

/* t became runnable: spawned, yielded, woken or its timer expired. */
void sched_policy_enqueue(struct sched_thread *t);

/* Remove and return the thread to run next; NULL if none is READY. */
struct sched_thread *sched_policy_pick(void);

/* Threads on the run queue. */
size_t sched_policy_count(void);

#endif /* SCHED_POLICY_H */
