/*
 * The stack protector's canary and its failure path.
 *
 * Every image is compiled with the stack protector in "strong" mode (see
 * the stack_protector feature in rules_unikernel/toolchain/cc_toolchain_config.bzl): a
 * function with a local array or an address-taken local copies
 * __stack_chk_guard below its return address on entry and checks it on
 * return. The guard is drawn at boot, before any protected function runs,
 * so an attacker who has the image (and its layout) still has to guess it.
 */
#include <arch/x86.h>
#include <boot/boot.h>
#include <stdint.h>

#include "boot_internal.h"

/*
 * Not const and not in .bss: it is written once, by boot_stack_guard_init,
 * before C code runs. The initial value only matters if that never happens.
 */
uintptr_t __stack_chk_guard = 0x5a17ed00c0ffee00u;

static enum boot_entropy_source guard_source;

/*
 * Called by entry.S before boot_pvh: nothing protected is on the stack yet,
 * and this function itself must not be protected (its frame would be
 * checked against a guard it changed).
 */
__attribute__((no_stack_protector)) void boot_stack_guard_init(void)
{
    uint64_t guard = boot_entropy(&guard_source);

    /*
     * A zero low byte: C string functions stop at it, so an overflow
     * through strcpy cannot write the canary back, and a leak through a
     * string read stops before it.
     */
    __stack_chk_guard = (uintptr_t)(guard & ~UINT64_C(0xff));
}

enum boot_entropy_source boot_stack_guard_source(void)
{
    return guard_source;
}

_Noreturn void __stack_chk_fail(void)
{
    boot_panic("stack smashing detected: the stack canary of the function "
               "returning to %p was overwritten",
               __builtin_return_address(0));
}
