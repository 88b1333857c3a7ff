/*
 * The Xen hypercall page and the call into it.
 *
 * The page is reserved in text (allocated, executable), so the sealed page
 * tables map it read + execute like the rest of the code. It holds zeros
 * in the image; xen.c hands its physical address to Xen through the MSR
 * that CPUID base + 2 names, and Xen fills it with one 32-byte stub per
 * hypercall (`mov $nr, %eax; vmcall or vmmcall; ret`). Xen writes guest
 * memory directly, so the page being read-only to the guest is fine.
 * Under QEMU nobody fills it, and xenplat_hypercall_raw is never called.
 */
    .section .text.hypercall_page, "ax", @progbits
    .balign 4096
    .globl boot_hypercall_page
    .type boot_hypercall_page, @object
boot_hypercall_page:
    .skip 4096, 0xcc            /* int3: a call before Xen fills it traps */
    .size boot_hypercall_page, 4096

/*
 * long xenplat_hypercall_raw(unsigned nr, a1, a2, a3, a4, a5)
 *   in:  %edi = nr (checked by the caller: < 128),
 *        %rsi, %rdx, %rcx, %r8, %r9 = a1..a5 (SysV)
 *   Xen wants a1..a5 in %rdi, %rsi, %rdx, %r10, %r8 and returns in %rax.
 * The stub clobbers only argument registers and %rcx/%r11, all of which
 * the SysV ABI lets a callee clobber.
 */
    .section .text.xenplat_hypercall_raw, "ax", @progbits
    .globl xenplat_hypercall_raw
    .type xenplat_hypercall_raw, @function
xenplat_hypercall_raw:
    pushq %rbp
    movq %rsp, %rbp
    movl %edi, %eax
    shll $5, %eax               /* 32 bytes per stub */
    leaq boot_hypercall_page(%rip), %r11
    addq %rax, %r11
    movq %rsi, %rdi
    movq %rdx, %rsi
    movq %rcx, %rdx
    movq %r8, %r10
    movq %r9, %r8
    call *%r11
    popq %rbp
    ret
    .size xenplat_hypercall_raw, . - xenplat_hypercall_raw

    .section .note.GNU-stack, "", @progbits
