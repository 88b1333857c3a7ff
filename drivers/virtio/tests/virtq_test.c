/*
 * The split virtqueue and device initialisation against the simulated
 * device (//testing/virtiosim), under ASan and UBSan: ring wrap,
 * descriptor exhaustion, and a device that returns bad ids and lengths,
 * runs its used index ahead, refuses features or never resets.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <testing/check.h>
#include <virtio/virtq.h>
#include <virtiosim/virtiosim.h>

static const uint8_t MAC[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

struct fixture {
    struct vsim_net sim;
    struct virtq q;
    void *mem;
    uint8_t buf[VIRTIO_QUEUE_SIZE_MAX][64];
};

static struct fixture *setup_with(uint16_t dev_max, uint16_t want,
                                  uint64_t features)
{
    struct fixture *f = calloc(1, sizeof(*f));
    vsim_net_init(&f->sim, MAC, VIRTIO_F_VERSION_1 | features);
    f->sim.q[0].max = dev_max;
    f->mem = aligned_alloc(4096, virtq_mem_size(want));
    uint64_t feat;
    CHECK_EQ(virtio_negotiate(&f->sim.dev, features, 0, &feat), 0);
    CHECK_EQ(virtq_setup(&f->q, &f->sim.dev, 0, want, f->mem), 0);
    return f;
}

static struct fixture *setup(uint16_t dev_max, uint16_t want)
{
    return setup_with(dev_max, want, 0);
}

static void teardown(struct fixture *f)
{
    free(f->mem);
    free(f);
}

static int add_in(struct fixture *f, unsigned slot, uint32_t len)
{
    struct virtq_seg seg = {.addr = f->buf[slot], .len = len,
                            .device_writes = true};
    return virtq_add(&f->q, &seg, 1, f->buf[slot]);
}

static void size_follows_device(void)
{
    struct fixture *f = setup(200, 256);
    CHECK_EQ(f->q.size, 128); /* a power of 2 within the device's max */
    CHECK_EQ(f->sim.q[0].size, 128);
    teardown(f);

    struct vsim_net sim;
    struct virtq q;
    void *mem = aligned_alloc(4096, virtq_mem_size(16));
    vsim_net_init(&sim, MAC, VIRTIO_F_VERSION_1);
    CHECK_EQ(virtq_setup(&q, &sim.dev, 5, 16, mem), -ENOENT);
    CHECK_EQ(virtq_setup(&q, &sim.dev, 0, 12, mem), -EINVAL);
    free(mem);
}

static void ring_wraps(void)
{
    struct fixture *f = setup(8, 8);
    /* 5 rounds of 8 + a partial: indices wrap the ring and 16 bits
     * worth of ring positions are exercised by the modulo. */
    unsigned completed = 0;
    for (unsigned round = 0; round < 2000; round++) {
        unsigned k = round % 8;
        CHECK_EQ(add_in(f, k, 64), 0);
        virtq_kick(&f->q);
        int head = vsim_take_avail(&f->sim, 0);
        CHECK(head >= 0 && head < 8);
        vsim_push_used(&f->sim, 0, (uint32_t)head, 10);
        void *cookie;
        uint32_t len;
        bool ok;
        CHECK_EQ(virtq_get(&f->q, &cookie, &len, &ok), 1);
        CHECK(cookie == f->buf[k]);
        CHECK_EQ(len, 10);
        CHECK(ok);
        completed++;
    }
    CHECK_EQ(f->q.num_free, 8);
    CHECK_EQ(f->q.stats.completed, completed);
    CHECK_EQ(f->q.avail_idx, 2000);
    CHECK_EQ(f->sim.q[0].notifies, 2000);
    teardown(f);
}

static void exhaustion(void)
{
    struct fixture *f = setup(16, 16);
    for (unsigned i = 0; i < 16; i++)
        CHECK_EQ(add_in(f, i, 64), 0);
    CHECK_EQ(add_in(f, 0, 64), -EAGAIN);
    CHECK_EQ(f->q.stats.full, 1);
    CHECK_EQ(virtq_outstanding(&f->q), 16);

    /* Out of order completion: the last one first. */
    for (unsigned i = 0; i < 16; i++)
        (void)vsim_take_avail(&f->sim, 0);
    vsim_push_used(&f->sim, 0, 15, 0);
    void *cookie;
    uint32_t len;
    bool ok;
    CHECK_EQ(virtq_get(&f->q, &cookie, &len, &ok), 1);
    CHECK(cookie == f->buf[15]);
    /* One free: a chain of three does not fit, one of one does. */
    struct virtq_seg segs[3] = {
        {f->buf[0], 8, false}, {f->buf[1], 8, false}, {f->buf[2], 8, true}};
    CHECK_EQ(virtq_add(&f->q, segs, 3, f->buf[0]), -EAGAIN);
    CHECK_EQ(virtq_add(&f->q, segs, 1, f->buf[0]), 0);
    CHECK_EQ(virtq_add(&f->q, segs, 0, f->buf[0]), -EINVAL);
    CHECK_EQ(virtq_add(&f->q, segs, 1, NULL), -EINVAL);
    teardown(f);
}

static void chains_are_private(void)
{
    /* A device that scribbles over the descriptor table cannot break
     * the driver's free list: it lives in struct virtq. */
    struct fixture *f = setup(8, 8);
    struct virtq_seg segs[3] = {
        {f->buf[0], 8, false}, {f->buf[1], 16, true}, {f->buf[2], 16, true}};
    CHECK_EQ(virtq_add(&f->q, segs, 3, f->buf[0]), 0);
    int head = vsim_take_avail(&f->sim, 0);
    CHECK_EQ(f->q.desc[head].flags, VIRTQ_DESC_F_NEXT);
    memset(f->q.desc, 0xff, 8 * sizeof(struct virtq_desc));
    vsim_push_used(&f->sim, 0, (uint32_t)head, 32);
    void *cookie;
    uint32_t len;
    bool ok;
    CHECK_EQ(virtq_get(&f->q, &cookie, &len, &ok), 1);
    CHECK(ok && len == 32);
    CHECK_EQ(f->q.num_free, 8);
    for (unsigned i = 0; i < 8; i++)
        CHECK_EQ(add_in(f, i, 64), 0);
    teardown(f);
}

static void bad_ids_and_lengths(void)
{
    struct fixture *f = setup(8, 8);
    void *cookie = NULL;
    uint32_t len = 0;
    bool ok;
    CHECK_EQ(add_in(f, 3, 64), 0);
    int head = vsim_take_avail(&f->sim, 0);

    vsim_push_used(&f->sim, 0, 8, 0);           /* out of range */
    vsim_push_used(&f->sim, 0, 0xffffffffu, 0); /* far out of range */
    vsim_push_used(&f->sim, 0, (uint32_t)(head + 1) % 8, 0); /* never added */
    CHECK_EQ(virtq_get(&f->q, &cookie, &len, &ok), 0);
    CHECK_EQ(f->q.stats.bad_id, 3);

    vsim_push_used(&f->sim, 0, (uint32_t)head, 65); /* one byte too many */
    CHECK_EQ(virtq_get(&f->q, &cookie, &len, &ok), 1);
    CHECK(!ok);
    CHECK_EQ(len, 0);
    CHECK(cookie == f->buf[3]);
    CHECK_EQ(f->q.stats.bad_len, 1);
    CHECK_EQ(f->q.num_free, 8); /* the chain is ours again */

    vsim_push_used(&f->sim, 0, (uint32_t)head, 1); /* completed twice */
    CHECK_EQ(virtq_get(&f->q, &cookie, &len, &ok), 0);
    CHECK_EQ(f->q.stats.bad_id, 4);

    /* A device-readable chain has 0 writable bytes: any length is bad. */
    struct virtq_seg out = {f->buf[4], 64, false};
    CHECK_EQ(virtq_add(&f->q, &out, 1, f->buf[4]), 0);
    head = vsim_take_avail(&f->sim, 0);
    vsim_push_used(&f->sim, 0, (uint32_t)head, 1);
    CHECK_EQ(virtq_get(&f->q, &cookie, &len, &ok), 1);
    CHECK(!ok);
    teardown(f);
}

static void used_index_runs_ahead(void)
{
    struct fixture *f = setup(8, 8);
    void *cookie;
    uint32_t len;
    bool ok;
    CHECK_EQ(add_in(f, 0, 64), 0);
    /* Within one ring of garbage: each element checked, none valid. */
    vsim_set_used_idx(&f->sim, 0, 8);
    for (unsigned i = 0; i < 8; i++)
        f->sim.q[0].used->ring[i].id = 100 + i;
    CHECK_EQ(virtq_get(&f->q, &cookie, &len, &ok), 0);
    CHECK_EQ(f->q.stats.bad_id, 8);
    CHECK(!f->q.broken);

    /* More than a ring ahead: the queue stops, for good. */
    vsim_set_used_idx(&f->sim, 0, (uint16_t)(8 + 9));
    CHECK_EQ(virtq_get(&f->q, &cookie, &len, &ok), -EIO);
    CHECK(f->q.broken);
    CHECK_EQ(f->q.stats.bad_idx, 1);
    CHECK_EQ(add_in(f, 1, 64), -EIO);
    CHECK(!virtq_pending(&f->q));
    vsim_set_used_idx(&f->sim, 0, 9); /* even if it comes back */
    CHECK_EQ(virtq_get(&f->q, &cookie, &len, &ok), -EIO);
    teardown(f);
}

static void random_device(void)
{
    /* A device that answers with random ids and lengths, now and then
     * a valid completion: no out-of-bounds access, the accounting holds. */
    rng_seed(0x5eed);
    struct fixture *f = setup(32, 32);
    unsigned outstanding = 0;
    for (unsigned step = 0; step < 20000 && !f->q.broken; step++) {
        if (rng_below(2) == 0 && add_in(f, (unsigned)rng_below(32), 64) == 0)
            outstanding++;
        int head = rng_below(3) == 0 ? vsim_take_avail(&f->sim, 0) : -1;
        uint32_t id = head >= 0 && rng_below(4) != 0 ? (uint32_t)head
                                                      : (uint32_t)rng_bits();
        uint32_t l = rng_below(2) ? (uint32_t)rng_below(80)
                                  : (uint32_t)rng_bits();
        if (rng_below(2))
            vsim_push_used(&f->sim, 0, id, l);
        void *cookie;
        uint32_t len;
        bool ok;
        int rc;
        while ((rc = virtq_get(&f->q, &cookie, &len, &ok)) == 1) {
            CHECK(ok ? len <= 64 : len == 0);
            outstanding--;
        }
        CHECK(rc == 0);
        CHECK_EQ(virtq_outstanding(&f->q), outstanding);
    }
    CHECK(f->q.stats.bad_id > 0);
    CHECK(f->q.stats.bad_len > 0);
    CHECK(f->q.stats.completed > 0);
    teardown(f);
}

/* ---- notifications ---------------------------------------------- */

static void event_index_arithmetic(void)
{
    /* Notify iff event is in [old, new), modulo 2^16. */
    CHECK(virtq_need_event(0, 1, 0));
    CHECK(!virtq_need_event(1, 1, 0));      /* not reached yet */
    CHECK(!virtq_need_event(5, 5, 5));      /* nothing moved */
    CHECK(virtq_need_event(3, 10, 1));
    CHECK(!virtq_need_event(0, 10, 1));     /* already behind */
    CHECK(!virtq_need_event(10, 10, 1));
    /* Across the wrap of the 16-bit index. */
    CHECK(virtq_need_event(0xffff, 1, 0xfffe));
    CHECK(virtq_need_event(0, 1, 0xfffe));
    CHECK(!virtq_need_event(1, 1, 0xfffe));
    CHECK(!virtq_need_event(0xfffd, 1, 0xfffe));
    CHECK(virtq_need_event(0xfff0, 0x10, 0xffe0));
    /* Every event in a window of 256 from every start: exactly the ones
     * inside it, and the count is the window's length. */
    for (unsigned old = 0; old < 0x10000; old += 0x3fd) {
        for (unsigned n = 0; n <= 256; n += 51) {
            unsigned hits = 0;
            for (unsigned d = 0; d < 512; d++) {
                uint16_t ev = (uint16_t)(old + d - 128);
                bool in = d >= 128 && d < 128 + n;
                CHECK_EQ(virtq_need_event(ev, (uint16_t)(old + n),
                                          (uint16_t)old), in);
                hits += in;
            }
            CHECK_EQ(hits, n);
        }
    }
}

static void kick_honours_no_notify(void)
{
    struct fixture *f = setup(8, 8);
    CHECK(!f->q.event_idx);
    CHECK_EQ(add_in(f, 0, 64), 0);
    virtq_kick(&f->q);
    CHECK_EQ(f->sim.q[0].notifies, 1);
    virtq_kick(&f->q); /* nothing new */
    CHECK_EQ(f->sim.q[0].notifies, 1);
    vsim_want_notify(&f->sim, 0, false);
    for (unsigned i = 1; i < 4; i++) {
        CHECK_EQ(add_in(f, i, 64), 0);
        virtq_kick(&f->q);
    }
    CHECK_EQ(f->sim.q[0].notifies, 1);
    CHECK_EQ(f->q.stats.suppressed, 3);
    vsim_want_notify(&f->sim, 0, true);
    CHECK_EQ(add_in(f, 4, 64), 0);
    virtq_kick(&f->q);
    CHECK_EQ(f->sim.q[0].notifies, 2);
    CHECK_EQ(f->q.stats.notifies, 2);
    teardown(f);
}

static void kick_honours_avail_event(void)
{
    struct fixture *f = setup_with(8, 8, VIRTIO_RING_F_EVENT_IDX);
    CHECK(f->q.event_idx);
    CHECK(f->sim.accepted & VIRTIO_RING_F_EVENT_IDX);
    CHECK_EQ(f->q.avail->flags, 0); /* with event indices, always 0 */
    /* avail_event 0: the first buffer (index 0) is asked for. */
    CHECK_EQ(add_in(f, 0, 64), 0);
    virtq_kick(&f->q);
    CHECK_EQ(f->sim.q[0].notifies, 1);
    /* The device does not ask again: 3 more in 2 kicks, none sent. */
    CHECK_EQ(add_in(f, 1, 64), 0);
    CHECK_EQ(add_in(f, 2, 64), 0);
    virtq_kick(&f->q);
    CHECK_EQ(add_in(f, 3, 64), 0);
    virtq_kick(&f->q);
    CHECK_EQ(f->sim.q[0].notifies, 1);
    CHECK_EQ(f->q.stats.suppressed, 2);
    /* It asks (avail_event = 4, the next index): one kick for a batch
     * that passes it, then quiet again. */
    vsim_want_notify(&f->sim, 0, true);
    CHECK_EQ(add_in(f, 4, 64), 0);
    CHECK_EQ(add_in(f, 5, 64), 0);
    virtq_kick(&f->q);
    CHECK_EQ(f->sim.q[0].notifies, 2);
    CHECK_EQ(add_in(f, 6, 64), 0);
    virtq_kick(&f->q);
    CHECK_EQ(f->sim.q[0].notifies, 2);
    teardown(f);

    /* Across the wrap of the available index: the device asks at
     * 0xffff; the kick that moves the index from 0xfffe to 1 sends it. */
    f = setup_with(8, 8, VIRTIO_RING_F_EVENT_IDX);
    for (unsigned i = 0; i < 0xfffe; i++) {
        CHECK_EQ(add_in(f, 0, 64), 0);
        int head = vsim_take_avail(&f->sim, 0);
        vsim_push_used(&f->sim, 0, (uint32_t)head, 0);
        void *cookie;
        uint32_t len;
        bool ok;
        CHECK_EQ(virtq_get(&f->q, &cookie, &len, &ok), 1);
    }
    virtq_kick(&f->q); /* passes avail_event 0 at the start */
    CHECK_EQ(f->sim.q[0].notifies, 1);
    CHECK_EQ(f->q.avail_idx, 0xfffe);
    vsim_want_notify(&f->sim, 0, true); /* avail_event = 0xfffe */
    *(volatile uint16_t *)&f->sim.q[0].used->ring[8] = 0xffff;
    CHECK_EQ(add_in(f, 0, 64), 0);
    CHECK_EQ(add_in(f, 1, 64), 0);
    CHECK_EQ(add_in(f, 2, 64), 0);
    virtq_kick(&f->q);
    CHECK_EQ(f->q.avail_idx, 1);
    CHECK_EQ(f->sim.q[0].notifies, 2);
    teardown(f);
}

static void interrupts_as_asked(void)
{
    /* Flags: asked for, every used buffer interrupts; not, none does. */
    struct fixture *f = setup(8, 8);
    CHECK_EQ(f->q.avail->flags, VIRTQ_AVAIL_F_NO_INTERRUPT);
    for (unsigned i = 0; i < 4; i++)
        CHECK_EQ(add_in(f, i, 64), 0);
    vsim_push_used(&f->sim, 0, (uint32_t)vsim_take_avail(&f->sim, 0), 0);
    CHECK_EQ(f->sim.q[0].interrupts, 0);
    virtq_set_interrupts(&f->q, true);
    vsim_push_used(&f->sim, 0, (uint32_t)vsim_take_avail(&f->sim, 0), 0);
    vsim_push_used(&f->sim, 0, (uint32_t)vsim_take_avail(&f->sim, 0), 0);
    CHECK_EQ(f->sim.q[0].interrupts, 2);
    teardown(f);

    /* Event index: asked for, one interrupt however many are used
     * before the driver looks; asked again after consuming, one more. */
    f = setup_with(8, 8, VIRTIO_RING_F_EVENT_IDX);
    for (unsigned i = 0; i < 8; i++)
        CHECK_EQ(add_in(f, i, 64), 0);
    vsim_push_used(&f->sim, 0, (uint32_t)vsim_take_avail(&f->sim, 0), 0);
    CHECK_EQ(f->sim.q[0].interrupts, 0); /* not asked */
    void *cookie;
    uint32_t len;
    bool ok;
    CHECK_EQ(virtq_get(&f->q, &cookie, &len, &ok), 1);
    virtq_set_interrupts(&f->q, true);
    CHECK(!virtq_pending(&f->q));
    for (unsigned i = 0; i < 3; i++)
        vsim_push_used(&f->sim, 0, (uint32_t)vsim_take_avail(&f->sim, 0), 0);
    CHECK_EQ(f->sim.q[0].interrupts, 1);
    while (virtq_get(&f->q, &cookie, &len, &ok) == 1)
        ;
    virtq_set_interrupts(&f->q, true);
    vsim_push_used(&f->sim, 0, (uint32_t)vsim_take_avail(&f->sim, 0), 0);
    CHECK_EQ(f->sim.q[0].interrupts, 2);
    CHECK(virtq_pending(&f->q));
    CHECK_EQ(virtq_get(&f->q, &cookie, &len, &ok), 1);
    virtq_set_interrupts(&f->q, false);
    vsim_push_used(&f->sim, 0, (uint32_t)vsim_take_avail(&f->sim, 0), 0);
    CHECK_EQ(f->sim.q[0].interrupts, 2);
    CHECK_EQ(f->q.avail->flags, 0);
    teardown(f);
}

static void negotiation(void)
{
    struct vsim_net sim;
    uint64_t feat = 0;

    vsim_net_init(&sim, MAC, VIRTIO_F_VERSION_1 | 0x21);
    CHECK_EQ(virtio_negotiate(&sim.dev, 0x1, 0, &feat), 0);
    CHECK_EQ(feat, VIRTIO_F_VERSION_1 | 0x1); /* offered & wanted */
    CHECK_EQ(sim.accepted, feat);
    CHECK(sim.status & VIRTIO_STATUS_FEATURES_OK);

    vsim_net_init(&sim, MAC, 0x21); /* legacy only */
    CHECK_EQ(virtio_negotiate(&sim.dev, 0x1, 0, &feat), -ENOTSUP);
    CHECK(sim.status & VIRTIO_STATUS_FAILED);

    vsim_net_init(&sim, MAC, VIRTIO_F_VERSION_1);
    CHECK_EQ(virtio_negotiate(&sim.dev, 0, 0x20, &feat), -ENOTSUP);

    vsim_net_init(&sim, MAC, VIRTIO_F_VERSION_1);
    sim.refuse_features_ok = true;
    CHECK_EQ(virtio_negotiate(&sim.dev, 0, 0, &feat), -EIO);
    CHECK(sim.status & VIRTIO_STATUS_FAILED);

    vsim_net_init(&sim, MAC, VIRTIO_F_VERSION_1);
    sim.never_reset = true; /* bounded: does not hang */
    CHECK_EQ(virtio_negotiate(&sim.dev, 0, 0, &feat), -EIO);
}

static void config_reads(void)
{
    struct vsim_net sim;
    uint8_t mac[6];
    vsim_net_init(&sim, MAC, VIRTIO_F_VERSION_1);
    CHECK_EQ(virtio_config_read(&sim.dev, 0, mac, 6), 0);
    CHECK(memcmp(mac, MAC, 6) == 0);
    CHECK_EQ(virtio_config_read(&sim.dev, VIRTIO_CONFIG_MAX - 2, mac, 6),
             -EINVAL);
    CHECK_EQ(virtio_config_read(&sim.dev, UINT32_MAX, mac, 6), -EINVAL);
    sim.bump_generation = true; /* never stable: bounded retries */
    CHECK_EQ(virtio_config_read(&sim.dev, 0, mac, 6), -EIO);
}

static void mmio_cmdline(void)
{
    struct virtio_mmio_desc d[4];
    const char *bad = NULL;

    CHECK_EQ(virtio_mmio_parse_cmdline("", d, 4, &bad), 0);
    CHECK_EQ(virtio_mmio_parse_cmdline(
                 "console=ttyS0 virtio_mmio.device=512@0xfeb00e00:12 "
                 "x virtio_mmio.device=4K@0xd0000000:5:3",
                 d, 4, &bad),
             2);
    CHECK_EQ(d[0].size, 512);
    CHECK_EQ(d[0].addr, 0xfeb00e00u);
    CHECK_EQ(d[0].irq, 12);
    CHECK_EQ(d[1].size, 4096);
    CHECK_EQ(d[1].addr, 0xd0000000u);
    CHECK_EQ(d[1].irq, 5);
    /* More than fit: counted, only max stored. */
    CHECK_EQ(virtio_mmio_parse_cmdline(
                 "virtio_mmio.device=1@1:1 virtio_mmio.device=2@2:2", d, 1,
                 &bad),
             2);
    CHECK_EQ(d[0].size, 1);

    static const char *const malformed[] = {
        "virtio_mmio.device=",
        "virtio_mmio.device=512",
        "virtio_mmio.device=512@",
        "virtio_mmio.device=512@0xfeb00000",
        "virtio_mmio.device=512@0xfeb00000:",
        "virtio_mmio.device=0@0xfeb00000:1",
        "virtio_mmio.device=512@0xzz:1",
        "virtio_mmio.device=512@0xfeb00000:1x",
        "virtio_mmio.device=99999999999999999999@1:1",
        "virtio_mmio.device=16G@0xffffffffffffffff:1",
        "virtio_mmio.device=512@1:99999999999",
    };
    for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
        bad = NULL;
        CHECK_MSG(virtio_mmio_parse_cmdline(malformed[i], d, 4, &bad)
                      == -EINVAL,
                  malformed[i]);
        CHECK(bad == malformed[i]);
    }
}

int main(void)
{
    RUN(size_follows_device);
    RUN(ring_wraps);
    RUN(exhaustion);
    RUN(chains_are_private);
    RUN(bad_ids_and_lengths);
    RUN(used_index_runs_ahead);
    RUN(random_device);
    RUN(event_index_arithmetic);
    RUN(kick_honours_no_notify);
    RUN(kick_honours_avail_event);
    RUN(interrupts_as_asked);
    RUN(negotiation);
    RUN(config_reads);
    RUN(mmio_cmdline);
    return check_finish();
}
