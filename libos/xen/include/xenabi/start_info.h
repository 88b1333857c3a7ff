/*
 * xenabi/start_info.h - what Xen hands a PV guest at boot (in %rsi): one
 * page describing memory, the xenstore and console rings and the command
 * line. A PVH guest gets struct hvm_start_info (<boot/hvm_start_info.h>)
 * instead and asks for the ring locations with HVMOP_get_param
 * (<xenabi/hvm.h>); this layout is still what a PV-booted image, a
 * suspend record and the dom0 console union use.
 *
 * Frame numbers are machine frames for a PV guest. Addresses ("VIRTUAL")
 * are in the initial mapping Xen built.
 */
#ifndef XENABI_START_INFO_H
#define XENABI_START_INFO_H

#include <xenabi/types.h>

#define XENABI_START_INFO_MAGIC_LEN 32 /* "xen-<version>-<platform>" */
#define XENABI_MAX_GUEST_CMDLINE 1024

struct xenabi_start_info {
    /* Valid at first boot and after every resume. */
    char magic[XENABI_START_INFO_MAGIC_LEN]; /* e.g. "xen-3.0-x86_64" */
    uint64_t nr_pages;     /* pages the domain owns */
    uint64_t shared_info;  /* machine address of the shared info page */
    uint32_t flags;        /* XENABI_SIF_* */
    uint32_t pad0;
    uint64_t store_mfn;    /* xenstore ring page */
    uint32_t store_evtchn; /* xenstore event channel */
    uint32_t pad1;
    union {
        struct { /* ordinary guests */
            uint64_t mfn;    /* console ring page */
            uint32_t evtchn; /* console event channel */
            uint32_t pad;
        } domu;
        struct { /* the initial domain: a VGA console description */
            uint32_t info_off;  /* offset of it in this page */
            uint32_t info_size;
        } dom0;
    } console;
    /* Valid at first boot only. */
    uint64_t pt_base;       /* virtual address of the initial page tables */
    uint64_t nr_pt_frames;  /* their size in frames */
    uint64_t mfn_list;      /* virtual address of the pfn-to-mfn array */
    uint64_t mod_start;     /* ramdisk address (a PFN if SIF_MOD_START_PFN) */
    uint64_t mod_len;       /* its size in bytes */
    int8_t cmd_line[XENABI_MAX_GUEST_CMDLINE]; /* NUL-terminated */
    uint64_t first_p2m_pfn; /* first frame of the initial p2m table */
    uint64_t nr_p2m_frames;
};
XENABI_ASSERT_SIZE(struct xenabi_start_info, 1168);
XENABI_ASSERT_OFFSET(struct xenabi_start_info, magic, 0);
XENABI_ASSERT_OFFSET(struct xenabi_start_info, nr_pages, 32);
XENABI_ASSERT_OFFSET(struct xenabi_start_info, shared_info, 40);
XENABI_ASSERT_OFFSET(struct xenabi_start_info, flags, 48);
XENABI_ASSERT_OFFSET(struct xenabi_start_info, pad0, 52);
XENABI_ASSERT_OFFSET(struct xenabi_start_info, store_mfn, 56);
XENABI_ASSERT_OFFSET(struct xenabi_start_info, store_evtchn, 64);
XENABI_ASSERT_OFFSET(struct xenabi_start_info, pad1, 68);
XENABI_ASSERT_OFFSET(struct xenabi_start_info, console, 72);
XENABI_ASSERT_OFFSET(struct xenabi_start_info, console.domu.mfn, 72);
XENABI_ASSERT_OFFSET(struct xenabi_start_info, console.domu.evtchn, 80);
XENABI_ASSERT_OFFSET(struct xenabi_start_info, console.domu.pad, 84);
XENABI_ASSERT_OFFSET(struct xenabi_start_info, console.dom0.info_off, 72);
XENABI_ASSERT_OFFSET(struct xenabi_start_info, console.dom0.info_size, 76);
XENABI_ASSERT_OFFSET(struct xenabi_start_info, pt_base, 88);
XENABI_ASSERT_OFFSET(struct xenabi_start_info, nr_pt_frames, 96);
XENABI_ASSERT_OFFSET(struct xenabi_start_info, mfn_list, 104);
XENABI_ASSERT_OFFSET(struct xenabi_start_info, mod_start, 112);
XENABI_ASSERT_OFFSET(struct xenabi_start_info, mod_len, 120);
XENABI_ASSERT_OFFSET(struct xenabi_start_info, cmd_line, 128);
XENABI_ASSERT_OFFSET(struct xenabi_start_info, first_p2m_pfn, 1152);
XENABI_ASSERT_OFFSET(struct xenabi_start_info, nr_p2m_frames, 1160);

/* start_info.flags (also hvm_start_info.flags). */
#define XENABI_SIF_PRIVILEGED (1u << 0)      /* the domain is privileged */
#define XENABI_SIF_INITDOMAIN (1u << 1)      /* it is the initial domain */
#define XENABI_SIF_MULTIBOOT_MOD (1u << 2)   /* mod_start: multiboot modules */
#define XENABI_SIF_MOD_START_PFN (1u << 3)   /* mod_start is a PFN */
#define XENABI_SIF_VIRT_P2M_4TOOLS (1u << 4)
#define XENABI_SIF_PM_MASK (0xffu << 8)

#endif /* XENABI_START_INFO_H */
