/*
 * A thread that overruns its stack is reported at its next switch. The
 * thread gets a caller-provided 4 KiB stack with a 4 KiB buffer zone
 * below it, so the overrun lands in memory this test owns, and recurses
 * until it has used about 6 KiB. The image must stop with the
 * scheduler's panic (exit status 126), not print "survived".
 */
#include <sched/sched.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

static struct {
    uint8_t zone[4096];
    uint8_t stack[4096];
} memory __attribute__((aligned(16)));

static int recurse(int depth)
{
    volatile uint8_t frame[512];

    /* Every byte: wherever the canary falls, it is overwritten. */
    for (size_t i = 0; i < sizeof frame; i++)
        frame[i] = (uint8_t)depth;
    if (depth == 0)
        return frame[0];
    return recurse(depth - 1) + frame[0];
}

static int overrunner(void *arg)
{
    (void)arg;
    printf("recursing: %d\n", recurse(12));
    sched_yield(); /* the switch finds the canary gone */
    printf("survived\n");
    return 0;
}

int main(void)
{
    struct sched_attr attr = {
        .priority = SCHED_PRIORITY_DEFAULT,
        .stack = memory.stack,
        .stack_size = sizeof memory.stack,
    };
    struct sched_thread *t = sched_spawn("overrunner", overrunner, NULL,
                                         &attr);

    sched_join(t, NULL);
    printf("survived\n");
    return 0;
}
