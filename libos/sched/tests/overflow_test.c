/*
 * Stack overflows of threads, chosen by the command line:
 *
 *   canary  a thread with a caller-provided 4 KiB stack (and a 4 KiB
 *           buffer zone below it, so the overrun lands in memory this
 *           test owns) recurses until it has used about 6 KiB; the
 *           scheduler reports it at its next switch (the canary);
 *   guard   a thread on a pooled stack recurses without end; it runs
 *           into the guard page below its stack and the page fault is
 *           reported at once.
 *
 * Either way the image must stop with a panic (exit status 126), not
 * print "survived".
 */
#include <sched/sched.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

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

static volatile int depth_limit = -1; /* never reached */

static int recurse_forever(int depth)
{
    volatile uint8_t frame[512];

    frame[depth % sizeof frame] = (uint8_t)depth;
    if (depth == depth_limit)
        return 0;
    return recurse_forever(depth + 1) + frame[depth % sizeof frame];
}

static int deep_diver(void *arg)
{
    (void)arg;
    printf("recursing: %d\n", recurse_forever(0));
    printf("survived\n");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "guard") == 0) {
        struct sched_thread *t = sched_spawn("deep-diver", deep_diver, NULL,
                                             NULL);
        if (!t) {
            printf("FAILED: no pooled stack\n");
            return 1;
        }
        sched_join(t, NULL);
        printf("survived\n");
        return 0;
    }

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
