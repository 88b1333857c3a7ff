/*
 * xenabi/shared_info.h - the shared info page: per-vcpu event and time
 * state, the 2-level event channel bitmaps and the wall clock, all
 * written by Xen and read (mostly) by the guest.
 *
 * A PV guest finds the page through start_info; an HVM or PVH guest picks
 * a free guest frame and asks Xen to put the page there with
 * XENMEM_add_to_physmap (space XENABI_XENMAPSPACE_SHARED_INFO, idx 0).
 */
#ifndef XENABI_SHARED_INFO_H
#define XENABI_SHARED_INFO_H

#include <xenabi/types.h>

/* The shared info page holds vcpu_info for this many vcpus. */
#define XENABI_LEGACY_MAX_VCPUS 32

/*
 * Xen's clock for one vcpu (the "pvclock"). Xen bumps version to an odd
 * value, updates the fields, then bumps it to an even value; a reader
 * copies the fields between two reads of an equal, even version (and
 * retries otherwise). System time in ns is then
 *
 *     system_time + scale(tsc_now - tsc_timestamp)
 *
 * with scale() as in xenabi_pvclock_scale() below.
 */
struct xenabi_vcpu_time_info {
    uint32_t version;
    uint32_t pad0;
    uint64_t tsc_timestamp;      /* TSC when the fields were written */
    uint64_t system_time;        /* ns since Xen booted, at tsc_timestamp */
    uint32_t tsc_to_system_mul;  /* 32.32 fixed-point ns per (shifted) tick */
    int8_t tsc_shift;            /* TSC delta shift first; < 0: right */
    uint8_t flags;               /* XENABI_PVCLOCK_* */
    uint8_t pad1[2];
};
XENABI_ASSERT_SIZE(struct xenabi_vcpu_time_info, 32);
XENABI_ASSERT_OFFSET(struct xenabi_vcpu_time_info, version, 0);
XENABI_ASSERT_OFFSET(struct xenabi_vcpu_time_info, pad0, 4);
XENABI_ASSERT_OFFSET(struct xenabi_vcpu_time_info, tsc_timestamp, 8);
XENABI_ASSERT_OFFSET(struct xenabi_vcpu_time_info, system_time, 16);
XENABI_ASSERT_OFFSET(struct xenabi_vcpu_time_info, tsc_to_system_mul, 24);
XENABI_ASSERT_OFFSET(struct xenabi_vcpu_time_info, tsc_shift, 28);
XENABI_ASSERT_OFFSET(struct xenabi_vcpu_time_info, flags, 29);
XENABI_ASSERT_OFFSET(struct xenabi_vcpu_time_info, pad1, 30);

#define XENABI_PVCLOCK_TSC_STABLE_BIT (1u << 0) /* same TSC on every vcpu */
#define XENABI_PVCLOCK_GUEST_STOPPED (1u << 1)

/* TSC ticks to ns, for a delta read from the same vcpu_time_info. */
static inline uint64_t xenabi_pvclock_scale(uint64_t tsc_delta, uint32_t mul,
                                            int8_t shift)
{
    if (shift < 0)
        tsc_delta >>= -shift;
    else
        tsc_delta <<= shift;
    /* (tsc_delta * mul) >> 32 without a 128-bit product. */
    uint64_t low = (tsc_delta & 0xffffffffu) * mul;
    uint64_t high = (tsc_delta >> 32) * mul;
    return high + (low >> 32);
}

struct xenabi_arch_vcpu_info {
    uint64_t cr2; /* PV: faulting address of the last page fault */
    uint64_t pad;
};
XENABI_ASSERT_SIZE(struct xenabi_arch_vcpu_info, 16);
XENABI_ASSERT_OFFSET(struct xenabi_arch_vcpu_info, cr2, 0);
XENABI_ASSERT_OFFSET(struct xenabi_arch_vcpu_info, pad, 8);

/*
 * Per-vcpu event state. Xen sets evtchn_upcall_pending and a bit in
 * evtchn_pending_sel (bit i: word i of shared_info.evtchn_pending has a
 * pending, unmasked port) before it interrupts the vcpu. The guest clears
 * upcall_pending first, then takes the selector with an atomic exchange,
 * then scans. evtchn_upcall_mask is the PV "interrupts off" flag; HVM and
 * PVH guests use the CPU's own IF flag instead.
 */
struct xenabi_vcpu_info {
    uint8_t evtchn_upcall_pending;
    uint8_t evtchn_upcall_mask;
    uint8_t pad0[6];
    uint64_t evtchn_pending_sel;
    struct xenabi_arch_vcpu_info arch;
    struct xenabi_vcpu_time_info time;
};
XENABI_ASSERT_SIZE(struct xenabi_vcpu_info, 64);
XENABI_ASSERT_OFFSET(struct xenabi_vcpu_info, evtchn_upcall_pending, 0);
XENABI_ASSERT_OFFSET(struct xenabi_vcpu_info, evtchn_upcall_mask, 1);
XENABI_ASSERT_OFFSET(struct xenabi_vcpu_info, pad0, 2);
XENABI_ASSERT_OFFSET(struct xenabi_vcpu_info, evtchn_pending_sel, 8);
XENABI_ASSERT_OFFSET(struct xenabi_vcpu_info, arch, 16);
XENABI_ASSERT_OFFSET(struct xenabi_vcpu_info, time, 32);

/* PV memory-management bookkeeping; unused by HVM and PVH guests. */
struct xenabi_arch_shared_info {
    uint64_t max_pfn;
    uint64_t pfn_to_mfn_frame_list_list;
    uint64_t nmi_reason;
    uint64_t p2m_cr3;
    uint64_t p2m_vaddr;
    uint64_t p2m_generation;
};
XENABI_ASSERT_SIZE(struct xenabi_arch_shared_info, 48);
XENABI_ASSERT_OFFSET(struct xenabi_arch_shared_info, max_pfn, 0);
XENABI_ASSERT_OFFSET(struct xenabi_arch_shared_info,
                     pfn_to_mfn_frame_list_list, 8);
XENABI_ASSERT_OFFSET(struct xenabi_arch_shared_info, nmi_reason, 16);
XENABI_ASSERT_OFFSET(struct xenabi_arch_shared_info, p2m_cr3, 24);
XENABI_ASSERT_OFFSET(struct xenabi_arch_shared_info, p2m_vaddr, 32);
XENABI_ASSERT_OFFSET(struct xenabi_arch_shared_info, p2m_generation, 40);

/* Words in the 2-level event bitmaps: 64 words of 64 bits = 4096 ports. */
#define XENABI_EVTCHN_2L_WORDS 64
#define XENABI_EVTCHN_2L_NR_CHANNELS (XENABI_EVTCHN_2L_WORDS * 64)

struct xenabi_shared_info {
    struct xenabi_vcpu_info vcpu_info[XENABI_LEGACY_MAX_VCPUS];
    /*
     * Port p is bit p % 64 of word p / 64. Xen sets pending bits; the guest
     * clears them. The guest sets mask bits to stop a port interrupting.
     */
    uint64_t evtchn_pending[XENABI_EVTCHN_2L_WORDS];
    uint64_t evtchn_mask[XENABI_EVTCHN_2L_WORDS];
    /*
     * Wall clock at system time 0, in seconds (wc_sec_hi:wc_sec) and ns
     * since the Unix epoch; versioned like vcpu_time_info.
     */
    uint32_t wc_version;
    uint32_t wc_sec;
    uint32_t wc_nsec;
    uint32_t wc_sec_hi;
    struct xenabi_arch_shared_info arch;
};
XENABI_ASSERT_SIZE(struct xenabi_shared_info, 3136);
XENABI_ASSERT_OFFSET(struct xenabi_shared_info, vcpu_info, 0);
XENABI_ASSERT_OFFSET(struct xenabi_shared_info, evtchn_pending, 2048);
XENABI_ASSERT_OFFSET(struct xenabi_shared_info, evtchn_mask, 2560);
XENABI_ASSERT_OFFSET(struct xenabi_shared_info, wc_version, 3072);
XENABI_ASSERT_OFFSET(struct xenabi_shared_info, wc_sec, 3076);
XENABI_ASSERT_OFFSET(struct xenabi_shared_info, wc_nsec, 3080);
XENABI_ASSERT_OFFSET(struct xenabi_shared_info, wc_sec_hi, 3084);
XENABI_ASSERT_OFFSET(struct xenabi_shared_info, arch, 3088);
_Static_assert(sizeof(struct xenabi_shared_info) <= XENABI_PAGE_SIZE,
               "shared info fits its page");

#endif /* XENABI_SHARED_INFO_H */
