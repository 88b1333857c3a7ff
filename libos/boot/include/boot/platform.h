/*
 * boot/platform.h - what the boot path offers the platform code that
 * enters it (//libos/platform/xen's PV entry): the one-way hook from a
 * platform into //libos/boot. Not for applications or drivers.
 *
 * A platform entry that does not come through _start_pvh (Xen PV's
 * _start_pv) rebuilds what boot_pvh() does from its own start info: it
 * records the command line and the memory map here, seals the page
 * tables its own way around boot_run_initialisers_before_seal(), then
 * calls boot_prepare_main() and main() itself. Its assembly shares the
 * boot stack, the stack canary and the exception report with _start_pvh.
 *
 * The other direction, what the boot path asks of the Xen platform, is
 * <platform/xen/boot.h>.
 */
#ifndef BOOT_PLATFORM_H
#define BOOT_PLATFORM_H

#include <boot/boot.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The entry code identity-maps physical memory below this address and
 * nothing above it; the boot path may only dereference loader-supplied
 * addresses inside this window. Keep in step with entry.S.
 */
#define BOOT_IDENTITY_MAP_LIMIT (UINT64_C(4) << 30)

/* The boot stack (entry.S): a guard page, then the stack proper. */
extern char boot_stack_guard[], boot_stack[], boot_stack_top[];

/* The TSC at the first instruction of the entry (entry.S, pv_entry.S). */
extern uint64_t boot_entry_tsc;

/* Called first by every entry, in long mode: draws the stack canary. */
void boot_stack_guard_init(void);

/* Called by exception stubs with the frame of <boot/boot.h>'s report. */
struct exception_frame;
_Noreturn void boot_exception(const struct exception_frame *frame);

/* Print "[boot] panic: ..." and exit with BOOT_EXIT_PANIC. */
_Noreturn void boot_panic(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/*
 * Once the command line is recorded: reports the entropy source
 * ("[boot] entropy: ..."), and refuses to boot if `nx` is false (the CPU
 * has no execute-disable, so W^X is void) unless the command line says
 * boot.allow_no_nx=1, in which case it warns.
 */
void boot_check_cpu(bool nx);

/* What the platform learned from its start info: the command line... */
void boot_record_cmdline(const char *text, size_t max);
/* ...and the memory map, one region at a time (HVM_MEMMAP_TYPE_*). */
void boot_record_memory(uint64_t addr, uint64_t size, uint32_t type);

/*
 * The initialisers ordered before BOOT_INIT_ORDER_SEAL (they ask for guard
 * pages), then, once the platform has sealed its tables, the rest and
 * argv: returns argc and sets *args; the caller calls main() itself, so
 * that backtraces end in the platform's entry function.
 */
void boot_run_initialisers_before_seal(void);
int boot_prepare_main(char ***args);

/*
 * The guard pages asked for with boot_guard_page(), for a platform that
 * unmaps them in its own page tables, and the moment of its seal, after
 * which boot_guard_page() refuses.
 */
size_t boot_guard_page_count(void);
uint64_t boot_guard_page_addr(size_t index);
void boot_paging_mark_sealed(void);

/* The part of the image (or hole) `addr` lies in, or NULL; for reports. */
const char *boot_paging_region(uint64_t addr);

/* Provided by the application. */
int main(int argc, char **argv);

#endif /* BOOT_PLATFORM_H */
