/*
 * <testing/ramblk.h>: a block device in memory, for host tests of what
 * sits on <blkdev/blkdev.h> (filesystems, caches). It is the device, not
 * the thing under test: it keeps the interface's rules (and fails a
 * request that breaks them the way the header says), and it models the
 * one property storage code must get right, durability:
 *
 *   - With BLKDEV_F_FLUSH (the default) the device has a volatile write
 *     cache. A completed write is visible to reads at once but is only
 *     stable once a flush completed after it.
 *   - ramblk_cut_after(n) makes the device lose power after n more
 *     requests: the (n+1)th and every later one fails with -EIO, as a
 *     dead disk would. ramblk_reboot() then brings it back with its stable
 *     contents, plus, in RAMBLK_KEEP_SOME, a random subset of the sectors
 *     written since the last flush (a cache that wrote some sectors back,
 *     in any order, before the power went: sector writes are atomic, the
 *     rest is not ordered), or none of them in RAMBLK_KEEP_NONE, or in
 *     RAMBLK_TEAR what a disk whose cache was writing back when the
 *     power went may hold: each write since the last flush, taken in a
 *     random order (so an older write may land after a newer one of the
 *     same sector), is lost, lands whole, lands in part (a random subset
 *     of its sectors), or is torn (its first sectors land and the next
 *     one only up to a random byte, the rest of that sector keeping its
 *     old bytes). Nothing a completed flush covered is ever touched.
 *
 * Requests complete in blkdev_poll(), in the order they were submitted;
 * their data moves at submit (reads too: the interface allows it, and
 * nothing may touch a read buffer before its callback anyway).
 */
#ifndef TESTING_RAMBLK_H
#define TESTING_RAMBLK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <blkdev/blkdev.h>

enum ramblk_keep {
    RAMBLK_KEEP_NONE, /* every write since the last flush is lost */
    RAMBLK_KEEP_SOME, /* each such sector survives or not, at random */
    RAMBLK_TEAR,      /* each such write: lost, whole, partial or torn,
                       * in a random order */
};

struct ramblk_stats {
    uint64_t reads;
    uint64_t writes;
    uint64_t flushes;
    uint64_t rejected; /* requests refused with an errno at submit */
};

struct ramblk;

/* A zero-filled device of `sectors` sectors of `sector_size` bytes with
 * the given BLKDEV_F_* features; max_request 0 means 64 KiB. NULL if the
 * host is out of memory. */
struct ramblk *ramblk_new(uint32_t sector_size, uint64_t sectors,
                          uint32_t features, uint32_t max_request);
void ramblk_free(struct ramblk *r);
struct blkdev *ramblk_dev(struct ramblk *r);
void ramblk_set_readonly(struct ramblk *r, bool readonly);

/* The device's contents as a read would see them (current), and what
 * survives a power cut (stable), sectors * sector_size bytes each. */
uint8_t *ramblk_current(struct ramblk *r);
const uint8_t *ramblk_stable(const struct ramblk *r);
size_t ramblk_size(const struct ramblk *r);
/* Sets both to `bytes` (a disk image made elsewhere). */
void ramblk_load(struct ramblk *r, const void *bytes, size_t len);

/* Power is lost after `requests` more requests (then every request fails
 * with -EIO until ramblk_reboot). */
void ramblk_cut_after(struct ramblk *r, uint64_t requests);
bool ramblk_is_dead(const struct ramblk *r);
/* Power comes back: current = stable, plus the unflushed sectors `keep`
 * lets through (chosen by `rng`, a seeded generator of the test's). The
 * cut point is cleared. */
void ramblk_reboot(struct ramblk *r, enum ramblk_keep keep,
                   uint64_t (*rng)(void));

struct ramblk_stats ramblk_stats(const struct ramblk *r);
/* True if the host ran out of memory logging writes for RAMBLK_TEAR (a
 * test then cannot trust what a reboot tore). */
bool ramblk_log_failed(const struct ramblk *r);

#endif /* TESTING_RAMBLK_H */
