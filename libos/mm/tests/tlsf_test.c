/*
 * What is particular to TLSF: blocks placed back to back with 16-byte
 * headers, neighbours merged on free, growing and shrinking in place,
 * aligned blocks returning their gap, pools given back, and the edge
 * between pool blocks and spans.
 */
#include <mm/mm.h>
#include <stdbool.h>
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

/* ---- corrupted headers (tlsf.c: cookies, bounds, safe unlinking) ---- */

/* A block header's layout (tlsf.c), for forging one. */
struct header {
    uint64_t prev_word, size_word;
    void *next_free, *prev_free;
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

static void forge(uint8_t *at, size_t bytes)
{
    uintptr_t words[8];

    for (size_t i = 0; i < 8; i++)
        words[i] = (uintptr_t)target;
    memcpy(at, words, bytes);
}

/* Overflows of a block into the header of the used block after it. */
static void test_overflow_into_used_neighbour(void)
{
    static const size_t overflows[] = {1, 8, 64};

    for (size_t k = 0; k < 3; k++) {
        setup();
        memset(target, 0x5a, sizeof target);
        uint8_t *a = mm_malloc(100), *b = mm_malloc(100), *c = mm_malloc(100);
        uint8_t *d = mm_malloc(100);

        forge(a + mm_usable_size(a), overflows[k]);
        /* Freeing the overflowed block reads b's header: refused. */
        mm_free(a);
        CHECK_FAULT(MM_FAULT_CORRUPT, a, "free");
        /* So are b itself and realloc of either. */
        mm_free(b);
        CHECK_FAULT(MM_FAULT_CORRUPT, b, "free");
        CHECK(mm_realloc(a, 200) == NULL);
        CHECK_FAULT(MM_FAULT_CORRUPT, a, "realloc");
        CHECK(target_untouched());
        /* c's neighbour b is damaged too; d's are sound: it frees normally. */
        mm_free(c);
        CHECK_FAULT(MM_FAULT_CORRUPT, c, "free");
        mm_free(d);
        CHECK_EQ(harness_faults.count, 0);
        CHECK(mm_check() > 0);
    }
}

/* Overflows into a free block: its header and its list links. */
static void test_overflow_into_free_neighbour(void)
{
    static const size_t overflows[] = {1, 8, 64};

    for (size_t k = 0; k < 3; k++) {
        setup();
        memset(target, 0x5a, sizeof target);
        uint8_t *a = mm_malloc(100); /* the rest of the pool is one free block */
        uint8_t *rest = a + mm_usable_size(a);

        forge(rest, overflows[k]);
        /* The next malloc takes that block off its list: refused. */
        CHECK(mm_malloc(100) == NULL);
        CHECK_FAULT(MM_FAULT_CORRUPT, rest + HEADER, "malloc");
        mm_free(a); /* would merge with it */
        CHECK_FAULT(MM_FAULT_CORRUPT, a, "free");
        CHECK(target_untouched());
    }
}

/* A forged prev_size that makes a fake free block inside a's payload. */
static void test_forged_previous_block(void)
{
    setup();
    memset(target, 0x5a, sizeof target);
    uint8_t *a = mm_malloc(256), *b = mm_malloc(100), *keep = mm_malloc(16);
    struct header *fake = (struct header *)a;
    struct header *hb = (struct header *)(b - HEADER);

    /* fake: 256 - 16 bytes, free, its links at target. */
    fake->prev_word = 0;
    fake->size_word = (256 - HEADER) | 1;
    fake->next_free = target;
    fake->prev_free = target;
    hb->prev_word = 256 - HEADER; /* b's predecessor is now fake */
    mm_free(b); /* would merge with fake: unlink it through its links */
    CHECK_FAULT(MM_FAULT_CORRUPT, b, "free");
    CHECK(target_untouched());
    (void)keep;
}

/* Links of a freed block rewritten (a write after free), header intact. */
static void test_forged_free_links(void)
{
    setup();
    memset(target, 0x5a, sizeof target);
    uint8_t *a = mm_malloc(100), *x = mm_malloc(100), *guard = mm_malloc(100);

    mm_free(x); /* x is free and heads its list */
    struct header *hx = (struct header *)(x - HEADER);
    hx->next_free = target;
    hx->prev_free = target;
    CHECK(mm_malloc(100) == NULL); /* takes x: unlink checks neighbours */
    CHECK_FAULT(MM_FAULT_CORRUPT, x, "malloc");
    CHECK(target_untouched());
    (void)a;
    (void)guard;
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
    void *q = mm_malloc(3000);
    CHECK(mm_realloc(p, 16) == p);
    p = mm_realloc(p, 200);
    CHECK(p != NULL);
    mm_free(p);
    mm_free(q);
    CHECK_EQ(harness_faults.count, 0);
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
    RUN(test_overflow_into_used_neighbour);
    RUN(test_overflow_into_free_neighbour);
    RUN(test_forged_previous_block);
    RUN(test_forged_free_links);
    RUN(test_heap_key);
    return check_finish();
}
