/*
 * A scheduling policy against a model. The same file is built once per
 * policy (tests/BUILD.bazel); sched_policy_name() says which model
 * applies:
 *
 *   fifo      the thread enqueued longest ago runs next;
 *   priority  the highest priority runs next, the longest-queued among
 *             equals.
 *
 * Random enqueues (of threads not queued) and picks, with priorities
 * drawn from a few levels so that ties are common, plus the yield
 * pattern the core uses (pick, then enqueue the picked thread again).
 */
#include <string.h>

#include <stdio.h>
#include <stdlib.h>
#include <testing/check.h>
#include "libos/sched/policy.h"

#define THREADS 48

static struct sched_thread threads[THREADS];
static bool queued[THREADS];
static uint64_t queued_at[THREADS];
static uint64_t clock_ticks;
static bool by_priority;

static int model_pick(void)
{
    int best = -1;

    for (int i = 0; i < THREADS; i++) {
        if (!queued[i])
            continue;
        if (best < 0) {
            best = i;
            continue;
        }
        if (by_priority && threads[i].priority != threads[best].priority) {
            if (threads[i].priority > threads[best].priority)
                best = i;
        } else if (queued_at[i] < queued_at[best]) {
            best = i;
        }
    }
    return best;
}

static size_t model_count(void)
{
    size_t n = 0;

    for (int i = 0; i < THREADS; i++)
        n += queued[i];
    return n;
}

static void enqueue(int i)
{
    sched_policy_enqueue(&threads[i]);
    queued[i] = true;
    queued_at[i] = clock_ticks++;
}

/* Pick with both, compare; return the index picked (or -1). */
static int pick(void)
{
    int want = model_pick();
    struct sched_thread *got = sched_policy_pick();

    if (want < 0) {
        CHECK(got == NULL);
        return -1;
    }
    if (!CHECK(got == &threads[want])) {
        fprintf(stderr, "  wanted thread %d (prio %d), got %d\n", want,
                threads[want].priority, got ? (int)(got - threads) : -1);
        return -1;
    }
    queued[want] = false;
    return want;
}

static void reset(void)
{
    sched_policy_reset();
    memset(threads, 0, sizeof threads);
    memset(queued, 0, sizeof queued);
    for (int i = 0; i < THREADS; i++) {
        /* Levels 0, 8, 16, 24 and 31 only: many ties. */
        static const int levels[] = {0, 8, 16, 24, SCHED_PRIORITY_MAX};

        threads[i].priority = levels[rng_below(5)];
        threads[i].id = (uint32_t)i;
    }
}

static void test_random(void)
{
    reset();
    for (int step = 0; step < 300000; step++) {
        unsigned op = (unsigned)rng_below(10);
        int i = (int)rng_below(THREADS);

        if (op < 5) {
            if (!queued[i])
                enqueue(i);
        } else if (op < 8) {
            pick();
        } else {
            /* A yield: the running thread goes back and the next runs. */
            int running = pick();
            if (running >= 0)
                enqueue(running);
        }
        CHECK(sched_policy_count() == model_count());
        if (step % 50000 == 0) {
            /* Drain: everything comes out, in model order. */
            while (pick() >= 0)
                ;
            CHECK(sched_policy_count() == 0);
            reset();
        }
    }
}

/* Hand-written cases whose answer differs between the policies. */
static void test_cases(void)
{
    reset();
    threads[0].priority = 5;
    threads[1].priority = 20;
    threads[2].priority = 10;
    threads[3].priority = 20;
    for (int i = 0; i < 4; i++)
        enqueue(i);
    int order[4];
    for (int k = 0; k < 4; k++)
        order[k] = pick();
    if (by_priority)
        CHECK(order[0] == 1 && order[1] == 3 && order[2] == 2
              && order[3] == 0);
    else
        CHECK(order[0] == 0 && order[1] == 1 && order[2] == 2
              && order[3] == 3);
    CHECK(pick() == -1);

    /* Extremes of the range are separate levels. */
    reset();
    threads[0].priority = SCHED_PRIORITY_MIN;
    threads[1].priority = SCHED_PRIORITY_MAX;
    enqueue(0);
    enqueue(1);
    CHECK(pick() == (by_priority ? 1 : 0));
}

int main(void)
{
    const char *name = sched_policy_name();

    by_priority = strcmp(name, "priority") == 0;
    printf("policy %s\n", name);
    CHECK(by_priority || strcmp(name, "fifo") == 0);
    rng_seed(20240602);
    test_cases();
    test_random();
    return check_finish();
}
