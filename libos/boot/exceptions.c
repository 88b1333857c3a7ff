/*
 * CPU exceptions: report and exit instead of triple-faulting.
 *
 * Exceptions run on a stack of their own (IST 1 in the TSS below), so a
 * stack overflow into a guard page is reported like any other page fault
 * rather than escalating to a double and a triple fault.
 *
 * Without an IDT any fault (a NULL dereference, __builtin_trap(), a
 * division by zero) resets the machine, and QEMU silently reboots the
 * image in a loop. With this table every exception prints what happened
 * and where, then exits with BOOT_EXIT_PANIC, so a test sees a clear
 * failure. Interrupts stay disabled. Vectors 32-255 stay empty unless a
 * component installs an entry point with boot_set_interrupt_gate() before
 * the seal; an interrupt on an empty vector is reported as exception 11
 * (segment not present) with error code vector * 8 + 2.
 *
 * The IDT is sealed with the page tables: it sits on a page of its own,
 * which paging.c maps read-only, so after the seal no data write can point
 * a vector (the page fault, the Xen upcall) at other code. Hence every
 * gate goes in before the seal, and a later install is refused.
 */
#include <arch/x86.h>
#include <boot/boot.h>
#include <platform/xen/boot.h>
#include <platform/xen/xen.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "boot_internal.h"

#define EXCEPTION_VECTORS 32
#define IDT_VECTORS 256
#define VECTOR_PAGE_FAULT 14
#define GATE_INTERRUPT_64 0x8e /* present, ring 0, 64-bit interrupt gate */
#define GATE_PRESENT 0x80      /* the type byte's P bit */
#define EXCEPTION_IST 1        /* the TSS's IST slot for exception stacks */

/*
 * The 64-bit TSS (Intel SDM vol. 3, 8.7). Long mode uses it only for the
 * stack pointers the CPU loads on an interrupt: rsp0-2 on a privilege
 * change (none here), ist1-7 for gates that name one.
 */
struct __attribute__((packed)) tss64 {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
};
_Static_assert(sizeof(struct tss64) == 104, "TSS size");

/*
 * Selectors. The first three descriptors are entry.S's (same selectors,
 * so nothing needs reloading); the TSS takes two slots in long mode.
 */
#define SEL_TSS 0x18
#define GDT_ENTRIES 5

/*
 * The GDT and the TSS on a page of their own: paging.c maps it read-only
 * when it seals, after `ltr` has written the TSS's busy bit (the only
 * time the CPU writes either in long mode: descriptors are preset
 * "accessed").
 */
struct boot_descriptors {
    uint64_t gdt[GDT_ENTRIES];
    struct tss64 tss;
    uint8_t pad[BOOT_PAGE_SIZE - GDT_ENTRIES * 8 - sizeof(struct tss64)];
};
_Static_assert(sizeof(struct boot_descriptors) == BOOT_PAGE_SIZE,
               "descriptor page");
struct boot_descriptors boot_descriptors
    __attribute__((aligned(BOOT_PAGE_SIZE), section(".bss.boot_descriptors")));

/* lgdt's operand in long mode: 16-bit limit, 64-bit base. */
struct __attribute__((packed)) gdt_pointer {
    uint16_t limit;
    uint64_t base;
};

/* A 64-bit IDT gate descriptor (Intel SDM vol. 3, 6.14.1). */
struct idt_gate {
    uint16_t offset_low;
    uint16_t selector;
    uint8_t ist; /* 0: stay on the current stack */
    uint8_t type;
    uint16_t offset_mid;
    uint32_t offset_high;
    uint32_t reserved;
};
_Static_assert(sizeof(struct idt_gate) == 16, "IDT gate size");

/* The operand of lidt in long mode: 16-bit limit, 64-bit base. */
struct __attribute__((packed)) idt_pointer {
    uint16_t limit;
    uint64_t base;
};
_Static_assert(sizeof(struct idt_pointer) == 10, "IDT pointer size");

/* What exception_stubs.S leaves on the stack; lowest address first. */
struct exception_frame {
    uint64_t vector;
    uint64_t error_code; /* 0 for vectors without one */
    uint64_t rip, cs, rflags, rsp, ss; /* pushed by the CPU */
};

/* Stub entry points, defined in exception_stubs.S. */
extern const uint64_t boot_exception_stubs[EXCEPTION_VECTORS];

/*
 * The IDT fills exactly one page, alone in its section, so that mapping
 * it read-only at the seal protects nothing else and nothing else with it.
 * The CPU only reads gates (they have no accessed bit).
 */
struct boot_idt {
    struct idt_gate gate[IDT_VECTORS];
};
_Static_assert(sizeof(struct boot_idt) == BOOT_PAGE_SIZE, "IDT page");
struct boot_idt boot_idt
    __attribute__((aligned(BOOT_PAGE_SIZE), section(".bss.boot_idt")));
static uint16_t code_selector;

static const char *const exception_names[EXCEPTION_VECTORS] = {
    [0] = "divide error",          [1] = "debug",
    [2] = "NMI",                   [3] = "breakpoint",
    [4] = "overflow",              [5] = "bound range exceeded",
    [6] = "invalid opcode",        [7] = "device not available",
    [8] = "double fault",          [10] = "invalid TSS",
    [11] = "segment not present",  [12] = "stack-segment fault",
    [13] = "general protection",   [14] = "page fault",
    [16] = "x87 floating-point",   [17] = "alignment check",
    [18] = "machine check",        [19] = "SIMD floating-point",
    [20] = "virtualization",       [21] = "control protection",
};

static void set_gate(size_t vector, uint64_t addr)
{
    boot_idt.gate[vector] = (struct idt_gate){
        .offset_low = (uint16_t)addr,
        .selector = code_selector,
        .ist = vector < EXCEPTION_VECTORS ? EXCEPTION_IST : 0,
        .type = GATE_INTERRUPT_64,
        .offset_mid = (uint16_t)(addr >> 16),
        .offset_high = (uint32_t)(addr >> 32),
    };
}

/* A 16-byte available 64-bit TSS descriptor (SDM vol. 3, 8.2.3). */
static void set_tss_descriptor(uint64_t *slot, uint64_t base, uint32_t limit)
{
    slot[0] = (limit & 0xffff) | (base & 0xffffff) << 16
              | UINT64_C(0x89) << 40 /* present, ring 0, type 9 */
              | (uint64_t)((limit >> 16) & 0xf) << 48
              | ((base >> 24) & 0xff) << 56;
    slot[1] = base >> 32;
}

/* Our GDT, with a TSS whose IST 1 is the exception stack (entry.S). */
static void load_gdt_and_tss(void)
{
    struct boot_descriptors *d = &boot_descriptors;

    d->gdt[0] = 0;
    d->gdt[1] = UINT64_C(0x00af9b000000ffff); /* 0x08: code, 64-bit */
    d->gdt[2] = UINT64_C(0x00cf93000000ffff); /* 0x10: data, flat */
    d->tss.ist[EXCEPTION_IST - 1] = (uintptr_t)boot_exception_stack_top;
    d->tss.iomap_base = sizeof d->tss; /* no I/O permission bitmap */
    set_tss_descriptor(&d->gdt[SEL_TSS / 8], (uintptr_t)&d->tss,
                       sizeof d->tss - 1);

    struct gdt_pointer ptr = {sizeof d->gdt - 1, (uintptr_t)d->gdt};
    __asm__ volatile("lgdt %0" : : "m"(ptr) : "memory");
    __asm__ volatile("ltr %w0" : : "r"(SEL_TSS) : "memory");
}

void boot_exceptions_init(void)
{
    load_gdt_and_tss();
    /* Gates use whatever code segment we run in: entry.S's 64-bit one. */
    __asm__ volatile("mov %%cs, %0" : "=r"(code_selector));
    for (size_t v = 0; v < EXCEPTION_VECTORS; v++)
        set_gate(v, boot_exception_stubs[v]);
    struct idt_pointer ptr = {sizeof boot_idt - 1,
                              (uint64_t)(uintptr_t)&boot_idt};
    __asm__ volatile("lidt %0" : : "m"(ptr) : "memory");
}

static bool gate_present(const struct idt_gate *g)
{
    return (g->type & GATE_PRESENT) != 0;
}

static uint64_t gate_target(const struct idt_gate *g)
{
    return g->offset_low | (uint64_t)g->offset_mid << 16
           | (uint64_t)g->offset_high << 32;
}

int boot_set_interrupt_gate(unsigned vector, void (*entry)(void))
{
    if (vector < BOOT_FIRST_INTERRUPT_VECTOR || vector >= IDT_VECTORS
        || entry == NULL || xenplat_mode() == XENPLAT_PV)
        return -1;

    uint64_t addr = (uint64_t)(uintptr_t)entry;
    const struct idt_gate *g = &boot_idt.gate[vector];

    /* Installed already: nothing to write, before or after the seal. */
    if (gate_present(g))
        return gate_target(g) == addr ? 0 : -1;
    if (boot_paging_sealed())
        boot_panic("interrupt vector %#x installed after the seal, but the "
                   "IDT is read-only then; install it from a BOOT_INIT "
                   "initialiser ordered before BOOT_INIT_ORDER_SEAL "
                   "(BOOT_INIT_ORDER_INTERRUPTS, <boot/boot.h>)",
                   vector);
    set_gate(vector, addr);
    return 0;
}

/* Page-fault error code bits (Intel SDM vol. 3, 4.7). */
#define PF_PRESENT (1u << 0) /* 0: the page is not mapped */
#define PF_WRITE (1u << 1)
#define PF_FETCH (1u << 4) /* an instruction fetch */

/* ", address A: what was attempted in which part of the image" */
static void describe_page_fault(uint64_t error, uint64_t addr)
{
    const char *what;

    if (!(error & PF_PRESENT))
        what = "access to an unmapped page";
    else if (error & PF_FETCH)
        what = "instruction fetch from a non-executable page (W^X)";
    else if (error & PF_WRITE)
        what = "write to a read-only page (W^X)";
    else
        what = "protection violation";
    const char *where = boot_paging_region(addr);
    printf(", address 0x%llx: %s%s%s", (unsigned long long)addr, what,
           where ? " in " : "", where ? where : "");
}

#define BACKTRACE_MAX 16

/*
 * A frame pointer worth following: 8-aligned, above the previous one, and
 * its two words (saved frame pointer, return address) mapped: the boot
 * stack, a thread stack, wherever. Anything else ends the walk, so a
 * smashed stack cannot make the report fault.
 */
static bool plausible_frame(const uint64_t *fp, const uint64_t *prev)
{
    uintptr_t a = (uintptr_t)fp;

    return a % 8 == 0 && fp > prev && boot_paging_readable(a, 16);
}

/*
 * "[boot] backtrace: A B C": return addresses from the frame-pointer chain
 * (every image is built with frame pointers). The guest has no symbol
 * table; the QEMU runner and `unikernel` tools name them from the
 * image's .debug.elf.
 */
static void print_backtrace(const uint64_t *fp)
{
    const uint64_t *prev = NULL;

    printf("[boot] backtrace:");
    for (int depth = 0; depth < BACKTRACE_MAX && plausible_frame(fp, prev);
         depth++) {
        uint64_t ret = fp[1];

        if (ret == 0)
            break;
        printf(" 0x%llx", (unsigned long long)ret);
        prev = fp;
        fp = (const uint64_t *)fp[0];
    }
    printf("\n");
}

_Noreturn void boot_exception(const struct exception_frame *f)
{
    static bool reporting;

    /* A fault while reporting a fault: don't recurse, just stop. */
    if (reporting) {
        if (xenplat_mode() == XENPLAT_PV)
            xenplat_pv_halt(); /* no port I/O or hlt in ring 3 */
        outb(BOOT_DEBUG_EXIT_PORT, BOOT_EXIT_PANIC);
        for (;;)
            hlt();
    }
    reporting = true;

    const char *name = f->vector < EXCEPTION_VECTORS
                               && exception_names[f->vector]
                           ? exception_names[f->vector]
                           : "reserved";
    printf("[boot] panic: CPU exception %llu (%s) at rip 0x%llx, "
           "error code 0x%llx, rsp 0x%llx",
           (unsigned long long)f->vector, name, (unsigned long long)f->rip,
           (unsigned long long)f->error_code, (unsigned long long)f->rsp);
    if (f->vector == VECTOR_PAGE_FAULT)
        describe_page_fault(f->error_code, xenplat_mode() == XENPLAT_PV
                                                ? xenplat_pv_fault_address()
                                                : read_cr2());
    printf("\n");
    /*
     * The stubs leave %rbp alone, so this function's saved frame pointer
     * is the interrupted code's: the chain starts there.
     */
    print_backtrace((const uint64_t *)*(uint64_t *)__builtin_frame_address(0));
    platform_exit(BOOT_EXIT_PANIC);
}
