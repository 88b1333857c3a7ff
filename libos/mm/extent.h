/*
 * Private to //libos/mm: the extent table.
 *
 * All memory mm manages is a window of at most EXTENT_MAX extents of
 * 2 MiB, starting at the lowest usable one; the table has one entry per
 * window slot, so finding the extent of any address is one subtraction
 * and one shift. The table lives outside the memory it describes (.bss),
 * so no block overflow can corrupt it.
 */
#ifndef MM_EXTENT_H
#define MM_EXTENT_H

#include <mm/mm.h>
#include <stdbool.h>
#include <stdint.h>

_Static_assert(sizeof(uintptr_t) == 8, "mm assumes a 64-bit address space");

#define PAGE_SHIFT 12
#define PAGE_SIZE ((uintptr_t)1 << PAGE_SHIFT)
#define EXTENT_SHIFT 21
#define EXTENT_SIZE ((uintptr_t)1 << EXTENT_SHIFT)
#define PAGES_PER_EXTENT (EXTENT_SIZE / PAGE_SIZE)

/* 4 GiB of extents: what the boot code's identity map covers. */
#define EXTENT_MAX 2048u

_Static_assert(EXTENT_SIZE == MM_EXTENT_SIZE, "mm.h and extent.h agree");
_Static_assert(PAGE_SIZE == MM_PAGE_SIZE, "mm.h and extent.h agree");
_Static_assert(MM_PAGES_MAX == PAGES_PER_EXTENT - 1, "one page map page");

enum extent_use {
    EXTENT_ABSENT,    /* not usable RAM (hole, reserved, the image) */
    EXTENT_FREE,      /* usable, held by no role */
    EXTENT_PAGES,     /* cut into page runs; page 0 is the page map */
    EXTENT_POOL,      /* one TLSF pool */
    EXTENT_SPAN,      /* first extent of a span of whole extents */
    EXTENT_SPAN_TAIL, /* a later extent of a span */
};

/* Who may free a span: malloc's huge blocks, or mm_extents_alloc callers. */
enum extent_owner {
    OWNER_HEAP,
    OWNER_CLIENT,
};

struct extent {
    uint8_t use;   /* enum extent_use */
    uint8_t role;  /* enum mm_role, unless ABSENT or FREE */
    uint8_t owner; /* enum extent_owner, for spans */
    uint8_t unused;
    uint16_t free_pages; /* EXTENT_PAGES: pages in no run */
    uint16_t unused2;
    uint32_t span; /* SPAN: extents in the span; SPAN_TAIL: index of head */
};

/* Forget everything and take the extents described in mm_init_regions. */
void extent_init(const struct mm_region *ram, size_t ram_count,
                 const struct mm_region *reserved, size_t reserved_count);

/*
 * Draw from `seed` where the top-down roles (heap, stacks) start looking
 * for extents: each gets a uniformly chosen usable extent as its origin
 * and searches downwards from there, wrapping to the top (mm_randomise).
 */
void extent_randomise(uint64_t seed);
/* Usable extents: what extent_randomise() draws each origin from. */
uint32_t extent_usable_count(void);

/*
 * Take `count` contiguous free extents for `role` and mark them `use`
 * (count must be 1 unless use is EXTENT_SPAN). Returns the address of
 * the first, or 0 if there is no such range. Contents are not touched.
 */
uintptr_t extent_take(enum mm_role role, uint32_t count,
                      enum extent_use use, enum extent_owner owner);

/* Give back the extent, or the whole span, whose first extent is at base. */
void extent_release(uintptr_t base);

/*
 * The table entry of the extent containing addr, and its base address
 * in *base; NULL if addr is outside the window or in an absent extent.
 */
struct extent *extent_find(uintptr_t addr, uintptr_t *base);

/*
 * Iterate over the extents of `role` and `use` in the role's preferred
 * order (see mm.h). Start with *cursor = 0; returns the next entry and
 * its base in *base, or NULL at the end.
 */
struct extent *extent_next(enum mm_role role, enum extent_use use,
                           uint32_t *cursor, uintptr_t *base);

/* The role's page counter (pages handed out of its extents). */
void extent_count_pages(enum mm_role role, int64_t delta);

/* Fill the extent and role fields of *stats. */
void extent_stats(struct mm_stats *stats);

/* Consistency of the table itself; returns inconsistencies found. */
size_t extent_check(void);

#endif /* MM_EXTENT_H */
