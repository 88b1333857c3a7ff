/*
 * boot/hvm_start_info.h - the Xen PVH boot ABI: what the loader (Xen,
 * QEMU, a PVH-aware firmware) hands the kernel in %ebx.
 *
 * Our own definitions of the layouts in Xen's public header
 * arch-x86/hvm/start_info.h. Every field is fixed-width and every offset
 * is asserted, so a layout mistake fails the build instead of the boot.
 * All addresses are guest-physical.
 */
#ifndef BOOT_HVM_START_INFO_H
#define BOOT_HVM_START_INFO_H

#include <stddef.h>
#include <stdint.h>

/* "xEn3" with the 0x80 bit of the "E" set. */
#define HVM_START_MAGIC_VALUE 0x336ec578u

/* ELF note type whose 32-bit payload is the physical entry address. */
#define XEN_ELFNOTE_PHYS32_ENTRY 18

/* Memory map entry types (the E820 values, plus PMEM). */
#define HVM_MEMMAP_TYPE_RAM 1
#define HVM_MEMMAP_TYPE_RESERVED 2
#define HVM_MEMMAP_TYPE_ACPI 3
#define HVM_MEMMAP_TYPE_NVS 4
#define HVM_MEMMAP_TYPE_UNUSABLE 5
#define HVM_MEMMAP_TYPE_DISABLED 6
#define HVM_MEMMAP_TYPE_PMEM 7

struct hvm_start_info {
    uint32_t magic;          /* HVM_START_MAGIC_VALUE */
    uint32_t version;        /* 0 or 1; see the size macros below */
    uint32_t flags;          /* SIF_* flags */
    uint32_t nr_modules;     /* entries at modlist_paddr */
    uint64_t modlist_paddr;  /* array of struct hvm_modlist_entry */
    uint64_t cmdline_paddr;  /* NUL-terminated command line, 0 if none */
    uint64_t rsdp_paddr;     /* ACPI RSDP, 0 if none */
    /* Only present from version 1 on. */
    uint64_t memmap_paddr;   /* array of struct hvm_memmap_table_entry */
    uint32_t memmap_entries; /* 0 if no memory map is provided */
    uint32_t reserved;       /* must be zero */
};

/* A version 0 structure ends before memmap_paddr. */
#define HVM_START_INFO_SIZE_V0 offsetof(struct hvm_start_info, memmap_paddr)

struct hvm_modlist_entry {
    uint64_t paddr;         /* module contents */
    uint64_t size;          /* in bytes */
    uint64_t cmdline_paddr; /* module's command line, 0 if none */
    uint64_t reserved;
};

struct hvm_memmap_table_entry {
    uint64_t addr;     /* start of the region */
    uint64_t size;     /* in bytes */
    uint32_t type;     /* HVM_MEMMAP_TYPE_* */
    uint32_t reserved; /* must be zero in version 1 */
};

_Static_assert(sizeof(struct hvm_start_info) == 56, "hvm_start_info size");
_Static_assert(offsetof(struct hvm_start_info, magic) == 0, "magic");
_Static_assert(offsetof(struct hvm_start_info, version) == 4, "version");
_Static_assert(offsetof(struct hvm_start_info, flags) == 8, "flags");
_Static_assert(offsetof(struct hvm_start_info, nr_modules) == 12,
               "nr_modules");
_Static_assert(offsetof(struct hvm_start_info, modlist_paddr) == 16,
               "modlist_paddr");
_Static_assert(offsetof(struct hvm_start_info, cmdline_paddr) == 24,
               "cmdline_paddr");
_Static_assert(offsetof(struct hvm_start_info, rsdp_paddr) == 32,
               "rsdp_paddr");
_Static_assert(offsetof(struct hvm_start_info, memmap_paddr) == 40,
               "memmap_paddr");
_Static_assert(offsetof(struct hvm_start_info, memmap_entries) == 48,
               "memmap_entries");
_Static_assert(offsetof(struct hvm_start_info, reserved) == 52, "reserved");

_Static_assert(sizeof(struct hvm_modlist_entry) == 32, "modlist entry size");
_Static_assert(offsetof(struct hvm_modlist_entry, paddr) == 0, "paddr");
_Static_assert(offsetof(struct hvm_modlist_entry, size) == 8, "size");
_Static_assert(offsetof(struct hvm_modlist_entry, cmdline_paddr) == 16,
               "cmdline_paddr");
_Static_assert(offsetof(struct hvm_modlist_entry, reserved) == 24,
               "reserved");

_Static_assert(sizeof(struct hvm_memmap_table_entry) == 24,
               "memmap entry size");
_Static_assert(offsetof(struct hvm_memmap_table_entry, addr) == 0, "addr");
_Static_assert(offsetof(struct hvm_memmap_table_entry, size) == 8, "size");
_Static_assert(offsetof(struct hvm_memmap_table_entry, type) == 16, "type");
_Static_assert(offsetof(struct hvm_memmap_table_entry, reserved) == 20,
               "reserved");

#endif /* BOOT_HVM_START_INFO_H */
