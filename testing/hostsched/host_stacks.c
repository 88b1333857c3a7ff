/*
 * Thread stacks for the scheduler core on the host: the image's pool
 * (libos/sched/stack_pool.c) carves guarded stacks out of mm extents at
 * boot, which a host process has neither of; plain heap blocks of the
 * same size do here.
 */
#include <stdlib.h>

#include "libos/sched/sched_internal.h"

void *sched_stack_alloc(void)
{
    return aligned_alloc(16, SCHED_STACK_SIZE);
}

void sched_stack_free(void *stack)
{
    free(stack);
}
