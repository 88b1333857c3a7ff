/*
 * Size classes: index <-> size, by arithmetic rather than a table, so the
 * two directions cannot drift apart.
 */
#include <mm/mm.h>
#include <stddef.h>
#include <stdint.h>

#include "sizeclass.h"

#define LINEAR_MAX 128u /* classes 0..7: 16, 32, ..., 128 */
#define LINEAR_CLASSES 8u
#define STEPS_LOG2 2u   /* 4 classes per power of two above that */

/* floor(log2(x)) for x > 0. */
static uint32_t log2_floor(uint64_t x)
{
    return 63u - (uint32_t)__builtin_clzll(x);
}

uint32_t size_class(size_t size)
{
    if (size <= LINEAR_MAX)
        return size == 0 ? 0 : (uint32_t)((size + 15) / 16 - 1);
    /* size is in (2^k, 2^(k+1)]; that range has 4 classes of 2^(k-2). */
    uint32_t k = log2_floor(size - 1);
    uint32_t step = k - STEPS_LOG2;
    return LINEAR_CLASSES + (k - 7) * (1u << STEPS_LOG2)
           + (uint32_t)((size - 1 - ((size_t)1 << k)) >> step);
}

uint32_t size_class_size(uint32_t index)
{
    if (index < LINEAR_CLASSES)
        return (index + 1) * 16;
    uint32_t k = 7 + (index - LINEAR_CLASSES) / (1u << STEPS_LOG2);
    uint32_t m = (index - LINEAR_CLASSES) % (1u << STEPS_LOG2) + 1;
    return (1u << k) + m * (1u << (k - STEPS_LOG2));
}

uint32_t size_class_bucket(size_t usable)
{
    return usable <= MM_SMALL_MAX ? size_class(usable) : MM_SIZE_CLASSES;
}

_Static_assert(MM_SMALL_MAX == 2048 && MM_SIZE_CLASSES == 24,
               "classes 16..128 by 16, then 4 per power of two to 2048");
