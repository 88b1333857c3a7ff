/*
 * boot/seal.h - the linker's seal manifest, as the boot code reads it.
 *
 * The linker (rules_unikernel/tool/unikernel/link/seal.py) writes an ELF
 * note named "Unikernel" of type SEAL into every image, listing the image's
 * regions and the permissions each must have; docs/manifest.md has the
 * byte layout. The symbol __unikernel_seal points at its description, so C
 * code never walks notes. The boot code builds its page tables from it.
 */
#ifndef BOOT_SEAL_H
#define BOOT_SEAL_H

#include <stddef.h>
#include <stdint.h>

#define UNIKERNEL_SEAL_VERSION 1

/* Region permissions (the ELF p_flags values). */
#define UNIKERNEL_SEAL_X 1u
#define UNIKERNEL_SEAL_W 2u
#define UNIKERNEL_SEAL_R 4u

/* Region kinds, in the order the linker lists them. */
enum unikernel_seal_kind {
    UNIKERNEL_SEAL_TEXT = 1,
    UNIKERNEL_SEAL_NOTES = 2,
    UNIKERNEL_SEAL_RODATA = 3,
    UNIKERNEL_SEAL_DATA = 4,
    UNIKERNEL_SEAL_BSS = 5,
};

struct unikernel_seal_region {
    uint64_t start; /* first byte; text, notes, data, bss start on a page */
    uint64_t end;   /* one past the last byte; == start when empty */
    uint32_t flags; /* UNIKERNEL_SEAL_R | _W | _X */
    uint32_t kind;  /* enum unikernel_seal_kind */
};
_Static_assert(sizeof(struct unikernel_seal_region) == 24, "seal entry");

struct unikernel_seal {
    uint32_t version; /* UNIKERNEL_SEAL_VERSION */
    uint32_t count;
    struct unikernel_seal_region regions[];
};
_Static_assert(offsetof(struct unikernel_seal, regions) == 8, "seal header");

/* Defined by the linker: the description of the seal note. */
extern const struct unikernel_seal __unikernel_seal;

#endif /* BOOT_SEAL_H */
