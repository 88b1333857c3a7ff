/*
 * Private to //libos/mm: spans of whole extents, for malloc blocks too big
 * for anything else and for mm_extents_alloc(); plus the first step every
 * allocator takes to check a heap pointer.
 */
#ifndef MM_SPAN_H
#define MM_SPAN_H

#include <mm/mm.h>
#include <stdint.h>

#include "backend.h"
#include "extent.h"

/* block.kind of a span; backends number their own kinds from 1. */
#define BLOCK_SPAN 0

/*
 * A heap span of at least `size` bytes, aligned to `align` (at most
 * EXTENT_SIZE, which every span is); NULL if there is no free range.
 */
void *span_alloc(size_t size, size_t align);

/*
 * First step of backend_find(): the heap extent containing p. Faults for
 * anything that is not heap memory, memory held by no role, and spans of
 * mm_extents_alloc(). MM_FAULT_NONE: *e and *base are set.
 */
enum mm_fault heap_extent(uintptr_t p, struct extent **e, uintptr_t *base);

/* p lies in the heap span extent e at base: is it the span's start? */
enum mm_fault span_find(uintptr_t p, const struct extent *e, uintptr_t base,
                        struct block *b);

/* Free a span block found by span_find(). */
void span_free(const struct block *b);

#endif /* MM_SPAN_H */
