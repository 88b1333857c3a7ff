/*
 * The IDT entry of Xen's event-channel upcall vector (<boot/xen.h>,
 * BOOT_XEN_UPCALL_VECTOR; xen_upcall.c installs it).
 *
 * Xen raises the vector whenever vcpu 0's evtchn_upcall_pending is set
 * and the guest has interrupts enabled; in this library OS that is only
 * inside the idle halt, but the entry cannot know where it interrupted,
 * so it keeps everything: the caller-saved general registers (the C
 * function keeps the callee-saved ones) and the whole x87/SSE state,
 * saved with FXSAVE into a 16-byte-aligned area carved out of the
 * interrupted stack (images have no red zone). The interrupt gate keeps
 * interrupts masked until iretq. No EOI: the callback-vector type is
 * injected by Xen directly, not through the emulated local APIC.
 */

#define SAVED_GPR_BYTES (9 * 8) /* pushed below the saved %rbp */
#define FXSAVE_BYTES 512

    .section .text.boot_xen_upcall_entry, "ax", @progbits
    .code64
    .globl boot_xen_upcall_entry
    .type boot_xen_upcall_entry, @function
    .balign 16
boot_xen_upcall_entry:
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
    subq $FXSAVE_BYTES, %rsp
    fxsave64 (%rsp)
    cld                         /* the C ABI wants DF clear; iretq restores */
    call boot_xen_upcall
    fxrstor64 (%rsp)
    leaq -SAVED_GPR_BYTES(%rbp), %rsp
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
    iretq
    .size boot_xen_upcall_entry, . - boot_xen_upcall_entry

    .section .note.GNU-stack, "", @progbits
