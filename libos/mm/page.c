/*
 * Page runs: a page map per extent, first-fit search, and the public
 * mm_pages_alloc()/mm_pages_free().
 */
#include <mm/mm.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "extent.h"
#include "fault.h"
#include "page.h"

#define MAP_WORDS (PAGES_PER_EXTENT / 64)

/* Page 0 of every EXTENT_PAGES extent. */
struct page_map {
    uint64_t free[MAP_WORDS]; /* bit set: page free */
    struct page_desc desc[PAGES_PER_EXTENT];
};
_Static_assert(sizeof(struct page_map) <= PAGE_SIZE, "page map fits page 0");

static struct page_map *map_of(uintptr_t ext_base)
{
    return (struct page_map *)ext_base;
}

static bool page_free(const struct page_map *m, uint32_t i)
{
    return (m->free[i / 64] >> (i % 64)) & 1;
}

static void set_free(struct page_map *m, uint32_t i, bool is_free)
{
    uint64_t bit = UINT64_C(1) << (i % 64);

    m->free[i / 64] = is_free ? m->free[i / 64] | bit : m->free[i / 64] & ~bit;
}

static void map_init(struct page_map *m)
{
    memset(m, 0, sizeof *m);
    for (uint32_t i = 1; i < PAGES_PER_EXTENT; i++)
        set_free(m, i, true);
    m->desc[0].kind = PAGE_MAP;
}

static uint32_t align_up32(uint32_t x, uint32_t align)
{
    return (x + align - 1) & ~(align - 1);
}

/*
 * First index of `count` free pages starting at a multiple of `align`,
 * or 0 (page 0 is never free). One pass: `start` is the earliest aligned
 * index after the last used page seen.
 */
static uint32_t find_run(const struct page_map *m, uint32_t count,
                         uint32_t align)
{
    uint32_t start = align_up32(1, align);

    for (uint32_t i = 1; i < PAGES_PER_EXTENT; i++) {
        if (!page_free(m, i)) {
            start = align_up32(i + 1, align);
            continue;
        }
        if (i >= start && i + 1 - start >= count)
            return start;
    }
    return 0;
}

static void claim(struct extent *e, uintptr_t base, uint32_t first,
                  uint32_t count, enum page_owner owner)
{
    struct page_map *m = map_of(base);

    for (uint32_t i = 0; i < count; i++) {
        m->desc[first + i] = (struct page_desc){
            .kind = i == 0 ? PAGE_HEAD : PAGE_TAIL,
            .owner = (uint8_t)owner,
            .value = (uint16_t)(i == 0 ? count : first),
        };
        set_free(m, first + i, false);
    }
    e->free_pages -= (uint16_t)count;
    extent_count_pages(e->role, count);
}

void *page_run_take(enum mm_role role, uint32_t count, uint32_t align_pages,
                    enum page_owner owner)
{
    uint32_t cursor = 0;
    uintptr_t base;
    struct extent *e;

    if (count == 0 || count > MM_PAGES_MAX || align_pages == 0
        || align_pages > PAGES_PER_EXTENT / 2
        || (align_pages & (align_pages - 1)))
        return NULL;
    while ((e = extent_next(role, EXTENT_PAGES, &cursor, &base))) {
        if (e->free_pages < count)
            continue;
        uint32_t first = find_run(map_of(base), count, align_pages);
        if (first) {
            claim(e, base, first, count, owner);
            return (void *)(base + first * PAGE_SIZE);
        }
    }

    base = extent_take(role, 1, EXTENT_PAGES, OWNER_HEAP);
    if (!base)
        return NULL;
    e = extent_find(base, &base);
    e->free_pages = MM_PAGES_MAX;
    map_init(map_of(base));
    uint32_t first = find_run(map_of(base), count, align_pages);
    if (!first) {
        /* Even an empty extent cannot fit it at that alignment. */
        extent_release(base);
        return NULL;
    }
    claim(e, base, first, count, owner);
    return (void *)(base + first * PAGE_SIZE);
}

void page_run_release(uintptr_t start)
{
    uintptr_t base;
    struct extent *e = extent_find(start, &base);
    struct page_map *m = map_of(base);
    uint32_t first = (uint32_t)((start - base) >> PAGE_SHIFT);
    uint32_t count = m->desc[first].value;

    for (uint32_t i = 0; i < count; i++) {
        m->desc[first + i] = (struct page_desc){.kind = PAGE_FREE};
        set_free(m, first + i, true);
    }
    e->free_pages += (uint16_t)count;
    extent_count_pages(e->role, -(int64_t)count);
    if (e->free_pages == MM_PAGES_MAX)
        extent_release(base);
}

struct page_run page_run_find(uintptr_t ext_base, uintptr_t addr)
{
    const struct page_map *m = map_of(ext_base);
    uint32_t i = (uint32_t)((addr - ext_base) >> PAGE_SHIFT);
    struct page_desc d = m->desc[i];
    struct page_run run = {.kind = (enum page_kind)d.kind};

    if (d.kind == PAGE_TAIL) {
        i = d.value;
        d = m->desc[i];
    }
    if (run.kind == PAGE_HEAD || run.kind == PAGE_TAIL) {
        run.owner = (enum page_owner)d.owner;
        run.start = ext_base + i * PAGE_SIZE;
        run.count = d.value;
    }
    return run;
}

/* Check one page map against its extent entry. */
static size_t check_map(const struct extent *e, uintptr_t base)
{
    const struct page_map *m = map_of(base);
    size_t errors = 0;
    uint32_t free_pages = 0;

    if (m->desc[0].kind != PAGE_MAP || page_free(m, 0))
        errors++;
    for (uint32_t i = 1; i < PAGES_PER_EXTENT;) {
        const struct page_desc *d = &m->desc[i];

        if (d->kind == PAGE_FREE) {
            errors += !page_free(m, i);
            free_pages++;
            i++;
            continue;
        }
        if (d->kind != PAGE_HEAD || d->value == 0
            || d->value > PAGES_PER_EXTENT - i) {
            errors++;
            i++;
            continue;
        }
        for (uint32_t k = 0; k < d->value; k++) {
            const struct page_desc *t = &m->desc[i + k];
            errors += page_free(m, i + k);
            errors += t->owner != d->owner;
            if (k > 0)
                errors += t->kind != PAGE_TAIL || t->value != i;
        }
        i += d->value;
    }
    errors += free_pages != e->free_pages;
    /* An extent with nothing in it should have gone back to the pool. */
    errors += free_pages == MM_PAGES_MAX;
    return errors;
}

size_t page_check(void)
{
    size_t errors = 0;

    for (int role = 0; role < MM_ROLE_COUNT; role++) {
        uint32_t cursor = 0;
        uintptr_t base;
        const struct extent *e;

        while ((e = extent_next((enum mm_role)role, EXTENT_PAGES, &cursor,
                                &base)))
            errors += check_map(e, base);
    }
    return errors;
}

void *mm_pages_alloc(enum mm_role role, size_t count)
{
    if ((unsigned)role >= MM_ROLE_COUNT || count == 0 || count > MM_PAGES_MAX)
        return NULL;
    void *p = page_run_take(role, (uint32_t)count, 1, PAGE_OWNER_CLIENT);
    if (p)
        memset(p, 0, count * PAGE_SIZE);
    return p;
}

void mm_pages_free(void *pages)
{
    uintptr_t p = (uintptr_t)pages, base;
    const struct extent *e;

    if (!pages)
        return;
    e = extent_find(p, &base);
    if (!e || (e->use != EXTENT_PAGES && e->use != EXTENT_FREE)) {
        fault_report(MM_FAULT_FOREIGN, pages, "mm_pages_free");
        return;
    }
    if (e->use == EXTENT_FREE) {
        fault_report(MM_FAULT_DOUBLE_FREE, pages, "mm_pages_free");
        return;
    }
    struct page_run run = page_run_find(base, p);
    switch (run.kind) {
    case PAGE_FREE:
        fault_report(MM_FAULT_DOUBLE_FREE, pages, "mm_pages_free");
        return;
    case PAGE_MAP:
        fault_report(MM_FAULT_INTERIOR, pages, "mm_pages_free");
        return;
    default:
        break;
    }
    if (run.owner != PAGE_OWNER_CLIENT)
        fault_report(MM_FAULT_FOREIGN, pages, "mm_pages_free");
    else if (run.start != p)
        fault_report(MM_FAULT_INTERIOR, pages, "mm_pages_free");
    else
        page_run_release(p);
}
