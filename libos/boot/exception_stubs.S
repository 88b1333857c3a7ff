/*
 * CPU exception entry stubs, vectors 0-31.
 *
 * The library OS never resumes after a CPU exception: it reports and
 * exits (see exceptions.c). Each stub only makes the stack uniform,
 * pushing a zero where the CPU pushes no error code, then the vector,
 * and jumps to the common path that calls boot_exception(frame).
 */

/* Vectors for which the CPU pushes an error code (Intel SDM vol. 3, 6.3). */
#define ERROR_CODE_VECTORS                                                 \
    ((1 << 8) | (1 << 10) | (1 << 11) | (1 << 12) | (1 << 13) | (1 << 14) | \
     (1 << 17) | (1 << 21) | (1 << 29) | (1 << 30))

    .macro exception_stub vector
    .balign 16
exception_stub_\vector:
    .if ((ERROR_CODE_VECTORS >> \vector) & 1) == 0
    pushq $0
    .endif
    pushq $\vector
    jmp exception_common
    .endm

    .section .text.boot_exceptions, "ax", @progbits
    .code64
    .irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    exception_stub \v
    .endr

exception_common:
    /*
     * The stack now holds, lowest address first: vector, error code, and
     * what the CPU pushed (rip, cs, rflags, rsp, ss): struct
     * exception_frame. Realign for the C call, which never returns.
     */
    cld
    movq %rsp, %rdi
    andq $-16, %rsp
    call boot_exception
1:  cli
    hlt
    jmp 1b

    /* Entry addresses for exceptions.c to put into the IDT. */
    .section .rodata.boot_exceptions, "a", @progbits
    .balign 8
    .globl boot_exception_stubs
boot_exception_stubs:
    .irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .quad exception_stub_\v
    .endr
    .size boot_exception_stubs, . - boot_exception_stubs

    .section .note.GNU-stack, "", @progbits
