/*
 * Spans of whole extents: huge malloc blocks, mm_extents_alloc(), and the
 * extent-level part of checking a heap pointer.
 */
#include <mm/mm.h>
#include <stdint.h>
#include <string.h>

#include "backend.h"
#include "extent.h"
#include "fault.h"
#include "span.h"

/* Extents needed for `size` bytes, or 0 if more than the window holds. */
static uint32_t extents_for(size_t size)
{
    size_t n = size / EXTENT_SIZE + (size % EXTENT_SIZE != 0);

    return n == 0 || n > EXTENT_MAX ? 0 : (uint32_t)n;
}

static void *take(enum mm_role role, uint32_t count, enum extent_owner owner)
{
    uintptr_t base = extent_take(role, count, EXTENT_SPAN, owner);

    if (!base)
        return NULL;
    extent_count_pages(role, (int64_t)count * PAGES_PER_EXTENT);
    return (void *)base;
}

static void release(uintptr_t base, const struct extent *e)
{
    extent_count_pages(e->role, -(int64_t)e->span * PAGES_PER_EXTENT);
    extent_release(base);
}

void *span_alloc(size_t size, size_t align)
{
    uint32_t count = extents_for(size);

    if (count == 0 || align > EXTENT_SIZE)
        return NULL;
    return take(MM_ROLE_HEAP, count, OWNER_HEAP);
}

enum mm_fault heap_extent(uintptr_t p, struct extent **e, uintptr_t *base)
{
    struct extent *found = extent_find(p, base);

    if (!found)
        return MM_FAULT_FOREIGN;
    if (found->use == EXTENT_FREE)
        return MM_FAULT_DOUBLE_FREE;
    if (found->role != MM_ROLE_HEAP)
        return MM_FAULT_FOREIGN;
    if ((found->use == EXTENT_SPAN || found->use == EXTENT_SPAN_TAIL)
        && found->owner != OWNER_HEAP)
        return MM_FAULT_FOREIGN;
    *e = found;
    return MM_FAULT_NONE;
}

enum mm_fault span_find(uintptr_t p, const struct extent *e, uintptr_t base,
                        struct block *b)
{
    if (e->use != EXTENT_SPAN || p != base)
        return MM_FAULT_INTERIOR;
    *b = (struct block){
        .ptr = (void *)p,
        .usable = (size_t)e->span * EXTENT_SIZE,
        .kind = BLOCK_SPAN,
        .meta = NULL,
    };
    return MM_FAULT_NONE;
}

void span_free(const struct block *b)
{
    uintptr_t base;
    const struct extent *e = extent_find((uintptr_t)b->ptr, &base);

    release(base, e);
}

void *mm_extents_alloc(enum mm_role role, size_t count)
{
    if ((unsigned)role >= MM_ROLE_COUNT || count == 0 || count > EXTENT_MAX)
        return NULL;
    void *p = take(role, (uint32_t)count, OWNER_CLIENT);
    if (p)
        memset(p, 0, count * EXTENT_SIZE);
    return p;
}

void mm_extents_free(void *extents)
{
    uintptr_t p = (uintptr_t)extents, base;
    const struct extent *e;

    if (!extents)
        return;
    e = extent_find(p, &base);
    if (!e)
        fault_report(MM_FAULT_FOREIGN, extents, "mm_extents_free");
    else if (e->use == EXTENT_FREE)
        fault_report(MM_FAULT_DOUBLE_FREE, extents, "mm_extents_free");
    else if ((e->use != EXTENT_SPAN && e->use != EXTENT_SPAN_TAIL)
             || e->owner != OWNER_CLIENT)
        fault_report(MM_FAULT_FOREIGN, extents, "mm_extents_free");
    else if (e->use != EXTENT_SPAN || p != base)
        fault_report(MM_FAULT_INTERIOR, extents, "mm_extents_free");
    else
        release(base, e);
}
