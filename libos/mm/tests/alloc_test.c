/*
 * Boot test: the heap of a real image, on the memory map QEMU gives.
 * Allocates and frees across every size class, large and huge sizes,
 * and pages of every role; prints the statistics and the checks'
 * summary. The same program is linked with each allocator.
 */
#include <mm/mm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <testing/check.h>

/* The bounds of the loaded image (linker-defined). */
extern char __text_start[], __image_end[];

#define PER_CLASS 100


/* Memory mm hands out must be clear of the image and of low memory. */
static void check_placement(const void *p, size_t size)
{
    uintptr_t a = (uintptr_t)p;

    CHECK_MSG(a + size <= (uintptr_t)__text_start || a >= (uintptr_t)__image_end,
          "memory lies outside the image");
    CHECK_MSG(a >= MM_EXTENT_SIZE, "memory lies above the first 2 MiB");
}

static void check_block(const void *p, size_t size)
{
    CHECK_MSG(p != NULL, "allocation succeeds");
    CHECK_MSG((uintptr_t)p % MM_ALIGN_MIN == 0, "blocks are 16-byte aligned");
    CHECK_MSG(mm_usable_size(p) >= size, "usable size covers the request");
    check_placement(p, mm_usable_size(p));
}

static uint8_t byte_for(uintptr_t p, size_t i)
{
    return (uint8_t)(p >> 4) ^ (uint8_t)i;
}

static void fill(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = byte_for((uintptr_t)p, i);
}

static int intact(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != byte_for((uintptr_t)p, i))
            return 0;
    return 1;
}

static void print_stats(const char *when)
{
    struct mm_stats s;

    mm_stats(&s);
    printf("mm stats (%s): %llu bytes in %llu blocks, peak %llu, "
           "%llu allocs, %llu frees, %llu failed\n",
           when, (unsigned long long)s.bytes_in_use,
           (unsigned long long)s.blocks_in_use,
           (unsigned long long)s.bytes_peak, (unsigned long long)s.allocs,
           (unsigned long long)s.frees, (unsigned long long)s.failed);
    for (int c = 0; c <= MM_SIZE_CLASSES; c++) {
        if (s.classes[c].in_use == 0)
            continue;
        if (c < MM_SIZE_CLASSES)
            printf("  class %4u: %llu in use, %llu allocs\n",
                   s.classes[c].size, (unsigned long long)s.classes[c].in_use,
                   (unsigned long long)s.classes[c].allocs);
        else
            printf("  large     : %llu in use, %llu allocs\n",
                   (unsigned long long)s.classes[c].in_use,
                   (unsigned long long)s.classes[c].allocs);
    }
    for (int r = 0; r < MM_ROLE_COUNT; r++)
        printf("  role %-10s: %llu pages, %u extents\n",
               mm_role_name((enum mm_role)r),
               (unsigned long long)s.roles[r].pages, s.roles[r].extents);
    printf("  extents: %u free of %u\n", s.extents_free, s.extents_total);
}

static void small_blocks(void)
{
    static uint8_t *blocks[MM_SIZE_CLASSES][PER_CLASS];
    struct mm_stats s;

    mm_stats(&s);
    for (int c = 0; c < MM_SIZE_CLASSES; c++) {
        for (int i = 0; i < PER_CLASS; i++) {
            size_t size = s.classes[c].size - (size_t)(i % 16);
            blocks[c][i] = malloc(size);
            check_block(blocks[c][i], size);
            if (blocks[c][i])
                fill(blocks[c][i], size);
        }
    }
    mm_stats(&s);
    for (int c = 0; c < MM_SIZE_CLASSES; c++)
        CHECK_MSG(s.classes[c].in_use == PER_CLASS, "per-class counts");
    print_stats("small blocks live");

    /* Every other block first, so slabs/pools are freed partly, then all. */
    for (int pass = 0; pass < 2; pass++) {
        for (int c = 0; c < MM_SIZE_CLASSES; c++) {
            for (int i = pass; i < PER_CLASS; i += 2) {
                size_t size = s.classes[c].size - (size_t)(i % 16);
                CHECK_MSG(intact(blocks[c][i], size), "small blocks intact");
                free(blocks[c][i]);
            }
        }
    }
}

static void large_blocks(void)
{
    static const size_t sizes[] = {3000, 10000, 100000, 1 << 20, 5 << 20};
    uint8_t *blocks[sizeof sizes / sizeof sizes[0]];

    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        blocks[k] = malloc(sizes[k]);
        check_block(blocks[k], sizes[k]);
        if (blocks[k])
            fill(blocks[k], sizes[k]);
    }
    print_stats("large blocks live");
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        CHECK_MSG(intact(blocks[k], sizes[k]), "large blocks intact");
        free(blocks[k]);
    }
}

static void c_semantics(void)
{
    uint8_t *p = realloc(NULL, 10);
    check_block(p, 10);
    fill(p, 10);
    uint8_t *q = realloc(p, 300000);
    check_block(q, 300000);
    for (size_t i = 0; q && i < 10; i++)
        CHECK_MSG(q[i] == byte_for((uintptr_t)p, i), "realloc keeps contents");
    free(q);

    uint32_t *z = calloc(1000, sizeof *z);
    check_block(z, 4000);
    for (int i = 0; z && i < 1000; i++)
        CHECK_MSG(z[i] == 0, "calloc zeroes");
    free(z);
    CHECK_MSG(calloc(SIZE_MAX / 2, 4) == NULL, "calloc overflow is caught");

    void *a = aligned_alloc(4096, 100), *b = aligned_alloc(MM_ALIGN_MAX, 10);
    CHECK_MSG(a && (uintptr_t)a % 4096 == 0, "aligned_alloc(4096)");
    CHECK_MSG(b && (uintptr_t)b % MM_ALIGN_MAX == 0, "aligned_alloc(2 MiB)");
    CHECK_MSG(aligned_alloc(3, 8) == NULL, "aligned_alloc rejects alignment 3");
    free(a);
    free(b);
    void *m0 = malloc(0);
    CHECK_MSG(m0 != NULL, "malloc(0) is a block");
    free(m0);
}

static void role_pages(void)
{
    static const enum mm_role roles[] = {MM_ROLE_IO, MM_ROLE_PAGE_TABLE,
                                         MM_ROLE_STACK, MM_ROLE_HEAP};
    uint8_t *pages[4];

    for (int r = 0; r < 4; r++) {
        pages[r] = mm_pages_alloc(roles[r], 4);
        CHECK_MSG(pages[r] && (uintptr_t)pages[r] % MM_PAGE_SIZE == 0,
              "mm_pages_alloc");
        check_placement(pages[r], 4 * MM_PAGE_SIZE);
        for (size_t i = 0; pages[r] && i < 4 * MM_PAGE_SIZE; i++)
            if (pages[r][i]) {
                CHECK_MSG(0, "pages are zeroed");
                break;
            }
    }
    for (int r = 0; r < 4; r++)
        for (int o = r + 1; o < 4; o++)
            CHECK_MSG((uintptr_t)pages[r] / MM_EXTENT_SIZE
                      != (uintptr_t)pages[o] / MM_EXTENT_SIZE,
                  "roles never share an extent");
    uint8_t *span = mm_extents_alloc(MM_ROLE_IO, 2);
    CHECK_MSG(span && (uintptr_t)span % MM_EXTENT_SIZE == 0, "mm_extents_alloc");
    check_placement(span, 2 * MM_EXTENT_SIZE);
    print_stats("role pages live");
    for (int r = 0; r < 4; r++)
        mm_pages_free(pages[r]);
    mm_extents_free(span);
}

int main(void)
{
    mm_init();

    struct mm_stats s;
    mm_stats(&s);
    printf("mm: allocator %s, %u extents of 2 MiB (image at %p-%p)\n",
           s.allocator, s.extents_total, (void *)__text_start,
           (void *)__image_end);
    CHECK_MSG(s.extents_total >= 50, "128 MiB of RAM gives at least 50 extents");

    small_blocks();
    large_blocks();
    c_semantics();
    role_pages();

    print_stats("end");
    mm_stats(&s);
    CHECK_MSG(s.bytes_in_use == 0 && s.blocks_in_use == 0, "everything freed");
    CHECK_MSG(s.bytes_peak > (5 << 20), "peak includes the 5 MiB block");
    CHECK_MSG(s.extents_free == s.extents_total, "every extent came back");
    CHECK_MSG(s.faults == 0, "no faults");
    CHECK_MSG(mm_check() == 0, "metadata consistent");
    return check_finish();
}
