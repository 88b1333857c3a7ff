/*
 * Boot-time entropy: RDRAND where the CPU has it, mixed with the TSC.
 * Used for the stack protector's canary (before any C code that it
 * protects runs) and for placement decisions at boot (boot_random_u64).
 */
#include <arch/x86.h>
#include <boot/boot.h>
#include <stdint.h>

#include "boot_internal.h"

#define CPUID_1_ECX_RDRAND (1u << 30)

/* RDRAND can transiently fail (CF=0); Intel suggests up to ten tries. */
__attribute__((no_stack_protector)) static int rdrand64(uint64_t *out)
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
__attribute__((no_stack_protector)) static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27;
    x *= UINT64_C(0x94d049bb133111eb);
    x ^= x >> 31;
    return x;
}

/*
 * Runs before the stack canary exists (entry.S calls the canary set-up
 * first), so neither it nor its callees may be protected.
 */
__attribute__((no_stack_protector)) uint64_t
boot_entropy(enum boot_entropy_source *source)
{
    static uint64_t calls; /* distinct inputs even if the TSC stands still */
    uint64_t r = 0;

    *source = BOOT_ENTROPY_TSC;
    if ((cpuid(1, 0).ecx & CPUID_1_ECX_RDRAND) && rdrand64(&r))
        *source = BOOT_ENTROPY_RDRAND_TSC;
    /*
     * The TSC alone is weak (boot is deterministic under emulation, so it
     * is nearly constant there), which is why RDRAND is preferred; mixing
     * both means a broken RDRAND cannot make the result worse than the TSC.
     */
    return mix64(r ^ mix64(rdtsc() + ++calls));
}

uint64_t boot_random_u64(void)
{
    enum boot_entropy_source source;

    return boot_entropy(&source);
}
