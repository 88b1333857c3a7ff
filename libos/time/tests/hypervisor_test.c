/* Hypervisor detection against scripted CPUID answers. */
#include <stdint.h>
#include <string.h>

#include <stdio.h>
#include <stdlib.h>
#include <testing/check.h>
#include "libos/time/hypervisor.h"

/* One scripted machine: leaf 1's ECX and up to three signature leaves. */
struct machine {
    uint32_t leaf1_ecx;
    struct {
        uint32_t leaf;
        uint32_t max;
        char signature[13];
    } sig[3];
};

static const struct machine *current;

static void fake_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t regs[4])
{
    (void)subleaf;
    memset(regs, 0, 4 * sizeof regs[0]);
    if (leaf == 1) {
        regs[2] = current->leaf1_ecx;
        return;
    }
    for (int i = 0; i < 3; i++) {
        if (current->sig[i].leaf == leaf && leaf != 0) {
            regs[0] = current->sig[i].max;
            memcpy(&regs[1], current->sig[i].signature, 12);
            return;
        }
    }
}

static void detect(const struct machine *m, struct hypervisor_id *id)
{
    current = m;
    time_hypervisor_detect(fake_cpuid, id);
}

#define HV (1u << 31)

int main(void)
{
    struct hypervisor_id id;

    /* No hypervisor bit: don't even look at the leaves. */
    static const struct machine bare = {
        0, {{0x40000000, 0x40000005, "XenVMMXenVMM"}}};
    detect(&bare, &id);
    CHECK(!id.xen && id.signature[0] == '\0');

    /* QEMU TCG, as the probe image saw it. */
    static const struct machine tcg = {
        HV, {{0x40000000, 0x40000001, "TCGTCGTCGTCG"}}};
    detect(&tcg, &id);
    CHECK(!id.xen && strcmp(id.signature, "TCGTCGTCGTCG") == 0);

    /* KVM's signature is NUL-padded to 12 bytes. */
    static const struct machine kvm = {
        HV, {{0x40000000, 0x40000001, "KVMKVMKVM\0\0"}}};
    detect(&kvm, &id);
    CHECK(!id.xen && strcmp(id.signature, "KVMKVMKVM") == 0);

    /* Xen at the first base. */
    static const struct machine xen = {
        HV, {{0x40000000, 0x40000005, "XenVMMXenVMM"}}};
    detect(&xen, &id);
    CHECK(id.xen && id.xen_base == 0x40000000 && id.xen_max_leaf == 0x40000005);
    CHECK(strcmp(id.signature, "XenVMMXenVMM") == 0);

    /* Xen behind Hyper-V (viridian) leaves: found at 0x40000100. */
    static const struct machine viridian = {
        HV,
        {{0x40000000, 0x40000006, "Microsoft Hv"},
         {0x40000100, 0x40000105, "XenVMMXenVMM"}}};
    detect(&viridian, &id);
    CHECK(id.xen && id.xen_base == 0x40000100);
    CHECK(strcmp(id.signature, "Microsoft Hv") == 0);

    /* Xen's signature without its leaves up to base + 2: not usable. */
    static const struct machine short_xen = {
        HV, {{0x40000000, 0x40000001, "XenVMMXenVMM"}}};
    detect(&short_xen, &id);
    CHECK(!id.xen);

    /* Found far out, at the last base searched. */
    static const struct machine far = {
        HV, {{0x4000ff00, 0x4000ff04, "XenVMMXenVMM"}}};
    detect(&far, &id);
    CHECK(id.xen && id.xen_base == 0x4000ff00);

    /* Unprintable signature bytes are shown as '?'. */
    static const struct machine odd = {
        HV, {{0x40000000, 0x40000001, "ab\x01\x7f" "cdefghij"}}};
    detect(&odd, &id);
    CHECK(strcmp(id.signature, "ab??cdefghij") == 0);

    return check_finish();
}
