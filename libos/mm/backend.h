/*
 * Private to //libos/mm: what the front end (malloc.c) needs from an
 * allocator. slab.c and tlsf.c each implement all of it; an image links
 * exactly one, so these are plain functions, not a table of pointers.
 */
#ifndef MM_BACKEND_H
#define MM_BACKEND_H

#include <mm/mm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A live block, as found by backend_find(). */
struct block {
    void *ptr;
    size_t usable; /* bytes the caller may use */
    int kind;      /* backend-defined: which path freed it goes back to */
    void *meta;    /* backend-defined: e.g. the slab it lives in */
};

/* "slab" or "tlsf". */
extern const char backend_name[];

/* Forget all state; called after extent_init(). The key is GUARD_DEFAULT_KEY. */
void backend_reset(void);

/* The key of the metadata cookies (guard.h); only while no block is live. */
void backend_set_key(uint64_t key);

/*
 * A block of at least `size` bytes (>= 1) aligned to `align` (a power of
 * two, MM_ALIGN_MIN..MM_ALIGN_MAX); NULL if out of memory.
 */
void *backend_alloc(size_t size, size_t align);

/*
 * Is ptr the start of a live block? MM_FAULT_NONE and *b filled in, or
 * the fault that describes ptr. Reports nothing itself.
 */
enum mm_fault backend_find(const void *ptr, struct block *b);

/*
 * The usable size of a block backend_alloc() just returned: what
 * backend_find() would say, without checking the metadata around it.
 */
size_t backend_fresh_usable(const void *ptr);

/* Free a block backend_find() returned. */
void backend_free(const struct block *b);

/*
 * Make b hold at least `size` bytes without moving it, if the allocator
 * can; on success b->usable is updated. false: the caller decides.
 */
bool backend_resize(struct block *b, size_t size);

/* Inconsistencies in the allocator's own metadata. */
size_t backend_check(void);

#endif /* MM_BACKEND_H */
