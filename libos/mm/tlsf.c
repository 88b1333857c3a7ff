/*
 * The TLSF allocator (//libos/mm:tlsf): Two-Level Segregated Fit, after
 * Masmano, Ripoll, Crespo and Real, "TLSF: a new dynamic memory allocator
 * for real-time systems" (ECRTS 2004).
 *
 * Free blocks sit on segregated lists: the first level splits sizes by
 * power of two, the second splits each power of two into SL_COUNT equal
 * ranges; two bitmaps say which lists are non-empty. malloc rounds the
 * request up to the next list boundary, so the first block of any list
 * found by bit scans fits ("good fit"), and both malloc and free take a
 * bounded number of steps. Neighbouring free blocks are merged at once
 * (boundary tags: every header records the previous block's size).
 *
 * The heap is a set of pools, one 2 MiB heap extent each; a pool whose
 * blocks are all free goes back to the extent pool. A pool starts with a
 * bitmap with one bit per 16 bytes, set where a live block starts. free()
 * trusts that bitmap, not the headers in front of blocks, to decide
 * whether a pointer is a live block, so double and interior frees are
 * caught exactly. (A write to freed memory can still damage a free list,
 * which lives in the free block: that is what slab avoids.)
 *
 * Headers sit right after the block before, so an overflow of a block
 * writes over its neighbour's header (1 byte reaches prev_size). Both
 * header words carry half of a keyed cookie over the block's address and
 * both sizes (guard.h) in their upper 32 bits; sizes fit in the lower 32.
 * Before free() follows a header it checks the block's, its neighbours'
 * (sizes in bounds, each pointing back at the other) and, for a free
 * neighbour, that its list neighbours point back (safe unlinking). A
 * header that is rewritten is checked first, so a corrupt one is never
 * re-stamped valid. A failed check is MM_FAULT_CORRUPT and the write is
 * not done.
 *
 * Requests too large for a pool are spans of whole extents (span.c).
 */
#include <mm/mm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "backend.h"
#include "extent.h"
#include "fault.h"
#include "guard.h"
#include "span.h"

#define ALIGN_LOG2 4u
#define ALIGN (1u << ALIGN_LOG2)        /* every block size is a multiple */
#define HEADER 16u                      /* struct tblock up to the payload */
#define MIN_BLOCK (HEADER + 16u)        /* header + room for the links */
#define SL_LOG2 4u
#define SL_COUNT (1u << SL_LOG2)        /* second-level lists per power */
#define FL_SHIFT (SL_LOG2 + ALIGN_LOG2) /* below 2^FL_SHIFT: a list per size */
#define SMALL_BLOCK ((size_t)1 << FL_SHIFT)
#define FL_COUNT (EXTENT_SHIFT - FL_SHIFT + 1)

/* Pool layout: [start bitmap][first block ... ][sentinel header]. */
#define BITMAP_BYTES (EXTENT_SIZE / ALIGN / 8)
#define FIRST_BLOCK BITMAP_BYTES
#define POOL_BLOCK_MAX (EXTENT_SIZE - BITMAP_BYTES - 2 * HEADER)
/*
 * The largest request a fresh pool can serve: rounded up to a list
 * boundary, it must still map into the list of the pool's single block
 * (the last list below 2^EXTENT_SHIFT).
 */
#define REQUEST_MAX (EXTENT_SIZE - (EXTENT_SIZE >> (SL_LOG2 + 1)))
_Static_assert(REQUEST_MAX <= POOL_BLOCK_MAX, "a new pool serves REQUEST_MAX");
_Static_assert(MM_SMALL_MAX <= REQUEST_MAX, "small blocks come from pools");

#define FLAG_FREE 1u
#define FLAG_MASK (ALIGN - 1)
#define LOW32 UINT64_C(0xffffffff)
_Static_assert(EXTENT_SIZE <= LOW32, "sizes fit in a header word's low half");

enum { BLOCK_POOL = 1 };

struct tblock {
    uint64_t prev_word; /* payload size of the block before (0 if first) */
    uint64_t size_word; /* payload size | FLAG_FREE */
    /* Each word's upper 32 bits: half of the header's cookie. */
    /* In free blocks only (the start of the payload): */
    struct tblock *next_free, *prev_free;
};
_Static_assert(offsetof(struct tblock, next_free) == HEADER, "header size");

const char backend_name[] = "tlsf";

static uint32_t fl_bitmap;
static uint32_t sl_bitmap[FL_COUNT];
static struct tblock *heads[FL_COUNT][SL_COUNT];
static uint64_t key = GUARD_DEFAULT_KEY;
/* What a fault found while a call is under way reports ("malloc", ...). */
static const char *operation = "malloc";

/* ---- blocks ---------------------------------------------------------- */

static size_t size_of(const struct tblock *b)
{
    return (size_t)(b->size_word & LOW32 & ~(uint64_t)FLAG_MASK);
}

static size_t prev_size_of(const struct tblock *b)
{
    return (size_t)(b->prev_word & LOW32);
}

static bool is_free(const struct tblock *b)
{
    return b->size_word & FLAG_FREE;
}

static uint64_t cookie(const struct tblock *b, uint64_t prev, uint64_t size)
{
    return guard_cookie(key, (uintptr_t)b, prev << 32 | size);
}

/* Stamp a whole header: for a new block, or one just checked. */
static void write_header(struct tblock *b, size_t prev, size_t size,
                         bool free_flag)
{
    uint64_t size_bits = size | (free_flag ? FLAG_FREE : 0);
    uint64_t c = cookie(b, prev, size_bits);

    b->prev_word = prev | c << 32;
    b->size_word = size_bits | (c & ~LOW32);
}

/* The header is one this allocator wrote, with sizes a pool can hold. */
static bool header_intact(const struct tblock *b)
{
    uint64_t c = cookie(b, b->prev_word & LOW32, b->size_word & LOW32);

    return b->prev_word >> 32 == (c & LOW32) && b->size_word >> 32 == c >> 32
           && size_of(b) <= POOL_BLOCK_MAX && prev_size_of(b) <= POOL_BLOCK_MAX;
}

/* Report a header found corrupt during a call, naming its block. */
static void corrupt(const struct tblock *b)
{
    fault_report(MM_FAULT_CORRUPT, (const char *)b + HEADER, operation);
}

/* Rewrite an existing header, unless it is not ours (then: report, skip). */
static bool restamp(struct tblock *b, size_t prev, size_t size, bool free_flag)
{
    if (!header_intact(b)) {
        corrupt(b);
        return false;
    }
    write_header(b, prev, size, free_flag);
    return true;
}

static bool set_size(struct tblock *b, size_t size, bool free_flag)
{
    return restamp(b, prev_size_of(b), size, free_flag);
}

static uintptr_t payload(const struct tblock *b)
{
    return (uintptr_t)b + HEADER;
}

static struct tblock *block_of(uintptr_t payload_addr)
{
    return (struct tblock *)(payload_addr - HEADER);
}

static struct tblock *next_block(const struct tblock *b)
{
    return (struct tblock *)(payload(b) + size_of(b));
}

static uintptr_t pool_of(const void *p)
{
    return (uintptr_t)p & ~(EXTENT_SIZE - 1);
}

static bool is_first(const struct tblock *b)
{
    return (uintptr_t)b - pool_of(b) == FIRST_BLOCK;
}

static struct tblock *prev_block(const struct tblock *b)
{
    return (struct tblock *)((uintptr_t)b - prev_size_of(b) - HEADER);
}

/* The next block learns its new neighbour's size. */
static void link_next(struct tblock *b)
{
    struct tblock *next = next_block(b);

    restamp(next, size_of(b), size_of(next), is_free(next));
}

/* ---- the start bitmap ------------------------------------------------ */

static uint64_t *start_bits(uintptr_t pool)
{
    return (uint64_t *)pool;
}

static void mark_start(uintptr_t p, bool live)
{
    uint64_t *bits = start_bits(pool_of((void *)p));
    uintptr_t i = (p - pool_of((void *)p)) / ALIGN;
    uint64_t bit = UINT64_C(1) << (i % 64);

    bits[i / 64] = live ? bits[i / 64] | bit : bits[i / 64] & ~bit;
}

static bool is_start(uintptr_t p)
{
    const uint64_t *bits = start_bits(pool_of((void *)p));
    uintptr_t i = (p - pool_of((void *)p)) / ALIGN;

    return (bits[i / 64] >> (i % 64)) & 1;
}

/* ---- segregated lists ------------------------------------------------ */

static uint32_t log2_floor(size_t x)
{
    return 63u - (uint32_t)__builtin_clzll(x);
}

/* The list that holds free blocks of `size` bytes. */
static void mapping(size_t size, uint32_t *fl, uint32_t *sl)
{
    if (size < SMALL_BLOCK) {
        *fl = 0;
        *sl = (uint32_t)(size / ALIGN);
        return;
    }
    uint32_t k = log2_floor(size);
    *fl = k - FL_SHIFT + 1;
    *sl = (uint32_t)(size >> (k - SL_LOG2)) - SL_COUNT;
}

/* Round a request up so that every block of its list is large enough. */
static size_t round_to_list(size_t size)
{
    if (size < SMALL_BLOCK)
        return size;
    return size + ((size_t)1 << (log2_floor(size) - SL_LOG2)) - 1;
}

static void insert(struct tblock *b)
{
    uint32_t fl, sl;

    mapping(size_of(b), &fl, &sl);
    if (fl >= FL_COUNT) {
        corrupt(b);
        return;
    }
    struct tblock *head = heads[fl][sl];
    if (head && (!header_intact(head) || !is_free(head) || head->prev_free)) {
        /* Not followed: the blocks on that list are lost, nothing else. */
        corrupt(head);
        head = NULL;
    }
    b->prev_free = NULL;
    b->next_free = head;
    if (head)
        head->prev_free = b;
    heads[fl][sl] = b;
    fl_bitmap |= 1u << fl;
    sl_bitmap[fl] |= 1u << sl;
}

/*
 * b is a free block on its list, and its list neighbours point back at it:
 * unlinking writes through its links, so they must be ours.
 */
static bool unlinkable(const struct tblock *b)
{
    uint32_t fl, sl;

    if (!header_intact(b) || !is_free(b))
        return false;
    mapping(size_of(b), &fl, &sl);
    if (fl >= FL_COUNT)
        return false;
    const struct tblock *prev = b->prev_free, *next = b->next_free;
    if (prev ? !header_intact(prev) || prev->next_free != b
             : heads[fl][sl] != b)
        return false;
    return !next || (header_intact(next) && next->prev_free == b);
}

static bool remove_free(struct tblock *b)
{
    uint32_t fl, sl;

    if (!unlinkable(b)) {
        corrupt(b);
        return false;
    }
    mapping(size_of(b), &fl, &sl);
    if (b->prev_free)
        b->prev_free->next_free = b->next_free;
    else
        heads[fl][sl] = b->next_free;
    if (b->next_free)
        b->next_free->prev_free = b->prev_free;
    if (!heads[fl][sl]) {
        sl_bitmap[fl] &= ~(1u << sl);
        if (!sl_bitmap[fl])
            fl_bitmap &= ~(1u << fl);
    }
    return true;
}

/* A free block of at least `size` bytes, still on its list; or NULL. */
static struct tblock *find_free(size_t size)
{
    uint32_t fl, sl;

    mapping(round_to_list(size), &fl, &sl);
    if (fl >= FL_COUNT)
        return NULL;
    uint32_t sl_map = sl_bitmap[fl] & (~0u << sl);
    if (!sl_map) {
        uint32_t fl_map = fl_bitmap & (~0u << (fl + 1));
        if (!fl_map)
            return NULL;
        fl = (uint32_t)__builtin_ctz(fl_map);
        sl_map = sl_bitmap[fl];
    }
    sl = (uint32_t)__builtin_ctz(sl_map);
    return heads[fl][sl];
}

/* ---- pools ----------------------------------------------------------- */

static bool add_pool(void)
{
    uintptr_t pool = extent_take(MM_ROLE_HEAP, 1, EXTENT_POOL, OWNER_HEAP);

    if (!pool)
        return false;
    extent_count_pages(MM_ROLE_HEAP, PAGES_PER_EXTENT);
    memset(start_bits(pool), 0, BITMAP_BYTES);

    struct tblock *first = (struct tblock *)(pool + FIRST_BLOCK);
    write_header(first, 0, POOL_BLOCK_MAX, true);
    /* "used": nothing ever merges with it */
    write_header(next_block(first), POOL_BLOCK_MAX, 0, false);
    insert(first);
    return true;
}

static void release_pool(uintptr_t pool)
{
    extent_count_pages(MM_ROLE_HEAP, -(int64_t)PAGES_PER_EXTENT);
    extent_release(pool);
}

/*
 * Cut b (not on a list) to `size` bytes if the rest can be a block; the
 * rest goes on a list. Its right neighbour is used (free blocks are never
 * adjacent), so it needs no merging.
 */
static void split(struct tblock *b, size_t size)
{
    size_t have = size_of(b);

    if (have < size + MIN_BLOCK)
        return;
    struct tblock *rest = (struct tblock *)(payload(b) + size);
    write_header(rest, size, have - size - HEADER, true);
    write_header(b, prev_size_of(b), size, is_free(b)); /* b: checked */
    link_next(rest);
    insert(rest);
}

/* b was checked (taken off its list by remove_free). */
static void *use(struct tblock *b, size_t size)
{
    split(b, size);
    write_header(b, prev_size_of(b), size_of(b), false);
    mark_start(payload(b), true);
    return (void *)payload(b);
}

static struct tblock *take_free(size_t size)
{
    struct tblock *b = find_free(size);

    if (!b && add_pool())
        b = find_free(size);
    if (b && !remove_free(b))
        return NULL; /* reported */
    return b;
}

static void *pool_alloc(size_t size)
{
    struct tblock *b = take_free(size);

    return b ? use(b, size) : NULL;
}

/*
 * Aligned: take a block with room for the alignment gap, and give the
 * gap back as a free block of its own. The gap is 0 or at least
 * MIN_BLOCK, so size + align + MIN_BLOCK always suffices.
 */
static void *pool_alloc_aligned(size_t size, size_t align)
{
    struct tblock *b = take_free(size + align + MIN_BLOCK);

    if (!b)
        return NULL;
    uintptr_t p = payload(b);
    uintptr_t a = (p + align - 1) & ~(uintptr_t)(align - 1);
    if (a != p) {
        if (a - p < MIN_BLOCK)
            a = (p + MIN_BLOCK + align - 1) & ~(uintptr_t)(align - 1);
        size_t gap = a - p;
        struct tblock *aligned = block_of(a);

        write_header(aligned, gap - HEADER, size_of(b) - gap, false);
        set_size(b, gap - HEADER, true);
        link_next(aligned);
        insert(b); /* its left neighbour is used: b was free */
        b = aligned;
    }
    return use(b, size);
}

/*
 * b, a used block of the pool at `pool`, and the headers a free or a
 * resize of it reads and writes: intact, sizes that stay inside the pool,
 * neighbours that agree with b. Checked before anything is written; the
 * list links of a free neighbour are checked when it is unlinked.
 */
static bool used_block_sound(const struct tblock *b, uintptr_t pool)
{
    uintptr_t sentinel = pool + EXTENT_SIZE - HEADER;

    if (!header_intact(b) || is_free(b) || payload(b) + size_of(b) > sentinel)
        return false;
    const struct tblock *next = next_block(b);
    if (!header_intact(next) || prev_size_of(next) != size_of(b))
        return false;
    if (is_free(next)
        && (payload(next) + size_of(next) > sentinel
            || !header_intact(next_block(next))))
        return false;
    if (is_first(b))
        return prev_size_of(b) == 0;
    if (prev_size_of(b) + HEADER > (uintptr_t)b - (pool + FIRST_BLOCK))
        return false;
    const struct tblock *prev = prev_block(b);
    return header_intact(prev) && size_of(prev) == prev_size_of(b);
}

/*
 * b and the headers around it were checked by backend_find(); realloc()
 * may allocate in between, but only writes headers of its own then. Free
 * neighbours' links are checked as they are unlinked.
 */
static void pool_free(struct tblock *b)
{
    struct tblock *next = next_block(b);
    struct tblock *prev = is_first(b) ? NULL : prev_block(b);
    size_t size = size_of(b);

    if (is_free(next) && !remove_free(next))
        return; /* reported; nothing written yet */
    if (prev && is_free(prev) && !remove_free(prev))
        return; /* reported; next is off its list, as if allocated */
    mark_start(payload(b), false);
    if (is_free(next))
        size += HEADER + size_of(next);
    if (prev && is_free(prev)) {
        size += HEADER + size_of(prev);
        b = prev;
    }
    write_header(b, prev_size_of(b), size, true);
    next = next_block(b);
    write_header(next, size, size_of(next), is_free(next));
    if (size_of(b) == POOL_BLOCK_MAX)
        release_pool(pool_of(b)); /* the whole pool is free */
    else
        insert(b);
}

/* ---- backend interface ----------------------------------------------- */

void backend_reset(void)
{
    key = GUARD_DEFAULT_KEY;
    fl_bitmap = 0;
    memset(sl_bitmap, 0, sizeof sl_bitmap);
    memset(heads, 0, sizeof heads);
}

void backend_set_key(uint64_t new_key)
{
    key = new_key;
}

static size_t round_up(size_t size)
{
    return size < ALIGN ? ALIGN : (size + ALIGN - 1) & ~(size_t)(ALIGN - 1);
}

void *backend_alloc(size_t size, size_t align)
{
    operation = "malloc";
    if (size <= REQUEST_MAX) {
        size_t need = round_up(size);

        if (align <= ALIGN)
            return pool_alloc(need);
        if (align < REQUEST_MAX && need <= REQUEST_MAX - align - MIN_BLOCK)
            return pool_alloc_aligned(need, align);
    }
    return span_alloc(size, align);
}

/* p is in the pool at `pool` and is not a live block: what is it? */
static enum mm_fault classify(uintptr_t p, uintptr_t pool)
{
    const struct tblock *b = (const struct tblock *)(pool + FIRST_BLOCK);
    const struct tblock *sentinel =
        (const struct tblock *)(pool + EXTENT_SIZE - HEADER);

    if (p < (uintptr_t)b || p >= (uintptr_t)sentinel)
        return MM_FAULT_INTERIOR; /* the bitmap or the sentinel */
    while (b < sentinel) {
        if (p < (uintptr_t)next_block(b))
            return is_free(b) ? MM_FAULT_DOUBLE_FREE : MM_FAULT_INTERIOR;
        b = next_block(b);
    }
    return MM_FAULT_INTERIOR;
}

enum mm_fault backend_find(const void *ptr, struct block *b)
{
    uintptr_t p = (uintptr_t)ptr, base;
    struct extent *e;
    enum mm_fault fault = heap_extent(p, &e, &base);

    if (fault != MM_FAULT_NONE)
        return fault;
    if (e->use == EXTENT_SPAN || e->use == EXTENT_SPAN_TAIL)
        return span_find(p, e, base, b);
    if (e->use != EXTENT_POOL)
        return MM_FAULT_FOREIGN; /* mm_pages_alloc(MM_ROLE_HEAP, ...) */
    if (p % ALIGN != 0 || p - base < FIRST_BLOCK + HEADER || !is_start(p))
        return classify(p, base);
    if (!used_block_sound(block_of(p), base))
        return MM_FAULT_CORRUPT;
    *b = (struct block){(void *)p, size_of(block_of(p)), BLOCK_POOL, NULL};
    return MM_FAULT_NONE;
}

size_t backend_fresh_usable(const void *ptr)
{
    uintptr_t p = (uintptr_t)ptr, base;
    struct extent *e;
    struct block b;

    /* A pool block's header was just written; spans are looked up. */
    if (heap_extent(p, &e, &base) == MM_FAULT_NONE && e->use == EXTENT_POOL)
        return size_of(block_of(p));
    backend_find(ptr, &b);
    return b.usable;
}

void backend_free(const struct block *b)
{
    operation = "free";
    if (b->kind == BLOCK_POOL)
        pool_free(block_of((uintptr_t)b->ptr));
    else
        span_free(b);
}

bool backend_resize(struct block *b, size_t size)
{
    if (b->kind != BLOCK_POOL || size > REQUEST_MAX)
        return false;
    operation = "realloc";
    struct tblock *t = block_of((uintptr_t)b->ptr);
    size_t need = round_up(size);
    size_t have = size_of(t);

    if (need > have) {
        /* Grow into the next block if it is free and large enough. */
        struct tblock *next = next_block(t);
        if (!is_free(next) || have + HEADER + size_of(next) < need)
            return false;
        if (!remove_free(next))
            return false; /* reported */
        set_size(t, have + HEADER + size_of(next), false);
        link_next(t);
        split(t, need);
    } else if (have - need >= MIN_BLOCK) {
        /* Shrink: the tail becomes free, merged with a free neighbour. */
        struct tblock *rest = (struct tblock *)(payload(t) + need);
        struct tblock *next = next_block(t);
        size_t rest_size = have - need - HEADER;

        if (is_free(next)) {
            if (!remove_free(next))
                return false; /* reported */
            rest_size += HEADER + size_of(next);
        }
        set_size(t, need, false);
        write_header(rest, need, rest_size, true);
        link_next(rest);
        insert(rest);
    }
    b->usable = size_of(t);
    return true;
}

/* ---- consistency ----------------------------------------------------- */

static size_t popcount_bits(const uint64_t *bits, size_t words)
{
    size_t n = 0;

    for (size_t i = 0; i < words; i++)
        n += (size_t)__builtin_popcountll(bits[i]);
    return n;
}

/* Walk one pool; count its free blocks into *free_blocks. */
static size_t check_pool(uintptr_t pool, size_t *free_blocks)
{
    const struct tblock *b = (const struct tblock *)(pool + FIRST_BLOCK);
    const struct tblock *sentinel =
        (const struct tblock *)(pool + EXTENT_SIZE - HEADER);
    size_t errors = 0, used = 0, prev_size = 0;
    bool prev_free = false;

    while (b < sentinel) {
        size_t size = size_of(b);
        if (size < ALIGN || payload(b) + size > (uintptr_t)sentinel)
            return errors + 1; /* cannot walk on */
        errors += !header_intact(b) || prev_size_of(b) != prev_size;
        errors += is_free(b) && prev_free;     /* should have merged */
        errors += is_start(payload(b)) == is_free(b);
        used += !is_free(b);
        *free_blocks += is_free(b);
        prev_free = is_free(b);
        prev_size = size;
        b = next_block(b);
    }
    errors += b != sentinel || size_of(b) != 0 || is_free(b)
              || prev_size_of(b) != prev_size || !header_intact(b);
    errors += popcount_bits(start_bits(pool), BITMAP_BYTES / 8) != used;
    errors += used == 0; /* an empty pool should have been released */
    return errors;
}

size_t backend_check(void)
{
    size_t errors = 0, walked_free = 0, listed_free = 0;
    uint32_t cursor = 0;
    uintptr_t pool;

    while (extent_next(MM_ROLE_HEAP, EXTENT_POOL, &cursor, &pool))
        errors += check_pool(pool, &walked_free);

    for (uint32_t fl = 0; fl < FL_COUNT; fl++) {
        errors += !!(fl_bitmap & (1u << fl)) != (sl_bitmap[fl] != 0);
        for (uint32_t sl = 0; sl < SL_COUNT; sl++) {
            const struct tblock *prev = NULL;

            bool listed = heads[fl][sl] != NULL;
            errors += !!(sl_bitmap[fl] & (1u << sl)) != listed;
            for (const struct tblock *b = heads[fl][sl]; b; b = b->next_free) {
                uint32_t f, s;
                mapping(size_of(b), &f, &s);
                errors += !is_free(b) || f != fl || s != sl
                          || b->prev_free != prev;
                prev = b;
                if (++listed_free > walked_free)
                    return errors + 1; /* a cycle, or a stray block */
            }
        }
    }
    return errors + (listed_free != walked_free);
}
