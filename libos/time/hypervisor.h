/*
 * Which hypervisor are we on? CPUID answers: leaf 1 ECX bit 31 says
 * "running under a hypervisor", and leaves from 0x40000000 on carry its
 * 12-byte signature. Xen's block of leaves can sit at 0x40000000 or, when
 * Xen also offers Hyper-V leaves there, at a later multiple of 0x100
 * (<xenabi/cpuid.h>), so it is searched for. CPUID is passed in as a
 * function so that the host tests can play any hypervisor. Pure.
 */
#ifndef TIME_HYPERVISOR_H
#define TIME_HYPERVISOR_H

#include <stdbool.h>
#include <stdint.h>

/* Runs CPUID leaf/subleaf into regs[0..3] = EAX, EBX, ECX, EDX. */
typedef void (*hypervisor_cpuid_fn)(uint32_t leaf, uint32_t subleaf,
                                    uint32_t regs[4]);

struct hypervisor_id {
    char signature[13]; /* at 0x40000000, NUL-terminated; "" if none */
    bool xen;
    uint32_t xen_base;  /* the leaf of Xen's signature, if xen */
    uint32_t xen_max_leaf; /* EAX of that leaf: Xen's highest leaf */
};

void time_hypervisor_detect(hypervisor_cpuid_fn cpuid,
                            struct hypervisor_id *out);

#endif /* TIME_HYPERVISOR_H */
