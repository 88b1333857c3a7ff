/*
 * The extent table: which 2 MiB extents exist, and who holds each one.
 */
#include <mm/mm.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "extent.h"
#include "fault.h"

static struct extent table[EXTENT_MAX];
static uintptr_t window;  /* address of table[0] */
static uint32_t slots;    /* entries in use: highest usable index + 1 */
static uint32_t total;    /* entries that are not EXTENT_ABSENT */
static uint32_t free_count;
static uint32_t role_extents[MM_ROLE_COUNT];
static uint64_t role_pages[MM_ROLE_COUNT];
/*
 * Top-down roles (heap, stacks): the index where their search starts. The
 * top of the window unless extent_randomise() drew another.
 */
static uint32_t origin[MM_ROLE_COUNT];

/*
 * I/O and page-table extents come from the bottom of memory, heap and
 * stacks from the top (or, once randomised, downwards from a random
 * extent): the long-lived kernel structures then sit together, and the
 * free range between them stays contiguous for big heap spans.
 */
static bool low_first(enum mm_role role)
{
    return role == MM_ROLE_IO || role == MM_ROLE_PAGE_TABLE;
}

static uint64_t end_of(const struct mm_region *r)
{
    /* A region that runs past the top of the address space is cut there. */
    return r->size > UINT64_MAX - r->addr ? UINT64_MAX : r->addr + r->size;
}

/*
 * The reserved region overlapping [base, base + EXTENT_SIZE) that ends
 * highest, or NULL if none does.
 */
static const struct mm_region *blocker(uint64_t base,
                                       const struct mm_region *reserved,
                                       size_t count)
{
    const struct mm_region *worst = NULL;

    for (size_t i = 0; i < count; i++) {
        const struct mm_region *r = &reserved[i];

        if (r->size == 0 || r->addr >= base + EXTENT_SIZE
            || end_of(r) <= base)
            continue;
        if (!worst || end_of(r) > end_of(worst))
            worst = r;
    }
    return worst;
}

/*
 * The lowest usable extent base >= from inside [from, end), or 0 if none.
 * Jumps over reserved regions, so a huge region costs few steps.
 */
static uint64_t next_usable(uint64_t from, uint64_t end,
                            const struct mm_region *reserved, size_t count)
{
    uint64_t base = from;

    /* Never the extent at 0: a block there could be NULL. */
    if (base < EXTENT_SIZE)
        base = EXTENT_SIZE;
    for (;;) {
        if (base > UINT64_MAX - (EXTENT_SIZE - 1))
            return 0;
        base = (base + EXTENT_SIZE - 1) & ~(uint64_t)(EXTENT_SIZE - 1);
        if (base > end || end - base < EXTENT_SIZE)
            return 0;
        const struct mm_region *r = blocker(base, reserved, count);
        if (!r)
            return base;
        if (end_of(r) == UINT64_MAX)
            return 0;
        base = end_of(r);
    }
}

void extent_init(const struct mm_region *ram, size_t ram_count,
                 const struct mm_region *reserved, size_t reserved_count)
{
    memset(table, 0, sizeof table);
    memset(role_extents, 0, sizeof role_extents);
    memset(role_pages, 0, sizeof role_pages);
    window = 0;
    slots = total = free_count = 0;

    /* The window starts at the lowest usable extent of any region. */
    uint64_t lowest = 0;
    for (size_t i = 0; i < ram_count; i++) {
        uint64_t b = next_usable(ram[i].addr, end_of(&ram[i]), reserved,
                                 reserved_count);
        if (b && (!lowest || b < lowest))
            lowest = b;
    }
    if (!lowest)
        return;
    window = (uintptr_t)lowest;

    for (size_t i = 0; i < ram_count; i++) {
        uint64_t end = end_of(&ram[i]);

        for (uint64_t b = next_usable(ram[i].addr, end, reserved,
                                      reserved_count);
             b; b = next_usable(b + EXTENT_SIZE, end, reserved,
                                reserved_count)) {
            uint64_t index = (b - lowest) >> EXTENT_SHIFT;

            if (index >= EXTENT_MAX)
                break; /* beyond the window: ignored */
            /* Overlapping RAM entries must not count an extent twice. */
            if (table[index].use != EXTENT_ABSENT)
                continue;
            table[index].use = EXTENT_FREE;
            total++;
            free_count++;
            if (index + 1 > slots)
                slots = (uint32_t)index + 1;
        }
    }
    for (int r = 0; r < MM_ROLE_COUNT; r++)
        origin[r] = slots - 1;
}

/* A 64-bit mixer (the splitmix64 finaliser): one seed, several draws. */
static uint64_t mix(uint64_t x)
{
    x ^= x >> 30;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27;
    x *= UINT64_C(0x94d049bb133111eb);
    return x ^ (x >> 31);
}

void extent_randomise(uint64_t seed)
{
    for (int r = 0; r < MM_ROLE_COUNT; r++) {
        if (low_first((enum mm_role)r) || total == 0)
            continue;
        /*
         * The k-th usable extent, k uniform in [0, total): the modulo bias
         * is below total / 2^64, nothing next to log2(total) bits.
         */
        uint64_t k = mix(seed + (uint64_t)r * UINT64_C(0x9e3779b97f4a7c15))
                     % total;
        for (uint32_t i = 0; i < slots; i++) {
            if (table[i].use == EXTENT_ABSENT)
                continue;
            if (k-- == 0) {
                origin[r] = i;
                break;
            }
        }
    }
}

uint32_t extent_usable_count(void)
{
    return total;
}

static uintptr_t base_of(uint32_t index)
{
    return window + ((uintptr_t)index << EXTENT_SHIFT);
}

/* The first index of the highest free run of `count` in [lo, hi], or -1. */
static int64_t highest_run(uint32_t lo, uint32_t hi, uint32_t count)
{
    uint32_t run = 0;

    for (uint32_t i = hi + 1; i-- > lo;) {
        run = table[i].use == EXTENT_FREE ? run + 1 : 0;
        if (run == count)
            return i;
    }
    return -1;
}

/* Index of the first entry of a free run of `count`, or -1. */
static int64_t find_free_run(enum mm_role role, uint32_t count)
{
    uint32_t run = 0;

    if (count == 0 || count > slots)
        return -1;
    if (low_first(role)) {
        for (uint32_t i = 0; i < slots; i++) {
            run = table[i].use == EXTENT_FREE ? run + 1 : 0;
            if (run == count)
                return (int64_t)i + 1 - count;
        }
        return -1;
    }
    /*
     * Top-down from the role's origin: the highest run at or below it,
     * else the highest above it, else one that straddles it.
     */
    uint32_t o = origin[role];
    int64_t found = highest_run(0, o, count);
    if (found < 0 && o + 1 < slots)
        found = highest_run(o + 1, slots - 1, count);
    if (found < 0)
        found = highest_run(0, slots - 1, count);
    return found;
}

uintptr_t extent_take(enum mm_role role, uint32_t count,
                      enum extent_use use, enum extent_owner owner)
{
    if ((unsigned)role >= MM_ROLE_COUNT || (use != EXTENT_SPAN && count != 1))
        return 0;
    int64_t first = find_free_run(role, count);
    if (first < 0)
        return 0;

    for (uint32_t i = 0; i < count; i++) {
        struct extent *e = &table[first + i];

        *e = (struct extent){
            .use = i == 0 ? (uint8_t)use : EXTENT_SPAN_TAIL,
            .role = (uint8_t)role,
            .owner = (uint8_t)owner,
            .span = i == 0 ? (use == EXTENT_SPAN ? count : 1)
                           : (uint32_t)first,
        };
    }
    free_count -= count;
    role_extents[role] += count;
    return base_of((uint32_t)first);
}

void extent_release(uintptr_t base)
{
    uint32_t first = (uint32_t)((base - window) >> EXTENT_SHIFT);
    struct extent *head = &table[first];
    uint32_t count = head->use == EXTENT_SPAN ? head->span : 1;
    enum mm_role role = head->role;

    for (uint32_t i = 0; i < count; i++)
        table[first + i] = (struct extent){.use = EXTENT_FREE};
    free_count += count;
    role_extents[role] -= count;
}

struct extent *extent_find(uintptr_t addr, uintptr_t *base)
{
    if (addr < window || slots == 0)
        return NULL;
    uintptr_t index = (addr - window) >> EXTENT_SHIFT;
    if (index >= slots || table[index].use == EXTENT_ABSENT)
        return NULL;
    *base = base_of((uint32_t)index);
    return &table[index];
}

struct extent *extent_next(enum mm_role role, enum extent_use use,
                           uint32_t *cursor, uintptr_t *base)
{
    while (*cursor < slots) {
        /* Top-down roles: from their origin down, then from the top. */
        uint32_t i = low_first(role)
                         ? *cursor
                         : (origin[role] + slots - *cursor) % slots;

        ++*cursor;
        if (table[i].use == use && table[i].role == role) {
            *base = base_of(i);
            return &table[i];
        }
    }
    return NULL;
}

void extent_count_pages(enum mm_role role, int64_t delta)
{
    role_pages[role] += (uint64_t)delta; /* wraps back for negative deltas */
}

void extent_stats(struct mm_stats *stats)
{
    for (int r = 0; r < MM_ROLE_COUNT; r++) {
        stats->roles[r].pages = role_pages[r];
        stats->roles[r].extents = role_extents[r];
    }
    stats->extents_total = total;
    stats->extents_free = free_count;
}

size_t extent_check(void)
{
    size_t errors = 0;
    uint32_t seen_free = 0, seen_total = 0;
    uint32_t held[MM_ROLE_COUNT] = {0};

    for (uint32_t i = 0; i < slots; i++) {
        const struct extent *e = &table[i];

        if (e->use == EXTENT_ABSENT)
            continue;
        seen_total++;
        if (e->use == EXTENT_FREE) {
            seen_free++;
            continue;
        }
        if (e->role >= MM_ROLE_COUNT) {
            errors++;
            continue;
        }
        held[e->role]++;
        if (e->use == EXTENT_SPAN) {
            /* Every tail must point back here and share the role. */
            if (e->span == 0 || e->span > slots - i)
                errors++;
            for (uint32_t k = 1; k < e->span && i + k < slots; k++) {
                const struct extent *t = &table[i + k];
                if (t->use != EXTENT_SPAN_TAIL || t->span != i
                    || t->role != e->role)
                    errors++;
            }
        } else if (e->use == EXTENT_SPAN_TAIL) {
            if (e->span >= i || table[e->span].use != EXTENT_SPAN
                || i - e->span >= table[e->span].span)
                errors++;
        }
    }
    if (seen_free != free_count || seen_total != total)
        errors++;
    for (int r = 0; r < MM_ROLE_COUNT; r++)
        if (held[r] != role_extents[r])
            errors++;
    return errors;
}

const char *mm_role_name(enum mm_role role)
{
    switch (role) {
    case MM_ROLE_HEAP: return "heap";
    case MM_ROLE_IO: return "io";
    case MM_ROLE_PAGE_TABLE: return "page-table";
    case MM_ROLE_STACK: return "stack";
    default: return "?";
    }
}
