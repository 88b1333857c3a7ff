/*
 * The layers under the heap: size classes, the extent table, page runs
 * and spans. Extent tests use made-up addresses (the table never touches
 * the memory it describes); page tests use a real host arena.
 */
#include <mm/mm.h>
#include <stdint.h>
#include <string.h>

#include "harness.h"
#include "libos/mm/extent.h"
#include "libos/mm/fault.h"
#include "libos/mm/page.h"
#include "libos/mm/sizeclass.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static struct mm_stats stats(void)
{
    struct mm_stats s;

    memset(&s, 0, sizeof s);
    extent_stats(&s);
    return s;
}

/* ---- size classes ---------------------------------------------------- */

static void test_size_classes(void)
{
    for (size_t size = 1; size <= MM_SMALL_MAX; size++) {
        uint32_t c = size_class(size);
        uint32_t class_size = size_class_size(c);

        if (!CHECK(c < MM_SIZE_CLASSES))
            return;
        CHECK(class_size >= size);
        if (c > 0)
            CHECK(size_class_size(c - 1) < size); /* the smallest that fits */
        /* The waste promised in sizeclass.h. */
        if (size <= 128)
            CHECK(class_size - size < 16);
        else
            CHECK((class_size - size) * 5 < class_size);
    }
    for (uint32_t c = 0; c < MM_SIZE_CLASSES; c++) {
        CHECK_EQ(size_class(size_class_size(c)), c);
        CHECK_EQ(size_class_size(c) % 16, 0);
    }
    CHECK_EQ(size_class_size(0), 16);
    CHECK_EQ(size_class_size(7), 128);
    CHECK_EQ(size_class_size(8), 160);
    CHECK_EQ(size_class_size(MM_SIZE_CLASSES - 1), MM_SMALL_MAX);
    CHECK_EQ(size_class_bucket(MM_SMALL_MAX), MM_SIZE_CLASSES - 1);
    CHECK_EQ(size_class_bucket(MM_SMALL_MAX + 1), MM_SIZE_CLASSES);
}

/* ---- extents (made-up addresses) ------------------------------------- */

/* What QEMU's microvm reports with -m 128, and a small image at 1 MiB. */
static const struct mm_region qemu_ram[] = {
    {0x0, 0x9fc00},
    {0x100000, 0x7f00000},
};
static const struct mm_region qemu_reserved[] = {
    {0x9fc00, 0x400},   {0xd0000, 0x20000}, {0xf0000, 0x10000},
    {0x0, 0x100000},    /* below 1 MiB */
    {0x100000, 0x60000}, /* the image */
};

static void init(const struct mm_region *ram, size_t nram,
                 const struct mm_region *reserved, size_t nreserved)
{
    extent_init(ram, nram, reserved, nreserved);
    CHECK_EQ(extent_check(), 0);
}

static void test_extents_qemu_map(void)
{
    uintptr_t base = 0;

    init(qemu_ram, ARRAY_LEN(qemu_ram), qemu_reserved,
         ARRAY_LEN(qemu_reserved));
    /* 2 MiB .. 128 MiB: the image's extent and everything below go. */
    CHECK_EQ(stats().extents_total, 63);
    CHECK_EQ(stats().extents_free, 63);
    CHECK(extent_find(2 * MiB, &base) && base == 2 * MiB);
    CHECK(extent_find(2 * MiB + 12345, &base) && base == 2 * MiB);
    CHECK(extent_find(128 * MiB - 1, &base) && base == 126 * MiB);
    CHECK(!extent_find(2 * MiB - 1, &base));
    CHECK(!extent_find(128 * MiB, &base));
    CHECK(!extent_find(0, &base));
}

static void test_extents_image_crossing_2mib(void)
{
    const struct mm_region reserved[] = {{0, MiB}, {MiB, MiB + 4096}};

    init(qemu_ram, ARRAY_LEN(qemu_ram), reserved, ARRAY_LEN(reserved));
    uintptr_t base = 0;
    CHECK_EQ(stats().extents_total, 62);
    CHECK(!extent_find(2 * MiB, &base));
    CHECK(extent_find(4 * MiB, &base) && base == 4 * MiB);
}

static void test_extents_only_whole_aligned(void)
{
    const struct mm_region ram[] = {{3 * MiB + 4096, 6 * MiB - 4097}};
    uintptr_t base = 0;

    init(ram, 1, NULL, 0);
    /* [3 MiB + 4 KiB, 9 MiB - 1): only [4, 6) and [6, 8) are whole. */
    CHECK_EQ(stats().extents_total, 2);
    CHECK(extent_find(4 * MiB, &base) && base == 4 * MiB);
    CHECK(extent_find(7 * MiB, &base) && base == 6 * MiB);
    CHECK(!extent_find(8 * MiB, &base));
}

static void test_extents_never_at_zero(void)
{
    const struct mm_region ram[] = {{0, 8 * MiB}};
    uintptr_t base = 0;

    init(ram, 1, NULL, 0);
    CHECK_EQ(stats().extents_total, 3);
    CHECK(!extent_find(0, &base));
    CHECK(!extent_find(MiB, &base));
}

static void test_extents_reserved_hole(void)
{
    const struct mm_region ram[] = {{0, 16 * MiB}};
    const struct mm_region reserved[] = {{5 * MiB, 4096}, {9 * MiB, 0}};
    uintptr_t base = 0;

    init(ram, 1, reserved, ARRAY_LEN(reserved));
    /* 2, 6, 8, 10, 12, 14: the 4 MiB extent has a hole; empty ranges
     * reserve nothing. */
    CHECK_EQ(stats().extents_total, 6);
    CHECK(!extent_find(4 * MiB, &base));
    CHECK(extent_find(8 * MiB, &base));
}

static void test_extents_overlapping_unsorted(void)
{
    const struct mm_region ram[] = {
        {8 * MiB, 8 * MiB}, {2 * MiB, 8 * MiB}, {4 * MiB, 2 * MiB}};

    init(ram, ARRAY_LEN(ram), NULL, 0);
    CHECK_EQ(stats().extents_total, 7); /* [2, 16) once */
}

static void test_extents_window_limit(void)
{
    const struct mm_region ram[] = {{2 * MiB, UINT64_C(8) << 30}};
    uintptr_t base = 0;
    uintptr_t last = 2 * MiB + (uintptr_t)(EXTENT_MAX - 1) * EXTENT_SIZE;

    init(ram, 1, NULL, 0);
    CHECK_EQ(stats().extents_total, EXTENT_MAX);
    CHECK(extent_find(last, &base) && base == last);
    CHECK(!extent_find(last + EXTENT_SIZE, &base));
}

static void test_extents_wrapping_and_empty(void)
{
    const struct mm_region wraps[] = {{UINT64_MAX - 8 * MiB + 1, 16 * MiB}};

    /* Cut at 2^64: [2^64 - 8 MiB, 2^64 - 1) holds three whole extents. */
    init(wraps, 1, NULL, 0);
    CHECK_EQ(stats().extents_total, 3);

    init(NULL, 0, NULL, 0);
    CHECK_EQ(stats().extents_total, 0);
    CHECK_EQ(extent_take(MM_ROLE_HEAP, 1, EXTENT_POOL, OWNER_HEAP), 0);

    const struct mm_region all_reserved[] = {{0, UINT64_MAX}};
    init(qemu_ram, ARRAY_LEN(qemu_ram), all_reserved, 1);
    CHECK_EQ(stats().extents_total, 0);
}

static void test_extents_roles(void)
{
    init(qemu_ram, ARRAY_LEN(qemu_ram), qemu_reserved,
         ARRAY_LEN(qemu_reserved));
    uintptr_t io = extent_take(MM_ROLE_IO, 1, EXTENT_POOL, OWNER_HEAP);
    uintptr_t pt = extent_take(MM_ROLE_PAGE_TABLE, 1, EXTENT_POOL, OWNER_HEAP);
    uintptr_t heap = extent_take(MM_ROLE_HEAP, 1, EXTENT_POOL, OWNER_HEAP);
    uintptr_t stack = extent_take(MM_ROLE_STACK, 1, EXTENT_POOL, OWNER_HEAP);

    /* Kernel structures low, heap and stacks high. */
    CHECK_EQ(io, 2 * MiB);
    CHECK_EQ(pt, 4 * MiB);
    CHECK_EQ(heap, 126 * MiB);
    CHECK_EQ(stack, 124 * MiB);
    struct mm_stats s = stats();
    for (int r = 0; r < MM_ROLE_COUNT; r++)
        CHECK_EQ(s.roles[r].extents, 1);
    CHECK_EQ(s.extents_free, 59);

    uintptr_t base = 0;
    struct extent *e = extent_find(pt + 100, &base);
    CHECK(e && e->role == MM_ROLE_PAGE_TABLE && e->use == EXTENT_POOL);

    extent_release(io);
    CHECK_EQ(stats().roles[MM_ROLE_IO].extents, 0);
    CHECK_EQ(stats().extents_free, 60);
    CHECK_EQ(extent_take(MM_ROLE_IO, 1, EXTENT_POOL, OWNER_HEAP), 2 * MiB);
    CHECK_EQ(extent_check(), 0);

    /* Only spans may be longer than one extent; roles must exist. */
    CHECK_EQ(extent_take(MM_ROLE_HEAP, 2, EXTENT_POOL, OWNER_HEAP), 0);
    CHECK_EQ(extent_take(MM_ROLE_COUNT, 1, EXTENT_POOL, OWNER_HEAP), 0);
}

static void test_extents_spans(void)
{
    const struct mm_region ram[] = {{2 * MiB, 12 * MiB}}; /* 6 extents */
    uintptr_t one[6], base = 0;

    init(qemu_ram, ARRAY_LEN(qemu_ram), qemu_reserved,
         ARRAY_LEN(qemu_reserved));
    uintptr_t span = extent_take(MM_ROLE_HEAP, 3, EXTENT_SPAN, OWNER_HEAP);
    CHECK_EQ(span, 122 * MiB); /* the highest three */
    struct extent *tail = extent_find(span + 5 * MiB, &base);
    CHECK(tail && tail->use == EXTENT_SPAN_TAIL && base == span + 4 * MiB);
    struct extent *head = extent_find(span, &base);
    CHECK(head && head->use == EXTENT_SPAN && head->span == 3);
    CHECK_EQ(stats().roles[MM_ROLE_HEAP].extents, 3);
    CHECK_EQ(extent_check(), 0);
    extent_release(span);
    CHECK_EQ(stats().extents_free, 63);

    /* A span needs a contiguous free range. */
    init(ram, 1, NULL, 0);
    for (int i = 0; i < 6; i++)
        one[i] = extent_take(MM_ROLE_HEAP, 1, EXTENT_POOL, OWNER_HEAP);
    CHECK_EQ(extent_take(MM_ROLE_HEAP, 1, EXTENT_POOL, OWNER_HEAP), 0);
    extent_release(one[1]); /* highest first: one[1] is at 10 MiB */
    extent_release(one[3]);
    CHECK_EQ(extent_take(MM_ROLE_HEAP, 2, EXTENT_SPAN, OWNER_HEAP), 0);
    extent_release(one[2]);
    CHECK_EQ(extent_take(MM_ROLE_HEAP, 2, EXTENT_SPAN, OWNER_HEAP), 8 * MiB);
    CHECK_EQ(extent_check(), 0);
}

/*
 * mm_randomise: heap and stacks start at a usable extent drawn from the
 * seed, go down from it and wrap to the top; I/O stays at the bottom.
 */
static void test_extents_randomised(void)
{
    /* 2..128 MiB with a reserved hole at 40..50 MiB: 58 usable extents. */
    const struct mm_region hole[] = {{40 * MiB, 10 * MiB}};
    unsigned hits[64] = {0};
    const unsigned draws = 58 * 200;

    for (uint64_t seed = 0; seed < draws; seed++) {
        uintptr_t base = 0;

        extent_init(qemu_ram, ARRAY_LEN(qemu_ram), hole, ARRAY_LEN(hole));
        extent_randomise(seed);
        uintptr_t heap = extent_take(MM_ROLE_HEAP, 1, EXTENT_POOL, OWNER_HEAP);
        if (!CHECK(heap != 0 && extent_find(heap, &base) && base == heap))
            return;
        /* Never in the hole: origins are usable extents only. */
        CHECK(heap + 2 * MiB <= 40 * MiB || heap >= 50 * MiB);
        hits[heap / (2 * MiB)]++;
        if (seed < 64) {
            CHECK_EQ(extent_take(MM_ROLE_IO, 1, EXTENT_POOL, OWNER_HEAP),
                     heap == 2 * MiB ? 4 * MiB : 2 * MiB);
            CHECK_EQ(extent_check(), 0);
        }
    }
    /* Every usable extent is an origin about equally often (200 each). */
    unsigned used = 0;
    for (unsigned i = 0; i < 64; i++) {
        if (!hits[i])
            continue;
        used++;
        CHECK(hits[i] > 120 && hits[i] < 280);
    }
    CHECK_EQ(used, 58);

    /* Heap and stacks draw separately (with these seeds, apart). */
    unsigned apart = 0;
    for (uint64_t seed = 0; seed < 32; seed++) {
        extent_init(qemu_ram, ARRAY_LEN(qemu_ram), NULL, 0);
        extent_randomise(seed);
        uintptr_t heap = extent_take(MM_ROLE_HEAP, 1, EXTENT_POOL, OWNER_HEAP);
        uintptr_t stack =
            extent_take(MM_ROLE_STACK, 1, EXTENT_POOL, OWNER_HEAP);
        apart += stack != heap - 2 * MiB && stack != heap;
    }
    CHECK(apart >= 28);
}

/* Downwards from the origin, then from the top; spans may straddle it. */
static void test_extents_origin_wraps(void)
{
    const struct mm_region ram[] = {{2 * MiB, 12 * MiB}}; /* 2..14 MiB */
    uintptr_t got[6];

    /* Find a seed whose heap origin is the second extent (4 MiB). */
    uint64_t seed = 0;
    for (;; seed++) {
        extent_init(ram, 1, NULL, 0);
        extent_randomise(seed);
        if (extent_take(MM_ROLE_HEAP, 1, EXTENT_POOL, OWNER_HEAP) == 4 * MiB)
            break;
        if (!CHECK(seed < 1000))
            return;
    }
    extent_init(ram, 1, NULL, 0);
    extent_randomise(seed);
    for (int i = 0; i < 6; i++)
        got[i] = extent_take(MM_ROLE_HEAP, 1, EXTENT_POOL, OWNER_HEAP);
    CHECK_EQ(got[0], 4 * MiB);
    CHECK_EQ(got[1], 2 * MiB);
    CHECK_EQ(got[2], 12 * MiB); /* wrapped to the top */
    CHECK_EQ(got[3], 10 * MiB);
    CHECK_EQ(got[5], 6 * MiB);
    CHECK_EQ(extent_take(MM_ROLE_HEAP, 1, EXTENT_POOL, OWNER_HEAP), 0);

    /* Free 4 and 6 MiB: a two-extent span straddling the origin fits. */
    extent_release(got[0]);
    extent_release(got[5]);
    CHECK_EQ(extent_take(MM_ROLE_HEAP, 2, EXTENT_SPAN, OWNER_HEAP), 4 * MiB);
    CHECK_EQ(extent_check(), 0);
}

/* ---- page runs (real memory) ----------------------------------------- */

static struct mm_region arena;

static void page_setup(size_t mib)
{
    arena = harness_arena(mib);
    extent_init(&arena, 1, NULL, 0);
    fault_reset();
    harness_record_faults();
}

static bool all_zero(const void *p, size_t n)
{
    const unsigned char *b = p;

    for (size_t i = 0; i < n; i++)
        if (b[i])
            return false;
    return true;
}

static void test_pages_basic(void)
{
    page_setup(16);
    uintptr_t lo = arena.addr;

    uint8_t *p = mm_pages_alloc(MM_ROLE_IO, 1);
    /* The lowest extent; its page 0 is the page map. */
    CHECK_EQ((uintptr_t)p, lo + PAGE_SIZE);
    CHECK(all_zero(p, PAGE_SIZE));
    uint8_t *q = mm_pages_alloc(MM_ROLE_IO, 2);
    CHECK_EQ((uintptr_t)q, lo + 2 * PAGE_SIZE);
    CHECK(all_zero(q, 2 * PAGE_SIZE));
    memset(q, 0xff, 2 * PAGE_SIZE);

    struct mm_stats s = stats();
    CHECK_EQ(s.roles[MM_ROLE_IO].pages, 3);
    CHECK_EQ(s.roles[MM_ROLE_IO].extents, 1);

    /* The rest of the extent, then a second extent. */
    uint8_t *rest = mm_pages_alloc(MM_ROLE_IO, MM_PAGES_MAX - 3);
    CHECK_EQ((uintptr_t)rest, lo + 4 * PAGE_SIZE);
    uint8_t *next = mm_pages_alloc(MM_ROLE_IO, 1);
    CHECK_EQ((uintptr_t)next, lo + EXTENT_SIZE + PAGE_SIZE);
    CHECK_EQ(stats().roles[MM_ROLE_IO].extents, 2);
    CHECK_EQ(page_check(), 0);

    mm_pages_free(next);
    CHECK_EQ(stats().roles[MM_ROLE_IO].extents, 1); /* empty: given back */
    mm_pages_free(p);
    mm_pages_free(q);
    mm_pages_free(rest);
    s = stats();
    CHECK_EQ(s.roles[MM_ROLE_IO].pages, 0);
    CHECK_EQ(s.roles[MM_ROLE_IO].extents, 0);
    CHECK_EQ(s.extents_free, s.extents_total);
    CHECK_EQ(harness_faults.count, 0);
    CHECK_EQ(page_check() + extent_check(), 0);
}

static void test_pages_first_fit(void)
{
    page_setup(8);
    uintptr_t a = (uintptr_t)mm_pages_alloc(MM_ROLE_STACK, 4);
    uintptr_t b = (uintptr_t)mm_pages_alloc(MM_ROLE_STACK, 4);
    uintptr_t c = (uintptr_t)mm_pages_alloc(MM_ROLE_STACK, 4);

    CHECK(b == a + 4 * PAGE_SIZE && c == b + 4 * PAGE_SIZE);
    mm_pages_free((void *)b);
    uintptr_t d = (uintptr_t)mm_pages_alloc(MM_ROLE_STACK, 3);
    CHECK_EQ(d, b); /* into the hole */
    uintptr_t e = (uintptr_t)mm_pages_alloc(MM_ROLE_STACK, 2);
    CHECK_EQ(e, c + 4 * PAGE_SIZE); /* the one-page hole is too small */
    uintptr_t f = (uintptr_t)mm_pages_alloc(MM_ROLE_STACK, 1);
    CHECK_EQ(f, b + 3 * PAGE_SIZE);
    CHECK_EQ(page_check(), 0);
    CHECK_EQ(stats().roles[MM_ROLE_STACK].pages, 4 + 3 + 4 + 2 + 1);
}

static void test_pages_alignment(void)
{
    page_setup(8);
    void *a = page_run_take(MM_ROLE_HEAP, 3, 8, PAGE_OWNER_CLIENT);
    CHECK(a && (uintptr_t)a % (8 * PAGE_SIZE) == 0);
    void *b = page_run_take(MM_ROLE_HEAP, 256, 256, PAGE_OWNER_CLIENT);
    CHECK(b && (uintptr_t)b % MiB == 0);
    CHECK_EQ(stats().roles[MM_ROLE_HEAP].extents, 1); /* both in one */

    /* 300 pages at 1 MiB alignment cannot fit any extent. */
    CHECK(!page_run_take(MM_ROLE_HEAP, 300, 256, PAGE_OWNER_CLIENT));
    CHECK_EQ(stats().roles[MM_ROLE_HEAP].extents, 1); /* nothing leaked */
    CHECK(!page_run_take(MM_ROLE_HEAP, 1, 3, PAGE_OWNER_CLIENT));
    CHECK(!page_run_take(MM_ROLE_HEAP, 1, 512, PAGE_OWNER_CLIENT));
    CHECK(!page_run_take(MM_ROLE_HEAP, 1, 0, PAGE_OWNER_CLIENT));
    CHECK_EQ(page_check() + extent_check(), 0);
}

static void test_pages_limits(void)
{
    page_setup(8); /* 4 extents */
    CHECK(!mm_pages_alloc(MM_ROLE_IO, 0));
    CHECK(!mm_pages_alloc(MM_ROLE_IO, MM_PAGES_MAX + 1));
    CHECK(!mm_pages_alloc(MM_ROLE_COUNT, 1));

    void *full[4];
    for (int i = 0; i < 4; i++)
        CHECK((full[i] = mm_pages_alloc(MM_ROLE_IO, MM_PAGES_MAX)) != NULL);
    CHECK(!mm_pages_alloc(MM_ROLE_IO, 1)); /* out of memory */
    CHECK(!mm_pages_alloc(MM_ROLE_HEAP, 1));
    mm_pages_free(full[2]);
    CHECK(mm_pages_alloc(MM_ROLE_HEAP, 1) != NULL);
    CHECK_EQ(page_check() + extent_check(), 0);
}

static void test_pages_roles_apart(void)
{
    page_setup(16); /* 8 extents */
    uintptr_t io = (uintptr_t)mm_pages_alloc(MM_ROLE_IO, 1);
    uintptr_t pt = (uintptr_t)mm_pages_alloc(MM_ROLE_PAGE_TABLE, 1);
    uintptr_t stack = (uintptr_t)mm_pages_alloc(MM_ROLE_STACK, 1);
    uintptr_t heap = (uintptr_t)mm_pages_alloc(MM_ROLE_HEAP, 1);
    uintptr_t e = EXTENT_SIZE;

    CHECK_EQ(io / e, arena.addr / e);
    CHECK_EQ(pt / e, arena.addr / e + 1);
    CHECK_EQ(stack / e, arena.addr / e + 7); /* asked for first */
    CHECK_EQ(heap / e, arena.addr / e + 6);
    struct mm_stats s = stats();
    for (int r = 0; r < MM_ROLE_COUNT; r++) {
        CHECK_EQ(s.roles[r].pages, 1);
        CHECK_EQ(s.roles[r].extents, 1);
    }
}

static void test_pages_faults(void)
{
    int local;
    page_setup(8);
    uint8_t *two = mm_pages_alloc(MM_ROLE_IO, 2);
    uint8_t *one = mm_pages_alloc(MM_ROLE_IO, 1);
    void *large = page_run_take(MM_ROLE_IO, 1, 1, PAGE_OWNER_LARGE);
    void *span = mm_extents_alloc(MM_ROLE_IO, 1);
    uintptr_t map = (uintptr_t)two - PAGE_SIZE;
    struct mm_stats before = stats();

    mm_pages_free(NULL);
    CHECK_EQ(harness_faults.count, 0);
    mm_pages_free(two + PAGE_SIZE);
    CHECK_FAULT(MM_FAULT_INTERIOR, two + PAGE_SIZE, "mm_pages_free");
    mm_pages_free(two + 1);
    CHECK_FAULT(MM_FAULT_INTERIOR, two + 1, "mm_pages_free");
    mm_pages_free((void *)map);
    CHECK_FAULT(MM_FAULT_INTERIOR, (void *)map, "mm_pages_free");
    mm_pages_free(&local);
    CHECK_FAULT(MM_FAULT_FOREIGN, &local, "mm_pages_free");
    mm_pages_free((void *)(arena.addr + arena.size));
    CHECK_FAULT(MM_FAULT_FOREIGN, (void *)(arena.addr + arena.size),
                "mm_pages_free");
    mm_pages_free(large);
    CHECK_FAULT(MM_FAULT_FOREIGN, large, "mm_pages_free");
    mm_pages_free(span);
    CHECK_FAULT(MM_FAULT_FOREIGN, span, "mm_pages_free");
    struct mm_stats after = stats();
    CHECK(memcmp(&before, &after, sizeof before) == 0); /* untouched */

    mm_pages_free(one);
    CHECK_EQ(harness_faults.count, 0);
    mm_pages_free(one);
    CHECK_FAULT(MM_FAULT_DOUBLE_FREE, one, "mm_pages_free");
    /* A page of an extent that is free altogether. */
    uint8_t *nowhere = (uint8_t *)(arena.addr + arena.size - PAGE_SIZE);
    mm_pages_free(nowhere);
    CHECK_FAULT(MM_FAULT_DOUBLE_FREE, nowhere, "mm_pages_free");
    CHECK_EQ(fault_count(), 9);
    CHECK_EQ(page_check() + extent_check(), 0);
}

static void test_extents_api(void)
{
    page_setup(16);
    uint8_t *p = mm_extents_alloc(MM_ROLE_IO, 2);
    void *page = mm_pages_alloc(MM_ROLE_IO, 1);

    CHECK(p && (uintptr_t)p % EXTENT_SIZE == 0);
    CHECK(all_zero(p, 2 * EXTENT_SIZE));
    struct mm_stats s = stats();
    CHECK_EQ(s.roles[MM_ROLE_IO].extents, 3);
    CHECK_EQ(s.roles[MM_ROLE_IO].pages, 2 * PAGES_PER_EXTENT + 1);

    mm_extents_free(p + EXTENT_SIZE);
    CHECK_FAULT(MM_FAULT_INTERIOR, p + EXTENT_SIZE, "mm_extents_free");
    mm_extents_free(p + 8);
    CHECK_FAULT(MM_FAULT_INTERIOR, p + 8, "mm_extents_free");
    mm_extents_free(page);
    CHECK_FAULT(MM_FAULT_FOREIGN, page, "mm_extents_free");
    mm_extents_free(p);
    CHECK_EQ(harness_faults.count, 0);
    CHECK_EQ(stats().roles[MM_ROLE_IO].extents, 1);
    mm_extents_free(p);
    CHECK_FAULT(MM_FAULT_DOUBLE_FREE, p, "mm_extents_free");
    mm_extents_free(NULL);
    CHECK_EQ(harness_faults.count, 0);

    CHECK(!mm_extents_alloc(MM_ROLE_IO, 0));
    CHECK(!mm_extents_alloc(MM_ROLE_IO, 9)); /* only 8 in the arena */
    CHECK(!mm_extents_alloc(MM_ROLE_COUNT, 1));
    CHECK_EQ(page_check() + extent_check(), 0);
}

int main(void)
{
    RUN(test_size_classes);
    RUN(test_extents_qemu_map);
    RUN(test_extents_image_crossing_2mib);
    RUN(test_extents_only_whole_aligned);
    RUN(test_extents_never_at_zero);
    RUN(test_extents_reserved_hole);
    RUN(test_extents_overlapping_unsorted);
    RUN(test_extents_window_limit);
    RUN(test_extents_wrapping_and_empty);
    RUN(test_extents_roles);
    RUN(test_extents_spans);
    RUN(test_extents_randomised);
    RUN(test_extents_origin_wraps);
    RUN(test_pages_basic);
    RUN(test_pages_first_fit);
    RUN(test_pages_alignment);
    RUN(test_pages_limits);
    RUN(test_pages_roles_apart);
    RUN(test_pages_faults);
    RUN(test_extents_api);
    return check_finish();
}
