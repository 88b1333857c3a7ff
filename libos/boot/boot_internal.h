/*
 * Private to //libos/boot: the joints between the entry assembly, the C
 * boot code and the application.
 */
#ifndef BOOT_INTERNAL_H
#define BOOT_INTERNAL_H

#include <boot/hvm_start_info.h>
#include <stdint.h>

/*
 * The entry code identity-maps physical memory below this address and
 * nothing above it; the boot path may only dereference loader-supplied
 * addresses inside this window. Keep in step with entry.S.
 */
#define BOOT_IDENTITY_MAP_LIMIT (UINT64_C(4) << 30)

/*
 * The page table that maps the first 2 MiB in 4 KiB pages (entry.S).
 * Entry 0 maps page 0 until boot_pvh() has copied the start info (QEMU
 * puts the memory map there) and then unmaps it, so that NULL pointer
 * accesses fault.
 */
extern uint64_t boot_pt0[512];

/* QEMU's isa-debug-exit device (-device isa-debug-exit,iobase=0xf4). */
#define BOOT_DEBUG_EXIT_PORT 0xf4

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

/* Provided by the application. */
int main(int argc, char **argv);

#endif /* BOOT_INTERNAL_H */
