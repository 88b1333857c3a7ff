/*
 * The context switch (switch.S) and the stack frame it saves, which a
 * new thread's stack is made to look like (context.c). Both are pure
 * x86-64 System V code: the host test tests/switch_test.c runs them.
 */
#ifndef SCHED_CONTEXT_H
#define SCHED_CONTEXT_H

#include <stddef.h>
#include <stdint.h>

#include "thread.h"

/*
 * What sched_context_switch() leaves at the saved rsp, lowest address
 * first: the SSE and x87 control words, the callee-saved registers, and
 * the return address. Keep in step with switch.S.
 */
struct sched_switch_frame {
    uint32_t mxcsr;
    uint16_t x87_control;
    uint16_t pad;
    uint64_t r15, r14, r13, r12, rbx, rbp;
    uint64_t return_address;
};
_Static_assert(sizeof(struct sched_switch_frame) == 64, "switch frame size");
_Static_assert(offsetof(struct sched_switch_frame, x87_control) == 4,
               "x87 control word offset");
_Static_assert(offsetof(struct sched_switch_frame, r15) == 8, "r15 offset");
_Static_assert(offsetof(struct sched_switch_frame, return_address) == 56,
               "return address offset");
_Static_assert(offsetof(struct sched_thread, context) == 0,
               "switch.S stores the thread's rsp at offset 0");

/* Power-on defaults: all SSE exceptions masked, round to nearest; x87
 * likewise, 64-bit precision. */
#define SCHED_INITIAL_MXCSR 0x1f80u
#define SCHED_INITIAL_X87_CONTROL 0x037fu

/*
 * Build a new thread's first context on [stack, stack + size): the first
 * switch to *ctx enters sched_thread_start(t) with a 16-byte-aligned
 * stack, default MXCSR and x87 control word. Uses the top 80 bytes.
 */
void sched_context_prepare(struct sched_context *ctx, uint8_t *stack,
                           size_t size, struct sched_thread *t);

/*
 * Save the caller's context into *from and resume *to. Returns when some
 * other thread switches back to *from.
 */
void sched_context_switch(struct sched_context *from,
                          const struct sched_context *to);

/*
 * Where a new thread's first switch "returns" to: it calls
 * sched_thread_start(%r12), which never returns.
 */
void sched_context_trampoline(void);

/* Called on a new thread's own stack, first thing. */
_Noreturn void sched_thread_start(struct sched_thread *t);

#endif /* SCHED_CONTEXT_H */
