/*
 * The timer queue against a model: random inserts, cancellations and
 * expiries, with the heap's shape and every timer's recorded index
 * checked after each step.
 */
#include <stdint.h>
#include <string.h>

#include <stdio.h>
#include <stdlib.h>
#include <testing/check.h>
#include "libos/sched/timerq.h"

#define CAPACITY 64

/* The model: each timer's deadline and insertion number, if queued. */
struct model_entry {
    bool queued;
    uint64_t deadline;
    uint64_t order;
};

static struct sched_timer timers[CAPACITY];
static struct model_entry model[CAPACITY];
static uint64_t model_order;

/* The model's earliest queued timer (deadline, then insertion): index. */
static int model_first(void)
{
    int best = -1;

    for (int i = 0; i < CAPACITY; i++) {
        if (!model[i].queued)
            continue;
        if (best < 0 || model[i].deadline < model[best].deadline
            || (model[i].deadline == model[best].deadline
                && model[i].order < model[best].order))
            best = i;
    }
    return best;
}

static uint32_t model_count(void)
{
    uint32_t n = 0;

    for (int i = 0; i < CAPACITY; i++)
        n += model[i].queued;
    return n;
}

/* The heap property, back-pointers, and agreement with the model. */
static void check_heap(const struct sched_timerq *q)
{
    CHECK(q->count == model_count());
    for (uint32_t i = 0; i < q->count; i++) {
        const struct sched_timer *t = q->heap[i];
        int id = (int)(t - timers);

        CHECK(t->index == i);
        CHECK(id >= 0 && id < CAPACITY && model[id].queued);
        CHECK(t->deadline == model[id].deadline);
        if (i > 0) {
            const struct sched_timer *parent = q->heap[(i - 1) / 2];

            CHECK(parent->deadline < t->deadline
                  || (parent->deadline == t->deadline
                      && parent->seq < t->seq));
        }
    }
    for (int id = 0; id < CAPACITY; id++)
        CHECK(sched_timer_queued(&timers[id]) == model[id].queued);
    int first = model_first();
    const struct sched_timer *peek = sched_timerq_peek(q);
    CHECK(first < 0 ? peek == NULL : peek == &timers[first]);
}

static void test_random(void)
{
    struct sched_timer *storage[CAPACITY];
    struct sched_timerq q;
    uint64_t now = 0;

    sched_timerq_init(&q, storage, CAPACITY);
    memset(model, 0, sizeof model);
    for (int id = 0; id < CAPACITY; id++)
        sched_timer_init(&timers[id]);

    for (int step = 0; step < 200000; step++) {
        int id = (int)rng_below(CAPACITY);
        unsigned op = (unsigned)rng_below(10);

        if (op < 5 && !model[id].queued) {
            /* Few distinct deadlines, so ties are common. */
            uint64_t deadline = now + rng_below(40);

            CHECK(sched_timerq_insert(&q, &timers[id], deadline));
            model[id] = (struct model_entry){true, deadline, model_order++};
        } else if (op < 7 && model[id].queued) {
            sched_timerq_remove(&q, &timers[id]);
            model[id].queued = false;
        } else if (op < 9) {
            /* Time passes; everything due comes out in order. */
            now += rng_below(8);
            for (;;) {
                int first = model_first();
                struct sched_timer *t = sched_timerq_pop_expired(&q, now);

                if (first < 0 || model[first].deadline > now) {
                    CHECK(t == NULL);
                    break;
                }
                if (!CHECK(t == &timers[first]))
                    break;
                CHECK(t->deadline <= now && !sched_timer_queued(t));
                model[first].queued = false;
            }
        }
        check_heap(&q);
    }
}

static void test_full_and_ties(void)
{
    struct sched_timer *storage[3];
    struct sched_timer a, b, c, d;
    struct sched_timerq q;

    sched_timerq_init(&q, storage, 3);
    sched_timer_init(&a);
    sched_timer_init(&b);
    sched_timer_init(&c);
    sched_timer_init(&d);
    CHECK(sched_timerq_pop_expired(&q, UINT64_MAX) == NULL);
    CHECK(sched_timerq_insert(&q, &a, 100));
    CHECK(sched_timerq_insert(&q, &b, 100));
    CHECK(sched_timerq_insert(&q, &c, 50));
    CHECK(!sched_timerq_insert(&q, &d, 10)); /* full */
    CHECK(!sched_timer_queued(&d));
    CHECK(sched_timerq_pop_expired(&q, 49) == NULL);
    CHECK(sched_timerq_pop_expired(&q, 100) == &c);
    CHECK(sched_timerq_pop_expired(&q, 100) == &a); /* tie: first in */
    CHECK(sched_timerq_pop_expired(&q, 100) == &b);
    CHECK(sched_timerq_pop_expired(&q, 100) == NULL);
}

int main(void)
{
    rng_seed(20240601);
    test_full_and_ties();
    test_random();
    return check_finish();
}
