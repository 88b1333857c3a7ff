/*
 * Thread stacks: SCHED_STACK_POOL_COUNT stacks of SCHED_STACK_SIZE bytes,
 * each with an unmapped guard page below it, carved at boot out of
 * //libos/mm extents of the stack role.
 *
 * The pool is set up by a boot initialiser that runs before the boot
 * path seals the page tables (BOOT_INIT_ORDER_STACKS), because guard
 * pages can only be asked for then (<boot/boot.h>). Its place is
 * randomised at boot three ways: mm picks the stack extents downwards
 * from a random extent (mm_randomise), the pool starts at a random page
 * inside the slack of its extents, and the slots are handed out in a
 * random order. An overflow runs into the guard page and faults at the
 * overflowing instruction (the report names "a thread stack's guard
 * page"); the canary checked at every switch stays, for overruns that
 * jump past the guard.
 */
#include <boot/boot.h>
#include <mm/mm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sched_internal.h"

#define PAGE MM_PAGE_SIZE
#define STACK_BYTES (((size_t)SCHED_STACK_SIZE + PAGE - 1) / PAGE * PAGE)
#define SLOT_BYTES (PAGE + STACK_BYTES) /* guard page, then the stack */

#if SCHED_STACK_POOL_COUNT > 0
_Static_assert(SCHED_STACK_POOL_COUNT <= BOOT_GUARD_PAGES_MAX - 8,
               "SCHED_STACK_POOL_COUNT: one guard page each, and the boot "
               "path has BOOT_GUARD_PAGES_MAX");

static uint8_t *slots[SCHED_STACK_POOL_COUNT];
static bool taken[SCHED_STACK_POOL_COUNT];
static size_t slot_count; /* stacks set up: all of them, or 0 */

static void stack_pool_init(void)
{
    static const char guard_name[] =
        "a thread stack's guard page: a stack overflow";
    size_t bytes = (size_t)SCHED_STACK_POOL_COUNT * SLOT_BYTES;
    size_t extents = (bytes + MM_EXTENT_SIZE - 1) / MM_EXTENT_SIZE;

    mm_init();
    uint8_t *area = mm_extents_alloc(MM_ROLE_STACK, extents);
    if (!area) {
        printf("[sched] warning: no memory for %d thread stacks "
               "(%zu extents); threads need caller-provided stacks\n",
               SCHED_STACK_POOL_COUNT, extents);
        return;
    }

    uint64_t r = boot_random_u64();
    size_t slack_pages = (extents * MM_EXTENT_SIZE - bytes) / PAGE;
    uint8_t *base = area + (size_t)(r % (slack_pages + 1)) * PAGE;

    /* Slot i takes place order[i]: a Fisher-Yates shuffle. */
    size_t order[SCHED_STACK_POOL_COUNT];
    for (size_t i = 0; i < SCHED_STACK_POOL_COUNT; i++)
        order[i] = i;
    for (size_t i = SCHED_STACK_POOL_COUNT; i > 1; i--) {
        size_t j = (size_t)(boot_random_u64() % i);
        size_t t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
    for (size_t i = 0; i < SCHED_STACK_POOL_COUNT; i++) {
        uint8_t *guard = base + order[i] * SLOT_BYTES;

        if (boot_guard_page(guard, guard_name) != 0)
            sched_panic("the boot path refused the guard page at %p "
                        "(stack pool set up after the seal?)",
                        (void *)guard);
        slots[i] = guard + PAGE;
    }
    slot_count = SCHED_STACK_POOL_COUNT;
    mm_note_stack_placement(slack_pages + 1, SCHED_STACK_POOL_COUNT);
}

/* Before the seal: guard pages can be asked for only then. */
BOOT_INIT(stack_pool_init, BOOT_INIT_ORDER_STACKS);
#endif

void *sched_stack_alloc(void)
{
#if SCHED_STACK_POOL_COUNT > 0
    for (size_t i = 0; i < slot_count; i++) {
        if (!taken[i]) {
            taken[i] = true;
            return slots[i];
        }
    }
#endif
    return NULL;
}

void sched_stack_free(void *stack)
{
#if SCHED_STACK_POOL_COUNT > 0
    for (size_t i = 0; i < slot_count; i++) {
        if (slots[i] == stack) {
            if (!taken[i])
                break;
            taken[i] = false;
            return;
        }
    }
#endif
    sched_panic("freeing %p, which is not a pooled stack in use", stack);
}
