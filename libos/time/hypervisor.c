#include "hypervisor.h"

#include <xenabi/cpuid.h>

#define CPUID_1_ECX_HYPERVISOR (1u << 31)

static void signature_string(const uint32_t regs[4], char out[13])
{
    /* EBX, ECX, EDX hold the 12 bytes in that order, little-endian. */
    for (int r = 0; r < 3; r++)
        for (int b = 0; b < 4; b++)
            out[r * 4 + b] = (char)(regs[1 + r] >> (8 * b));
    out[12] = '\0';
    /* Signatures shorter than 12 bytes ("KVMKVMKVM") are NUL-padded. */
    for (int i = 0; i < 12; i++)
        if (out[i] != '\0' && (out[i] < ' ' || out[i] > '~'))
            out[i] = '?';
}

static bool is_xen(const uint32_t regs[4])
{
    return regs[1] == XENABI_CPUID_SIGNATURE_EBX
           && regs[2] == XENABI_CPUID_SIGNATURE_ECX
           && regs[3] == XENABI_CPUID_SIGNATURE_EDX;
}

void time_hypervisor_detect(hypervisor_cpuid_fn cpuid,
                            struct hypervisor_id *out)
{
    uint32_t regs[4];

    *out = (struct hypervisor_id){.signature = ""};
    cpuid(1, 0, regs);
    if (!(regs[2] & CPUID_1_ECX_HYPERVISOR))
        return;
    cpuid(XENABI_CPUID_FIRST_BASE, 0, regs);
    signature_string(regs, out->signature);

    for (uint32_t base = XENABI_CPUID_FIRST_BASE;
         base < XENABI_CPUID_SEARCH_LIMIT; base += XENABI_CPUID_BASE_STEP) {
        cpuid(base, 0, regs);
        /* Xen has at least the leaves up to base + 2 (hypercall page). */
        if (is_xen(regs) && regs[0] >= base + XENABI_CPUID_LEAF_HYPERCALL) {
            out->xen = true;
            out->xen_base = base;
            out->xen_max_leaf = regs[0];
            return;
        }
    }
}
