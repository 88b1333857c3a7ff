/*
 * PVH entry: from 32-bit protected mode to C in 64-bit long mode.
 *
 * The loader (Xen, or QEMU's PVH support) jumps to _start_pvh, found
 * through the XEN_ELFNOTE_PHYS32_ENTRY note, with:
 *   - 32-bit protected mode, paging off, interrupts off;
 *   - flat 4 GiB CS/DS/ES/SS from a GDT somewhere in loader memory;
 *   - %ebx = physical address of struct hvm_start_info;
 *   - everything else (stack, EFLAGS.DF, CR4, EFER, x87 state) undefined.
 *
 * The image is linked and loaded at its physical address (virtual ==
 * physical, below 4 GiB), so 32-bit code can use absolute addresses.
 * No stack is used before long mode: the 32-bit part makes no calls.
 */
#include <boot/boot.h> /* BOOT_EXIT_PANIC */

/* Selectors into boot_gdt. */
#define SEL_CODE64 0x08
#define SEL_DATA 0x10

#define CR0_PE (1 << 0)
#define CR0_MP (1 << 1)
#define CR0_ET (1 << 4)
#define CR0_NE (1 << 5)
#define CR0_WP (1 << 16)
#define CR0_PG (1 << 31)
#define CR4_PAE (1 << 5)
#define CR4_OSFXSR (1 << 9)
#define CR4_OSXMMEXCPT (1 << 10)
#define MSR_EFER 0xc0000080
#define EFER_LME (1 << 8)
#define EFER_NXE (1 << 11)

/* CPUID 0x80000001 EDX feature bits. */
#define CPUID_NX_BIT 20
#define CPUID_LM_BIT 29

#define PTE_PRESENT (1 << 0)
#define PTE_WRITE (1 << 1)
#define PTE_LARGE (1 << 7) /* PS: a page directory entry maps 2 MiB */
#define PAGE_SIZE 0x1000
#define LARGE_PAGE_SIZE 0x200000
/* Keep in step with BOOT_IDENTITY_MAP_START/LIMIT in boot_internal.h. */
#define IDENTITY_MAP_GIB 4

#define BOOT_STACK_SIZE 0x10000
/* Keep in step with BOOT_EXCEPTION_STACK_SIZE in boot_internal.h. */
#define EXCEPTION_STACK_SIZE 0x4000

#define COM1 0x3f8
#define DEBUG_EXIT_PORT 0xf4

#define STR(x) #x
#define XSTR(x) STR(x)

    .section .text.boot, "ax", @progbits
    .code32
    .globl _start_pvh
    .type _start_pvh, @function
_start_pvh:
    cld                         /* rep stos / lods below count upwards */
    movl %ebx, %esi             /* keep the start info: cpuid clobbers %ebx */
    rdtsc                       /* boot time, reported on Xen (xen.c) */
    movl %eax, boot_entry_tsc
    movl %edx, boot_entry_tsc + 4

    /* Our own GDT: the loader's may sit in memory we are about to reuse. */
    lgdt boot_gdt_ptr
    movl $SEL_DATA, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %ss
    movl %eax, %fs
    movl %eax, %gs

    /* Refuse politely on a CPU without long mode instead of faulting. */
    movl $0x80000000, %eax
    cpuid
    cmpl $0x80000001, %eax
    jb no_long_mode
    movl $0x80000001, %eax
    cpuid
    btl $CPUID_LM_BIT, %edx
    jnc no_long_mode
    movl %edx, %ebp             /* NX support, for EFER below */

    /*
     * Zero .bss before anything lives there: the page tables and the
     * stack do. The loader probably zeroed it already; don't rely on it.
     */
    movl $__bss_start, %edi
    movl $__bss_end, %ecx
    subl %edi, %ecx
    xorl %eax, %eax
    rep stosb

    /*
     * Identity-map the first 4 GiB: one PML4 entry -> one PDPT with four
     * entries -> four page directories of 512 entries, each mapping
     * 2 MiB, except the very first, which points to a page table of
     * 4 KiB pages so that boot.c can unmap page 0 once it has read the
     * loader's data there, and NULL pointer accesses fault. Upper halves
     * of all entries stay zero (addresses < 4 GiB, NX clear).
     */
    movl $(boot_pdpt + PTE_PRESENT + PTE_WRITE), boot_pml4

    movl $(boot_pd + PTE_PRESENT + PTE_WRITE), %eax
    movl $boot_pdpt, %edi
    movl $IDENTITY_MAP_GIB, %ecx
1:  movl %eax, (%edi)
    addl $PAGE_SIZE, %eax
    addl $8, %edi
    loop 1b

    movl $(boot_pt0 + PTE_PRESENT + PTE_WRITE), boot_pd
    movl $(PTE_PRESENT + PTE_WRITE), %eax
    movl $boot_pt0, %edi
    movl $512, %ecx
1:  movl %eax, (%edi)
    addl $PAGE_SIZE, %eax
    addl $8, %edi
    loop 1b

    movl $(LARGE_PAGE_SIZE + PTE_PRESENT + PTE_WRITE + PTE_LARGE), %eax
    movl $(boot_pd + 8), %edi
    movl $(IDENTITY_MAP_GIB * 512 - 1), %ecx
1:  movl %eax, (%edi)
    addl $LARGE_PAGE_SIZE, %eax
    addl $8, %edi
    loop 1b

    movl $boot_pml4, %eax
    movl %eax, %cr3

    /* PAE is required for long mode; OSFXSR/OSXMMEXCPT let C use SSE. */
    movl $(CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT), %eax
    movl %eax, %cr4

    movl $MSR_EFER, %ecx
    rdmsr
    orl $EFER_LME, %eax
    btl $CPUID_NX_BIT, %ebp     /* setting NXE without NX support #GPs */
    jnc 1f
    orl $EFER_NXE, %eax
1:  wrmsr

    /*
     * A complete CR0 rather than a read-modify-write: this also clears
     * EM and TS (SSE would fault), CD and NW (caches on). Setting PG with
     * EFER.LME activates long mode, in 32-bit compatibility mode until
     * the far jump loads a 64-bit code segment.
     */
    movl $(CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG), %eax
    movl %eax, %cr0

    ljmp $SEL_CODE64, $long_mode

    .code64
long_mode:
    movq $boot_stack_top, %rsp
    xorl %ebp, %ebp             /* terminate the frame-pointer chain */
    fninit                      /* x87 state is undefined at entry */
    pushq %rsi                  /* keep the start info pointer (and */
    pushq %rsi                  /* %rsp 16-aligned) across the call */
    call boot_stack_guard_init  /* before any protected function runs */
    popq %rsi
    popq %rsi
    movl %esi, %edi             /* zero-extends: the start info pointer */
    call boot_pvh
    /* boot_pvh never returns; stop here if it somehow does. */
1:  cli
    hlt
    jmp 1b

    .code32
no_long_mode:
    /* No console driver yet: poke the bytes straight into COM1. */
    movl $no_long_mode_msg, %esi
    movw $COM1, %dx
1:  lodsb
    testb %al, %al
    jz 2f
    outb %al, %dx
    jmp 1b
2:  movb $BOOT_EXIT_PANIC, %al
    movw $DEBUG_EXIT_PORT, %dx
    outb %al, %dx
3:  cli
    hlt
    jmp 3b
    .size _start_pvh, . - _start_pvh

    .section .rodata.boot, "a", @progbits
no_long_mode_msg:
    .ascii "[boot] panic: this CPU has no 64-bit long mode\r\n"
    .ascii "[boot] exit status ", XSTR(BOOT_EXIT_PANIC), "\r\n"
    .byte 0

    /*
     * Descriptors have their accessed bit preset, so the CPU never
     * writes to the GDT and it can live in read-only memory.
     */
    .balign 8
boot_gdt:
    .quad 0                     /* the null descriptor */
    .quad 0x00af9b000000ffff    /* 0x08: code, ring 0, 64-bit (L=1) */
    .quad 0x00cf93000000ffff    /* 0x10: data, ring 0, flat 4 GiB */
boot_gdt_end:

    /* lgdt operand in 32-bit mode: 16-bit limit, 32-bit base. */
    .balign 2
boot_gdt_ptr:
    .word boot_gdt_end - boot_gdt - 1
    .long boot_gdt

    /* In .data, not .bss: it is written before .bss is zeroed. */
    .section .data.boot_entry_tsc, "aw", @progbits
    .balign 8
    .globl boot_entry_tsc
boot_entry_tsc:
    .quad 0

    .section .bss.boot_page_tables, "aw", @nobits
    .balign PAGE_SIZE
boot_pml4:
    .skip PAGE_SIZE
boot_pdpt:
    .skip PAGE_SIZE
boot_pd:
    .skip IDENTITY_MAP_GIB * PAGE_SIZE
    .globl boot_pt0             /* boot.c unmaps page 0 through it */
boot_pt0:
    .skip PAGE_SIZE

    /*
     * The stack sits on its own pages with a guard page below it, which
     * paging.c leaves unmapped: an overflow faults instead of silently
     * overwriting whatever .bss holds below. Page alignment also keeps
     * %rsp 16-aligned at calls, as the SysV ABI wants.
     */
    .section .bss.boot_stack, "aw", @nobits
    .balign PAGE_SIZE
    .globl boot_stack_guard, boot_stack, boot_stack_top
boot_stack_guard:
    .skip PAGE_SIZE
boot_stack:
    .skip BOOT_STACK_SIZE
boot_stack_top:

    /*
     * CPU exceptions run here (IST 1, exceptions.c), not on the stack
     * they interrupted: a boot stack that overflowed into its guard page
     * cannot take the page fault's frame, and the report would otherwise
     * become a double and then a triple fault (a silent reset).
     */
    .globl boot_exception_stack_guard, boot_exception_stack_top
boot_exception_stack_guard:
    .skip PAGE_SIZE
    .skip EXCEPTION_STACK_SIZE
boot_exception_stack_top:

    .section .note.GNU-stack, "", @progbits
