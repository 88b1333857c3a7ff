/*
 * virtio-blk behind <blkdev/blkdev.h>, against the simulated device
 * (//testing/virtiosim), under ASan and UBSan: geometry and features,
 * flush as the only way to stable storage on a write-back device,
 * requests in flight completed out of order, segment limits, and a
 * device that lies about ids, lengths and statuses, runs ahead or never
 * answers (the guest must fail the requests, not read or write out of
 * bounds, not hang).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <testing/check.h>
#include <virtio/virtq.h>
#include <virtio_blk/virtio_blk.h>
#include <virtiosim/virtiosim.h>

#define SECTORS 2048u
#define BASE (VIRTIO_F_VERSION_1 | VIRTIO_BLK_F_BLK_SIZE | VIRTIO_BLK_F_SEG_MAX \
              | VIRTIO_BLK_F_SIZE_MAX)

/* The test's environment: tracked pages, a clock that sleeping moves. */
#define MAX_ALLOCS 16
static struct {
    void *p;
    size_t bytes;
} allocs[MAX_ALLOCS];
static size_t nallocs;
static uint64_t clock_ns;
static struct vsim_blk *serve_on_sleep; /* the device answers meanwhile */

static void *t_alloc(size_t count)
{
    if (nallocs == MAX_ALLOCS)
        return NULL;
    void *p = aligned_alloc(4096, count * 4096);
    memset(p, 0, count * 4096);
    allocs[nallocs].p = p;
    allocs[nallocs++].bytes = count * 4096;
    return p;
}

static bool in_driver_pages(uint64_t addr, uint32_t len)
{
    for (size_t i = 0; i < nallocs; i++) {
        uintptr_t a = (uintptr_t)allocs[i].p;
        if (addr >= a && addr + len <= a + allocs[i].bytes)
            return true;
    }
    return false;
}

static uint64_t t_now(void)
{
    return clock_ns;
}

static void t_sleep(uint64_t deadline)
{
    if (deadline > clock_ns)
        clock_ns = deadline;
    if (serve_on_sleep != NULL)
        vsim_blk_serve(serve_on_sleep);
}

static const struct virtio_env env = {
    .alloc_pages = t_alloc,
    .now_ns = t_now,
    .sleep_until = t_sleep,
};

static uint8_t disk[SECTORS * 512], stable[SECTORS * 512];
static struct vsim_blk sim;
static _Alignas(4096) uint8_t buf[65536], buf2[65536];

static void fresh(uint64_t features, uint32_t blk, uint32_t size_max,
                  uint32_t seg_max, uint16_t qmax)
{
    for (size_t i = 0; i < nallocs; i++)
        free(allocs[i].p);
    nallocs = 0;
    clock_ns = 0;
    serve_on_sleep = NULL;
    vsim_blk_init(&sim, disk, stable, SECTORS, features, blk, size_max,
                  seg_max, qmax);
}

static struct blkdev *open_dev(void)
{
    struct virtio_blk *vb = NULL;
    CHECK_EQ(virtio_blk_open(&sim.dev.dev, &env, &vb), 0);
    return vb == NULL ? NULL : virtio_blk_blkdev(vb);
}

static struct virtio_blk_stats stats_of(struct blkdev *bd)
{
    struct virtio_blk_stats st;
    virtio_blk_get_stats(virtio_blk_from_blkdev(bd), &st);
    return st;
}

struct done {
    int calls;
    int status;
};

static void on_done(void *arg, int status)
{
    struct done *d = arg;
    d->calls++;
    d->status = status;
}

static void pattern(uint8_t *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 31 + seed + (i >> 9));
}

static void brings_up(void)
{
    fresh(BASE | VIRTIO_BLK_F_FLUSH, 512, 4096, 126, 128);
    struct blkdev *bd = open_dev();
    if (bd == NULL)
        return;
    const struct blkdev_info *in = blkdev_info(bd);
    CHECK_EQ(in->sector_size, 512);
    CHECK_EQ(in->sectors, SECTORS);
    CHECK(!in->readonly);
    CHECK_EQ(in->features, BLKDEV_F_FLUSH);
    CHECK_EQ(in->max_request, VIRTIO_BLK_SLOT_PAGES * 4096);
    CHECK(in->queue_depth >= 2 && in->queue_depth <= VIRTIO_BLK_SLOTS);
    CHECK(sim.dev.status & VIRTIO_STATUS_DRIVER_OK);
    /* CONFIG_WCE was not taken even where offered (next test). */
    CHECK_EQ(sim.dev.accepted & VIRTIO_BLK_F_CONFIG_WCE, 0);
}

/* Write-back: a completed write is not stable until a flush completes. */
static void flush_makes_writes_stable(void)
{
    fresh(BASE | VIRTIO_BLK_F_FLUSH | VIRTIO_BLK_F_CONFIG_WCE, 512, 4096,
          126, 128);
    struct blkdev *bd = open_dev();
    if (bd == NULL)
        return;
    CHECK_EQ(sim.dev.accepted & VIRTIO_BLK_F_CONFIG_WCE, 0);
    pattern(buf, 8192, 1);
    struct done w = {0}, f = {0};
    CHECK_EQ(blkdev_submit(bd, BLKDEV_OP_WRITE, 10, buf, 8192, on_done, &w),
             0);
    memset(buf, 0, 8192); /* the caller's again at once: copied */
    CHECK_EQ(vsim_blk_serve(&sim), 1);
    CHECK_EQ(blkdev_poll(bd), 1);
    CHECK_EQ(w.calls, 1);
    CHECK_EQ(w.status, 0);
    pattern(buf2, 8192, 1);
    CHECK(memcmp(disk + 10 * 512, buf2, 8192) == 0);
    vsim_blk_crash(&sim); /* power lost before any flush */
    CHECK(memcmp(disk + 10 * 512, buf2, 8192) != 0);

    w.calls = 0;
    CHECK_EQ(blkdev_submit(bd, BLKDEV_OP_WRITE, 10, buf2, 8192, on_done, &w),
             0);
    CHECK_EQ(vsim_blk_serve(&sim), 1);
    CHECK_EQ(blkdev_poll(bd), 1);
    CHECK_EQ(blkdev_submit(bd, BLKDEV_OP_FLUSH, 0, NULL, 0, on_done, &f), 0);
    CHECK_EQ(vsim_blk_serve(&sim), 1);
    CHECK_EQ(sim.flushes, 1);
    CHECK_EQ(blkdev_poll(bd), 1);
    CHECK_EQ(f.calls, 1);
    CHECK_EQ(f.status, 0);
    vsim_blk_crash(&sim);
    CHECK(memcmp(disk + 10 * 512, buf2, 8192) == 0);
}

/* No FLUSH: write-through; a flush completes in the driver, at the next
 * poll, without a request. CONFIG_WCE without FLUSH is refused. */
static void without_flush(void)
{
    fresh(BASE, 512, 4096, 126, 128);
    struct blkdev *bd = open_dev();
    if (bd == NULL)
        return;
    CHECK_EQ(blkdev_info(bd)->features, 0);
    struct done f = {0};
    CHECK_EQ(blkdev_submit(bd, BLKDEV_OP_FLUSH, 0, NULL, 0, on_done, &f), 0);
    CHECK_EQ(f.calls, 0); /* never from submit */
    CHECK_EQ(blkdev_poll(bd), 1);
    CHECK_EQ(f.calls, 1);
    CHECK_EQ(f.status, 0);
    CHECK_EQ(sim.flushes, 0);
    CHECK_EQ(sim.dev.q[0].avail->idx, 0);
    pattern(buf, 4096, 2);
    serve_on_sleep = &sim;
    CHECK_EQ(blkdev_write(bd, 0, buf, 4096), 0);
    vsim_blk_crash(&sim);
    CHECK(memcmp(disk, buf, 4096) == 0);

    fresh(BASE | VIRTIO_BLK_F_CONFIG_WCE, 512, 4096, 126, 128);
    struct virtio_blk *vb;
    CHECK_EQ(virtio_blk_open(&sim.dev.dev, &env, &vb), -ENOTSUP);
    CHECK(sim.dev.status & VIRTIO_STATUS_FAILED);
}

static void device_sees_only_driver_pages(void)
{
    fresh(BASE | VIRTIO_BLK_F_FLUSH, 512, 4096, 126, 128);
    struct blkdev *bd = open_dev();
    if (bd == NULL)
        return;
    pattern(disk, sizeof disk, 3);
    struct done r = {0}, w = {0};
    CHECK_EQ(blkdev_submit(bd, BLKDEV_OP_READ, 0, buf, 65536, on_done, &r),
             0);
    CHECK_EQ(blkdev_submit(bd, BLKDEV_OP_WRITE, 200, buf2, 4096, on_done,
                           &w),
             0);
    const struct vsim_queue *q = &sim.dev.q[0];
    unsigned descs = 0;
    for (uint16_t a = 0; a < q->avail->idx; a++) {
        uint16_t i = q->avail->ring[a % q->size];
        for (unsigned hops = 0; hops < q->size; hops++) {
            const struct virtq_desc *d = &q->desc[i];
            descs++;
            CHECK(in_driver_pages(d->addr, d->len));
            CHECK(!(d->addr < (uintptr_t)buf + sizeof buf
                    && d->addr + d->len > (uintptr_t)buf));
            if (!(d->flags & VIRTQ_DESC_F_NEXT))
                break;
            i = d->next;
        }
    }
    CHECK_EQ(descs, 2 + 16 + 2 + 1); /* hdr, 16 pages, status; hdr, 1, status */
    memset(buf, 0x55, 65536);
    CHECK_EQ(vsim_blk_serve(&sim), 2);
    CHECK_EQ(blkdev_poll(bd), 2);
    CHECK_EQ(r.status, 0);
    CHECK(memcmp(buf, disk, 65536) == 0); /* copied at completion */
}

/* Every slot in flight, completed in reverse order; then back pressure. */
static void many_in_flight(void)
{
    fresh(BASE | VIRTIO_BLK_F_FLUSH, 512, 4096, 126, 256);
    struct blkdev *bd = open_dev();
    if (bd == NULL)
        return;
    uint32_t depth = blkdev_info(bd)->queue_depth;
    /* 256 descriptors, 18 for a request of 16 pages. */
    CHECK_EQ(depth, 256 / 18);
    pattern(disk, sizeof disk, 4);
    static _Alignas(512) uint8_t out[VIRTIO_BLK_SLOTS][1024];
    struct done d[VIRTIO_BLK_SLOTS] = {{0}};
    for (uint32_t i = 0; i < depth; i++)
        CHECK_EQ(blkdev_submit(bd, BLKDEV_OP_READ, i * 2, out[i], 1024,
                               on_done, &d[i]),
                 0);
    struct done extra = {0};
    CHECK_EQ(blkdev_submit(bd, BLKDEV_OP_READ, 0, buf, 512, on_done, &extra),
             -EAGAIN);
    uint16_t heads[VIRTIO_BLK_SLOTS];
    CHECK_EQ(vsim_blk_take(&sim, heads, depth), depth);
    for (uint32_t i = depth; i-- > 0;) {
        CHECK_EQ(vsim_blk_complete(&sim, heads[i]), 0);
        CHECK_EQ(blkdev_poll(bd), 1);
        CHECK_EQ(d[i].calls, 1);
    }
    for (uint32_t i = 0; i < depth; i++) {
        CHECK_EQ(d[i].status, 0);
        CHECK(memcmp(out[i], disk + i * 1024, 1024) == 0);
    }
    CHECK_EQ(stats_of(bd).reads, depth);
}

/* size_max and seg_max shape every chain; blk_size sets the unit. */
static void segment_limits_and_block_size(void)
{
    /* size_max below the block size: no segment can carry a block. */
    fresh(BASE | VIRTIO_BLK_F_FLUSH, 4096, 1024 + 100, 4, 128);
    CHECK_EQ(virtio_blk_open(&sim.dev.dev, &env, &(struct virtio_blk *){0}),
             -EIO);

    fresh(BASE | VIRTIO_BLK_F_FLUSH, 512, 1024 + 100, 4, 128);
    struct blkdev *bd = open_dev();
    if (bd == NULL)
        return;
    CHECK_EQ(blkdev_info(bd)->max_request, 4096);
    CHECK_EQ(blkdev_submit(bd, BLKDEV_OP_READ, 0, buf, 4608, on_done,
                           &(struct done){0}),
             -EMSGSIZE);
    pattern(buf, 4096, 5);
    serve_on_sleep = &sim;
    CHECK_EQ(blkdev_write(bd, 7, buf, 4096), 0);
    CHECK_EQ(sim.max_segs, 4);
    CHECK_EQ(sim.max_seg_len, 1024);
    CHECK(memcmp(disk + 7 * 512, buf, 4096) == 0);

    fresh(BASE | VIRTIO_BLK_F_FLUSH, 4096, 65536, 126, 128);
    bd = open_dev();
    if (bd == NULL)
        return;
    CHECK_EQ(blkdev_info(bd)->sector_size, 4096);
    CHECK_EQ(blkdev_info(bd)->sectors, SECTORS / 8);
    serve_on_sleep = &sim;
    CHECK_EQ(blkdev_write(bd, 3, buf, 4096), 0);
    CHECK(memcmp(disk + 3 * 4096, buf, 4096) == 0);
    CHECK_EQ(blkdev_write(bd, 0, buf, 512), -EINVAL);
    CHECK_EQ(blkdev_write(bd, SECTORS / 8, buf, 4096), -ERANGE);
}

static void bad_requests(void)
{
    fresh(BASE | VIRTIO_BLK_F_RO, 512, 4096, 126, 128);
    struct blkdev *bd = open_dev();
    if (bd == NULL)
        return;
    CHECK(blkdev_info(bd)->readonly);
    struct done d = {0};
    CHECK_EQ(blkdev_submit(bd, BLKDEV_OP_WRITE, 0, buf, 512, on_done, &d),
             -EROFS);
    CHECK_EQ(blkdev_submit(bd, BLKDEV_OP_READ, 0, buf + 1, 512, on_done, &d),
             -EINVAL);
    CHECK_EQ(blkdev_submit(bd, BLKDEV_OP_READ, 0, buf, 100, on_done, &d),
             -EINVAL);
    CHECK_EQ(blkdev_submit(bd, BLKDEV_OP_READ, 0, buf, 0, on_done, &d),
             -EINVAL);
    CHECK_EQ(blkdev_submit(bd, BLKDEV_OP_READ, SECTORS - 1, buf, 1024,
                           on_done, &d),
             -ERANGE);
    CHECK_EQ(blkdev_submit(bd, BLKDEV_OP_READ, UINT64_MAX, buf, 512, on_done,
                           &d),
             -ERANGE);
    CHECK_EQ(blkdev_submit(bd, (enum blkdev_op)9, 0, buf, 512, on_done, &d),
             -EINVAL);
    CHECK_EQ(d.calls, 0);
    CHECK_EQ(sim.dev.q[0].avail->idx, 0);

    /* Configurations that make no sense. */
    fresh(BASE, 512, 4096, 126, 128);
    memset(sim.dev.config, 0, 8); /* capacity 0 */
    CHECK_EQ(virtio_blk_open(&sim.dev.dev, &env, &(struct virtio_blk *){0}),
             -EIO);
    fresh(BASE, 1000, 4096, 126, 128);
    CHECK_EQ(virtio_blk_open(&sim.dev.dev, &env, &(struct virtio_blk *){0}),
             -EIO);
    fresh(VIRTIO_BLK_F_FLUSH, 512, 4096, 126, 128); /* legacy only */
    CHECK_EQ(virtio_blk_open(&sim.dev.dev, &env, &(struct virtio_blk *){0}),
             -ENOTSUP);
}

/* A device answer that breaks the protocol: all in flight fail with
 * -EIO, exactly once, and the device is given up on. */
static struct blkdev *two_in_flight(struct done *r, struct done *w)
{
    fresh(BASE | VIRTIO_BLK_F_FLUSH, 512, 4096, 126, 128);
    struct blkdev *bd = open_dev();
    if (bd == NULL)
        return NULL;
    memset(buf, 0x55, 4096);
    CHECK_EQ(blkdev_submit(bd, BLKDEV_OP_READ, 0, buf, 4096, on_done, r), 0);
    CHECK_EQ(blkdev_submit(bd, BLKDEV_OP_WRITE, 8, buf2, 4096, on_done, w),
             0);
    return bd;
}

static void check_broken(struct blkdev *bd, struct done *r, struct done *w)
{
    CHECK_EQ(blkdev_poll(bd), -EIO);
    CHECK_EQ(r->calls, 1);
    CHECK_EQ(r->status, -EIO);
    CHECK_EQ(w->calls, 1);
    CHECK_EQ(w->status, -EIO);
    CHECK(stats_of(bd).broken);
    CHECK_EQ(sim.dev.status, 0); /* reset: it must stop using the pages */
    uint8_t ref[4096];
    memset(ref, 0x55, sizeof ref);
    CHECK(memcmp(buf, ref, sizeof ref) == 0); /* nothing copied */
    CHECK_EQ(blkdev_submit(bd, BLKDEV_OP_READ, 0, buf, 512, on_done, r),
             -EIO);
    CHECK_EQ(blkdev_wait(bd, 0), -EIO);
    CHECK_EQ(blkdev_poll(bd), -EIO);
    CHECK_EQ(r->calls, 1);
}

static void bad_status(void)
{
    struct done r = {0}, w = {0};
    struct blkdev *bd = two_in_flight(&r, &w);
    if (bd == NULL)
        return;
    sim.status_fault = 7;
    uint16_t h;
    CHECK_EQ(vsim_blk_take(&sim, &h, 1), 1);
    CHECK_EQ(vsim_blk_complete(&sim, h), 0);
    check_broken(bd, &r, &w);
    CHECK_EQ(stats_of(bd).bad_status, 1);
}

static void status_never_written(void)
{
    struct done r = {0}, w = {0};
    struct blkdev *bd = two_in_flight(&r, &w);
    if (bd == NULL)
        return;
    uint16_t h[2];
    CHECK_EQ(vsim_blk_take(&sim, h, 2), 2);
    vsim_push_used(&sim.dev, 0, h[1], 1); /* "done", status left alone */
    check_broken(bd, &r, &w);
}

static void bad_read_length(void)
{
    static const long lens[] = {0, 100, 4096, 4098, 1 << 30};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        struct done r = {0}, w = {0};
        struct blkdev *bd = two_in_flight(&r, &w);
        if (bd == NULL)
            return;
        sim.len_fault = lens[i];
        uint16_t h;
        CHECK_EQ(vsim_blk_take(&sim, &h, 1), 1);
        CHECK_EQ(vsim_blk_complete(&sim, h), 0);
        check_broken(bd, &r, &w);
    }
}

static void bad_ids(void)
{
    static const uint32_t ids[] = {5, 127, 128, 70000};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        struct done r = {0}, w = {0};
        struct blkdev *bd = two_in_flight(&r, &w);
        if (bd == NULL)
            return;
        vsim_push_used(&sim.dev, 0, ids[i], 1);
        check_broken(bd, &r, &w);
        CHECK(stats_of(bd).bad_id >= 1);
    }
    /* A duplicate: the read's id again after it completed. */
    struct done r = {0}, w = {0};
    struct blkdev *bd = two_in_flight(&r, &w);
    if (bd == NULL)
        return;
    uint16_t h;
    CHECK_EQ(vsim_blk_take(&sim, &h, 1), 1);
    CHECK_EQ(vsim_blk_complete(&sim, h), 0);
    CHECK_EQ(blkdev_poll(bd), 1);
    CHECK_EQ(r.status, 0);
    memset(buf, 0x55, 4096);
    r.calls = 0;
    vsim_push_used(&sim.dev, 0, h, 4097);
    check_broken(bd, &(struct done){.calls = 1, .status = -EIO}, &w);
    CHECK_EQ(r.calls, 0);
}

static void used_index_runs_ahead(void)
{
    struct done r = {0}, w = {0};
    struct blkdev *bd = two_in_flight(&r, &w);
    if (bd == NULL)
        return;
    vsim_set_used_idx(&sim.dev, 0, 5000);
    check_broken(bd, &r, &w);
    CHECK_EQ(stats_of(bd).bad_idx, 1);
}

static void unsupported_is_not_broken(void)
{
    fresh(BASE | VIRTIO_BLK_F_FLUSH, 512, 4096, 126, 128);
    struct blkdev *bd = open_dev();
    if (bd == NULL)
        return;
    sim.status_fault = 2; /* UNSUPP */
    serve_on_sleep = &sim;
    CHECK_EQ(blkdev_flush(bd), -EOPNOTSUPP);
    sim.status_fault = 1; /* IOERR */
    CHECK_EQ(blkdev_write(bd, 0, buf, 512), -EIO);
    sim.status_fault = -1;
    CHECK_EQ(blkdev_write(bd, 0, buf, 512), 0);
    CHECK(!stats_of(bd).broken);
    CHECK_EQ(stats_of(bd).errors, 2);
}

/* A device that never answers: the blocking call ends (-EIO after
 * VIRTIO_BLK_TIMEOUT_NS of the clock), it does not hang. */
static void never_answers(void)
{
    fresh(BASE | VIRTIO_BLK_F_FLUSH, 512, 4096, 126, 128);
    struct blkdev *bd = open_dev();
    if (bd == NULL)
        return;
    memset(buf, 0x55, 4096);
    CHECK_EQ(blkdev_read(bd, 0, buf, 4096), -EIO);
    CHECK(clock_ns > VIRTIO_BLK_TIMEOUT_NS);
    CHECK(clock_ns < VIRTIO_BLK_TIMEOUT_NS + 2 * VIRTIO_BLK_POLL_NS);
    CHECK_EQ(stats_of(bd).timeouts, 1);
    CHECK_EQ(buf[0], 0x55);
    /* A wait with a deadline on a healthy, idle device times out. */
    fresh(BASE | VIRTIO_BLK_F_FLUSH, 512, 4096, 126, 128);
    bd = open_dev();
    if (bd == NULL)
        return;
    CHECK_EQ(blkdev_wait(bd, 5 * VIRTIO_BLK_POLL_NS), -ETIMEDOUT);
}

static void closed(void)
{
    fresh(BASE | VIRTIO_BLK_F_FLUSH, 512, 4096, 126, 128);
    struct virtio_blk *vb;
    CHECK_EQ(virtio_blk_open(&sim.dev.dev, &env, &vb), 0);
    struct blkdev *bd = virtio_blk_blkdev(vb);
    struct done r = {0};
    CHECK_EQ(blkdev_submit(bd, BLKDEV_OP_READ, 0, buf, 512, on_done, &r), 0);
    virtio_blk_close(vb);
    CHECK_EQ(blkdev_poll(bd), -ENOTCONN);
    CHECK_EQ(r.calls, 1);
    CHECK_EQ(r.status, -ENOTCONN);
    CHECK_EQ(blkdev_submit(bd, BLKDEV_OP_READ, 0, buf, 512, on_done, &r),
             -ENOTCONN);
    CHECK_EQ(blkdev_wait(bd, 0), -ENOTCONN);
}

/* Random traffic against a model of the disk, completed in random order
 * (a small deterministic generator: the run replays). */
static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint32_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)rng;
}

struct pending {
    bool active;
    struct done d;
    bool read;
    uint64_t sector;
    size_t len;
};

static void random_traffic(void)
{
    fresh(BASE | VIRTIO_BLK_F_FLUSH, 512, 2048, 8, 64);
    struct blkdev *bd = open_dev();
    if (bd == NULL)
        return;
    static uint8_t model[SECTORS * 512];
    memset(model, 0, sizeof model);
    uint32_t depth = blkdev_info(bd)->queue_depth;
    uint32_t maxreq = blkdev_info(bd)->max_request;
    CHECK_EQ(maxreq, 8 * 2048);
    CHECK_EQ(depth, 6);
    static _Alignas(512) uint8_t outs[VIRTIO_BLK_SLOTS][16384];
    struct pending p[VIRTIO_BLK_SLOTS] = {{0}};
    unsigned done_ops = 0;
    uint16_t heads[64];
    size_t nheads = 0;
    for (unsigned step = 0; step < 4000; step++) {
        uint32_t r = next_rand();
        unsigned slot = depth;
        for (unsigned i = 0; i < depth; i++)
            if (!p[i].active) {
                slot = i;
                break;
            }
        if (step < 3900 && slot < depth && (r & 3) != 0) {
            /* No request overlaps a write in flight, so the model is
             * exact whatever the completion order. */
            bool read = (r & 4) != 0;
            size_t len = (size_t)(1 + next_rand() % (maxreq / 512)) * 512;
            uint64_t sector = next_rand() % (SECTORS - len / 512);
            bool overlap = false;
            for (unsigned i = 0; i < depth; i++)
                if (p[i].active && (!p[i].read || !read))
                    overlap |= sector < p[i].sector + p[i].len / 512
                               && p[i].sector < sector + len / 512;
            if (overlap)
                continue;
            p[slot] = (struct pending){.active = true, .read = read,
                                       .sector = sector, .len = len};
            if (!read) {
                pattern(outs[slot], len, step);
                memcpy(model + sector * 512, outs[slot], len);
            }
            CHECK_EQ(blkdev_submit(bd, read ? BLKDEV_OP_READ
                                            : BLKDEV_OP_WRITE,
                                   sector, outs[slot], len, on_done,
                                   &p[slot].d),
                     0);
            if (!read) /* the driver copied it: the caller may reuse it */
                memset(outs[slot], 0xcc, len);
            continue;
        }
        nheads += vsim_blk_take(&sim, heads + nheads, 64 - nheads);
        /* Complete a random subset in a random order (all at the end). */
        for (size_t k = nheads; k > 0; k--) {
            size_t j = next_rand() % k;
            uint16_t h = heads[j];
            heads[j] = heads[k - 1];
            heads[k - 1] = h;
            if (step >= 3900 || (next_rand() & 1)) {
                CHECK_EQ(vsim_blk_complete(&sim, h), 0);
                heads[k - 1] = heads[--nheads];
            }
        }
        CHECK(blkdev_poll(bd) >= 0);
        for (unsigned i = 0; i < depth; i++) {
            if (!p[i].active || p[i].d.calls == 0)
                continue;
            CHECK_EQ(p[i].d.calls, 1);
            CHECK_EQ(p[i].d.status, 0);
            if (p[i].read)
                CHECK(memcmp(outs[i], model + p[i].sector * 512, p[i].len)
                      == 0);
            p[i].active = false;
            done_ops++;
        }
    }
    for (unsigned i = 0; i < depth; i++)
        CHECK(!p[i].active);
    CHECK(done_ops > 1000);
    CHECK_EQ(sim.bad_requests, 0);
    CHECK(memcmp(disk, model, sizeof model) == 0);
}

int main(void)
{
    RUN(brings_up);
    RUN(flush_makes_writes_stable);
    RUN(without_flush);
    RUN(device_sees_only_driver_pages);
    RUN(many_in_flight);
    RUN(segment_limits_and_block_size);
    RUN(bad_requests);
    RUN(bad_status);
    RUN(status_never_written);
    RUN(bad_read_length);
    RUN(bad_ids);
    RUN(used_index_runs_ahead);
    RUN(unsupported_is_not_broken);
    RUN(never_answers);
    RUN(closed);
    RUN(random_traffic);
    return check_finish();
}
