/*
 * mm/mm.h - the memory manager: extents, pages and the C heap.
 *
 * This header is the boundary of the component. Two allocators implement
 * it, and an image picks one by its Bazel deps:
 *
 *   //libos/mm:slab   (the default) slab caches for small blocks, page
 *                     runs for large ones; O(1) small frees, no headers
 *                     in front of blocks;
 *   //libos/mm:tlsf   Two-Level Segregated Fit (Masmano et al., ECRTS
 *                     2004): one good-fit heap with boundary tags,
 *                     O(1) malloc and free within its pools, in-place
 *                     realloc.
 *
 * An image links exactly one of them. Both are built on the same lower
 * layers, and both give malloc, free, calloc, realloc and aligned_alloc
 * (declared in <stdlib.h>) to the image under their standard names.
 *
 * Layers, bottom up:
 *
 *   extents  The RAM of the boot memory map, minus the image itself,
 *            page 0 and everything below 1 MiB, cut into 2 MiB extents
 *            (2 MiB aligned: the boot path's sealed page tables map each
 *            one with a single 2 MiB superpage, unless it holds a guard
 *            page).
 *            An extent in use belongs to one role (enum mm_role) until
 *            it is entirely free again; roles never share an extent, so
 *            page tables, I/O pages, stacks and the heap can each be
 *            mapped, granted or guarded as a whole. I/O and page-table
 *            extents are taken from the lowest addresses, heap and stack
 *            extents from the highest, or on an image downwards from a
 *            random extent each (mm_randomise), which keeps long-lived
 *            kernel memory out of the way of large heap spans.
 *   pages    4 KiB page runs inside an extent (at most MM_PAGES_MAX
 *            pages: the first page of such an extent holds its page map).
 *   heap     malloc and friends. Blocks up to MM_SMALL_MAX bytes come from
 *            the allocator's small-block machinery (slabs or TLSF pools);
 *            larger ones from page runs (slab) or TLSF pools; blocks too
 *            large for those (about an extent) from spans of whole,
 *            contiguous heap extents.
 *
 * Every block is at least MM_ALIGN_MIN (16, the alignment of max_align_t)
 * aligned. Metadata that decides whether a free is valid lives outside
 * the blocks (extent table, page maps, per-slab and per-pool bitmaps), so
 * free() can tell a live block from a freed one or from a pointer into
 * the middle of one. Such a misuse is a *fault*: it is reported through
 * the fault handler (see below), and the heap is left untouched.
 *
 * Not thread-safe: the library OS is single-threaded.
 *
 * Start-up: on an image, mm_init() reads the boot memory map; the
 * standard names (malloc, ...) call it on first use, so an application
 * that only uses them need not. Code that uses mm_pages_alloc() or
 * mm_extents_alloc() first must call mm_init() itself. Host tests call
 * mm_init_regions() with memory of their own.
 */
#ifndef MM_MM_H
#define MM_MM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MM_PAGE_SIZE 4096u
#define MM_EXTENT_SIZE (UINT64_C(2) << 20)
/* Pages one mm_pages_alloc() can return: an extent minus its page map. */
#define MM_PAGES_MAX 511u
/* Every block is aligned at least this much. */
#define MM_ALIGN_MIN 16u
/* The largest alignment aligned_alloc() accepts: one extent. */
#define MM_ALIGN_MAX (UINT64_C(2) << 20)
/* Blocks up to this size are "small" and counted per size class. */
#define MM_SMALL_MAX 2048u
/*
 * Number of small size classes: 16..128 in steps of 16, then four classes
 * per power of two up to 2048 (160, 192, 224, 256, 320, ...). The slab
 * allocator has one cache per class; both allocators count blocks by it.
 */
#define MM_SIZE_CLASSES 24

/*
 * The exit status of an image whose heap reported a fault (mm_init()
 * installs a handler that prints the fault and exits with it). Below
 * 128, so QEMU's isa-debug-exit reports it unambiguously, and distinct
 * from BOOT_EXIT_PANIC (126) and LIBC_ABORT_STATUS (127).
 */
#define MM_EXIT_CORRUPTION 125

/* What an extent is used for. An extent serves one role at a time. */
enum mm_role {
    MM_ROLE_HEAP,       /* malloc */
    MM_ROLE_IO,         /* driver I/O pages: rings, DMA and grant buffers */
    MM_ROLE_PAGE_TABLE, /* page-table pages */
    MM_ROLE_STACK,      /* thread and interrupt stacks */
    MM_ROLE_COUNT
};

/* "heap", "io", "page-table", "stack"; "?" for anything else. */
const char *mm_role_name(enum mm_role role);

/* ---- Start-up -------------------------------------------------------- */

/* A range of physical (on the image: also virtual) addresses. */
struct mm_region {
    uint64_t addr;
    uint64_t size; /* bytes */
};

/*
 * Image only: initialise mm from the boot memory map (<boot/boot.h>).
 * Uses RAM entries below 4 GiB (what the boot code maps), minus every
 * non-RAM entry, [0, 1 MiB) and the image [__text_start, __image_end).
 * Installs a fault handler that prints one line and exits with
 * MM_EXIT_CORRUPTION, unless one was installed already. Runs once;
 * later calls do nothing.
 */
void mm_init(void);

/*
 * Reset mm completely and give it the 2 MiB-aligned extents that lie
 * inside the `ram` regions and overlap none of the `reserved` ones. The
 * extent at address 0 is never used (a block must not be NULL). At most
 * 2048 extents (4 GiB) counted from the lowest usable one are managed;
 * the rest is ignored. Every earlier pointer becomes invalid. For
 * mm_init() and host tests; the fault handler is kept.
 */
void mm_init_regions(const struct mm_region *ram, size_t ram_count,
                     const struct mm_region *reserved, size_t reserved_count);

/*
 * Randomise where the heap and the stacks live: each of the two roles
 * starts taking extents at a usable extent drawn uniformly from `seed`,
 * going down and wrapping to the top, instead of at the top of memory.
 * That gives log2(usable extents) bits per role (6 bits with 128 MiB of
 * RAM, 11 with 4 GiB); addresses inside an extent are not randomised.
 * I/O and page-table extents stay at the bottom. Call right after
 * mm_init_regions(), before anything is allocated; on an image mm_init()
 * does, with boot entropy (boot_random_u64() in <boot/boot.h>). Without
 * it (host tests), placement is deterministic: from the top.
 */
void mm_randomise(uint64_t seed);

/*
 * The key of the heap metadata's integrity cookies (slab headers, TLSF
 * block headers): a header whose cookie does not match is reported as
 * MM_FAULT_CORRUPT instead of being followed. Call right after
 * mm_init_regions(), before anything is allocated (headers written under
 * another key would read as corrupt); false, and nothing changes, if a
 * heap block is live. On an image mm_init() does, with boot entropy.
 * Without it (host tests) the key is a fixed constant.
 */
bool mm_set_heap_key(uint64_t key);

/* ---- The C heap ------------------------------------------------------ */

/*
 * C11 7.22.3, under mm_ names so that host tests can call them next to
 * the host's own malloc. On an image, malloc() is mm_malloc(), etc.
 *
 * Decisions where C leaves a choice:
 *   - malloc(0), calloc with a zero size, aligned_alloc(a, 0): a unique
 *     minimal block, never NULL unless memory is exhausted. So NULL
 *     always means failure.
 *   - realloc(NULL, n) is malloc(n).
 *   - realloc(p, 0) is realloc(p, 1): it returns a minimal block (maybe
 *     p itself) and frees p if it moved; NULL only on failure, with p
 *     still valid. (C17 leaves this implementation-defined; C23 makes it
 *     undefined; this choice keeps "NULL means failure, p untouched".)
 *   - realloc keeps the block in place when it can: TLSF grows into a
 *     free neighbour and shrinks by splitting off the tail; otherwise a
 *     shrink keeps the block if it is at most 128 bytes or stays more
 *     than half used. A moved block is MM_ALIGN_MIN-aligned, not aligned
 *     like an aligned_alloc() original.
 *   - aligned_alloc(alignment, size): alignment must be a power of two
 *     no larger than MM_ALIGN_MAX, else NULL with errno EINVAL. size
 *     need not be a multiple of alignment (C17, DR 460).
 *   - calloc(n, size) with n * size overflowing size_t: NULL, ENOMEM.
 *   - Out of memory: NULL with errno ENOMEM.
 *
 * free(), realloc() and mm_usable_size() check their pointer first; a
 * pointer that is not the start of a live block is a fault (below) and
 * the call then does nothing (realloc returns NULL, mm_usable_size 0).
 */
void *mm_malloc(size_t size);
void *mm_calloc(size_t count, size_t size);
void *mm_realloc(void *ptr, size_t size);
void *mm_aligned_alloc(size_t alignment, size_t size);
void mm_free(void *ptr);

/* Bytes the caller may use at ptr (>= the size asked for); 0 for NULL. */
size_t mm_usable_size(const void *ptr);

/* ---- Pages and extents for the rest of the OS ------------------------ */

/*
 * `count` (1..MM_PAGES_MAX) contiguous, zeroed 4 KiB pages of an extent
 * of `role`, page aligned; NULL if out of memory or count/role invalid.
 */
void *mm_pages_alloc(enum mm_role role, size_t count);

/* Free a run from mm_pages_alloc(); NULL does nothing; misuse is a fault. */
void mm_pages_free(void *pages);

/*
 * `count` whole, contiguous, zeroed extents of `role`, 2 MiB aligned (for
 * superpage mappings); NULL if there is no such free range.
 */
void *mm_extents_alloc(enum mm_role role, size_t count);

/* Free a span from mm_extents_alloc(); NULL does nothing. */
void mm_extents_free(void *extents);

/* ---- Faults ---------------------------------------------------------- */

enum mm_fault {
    MM_FAULT_NONE,
    /* The pointer is in the allocator's memory but no block is allocated
     * there: it was freed already (or never handed out). */
    MM_FAULT_DOUBLE_FREE,
    /* The pointer is inside a live block or allocator metadata, but not
     * at the start of a block: misaligned or an interior pointer. */
    MM_FAULT_INTERIOR,
    /* The pointer is not in memory this function manages at all: the
     * stack, static data, another role's pages, a malloc block passed to
     * mm_pages_free() or the other way round. */
    MM_FAULT_FOREIGN,
    /* The allocator's metadata for the block (its header, a neighbour's,
     * a free-list link) fails its integrity checks: something wrote over
     * it, typically an overflow of the block before. The call stops
     * before following any of it. */
    MM_FAULT_CORRUPT,
};

struct mm_fault_report {
    enum mm_fault fault;
    const void *ptr;      /* the pointer passed in */
    const char *function; /* "free", "realloc", "mm_pages_free", ... */
};

/*
 * Called once per fault. If it returns, the faulting call does nothing
 * (see above) and the heap stays consistent: host tests record faults
 * this way. With no handler installed a fault traps (__builtin_trap).
 */
typedef void (*mm_fault_handler)(const struct mm_fault_report *report);

/* Install `handler` (NULL: none); returns the previous one. */
mm_fault_handler mm_set_fault_handler(mm_fault_handler handler);

/* "double free", "interior pointer", "foreign pointer", "corrupt heap
 * metadata" or "none". */
const char *mm_fault_name(enum mm_fault fault);

/* ---- Statistics ------------------------------------------------------ */

struct mm_class_stats {
    uint32_t size;   /* largest block of the class; 0 for the large class */
    uint64_t in_use; /* live blocks */
    uint64_t allocs; /* blocks handed out since mm_init */
};

struct mm_role_stats {
    uint64_t pages;   /* 4 KiB pages handed out (page maps not counted) */
    uint32_t extents; /* extents held by the role */
};

struct mm_stats {
    const char *allocator; /* "slab" or "tlsf" */
    /* Heap blocks, counted by usable size (mm_usable_size). */
    uint64_t bytes_in_use;
    /* Highest bytes_in_use since mm_init (a realloc that moves a block
     * holds both blocks for a moment, and that counts). */
    uint64_t bytes_peak;
    uint64_t blocks_in_use;
    /* Blocks handed out and given back; a realloc that moves the block
     * counts as one of each, one that resizes in place as neither. */
    uint64_t allocs;
    uint64_t frees;
    uint64_t failed; /* allocations refused: out of memory, bad arguments */
    uint64_t faults; /* faults reported (any function) */
    /* [0, MM_SIZE_CLASSES): small classes; [MM_SIZE_CLASSES]: larger. */
    struct mm_class_stats classes[MM_SIZE_CLASSES + 1];
    struct mm_role_stats roles[MM_ROLE_COUNT];
    uint32_t extents_total; /* extents mm manages */
    uint32_t extents_free;  /* of those, held by no role */
};

/* A snapshot of the counters. */
void mm_stats(struct mm_stats *stats);

/*
 * Walk all allocator metadata and count inconsistencies (0: healthy).
 * Slow; for tests and debugging. Prints nothing.
 */
size_t mm_check(void);

#endif /* MM_MM_H */
