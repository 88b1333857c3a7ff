/*
 * Private to //libos/mm: runs of 4 KiB pages inside EXTENT_PAGES extents.
 *
 * The first page of such an extent is its page map: a bitmap of free
 * pages and one descriptor per page. A run is found first-fit over the
 * role's extents (in the role's order, see extent.h); an extent whose
 * runs are all freed goes back to the extent pool at once.
 */
#ifndef MM_PAGE_H
#define MM_PAGE_H

#include <mm/mm.h>
#include <stdint.h>

#include "extent.h"

enum page_kind {
    PAGE_FREE,
    PAGE_HEAD,   /* first page of a run */
    PAGE_TAIL,   /* later page of a run */
    PAGE_MAP,    /* the page map itself (page 0) */
};

/* Who a run belongs to, so that each free function accepts only its own. */
enum page_owner {
    PAGE_OWNER_CLIENT, /* mm_pages_alloc */
    PAGE_OWNER_LARGE,  /* a large malloc block */
    PAGE_OWNER_SLAB,   /* a slab of small blocks */
};

struct page_desc {
    uint8_t kind;   /* enum page_kind */
    uint8_t owner;  /* enum page_owner, for HEAD and TAIL */
    uint16_t value; /* HEAD: pages in the run; TAIL: index of the head */
};

/* Where an address falls inside an EXTENT_PAGES extent. */
struct page_run {
    enum page_kind kind;   /* of the page containing the address */
    enum page_owner owner; /* HEAD/TAIL only */
    uintptr_t start;       /* HEAD/TAIL: first page of the run */
    uint32_t count;        /* HEAD/TAIL: pages in the run */
};

/*
 * A run of `count` pages (1..MM_PAGES_MAX) of `role` whose address is a
 * multiple of align_pages * PAGE_SIZE (align_pages: a power of two, at
 * most PAGES_PER_EXTENT / 2). Contents are not touched. NULL if none.
 */
void *page_run_take(enum mm_role role, uint32_t count, uint32_t align_pages,
                    enum page_owner owner);

/* Free the run starting at `start` (a HEAD page). */
void page_run_release(uintptr_t start);

/* Describe addr, which lies in the EXTENT_PAGES extent at ext_base. */
struct page_run page_run_find(uintptr_t ext_base, uintptr_t addr);

/* Consistency of every page map; returns inconsistencies found. */
size_t page_check(void);

#endif /* MM_PAGE_H */
