/*
 * Cooperative context switch between threads.
 *
 * void sched_context_switch(struct sched_context *from,   %rdi
 *                           const struct sched_context *to) %rsi
 *
 * A switch is an ordinary function call, made from C at a yield point,
 * so the System V AMD64 ABI already tells us what the caller expects to
 * survive it: the callee-saved registers %rbx, %rbp, %r12-%r15 and %rsp,
 * and the control bits of MXCSR and the x87 control word (ABI 3.2.1,
 * "callee-saved"). Everything else - %rax, %rcx, %rdx, %rsi, %rdi,
 * %r8-%r11, all of %xmm0-15 and the x87 stack - is caller-saved: the
 * compiler has already put anything it still needs from them on the
 * stack before the call. So unlike an interrupt entry (see //libos/time's
 * interrupt_entry.S), a cooperative switch needs no 512-byte FXSAVE: it
 * saves six registers and 8 bytes of control words, and swaps stacks.
 *
 * The frame pushed here is struct sched_switch_frame (context.h).
 */

    .section .text.sched_context_switch, "ax", @progbits
    .code64
    .globl sched_context_switch
    .type sched_context_switch, @function
    .balign 16
sched_context_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $8, %rsp
    stmxcsr (%rsp)              /* offset 0: MXCSR */
    fnstcw 4(%rsp)              /* offset 4: x87 control word */
    movq %rsp, (%rdi)           /* from->rsp */

    movq (%rsi), %rsp           /* to->rsp: now on the other stack */
    ldmxcsr (%rsp)
    fldcw 4(%rsp)
    addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret                         /* into the other thread's switch call,
                                 * or a new thread's trampoline */
    .size sched_context_switch, . - sched_context_switch

/*
 * A new thread's stack is prepared (thread.c) so that its first switch
 * pops %r12 = the thread and returns here with %rsp 16-byte aligned and
 * %rbp = 0 (the end of the frame-pointer chain, for backtraces).
 */
    .section .text.sched_context_trampoline, "ax", @progbits
    .globl sched_context_trampoline
    .type sched_context_trampoline, @function
    .balign 16
sched_context_trampoline:
    movq %r12, %rdi
    call sched_thread_start     /* never returns */
    ud2
    .size sched_context_trampoline, . - sched_context_trampoline

    .section .note.GNU-stack, "", @progbits
