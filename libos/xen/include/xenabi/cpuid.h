/*
 * xenabi/cpuid.h - finding Xen from inside a guest.
 *
 * Hypervisors answer CPUID leaves from 0x40000000 on. Xen's block of
 * leaves starts at the first multiple of 0x100 from there whose leaf 0
 * carries the signature "XenVMMXenVMM" in EBX, ECX, EDX: at 0x40000000
 * normally, at 0x40000100 when Xen also offers Hyper-V (viridian) leaves
 * at 0x40000000. A guest probes base = 0x40000000, 0x40000100, ... up to
 * XENABI_CPUID_SEARCH_LIMIT and then reads, relative to that base:
 *
 *   base + 0  EAX: highest Xen leaf; EBX, ECX, EDX: the signature
 *   base + 1  EAX: Xen version, major in bits 31:16, minor in 15:0
 *   base + 2  EAX: hypercall pages (>= 1); EBX: MSR that installs the
 *             hypercall page (see <xenabi/hypercall.h>); ECX: feature flags
 *   base + 3  time: TSC mode and frequencies (sub-leaves 0-2)
 *   base + 4  HVM features (EAX), vcpu id (EBX), domain id (ECX)
 *   base + 5  PV features
 */
#ifndef XENABI_CPUID_H
#define XENABI_CPUID_H

#define XENABI_CPUID_FIRST_BASE 0x40000000u
#define XENABI_CPUID_BASE_STEP 0x100u
#define XENABI_CPUID_SEARCH_LIMIT 0x40010000u /* exclusive; what Linux probes */

/* Leaf offsets from the base. */
#define XENABI_CPUID_LEAF_SIGNATURE 0
#define XENABI_CPUID_LEAF_VERSION 1
#define XENABI_CPUID_LEAF_HYPERCALL 2
#define XENABI_CPUID_LEAF_TIME 3
#define XENABI_CPUID_LEAF_HVM 4
#define XENABI_CPUID_LEAF_PV 5

/* The signature, and the same 12 bytes as the registers hold them. */
#define XENABI_CPUID_SIGNATURE "XenVMMXenVMM"
#define XENABI_CPUID_SIGNATURE_EBX 0x566e6558u /* "XenV" little-endian */
#define XENABI_CPUID_SIGNATURE_ECX 0x65584d4du /* "MMXe" */
#define XENABI_CPUID_SIGNATURE_EDX 0x4d4d566eu /* "nVMM" */

/* base + 2, ECX. */
#define XENABI_CPUID_FEAT1_MMU_PT_UPDATE_PRESERVE_AD (1u << 0)

/* base + 4, EAX: what an HVM/PVH guest may rely on. */
#define XENABI_CPUID_HVM_APIC_ACCESS_VIRT (1u << 0)
#define XENABI_CPUID_HVM_X2APIC_VIRT (1u << 1)
#define XENABI_CPUID_HVM_IOMMU_MAPPINGS (1u << 2)
#define XENABI_CPUID_HVM_VCPU_ID_PRESENT (1u << 3) /* EBX holds the vcpu id */
#define XENABI_CPUID_HVM_DOMID_PRESENT (1u << 4)   /* ECX holds the domid */
#define XENABI_CPUID_HVM_EXT_DEST_ID (1u << 5)
#define XENABI_CPUID_HVM_UPCALL_VECTOR (1u << 6)   /* per-vcpu upcall vectors */

#endif /* XENABI_CPUID_H */
