/*
 * The block cache against a reference model, on the real virtio-blk
 * driver (//drivers/virtio_blk:core) over the simulated device
 * (//testing/virtiosim), which has a volatile write cache: `disk` is
 * what the device holds, `stable` what survives a power loss. The
 * device completes requests in a random order, a random number at a
 * time.
 *
 * Built once per policy combination (BUILD.bazel); the policies linked
 * say what to expect (blkcache_write_policy_name(),
 * blkcache_replacement_name()).
 *
 * The model is a plain array of sectors: `model` (what reads must
 * return), `flushed` (the model at the last completed flush) and, per
 * sector, the clock of its last write (what the timer must have written
 * back).
 */
#include <blkcache/blkcache.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <testing/check.h>
#include <virtio/virtq.h>
#include <virtio_blk/virtio_blk.h>
#include <virtiosim/virtiosim.h>

#define SECTORS 512u /* of 512 bytes: the disk */
#define SS 512u
#define DISK_BYTES (SECTORS * SS)
#define BASE (VIRTIO_F_VERSION_1 | VIRTIO_BLK_F_BLK_SIZE | VIRTIO_BLK_F_SEG_MAX \
              | VIRTIO_BLK_F_SIZE_MAX | VIRTIO_BLK_F_FLUSH)
#define AGE_NS 1000u

static bool through;
static uint32_t ss = SS, nsec = SECTORS; /* the random workload's sector size */

/* ---- the simulated device and the driver's environment -------------------- */

#define MAX_ALLOCS 16
static void *allocs[MAX_ALLOCS];
static size_t nallocs;
static uint64_t clock_ns;
static struct vsim_blk sim;
static uint8_t disk[SECTORS * SS], stable[SECTORS * SS];
static uint16_t held[256]; /* taken by the device, not yet completed */
static size_t nheld;

static void *t_alloc(size_t count)
{
    if (nallocs == MAX_ALLOCS)
        return NULL;
    void *p = aligned_alloc(4096, count * 4096);
    memset(p, 0, count * 4096);
    allocs[nallocs++] = p;
    return p;
}

static uint64_t t_now(void)
{
    return clock_ns;
}

/* The device works while the driver sleeps: it takes what is available
 * and completes a random, non-empty part of what it holds, in a random
 * order. */
static void t_sleep(uint64_t deadline)
{
    if (deadline > clock_ns)
        clock_ns = deadline;
    nheld += vsim_blk_take(&sim, held + nheld,
                           sizeof(held) / sizeof(held[0]) - nheld);
    if (nheld == 0)
        return;
    size_t n = (size_t)rng_range(1, nheld);
    for (size_t i = 0; i < n; i++) {
        size_t j = i + (size_t)rng_below(nheld - i);
        uint16_t h = held[j];
        held[j] = held[i];
        held[i] = h;
        (void)vsim_blk_complete(&sim, h);
    }
    memmove(held, held + n, (nheld - n) * sizeof(held[0]));
    nheld -= n;
}

static const struct virtio_env env = {
    .alloc_pages = t_alloc,
    .now_ns = t_now,
    .sleep_until = t_sleep,
};

static struct blkdev *lower;
static struct blkcache *cache;
static struct blkdev *bd;
static uint32_t cache_blocks;

static void close_all(void)
{
    if (cache != NULL)
        blkcache_destroy(cache);
    cache = NULL;
    for (size_t i = 0; i < nallocs; i++)
        free(allocs[i]);
    nallocs = 0;
}

/* A fresh zeroed device and a cache of `blocks` on it. */
static bool fresh_sized(uint32_t blocks, uint32_t size_max, uint32_t blk)
{
    ss = blk;
    nsec = DISK_BYTES / blk;
    close_all();
    clock_ns = 0;
    nheld = 0;
    vsim_blk_init(&sim, disk, stable, SECTORS, BASE, blk, size_max, 126, 128);
    struct virtio_blk *vb = NULL;
    CHECK_EQ(virtio_blk_open(&sim.dev.dev, &env, &vb), 0);
    if (vb == NULL)
        return false;
    lower = virtio_blk_blkdev(vb);
    cache_blocks = blocks;
    struct blkcache_config cfg = {.blocks = blocks,
                                  .write_back_age_ns = AGE_NS};
    CHECK_EQ(blkcache_open(lower, &cfg, &cache), 0);
    if (cache == NULL)
        return false;
    bd = blkcache_blkdev(cache);
    return true;
}

static bool fresh(uint32_t blocks, uint32_t size_max)
{
    return fresh_sized(blocks, size_max, SS);
}

static struct blkcache_stats stats(void)
{
    struct blkcache_stats st;
    blkcache_get_stats(cache, &st);
    return st;
}

/* ---- the model ------------------------------------------------------------ */

static uint8_t model[DISK_BYTES], flushed[DISK_BYTES];
static uint64_t written_at[SECTORS]; /* the cache's clock at the last write */
static bool ever_written[SECTORS];
static uint64_t cache_clock;

static void model_reset(void)
{
    memset(model, 0, sizeof model);
    memset(flushed, 0, sizeof flushed);
    memset(written_at, 0, sizeof written_at);
    memset(ever_written, 0, sizeof ever_written);
    cache_clock = 0;
}

static bool same(const uint8_t *a, const uint8_t *b, size_t len)
{
    return memcmp(a, b, len) == 0;
}

static _Alignas(4096) uint8_t wbuf[65536], rbuf[4][65536];

static void random_bytes(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i += 8) {
        uint64_t v = rng_next();
        memcpy(p + i, &v, n - i < 8 ? n - i : 8);
    }
}

/* The device's volatile contents equal the model wherever the cache has
 * no excuse: write-through always; write-back where the timer's age
 * passed. */
static void check_device_volatile(void)
{
    bool ok = true;
    for (uint32_t s = 0; s < nsec && ok; s++) {
        bool due = through || (ever_written[s] && cache_clock >= AGE_NS
                               && written_at[s] <= cache_clock - AGE_NS);
        if (due && !same(disk + s * ss, model + s * ss, ss))
            ok = false;
    }
    CHECK_MSG(ok, "the device holds every block the policy must have written");
}

/* ---- one random step ---------------------------------------------------------- */

struct done {
    int calls, status;
};

static void on_done(void *arg, int status)
{
    struct done *d = arg;
    d->calls++;
    d->status = status;
}

/* Sectors of a request: mostly in a hot region (an eighth of the disk),
 * so there are hits; at most nsec / 32 of them. */
static void pick(uint64_t *sector, uint32_t *count, uint32_t max)
{
    *count = (uint32_t)rng_range(1, max);
    if (rng_below(10) < 7)
        *sector = rng_below(nsec / 8 - *count + 1);
    else
        *sector = rng_below(nsec - *count + 1);
}

/* A batch of up to four requests in flight at once, on ranges that do not
 * overlap (requests in flight are unordered by the interface). */
static void batch(void)
{
    uint64_t sec[4];
    uint32_t cnt[4];
    bool wr[4];
    struct done d[4] = {{0}};
    unsigned n = (unsigned)rng_range(1, 4), k = 0;
    for (unsigned tries = 0; k < n && tries < 20; tries++) {
        pick(&sec[k], &cnt[k], nsec / 32);
        bool overlap = false;
        for (unsigned j = 0; j < k; j++)
            overlap |= sec[k] < sec[j] + cnt[j] && sec[j] < sec[k] + cnt[k];
        if (overlap)
            continue;
        wr[k] = rng_below(2) == 0;
        uint8_t *p = wr[k] ? wbuf : rbuf[k];
        if (wr[k]) {
            random_bytes(wbuf, cnt[k] * ss);
            memcpy(model + sec[k] * ss, wbuf, cnt[k] * ss);
            for (uint32_t i = 0; i < cnt[k]; i++) {
                written_at[sec[k] + i] = cache_clock;
                ever_written[sec[k] + i] = true;
            }
        }
        CHECK_EQ(blkdev_submit(bd, wr[k] ? BLKDEV_OP_WRITE : BLKDEV_OP_READ,
                               sec[k], p, cnt[k] * ss, on_done, &d[k]),
                 0);
        if (wr[k]) /* the cache copied it: the buffer is ours again */
            memset(wbuf, 0xa5, cnt[k] * ss);
        k++;
    }
    for (unsigned guard = 0; guard < 100000; guard++) {
        unsigned left = 0;
        for (unsigned j = 0; j < k; j++)
            left += d[j].calls == 0;
        if (left == 0)
            break;
        if (blkdev_poll(bd) == 0)
            (void)blkdev_wait(bd, 0);
    }
    for (unsigned j = 0; j < k; j++) {
        CHECK_EQ(d[j].calls, 1);
        CHECK_EQ(d[j].status, 0);
        if (!wr[j])
            CHECK_MSG(same(rbuf[j], model + sec[j] * ss, cnt[j] * ss),
                      "a read returns what the model holds");
    }
}

static void flush_and_check(void)
{
    CHECK_EQ(blkdev_flush(bd), 0);
    memcpy(flushed, model, sizeof model);
    CHECK_MSG(same(stable, model, sizeof model),
              "after a flush the device's stable storage equals the model");
    struct blkcache_stats st = stats();
    CHECK_EQ(st.dirty, 0);
}

/* Power loss now: the device keeps what the last flush made stable, and
 * the cache (memory) is gone. */
static struct blkcache_stats before_crashes; /* of the caches crashed */

static void add_stats(struct blkcache_stats *sum, const struct blkcache_stats *st)
{
    sum->hits += st->hits;
    sum->misses += st->misses;
    sum->evictions += st->evictions;
    sum->write_backs += st->write_backs;
    sum->write_backs_flush += st->write_backs_flush;
    sum->write_backs_pressure += st->write_backs_pressure;
    sum->write_backs_timer += st->write_backs_timer;
    sum->flushes += st->flushes;
}

static void crash_and_check(void)
{
    struct blkcache_stats st = stats();
    add_stats(&before_crashes, &st);
    blkcache_destroy(cache);
    cache = NULL;
    vsim_blk_crash(&sim);
    CHECK_MSG(same(disk, flushed, sizeof flushed),
              "after a crash the device holds every block written before "
              "the last flush");
    memcpy(model, flushed, sizeof model);
    memset(ever_written, 0, sizeof ever_written);
    struct blkcache_config cfg = {.blocks = cache_blocks,
                                  .write_back_age_ns = AGE_NS};
    CHECK_EQ(blkcache_open(lower, &cfg, &cache), 0);
    bd = blkcache_blkdev(cache);
    cache_clock = 0;
}

static void random_workload(uint32_t blocks, uint32_t size_max, uint32_t blk,
                            unsigned steps)
{
    if (!fresh_sized(blocks, size_max, blk))
        return;
    model_reset();
    memset(&before_crashes, 0, sizeof before_crashes);
    for (unsigned i = 0; i < steps && cache != NULL; i++) {
        unsigned op = (unsigned)rng_below(100);
        if (op < 80) {
            batch();
        } else if (op < 88) {
            flush_and_check();
        } else if (op < 99) {
            cache_clock += rng_range(1, 2 * AGE_NS);
            CHECK_EQ(blkcache_tick(cache, cache_clock), 0);
        } else {
            crash_and_check();
        }
        check_device_volatile();
        if (check_failures() != 0) {
            printf("  failed at step %u\n", i);
            return;
        }
    }
    /* Everything read back once more, then close (which flushes). */
    for (uint32_t s = 0; s < nsec; s += 16) {
        CHECK_EQ(blkdev_read(bd, s, rbuf[0], 16 * ss), 0);
        CHECK(same(rbuf[0], model + s * ss, 16 * ss));
    }
    struct blkcache_stats st = stats();
    add_stats(&st, &before_crashes);
    printf("  %llu hits, %llu misses, %llu evictions, %llu write-backs "
           "(%llu flush, %llu pressure, %llu timer), %llu flushes\n",
           (unsigned long long)st.hits, (unsigned long long)st.misses,
           (unsigned long long)st.evictions,
           (unsigned long long)st.write_backs,
           (unsigned long long)st.write_backs_flush,
           (unsigned long long)st.write_backs_pressure,
           (unsigned long long)st.write_backs_timer,
           (unsigned long long)st.flushes);
    CHECK(st.hits > 0 && st.misses > 0 && st.evictions > 0);
    if (!through) {
        CHECK(st.write_backs_pressure > 0);
        CHECK(st.write_backs_timer > 0);
        CHECK(st.write_backs_flush > 0);
    } else {
        CHECK_EQ(st.write_backs, 0);
    }
    CHECK_EQ(blkcache_close(cache), 0);
    cache = NULL;
    CHECK(same(stable, model, sizeof model));
}

/* Small cache (constant pressure), requests split by a small size_max. */
static void model_small_cache(void)
{
    random_workload(16, 4096, SS, 3000);
}

/* A cache larger than the hot region, 64 KiB device requests. */
static void model_large_cache(void)
{
    random_workload(128, 65536, SS, 3000);
}

/* 4 KiB sectors (the device's BLK_SIZE): 64 of them, a 12-block cache. */
static void model_4k_sectors(void)
{
    random_workload(12, 65536, 4096, 1500);
}

/* ---- a flush is a barrier ------------------------------------------------------- */

/* Writes submitted before a flush, still queued when it is, are stable
 * when it completes; the ones after it are not made stable by it. */
static void flush_orders_earlier_writes(void)
{
    if (!fresh(8, 4096))
        return;
    struct done d[3] = {{0}};
    static _Alignas(4096) uint8_t a[4 * SS], b[SS];
    memset(a, 0x11, sizeof a);
    memset(b, 0x22, sizeof b);
    CHECK_EQ(blkdev_submit(bd, BLKDEV_OP_WRITE, 100, a, sizeof a, on_done,
                           &d[0]), 0);
    CHECK_EQ(blkdev_submit(bd, BLKDEV_OP_FLUSH, 0, NULL, 0, on_done, &d[1]),
             0);
    CHECK_EQ(blkdev_submit(bd, BLKDEV_OP_WRITE, 200, b, sizeof b, on_done,
                           &d[2]), 0);
    while (d[1].calls == 0)
        if (blkdev_poll(bd) == 0)
            (void)blkdev_wait(bd, 0);
    CHECK_EQ(d[0].calls, 1); /* in order */
    CHECK_EQ(d[1].status, 0);
    CHECK(same(stable + 100 * SS, a, sizeof a));
    while (d[2].calls == 0)
        if (blkdev_poll(bd) == 0)
            (void)blkdev_wait(bd, 0);
    uint8_t zero[SS] = {0};
    if (!through)
        CHECK(same(stable + 200 * SS, zero, SS));
    CHECK(stats().flushes == 1);
}

/* A flush writes dirty blocks back in sector order, each run of
 * consecutive sectors in one device request. */
static void flush_coalesces_runs(void)
{
    if (!fresh(32, 65536))
        return;
    static _Alignas(4096) uint8_t p[SS];
    static const uint64_t order[] = {21, 10, 12, 20, 11, 13, 22, 40};
    for (unsigned i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        memset(p, (int)order[i], SS);
        CHECK_EQ(blkdev_write(bd, order[i], p, SS), 0);
    }
    uint64_t writes = sim.writes;
    CHECK_EQ(blkdev_flush(bd), 0);
    /* Write-back: 10..13, 20..22 and 40; write-through wrote each. */
    CHECK_EQ(sim.writes - writes, through ? 0 : 3);
    CHECK_EQ(stats().write_backs_flush, through ? 0 : 8);
    for (unsigned i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        memset(p, (int)order[i], SS);
        CHECK(same(stable + order[i] * SS, p, SS));
    }
}

/* ---- the timer --------------------------------------------------------------- */

/* A block goes to the device once it has been dirty write_back_age_ns by
 * the clock given to blkcache_tick, not before, and without a flush. */
static void timer_writes_back_by_age(void)
{
    if (!fresh(16, 4096))
        return;
    static _Alignas(4096) uint8_t p[SS], q[SS];
    uint8_t zero[SS] = {0};
    memset(p, 0x33, SS);
    memset(q, 0x44, SS);
    const uint64_t t0 = 5000;
    CHECK_EQ(blkcache_tick(cache, t0), 0);
    CHECK_EQ(blkdev_write(bd, 3, p, SS), 0);
    CHECK_EQ(blkcache_tick(cache, t0 + AGE_NS - 1), 0);
    CHECK(same(disk + 3 * SS, through ? p : zero, SS));
    CHECK_EQ(blkdev_write(bd, 4, q, SS), 0);
    CHECK_EQ(blkcache_tick(cache, t0 + AGE_NS), 0);
    CHECK(same(disk + 3 * SS, p, SS));
    CHECK(same(disk + 4 * SS, through ? q : zero, SS));
    CHECK(same(stable + 3 * SS, zero, SS)); /* no device flush */
    CHECK_EQ(stats().write_backs_timer, through ? 0 : 1);
    CHECK_EQ(stats().dirty, through ? 0 : 1);
    CHECK_EQ(blkcache_tick(cache, t0 + 2 * AGE_NS - 1), 0);
    CHECK(same(disk + 4 * SS, q, SS));
    CHECK_EQ(stats().dirty, 0);
    CHECK_EQ(stats().flushes, 0);
}

/* ---- errors from the device ------------------------------------------------------ */

static void device_errors_propagate(void)
{
    if (!fresh(4, 4096))
        return;
    static _Alignas(4096) uint8_t p[4 * SS], q[SS];
    memset(p, 0x5a, sizeof p);

    /* A read that misses. */
    sim.status_fault = VIRTIO_BLK_S_IOERR;
    CHECK_EQ(blkdev_read(bd, 7, q, SS), -EIO);
    CHECK_EQ(stats().resident, 0); /* nothing cached from a failed read */
    sim.status_fault = -1;

    /* A write: write-through fails at once; write-back at the flush,
     * keeping the blocks dirty for the next one. */
    sim.status_fault = VIRTIO_BLK_S_IOERR;
    int rc = blkdev_write(bd, 10, p, sizeof p);
    CHECK_EQ(rc, through ? -EIO : 0);
    if (!through) {
        CHECK_EQ(stats().dirty, 4);
        CHECK_EQ(blkdev_flush(bd), -EIO);
        CHECK_EQ(stats().dirty, 4);
        /* Room is needed: the dirty victim's write-back fails, so does
         * the write that needed the room. */
        CHECK_EQ(blkdev_write(bd, 30, q, SS), -EIO);
        sim.status_fault = -1;
        CHECK_EQ(blkdev_flush(bd), 0);
        CHECK(same(stable + 10 * SS, p, sizeof p));
        CHECK_EQ(stats().dirty, 0);
    } else {
        sim.status_fault = -1;
        CHECK_EQ(stats().resident, 0); /* its blocks were dropped */
    }

    /* The device's own flush. */
    sim.status_fault = VIRTIO_BLK_S_IOERR;
    CHECK_EQ(blkdev_flush(bd), -EIO);
    sim.status_fault = VIRTIO_BLK_S_UNSUPP;
    CHECK_EQ(blkdev_flush(bd), -EOPNOTSUPP);
    sim.status_fault = -1;
    CHECK_EQ(blkdev_flush(bd), 0);
    CHECK(stats().errors >= 4);
}

/* ---- the interface's own errors ---------------------------------------------------- */

static void bad_requests(void)
{
    if (!fresh(8, 4096))
        return;
    static _Alignas(4096) uint8_t p[2 * 65536];
    struct done d = {0};
    const struct blkdev_info *in = blkdev_info(bd);
    CHECK_EQ(in->sector_size, SS);
    CHECK_EQ(in->sectors, SECTORS);
    CHECK(in->features & BLKDEV_F_FLUSH);
    CHECK_EQ(in->queue_depth, BLKCACHE_DEFAULT_DEPTH);
    CHECK_EQ(in->max_request, blkdev_info(lower)->max_request);
    CHECK_EQ(blkdev_submit(bd, BLKDEV_OP_READ, 0, p + 1, SS, on_done, &d),
             -EINVAL);
    CHECK_EQ(blkdev_submit(bd, BLKDEV_OP_READ, 0, p, 0, on_done, &d), -EINVAL);
    CHECK_EQ(blkdev_submit(bd, BLKDEV_OP_READ, 0, p, 100, on_done, &d),
             -EINVAL);
    CHECK_EQ(blkdev_submit(bd, (enum blkdev_op)7, 0, p, SS, on_done, &d),
             -EINVAL);
    CHECK_EQ(blkdev_submit(bd, BLKDEV_OP_READ, 0, p, in->max_request + SS,
                           on_done, &d), -EMSGSIZE);
    CHECK_EQ(blkdev_submit(bd, BLKDEV_OP_WRITE, SECTORS - 1, p, 2 * SS,
                           on_done, &d), -ERANGE);
    CHECK_EQ(blkdev_submit(bd, BLKDEV_OP_READ, SECTORS, p, SS, on_done, &d),
             -ERANGE);
    CHECK_EQ(d.calls, 0);
    /* Back pressure at the queue depth. */
    struct done many[BLKCACHE_DEFAULT_DEPTH] = {{0}};
    for (unsigned i = 0; i < BLKCACHE_DEFAULT_DEPTH; i++)
        CHECK_EQ(blkdev_submit(bd, BLKDEV_OP_READ, i, p, SS, on_done,
                               &many[i]), 0);
    CHECK_EQ(blkdev_submit(bd, BLKDEV_OP_READ, 0, p, SS, on_done, &d),
             -EAGAIN);
    CHECK_EQ(blkcache_close(cache), -EAGAIN);
    unsigned done = 0;
    while (done < BLKCACHE_DEFAULT_DEPTH) {
        if (blkdev_poll(bd) == 0)
            (void)blkdev_wait(bd, 0);
        done = 0;
        for (unsigned i = 0; i < BLKCACHE_DEFAULT_DEPTH; i++)
            done += many[i].calls;
    }
    CHECK_EQ(blkdev_submit(bd, BLKDEV_OP_READ, 0, p, SS, on_done, &d), 0);
    while (d.calls == 0)
        if (blkdev_poll(bd) == 0)
            (void)blkdev_wait(bd, 0);
    CHECK_EQ(d.status, 0);
    struct blkcache_config zero_blocks_is_default = {0};
    struct blkcache *c2 = NULL;
    CHECK_EQ(blkcache_open(NULL, &zero_blocks_is_default, &c2), -EINVAL);
}

/* ---- scan resistance ------------------------------------------------------------- */

/*
 * A hot set of 16 blocks read again and again among one-off reads, in
 * a cache of 64; then a single scan of 256 blocks nobody reads again;
 * then the hot set once more. 2Q keeps the hot set through the scan (16
 * hits); LRU has let the scan push it out (0 hits).
 */
static void scan_resistance(void)
{
    if (!fresh(64, 4096))
        return;
    static _Alignas(4096) uint8_t p[SS];
    uint64_t cold = 64;
    for (unsigned round = 0; round < 8; round++) {
        for (uint64_t s = 0; s < 16; s++)
            CHECK_EQ(blkdev_read(bd, s, p, SS), 0);
        for (unsigned i = 0; i < 16; i++)
            CHECK_EQ(blkdev_read(bd, cold++, p, SS), 0);
    }
    for (unsigned i = 0; i < 256; i++) /* the scan: blocks 192..447 */
        CHECK_EQ(blkdev_read(bd, 192 + i, p, SS), 0);
    uint64_t before = stats().hits;
    for (uint64_t s = 0; s < 16; s++)
        CHECK_EQ(blkdev_read(bd, s, p, SS), 0);
    uint64_t hot_hits = stats().hits - before;
    printf("  %s: %llu of 16 hot blocks hit after the scan\n",
           blkcache_replacement_name(), (unsigned long long)hot_hits);
    if (strcmp(blkcache_replacement_name(), "2q") == 0)
        CHECK_EQ(hot_hits, 16);
    else
        CHECK_EQ(hot_hits, 0);
}

int main(void)
{
    through = strcmp(blkcache_write_policy_name(), "write-through") == 0;
    printf("policies: %s, %s\n", blkcache_write_policy_name(),
           blkcache_replacement_name());
    rng_seed(0x5eedcace);
    RUN(model_small_cache);
    RUN(model_large_cache);
    RUN(model_4k_sectors);
    RUN(flush_orders_earlier_writes);
    RUN(flush_coalesces_runs);
    RUN(timer_writes_back_by_age);
    RUN(device_errors_propagate);
    RUN(bad_requests);
    RUN(scan_resistance);
    close_all();
    return check_finish();
}
