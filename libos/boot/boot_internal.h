/*
 * Private to //libos/boot: the joints between the entry assembly, the C
 * boot code and the application. What the platform entries share with
 * them is <boot/platform.h>.
 */
#ifndef BOOT_INTERNAL_H
#define BOOT_INTERNAL_H

#include <boot/boot.h>
#include <boot/hvm_start_info.h>
#include <boot/platform.h> /* what the platform entries share */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BOOT_PAGE_SIZE 4096u

/* The exception stack (entry.S, IST 1): a guard page, then 16 KiB. */
#define BOOT_EXCEPTION_STACK_SIZE 0x4000u
extern char boot_exception_stack_guard[], boot_exception_stack_top[];

/* The GDT and TSS page (exceptions.c), read-only once sealed. */
extern struct boot_descriptors boot_descriptors;

/* The IDT's page (exceptions.c), read-only once sealed. */
extern struct boot_idt boot_idt;

/*
 * Replace entry.S's identity map by page tables built from the linker's
 * seal manifest (W^X, page 0 and the stack guard unmapped), then make the
 * tables read-only (paging.c).
 */
void boot_paging_seal(void);

/* Whether execute-disable is in force (the CPU has NX). */
bool boot_paging_nx(void);

/* Whether the CPU has NX, so entry.S enabled it (EFER.NXE); PVH only. */
bool boot_cpu_nx(void);

/* Whether the page tables are sealed (PVH or PV): nothing maps or unmaps. */
bool boot_paging_sealed(void);

/* Whether [addr, addr + len) is mapped and readable right now. */
bool boot_paging_readable(uint64_t addr, uint64_t len);

/* QEMU's isa-debug-exit device (-device isa-debug-exit,iobase=0xf4). */
#define BOOT_DEBUG_EXIT_PORT 0xf4

/*
 * 64 bits from RDRAND (where present and healthy) mixed with the TSC
 * (entropy.c); the first call tests RDRAND.
 */
uint64_t boot_entropy(enum boot_entropy_source *source);

/*
 * "[boot] entropy: ..." (the source and, if RDRAND is not used, why);
 * a fault found later prints a line of its own.
 */
void boot_entropy_report(void);

/* Called by entry.S on the boot stack, in long mode. */
_Noreturn void boot_pvh(const struct hvm_start_info *si);

/* Install the IDT that reports CPU exceptions (exceptions.c). */
void boot_exceptions_init(void);

#endif /* BOOT_INTERNAL_H */
