/*
 * Private to //libos/mm: the small size classes (see MM_SIZE_CLASSES).
 *
 * Steps of 16 up to 128, then four classes per power of two: rounding a
 * request up to its class wastes less than 16 bytes below 128 and less
 * than a fifth of the block above.
 */
#ifndef MM_SIZECLASS_H
#define MM_SIZECLASS_H

#include <mm/mm.h>
#include <stddef.h>
#include <stdint.h>

/* The class of a block of `size` bytes (1..MM_SMALL_MAX). */
uint32_t size_class(size_t size);

/* The largest size in class `index` (< MM_SIZE_CLASSES). */
uint32_t size_class_size(uint32_t index);

/* The stats bucket of a block: its class, or MM_SIZE_CLASSES if large. */
uint32_t size_class_bucket(size_t usable);

#endif /* MM_SIZECLASS_H */
