/*
 * xenabi/version.h - xen_version(cmd, arg): which Xen this is and what
 * it offers the guest.
 */
#ifndef XENABI_VERSION_H
#define XENABI_VERSION_H

#include <xenabi/types.h>

/* Commands. VERSION and PAGESIZE return their answer; the rest return 0. */
#define XENABI_XENVER_VERSION 0      /* arg NULL: major << 16 | minor */
#define XENABI_XENVER_EXTRAVERSION 1 /* arg: char[16], e.g. ".7" */
#define XENABI_XENVER_COMPILE_INFO 2 /* arg: 144 bytes of build strings */
#define XENABI_XENVER_CAPABILITIES 3 /* arg: char[1024], "hvm-3.0-x86_64 ..." */
#define XENABI_XENVER_CHANGESET 4    /* arg: char[64] */
#define XENABI_XENVER_PLATFORM_PARAMETERS 5
#define XENABI_XENVER_GET_FEATURES 6 /* arg: struct xenabi_feature_info */
#define XENABI_XENVER_PAGESIZE 7     /* arg NULL */
#define XENABI_XENVER_GUEST_HANDLE 8 /* arg: uint8_t[16], the domain's UUID */
#define XENABI_XENVER_COMMANDLINE 9  /* arg: char[1024] */
#define XENABI_XENVER_BUILD_ID 10

#define XENABI_XENVER_EXTRAVERSION_LEN 16
#define XENABI_XENVER_CAPABILITIES_LEN 1024
#define XENABI_XENVER_CHANGESET_LEN 64
/* Compile info: compiler[64], by[16], domain[32], date[32]. */
#define XENABI_XENVER_COMPILE_INFO_LEN 144
#define XENABI_XENVER_COMMANDLINE_LEN 1024

/* Feature bits come in 32-bit submaps; submap 0 is the only one so far. */
struct xenabi_feature_info {
    uint32_t submap_idx; /* in: which submap */
    uint32_t submap;     /* out: its bits, XENABI_XENFEAT_* */
};
XENABI_ASSERT_SIZE(struct xenabi_feature_info, 8);
XENABI_ASSERT_OFFSET(struct xenabi_feature_info, submap_idx, 0);
XENABI_ASSERT_OFFSET(struct xenabi_feature_info, submap, 4);

/* Bit numbers in submap 0. */
#define XENABI_XENFEAT_WRITABLE_PAGE_TABLES 0
#define XENABI_XENFEAT_WRITABLE_DESCRIPTOR_TABLES 1
#define XENABI_XENFEAT_AUTO_TRANSLATED_PHYSMAP 2 /* HVM/PVH: frames are GFNs */
#define XENABI_XENFEAT_SUPERVISOR_MODE_KERNEL 3
#define XENABI_XENFEAT_PAE_PGDIR_ABOVE_4GB 4
#define XENABI_XENFEAT_MMU_PT_UPDATE_PRESERVE_AD 5
#define XENABI_XENFEAT_HIGHMEM_ASSIST 6
#define XENABI_XENFEAT_GNTTAB_MAP_AVAIL_BITS 7
#define XENABI_XENFEAT_HVM_CALLBACK_VECTOR 8 /* <xenabi/hvm.h> TYPE_VECTOR */
#define XENABI_XENFEAT_HVM_SAFE_PVCLOCK 9
#define XENABI_XENFEAT_HVM_PIRQS 10
#define XENABI_XENFEAT_DOM0 11
/* 12 is retired. */
#define XENABI_XENFEAT_MEMORY_OP_VNODE_SUPPORTED 13
#define XENABI_XENFEAT_ARM_SMCCC_SUPPORTED 14
#define XENABI_XENFEAT_LINUX_RSDP_UNRESTRICTED 15
#define XENABI_XENFEAT_NOT_DIRECT_MAPPED 16
#define XENABI_XENFEAT_DIRECT_MAPPED 17
#define XENABI_XENFEAT_NR_SUBMAPS 1

#endif /* XENABI_VERSION_H */
