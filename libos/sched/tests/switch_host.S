/*
 * The host test's sched_yield(): ask the test which context runs next,
 * then jump straight into the real sched_context_switch(), so that the
 * switch itself - not some C function around it - is what must keep
 * registers.S's callee-saved values.
 */
    .text
    .globl sched_yield
    .type sched_yield, @function
sched_yield:
    subq $8, %rsp               /* align the stack for the C call */
    call switch_test_next       /* returns struct { from, to } * */
    addq $8, %rsp
    movq 0(%rax), %rdi
    movq 8(%rax), %rsi
    jmp sched_context_switch    /* returns to sched_yield's caller */
    .size sched_yield, . - sched_yield

    .section .note.GNU-stack, "", @progbits
