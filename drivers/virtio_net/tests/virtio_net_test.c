/*
 * virtio-net behind <netdev/netdev.h>, against the simulated device
 * (//testing/virtiosim), under ASan and UBSan: zero-copy receive and
 * reposting on release, transmit by copy with checksum offload, back
 * pressure, and a device that lies about lengths and ids, runs ahead,
 * or never answers (netdev_wait must time out, not hang).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <testing/check.h>
#include <virtio_net/virtio_net.h>
#include <virtiosim/virtiosim.h>

static const uint8_t MAC[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
static const uint64_t ALL = VIRTIO_F_VERSION_1 | VIRTIO_NET_F_MAC
                            | VIRTIO_NET_F_CSUM | VIRTIO_NET_F_GUEST_CSUM;

/* The test's environment: tracked pages, a clock that sleeping moves. */
#define MAX_ALLOCS 16
static void *allocs[MAX_ALLOCS];
static size_t nallocs;
static uint64_t clock_ns;
static uint64_t sleeps;
static struct vsim_net *deliver_on_sleep; /* a frame "arrives" while asleep */

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

static const uint8_t ARP[42] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2,
                                3,    4,    5,    6,    0x08, 0x06};

static void t_sleep(uint64_t deadline)
{
    sleeps++;
    if (deadline > clock_ns)
        clock_ns = deadline;
    if (deliver_on_sleep != NULL && sleeps == 3)
        (void)vsim_net_inject(deliver_on_sleep, ARP, sizeof(ARP), NULL);
}

static uint64_t t_random(void)
{
    return 0x1122334455667788u;
}

static const struct virtio_env env = {
    .alloc_pages = t_alloc,
    .now_ns = t_now,
    .sleep_until = t_sleep,
    .random64 = t_random,
};

/* Interrupts, simulated: attach hands out a token, a wait moves the clock
 * (a device that never interrupts). */
static int irq_token;
static int irq_attach_rc;
static uint64_t irq_waits;

static int t_irq_attach(struct virtio_dev *dev, void **ctx)
{
    (void)dev;
    *ctx = &irq_token;
    return irq_attach_rc;
}

static void t_irq_wait(void *ctx, uint64_t deadline)
{
    CHECK(ctx == &irq_token);
    irq_waits++;
    if (deadline > clock_ns)
        clock_ns = deadline;
}

static const struct virtio_env irq_env = {
    .alloc_pages = t_alloc,
    .now_ns = t_now,
    .sleep_until = t_sleep,
    .random64 = t_random,
    .irq_attach = t_irq_attach,
    .irq_wait = t_irq_wait,
};

static void begin(const char *name)
{
    (void)name;
    nallocs = 0;
    clock_ns = 1000;
    sleeps = 0;
    deliver_on_sleep = NULL;
    irq_waits = 0;
    irq_attach_rc = 0;
}

static void end(const char *name)
{
    (void)name;
    for (size_t i = 0; i < nallocs; i++)
        free(allocs[i]);
}

/* What the receive callback saw; it keeps the buffers it is told to. */
struct seen {
    struct netdev_buf *bufs[128];
    size_t n;
    bool keep;
};

static void on_rx(void *arg, struct netdev_buf *buf)
{
    struct seen *s = arg;
    if (s->n < 128)
        s->bufs[s->n++] = buf;
    if (!s->keep)
        netdev_buf_release(buf);
}

static struct netdev *open_dev(struct vsim_net *sim, uint64_t features,
                               struct virtio_net **vnp)
{
    struct virtio_net *vn = NULL;
    vsim_net_init(sim, MAC, features);
    CHECK_EQ(virtio_net_open(&sim->dev, &env, &vn), 0);
    if (vnp != NULL)
        *vnp = vn;
    return vn != NULL ? virtio_net_netdev(vn) : NULL;
}

static void brings_up(void)
{
    struct vsim_net sim;
    struct netdev *nd = open_dev(&sim, ALL | VIRTIO_NET_F_MRG_RXBUF, NULL);
    CHECK(memcmp(nd->mac, MAC, 6) == 0);
    CHECK_EQ(nd->mtu, 1500);
    CHECK_EQ(nd->features, NETDEV_F_TX_CSUM | NETDEV_F_RX_CSUM);
    CHECK(!(sim.accepted & VIRTIO_NET_F_MRG_RXBUF)); /* not negotiated */
    CHECK(sim.status & VIRTIO_STATUS_DRIVER_OK);
    CHECK_EQ((uint16_t)(sim.q[0].avail->idx), VIRTIO_NET_RX_BUFS);
    CHECK(sim.q[0].notifies >= 1);

    /* No MAC offered: a locally administered unicast one. */
    struct vsim_net bare;
    nd = open_dev(&bare, VIRTIO_F_VERSION_1, NULL);
    CHECK_EQ(nd->mac[0] & 3, 2);
    CHECK_EQ(nd->features, 0);

    struct vsim_net old;
    struct virtio_net *vn;
    vsim_net_init(&old, MAC, VIRTIO_NET_F_MAC); /* legacy only */
    CHECK_EQ(virtio_net_open(&old.dev, &env, &vn), -ENOTSUP);
    old.dev.device_id = VIRTIO_ID_BLOCK;
    CHECK_EQ(virtio_net_open(&old.dev, &env, &vn), -ENODEV);
}

static void receive_is_zero_copy(void)
{
    struct vsim_net sim;
    struct seen seen = {.keep = true};
    struct netdev *nd = open_dev(&sim, ALL, NULL);
    netdev_set_rx(nd, on_rx, &seen);

    uint8_t frame[60];
    for (size_t i = 0; i < sizeof(frame); i++)
        frame[i] = (uint8_t)(i * 7);
    uint16_t head = sim.q[0].avail->ring[0];
    uint8_t *page = (uint8_t *)(uintptr_t)sim.q[0].desc[head].addr;
    CHECK_EQ(vsim_net_inject(&sim, frame, sizeof(frame), NULL), 0);
    CHECK_EQ(netdev_poll(nd), 1);
    CHECK_EQ(seen.n, 1);
    struct netdev_buf *b = seen.bufs[0];
    CHECK_EQ(b->len, sizeof(frame));
    CHECK(memcmp(b->data, frame, sizeof(frame)) == 0);
    CHECK(b->data == page + sizeof(struct virtio_net_hdr)); /* the page */
    CHECK(b->dev == nd);
    CHECK_EQ(b->flags, 0);

    /* Held: not posted again until released. */
    uint16_t avail = sim.q[0].avail->idx;
    CHECK_EQ(netdev_poll(nd), 0);
    CHECK_EQ(sim.q[0].avail->idx, avail);
    netdev_buf_release(b);
    CHECK_EQ(sim.q[0].avail->idx, (uint16_t)(avail + 1));
    netdev_buf_release(b); /* twice: ignored and counted */
    CHECK_EQ(sim.q[0].avail->idx, (uint16_t)(avail + 1));
    struct virtio_net_stats st;
    virtio_net_get_stats((struct virtio_net *)nd, &st);
    CHECK_EQ(st.bad_release, 1);
    CHECK_EQ(st.rx_frames, 1);
}

static void held_buffers_starve_only_receive(void)
{
    struct vsim_net sim;
    struct seen seen = {.keep = true};
    struct netdev *nd = open_dev(&sim, ALL, NULL);
    netdev_set_rx(nd, on_rx, &seen);
    for (unsigned i = 0; i < VIRTIO_NET_RX_BUFS; i++)
        CHECK_EQ(vsim_net_inject(&sim, ARP, sizeof(ARP), NULL), 0);
    CHECK_EQ(vsim_net_inject(&sim, ARP, sizeof(ARP), NULL), -EAGAIN);
    CHECK_EQ(netdev_poll(nd), (int)VIRTIO_NET_RX_BUFS);
    CHECK_EQ(vsim_net_inject(&sim, ARP, sizeof(ARP), NULL), -EAGAIN);
    /* Released in another order than received: all posted again. */
    for (size_t i = seen.n; i-- > 0;)
        netdev_buf_release(seen.bufs[i]);
    for (unsigned i = 0; i < VIRTIO_NET_RX_BUFS; i++)
        CHECK_EQ(vsim_net_inject(&sim, ARP, sizeof(ARP), NULL), 0);
    seen.keep = false;
    CHECK_EQ(netdev_poll(nd), (int)VIRTIO_NET_RX_BUFS);
}

static void no_receiver_drops(void)
{
    struct vsim_net sim;
    struct virtio_net *vn;
    struct netdev *nd = open_dev(&sim, ALL, &vn);
    CHECK_EQ(vsim_net_inject(&sim, ARP, sizeof(ARP), NULL), 0);
    CHECK_EQ(netdev_poll(nd), 0);
    struct virtio_net_stats st;
    virtio_net_get_stats(vn, &st);
    CHECK_EQ(st.rx_dropped, 1);
    CHECK_EQ(vsim_net_inject(&sim, ARP, sizeof(ARP), NULL), 0);
}

static void send_copies_fragments(void)
{
    struct vsim_net sim;
    struct netdev *nd = open_dev(&sim, ALL, NULL);
    uint8_t a[14], b[100], c[3];
    memset(a, 0xaa, sizeof(a));
    memset(b, 0xbb, sizeof(b));
    memset(c, 0xcc, sizeof(c));
    struct netdev_frag frags[3] = {{a, 14}, {b, 100}, {c, 3}};
    struct netdev_tx tx = {.csum = true, .csum_start = 34,
                           .csum_offset = 6};
    CHECK_EQ(netdev_send(nd, frags, 3, &tx), 0);
    memset(b, 0, sizeof(b)); /* the caller may reuse its buffers at once */
    CHECK_EQ(vsim_net_take_tx(&sim), 1);
    const struct vsim_frame *f = &sim.tx[0];
    CHECK_EQ(f->len, 12 + 117);
    struct virtio_net_hdr hdr;
    memcpy(&hdr, f->data, 12);
    CHECK_EQ(hdr.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
    CHECK_EQ(hdr.csum_start, 34);
    CHECK_EQ(hdr.csum_offset, 6);
    CHECK_EQ(f->data[12], 0xaa);
    CHECK_EQ(f->data[12 + 14], 0xbb);
    CHECK_EQ(f->data[12 + 113], 0xbb);
    CHECK_EQ(f->data[12 + 114], 0xcc);

    CHECK_EQ(netdev_send(nd, frags, 0, NULL), -EINVAL);
    CHECK_EQ(netdev_send(nd, frags, NETDEV_MAX_FRAGS + 1, NULL), -EINVAL);
    struct netdev_frag small = {a, 13};
    CHECK_EQ(netdev_send(nd, &small, 1, NULL), -EINVAL);
    static uint8_t big[1515];
    struct netdev_frag toobig = {big, sizeof(big)};
    CHECK_EQ(netdev_send(nd, &toobig, 1, NULL), -EMSGSIZE);
    toobig.len = 1514;
    CHECK_EQ(netdev_send(nd, &toobig, 1, NULL), 0);
    tx.csum_start = 110; /* 110 + 6 + 2 > 117 */
    CHECK_EQ(netdev_send(nd, frags, 3, &tx), -EINVAL);

    struct vsim_net plain;
    nd = open_dev(&plain, VIRTIO_F_VERSION_1 | VIRTIO_NET_F_MAC, NULL);
    tx.csum_start = 34;
    CHECK_EQ(netdev_send(nd, frags, 3, &tx), -EINVAL); /* no TX_CSUM */
    CHECK_EQ(netdev_send(nd, frags, 3, NULL), 0);
}

static void transmit_back_pressure(void)
{
    struct vsim_net sim;
    struct virtio_net *vn;
    struct netdev *nd = open_dev(&sim, ALL, &vn);
    struct netdev_frag f = {ARP, sizeof(ARP)};
    for (unsigned i = 0; i < VIRTIO_NET_TX_BUFS; i++)
        CHECK_EQ(netdev_send(nd, &f, 1, NULL), 0);
    CHECK_EQ(netdev_send(nd, &f, 1, NULL), -EAGAIN);
    CHECK_EQ(vsim_net_take_tx(&sim), VIRTIO_NET_TX_BUFS);
    CHECK_EQ(netdev_send(nd, &f, 1, NULL), 0); /* reclaimed on demand */
    struct virtio_net_stats st;
    virtio_net_get_stats(vn, &st);
    CHECK_EQ(st.tx_full, 1);
    CHECK_EQ(st.tx_frames, VIRTIO_NET_TX_BUFS + 1);
}

static void bad_receive_lengths(void)
{
    struct vsim_net sim;
    struct virtio_net *vn;
    struct seen seen = {0};
    struct netdev *nd = open_dev(&sim, ALL, &vn);
    netdev_set_rx(nd, on_rx, &seen);
    uint16_t avail = sim.q[0].avail->idx;

    int h1 = vsim_take_avail(&sim, 0);
    vsim_push_used(&sim, 0, (uint32_t)h1, 4097); /* beyond the page */
    int h2 = vsim_take_avail(&sim, 0);
    vsim_push_used(&sim, 0, (uint32_t)h2, 12 + 13); /* no Ethernet header */
    int h3 = vsim_take_avail(&sim, 0);
    vsim_push_used(&sim, 0, (uint32_t)h3, 12 + 1600); /* > MTU */
    vsim_push_used(&sim, 0, 9999, 60);                /* unknown id */
    CHECK_EQ(netdev_poll(nd), 0);
    CHECK_EQ(seen.n, 0);
    struct virtio_net_stats st;
    virtio_net_get_stats(vn, &st);
    CHECK_EQ(st.bad_len, 1);
    CHECK_EQ(st.bad_rx_len, 3);
    CHECK_EQ(st.bad_id, 1);
    /* Every buffer went back to the device. */
    CHECK_EQ(sim.q[0].avail->idx, (uint16_t)(avail + 3));
    CHECK_EQ(vsim_net_inject(&sim, ARP, sizeof(ARP), NULL), 0);
    CHECK_EQ(netdev_poll(nd), 1);
}

static uint16_t fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)sum;
}

static void receive_checksums(void)
{
    struct vsim_net sim;
    struct seen seen = {0};
    struct netdev *nd = open_dev(&sim, ALL, NULL);
    netdev_set_rx(nd, on_rx, &seen);

    /* A UDP datagram with a partial checksum: the field holds the
     * pseudo-header sum (here just a constant), the driver folds in the
     * rest. */
    uint8_t frame[14 + 20 + 8 + 5] = {0};
    frame[12] = 0x08;
    uint8_t *udp = frame + 34;
    udp[4] = 0;
    udp[5] = 13;
    memcpy(udp + 8, "hello", 5);
    udp[6] = 0x12;
    udp[7] = 0x34;
    struct virtio_net_hdr hdr = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
                                 .csum_start = 34, .csum_offset = 6};
    CHECK_EQ(vsim_net_inject(&sim, frame, sizeof(frame), &hdr), 0);
    CHECK_EQ(netdev_poll(nd), 1);
    CHECK_EQ(seen.bufs[0]->flags, NETDEV_RX_CSUM_VALID);
    /* The UDP part with the completed field, plus the pseudo-header sum
     * it replaced, sums to 0xffff: a receiver's check passes. */
    uint32_t sum = 0;
    const uint8_t *got = seen.bufs[0]->data + 34;
    for (size_t i = 0; i + 1 < 13; i += 2)
        sum += (uint32_t)got[i] << 8 | got[i + 1];
    sum += (uint32_t)got[12] << 8;
    CHECK_EQ(fold(sum + 0x1234), 0xffff);

    hdr.flags = VIRTIO_NET_HDR_F_DATA_VALID;
    CHECK_EQ(vsim_net_inject(&sim, frame, sizeof(frame), &hdr), 0);
    CHECK_EQ(netdev_poll(nd), 1);
    CHECK_EQ(seen.bufs[1]->flags, NETDEV_RX_CSUM_VALID);

    /* A partial checksum that points outside the frame: dropped. */
    hdr = (struct virtio_net_hdr){.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
                                  .csum_start = 40, .csum_offset = 6000};
    CHECK_EQ(vsim_net_inject(&sim, frame, sizeof(frame), &hdr), 0);
    CHECK_EQ(netdev_poll(nd), 0);
    struct virtio_net_stats st;
    virtio_net_get_stats((struct virtio_net *)nd, &st);
    CHECK_EQ(st.bad_rx_csum, 1);
}

static void wait_is_bounded(void)
{
    struct vsim_net sim;
    struct netdev *nd = open_dev(&sim, ALL, NULL);
    /* A device that never answers: the deadline ends the wait. */
    CHECK_EQ(netdev_wait(nd, 1000 + 50 * VIRTIO_NET_POLL_NS), -ETIMEDOUT);
    CHECK(clock_ns >= 1000 + 50 * VIRTIO_NET_POLL_NS);
    CHECK(sleeps <= 51);
    /* Something pending: at once. */
    CHECK_EQ(vsim_net_inject(&sim, ARP, sizeof(ARP), NULL), 0);
    sleeps = 0;
    CHECK_EQ(netdev_wait(nd, 0), 0);
    CHECK_EQ(sleeps, 0);
    CHECK_EQ(netdev_poll(nd), 0); /* no receiver: dropped */
    /* A frame arriving while asleep wakes the wait at the next check. */
    deliver_on_sleep = &sim;
    CHECK_EQ(netdev_wait(nd, 0), 0);
    CHECK_EQ(sleeps, 3);
}

static void wait_on_interrupts(void)
{
    struct vsim_net sim;
    struct virtio_net *vn;
    vsim_net_init(&sim, MAC, ALL);
    CHECK_EQ(virtio_net_open(&sim.dev, &irq_env, &vn), 0);
    struct netdev *nd = virtio_net_netdev(vn);
    struct virtio_net_stats st;
    virtio_net_get_stats(vn, &st);
    CHECK(st.interrupts);
    /* The queues ask the device to interrupt. */
    CHECK_EQ(sim.q[0].avail->flags, 0);
    CHECK_EQ(sim.q[1].avail->flags, 0);
    /* No interrupt comes: re-checked every VIRTIO_NET_IRQ_RECHECK_NS
     * until the deadline, never by the 1 ms poll. */
    uint64_t deadline = clock_ns + 2 * VIRTIO_NET_IRQ_RECHECK_NS + 5;
    CHECK_EQ(netdev_wait(nd, deadline), -ETIMEDOUT);
    CHECK_EQ(irq_waits, 3);
    CHECK_EQ(sleeps, 0);
    CHECK_EQ(clock_ns, deadline);
    CHECK(virtio_net_from_netdev(nd) == vn);

    /* A transport without interrupts: polling, and the device is told
     * not to bother. */
    struct vsim_net plain;
    irq_attach_rc = -ENOTSUP;
    irq_waits = 0;
    vsim_net_init(&plain, MAC, ALL);
    CHECK_EQ(virtio_net_open(&plain.dev, &irq_env, &vn), 0);
    virtio_net_get_stats(vn, &st);
    CHECK(!st.interrupts);
    CHECK_EQ(plain.q[0].avail->flags, VIRTQ_AVAIL_F_NO_INTERRUPT);
    CHECK_EQ(netdev_wait(virtio_net_netdev(vn), clock_ns + 3000000),
             -ETIMEDOUT);
    CHECK_EQ(irq_waits, 0);
    CHECK_EQ(sleeps, 3);
}

static void device_runs_ahead(void)
{
    struct vsim_net sim;
    struct virtio_net *vn;
    struct netdev *nd = open_dev(&sim, ALL, &vn);
    vsim_set_used_idx(&sim, 0, 5000);
    CHECK_EQ(netdev_poll(nd), -EIO);
    CHECK_EQ(netdev_poll(nd), -EIO);
    CHECK_EQ(netdev_wait(nd, 0), 0); /* returns, so the caller sees -EIO */
    struct virtio_net_stats st;
    virtio_net_get_stats(vn, &st);
    CHECK_EQ(st.bad_idx, 1);
    vsim_set_used_idx(&sim, 1, 5000);
    struct netdev_frag f = {ARP, sizeof(ARP)};
    (void)netdev_poll(nd);
    CHECK_EQ(netdev_send(nd, &f, 1, NULL), -EIO);
    virtio_net_close(vn);
    CHECK_EQ(sim.status, 0);
    CHECK_EQ(netdev_send(nd, &f, 1, NULL), -ENOTCONN);
    CHECK_EQ(netdev_poll(nd), -ENOTCONN);
}

static void random_device(void)
{
    /* Valid traffic interleaved with random used elements on both
     * queues: no out-of-bounds access, no hang; counted. */
    rng_seed(0x7e7);
    struct vsim_net sim;
    struct virtio_net *vn;
    struct seen seen = {0};
    struct netdev *nd = open_dev(&sim, ALL, &vn);
    netdev_set_rx(nd, on_rx, &seen);
    struct netdev_frag f = {ARP, sizeof(ARP)};
    static uint8_t payload[1014];
    int delivered = 0;
    for (unsigned step = 0; step < 5000; step++) {
        switch (rng_below(5)) {
        case 0:
            (void)vsim_net_inject(&sim, payload, 14 + rng_below(1000), NULL);
            break;
        case 1:
            (void)netdev_send(nd, &f, 1, NULL);
            break;
        case 2:
            (void)vsim_net_take_tx(&sim);
            break;
        case 3: {
            unsigned q = (unsigned)rng_below(2);
            int head = rng_below(2) ? vsim_take_avail(&sim, q) : -1;
            vsim_push_used(&sim, q,
                           head >= 0 ? (uint32_t)head : (uint32_t)rng_bits(),
                           (uint32_t)rng_bits());
            break;
        }
        default: {
            int n = netdev_poll(nd);
            CHECK(n >= 0);
            if (n > 0)
                delivered += n;
            seen.n = 0;
        }
        }
    }
    struct virtio_net_stats st;
    virtio_net_get_stats(vn, &st);
    CHECK(delivered > 0);
    CHECK(st.bad_id + st.bad_len + st.bad_rx_len > 0);
    CHECK_EQ(st.rx_frames, (uint64_t)delivered);
}

int main(void)
{
    check_set_fixture(begin, end);
    RUN(brings_up);
    RUN(receive_is_zero_copy);
    RUN(held_buffers_starve_only_receive);
    RUN(no_receiver_drops);
    RUN(send_copies_fragments);
    RUN(transmit_back_pressure);
    RUN(bad_receive_lengths);
    RUN(receive_checksums);
    RUN(wait_is_bounded);
    RUN(wait_on_interrupts);
    RUN(device_runs_ahead);
    RUN(random_device);
    return check_finish();
}
