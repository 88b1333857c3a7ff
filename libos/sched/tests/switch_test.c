/*
 * switch.S and context.c, run on the host: four contexts (main and
 * three prepared ones) switch round robin through the real
 * sched_context_switch(), each with its own values in every
 * callee-saved register and its own SSE and x87 rounding modes
 * (registers.S). Also checks what a new context starts with: the
 * trampoline's argument, an aligned stack, default control words.
 *
 * Built without AddressSanitizer: ASan keeps per-thread stack bounds
 * and would misread frames on the heap-allocated stacks this test
 * switches to. UndefinedBehaviorSanitizer stays on.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <stdio.h>
#include <stdlib.h>
#include <testing/check.h>
#include "libos/sched/context.h"

#define CONTEXTS 4 /* [0] is main */
#define STACK_SIZE (64 * 1024)

int sched_test_callee_saved(uint64_t seed); /* registers.S */

static struct sched_context contexts[CONTEXTS];
static struct sched_thread threads[CONTEXTS];
static int current;
static int changed[CONTEXTS];
static bool finished[CONTEXTS];
static bool started[CONTEXTS];

struct switch_pair {
    struct sched_context *from, *to;
};

/* Called by switch_host.S's sched_yield(): round robin. */
struct switch_pair *switch_test_next(void)
{
    static struct switch_pair pair;
    int next = (current + 1) % CONTEXTS;

    pair.from = &contexts[current];
    pair.to = &contexts[next];
    current = next;
    return &pair;
}

static void run_checks(int id)
{
    for (int round = 0; round < 5; round++)
        changed[id] += sched_test_callee_saved(
            (uint64_t)id * 0x1000 + (uint64_t)round * 0x10 + (uint64_t)id);
    finished[id] = true;
}

static uint32_t read_mxcsr(void)
{
    uint32_t v;

    __asm__ volatile("stmxcsr %0" : "=m"(v));
    return v;
}

static uint16_t read_fcw(void)
{
    uint16_t v;

    __asm__ volatile("fnstcw %0" : "=m"(v));
    return v;
}

/* The trampoline's target: first code on a prepared context. */
_Noreturn void sched_thread_start(struct sched_thread *t)
{
    int id = (int)(t - threads);

    CHECK(id >= 1 && id < CONTEXTS && id == current);
    /* rbp is this frame's base: 16-aligned when the call was aligned. */
    CHECK((uintptr_t)__builtin_frame_address(0) % 16 == 0);
    CHECK((read_mxcsr() & 0xffc0) == SCHED_INITIAL_MXCSR);
    CHECK(read_fcw() == SCHED_INITIAL_X87_CONTROL);
    started[id] = true;
    run_checks(id);
    for (;;)
        sched_yield(); /* switch_host.S */
}

int main(void)
{
    uint8_t *stacks[CONTEXTS];

    for (int i = 1; i < CONTEXTS; i++) {
        stacks[i] = aligned_alloc(16, STACK_SIZE);
        memset(stacks[i], 0xa5, STACK_SIZE);
        sched_context_prepare(&contexts[i], stacks[i], STACK_SIZE,
                              &threads[i]);
        /* The frame sits 16 bytes below the top, 64 bytes long. */
        CHECK(contexts[i].rsp == (uintptr_t)(stacks[i] + STACK_SIZE - 80));
    }
    run_checks(0);
    while (!(finished[1] && finished[2] && finished[3]))
        sched_yield();
    for (int i = 0; i < CONTEXTS; i++) {
        CHECK(started[i] || i == 0);
        if (!CHECK(changed[i] == 0))
            fprintf(stderr, "  context %d: %d registers changed\n", i,
                    changed[i]);
    }
    printf("switches done, registers changed: %d %d %d %d\n", changed[0],
           changed[1], changed[2], changed[3]);
    return check_finish();
}
