/*
 * //libos/boot's PVH start info (<boot/hvm_start_info.h>) against Xen's
 * arch-x86/hvm/start_info.h and elfnote.h.
 *
 * Both headers spell the structures struct hvm_start_info and so on, so
 * Xen's are renamed while they are included, and Xen's constants are
 * captured in an enum before ours (some with the same names) appear.
 */
#if !__has_include(<xen/arch-x86/hvm/start_info.h>)
#error "Xen's public headers are missing. Install them: apt-get install libxen-dev (tools/setup.sh does)"
#endif

#include <stddef.h>
#include <stdint.h>

#define hvm_start_info xen_hvm_start_info
#define hvm_modlist_entry xen_hvm_modlist_entry
#define hvm_memmap_table_entry xen_hvm_memmap_table_entry
#include <xen/arch-x86/hvm/start_info.h>
#include <xen/elfnote.h>
#undef hvm_start_info
#undef hvm_modlist_entry
#undef hvm_memmap_table_entry

enum {
    THEIR_ELFNOTE_PHYS32_ENTRY = XEN_ELFNOTE_PHYS32_ENTRY,
};
#undef XEN_ELFNOTE_PHYS32_ENTRY

#include "libos/boot/include/boot/hvm_start_info.h"

#include "libos/xen/tests/oracle.h"

void start_info_checks(struct oracle_tally *t)
{
    const struct oracle_check checks[] = {
        CHECK_VALUE(HVM_START_MAGIC_VALUE, XEN_HVM_START_MAGIC_VALUE),
        CHECK_VALUE(XEN_ELFNOTE_PHYS32_ENTRY, THEIR_ELFNOTE_PHYS32_ENTRY),
        CHECK_VALUE(HVM_MEMMAP_TYPE_RAM, XEN_HVM_MEMMAP_TYPE_RAM),
        CHECK_VALUE(HVM_MEMMAP_TYPE_RESERVED, XEN_HVM_MEMMAP_TYPE_RESERVED),
        CHECK_VALUE(HVM_MEMMAP_TYPE_ACPI, XEN_HVM_MEMMAP_TYPE_ACPI),
        CHECK_VALUE(HVM_MEMMAP_TYPE_NVS, XEN_HVM_MEMMAP_TYPE_NVS),
        CHECK_VALUE(HVM_MEMMAP_TYPE_UNUSABLE, XEN_HVM_MEMMAP_TYPE_UNUSABLE),
        CHECK_VALUE(HVM_MEMMAP_TYPE_DISABLED, XEN_HVM_MEMMAP_TYPE_DISABLED),
        CHECK_VALUE(HVM_MEMMAP_TYPE_PMEM, XEN_HVM_MEMMAP_TYPE_PMEM),
        CHECK_VALUE(HVM_START_INFO_SIZE_V0, offsetof(struct xen_hvm_start_info, memmap_paddr)),
        CHECK_SIZE(struct hvm_start_info, struct xen_hvm_start_info),
        CHECK_FIELD(struct hvm_start_info, struct xen_hvm_start_info, magic),
        CHECK_FIELD(struct hvm_start_info, struct xen_hvm_start_info, version),
        CHECK_FIELD(struct hvm_start_info, struct xen_hvm_start_info, flags),
        CHECK_FIELD(struct hvm_start_info, struct xen_hvm_start_info, nr_modules),
        CHECK_FIELD(struct hvm_start_info, struct xen_hvm_start_info, modlist_paddr),
        CHECK_FIELD(struct hvm_start_info, struct xen_hvm_start_info, cmdline_paddr),
        CHECK_FIELD(struct hvm_start_info, struct xen_hvm_start_info, rsdp_paddr),
        CHECK_FIELD(struct hvm_start_info, struct xen_hvm_start_info, memmap_paddr),
        CHECK_FIELD(struct hvm_start_info, struct xen_hvm_start_info, memmap_entries),
        CHECK_FIELD(struct hvm_start_info, struct xen_hvm_start_info, reserved),
        CHECK_SIZE(struct hvm_modlist_entry, struct xen_hvm_modlist_entry),
        CHECK_FIELD(struct hvm_modlist_entry, struct xen_hvm_modlist_entry, paddr),
        CHECK_FIELD(struct hvm_modlist_entry, struct xen_hvm_modlist_entry, size),
        CHECK_FIELD(struct hvm_modlist_entry, struct xen_hvm_modlist_entry, cmdline_paddr),
        CHECK_FIELD(struct hvm_modlist_entry, struct xen_hvm_modlist_entry, reserved),
        CHECK_SIZE(struct hvm_memmap_table_entry, struct xen_hvm_memmap_table_entry),
        CHECK_FIELD(struct hvm_memmap_table_entry, struct xen_hvm_memmap_table_entry, addr),
        CHECK_FIELD(struct hvm_memmap_table_entry, struct xen_hvm_memmap_table_entry, size),
        CHECK_FIELD(struct hvm_memmap_table_entry, struct xen_hvm_memmap_table_entry, type),
        CHECK_FIELD(struct hvm_memmap_table_entry, struct xen_hvm_memmap_table_entry, reserved),
    };
    ORACLE_RUN(t, checks);
}
