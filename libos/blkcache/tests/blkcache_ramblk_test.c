/*
 * The block cache on //testing/ramblk: how many device requests its
 * write-backs take, and what survives a power cut between them.
 *
 * ramblk completes requests in order and counts them, and models a
 * volatile write cache whose unflushed writes a cut loses, keeps in
 * part or tears (RAMBLK_TEAR), never touching what a completed flush
 * covered. So:
 *
 *   - Coalescing: dirty blocks consecutive on the device go back in one
 *     request of at most max_request bytes, whether a flush, pressure
 *     (room for a new block) or the timer writes them back.
 *   - Durability: a random workload (every policy against a model) with
 *     power cuts after a random number of requests, then a reboot that
 *     tears the unflushed writes: every sector not written since the last
 *     flush that completed holds what that flush made stable.
 *
 * Built once per policy combination (BUILD.bazel), as blkcache_test.c.
 */
#include <blkcache/blkcache.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <testing/check.h>
#include <testing/ramblk.h>

#define SS 512u
#define SECTORS 512u
#define DISK_BYTES (SECTORS * SS)
#define AGE_NS 1000u

static bool through;
static struct ramblk *rb;
static struct blkcache *cache;
static struct blkdev *bd;

static void close_all(void)
{
    if (cache != NULL)
        blkcache_destroy(cache);
    cache = NULL;
    ramblk_free(rb);
    rb = NULL;
}

static bool open_cache(uint32_t blocks)
{
    struct blkcache_config cfg = {.blocks = blocks,
                                  .write_back_age_ns = AGE_NS};
    CHECK_EQ(blkcache_open(ramblk_dev(rb), &cfg, &cache), 0);
    bd = cache != NULL ? blkcache_blkdev(cache) : NULL;
    return cache != NULL;
}

/* A fresh zeroed device (with a volatile cache) and a cache on it. */
static bool fresh(uint32_t blocks, uint32_t max_request)
{
    close_all();
    rb = ramblk_new(SS, SECTORS, BLKDEV_F_FLUSH, max_request);
    CHECK(rb != NULL);
    return rb != NULL && open_cache(blocks);
}

static struct blkcache_stats stats(void)
{
    struct blkcache_stats st;
    blkcache_get_stats(cache, &st);
    return st;
}

static uint64_t device_writes(void)
{
    return ramblk_stats(rb).writes;
}

static _Alignas(4096) uint8_t buf[65536];

static void fill(uint64_t sector, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++)
        memset(buf + (size_t)i * SS, (int)((sector + i) * 7 + 1), SS);
}

static bool holds(const uint8_t *disk, uint64_t sector, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++)
        for (uint32_t b = 0; b < SS; b++)
            if (disk[(size_t)(sector + i) * SS + b]
                != (uint8_t)((sector + i) * 7 + 1))
                return false;
    return true;
}

/* ---- coalescing ------------------------------------------------------------ */

/*
 * 64 sectors written in order, 4 KiB (8 sectors) at a time, through a
 * cache of 16 blocks on a device taking 4 KiB per request: from the
 * third request on, each needs room, and the victim's write-back takes
 * its whole run of 8. Every policy then writes each 4 KiB once, in one
 * request: 8 device writes in all (one-sector write-backs took 50).
 */
static void pressure_coalesces(void)
{
    if (!fresh(16, 4096))
        return;
    for (uint64_t s = 0; s < 64; s += 8) {
        fill(s, 8);
        CHECK_EQ(blkdev_write(bd, s, buf, 8 * SS), 0);
    }
    uint64_t before_flush = device_writes();
    CHECK_EQ(blkdev_flush(bd), 0);
    struct blkcache_stats st = stats();
    printf("  %llu device writes for 64 sectors (%llu before the flush), "
           "%llu by pressure\n", (unsigned long long)device_writes(),
           (unsigned long long)before_flush,
           (unsigned long long)st.write_backs_pressure);
    CHECK_EQ(device_writes(), 8);
    CHECK_EQ(ramblk_stats(rb).rejected, 0);
    CHECK_MSG(holds(ramblk_stable(rb), 0, 64),
              "after the flush the device holds the 64 sectors");
    if (!through) {
        CHECK_EQ(before_flush, 6);
        CHECK_EQ(st.write_backs_pressure, 48);
        CHECK_EQ(st.write_backs, 64);
        CHECK_EQ(st.write_back_requests, 8);
    } else {
        CHECK_EQ(st.write_back_requests, 0);
    }
}

/*
 * A run longer than one device request is split at max_request: 20
 * consecutive dirty sectors (written one by one, out of order) and one
 * apart, with 4 KiB per request, are 8 + 8 + 4 + 1, by a flush and by
 * the timer alike.
 */
static void runs_split_at_max_request(bool by_timer)
{
    if (!fresh(64, 4096))
        return;
    if (by_timer)
        CHECK_EQ(blkcache_tick(cache, 1), 0);
    for (uint32_t i = 0; i < 20; i++) {
        uint64_t s = 100 + (i * 7) % 20; /* 7 and 20 are coprime */
        fill(s, 1);
        CHECK_EQ(blkdev_write(bd, s, buf, SS), 0);
    }
    fill(300, 1);
    CHECK_EQ(blkdev_write(bd, 300, buf, SS), 0);
    uint64_t before = device_writes();
    if (by_timer)
        CHECK_EQ(blkcache_tick(cache, 1 + AGE_NS), 0);
    else
        CHECK_EQ(blkdev_flush(bd), 0);
    const uint8_t *disk = by_timer ? ramblk_current(rb) : ramblk_stable(rb);
    CHECK(holds(disk, 100, 20) && holds(disk, 300, 1));
    CHECK_EQ(ramblk_stats(rb).rejected, 0);
    struct blkcache_stats st = stats();
    if (!through) {
        CHECK_EQ(device_writes() - before, 4);
        CHECK_EQ(st.write_back_requests, 4);
        CHECK_EQ(by_timer ? st.write_backs_timer : st.write_backs_flush, 21);
        CHECK_EQ(ramblk_stats(rb).flushes, by_timer ? 0 : 1);
    } else {
        CHECK_EQ(device_writes() - before, 0);
    }
}

static void flush_splits_runs(void)
{
    runs_split_at_max_request(false);
}

static void timer_splits_runs(void)
{
    runs_split_at_max_request(true);
}

/* ---- power cuts between requests --------------------------------------------- */

static uint8_t model[DISK_BYTES], flushed[DISK_BYTES];
static bool since_flush[SECTORS]; /* written since the last completed flush */
static _Alignas(4096) uint8_t rbuf[65536];

static void random_bytes(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i += 8) {
        uint64_t v = rng_next();
        memcpy(p + i, &v, n - i < 8 ? n - i : 8);
    }
}

static void pick(uint64_t *sector, uint32_t *count, uint32_t max)
{
    *count = (uint32_t)rng_range(1, max);
    if (rng_below(10) < 7) /* a hot eighth of the disk */
        *sector = rng_below(SECTORS / 8 - *count + 1);
    else
        *sector = rng_below(SECTORS - *count + 1);
}

/* One request, blocking; when `live`, it must succeed and reads must
 * return the model (after a cut, anything may fail). */
static void one_request(uint32_t max_sectors, bool live)
{
    uint64_t s;
    uint32_t n;
    pick(&s, &n, max_sectors);
    if (rng_below(2) == 0) {
        random_bytes(buf, (size_t)n * SS);
        int rc = blkdev_write(bd, s, buf, (size_t)n * SS);
        if (live)
            CHECK_EQ(rc, 0);
        /* A failed write may still have reached the device in part. */
        memcpy(model + s * SS, buf, (size_t)n * SS);
        for (uint32_t i = 0; i < n; i++)
            since_flush[s + i] = true;
    } else {
        int rc = blkdev_read(bd, s, rbuf, (size_t)n * SS);
        if (live) {
            CHECK_EQ(rc, 0);
            CHECK_MSG(memcmp(rbuf, model + s * SS, (size_t)n * SS) == 0,
                      "a read returns what the model holds");
        }
    }
}

static void flush_ok(void)
{
    memcpy(flushed, model, sizeof model);
    memset(since_flush, 0, sizeof since_flush);
}

/*
 * The power goes after `cut` more device requests, in the middle of
 * whatever the cache is doing (a flush, the timer, a write needing
 * room); then the device reboots, tearing its unflushed writes.
 */
static void cut_and_check(uint32_t max_sectors, uint64_t *clock,
                          uint32_t blocks)
{
    ramblk_cut_after(rb, rng_below(6));
    for (unsigned k = 0; k < 4; k++) {
        unsigned what = (unsigned)rng_below(3);
        if (what == 0) {
            if (blkdev_flush(bd) == 0)
                flush_ok();
        } else if (what == 1) {
            *clock += rng_range(1, 2 * AGE_NS);
            (void)blkcache_tick(cache, *clock);
        } else {
            one_request(max_sectors, false);
        }
    }
    blkcache_destroy(cache);
    cache = NULL;
    ramblk_reboot(rb, RAMBLK_TEAR, rng_next);
    CHECK(!ramblk_log_failed(rb));
    const uint8_t *disk = ramblk_current(rb);
    bool ok = true;
    for (uint32_t s = 0; s < SECTORS && ok; s++)
        if (!since_flush[s])
            ok = memcmp(disk + s * SS, flushed + s * SS, SS) == 0;
    CHECK_MSG(ok, "after a cut and a torn reboot every sector not written "
                  "since the last completed flush holds what it made stable");
    /* Whatever the device holds now is the truth to go on from. */
    memcpy(model, disk, sizeof model);
    flush_ok();
    *clock = 0;
    (void)open_cache(blocks);
}

static void cuts_keep_flushed_writes(uint32_t blocks, uint32_t max_request,
                                     unsigned steps)
{
    if (!fresh(blocks, max_request))
        return;
    memset(model, 0, sizeof model);
    flush_ok();
    uint32_t max_sectors = max_request / SS < 16 ? max_request / SS : 16;
    uint64_t clock = 0, cuts = 0;
    struct blkcache_stats sum = {0};
    unsigned long failed_before = check_failures();
    for (unsigned i = 0; i < steps && cache != NULL; i++) {
        unsigned op = (unsigned)rng_below(100);
        if (op < 75) {
            one_request(max_sectors, true);
        } else if (op < 85) {
            CHECK_EQ(blkdev_flush(bd), 0);
            flush_ok();
            CHECK_MSG(memcmp(ramblk_stable(rb), model, sizeof model) == 0,
                      "after a flush the stable storage equals the model");
        } else if (op < 97) {
            clock += rng_range(1, 2 * AGE_NS);
            CHECK_EQ(blkcache_tick(cache, clock), 0);
        } else {
            struct blkcache_stats st = stats();
            sum.write_backs += st.write_backs;
            sum.write_back_requests += st.write_back_requests;
            sum.write_backs_pressure += st.write_backs_pressure;
            cut_and_check(max_sectors, &clock, blocks);
            cuts++;
        }
        if (check_failures() != failed_before) {
            printf("  failed at step %u\n", i);
            return;
        }
    }
    if (cache == NULL)
        return;
    struct blkcache_stats st = stats();
    sum.write_backs += st.write_backs;
    sum.write_back_requests += st.write_back_requests;
    sum.write_backs_pressure += st.write_backs_pressure;
    printf("  %llu cuts; %llu sectors written back (%llu by pressure) in "
           "%llu device requests\n", (unsigned long long)cuts,
           (unsigned long long)sum.write_backs,
           (unsigned long long)sum.write_backs_pressure,
           (unsigned long long)sum.write_back_requests);
    CHECK(cuts > 0);
    CHECK_EQ(ramblk_stats(rb).rejected, 0);
    if (!through) {
        CHECK(sum.write_backs_pressure > 0);
        /* Requests of several sectors each write back runs together. */
        CHECK(sum.write_back_requests * 2 < sum.write_backs);
    }
    CHECK_EQ(blkcache_close(cache), 0);
    cache = NULL;
    CHECK(memcmp(ramblk_stable(rb), model, sizeof model) == 0);
}

static void cuts_small_cache(void)
{
    cuts_keep_flushed_writes(16, 4096, 3000);
}

static void cuts_large_cache(void)
{
    cuts_keep_flushed_writes(96, 65536, 3000);
}

int main(void)
{
    through = strcmp(blkcache_write_policy_name(), "write-through") == 0;
    printf("policies: %s, %s\n", blkcache_write_policy_name(),
           blkcache_replacement_name());
    rng_seed(0x7ea5ed);
    RUN(pressure_coalesces);
    RUN(flush_splits_runs);
    RUN(timer_splits_runs);
    RUN(cuts_small_cache);
    RUN(cuts_large_cache);
    close_all();
    return check_finish();
}
