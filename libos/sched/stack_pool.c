/*
 * Thread stacks from a static pool: SCHED_STACK_POOL_COUNT stacks of
 * SCHED_STACK_SIZE bytes in .bss, so the scheduler needs no allocator.
 *
 * To take stacks from //libos/mm instead, this file is the only one to
 * replace: allocate with mm_pages_alloc(MM_ROLE_STACK, SCHED_STACK_SIZE /
 * MM_PAGE_SIZE) (zeroed, page aligned, from extents that hold only
 * stacks), free with mm_pages_free(), and depend on //libos/mm:headers.
 * Once pages can be unmapped, a guard page below each stack would turn
 * an overflow into a page fault at the faulting instruction instead of
 * a canary report at the next switch.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sched_internal.h"

#if SCHED_STACK_POOL_COUNT > 0
static uint8_t pool[SCHED_STACK_POOL_COUNT][SCHED_STACK_SIZE]
    __attribute__((aligned(16)));
static bool taken[SCHED_STACK_POOL_COUNT];
#endif

void *sched_stack_alloc(void)
{
#if SCHED_STACK_POOL_COUNT > 0
    for (size_t i = 0; i < SCHED_STACK_POOL_COUNT; i++) {
        if (!taken[i]) {
            taken[i] = true;
            return pool[i];
        }
    }
#endif
    return NULL;
}

void sched_stack_free(void *stack)
{
#if SCHED_STACK_POOL_COUNT > 0
    uintptr_t offset = (uintptr_t)stack - (uintptr_t)pool;
    size_t i = offset / SCHED_STACK_SIZE;

    if ((uint8_t *)stack < &pool[0][0] || i >= SCHED_STACK_POOL_COUNT
        || offset % SCHED_STACK_SIZE != 0 || !taken[i])
        sched_panic("freeing %p, which is not a pooled stack in use", stack);
    taken[i] = false;
#else
    sched_panic("freeing %p, but there is no stack pool", stack);
#endif
}
