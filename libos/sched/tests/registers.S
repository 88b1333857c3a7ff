/*
 * int sched_test_callee_saved(uint64_t seed)
 *
 * Loads every register the System V ABI makes callee-saved - %rbx,
 * %rbp, %r12-%r15, MXCSR's control bits and the x87 control word - with
 * values derived from `seed`, calls sched_yield() (which switches to
 * other threads doing the same with other seeds), and returns how many
 * of them came back changed. The caller's own values are restored.
 * Written in assembly because C cannot pin values in these registers
 * across a call.
 */

/* Stack slots, from %rsp after the prologue. */
#define SEED 0        /* the seed, kept in memory across the call */
#define SAVED_RBP 8   /* the caller's %rbp (we load a test value into it) */
#define OLD_MXCSR 16
#define OLD_FCW 20
#define NEW_MXCSR 24
#define NEW_FCW 28
#define FRAME 40      /* keeps %rsp 16-byte aligned at the call */

#define MXCSR_DEFAULT 0x1f80
#define MXCSR_ROUNDING 0x6000 /* bits 13-14 */
#define FCW_DEFAULT 0x037f
#define FCW_ROUNDING 0x0c00   /* bits 10-11 */

    .section .text.sched_test_callee_saved, "ax", @progbits
    .code64
    .globl sched_test_callee_saved
    .type sched_test_callee_saved, @function
    .balign 16
sched_test_callee_saved:
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $FRAME, %rsp
    movq %rbp, SAVED_RBP(%rsp)
    movq %rdi, SEED(%rsp)
    stmxcsr OLD_MXCSR(%rsp)
    fnstcw OLD_FCW(%rsp)

    /* Rounding modes from the seed's low bits: 4 per unit, all differ. */
    movl %edi, %eax
    andl $3, %eax
    shll $13, %eax
    orl $MXCSR_DEFAULT, %eax
    movl %eax, NEW_MXCSR(%rsp)
    ldmxcsr NEW_MXCSR(%rsp)
    movl %edi, %eax
    andl $3, %eax
    shll $10, %eax
    orl $FCW_DEFAULT, %eax
    movw %ax, NEW_FCW(%rsp)
    fldcw NEW_FCW(%rsp)

    leaq 1(%rdi), %rbx
    leaq 2(%rdi), %rbp
    leaq 3(%rdi), %r12
    leaq 4(%rdi), %r13
    leaq 5(%rdi), %r14
    leaq 6(%rdi), %r15
    call sched_yield

    /* Count the registers that changed into %eax. */
    movq SEED(%rsp), %rdi
    xorl %eax, %eax
    leaq 1(%rdi), %rcx
    cmpq %rcx, %rbx
    setne %dl
    movzbl %dl, %edx
    addl %edx, %eax
    leaq 2(%rdi), %rcx
    cmpq %rcx, %rbp
    setne %dl
    addl %edx, %eax
    leaq 3(%rdi), %rcx
    cmpq %rcx, %r12
    setne %dl
    addl %edx, %eax
    leaq 4(%rdi), %rcx
    cmpq %rcx, %r13
    setne %dl
    addl %edx, %eax
    leaq 5(%rdi), %rcx
    cmpq %rcx, %r14
    setne %dl
    addl %edx, %eax
    leaq 6(%rdi), %rcx
    cmpq %rcx, %r15
    setne %dl
    addl %edx, %eax
    /* The control words, read back through the same slots. */
    movl NEW_MXCSR(%rsp), %ecx
    stmxcsr NEW_MXCSR(%rsp)
    cmpl %ecx, NEW_MXCSR(%rsp)
    setne %dl
    addl %edx, %eax
    movzwl NEW_FCW(%rsp), %ecx
    fnstcw NEW_FCW(%rsp)
    cmpw %cx, NEW_FCW(%rsp)
    setne %dl
    addl %edx, %eax

    ldmxcsr OLD_MXCSR(%rsp)
    fldcw OLD_FCW(%rsp)
    movq SAVED_RBP(%rsp), %rbp
    addq $FRAME, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    ret
    .size sched_test_callee_saved, . - sched_test_callee_saved

    .section .note.GNU-stack, "", @progbits
