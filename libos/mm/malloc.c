/*
 * The front end: C11's allocation functions on top of whichever backend
 * is linked, the argument checks C asks for, and the heap statistics.
 * Everything here is the same for both allocators, so both behave the
 * same at the boundary and their statistics mean the same thing.
 */
#include <errno.h>
#include <mm/mm.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "backend.h"
#include "extent.h"
#include "fault.h"
#include "page.h"
#include "sizeclass.h"

/* A shrinking realloc keeps blocks this small where they are. */
#define SHRINK_KEEP_MAX 128u

static struct {
    uint64_t bytes_in_use, bytes_peak, blocks_in_use;
    uint64_t allocs, frees, failed;
    uint64_t in_use[MM_SIZE_CLASSES + 1];
    uint64_t class_allocs[MM_SIZE_CLASSES + 1];
} counters;

static void count_alloc(size_t usable)
{
    uint32_t bucket = size_class_bucket(usable);

    counters.bytes_in_use += usable;
    if (counters.bytes_in_use > counters.bytes_peak)
        counters.bytes_peak = counters.bytes_in_use;
    counters.blocks_in_use++;
    counters.allocs++;
    counters.in_use[bucket]++;
    counters.class_allocs[bucket]++;
}

static void count_free(size_t usable)
{
    counters.bytes_in_use -= usable;
    counters.blocks_in_use--;
    counters.frees++;
    counters.in_use[size_class_bucket(usable)]--;
}

/* A block changed size in place: same block, maybe another class. */
static void count_resize(size_t before, size_t after)
{
    counters.in_use[size_class_bucket(before)]--;
    counters.in_use[size_class_bucket(after)]++;
    counters.bytes_in_use = counters.bytes_in_use - before + after;
    if (counters.bytes_in_use > counters.bytes_peak)
        counters.bytes_peak = counters.bytes_in_use;
}

void mm_init_regions(const struct mm_region *ram, size_t ram_count,
                     const struct mm_region *reserved, size_t reserved_count)
{
    extent_init(ram, ram_count, reserved, reserved_count);
    backend_reset();
    memset(&counters, 0, sizeof counters);
    fault_reset();
}

void mm_randomise(uint64_t seed)
{
    extent_randomise(seed);
}

bool mm_set_heap_key(uint64_t key)
{
    /* Live blocks' headers carry cookies made with the old key. */
    if (counters.blocks_in_use != 0)
        return false;
    backend_set_key(key);
    return true;
}

static void *fail(int error)
{
    counters.failed++;
    errno = error;
    return NULL;
}

static void *allocate(size_t size, size_t align)
{
    /* Zero-size requests get a real block: NULL only ever means failure. */
    void *p = backend_alloc(size ? size : 1, align);

    if (!p)
        return fail(ENOMEM);
    count_alloc(backend_fresh_usable(p));
    return p;
}

/* The live block at ptr, or a reported fault (false). */
static bool find(const void *ptr, struct block *b, const char *function)
{
    enum mm_fault fault = backend_find(ptr, b);

    if (fault == MM_FAULT_NONE)
        return true;
    fault_report(fault, ptr, function);
    return false;
}

static void release(const struct block *b)
{
    count_free(b->usable);
    backend_free(b);
}

void *mm_malloc(size_t size)
{
    return allocate(size, MM_ALIGN_MIN);
}

void *mm_calloc(size_t count, size_t size)
{
    if (size != 0 && count > SIZE_MAX / size)
        return fail(ENOMEM);
    void *p = allocate(count * size, MM_ALIGN_MIN);
    if (p)
        memset(p, 0, count * size);
    return p;
}

void *mm_aligned_alloc(size_t alignment, size_t size)
{
    if (alignment == 0 || (alignment & (alignment - 1))
        || alignment > MM_ALIGN_MAX)
        return fail(EINVAL);
    return allocate(size, alignment < MM_ALIGN_MIN ? MM_ALIGN_MIN : alignment);
}

void mm_free(void *ptr)
{
    struct block b;

    if (ptr && find(ptr, &b, "free"))
        release(&b);
}

void *mm_realloc(void *ptr, size_t size)
{
    struct block b;

    if (!ptr)
        return mm_malloc(size);
    if (!find(ptr, &b, "realloc"))
        return NULL;
    if (size == 0)
        size = 1; /* see mm.h: realloc(p, 0) is realloc(p, 1) */

    size_t before = b.usable;
    if (backend_resize(&b, size)) {
        count_resize(before, b.usable);
        return ptr;
    }
    /* Fits already, and moving would not save at least half of it. */
    if (size <= before && (before <= SHRINK_KEEP_MAX || size > before / 2))
        return ptr;

    void *moved = allocate(size, MM_ALIGN_MIN);
    if (!moved)
        return NULL; /* ptr stays valid, as C requires */
    memcpy(moved, ptr, size < before ? size : before);
    release(&b);
    return moved;
}

size_t mm_usable_size(const void *ptr)
{
    struct block b;

    if (!ptr || !find(ptr, &b, "mm_usable_size"))
        return 0;
    return b.usable;
}

void mm_stats(struct mm_stats *stats)
{
    memset(stats, 0, sizeof *stats);
    stats->allocator = backend_name;
    stats->bytes_in_use = counters.bytes_in_use;
    stats->bytes_peak = counters.bytes_peak;
    stats->blocks_in_use = counters.blocks_in_use;
    stats->allocs = counters.allocs;
    stats->frees = counters.frees;
    stats->failed = counters.failed;
    stats->faults = fault_count();
    for (uint32_t i = 0; i <= MM_SIZE_CLASSES; i++) {
        stats->classes[i].size = i < MM_SIZE_CLASSES ? size_class_size(i) : 0;
        stats->classes[i].in_use = counters.in_use[i];
        stats->classes[i].allocs = counters.class_allocs[i];
    }
    extent_stats(stats);
}

size_t mm_check(void)
{
    return extent_check() + page_check() + backend_check();
}
