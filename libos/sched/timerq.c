#include "timerq.h"

#include <stddef.h>

/* Does a fire before b? */
static bool earlier(const struct sched_timer *a, const struct sched_timer *b)
{
    return a->deadline < b->deadline
           || (a->deadline == b->deadline && a->seq < b->seq);
}

static void place(struct sched_timerq *q, uint32_t i, struct sched_timer *t)
{
    q->heap[i] = t;
    t->index = i;
}

/* Move the timer at i up while it is earlier than its parent. */
static void sift_up(struct sched_timerq *q, uint32_t i)
{
    struct sched_timer *t = q->heap[i];

    while (i > 0) {
        uint32_t parent = (i - 1) / 2;

        if (!earlier(t, q->heap[parent]))
            break;
        place(q, i, q->heap[parent]);
        i = parent;
    }
    place(q, i, t);
}

/* Move the timer at i down while a child is earlier. */
static void sift_down(struct sched_timerq *q, uint32_t i)
{
    struct sched_timer *t = q->heap[i];

    for (;;) {
        uint32_t child = 2 * i + 1;

        if (child >= q->count)
            break;
        if (child + 1 < q->count && earlier(q->heap[child + 1], q->heap[child]))
            child++;
        if (!earlier(q->heap[child], t))
            break;
        place(q, i, q->heap[child]);
        i = child;
    }
    place(q, i, t);
}

void sched_timerq_init(struct sched_timerq *q, struct sched_timer **storage,
                       uint32_t capacity)
{
    q->heap = storage;
    q->count = 0;
    q->capacity = capacity;
    q->next_seq = 0;
}

void sched_timer_init(struct sched_timer *t)
{
    t->deadline = 0;
    t->seq = 0;
    t->index = SCHED_TIMER_UNQUEUED;
}

bool sched_timerq_insert(struct sched_timerq *q, struct sched_timer *t,
                         uint64_t deadline)
{
    if (q->count == q->capacity)
        return false;
    t->deadline = deadline;
    t->seq = q->next_seq++;
    place(q, q->count++, t);
    sift_up(q, t->index);
    return true;
}

void sched_timerq_remove(struct sched_timerq *q, struct sched_timer *t)
{
    uint32_t i = t->index;
    struct sched_timer *last = q->heap[--q->count];

    t->index = SCHED_TIMER_UNQUEUED;
    if (last == t)
        return; /* it was the last element: nothing to fill */
    /* Fill the hole with the last timer, which may belong above or below. */
    place(q, i, last);
    sift_up(q, i);
    sift_down(q, last->index);
}

struct sched_timer *sched_timerq_peek(const struct sched_timerq *q)
{
    return q->count ? q->heap[0] : NULL;
}

struct sched_timer *sched_timerq_pop_expired(struct sched_timerq *q,
                                             uint64_t now)
{
    struct sched_timer *first = sched_timerq_peek(q);

    if (!first || first->deadline > now)
        return NULL;
    sched_timerq_remove(q, first);
    return first;
}
