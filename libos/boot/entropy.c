/*
 * Boot-time entropy: RDRAND where the CPU has it and it passes its health
 * checks (rdrand_check.h), mixed with the TSC; the TSC alone otherwise.
 * Used for the stack protector's canary (before any C code that it
 * protects runs) and for placement decisions at boot (boot_random_u64).
 */
#include <arch/x86.h>
#include <boot/boot.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "boot_internal.h"
#include "rdrand_check.h"

#define CPUID_1_ECX_RDRAND (1u << 30)

/* In .bss, which entry.S zeroes before the first call: "not tested". */
static struct rdrand_health health;
static bool reported; /* boot_entropy_report() has run: faults print */

__attribute__((no_stack_protector)) static int rdrand_insn(void *ctx,
                                                           uint64_t *out)
{
    uint64_t v;
    uint8_t ok;

    (void)ctx;
    __asm__ volatile("rdrand %0; setc %1" : "=r"(v), "=qm"(ok)::"cc");
    *out = v;
    return ok;
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

    if (!health.tested)
        rdrand_self_test(&health,
                         (cpuid(1, 0).ecx & CPUID_1_ECX_RDRAND) != 0,
                         rdrand_insn, NULL);
    bool was_healthy = health.fault == RDRAND_FAULT_NONE;
    *source = BOOT_ENTROPY_TSC;
    if (rdrand_draw(&health, rdrand_insn, NULL, &r))
        *source = BOOT_ENTROPY_RDRAND_TSC;
    else if (was_healthy && reported) /* it just broke; say so once */
        printf("[boot] entropy: RDRAND %s: not used from now on; the TSC "
               "only (weak)\n",
               rdrand_fault_text(health.fault));
    if (*source == BOOT_ENTROPY_TSC)
        r = 0; /* a failing RDRAND's value is not mixed in either */
    /*
     * The TSC alone is weak (boot is deterministic under emulation, so it
     * is nearly constant there), which is why RDRAND is preferred; mixing
     * both means RDRAND must be predictable and the TSC too before the
     * result is.
     */
    return mix64(r ^ mix64(rdtsc() + ++calls));
}

void boot_entropy_report(void)
{
    if (health.fault == RDRAND_FAULT_NONE)
        printf("[boot] entropy: RDRAND (passed its health checks) mixed "
               "with the TSC\n");
    else
        printf("[boot] entropy: RDRAND %s: the TSC only (weak: nearly "
               "constant under emulation)\n",
               rdrand_fault_text(health.fault));
    reported = true;
}

uint64_t boot_random_u64(void)
{
    enum boot_entropy_source source;

    return boot_entropy(&source);
}
