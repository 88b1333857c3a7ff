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

/* Provided by the application. */
int main(int argc, char **argv);

#endif /* BOOT_INTERNAL_H */
