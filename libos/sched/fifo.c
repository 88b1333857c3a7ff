/*
 * Round robin: one queue, threads run in the order they became
 * runnable. A thread that yields goes to the back, behind everything
 * already runnable, so every runnable thread gets a turn before it runs
 * again. Priorities are ignored.
 */
#include "list.h"
#include "policy.h"

static struct sched_link queue = {&queue, &queue};
static size_t count;

const char *sched_policy_name(void)
{
    return "fifo";
}

void sched_policy_reset(void)
{
    list_init(&queue);
    count = 0;
}

void sched_policy_enqueue(struct sched_thread *t)
{
    list_push_back(&queue, &t->link);
    count++;
}

struct sched_thread *sched_policy_pick(void)
{
    struct sched_link *first = list_pop_front(&queue);

    if (!first)
        return NULL;
    count--;
    return SCHED_CONTAINER_OF(first, struct sched_thread, link);
}

size_t sched_policy_count(void)
{
    return count;
}
