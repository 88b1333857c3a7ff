/*
 * xenabi/pv.h - what a 64-bit Xen PV guest sees that an HVM or PVH guest
 * does not: where Xen puts it, the trap table instead of an IDT, and the
 * hypercalls that change page tables, which a PV guest may read but never
 * write (<xenabi/start_info.h> has the boot-time page it gets in %rsi).
 *
 * A 64-bit PV kernel runs in ring 3 (Xen owns rings 0-2), on page tables
 * Xen validated, with the code segment XENABI_FLAT_KERNEL_CS. Frame
 * numbers in page-table entries are machine frames (MFNs): the guest maps
 * its pseudo-physical frame p to p2m[p] (start_info.mfn_list) and reads
 * the reverse, MFN -> pfn, from the table Xen maps read-only at
 * XENABI_MACH2PHYS_VIRT_START in every address space.
 */
#ifndef XENABI_PV_H
#define XENABI_PV_H

#include <xenabi/types.h>

/* Xen's part of the 64-bit address space; the guest may not map here. */
#define XENABI_HYPERVISOR_VIRT_START UINT64_C(0xffff800000000000)
#define XENABI_HYPERVISOR_VIRT_END UINT64_C(0xffff880000000000)
/* The machine-to-phys table (uint64_t per MFN), read-only to the guest. */
#define XENABI_MACH2PHYS_VIRT_START UINT64_C(0xffff800000000000)
#define XENABI_MACH2PHYS_VIRT_END UINT64_C(0xffff804000000000)

/* Flat segments in Xen's part of every GDT: the kernel runs in ring 3. */
#define XENABI_FLAT_RING3_CS64 0xe033u
#define XENABI_FLAT_RING3_SS64 0xe02bu
#define XENABI_FLAT_KERNEL_CS XENABI_FLAT_RING3_CS64
#define XENABI_FLAT_KERNEL_SS XENABI_FLAT_RING3_SS64

/*
 * set_trap_table(traps): the PV guest's IDT. An array of entries, ended
 * by one whose address is 0. On an exception Xen switches nothing (a
 * kernel-mode fault stays on the current stack) and builds this frame
 * there, lowest address first:
 *
 *     rcx, r11, [error code], rip, cs, rflags, rsp, ss
 *
 * that is, the hardware frame with %rcx and %r11 (which Xen needed for
 * its own return path) pushed on top; the handler restores them by
 * popping. A page fault's address is in vcpu_info.arch.cr2 of the shared
 * info page (<xenabi/shared_info.h>): the guest cannot read %cr2.
 */
struct xenabi_trap_info {
    uint8_t vector;
    uint8_t flags; /* XENABI_TI_* */
    uint16_t cs;   /* XENABI_FLAT_KERNEL_CS */
    uint32_t pad0;
    uint64_t address;
};
XENABI_ASSERT_SIZE(struct xenabi_trap_info, 16);
XENABI_ASSERT_OFFSET(struct xenabi_trap_info, vector, 0);
XENABI_ASSERT_OFFSET(struct xenabi_trap_info, flags, 1);
XENABI_ASSERT_OFFSET(struct xenabi_trap_info, cs, 2);
XENABI_ASSERT_OFFSET(struct xenabi_trap_info, address, 8);

#define XENABI_TI_DPL_MASK 3u        /* lowest ring that may `int` it */
#define XENABI_TI_MASK_EVENTS (1u << 2) /* set the upcall mask on entry */

/*
 * mmu_update(reqs, count, done_out, foreigndom): each request writes one
 * page-table entry, checked by Xen. ptr is the machine address of the
 * entry, with the command in its low 2 bits.
 */
struct xenabi_mmu_update {
    uint64_t ptr;
    uint64_t val;
};
XENABI_ASSERT_SIZE(struct xenabi_mmu_update, 16);
XENABI_ASSERT_OFFSET(struct xenabi_mmu_update, ptr, 0);
XENABI_ASSERT_OFFSET(struct xenabi_mmu_update, val, 8);

#define XENABI_MMU_NORMAL_PT_UPDATE 0 /* *ptr = val, checked */
#define XENABI_MMU_MACHPHYS_UPDATE 1  /* m2p[ptr >> 12] = val */
#define XENABI_MMU_PT_UPDATE_PRESERVE_AD 2

/*
 * mmuext_op(ops, count, done_out, foreigndom): pin a page-table tree (Xen
 * validates it once and from then on keeps it typed as a page table),
 * switch to it, flush TLBs. arg1 is an MFN or a linear address.
 */
struct xenabi_mmuext_op {
    uint32_t cmd; /* XENABI_MMUEXT_* */
    uint32_t pad0;
    uint64_t arg1; /* mfn, or linear_addr */
    uint64_t arg2; /* nr_ents, vcpumask handle, or src_mfn */
};
XENABI_ASSERT_SIZE(struct xenabi_mmuext_op, 24);
XENABI_ASSERT_OFFSET(struct xenabi_mmuext_op, cmd, 0);
XENABI_ASSERT_OFFSET(struct xenabi_mmuext_op, arg1, 8);
XENABI_ASSERT_OFFSET(struct xenabi_mmuext_op, arg2, 16);

#define XENABI_MMUEXT_PIN_L1_TABLE 0
#define XENABI_MMUEXT_PIN_L2_TABLE 1
#define XENABI_MMUEXT_PIN_L3_TABLE 2
#define XENABI_MMUEXT_PIN_L4_TABLE 3
#define XENABI_MMUEXT_UNPIN_TABLE 4
#define XENABI_MMUEXT_NEW_BASEPTR 5 /* arg1: the pinned L4's MFN */
#define XENABI_MMUEXT_TLB_FLUSH_LOCAL 6
#define XENABI_MMUEXT_INVLPG_LOCAL 7
#define XENABI_MMUEXT_NEW_USER_BASEPTR 15

/*
 * update_va_mapping(va, pte, flags): write the L1 entry that maps va in
 * the current page tables, checked like mmu_update, then flush as flags
 * say.
 */
#define XENABI_UVMF_NONE 0u
#define XENABI_UVMF_TLB_FLUSH 1u
#define XENABI_UVMF_INVLPG 2u
#define XENABI_UVMF_LOCAL 0u
#define XENABI_UVMF_ALL (1u << 2)

/*
 * HYPERVISOR_iret: how a 64-bit PV guest returns from an exception or
 * callback frame (it cannot use iretq to restore the upcall mask). The
 * guest pushes `flags` on top of the hardware-like frame (rip, cs,
 * rflags, rsp, ss) and jumps to the iret stub of the hypercall page,
 * which pushes rcx, r11 and rax and enters Xen; Xen reads this
 * structure at the stack pointer, lowest address first, and never
 * returns. Without XENABI_VGCF_IN_SYSCALL in flags it restores rax, r11,
 * rcx, cs:rip, rflags and ss:rsp, and sets vcpu_info.evtchn_upcall_mask
 * to !rflags.IF.
 */
struct xenabi_iret_context {
    uint64_t rax, r11, rcx, flags, rip, cs, rflags, rsp, ss;
};
XENABI_ASSERT_SIZE(struct xenabi_iret_context, 72);
XENABI_ASSERT_OFFSET(struct xenabi_iret_context, rax, 0);
XENABI_ASSERT_OFFSET(struct xenabi_iret_context, r11, 8);
XENABI_ASSERT_OFFSET(struct xenabi_iret_context, rcx, 16);
XENABI_ASSERT_OFFSET(struct xenabi_iret_context, flags, 24);
XENABI_ASSERT_OFFSET(struct xenabi_iret_context, rip, 32);
XENABI_ASSERT_OFFSET(struct xenabi_iret_context, cs, 40);
XENABI_ASSERT_OFFSET(struct xenabi_iret_context, rflags, 48);
XENABI_ASSERT_OFFSET(struct xenabi_iret_context, rsp, 56);
XENABI_ASSERT_OFFSET(struct xenabi_iret_context, ss, 64);

/* The frame came from a SYSCALL: return by SYSRET, rcx and r11 lost. */
#define XENABI_VGCF_IN_SYSCALL (1u << 8)

#endif /* XENABI_PV_H */
