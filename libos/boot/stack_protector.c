/*
 * The stack protector's canary and its failure path.
 *
 * Every image is compiled with the stack protector in "strong" mode (see
 * the stack_protector feature in toolchain/cc_toolchain_config.bzl): a
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

#define CPUID_1_ECX_RDRAND (1u << 30)

/* RDRAND can transiently fail (CF=0); Intel suggests up to ten tries. */
static int rdrand64(uint64_t *out)
{
    for (int i = 0; i < 10; i++) {
        uint64_t v;
        uint8_t ok;
        __asm__ volatile("rdrand %0; setc %1" : "=r"(v), "=qm"(ok)::"cc");
        if (ok) {
            *out = v;
            return 1;
        }
    }
    return 0;
}

/* A bijective 64-bit mixer (the splitmix64 finaliser constants). */
static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27;
    x *= UINT64_C(0x94d049bb133111eb);
    x ^= x >> 31;
    return x;
}

/*
 * Called by entry.S before boot_pvh: nothing protected is on the stack yet,
 * and this function itself must not be protected (its frame would be
 * checked against a guard it changed).
 */
__attribute__((no_stack_protector)) void boot_stack_guard_init(void)
{
    uint64_t r = 0;

    guard_source = BOOT_ENTROPY_TSC;
    if ((cpuid(1, 0).ecx & CPUID_1_ECX_RDRAND) && rdrand64(&r))
        guard_source = BOOT_ENTROPY_RDRAND_TSC;

    /*
     * The TSC alone is weak (boot is deterministic under emulation, so it
     * is nearly constant there), which is why RDRAND is preferred; mixing
     * both means a broken RDRAND cannot make the guard worse than the TSC.
     */
    uint64_t guard = mix64(r ^ mix64(rdtsc()));

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
