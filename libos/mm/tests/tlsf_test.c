/*
 * What is particular to TLSF: blocks placed back to back with 16-byte
 * headers, neighbours merged on free, growing and shrinking in place,
 * aligned blocks returning their gap, pools given back, and the edge
 * between pool blocks and spans.
 */
#include <mm/mm.h>
#include <stdint.h>
#include <string.h>

#include "harness.h"

#define HEADER 16
/* The largest request a pool serves (tlsf.c REQUEST_MAX). */
#define REQUEST_MAX (MM_EXTENT_SIZE - (MM_EXTENT_SIZE >> 5))

static struct mm_region arena;

static void setup(void)
{
    arena = harness_arena(64);
    mm_init_regions(&arena, 1, NULL, 0);
    harness_record_faults();
}

static struct mm_stats stats(void)
{
    struct mm_stats s;

    mm_stats(&s);
    return s;
}

static void test_back_to_back(void)
{
    setup();
    uint8_t *a = mm_malloc(100), *b = mm_malloc(100), *c = mm_malloc(1);

    CHECK_EQ(mm_usable_size(a), 112);
    CHECK_EQ((uintptr_t)b, (uintptr_t)a + 112 + HEADER);
    CHECK_EQ((uintptr_t)c, (uintptr_t)b + 112 + HEADER);
    CHECK_EQ(mm_usable_size(c), 16);
    /* One pool: one whole heap extent. */
    CHECK_EQ(stats().roles[MM_ROLE_HEAP].extents, 1);
    CHECK_EQ(stats().roles[MM_ROLE_HEAP].pages, 512);
    mm_free(a);
    mm_free(b);
    mm_free(c);
    CHECK_EQ(stats().roles[MM_ROLE_HEAP].extents, 0); /* pool released */
}

static void test_merge_on_free(void)
{
    setup();
    uint8_t *a = mm_malloc(112), *b = mm_malloc(112), *c = mm_malloc(112);
    uint8_t *guard = mm_malloc(16);

    mm_free(b);
    mm_free(a); /* merges with b: 112 + 16 + 112 */
    CHECK_EQ(mm_check(), 0);
    CHECK(mm_malloc(240) == a);
    mm_free(a);
    mm_free(c); /* merges on both sides */
    CHECK(mm_malloc(112 * 3 + 2 * HEADER) == a);
    /* A second free of b, now inside a live block, is interior... */
    mm_free(b);
    CHECK_FAULT(MM_FAULT_INTERIOR, b, "free");
    mm_free(a);
    /* ... and inside a free block, a double free. */
    mm_free(b);
    CHECK_FAULT(MM_FAULT_DOUBLE_FREE, b, "free");
    mm_free(guard);
    CHECK_EQ(stats().roles[MM_ROLE_HEAP].extents, 0);
}

static void test_resize_in_place(void)
{
    setup();
    uint8_t *a = mm_malloc(100), *b = mm_malloc(100), *c = mm_malloc(100);

    memset(a, 1, 100);
    mm_free(b);
    CHECK(mm_realloc(a, 200) == a); /* grows into b */
    CHECK_EQ(mm_usable_size(a), 208);
    CHECK(a[99] == 1);
    uint8_t *moved = mm_realloc(a, 300); /* c is in the way: it moves */
    CHECK(moved && moved != a && moved[99] == 1);
    CHECK_EQ(mm_check(), 0);

    uint8_t *big = mm_malloc(4000), *after = mm_malloc(16);
    uint64_t before = stats().bytes_in_use;
    CHECK(mm_realloc(big, 1000) == big); /* shrinks, tail freed */
    CHECK_EQ(mm_usable_size(big), 1008);
    CHECK_EQ(stats().bytes_in_use, before - (4000 - 1008));
    CHECK(mm_malloc(2900) == big + 1008 + HEADER);
    CHECK_EQ(mm_check(), 0);
    mm_free(moved);
    mm_free(c);
    mm_free(after);
}

static void test_aligned_gap_reused(void)
{
    setup();
    uint8_t *p = mm_aligned_alloc(4096, 100);
    uint8_t *q = mm_malloc(100);

    CHECK_EQ((uintptr_t)p % 4096, 0);
    CHECK(q < p); /* from the gap before p */
    CHECK_EQ(mm_check(), 0);
    mm_free(p);
    mm_free(q);
    CHECK_EQ(stats().roles[MM_ROLE_HEAP].extents, 0);
}

static void test_pool_metadata_pointers(void)
{
    setup();
    uint8_t *a = mm_malloc(64);
    uintptr_t pool = (uintptr_t)a & ~(uintptr_t)(MM_EXTENT_SIZE - 1);
    uint8_t *bad[] = {a - HEADER, (uint8_t *)pool, (uint8_t *)pool + 4096,
                      (uint8_t *)(pool + MM_EXTENT_SIZE - HEADER)};

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mm_free(bad[i]);
        CHECK_FAULT(MM_FAULT_INTERIOR, bad[i], "free");
    }
    CHECK_EQ(mm_check(), 0);
}

static void test_pool_or_span(void)
{
    setup();
    uint8_t *in_pool = mm_malloc(REQUEST_MAX);
    uint8_t *span = mm_malloc(REQUEST_MAX + 1);

    CHECK(in_pool && (uintptr_t)in_pool % MM_EXTENT_SIZE != 0);
    CHECK(mm_usable_size(in_pool) >= REQUEST_MAX);
    CHECK(span && (uintptr_t)span % MM_EXTENT_SIZE == 0);
    CHECK_EQ(mm_usable_size(span), MM_EXTENT_SIZE);
    CHECK_EQ(stats().roles[MM_ROLE_HEAP].extents, 2);

    /* Three 1.5 MiB blocks cannot share 2 MiB pools. */
    void *b[3];
    for (int i = 0; i < 3; i++)
        b[i] = mm_malloc(3 << 19);
    CHECK_EQ(stats().roles[MM_ROLE_HEAP].extents, 5);
    for (int i = 0; i < 3; i++)
        mm_free(b[i]);
    mm_free(in_pool);
    mm_free(span);
    CHECK_EQ(stats().roles[MM_ROLE_HEAP].extents, 0);
    CHECK_EQ(mm_check(), 0);
}

int main(void)
{
    RUN(test_back_to_back);
    RUN(test_merge_on_free);
    RUN(test_resize_in_place);
    RUN(test_aligned_gap_reused);
    RUN(test_pool_metadata_pointers);
    RUN(test_pool_or_span);
    return check_finish();
}
