/*
 * The timer queue: a binary min-heap of deadlines. Each thread embeds
 * one struct sched_timer (a thread sleeps or waits on at most one
 * deadline at a time), so the heap holds pointers and needs room for
 * SCHED_MAX_THREADS of them, allocated by the caller. Each timer knows
 * its index in the heap, so cancelling (a wait woken before its
 * timeout) is O(log n) rather than a search.
 *
 * Order: earlier deadline first; equal deadlines in insertion order (a
 * sequence number breaks the tie), so threads that sleep until the same
 * moment wake in the order they went to sleep, on every policy.
 *
 * Pure: no clock, no threads. Built and tested on the host too.
 */
#ifndef SCHED_TIMERQ_H
#define SCHED_TIMERQ_H

#include <stdbool.h>
#include <stdint.h>

#define SCHED_TIMER_UNQUEUED UINT32_MAX

struct sched_timer {
    uint64_t deadline; /* monotonic ns */
    uint64_t seq;      /* insertion order, for ties */
    uint32_t index;    /* in the heap, or SCHED_TIMER_UNQUEUED */
};

struct sched_timerq {
    struct sched_timer **heap;
    uint32_t count;
    uint32_t capacity;
    uint64_t next_seq;
};

/* An empty queue in caller-provided storage for `capacity` timers. */
void sched_timerq_init(struct sched_timerq *q, struct sched_timer **storage,
                       uint32_t capacity);

/* A timer that is on no queue. */
void sched_timer_init(struct sched_timer *t);

static inline bool sched_timer_queued(const struct sched_timer *t)
{
    return t->index != SCHED_TIMER_UNQUEUED;
}

/* Queue an unqueued timer; false (nothing done) if the queue is full. */
bool sched_timerq_insert(struct sched_timerq *q, struct sched_timer *t,
                         uint64_t deadline);

/* Take a queued timer off the queue. */
void sched_timerq_remove(struct sched_timerq *q, struct sched_timer *t);

/* The earliest timer, left queued; NULL if the queue is empty. */
struct sched_timer *sched_timerq_peek(const struct sched_timerq *q);

/* The earliest timer if its deadline is <= now, taken off; else NULL. */
struct sched_timer *sched_timerq_pop_expired(struct sched_timerq *q,
                                             uint64_t now);

#endif /* SCHED_TIMERQ_H */
