/*
 * Fixed priorities: one FIFO queue per priority level and a bitmap of
 * the non-empty levels, so picking the highest is one count-leading-
 * zeros, whatever the number of threads. Within a level, threads run in
 * the order they became runnable (round robin among equals). A thread
 * keeps the priority it was spawned with. Starvation of lower levels is
 * the point of the policy, not a bug: a high-priority thread that never
 * blocks keeps the CPU.
 */
#include <stdint.h>

#include "list.h"
#include "policy.h"

#define LEVELS (SCHED_PRIORITY_MAX - SCHED_PRIORITY_MIN + 1)
_Static_assert(LEVELS <= 32, "one bitmap bit per level");

static struct sched_link queues[LEVELS];
static uint32_t nonempty; /* bit p: queues[p] has threads */
static size_t count;
static bool initialised;

const char *sched_policy_name(void)
{
    return "priority";
}

void sched_policy_reset(void)
{
    for (int p = 0; p < LEVELS; p++)
        list_init(&queues[p]);
    nonempty = 0;
    count = 0;
    initialised = true;
}

/* The level of t's priority, clamped (sched_spawn() validates it). */
static int level(const struct sched_thread *t)
{
    int p = t->priority;

    if (p < SCHED_PRIORITY_MIN)
        p = SCHED_PRIORITY_MIN;
    if (p > SCHED_PRIORITY_MAX)
        p = SCHED_PRIORITY_MAX;
    return p - SCHED_PRIORITY_MIN;
}

void sched_policy_enqueue(struct sched_thread *t)
{
    int p = level(t);

    if (!initialised)
        sched_policy_reset();
    list_push_back(&queues[p], &t->link);
    nonempty |= UINT32_C(1) << p;
    count++;
}

struct sched_thread *sched_policy_pick(void)
{
    if (nonempty == 0)
        return NULL;
    int p = 31 - __builtin_clz(nonempty); /* the highest level */
    struct sched_link *first = list_pop_front(&queues[p]);

    if (list_empty(&queues[p]))
        nonempty &= ~(UINT32_C(1) << p);
    count--;
    return SCHED_CONTAINER_OF(first, struct sched_thread, link);
}

size_t sched_policy_count(void)
{
    return count;
}
