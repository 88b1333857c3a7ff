/*
 * boot/boot.h - what the boot path learned, and how the program ends.
 *
 * The image starts at _start_pvh (Xen PVH boot and QEMU: 32-bit protected
 * mode, paging off, %ebx = physical address of struct hvm_start_info), or,
 * as a 64-bit Xen PV guest, at _start_pv (//libos/platform/xen: ring 3 on
 * Xen's page tables, %rsi = struct start_info; the steps below are the same,
 * with the console ring, command line and memory map taken from start_info and
 * the page tables built through hypercalls; docs/architecture.md). The
 * entry code switches to 64-bit long mode with the first 4 GiB of
 * physical memory identity-mapped (virtual == physical, read/write/
 * execute, mostly 2 MiB pages), a 64 KiB stack and SSE enabled, and
 * .bss zeroed. The C part then:
 *
 *   1. asks the Xen platform whether this is Xen (<platform/xen/xen.h>);
 *      on Xen it installs the hypercall page and the console is Xen's (PV
 *      ring + port 0xe9), otherwise COM1 (//libos/platform/pc); plugs the
 *      console and platform_exit()
 *      into libc (<libc/hooks.h>), so printf and exit work from here on,
 *      and installs CPU exception handlers that print the exception and
 *      exit with BOOT_EXIT_PANIC instead of resetting the machine;
 *   2. validates the start info and copies what it needs (memory map,
 *      command line) into boot-owned storage, so nothing later reads
 *      the loader's memory again;
 *   3. runs the initialisers that components registered with BOOT_INIT
 *      (below), in ascending order: those ordered before the seal, then
 *      seals the page tables (W^X from the linker's manifest; page 0 is
 *      unmapped, so NULL pointer accesses fault), then the rest;
 *   4. splits the command line into argv and calls
 *          int main(int argc, char **argv);
 *      (or int main(void)), then exit() with main's return value.
 *
 * argv: argv[0] is always "image" (the loader passes no program name),
 * followed by the words of the command line split at ASCII whitespace
 * (no quoting or escapes). So an empty command line gives argc == 1, and
 * "-v run" gives argc == 3, argv = {"image", "-v", "run", NULL}. At most
 * BOOT_ARGV_MAX entries including argv[0]; further words are dropped
 * with a warning on the console. argv strings are writable, as C allows.
 *
 * The application provides main(); everything else is provided here.
 * Symbols the linker must define: __bss_start and __bss_end (the bounds
 * of .bss, zeroed by the entry code). The image must carry a
 * XEN_ELFNOTE_PHYS32_ENTRY note pointing at _start_pvh.
 */
#ifndef BOOT_BOOT_H
#define BOOT_BOOT_H

/*
 * Exit status used when the boot path itself gives up (bad start info,
 * CPU without long mode, a CPU exception). Also visible to assembly.
 */
#define BOOT_EXIT_PANIC 126

#ifndef __ASSEMBLER__

#include <stddef.h>
#include <stdint.h>

#define BOOT_MEMMAP_MAX 128   /* memory map entries kept */
#define BOOT_CMDLINE_MAX 1024 /* command line bytes kept, including NUL */
#define BOOT_ARGV_MAX 64      /* argv entries, including argv[0] */

/* One memory map entry, as the loader reported it. */
struct boot_mem_region {
    uint64_t addr;
    uint64_t size; /* bytes */
    uint32_t type; /* HVM_MEMMAP_TYPE_* from <boot/hvm_start_info.h> */
};

/*
 * Number of memory map entries kept: at most BOOT_MEMMAP_MAX, 0 if the
 * loader gave no map (e.g. a version 0 start info). Entries of size 0,
 * and entries that wrap past 2^64, are not kept.
 */
size_t boot_memmap_count(void);

/* Entry `index` in the loader's order, or NULL if out of range. */
const struct boot_mem_region *boot_memmap_entry(size_t index);

/* Sum of the sizes of all RAM (type 1) entries, in bytes. */
uint64_t boot_usable_ram(void);

/* A short name for a memory type: "RAM", "reserved", ..., "unknown". */
const char *boot_mem_type_name(uint32_t type);

/*
 * The command line exactly as the loader passed it (truncated to
 * BOOT_CMDLINE_MAX - 1 bytes); "" if there was none. Unlike argv, this
 * copy is never modified.
 */
const char *boot_cmdline(void);

/*
 * Print "[boot] exit status N" and stop the machine with status N, where
 * N = status & 0xff. On Xen, then SCHEDOP_shutdown: SHUTDOWN_poweroff for
 * N == 0, SHUTDOWN_crash otherwise (<platform/xen/xen.h>). Otherwise (and
 * should Xen refuse) writes N to QEMU's isa-debug-exit port 0xf4 (QEMU
 * then exits with code (2N + 1) & 0xff, so keep statuses below 128 for
 * unambiguous codes); if that device is absent, halts the CPU forever.
 * exit() ends up here.
 */
_Noreturn void platform_exit(int status);

/*
 * Initialisers: a component that must be set up before main() (the
 * memory manager, drivers) registers a function at file scope with
 *
 *     BOOT_INIT(function, order);
 *
 * boot_pvh() calls each registered function once, after the start info
 * is copied (so the memory map above is valid) and before main(), in
 * ascending `order`; equal orders run in link order. The entries form
 * the linker set `boot_init`: an entry is in the image whenever the
 * object file that defines it is linked.
 */
struct boot_init {
    uint32_t order;
    void (*fn)(void);
};

#define BOOT_INIT_ORDER_MEMORY 10  /* the memory manager: before users */
#define BOOT_INIT_ORDER_STACKS 20  /* thread stacks and their guard pages */
#define BOOT_INIT_ORDER_DEVICES 25 /* device discovery: MMIO windows */
#define BOOT_INIT_ORDER_SEAL 30    /* (not an initialiser: the seal) */
#define BOOT_INIT_ORDER_DRIVERS 50 /* device drivers */

/*
 * Initialisers ordered below BOOT_INIT_ORDER_SEAL run before the boot
 * path seals the page tables (W^X, <boot/seal.h>), on the boot's own
 * read/write/execute identity map; the rest run after it. Only code that
 * must shape the sealed tables belongs before the seal: it may ask for
 * guard pages there, and nothing may ask afterwards.
 *
 * Leave the 4 KiB page at `page` unmapped in the sealed tables, so that
 * every access to it faults; the fault report names it `what` (a string
 * that must live forever, e.g. "a thread stack's guard page: a stack
 * overflow"). Returns 0, or -1 if called after the seal, if `page` is not
 * page-aligned or lies outside the first 4 GiB, inside the image or in
 * page 0, or if BOOT_GUARD_PAGES_MAX guards exist already.
 */
#define BOOT_GUARD_PAGES_MAX 64
int boot_guard_page(const void *page, const char *what);

/*
 * Map the device registers at [addr, addr + len) uncached (PCD|PWT),
 * read/write and non-executable in the sealed tables (virtio-mmio
 * windows, PCI BARs), rounded out to whole 4 KiB pages; `what` names
 * them in fault reports and must live forever. The rest of the first
 * 4 GiB stays mapped write-back, as before. Before the seal only
 * (BOOT_INIT_ORDER_DEVICES); returns 0, or -1 if called after the seal,
 * if the range is empty, longer than BOOT_MMIO_REGION_MAX, reaches
 * beyond the first 4 GiB or into the image or page 0, on Xen PV, or if
 * BOOT_MMIO_REGIONS_MAX regions exist already.
 */
#define BOOT_MMIO_REGIONS_MAX 16
#define BOOT_MMIO_REGION_MAX (UINT64_C(2) << 20)
int boot_mmio_region(uint64_t addr, uint64_t len, const char *what);

/*
 * 64 random bits for decisions taken at boot (placement of the heap and
 * of stacks): RDRAND where the CPU has it, mixed with the TSC; the TSC
 * alone otherwise (weak: see boot_stack_guard_source()).
 */
uint64_t boot_random_u64(void);

#define BOOT_INIT(function, init_order)                                   \
    static const struct boot_init boot_init_##function                    \
        __attribute__((section("boot_init"), used, aligned(8))) = {       \
            .order = (init_order), .fn = (function)}

/*
 * Interrupts. The boot path installs an IDT whose vectors 0-31 report
 * CPU exceptions, leaves vectors BOOT_FIRST_INTERRUPT_VECTOR..255 empty,
 * and runs with interrupts disabled. A component that owns an interrupt
 * source puts its entry point into a free vector here, then unmasks the
 * source; vectors are assigned by convention (each owner documents its
 * own in its header). Call with interrupts disabled.
 *
 * `entry` is entered through a 64-bit interrupt gate: on the interrupted
 * stack (images have no red zone), interrupts disabled, with nothing
 * saved but what the CPU pushes. It must preserve every register,
 * including the x87/SSE state, and end with iretq; it is assembly, not
 * a C function. Returns 0, or -1 if the vector is an exception vector
 * or out of range, or entry is NULL.
 */
#define BOOT_FIRST_INTERRUPT_VECTOR 32
int boot_set_interrupt_gate(unsigned vector, void (*entry)(void));

/*
 * Stack protector. Images are compiled with the stack protector in strong
 * mode; its canary is drawn at boot from RDRAND (where the CPU has it)
 * mixed with the TSC, before any C code runs. A smashed canary ends in
 * "[boot] panic: stack smashing detected ..." and BOOT_EXIT_PANIC.
 */
enum boot_entropy_source {
    BOOT_ENTROPY_TSC = 1,        /* no RDRAND: the TSC only (weak) */
    BOOT_ENTROPY_RDRAND_TSC = 2, /* RDRAND mixed with the TSC */
};

/* Where this boot's stack canary came from. */
enum boot_entropy_source boot_stack_guard_source(void);

#endif /* __ASSEMBLER__ */

#endif /* BOOT_BOOT_H */
