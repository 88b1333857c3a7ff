/*
 * The C names of the heap functions (<stdlib.h>). Each one makes sure mm
 * is initialised, so an application that only uses malloc and friends
 * needs no set-up; mm_init() does its work once.
 */
#include <mm/mm.h>
#include <stddef.h>
#include <stdlib.h>

void *malloc(size_t size)
{
    mm_init();
    return mm_malloc(size);
}

void *calloc(size_t count, size_t size)
{
    mm_init();
    return mm_calloc(count, size);
}

void *realloc(void *ptr, size_t size)
{
    mm_init();
    return mm_realloc(ptr, size);
}

void *aligned_alloc(size_t alignment, size_t size)
{
    mm_init();
    return mm_aligned_alloc(alignment, size);
}

void free(void *ptr)
{
    mm_init();
    mm_free(ptr);
}
