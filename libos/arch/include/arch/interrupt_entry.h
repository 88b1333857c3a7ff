/*
 * arch/interrupt_entry.h - for assembly: an IDT entry point that calls a C
 * function and returns from the interrupt with everything preserved.
 *
 *     #include <arch/interrupt_entry.h>
 *     interrupt_entry my_vector_entry, my_c_handler
 *
 * An interrupt can arrive wherever the CPU halts, in the middle of any
 * function, so unlike a cooperative context switch (a plain call) the entry
 * must preserve everything the interrupted code may have live: the
 * caller-saved general registers (the C handler keeps the callee-saved
 * ones itself) and the whole x87/SSE state, which the handler, compiled
 * with SSE enabled, is free to clobber. FXSAVE wants a 16-byte-aligned
 * 512-byte area: carved out of the interrupted stack, which is safe
 * because images are built without a red zone. Entered through an
 * interrupt gate, interrupts stay masked until iretq; nothing is
 * acknowledged (a handler that must send an EOI does it itself).
 */
#ifndef ARCH_INTERRUPT_ENTRY_H
#define ARCH_INTERRUPT_ENTRY_H

#ifdef __ASSEMBLER__

/* Bytes of general registers pushed below the saved %rbp. */
#define ARCH_SAVED_GPR_BYTES (9 * 8)
#define ARCH_FXSAVE_BYTES 512

/*
 * The two halves, for entries that are not plain IDT gates (Xen PV's event
 * callback): interrupt_save leaves %rbp pointing at the saved %rbp, just
 * below what was on the stack at entry; interrupt_restore undoes it.
 */
    .macro interrupt_save
    pushq %rbp                  /* a frame, for backtraces */
    movq %rsp, %rbp
    pushq %rax
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    andq $-16, %rsp
    subq $ARCH_FXSAVE_BYTES, %rsp
    fxsave64 (%rsp)
    cld                         /* the C ABI wants DF clear; iretq restores */
    .endm

    .macro interrupt_restore
    fxrstor64 (%rsp)
    leaq -ARCH_SAVED_GPR_BYTES(%rbp), %rsp
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rdi
    popq %rsi
    popq %rdx
    popq %rcx
    popq %rax
    popq %rbp
    .endm

    .macro interrupt_entry name, handler
    .section .text.\name, "ax", @progbits
    .code64
    .globl \name
    .type \name, @function
    .balign 16
\name:
    interrupt_save
    call \handler
    interrupt_restore
    iretq
    .size \name, . - \name
    .endm

#endif /* __ASSEMBLER__ */

#endif /* ARCH_INTERRUPT_ENTRY_H */
