/*
 * Prints where this boot put the heap and a pooled thread stack, for
 * test_boot_placement.py, which boots the image several times and
 * expects the places to change between boots (placement randomised at
 * boot, on top of the image's compile-time layout).
 */
#include <mm/mm.h>
#include <sched/sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static int report_stack(void *arg)
{
    volatile int local = 0;

    (void)arg;
    printf("placement: thread stack %p\n", (void *)&local);
    return local;
}

int main(void)
{
    void *block = malloc(64);
    void *big = malloc(3 << 20); /* a span of heap extents */

    printf("placement: heap block %p\n", block);
    printf("placement: heap span %p\n", big);
    struct sched_thread *t = sched_spawn("reporter", report_stack, NULL, NULL);
    if (!block || !big || !t) {
        printf("placement: FAILED to allocate\n");
        return 1;
    }
    sched_join(t, NULL);
    free(big);
    free(block);
    return 0;
}
