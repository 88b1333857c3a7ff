/*
 * What is particular to the slab allocator: the shape of each cache,
 * object placement and reuse, slabs going back to the page allocator,
 * alignment routing and large page runs. Black-box where possible: the
 * shapes are measured through the statistics, not read from slab.c.
 */
#include <mm/mm.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "harness.h"

static struct mm_region arena;

static void setup(void)
{
    arena = harness_arena(16);
    mm_init_regions(&arena, 1, NULL, 0);
    harness_record_faults();
}

static uint64_t heap_pages(void)
{
    struct mm_stats s;

    mm_stats(&s);
    return s.roles[MM_ROLE_HEAP].pages;
}

static uint64_t heap_extents(void)
{
    struct mm_stats s;

    mm_stats(&s);
    return s.roles[MM_ROLE_HEAP].extents;
}

/* For every class: pages per slab, objects per slab, waste <= 1/16. */
static void test_cache_shapes(void)
{
    struct mm_stats s;
    static void *objects[600];

    mm_stats(&s);
    for (int c = 0; c < MM_SIZE_CLASSES; c++) {
        uint32_t size = s.classes[c].size;
        size_t n = 0;

        setup();
        objects[n++] = mm_malloc(size);
        uint64_t pages = heap_pages();
        while (n < 600 && heap_pages() == pages)
            objects[n++] = mm_malloc(size);
        size_t capacity = n - 1; /* the last one started a second slab */

        CHECK(pages == 1 || pages == 2 || pages == 4 || pages == 8);
        CHECK_EQ(heap_pages(), 2 * pages);
        CHECK(capacity >= 1 && capacity <= 256);
        uint64_t bytes = pages * MM_PAGE_SIZE;
        CHECK(64 + capacity * size <= bytes);
        CHECK((bytes - capacity * size) * 16 <= bytes);
        /* One slab: consecutive objects after a 64-byte header. */
        CHECK_EQ((uintptr_t)objects[0] % MM_PAGE_SIZE, 64);
        for (size_t i = 1; i < capacity; i++)
            CHECK_EQ((uintptr_t)objects[i], (uintptr_t)objects[0] + i * size);
        for (size_t i = 0; i < n; i++)
            mm_free(objects[i]);
        CHECK_EQ(heap_pages(), 0);
        CHECK_EQ(mm_check(), 0);
    }
}

static void test_lowest_free_object_first(void)
{
    uint8_t *p[10];

    setup();
    for (int i = 0; i < 10; i++)
        p[i] = mm_malloc(64);
    mm_free(p[3]);
    mm_free(p[7]);
    CHECK(mm_malloc(60) == p[3]);
    CHECK(mm_malloc(64) == p[7]);
    CHECK_EQ(mm_check(), 0);
}

static void test_empty_slabs_go_back(void)
{
    void *a[63], *extra;

    setup();
    for (int i = 0; i < 63; i++) /* exactly one slab of 64-byte objects */
        a[i] = mm_malloc(64);
    CHECK_EQ(heap_pages(), 1);
    extra = mm_malloc(64);
    CHECK_EQ(heap_pages(), 2);
    mm_free(extra);
    CHECK_EQ(heap_pages(), 1);
    for (int i = 0; i < 63; i++)
        mm_free(a[i]);
    CHECK_EQ(heap_pages(), 0);
    CHECK_EQ(heap_extents(), 0);
}

static void test_alignment_routing(void)
{
    setup();
    /* Alignments up to 64 are served by classes that are multiples. */
    void *a32 = mm_aligned_alloc(32, 20), *a32b = mm_aligned_alloc(32, 33);
    void *a64 = mm_aligned_alloc(64, 65), *a64b = mm_aligned_alloc(64, 129);
    void *a128 = mm_aligned_alloc(128, 10);

    CHECK_EQ(mm_usable_size(a32), 32);
    CHECK_EQ(mm_usable_size(a32b), 64); /* not 48 */
    CHECK_EQ(mm_usable_size(a64), 128);
    CHECK_EQ(mm_usable_size(a64b), 192);
    CHECK((uintptr_t)a32 % 32 == 0 && (uintptr_t)a32b % 32 == 0);
    CHECK((uintptr_t)a64 % 64 == 0 && (uintptr_t)a64b % 64 == 0);
    /* Beyond 64: a page of its own. */
    CHECK_EQ(mm_usable_size(a128), MM_PAGE_SIZE);
    CHECK_EQ((uintptr_t)a128 % MM_PAGE_SIZE, 0);
    CHECK_EQ(mm_check(), 0);
}

static void test_large_blocks(void)
{
    setup();
    void *two = mm_malloc(5000);
    void *run = mm_malloc(MM_PAGES_MAX * MM_PAGE_SIZE);
    void *span = mm_malloc(MM_PAGES_MAX * MM_PAGE_SIZE + 1);
    void *aligned = mm_aligned_alloc(1 << 20, 300 * MM_PAGE_SIZE);

    CHECK_EQ(mm_usable_size(two), 2 * MM_PAGE_SIZE);
    CHECK_EQ((uintptr_t)two % MM_PAGE_SIZE, 0);
    CHECK_EQ(mm_usable_size(run), MM_PAGES_MAX * MM_PAGE_SIZE);
    CHECK_EQ(mm_usable_size(span), MM_EXTENT_SIZE);
    CHECK_EQ((uintptr_t)span % MM_EXTENT_SIZE, 0);
    /* 300 pages at 1 MiB do not fit an extent's page runs: a span. */
    CHECK_EQ(mm_usable_size(aligned), MM_EXTENT_SIZE);
    CHECK_EQ((uintptr_t)aligned % (1 << 20), 0);
    CHECK_EQ(mm_check(), 0);
}

static void test_slab_interior_pointers(void)
{
    setup();
    uint8_t *obj = mm_malloc(256); /* 15 objects after the header */
    uint8_t *slab = obj - 64;
    uint8_t *tail = slab + 64 + 15 * 256; /* the unused end of the slab */
    uint8_t *bad[] = {obj + 8, obj + 255, slab, slab + 32, tail};

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mm_free(bad[i]);
        CHECK_FAULT(MM_FAULT_INTERIOR, bad[i], "free");
    }
    /* A free object of a live slab: never allocated, or freed. */
    mm_free(obj + 256);
    CHECK_FAULT(MM_FAULT_DOUBLE_FREE, obj + 256, "free");
    CHECK_EQ(mm_check(), 0);
}

static void test_realloc_between_classes(void)
{
    setup();
    uint8_t *p = mm_malloc(100);
    memset(p, 7, 100);
    CHECK(mm_realloc(p, 50) == p);     /* small blocks stay */
    uint8_t *q = mm_realloc(p, 2000); /* another class: moves */
    CHECK(q != p && q[49] == 7);
    CHECK(mm_realloc(q, 1500) == q); /* keeps more than half */
    uint8_t *r = mm_realloc(q, 100); /* would waste most of it */
    CHECK(r != q && r[0] == 7 && mm_usable_size(r) == 112);
    mm_free(r);
    CHECK_EQ(heap_pages(), 0);
}

/* ---- corrupted headers (slab.c: cookie, bounds, safe unlinking) ---- */

/* The slab header's layout (slab.c), for forging one. */
struct slab_header {
    uint64_t cookie;
    void *next, *prev;
    uint16_t class_index, capacity, free_objects, pages;
};

/* Where a forged pointer leads: it must never be written. */
static uint8_t target[64];

static bool target_untouched(void)
{
    for (size_t i = 0; i < sizeof target; i++)
        if (target[i] != 0x5a)
            return false;
    return true;
}

/*
 * A one-page large block with a slab right after it: the layout an
 * overflow of the large block turns into a write over the slab header.
 */
static uint8_t *large_before_slab(uint8_t **object)
{
    setup();
    memset(target, 0x5a, sizeof target);
    uint8_t *large = mm_malloc(MM_PAGE_SIZE);
    *object = mm_malloc(32);
    CHECK(*object == large + MM_PAGE_SIZE + 64); /* the test's premise */
    return large;
}

static void test_overflow_into_slab_header(void)
{
    static const size_t overflows[] = {1, 8, 64};

    for (size_t k = 0; k < 3; k++) {
        uint8_t *object, *large = large_before_slab(&object);
        uint8_t *header = large + MM_PAGE_SIZE;
        /* The bytes an attacker would write: here, pointers to target. */
        uintptr_t forged[8];
        for (size_t i = 0; i < 8; i++)
            forged[i] = (uintptr_t)target;

        memcpy(large + MM_PAGE_SIZE, forged, overflows[k]);
        mm_free(object);
        CHECK_FAULT(MM_FAULT_CORRUPT, object, "free");
        /* Nothing was followed or written: not target, not the header. */
        CHECK(target_untouched());
        CHECK(memcmp(header, forged, overflows[k]) == 0);
        /* Allocating from the damaged slab stops at it too. */
        CHECK(mm_malloc(32) == NULL);
        CHECK_FAULT(MM_FAULT_CORRUPT, header, "malloc");
        CHECK(target_untouched());
        /* The rest of the heap works; mm_check() sees the damage. */
        void *other = mm_malloc(100);
        CHECK(other != NULL);
        mm_free(other);
        CHECK_EQ(harness_faults.count, 0);
        CHECK(mm_check() > 0);
        mm_free(large);
    }
}

/* Forged links with the cookie left intact: unlinking checks neighbours. */
static void test_forged_slab_links(void)
{
    uint8_t *object;
    (void)large_before_slab(&object);
    struct slab_header *h = (struct slab_header *)(object - 64);

    h->next = target; /* as if target were the next partial slab */
    mm_free(object);  /* the slab empties: it would be unlinked */
    CHECK_FAULT(MM_FAULT_CORRUPT, object, "free");
    CHECK(target_untouched());

    (void)large_before_slab(&object);
    h = (struct slab_header *)(object - 64);
    h->prev = target; /* the list head claims to have a predecessor */
    CHECK(mm_malloc(32) == NULL);
    CHECK_FAULT(MM_FAULT_CORRUPT, h, "malloc");
    CHECK(target_untouched());
}

/* A class index out of the table: refused before the table is indexed. */
static void test_forged_class_index(void)
{
    uint8_t *object;
    (void)large_before_slab(&object);
    struct slab_header *h = (struct slab_header *)(object - 64);

    h->class_index = 999;
    mm_free(object);
    CHECK_FAULT(MM_FAULT_CORRUPT, object, "free");
    CHECK(mm_usable_size(object) == 0);
    CHECK_FAULT(MM_FAULT_CORRUPT, object, "mm_usable_size");
    h->class_index = 0; /* a valid class, but not the slab's: the cookie says so */
    mm_free(object);
    CHECK_FAULT(MM_FAULT_CORRUPT, object, "free");
}

/* The key: refused while blocks are live; any key works for a fresh heap. */
static void test_heap_key(void)
{
    setup();
    void *p = mm_malloc(32);
    CHECK(!mm_set_heap_key(42));
    mm_free(p);
    CHECK(mm_set_heap_key(UINT64_C(0x0123456789abcdef)));
    p = mm_malloc(32);
    void *q = mm_malloc(32);
    mm_free(p);
    mm_free(q);
    CHECK_EQ(harness_faults.count, 0);
    CHECK_EQ(mm_check(), 0);
}

int main(void)
{
    RUN(test_cache_shapes);
    RUN(test_lowest_free_object_first);
    RUN(test_empty_slabs_go_back);
    RUN(test_alignment_routing);
    RUN(test_large_blocks);
    RUN(test_slab_interior_pointers);
    RUN(test_realloc_between_classes);
    RUN(test_overflow_into_slab_header);
    RUN(test_forged_slab_links);
    RUN(test_forged_class_index);
    RUN(test_heap_key);
    return check_finish();
}
