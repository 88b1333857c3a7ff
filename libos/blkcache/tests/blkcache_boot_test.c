/*
 * The block cache in QEMU on virtio-blk, as an appliance would use it:
 * a write-back cache of 64 blocks (2Q, //libos/blkcache) over a fresh
 * 1 MiB disk, its timer on a scheduler thread (//libos/blkcache:timer).
 *
 *  1. 512 sectors written through the cache, eight times its capacity,
 *     so dirty blocks go to the disk to make room, then read back
 *     through it and compared (the last 32 from the cache);
 *  2. a block written and left alone: the timer thread writes it to the
 *     disk (read under the cache) without a flush;
 *  3. a flush, then every sector read from the disk under the cache and
 *     compared; the cache closed.
 *
 * Without a disk the image says so and exits 0.
 */
#include <blkcache/blkcache.h>
#include <blkcache/timer.h>
#include <blkdev/blkdev.h>
#include <errno.h>
#include <sched/sched.h>
#include <stdio.h>
#include <string.h>
#include <testing/check.h>
#include <virtio/virtio.h>
#include <virtio_blk/virtio_blk.h>

#define BLOCKS 64u
#define PATTERN_SECTORS 512u
#define LONE_SECTOR 1500u
#define AGE_NS 50000000u    /* 50 ms */
#define PERIOD_NS 20000000u /* 20 ms */

static uint8_t pattern_at(uint64_t sector, size_t i)
{
    return (uint8_t)(sector * 13 + i * 7 + (i >> 9) + 3);
}

static void fill(uint8_t *p, uint64_t sector, size_t count, uint32_t ss)
{
    for (size_t s = 0; s < count; s++)
        for (size_t i = 0; i < ss; i++)
            p[s * ss + i] = pattern_at(sector + s, i);
}

static _Alignas(4096) uint8_t buf[16 * 4096], want[16 * 4096];

/* Read `count` sectors from `dev` in runs of `run` and compare. */
static bool read_back(struct blkdev *dev, uint64_t first, uint32_t count,
                      uint32_t run, uint32_t ss)
{
    for (uint32_t s = 0; s < count; s += run) {
        memset(buf, 0, (size_t)run * ss);
        int rc = blkdev_read(dev, first + s, buf, (size_t)run * ss);
        fill(want, first + s, run, ss);
        if (rc != 0 || memcmp(buf, want, (size_t)run * ss) != 0) {
            printf("sectors %u..%u: rc %d or different bytes\n",
                   (unsigned)(first + s), (unsigned)(first + s + run - 1), rc);
            return false;
        }
    }
    return true;
}

int main(void)
{
    struct blkdev *disk;
    int rc = virtio_blk_open_first(&disk);
    if (rc == -ENODEV) {
        printf("blkcache: no disk (%u virtio devices found); nothing to "
               "test\n", (unsigned)virtio_count());
        return 0;
    }
    if (!check_verdict(rc == 0, "virtio-blk brought up"))
        return check_finish();
    uint32_t ss = blkdev_info(disk)->sector_size;

    struct blkcache *c = NULL;
    struct blkcache_config cfg = {.blocks = BLOCKS,
                                  .write_back_age_ns = AGE_NS};
    CHECK_EQ(blkcache_open(disk, &cfg, &c), 0);
    if (c == NULL)
        return check_finish();
    struct blkdev *bd = blkcache_blkdev(c);
    printf("blkcache: %s, %s, %u blocks of %u bytes on %s\n",
           blkcache_write_policy_name(), blkcache_replacement_name(),
           (unsigned)BLOCKS, (unsigned)ss, disk->name);
    struct blkcache_timer *timer = NULL;
    CHECK_EQ(blkcache_timer_start(c, PERIOD_NS, &timer), 0);

    /* 1. Eight times the capacity, in 4 KiB writes. */
    uint32_t run = 4096 / ss;
    bool ok = true;
    for (uint32_t s = 0; s < PATTERN_SECTORS && ok; s += run) {
        fill(buf, s, run, ss);
        ok = blkdev_write(bd, s, buf, (size_t)run * ss) == 0;
    }
    /* The last 32 written are still cached (hits), the rest are not. */
    struct blkcache_stats st;
    blkcache_get_stats(c, &st);
    uint64_t hits_before = st.hits;
    ok = ok && read_back(bd, PATTERN_SECTORS - 32, 32, 16, ss);
    blkcache_get_stats(c, &st);
    CHECK_EQ(st.hits - hits_before, 32);
    ok = ok && read_back(bd, 0, PATTERN_SECTORS, 16, ss);
    check_verdict(ok, "512 sectors written and read back through the cache");

    /* 2. The timer writes a lone dirty block back. */
    fill(buf, LONE_SECTOR, 1, ss);
    CHECK_EQ(blkdev_write(bd, LONE_SECTOR, buf, ss), 0);
    blkcache_get_stats(c, &st);
    uint64_t timer_before = st.write_backs_timer;
    sched_sleep_ns(AGE_NS + 4 * PERIOD_NS);
    blkcache_get_stats(c, &st);
    /* Nothing dirty left, so the timer thread has nothing to do while
     * this thread reads the disk under the cache (one driver at a time). */
    check_verdict(st.write_backs_timer > timer_before && st.dirty == 0
                      && read_back(disk, LONE_SECTOR, 1, 1, ss),
                  "the timer wrote a dirty block to the disk without a flush");

    /* 3. Flushed: the disk itself holds everything. */
    CHECK_EQ(blkdev_flush(bd), 0);
    check_verdict(read_back(disk, 0, PATTERN_SECTORS, 16, ss),
                  "after a flush the disk under the cache holds every sector");

    blkcache_get_stats(c, &st);
    printf("blkcache: %llu hits, %llu misses, %llu evictions, %llu "
           "write-backs (%llu flush, %llu pressure, %llu timer), %llu "
           "flushes, %llu errors\n",
           (unsigned long long)st.hits, (unsigned long long)st.misses,
           (unsigned long long)st.evictions,
           (unsigned long long)st.write_backs,
           (unsigned long long)st.write_backs_flush,
           (unsigned long long)st.write_backs_pressure,
           (unsigned long long)st.write_backs_timer,
           (unsigned long long)st.flushes, (unsigned long long)st.errors);
    CHECK(st.hits > 0);
    CHECK(st.misses > 0);
    CHECK(st.evictions > 0);
    CHECK(st.write_backs_pressure > 0);
    CHECK(st.flushes >= 1);
    CHECK_EQ(st.errors, 0);
    CHECK_EQ(st.dirty, 0);

    blkcache_timer_stop(timer);
    CHECK_EQ(blkcache_close(c), 0);
    return check_finish();
}
