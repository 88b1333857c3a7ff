/*
 * Statistics and the thread table printout.
 */
#include <sched/sched.h>
#include <stdio.h>
#include <string.h>
#include <time/time.h>

#include "policy.h"
#include "sched_internal.h"

const char *sched_state_name(enum sched_state state)
{
    switch (state) {
    case SCHED_RUNNING: return "running";
    case SCHED_READY: return "ready";
    case SCHED_SLEEPING: return "sleeping";
    case SCHED_WAITING: return "waiting";
    case SCHED_DEAD: return "dead";
    }
    return "?";
}

size_t sched_stats(struct sched_thread_stats *out, size_t max)
{
    size_t n = 0;

    sched_enter();
    /* Charge the caller up to now, so its run time is current. */
    uint64_t now = time_monotonic_ns();
    sched_core.current->run_ns += now - sched_core.slice_start;
    sched_core.slice_start = now;

    /* Ids only grow and slots are reused, so sort by id on the way. */
    for (uint32_t next_id = 0;;) {
        const struct sched_thread *best = NULL;

        for (size_t i = 0; i < SCHED_MAX_THREADS; i++) {
            const struct sched_thread *t = &sched_core.threads[i];

            if (t->in_use && t->id >= next_id && (!best || t->id < best->id))
                best = t;
        }
        if (!best)
            break;
        if (n < max) {
            struct sched_thread_stats *s = &out[n];

            memset(s, 0, sizeof *s);
            s->id = best->id;
            memcpy(s->name, best->name, sizeof s->name);
            memcpy(s->tag, best->tag, sizeof s->tag);
            s->priority = best->priority;
            s->state = best->state;
            s->switches = best->switches;
            s->run_ns = best->run_ns;
            s->wakeups = best->wakeups;
            s->stack_size = best->stack ? best->stack_size : 0;
            s->stack_used = sched_stack_used(best);
        }
        n++;
        next_id = best->id + 1;
    }
    return n;
}

void sched_get_summary(struct sched_summary *out)
{
    struct sched_core *c = &sched_core;
    size_t threads = 0;

    sched_enter();
    for (size_t i = 0; i < SCHED_MAX_THREADS; i++)
        threads += c->threads[i].in_use;
    *out = (struct sched_summary){
        .policy = sched_policy_name(),
        .threads = threads,
        .switches = c->switches,
        .idle_ns = c->idle_ns,
        .idle_blocks = c->idle_blocks,
        .uptime_ns = time_monotonic_ns() - c->start_ns,
    };
}

void sched_print_stats(void)
{
    /* Static: SCHED_MAX_THREADS entries would not fit a small stack. */
    static struct sched_thread_stats table[SCHED_MAX_THREADS];
    struct sched_summary sum;

    sched_get_summary(&sum);
    size_t n = sched_stats(table, SCHED_MAX_THREADS);
    printf("[sched] policy %s, %zu threads, %llu switches, idle %llu ms in "
           "%llu halts, up %llu ms\n",
           sum.policy, sum.threads, (unsigned long long)sum.switches,
           (unsigned long long)(sum.idle_ns / TIME_NS_PER_MS),
           (unsigned long long)sum.idle_blocks,
           (unsigned long long)(sum.uptime_ns / TIME_NS_PER_MS));
    printf("[sched] %3s %-16s %-11s %4s %-8s %8s %10s  %s\n", "id", "name",
           "tag", "prio", "state", "switches", "run_us", "stack");
    for (size_t i = 0; i < n && i < SCHED_MAX_THREADS; i++) {
        const struct sched_thread_stats *s = &table[i];
        char stack[32];

        if (s->stack_size)
            snprintf(stack, sizeof stack, "%zu/%zu", s->stack_used,
                     s->stack_size);
        else
            snprintf(stack, sizeof stack, "-");
        printf("[sched] %3u %-16s %-11s %4d %-8s %8llu %10llu  %s\n",
               (unsigned)s->id, s->name, s->tag[0] ? s->tag : "-",
               s->priority, sched_state_name(s->state),
               (unsigned long long)s->switches,
               (unsigned long long)(s->run_ns / TIME_NS_PER_US), stack);
    }
}
