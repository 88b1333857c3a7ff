/*
 * The heap as an application sees it, for whichever allocator this test
 * is linked with (BUILD.bazel builds it once per allocator): C11
 * semantics, faults, and long random alloc/free/realloc sequences checked
 * against a model of what must be true.
 */
#include <errno.h>
#include <mm/mm.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

static struct mm_region arena;

static void setup(size_t mib)
{
    arena = harness_arena(mib);
    mm_init_regions(&arena, 1, NULL, 0);
    harness_record_faults();
}

static struct mm_stats stats(void)
{
    struct mm_stats s;

    mm_stats(&s);
    return s;
}

static bool aligned(const void *p, size_t align)
{
    return (uintptr_t)p % align == 0;
}

static bool in_arena(const void *p, size_t n)
{
    uintptr_t a = (uintptr_t)p;

    return a >= arena.addr && a + n <= arena.addr + arena.size;
}

/* The heap holds nothing any more, and all of it went back. */
static void check_empty(void)
{
    struct mm_stats s = stats();

    CHECK_EQ(s.bytes_in_use, 0);
    CHECK_EQ(s.blocks_in_use, 0);
    CHECK_EQ(s.roles[MM_ROLE_HEAP].pages, 0);
    CHECK_EQ(s.roles[MM_ROLE_HEAP].extents, 0);
    CHECK_EQ(s.extents_free, s.extents_total);
    for (int i = 0; i <= MM_SIZE_CLASSES; i++)
        CHECK_EQ(s.classes[i].in_use, 0);
    CHECK_EQ(mm_check(), 0);
}

/* ---- C11 semantics --------------------------------------------------- */

static void test_malloc_zero(void)
{
    setup(16);
    void *p = mm_malloc(0), *q = mm_malloc(0);

    CHECK(p && q && p != q);
    CHECK(aligned(p, MM_ALIGN_MIN) && aligned(q, MM_ALIGN_MIN));
    CHECK(mm_usable_size(p) >= 1);
    CHECK_EQ(stats().blocks_in_use, 2);
    mm_free(p);
    mm_free(q);
    mm_free(NULL);
    CHECK_EQ(harness_faults.count, 0);
    check_empty();
}

static void test_sizes_and_alignment(void)
{
    static const size_t sizes[] = {1,    15,   16,   17,    127,    128,
                                   129,  2047, 2048, 2049,  4095,   4096,
                                   4097, 65536, 1 << 20, 2031616, 2031617,
                                   2 << 20, (2 << 20) + 1, 5 << 20};
    void *p[sizeof sizes / sizeof sizes[0]];

    setup(64);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        p[i] = mm_malloc(sizes[i]);
        CHECK(p[i] && aligned(p[i], MM_ALIGN_MIN));
        CHECK(mm_usable_size(p[i]) >= sizes[i]);
        CHECK(in_arena(p[i], mm_usable_size(p[i])));
        memset(p[i], (int)i, sizes[i]);
    }
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        mm_free(p[i]);
    CHECK_EQ(harness_faults.count, 0);
    check_empty();
}

static void test_realloc_semantics(void)
{
    setup(32);
    /* realloc(NULL, n) is malloc(n). */
    uint8_t *p = mm_realloc(NULL, 100);
    CHECK(p && stats().allocs == 1);
    for (int i = 0; i < 100; i++)
        p[i] = (uint8_t)i;

    /* Grow through small, large and span sizes; contents follow. */
    static const size_t steps[] = {2000, 5000, 300000, 3 << 20, 50, 100};
    for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++) {
        p = mm_realloc(p, steps[k]);
        if (!CHECK(p != NULL))
            return;
        for (int i = 0; i < 50; i++)
            CHECK_EQ(p[i], (uint8_t)i);
        CHECK(mm_usable_size(p) >= steps[k]);
    }
    CHECK_EQ(stats().blocks_in_use, 1);

    /* realloc(p, 0) is realloc(p, 1): a block, never NULL on success. */
    uint8_t *z = mm_realloc(p, 0);
    CHECK(z != NULL && mm_usable_size(z) >= 1 && z[0] == 0);
    CHECK_EQ(stats().blocks_in_use, 1);

    /* Failure leaves the block alone. */
    errno = 0;
    CHECK(mm_realloc(z, SIZE_MAX) == NULL);
    CHECK_EQ(errno, ENOMEM);
    CHECK(mm_realloc(z, 1 << 30) == NULL); /* more than the arena */
    CHECK_EQ(z[0], 0);
    CHECK_EQ(stats().failed, 2);
    mm_free(z);
    CHECK_EQ(harness_faults.count, 0);
    check_empty();
}

static void test_calloc(void)
{
    setup(32);
    errno = 0;
    CHECK(mm_calloc(SIZE_MAX / 2 + 1, 2) == NULL);
    CHECK_EQ(errno, ENOMEM);
    CHECK(mm_calloc(SIZE_MAX, SIZE_MAX) == NULL);
    CHECK(mm_calloc((SIZE_MAX >> 16) + 1, UINT64_C(1) << 16) == NULL);
    CHECK_EQ(stats().failed, 3);

    void *z = mm_calloc(0, 10), *z2 = mm_calloc(10, 0);
    CHECK(z && z2 && z != z2);
    mm_free(z);
    mm_free(z2);

    /* Memory that held data comes back zeroed. */
    static const size_t sizes[] = {256, 3000, 200000, 3 << 20};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        uint8_t *dirty = mm_malloc(sizes[k]);
        memset(dirty, 0xff, sizes[k]);
        mm_free(dirty);
        uint8_t *c = mm_calloc(sizes[k] / 8, 8);
        size_t nonzero = 0;
        for (size_t i = 0; c && i < sizes[k]; i++)
            nonzero += c[i] != 0;
        CHECK(c && nonzero == 0);
        mm_free(c);
    }
    check_empty();
}

static void test_aligned_alloc(void)
{
    static const size_t bad[] = {0, 3, 24, 4 << 20, (size_t)1 << 63};
    static const size_t sizes[] = {1, 100, 5000, 3 << 20};
    void *blocks[64];
    size_t n = 0;

    setup(128);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        errno = 0;
        CHECK(mm_aligned_alloc(bad[i], 64) == NULL);
        CHECK_EQ(errno, EINVAL);
    }
    CHECK_EQ(stats().failed, sizeof bad / sizeof bad[0]);

    for (size_t align = 1; align <= MM_ALIGN_MAX; align *= 4) {
        for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
            void *p = mm_aligned_alloc(align, sizes[k]);
            CHECK(p && aligned(p, align) && aligned(p, MM_ALIGN_MIN));
            CHECK(mm_usable_size(p) >= sizes[k]);
            if (p && n < sizeof blocks / sizeof blocks[0])
                blocks[n++] = p;
        }
    }
    /* The largest alignment, and a size that is not a multiple of it. */
    void *big = mm_aligned_alloc(MM_ALIGN_MAX, 100);
    CHECK(big && aligned(big, MM_ALIGN_MAX));
    blocks[n++] = big;
    CHECK_EQ(mm_check(), 0);
    for (size_t i = 0; i < n; i++)
        mm_free(blocks[i]);
    CHECK_EQ(harness_faults.count, 0);
    check_empty();
}

static void test_out_of_memory(void)
{
    void *blocks[64];
    size_t n = 0;

    setup(32); /* 16 extents */
    errno = 0;
    CHECK(mm_malloc(SIZE_MAX) == NULL);
    CHECK_EQ(errno, ENOMEM);
    CHECK(mm_malloc(SIZE_MAX - 4096) == NULL);
    CHECK(mm_malloc(33 << 20) == NULL);
    while (n < 64 && (blocks[n] = mm_malloc(1 << 20)) != NULL)
        n++;
    CHECK(n >= 15 && n < 64);
    CHECK(mm_malloc(1 << 20) == NULL);
    CHECK_EQ(mm_check(), 0);
    while (n > 0)
        mm_free(blocks[--n]);
    check_empty();
    /* Everything came back: the whole arena is one span again. */
    void *all = mm_malloc(32 << 20);
    CHECK(all != NULL);
    mm_free(all);
}

static void test_stats_classes(void)
{
    setup(32);
    struct mm_stats s = stats();
    void *small[MM_SIZE_CLASSES];

    for (int i = 0; i < MM_SIZE_CLASSES; i++) {
        CHECK(s.classes[i].size > (i ? s.classes[i - 1].size : 0));
        small[i] = mm_malloc(s.classes[i].size);
    }
    CHECK_EQ(s.classes[MM_SIZE_CLASSES].size, 0);
    void *large = mm_malloc(10000);

    s = stats();
    uint64_t bytes = mm_usable_size(large);
    for (int i = 0; i < MM_SIZE_CLASSES; i++) {
        CHECK_EQ(s.classes[i].in_use, 1);
        CHECK_EQ(s.classes[i].allocs, 1);
        CHECK_EQ(mm_usable_size(small[i]), s.classes[i].size);
        bytes += mm_usable_size(small[i]);
    }
    CHECK_EQ(s.classes[MM_SIZE_CLASSES].in_use, 1);
    CHECK_EQ(s.bytes_in_use, bytes);
    CHECK_EQ(s.bytes_peak, bytes);
    CHECK_EQ(s.blocks_in_use, MM_SIZE_CLASSES + 1);
    CHECK_EQ(s.allocs, MM_SIZE_CLASSES + 1);
    CHECK(s.roles[MM_ROLE_HEAP].pages > 0);
    CHECK(s.roles[MM_ROLE_HEAP].extents > 0);
    CHECK(s.allocator && (!strcmp(s.allocator, "slab")
                          || !strcmp(s.allocator, "tlsf")));

    for (int i = 0; i < MM_SIZE_CLASSES; i++)
        mm_free(small[i]);
    mm_free(large);
    s = stats();
    CHECK_EQ(s.bytes_peak, bytes);
    CHECK_EQ(s.frees, MM_SIZE_CLASSES + 1);
    CHECK_EQ(s.classes[3].allocs, 1);
    check_empty();
}

/* ---- faults ---------------------------------------------------------- */

static int static_object;

static void test_faults(void)
{
    int local;
    setup(32);
    uint8_t *small = mm_malloc(64), *large = mm_malloc(5000);
    uint8_t *huge = mm_malloc(3 << 20), *keep = mm_malloc(64);
    void *heap_page = mm_pages_alloc(MM_ROLE_HEAP, 1);
    void *io_page = mm_pages_alloc(MM_ROLE_IO, 1);
    void *span = mm_extents_alloc(MM_ROLE_HEAP, 1);
    struct mm_stats before = stats();

    /* Interior pointers: inside a live block, not its start. */
    uint8_t *interior[] = {small + 16, small + 1, large + 4096, large + 8,
                           huge + (2 << 20), huge + 64};
    for (size_t i = 0; i < sizeof interior / sizeof interior[0]; i++) {
        mm_free(interior[i]);
        CHECK_FAULT(MM_FAULT_INTERIOR, interior[i], "free");
    }
    /* Not heap memory at all. */
    void *foreign[] = {&local, &static_object, heap_page, io_page, span,
                       (void *)(arena.addr + arena.size + 4096),
                       (void *)(uintptr_t)16};
    for (size_t i = 0; i < sizeof foreign / sizeof foreign[0]; i++) {
        mm_free(foreign[i]);
        CHECK_FAULT(MM_FAULT_FOREIGN, foreign[i], "free");
    }
    /* A malloc block is no page run. */
    mm_pages_free(keep);
    CHECK_FAULT(MM_FAULT_FOREIGN, keep, "mm_pages_free");

    /* Nothing changed: not the heap, not the counters. */
    struct mm_stats after = stats();
    CHECK_EQ(after.faults, 14);
    after.faults = before.faults;
    CHECK(memcmp(&before, &after, sizeof before) == 0);
    CHECK_EQ(mm_check(), 0);

    /* Double frees, of each kind of block. */
    uint8_t *freed[] = {small, large, huge};
    for (size_t i = 0; i < 3; i++) {
        mm_free(freed[i]);
        CHECK_EQ(harness_faults.count, 0);
        mm_free(freed[i]);
        CHECK_FAULT(MM_FAULT_DOUBLE_FREE, freed[i], "free");
    }
    /* The other entry points check too. */
    CHECK(mm_realloc(small, 10) == NULL);
    CHECK_FAULT(MM_FAULT_DOUBLE_FREE, small, "realloc");
    CHECK_EQ(mm_usable_size(keep + 8), 0);
    CHECK_FAULT(MM_FAULT_INTERIOR, keep + 8, "mm_usable_size");
    CHECK_EQ(stats().blocks_in_use, 1);
    CHECK_EQ(mm_check(), 0);

    mm_free(keep);
    mm_pages_free(heap_page);
    mm_pages_free(io_page);
    mm_extents_free(span);
    CHECK_EQ(harness_faults.count, 0);
    check_empty();
}

static void test_no_memory_at_all(void)
{
    void *p;

    setup(32);
    p = mm_malloc(10);
    mm_init_regions(NULL, 0, NULL, 0);
    CHECK(mm_malloc(10) == NULL);
    CHECK(mm_pages_alloc(MM_ROLE_IO, 1) == NULL);
    mm_free(p); /* from before the reset: no longer ours */
    CHECK_FAULT(MM_FAULT_FOREIGN, p, "free");
    CHECK_EQ(stats().extents_total, 0);
}

/* ---- random sequences against a model -------------------------------- */

#define MAX_LIVE 400
#define LIVE_BYTES_MAX (40 * MiB)
#define ARENA_MIB 256

struct live {
    uint8_t *p;
    size_t size;   /* asked for */
    size_t usable; /* mm_usable_size when last checked */
    uint64_t id;   /* decides the fill pattern */
};

struct model {
    struct live live[MAX_LIVE];
    size_t count;
    uint64_t next_id, requested;
    uint64_t bytes, peak, allocs, frees, failed, faults;
    uint8_t *stale[64]; /* recently freed pointers */
    uint64_t stale_count;
};

static struct model m;
static unsigned long seed_failures;

/*
 * The contents of block `id`: word w of it holds pattern(id, w). Blocks
 * are 16-aligned, so whole words can be written and compared; the
 * pattern differs between blocks and between words of one block.
 */
static uint64_t pattern(uint64_t id, size_t w)
{
    return (id + 1) * UINT64_C(0x9e3779b97f4a7c15)
           ^ w * UINT64_C(0xff51afd7ed558ccd);
}

static void fill(const struct live *l)
{
    uint64_t *words = (uint64_t *)l->p;
    size_t w = 0;

    for (; w < l->size / 8; w++)
        words[w] = pattern(l->id, w);
    uint64_t last = pattern(l->id, w);
    memcpy(&words[w], &last, l->size % 8);
}

/* Are the first n bytes of l as fill() left them? */
static bool intact(const struct live *l, size_t n)
{
    const uint64_t *words = (const uint64_t *)l->p;
    size_t w = 0;

    for (; w < n / 8; w++)
        if (words[w] != pattern(l->id, w))
            break;
    uint64_t expect = pattern(l->id, w);
    if (w == n / 8 && memcmp(&words[w], &expect, n % 8) == 0)
        return true;
    printf("block %llu at %p: word %zu of %zu bytes changed\n",
           (unsigned long long)l->id, (void *)l->p, w, l->size);
    return false;
}

static size_t random_size(void)
{
    static const size_t edges[] = {1,    16,      17,      128,     129,
                                   2048, 2049,    4096,    4097,    2031616,
                                   2031617, 2080736, 2 << 20, (2 << 20) + 1};
    uint64_t r = rng_below(1000);

    if (r < 20)
        return edges[rng_below(sizeof edges / sizeof edges[0])];
    if (r < 500)
        return 1 + rng_below(128);
    if (r < 800)
        return 129 + rng_below(MM_SMALL_MAX - 128);
    if (r < 930)
        return MM_SMALL_MAX + 1 + rng_below(30000);
    if (r < 985)
        return 32768 + rng_below(480 << 10);
    if (r < 997)
        return (512 << 10) + rng_below(3 << 19);
    return (2 << 20) + rng_below(4 << 20);
}

static size_t random_align(void)
{
    uint64_t r = rng_below(100);

    if (r < 20)
        return (size_t)1 << rng_below(4); /* 1..8 */
    if (r < 88)
        return (size_t)16 << rng_below(8); /* 16..2048 */
    if (r < 98)
        return (size_t)4096 << rng_below(9); /* 4 KiB..1 MiB */
    return MM_ALIGN_MAX;
}

/* The stats must be what the model says, to the byte. */
static void check_stats(void)
{
    struct mm_stats s = stats();
    uint64_t per_class[MM_SIZE_CLASSES + 1] = {0};

    for (size_t i = 0; i < m.count; i++) {
        int c = 0;
        while (c < MM_SIZE_CLASSES && s.classes[c].size < m.live[i].usable)
            c++;
        per_class[c]++;
    }
    bool ok = CHECK_EQ(s.bytes_in_use, m.bytes)
              & CHECK_EQ(s.bytes_peak, m.peak)
              & CHECK_EQ(s.blocks_in_use, m.count)
              & CHECK_EQ(s.allocs, m.allocs) & CHECK_EQ(s.frees, m.frees)
              & CHECK_EQ(s.failed, m.failed) & CHECK_EQ(s.faults, m.faults);
    for (int c = 0; c <= MM_SIZE_CLASSES; c++)
        ok &= CHECK_EQ(s.classes[c].in_use, per_class[c]);
    uint32_t held = s.extents_free;
    for (int r = 0; r < MM_ROLE_COUNT; r++)
        held += s.roles[r].extents;
    ok &= CHECK_EQ(held, s.extents_total);
    if (!ok)
        seed_failures++;
}

static void count_alloc(size_t usable)
{
    m.bytes += usable;
    if (m.bytes > m.peak)
        m.peak = m.bytes;
    m.allocs++;
}

/* A block just handed out: where it is, and that it is nobody else's. */
static bool check_new(const uint8_t *p, size_t size, size_t align,
                      size_t skip)
{
    size_t usable = mm_usable_size(p);
    bool ok = CHECK(p != NULL) && CHECK(aligned(p, align))
              && CHECK(aligned(p, MM_ALIGN_MIN)) && CHECK(usable >= size)
              && CHECK(in_arena(p, usable));

    for (size_t i = 0; ok && i < m.count; i++) {
        const struct live *o = &m.live[i];
        if (i == skip)
            continue;
        ok = CHECK((uintptr_t)p + usable <= (uintptr_t)o->p
                   || (uintptr_t)o->p + o->usable <= (uintptr_t)p);
    }
    if (!ok)
        seed_failures++;
    return ok;
}

static void add(uint8_t *p, size_t size)
{
    struct live *l = &m.live[m.count++];

    *l = (struct live){p, size, mm_usable_size(p), m.next_id++};
    fill(l);
    m.requested += size;
    count_alloc(l->usable);
}

static void op_alloc(uint64_t kind)
{
    size_t size = random_size(), align = MM_ALIGN_MIN;
    uint8_t *p;

    if (kind == 0) {
        p = mm_malloc(size);
    } else if (kind == 1) {
        size_t n = 1 + rng_below(64);
        size = size / n;
        p = mm_calloc(n, size);
        size *= n;
        for (size_t i = 0; p && i < size; i++)
            if (p[i]) {
                CHECK(!"calloc memory is zero");
                seed_failures++;
                break;
            }
    } else {
        align = random_align();
        p = mm_aligned_alloc(align, size);
    }
    if (check_new(p, size, align, SIZE_MAX))
        add(p, size);
}

static void op_realloc(void)
{
    if (m.count == 0)
        return;
    size_t k = rng_below(m.count);
    struct live *l = &m.live[k];
    size_t size = rng_below(20) == 0 ? 0 : random_size();
    size_t old_usable = l->usable;
    uint8_t *q = mm_realloc(l->p, size);

    if (!check_new(q, size, MM_ALIGN_MIN, k))
        return;
    size_t keep = size < l->size ? size : l->size;
    struct live moved = *l;
    moved.p = q;
    if (!intact(&moved, keep)) {
        CHECK(!"realloc keeps the contents");
        seed_failures++;
    }
    size_t usable = mm_usable_size(q);
    if (q != l->p) {
        /* Moved: the new block existed next to the old one for a while. */
        count_alloc(usable);
        m.bytes -= old_usable;
        m.frees++;
        m.stale[m.stale_count++ % 64] = l->p;
    } else {
        m.bytes = m.bytes - old_usable + usable;
        if (m.bytes > m.peak)
            m.peak = m.bytes;
    }
    m.requested = m.requested - l->size + size;
    *l = (struct live){q, size, usable, m.next_id++};
    fill(l);
}

static void op_free(void)
{
    if (m.count == 0) {
        mm_free(NULL);
        return;
    }
    size_t k = rng_below(m.count);
    struct live *l = &m.live[k];

    if (!intact(l, l->size)) {
        CHECK(!"a live block kept its contents");
        seed_failures++;
    }
    mm_free(l->p);
    m.bytes -= l->usable;
    m.frees++;
    m.requested -= l->size;
    m.stale[m.stale_count++ % 64] = l->p;
    *l = m.live[--m.count];
}

/* The live block containing p, or NULL. */
static const struct live *owner_of(const uint8_t *p)
{
    for (size_t i = 0; i < m.count; i++) {
        const struct live *l = &m.live[i];
        if (p >= l->p && p < l->p + l->usable)
            return l;
    }
    return NULL;
}

/*
 * Misuse that must be caught and change nothing: an interior pointer of
 * a live block, or a pointer freed earlier (unless it has been handed out
 * again since, which makes it valid).
 */
static void op_misuse(void)
{
    uint8_t *p;
    enum mm_fault expected;

    if (rng_below(2) == 0 && m.count > 0) {
        const struct live *l = &m.live[rng_below(m.count)];
        p = l->p + 1 + rng_below(l->usable - 1);
        expected = MM_FAULT_INTERIOR;
    } else if (m.stale_count > 0) {
        p = m.stale[rng_below(m.stale_count < 64 ? m.stale_count : 64)];
        const struct live *l = owner_of(p);
        if (l && l->p == p)
            return; /* reused: a valid block now */
        expected = l ? MM_FAULT_INTERIOR : MM_FAULT_DOUBLE_FREE;
    } else {
        return;
    }
    if (rng_below(2))
        mm_free(p);
    else
        CHECK(mm_realloc(p, 100) == NULL);
    m.faults++;
    /*
     * A stale pointer whose memory now holds allocator metadata (a new
     * page map, slab header or pool bitmap) is reported as interior.
     */
    bool ok = CHECK_EQ(harness_faults.count, 1)
              && (harness_faults.last.fault == expected
                  || (expected == MM_FAULT_DOUBLE_FREE
                      && CHECK_EQ(harness_faults.last.fault,
                                  MM_FAULT_INTERIOR)));
    if (!ok)
        seed_failures++;
    memset(&harness_faults, 0, sizeof harness_faults);
}

/* With `randomised`, the heap starts at an extent drawn from the seed. */
static void run_model(uint64_t seed, unsigned steps, bool randomised)
{
    setup(ARENA_MIB);
    if (randomised)
        mm_randomise(seed);
    memset(&m, 0, sizeof m);
    rng_set(seed);
    seed_failures = 0;

    for (unsigned step = 0; step < steps && seed_failures == 0; step++) {
        uint64_t r = rng_below(100);

        if (m.count == MAX_LIVE || m.requested > LIVE_BYTES_MAX)
            r = 99; /* make room */
        if (r < 30)
            op_alloc(0);
        else if (r < 38)
            op_alloc(1);
        else if (r < 48)
            op_alloc(2);
        else if (r < 62)
            op_realloc();
        else if (r < 64)
            op_misuse();
        else if (r == 64) {
            /* Requests that must fail, and be counted. */
            size_t huge = SIZE_MAX - rng_below(1 << 20);
            CHECK(mm_malloc(huge) == NULL);
            CHECK(mm_aligned_alloc(3 << rng_below(20), 64) == NULL);
            m.failed += 2;
        } else
            op_free();

        check_stats();
        if (step % 128 == 0 && !CHECK_EQ(mm_check(), 0))
            seed_failures++;
        if (seed_failures)
            printf("seed %#llx: first failure at step %u\n",
                   (unsigned long long)seed, step);
    }
    while (m.count > 0 && seed_failures == 0) {
        op_free();
        check_stats();
    }
    check_empty();
}

static void test_random_sequences(void)
{
    static const uint64_t seeds[] = {1, 2, 3, 0xdecafbad, 0x5eed5eed5eed,
                                     42, 1234567, 0xffffffffffffffff};

    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++)
        run_model(seeds[i], 6000, i % 2 == 1);
}

int main(void)
{
    RUN(test_malloc_zero);
    RUN(test_sizes_and_alignment);
    RUN(test_realloc_semantics);
    RUN(test_calloc);
    RUN(test_aligned_alloc);
    RUN(test_out_of_memory);
    RUN(test_stats_classes);
    RUN(test_faults);
    RUN(test_no_memory_at_all);
    RUN(test_random_sequences);
    printf("allocator: %s\n", stats().allocator);
    return check_finish();
}
