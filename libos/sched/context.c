/*
 * A new thread's first context: its stack made to look as if it had
 * called sched_context_switch() from sched_context_trampoline, so that
 * the first switch to it "returns" into the trampoline. Pure (it only
 * writes the stack it is given): the host test of switch.S uses it too.
 */
#include "context.h"

void sched_context_prepare(struct sched_context *ctx, uint8_t *stack,
                           size_t size, struct sched_thread *t)
{
    uint8_t *top = stack + (size & ~(size_t)15);

    /*
     * Two zero words at the very top: a null return address and frame
     * link above the trampoline, where backtraces stop. Below them the
     * frame, placed so that %rsp is 16-byte aligned when the trampoline
     * starts (the ABI's rule at a call instruction, which the trampoline
     * then executes).
     */
    uint64_t *above = (uint64_t *)(void *)(top - 16);
    above[0] = 0;
    above[1] = 0;
    struct sched_switch_frame *frame =
        (struct sched_switch_frame *)(void *)(top - 16 - sizeof *frame);
    *frame = (struct sched_switch_frame){
        .mxcsr = SCHED_INITIAL_MXCSR,
        .x87_control = SCHED_INITIAL_X87_CONTROL,
        .r12 = (uint64_t)(uintptr_t)t,
        .rbp = 0,
        .return_address = (uint64_t)(uintptr_t)sched_context_trampoline,
    };
    ctx->rsp = (uint64_t)(uintptr_t)frame;
}
