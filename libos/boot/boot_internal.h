/*
 * Private to //libos/boot: the joints between the entry assembly, the C
 * boot code and the application.
 */
#ifndef BOOT_INTERNAL_H
#define BOOT_INTERNAL_H

#include <boot/boot.h>
#include <boot/hvm_start_info.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The entry code identity-maps physical memory below this address and
 * nothing above it; the boot path may only dereference loader-supplied
 * addresses inside this window. Keep in step with entry.S.
 */
#define BOOT_IDENTITY_MAP_LIMIT (UINT64_C(4) << 30)

#define BOOT_PAGE_SIZE 4096u

/* The boot stack (entry.S): a guard page, then the stack proper. */
extern char boot_stack_guard[], boot_stack[], boot_stack_top[];

/* The exception stack (entry.S, IST 1): a guard page, then 16 KiB. */
#define BOOT_EXCEPTION_STACK_SIZE 0x4000u
extern char boot_exception_stack_guard[], boot_exception_stack_top[];

/* The GDT and TSS page (exceptions.c), read-only once sealed. */
extern struct boot_descriptors boot_descriptors;

/*
 * Replace entry.S's identity map by page tables built from the linker's
 * seal manifest (W^X, page 0 and the stack guard unmapped), then make the
 * tables read-only (paging.c).
 */
void boot_paging_seal(void);

/* Whether execute-disable is in force (the CPU has NX). */
bool boot_paging_nx(void);

/* The part of the image (or hole) `addr` lies in, or NULL; for reports. */
const char *boot_paging_region(uint64_t addr);

/* Whether [addr, addr + len) is mapped and readable right now. */
bool boot_paging_readable(uint64_t addr, uint64_t len);

/*
 * For the PV path's own sealed tables (pv_paging.c): the guard pages asked
 * for (boot_guard_page), and the moment of the seal, after which no more
 * may be asked for.
 */
size_t boot_guard_page_count(void);
uint64_t boot_guard_page_addr(size_t index);
void boot_paging_mark_sealed(void);
bool boot_pv_paging_readable(uint64_t addr, uint64_t len);
void boot_pv_paging_guards(void);

/* QEMU's isa-debug-exit device (-device isa-debug-exit,iobase=0xf4). */
#define BOOT_DEBUG_EXIT_PORT 0xf4

/* 64 bits from RDRAND (where present) mixed with the TSC (entropy.c). */
uint64_t boot_entropy(enum boot_entropy_source *source);

/* Called by entry.S first, in long mode: draws the stack canary. */
void boot_stack_guard_init(void);

/* Called by entry.S on the boot stack, in long mode. */
_Noreturn void boot_pvh(const struct hvm_start_info *si);

/* Install the IDT that reports CPU exceptions (exceptions.c). */
void boot_exceptions_init(void);

/* Called by the exception stubs in exception_stubs.S; reports and exits. */
struct exception_frame;
_Noreturn void boot_exception(const struct exception_frame *frame);

/* Print "[boot] panic: ..." and exit with BOOT_EXIT_PANIC. */
_Noreturn void boot_panic(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/*
 * Xen PVH (xen.c, <boot/xen.h>). boot_xen_init() finds Xen and installs
 * the hypercall page and the Xen console; false when not on Xen.
 */
bool boot_xen_init(void);
void boot_xen_console_write(const char *buf, size_t len);
void boot_xen_report(void);
void boot_xen_report_main(void);
void boot_xen_shutdown(uint8_t status);

/*
 * Xen PV (pv_entry.S, pv.c, pv_paging.c). _start_pv calls boot_pv() on the
 * boot stack with the start info and the top of Xen's bootstrap stack
 * (the end of what Xen placed after the image).
 */
struct xenabi_start_info;
struct xenabi_console_interface;
_Noreturn void boot_pv(const struct xenabi_start_info *si,
                       uint64_t xen_stack_top);
void boot_xen_init_pv(volatile struct xenabi_console_interface *console,
                      uint32_t port);
uint32_t boot_pv_tsc_khz(void);
/* CALLBACKOP_register for the failsafe callback (xen_upcall.c). */
long boot_pv_register_failsafe(void (*entry)(void));
/* Stop for good where cli/hlt cannot run (ring 3): shutdown(crash). */
_Noreturn void boot_pv_halt(void);
/*
 * Switch to page tables built from the seal (pv_paging.c): RAM pages
 * [1, ram_pages) mapped, the image as sealed, the frames listed as page
 * tables read-only; `pool` pages from `pool_start` (mapped writable by Xen)
 * hold the new tables. Returns the number of pool pages used.
 */
struct pv_paging_plan {
    const uint64_t *p2m;       /* pfn -> mfn, start_info.mfn_list */
    uint64_t ram_pages;        /* map pfns [1, ram_pages) */
    uint64_t pool_start;       /* first pool page (address) */
    uint64_t pool_pages;       /* pages available there */
    uint64_t old_tables;       /* Xen's bootstrap tables (address) */
    uint64_t old_table_pages;  /* and their number */
    uint64_t shared_info_va;   /* page to map the shared info at */
    uint64_t shared_info_ma;   /* its machine address */
};
uint64_t boot_pv_paging_seal(const struct pv_paging_plan *plan);
/* The hypercall page's call (hypercall_page.S), usable before xen.c is set. */
long boot_xen_hypercall_raw(unsigned int nr, uint64_t a1, uint64_t a2,
                            uint64_t a3, uint64_t a4, uint64_t a5);

/*
 * The address of the last page fault: %cr2, or, on PV (where reading %cr2
 * faults), vcpu_info.arch.cr2 in the shared info page.
 */
uint64_t boot_fault_address(void);

/*
 * boot.c, shared with the PV path: initialisers and argv, just before
 * main() (which the caller calls: it is the last frame of backtraces);
 * and how the PV path records what it learned.
 */
void boot_run_initialisers_before_seal(void);
int boot_prepare_main(char ***args);
void boot_record_cmdline(const char *text, size_t max);
void boot_record_memory(uint64_t addr, uint64_t size, uint32_t type);

/* Provided by the application. */
int main(int argc, char **argv);

#endif /* BOOT_INTERNAL_H */
