/*
 * The slab allocator (//libos/mm:slab).
 *
 * Small blocks (<= MM_SMALL_MAX) come from one cache per size class. A
 * slab is a run of 1, 2, 4 or 8 pages: a 64-byte header, then objects of
 * the class size. Which objects are allocated is a bitmap in the header,
 * not a free list threaded through the objects, so a write to a freed
 * object cannot corrupt the allocator, and freeing an object whose bit is
 * clear is a double free, caught exactly. A class keeps a list of its
 * slabs that have free objects; a slab that becomes empty goes back to
 * the page allocator at once.
 *
 * Larger blocks are page runs of their own (usable size: whole pages),
 * and blocks larger than a page run, or aligned beyond 1 MiB, are spans
 * of whole extents.
 *
 * A slab header follows whatever the page before it holds (a large block,
 * another slab's last object), so an overflow there reaches it. Its first
 * word is a keyed cookie over its address and shape (guard.h): a linear
 * overflow changes the cookie before anything else. A header is checked
 * (cookie, class index in bounds, shape equal to its cache's) before a
 * free or an allocation uses it, and a slab is unlinked only if its
 * neighbours point back at it; what fails is MM_FAULT_CORRUPT, and the
 * call stops before following any pointer it read.
 */
#include <mm/mm.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "backend.h"
#include "extent.h"
#include "fault.h"
#include "guard.h"
#include "page.h"
#include "sizeclass.h"
#include "span.h"

#define SLAB_HEADER 64u
/* Objects start 64-aligned, so classes that are multiples of 64 serve
 * alignments up to 64; larger alignments go to page runs. */
#define SLAB_ALIGN_MAX 64u
#define SLAB_OBJECTS_MAX 256u
#define SLAB_PAGES_MAX 8u
#define LARGE_ALIGN_MAX (PAGES_PER_EXTENT / 2 * PAGE_SIZE)

enum { BLOCK_OBJECT = 1, BLOCK_LARGE };

struct slab {
    uint64_t cookie;          /* first: see above */
    struct slab *next, *prev; /* the cache's slabs with free objects */
    uint16_t class_index;
    uint16_t capacity;     /* objects */
    uint16_t free_objects;
    uint16_t pages;
    /* Bit set: object allocated. Bits from capacity up are always set. */
    uint64_t used[SLAB_OBJECTS_MAX / 64];
};
_Static_assert(sizeof(struct slab) <= SLAB_HEADER, "slab header size");

struct cache {
    uint32_t size;
    uint16_t pages, capacity;
    struct slab *partial; /* slabs with at least one free object */
};

const char backend_name[] = "slab";

static struct cache caches[MM_SIZE_CLASSES];
static uint64_t key = GUARD_DEFAULT_KEY;

static uint32_t capacity_of(uint32_t size, uint32_t pages)
{
    uint32_t n = (uint32_t)((pages * PAGE_SIZE - SLAB_HEADER) / size);

    return n > SLAB_OBJECTS_MAX ? SLAB_OBJECTS_MAX : n;
}

/*
 * The fewest pages (1, 2, 4 or 8) that waste at most 1/16 of the slab;
 * failing that, the count that wastes the smallest fraction.
 */
static void shape(struct cache *c)
{
    uint32_t best = 1;
    uint64_t best_waste = UINT64_MAX; /* per page, scaled by SLAB_PAGES_MAX */

    for (uint32_t pages = 1; pages <= SLAB_PAGES_MAX; pages *= 2) {
        uint64_t bytes = pages * PAGE_SIZE;
        uint64_t used = (uint64_t)capacity_of(c->size, pages) * c->size;
        uint64_t waste = bytes - used;

        if (waste * 16 <= bytes) {
            best = pages;
            break;
        }
        if (waste * SLAB_PAGES_MAX / pages < best_waste) {
            best = pages;
            best_waste = waste * SLAB_PAGES_MAX / pages;
        }
    }
    c->pages = (uint16_t)best;
    c->capacity = (uint16_t)capacity_of(c->size, best);
}

void backend_reset(void)
{
    key = GUARD_DEFAULT_KEY;
    for (uint32_t i = 0; i < MM_SIZE_CLASSES; i++) {
        caches[i] = (struct cache){.size = size_class_size(i)};
        shape(&caches[i]);
    }
}

void backend_set_key(uint64_t new_key)
{
    key = new_key;
}

static uint64_t cookie_of(const struct slab *s)
{
    uint64_t fields = s->class_index | (uint64_t)s->capacity << 16
                      | (uint64_t)s->pages << 32;

    return guard_cookie(key, (uintptr_t)s, fields);
}

/* The header is one this allocator wrote, for a slab of its cache's shape. */
static bool slab_intact(const struct slab *s)
{
    if (s->cookie != cookie_of(s) || s->class_index >= MM_SIZE_CLASSES)
        return false;
    const struct cache *c = &caches[s->class_index];
    return s->capacity == c->capacity && s->pages == c->pages
           && s->free_objects <= s->capacity;
}

/* s is on c's partial list, and its neighbours say so (safe unlinking). */
static bool links_intact(const struct cache *c, const struct slab *s)
{
    if (s->prev ? !slab_intact(s->prev) || s->prev->next != s
                : c->partial != s)
        return false;
    return !s->next || (slab_intact(s->next) && s->next->prev == s);
}

/* The list head that push() will write through, if any, is sound. */
static bool head_intact(const struct cache *c)
{
    return !c->partial || (slab_intact(c->partial) && !c->partial->prev);
}

static uintptr_t objects_of(const struct slab *s)
{
    return (uintptr_t)s + SLAB_HEADER;
}

static bool object_used(const struct slab *s, uint32_t i)
{
    return (s->used[i / 64] >> (i % 64)) & 1;
}

static void push(struct cache *c, struct slab *s)
{
    s->prev = NULL;
    s->next = c->partial;
    if (c->partial)
        c->partial->prev = s;
    c->partial = s;
}

static void unlink_slab(struct cache *c, struct slab *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        c->partial = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->next = s->prev = NULL;
}

static struct slab *new_slab(uint32_t class_index)
{
    struct cache *c = &caches[class_index];

    if (!head_intact(c)) {
        fault_report(MM_FAULT_CORRUPT, c->partial, "malloc");
        return NULL;
    }
    struct slab *s = page_run_take(MM_ROLE_HEAP, c->pages, 1, PAGE_OWNER_SLAB);

    if (!s)
        return NULL;
    memset(s, 0, sizeof *s);
    s->class_index = (uint16_t)class_index;
    s->capacity = s->free_objects = c->capacity;
    s->pages = c->pages;
    s->cookie = cookie_of(s);
    for (uint32_t i = c->capacity; i < SLAB_OBJECTS_MAX; i++)
        s->used[i / 64] |= UINT64_C(1) << (i % 64);
    push(c, s);
    return s;
}

static void *slab_alloc(uint32_t class_index)
{
    struct cache *c = &caches[class_index];
    struct slab *s = c->partial ? c->partial : new_slab(class_index);

    if (!s)
        return NULL;
    /* The slab we take an object from; its neighbours if it fills up. */
    if (!slab_intact(s) || s->class_index != class_index || !s->free_objects
        || s->prev || (s->free_objects == 1 && !links_intact(c, s))) {
        fault_report(MM_FAULT_CORRUPT, s, "malloc");
        return NULL;
    }
    for (uint32_t w = 0; w < SLAB_OBJECTS_MAX / 64; w++) {
        if (s->used[w] == UINT64_MAX)
            continue;
        uint32_t bit = (uint32_t)__builtin_ctzll(~s->used[w]);
        s->used[w] |= UINT64_C(1) << bit;
        if (--s->free_objects == 0)
            unlink_slab(c, s);
        return (void *)(objects_of(s) + (w * 64 + bit) * c->size);
    }
    return NULL; /* unreachable: a partial slab has a clear bit */
}

/*
 * find_object() checked the header; the list is checked again here, just
 * before it is written, because realloc() allocates between the two.
 */
static void slab_free(struct slab *s, uintptr_t p)
{
    struct cache *c = &caches[s->class_index];
    uint32_t i = (uint32_t)((p - objects_of(s)) / c->size);

    if (s->free_objects == 0 ? !head_intact(c)
        : s->free_objects + 1 == s->capacity && !links_intact(c, s)) {
        fault_report(MM_FAULT_CORRUPT, (void *)p, "free");
        return;
    }
    s->used[i / 64] &= ~(UINT64_C(1) << (i % 64));
    if (s->free_objects++ == 0)
        push(c, s);
    if (s->free_objects == s->capacity) {
        unlink_slab(c, s);
        page_run_release((uintptr_t)s);
    }
}

void *backend_alloc(size_t size, size_t align)
{
    if (size <= MM_SMALL_MAX && align <= SLAB_ALIGN_MAX) {
        uint32_t i = size_class(size);

        /* 2048 is a multiple of 64, so this stops inside the table. */
        while (caches[i].size % align)
            i++;
        return slab_alloc(i);
    }
    if (size <= MM_PAGES_MAX * PAGE_SIZE && align <= LARGE_ALIGN_MAX) {
        uint32_t pages = (uint32_t)((size + PAGE_SIZE - 1) / PAGE_SIZE);
        uint32_t align_pages =
            align <= PAGE_SIZE ? 1 : (uint32_t)(align / PAGE_SIZE);
        void *p = page_run_take(MM_ROLE_HEAP, pages, align_pages,
                                PAGE_OWNER_LARGE);
        if (p)
            return p;
        /* No extent can hold it at that alignment: a span can. */
    }
    return span_alloc(size, align);
}

/* p is in a slab: is it the start of a live object? */
static enum mm_fault find_object(uintptr_t p, const struct page_run *run,
                                 struct block *b)
{
    struct slab *s = (struct slab *)run->start;

    /* Everything slab_free() will read or write through, checked first. */
    if (!slab_intact(s) || s->pages != run->count)
        return MM_FAULT_CORRUPT;
    const struct cache *c = &caches[s->class_index];
    if (s->free_objects == 0 ? !head_intact(c)
        : s->free_objects + 1 == s->capacity && !links_intact(c, s))
        return MM_FAULT_CORRUPT;

    if (p < objects_of(s))
        return MM_FAULT_INTERIOR; /* the slab header */
    uintptr_t offset = p - objects_of(s);
    uintptr_t i = offset / c->size;
    if (offset % c->size != 0 || i >= s->capacity)
        return MM_FAULT_INTERIOR;
    if (!object_used(s, (uint32_t)i))
        return MM_FAULT_DOUBLE_FREE;
    *b = (struct block){(void *)p, c->size, BLOCK_OBJECT, s};
    return MM_FAULT_NONE;
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
    if (e->use != EXTENT_PAGES)
        return MM_FAULT_FOREIGN;

    struct page_run run = page_run_find(base, p);
    if (run.kind == PAGE_FREE)
        return MM_FAULT_DOUBLE_FREE;
    if (run.kind == PAGE_MAP)
        return MM_FAULT_INTERIOR;
    switch (run.owner) {
    case PAGE_OWNER_SLAB:
        return find_object(p, &run, b);
    case PAGE_OWNER_LARGE:
        if (p != run.start)
            return MM_FAULT_INTERIOR;
        *b = (struct block){(void *)p, run.count * PAGE_SIZE, BLOCK_LARGE,
                            NULL};
        return MM_FAULT_NONE;
    default:
        return MM_FAULT_FOREIGN; /* mm_pages_alloc(MM_ROLE_HEAP, ...) */
    }
}

size_t backend_fresh_usable(const void *ptr)
{
    struct block b;

    backend_find(ptr, &b); /* a slab header check costs one cookie */
    return b.usable;
}

void backend_free(const struct block *b)
{
    switch (b->kind) {
    case BLOCK_OBJECT: slab_free(b->meta, (uintptr_t)b->ptr); break;
    case BLOCK_LARGE: page_run_release((uintptr_t)b->ptr); break;
    default: span_free(b); break;
    }
}

bool backend_resize(struct block *b, size_t size)
{
    /* Slab objects and page runs never grow or shrink in place. */
    (void)b;
    (void)size;
    return false;
}

/* One slab's header against its cache and its page run. */
static size_t check_slab(const struct slab *s, uintptr_t start, uint32_t pages)
{
    size_t errors = 0;
    uint32_t used = 0;

    if (s->class_index >= MM_SIZE_CLASSES || s->cookie != cookie_of(s))
        return 1;
    const struct cache *c = &caches[s->class_index];
    errors += s->capacity != c->capacity || s->pages != c->pages;
    errors += pages != c->pages || (uintptr_t)s != start;
    for (uint32_t i = 0; i < SLAB_OBJECTS_MAX; i++) {
        if (i >= s->capacity)
            errors += !object_used(s, i);
        else
            used += object_used(s, i);
    }
    errors += s->free_objects != s->capacity - used;
    errors += s->free_objects == s->capacity; /* empty slabs are freed */
    return errors;
}

size_t backend_check(void)
{
    size_t errors = 0;
    uint64_t partial_found = 0, partial_listed = 0;
    uint32_t cursor = 0;
    uintptr_t base;

    /* Every slab, found through the page maps. */
    while (extent_next(MM_ROLE_HEAP, EXTENT_PAGES, &cursor, &base)) {
        for (uint32_t i = 1; i < PAGES_PER_EXTENT;) {
            struct page_run run = page_run_find(base, base + i * PAGE_SIZE);

            if (run.kind != PAGE_HEAD) {
                i++;
                continue;
            }
            if (run.owner == PAGE_OWNER_SLAB) {
                const struct slab *s = (const struct slab *)run.start;
                errors += check_slab(s, run.start, run.count);
                partial_found += s->free_objects > 0;
            }
            i += run.count;
        }
    }
    /* Every partial list: linked both ways, only slabs with room. */
    for (uint32_t k = 0; k < MM_SIZE_CLASSES; k++) {
        const struct slab *prev = NULL;

        for (const struct slab *s = caches[k].partial; s; s = s->next) {
            errors += s->prev != prev || s->class_index != k
                      || s->free_objects == 0;
            prev = s;
            if (++partial_listed > partial_found)
                return errors + 1; /* a cycle, or a stray slab */
        }
    }
    return errors + (partial_listed != partial_found);
}
