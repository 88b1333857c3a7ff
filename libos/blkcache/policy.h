/*
 * The interface between the cache engine (cache.c) and its policies.
 *
 * Each policy is one file defining these functions; an image links one
 * write policy (slot "blkcache_write") and one replacement policy (slot
 * "blkcache_replacement"), so the engine calls them directly and
 * linking two of a kind is a duplicate symbol as well as an analysis
 * error.
 *
 * Replacement policies see blocks as indices 0..blocks-1 of the engine's
 * table and the sector each holds; they are pure (no clock, no device)
 * and keep their own state.
 */
#ifndef BLKCACHE_POLICY_H
#define BLKCACHE_POLICY_H

#include <stdbool.h>
#include <stdint.h>

/* ---- write policy ---------------------------------------------------- */

/* true: writes go to the device before they complete; false: they stay
 * dirty in the cache until a flush, pressure or the timer. */
bool blkcache_policy_write_through(void);

/* ---- replacement policy ---------------------------------------------- */

struct blkcache_repl;

/* State for `blocks` blocks (>= 1); NULL when out of memory. */
struct blkcache_repl *blkcache_repl_create(uint32_t blocks);
void blkcache_repl_destroy(struct blkcache_repl *p);

/* Block `idx` now holds `sector`, read or written after a miss. */
void blkcache_repl_insert(struct blkcache_repl *p, uint32_t idx,
                          uint64_t sector);

/* Block `idx` was asked for again (read or written). */
void blkcache_repl_touch(struct blkcache_repl *p, uint32_t idx);

/* The resident block to evict next (at least one is resident). The
 * engine may decline (a dirty block is written back first). */
uint32_t blkcache_repl_victim(struct blkcache_repl *p);

/* Block `idx`, holding `sector`, was evicted to make room. */
void blkcache_repl_evict(struct blkcache_repl *p, uint32_t idx,
                         uint64_t sector);

/* Block `idx` was dropped for another reason (its data is stale): no
 * history is kept of it. */
void blkcache_repl_drop(struct blkcache_repl *p, uint32_t idx);

#endif /* BLKCACHE_POLICY_H */
