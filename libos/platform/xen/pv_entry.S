/*
 * Xen PV entry: _start_pv, and the exception stubs of the PV trap table.
 *
 * Xen's domain builder enters a 64-bit PV guest at the address in the
 * XEN_ELFNOTE_ENTRY note (the linker writes it when this file is linked)
 * with:
 *   - 64-bit mode, in ring 3 (Xen owns rings 0-2), code segment
 *     FLAT_KERNEL_CS, event delivery masked (vcpu_info's upcall mask);
 *   - Xen's own page tables, mapping the image, the start info, the
 *     console and xenstore pages, the p2m list, the page tables (read-only)
 *     and a stack, at virtual == pseudo-physical address (VIRT_BASE 0);
 *   - %rsi = the virtual address of struct start_info, %rsp = the top of
 *     Xen's bootstrap stack, the last thing Xen placed;
 *   - the hypercall page already filled (XEN_ELFNOTE_HYPERCALL_PAGE).
 * No privileged instruction works here (cli, hlt, in/out, mov to/from
 * control registers, rdmsr/wrmsr all #GP): everything goes through
 * hypercalls.
 */
#include <boot/boot.h> /* BOOT_EXIT_PANIC */
#include <arch/interrupt_entry.h>

#define HYPERCALL_STUB_SIZE 32
#define HYPERCALL_FPU_TASKSWITCH 5 /* <xenabi/hypercall.h> */

    .section .text.xenplat_pv_start, "ax", @progbits
    .code64
    .globl _start_pv
    .type _start_pv, @function
_start_pv:
    cld
    movq %rsi, %r12             /* start info: callee-saved across calls */
    movq %rsp, %r13             /* where Xen's bootstrap area ends */
    rdtsc                       /* boot time, reported like PVH's */
    movl %eax, boot_entry_tsc(%rip)
    movl %edx, boot_entry_tsc + 4(%rip)

    /*
     * C may use SSE from its first line; a PV vcpu may start with the
     * virtual CR0.TS set (then the first SSE instruction raises #NM,
     * and nothing handles it yet). Clear it.
     */
    xorl %edi, %edi
    call boot_hypercall_page + HYPERCALL_FPU_TASKSWITCH * HYPERCALL_STUB_SIZE
    fninit

    /* Zero .bss, as entry.S does: the loader probably did, don't rely on it. */
    leaq __bss_start(%rip), %rdi
    leaq __bss_end(%rip), %rcx
    subq %rdi, %rcx
    xorl %eax, %eax
    rep stosb

    /* Our own stack, with its unmapped guard page (pv_paging.c). */
    leaq boot_stack_top(%rip), %rsp
    xorl %ebp, %ebp             /* terminate the frame-pointer chain */
    call boot_stack_guard_init  /* before any protected function runs */
    movq %r12, %rdi
    movq %r13, %rsi
    call xenplat_pv_start
    /* xenplat_pv_start never returns; the halt below cannot run in ring 3. */
    ud2
    .size _start_pv, . - _start_pv

/*
 * The trap table's entry points, vectors 0-31 (pv.c installs them with
 * set_trap_table). Xen enters with events masked, on the current stack,
 * with the hardware frame plus %rcx and %r11 on top:
 *     rcx, r11, [error code], rip, cs, rflags, rsp, ss
 * Each stub pops %rcx and %r11 back into place, and from there on does
 * what exception_stubs.S does for the IDT: a zero where there is no
 * error code, then the vector, so boot_exception() gets the same
 * struct exception_frame on both paths.
 */
#define ERROR_CODE_VECTORS                                                 \
    ((1 << 8) | (1 << 10) | (1 << 11) | (1 << 12) | (1 << 13) | (1 << 14) | \
     (1 << 17) | (1 << 21) | (1 << 29) | (1 << 30))

    .macro pv_exception_stub vector
    .balign 16
pv_exception_stub_\vector:
    popq %rcx
    popq %r11
    .if ((ERROR_CODE_VECTORS >> \vector) & 1) == 0
    pushq $0
    .endif
    pushq $\vector
    jmp pv_exception_common
    .endm

    .section .text.xenplat_pv_exceptions, "ax", @progbits
    .irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    pv_exception_stub \v
    .endr

pv_exception_common:
    cld
    movq %rsp, %rdi
    andq $-16, %rsp
    call boot_exception
    ud2

/*
 * The event callback (<platform/xen/xen.h>, xenplat_set_upcall on PV; xenabi
 * callback.h). Xen enters it with event delivery masked, on the current
 * stack, with the exception frame minus an error code:
 *     rcx, r11, rip, cs, rflags, rsp, ss
 * where rflags.IF says whether events were unmasked where it interrupted
 * (in this library OS: always, since events are unmasked only inside
 * SCHEDOP_block). Like the PVH vector's entry it keeps every
 * caller-saved register and the x87/SSE state (<arch/interrupt_entry.h>)
 * around xenplat_pv_upcall() (upcall.c). It cannot return with iretq: that
 * would leave the upcall mask set. HYPERVISOR_iret takes the frame back with
 * `flags` pushed on top (0: not a SYSCALL frame) and sets the mask from the
 * saved rflags.IF, so the interrupted code gets back the mask it had; the
 * hypercall page's iret stub pushes rcx, r11 and rax itself, so those must
 * hold the interrupted values when it is reached.
 */
#define HYPERCALL_IRET 23 /* <xenabi/hypercall.h> */

    .section .text.xenplat_pv_upcall_entry, "ax", @progbits
    .globl xenplat_pv_upcall_entry
    .type xenplat_pv_upcall_entry, @function
    .balign 16
xenplat_pv_upcall_entry:
    popq %rcx
    popq %r11
    interrupt_save
    leaq 8(%rbp), %rdi          /* the frame: rip, cs, rflags, rsp, ss */
    call xenplat_pv_upcall
    interrupt_restore
    pushq $0                    /* iret flags: not in a SYSCALL */
    jmp boot_hypercall_page + HYPERCALL_IRET * HYPERCALL_STUB_SIZE
    .size xenplat_pv_upcall_entry, . - xenplat_pv_upcall_entry

/*
 * The failsafe callback: Xen could not load a segment register on its
 * way back to us. Nothing here ever loads one, so this is a bug or a
 * corrupted frame: report it (pv.c) and stop, rather than let Xen
 * crash the domain without a word. Frame:
 *     rcx, r11, ds, es, fs, gs, rip, cs, rflags, rsp, ss
 */
    .section .text.xenplat_pv_failsafe_entry, "ax", @progbits
    .globl xenplat_pv_failsafe_entry
    .type xenplat_pv_failsafe_entry, @function
    .balign 16
xenplat_pv_failsafe_entry:
    cld
    movq %rsp, %rdi
    andq $-16, %rsp
    call xenplat_pv_failsafe
    ud2
    .size xenplat_pv_failsafe_entry, . - xenplat_pv_failsafe_entry

    /* Entry addresses for pv.c's trap table. */
    .section .rodata.xenplat_pv_exceptions, "a", @progbits
    .balign 8
    .globl xenplat_pv_exception_stubs
xenplat_pv_exception_stubs:
    .irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .quad pv_exception_stub_\v
    .endr
    .size xenplat_pv_exception_stubs, . - xenplat_pv_exception_stubs

    .section .note.GNU-stack, "", @progbits
