/*
 * virtio-net behind <netdev/netdev.h>, against the simulated device
 * (//testing/virtiosim), under ASan and UBSan: zero-copy receive and
 * reposting on release, transmit by copy with checksum offload, back
 * pressure, and a device that lies about lengths and ids, runs ahead,
 * or never answers (netdev_wait must time out, not hang).
 */
#include <errno.h>
#include <stdio.h>
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
/* While parked: what the queues asked the device for, and frames that
 * "arrive" (injected into this device) during the first wait. */
static struct vsim_net *irq_sim;
static unsigned irq_arrivals;
static bool parked_with_interrupts;

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
    if (irq_sim != NULL) {
        bool ev = (irq_sim->accepted & VIRTIO_RING_F_EVENT_IDX) != 0;
        parked_with_interrupts =
            ev || (irq_sim->q[0].avail->flags == 0
                   && irq_sim->q[1].avail->flags == 0);
        for (; irq_arrivals > 0; irq_arrivals--)
            CHECK_EQ(vsim_net_inject(irq_sim, ARP, sizeof(ARP), NULL), 0);
    }
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
    irq_sim = NULL;
    irq_arrivals = 0;
    parked_with_interrupts = false;
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
    CHECK_EQ(nd->features,
             NETDEV_F_TX_CSUM | NETDEV_F_RX_CSUM | NETDEV_F_TX_SG);
    CHECK(!(sim.accepted & VIRTIO_NET_F_MRG_RXBUF)); /* not negotiated */
    struct vsim_net ev;
    open_dev(&ev, ALL | VIRTIO_RING_F_EVENT_IDX, NULL);
    CHECK(!(ev.accepted & VIRTIO_RING_F_EVENT_IDX)); /* nor this: the flags */
    CHECK(sim.status & VIRTIO_STATUS_DRIVER_OK);
    CHECK_EQ((uint16_t)(sim.q[0].avail->idx), VIRTIO_NET_RX_BUFS);
    CHECK(sim.q[0].notifies >= 1);

    /* No MAC offered: a locally administered unicast one. */
    struct vsim_net bare;
    nd = open_dev(&bare, VIRTIO_F_VERSION_1, NULL);
    CHECK_EQ(nd->mac[0] & 3, 2);
    CHECK_EQ(nd->features, NETDEV_F_TX_SG);

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
    char line[320], want[320];
    virtio_net_format_stats(vn, line, sizeof(line));
    snprintf(want, sizeof(want),
             "virtio-net: rx 0 frames, 0 dropped; tx %u frames (%llu fragments"
             " sent in place); rx buffers posted %u, kicks rx %llu tx %llu"
             " (%llu suppressed), interrupts 0, polls 0, parks 0",
             VIRTIO_NET_TX_BUFS + 1, (unsigned long long)st.tx_views,
             VIRTIO_NET_RX_BUFS, (unsigned long long)st.rx_kicks,
             (unsigned long long)st.tx_kicks,
             (unsigned long long)st.kicks_suppressed);
    CHECK_MSG(strcmp(line, want) == 0, line);
    CHECK_EQ(virtio_net_format_stats(vn, line, 8), (int)strlen(want));
    CHECK_EQ(strlen(line), 7); /* cut, terminated */
}

/* ---- scatter-gather transmit ----------------------------------------- */

/* Completions: each token counts its calls (a second call is a bug). */
#define TOKENS 4096
static unsigned done_calls[TOKENS];

static void on_done(void *arg)
{
    done_calls[(uintptr_t)arg]++;
}

static struct netdev_tx with_done(uintptr_t token)
{
    return (struct netdev_tx){.done = on_done, .done_arg = (void *)token};
}

/* One transmit chain the device takes, as the device reads it: its
 * descriptors (addresses, lengths) and the bytes gathered, read at the
 * moment the device takes it. */
struct chain {
    int head;
    unsigned ndesc;
    const uint8_t *addr[64];
    uint32_t len[64];
    uint8_t bytes[4096];
    size_t total;
};

static bool take_chain(struct vsim_net *sim, struct chain *c, bool complete)
{
    c->head = vsim_take_avail(sim, 1);
    c->ndesc = 0;
    c->total = 0;
    if (c->head < 0)
        return false;
    struct vsim_queue *q = &sim->q[1];
    uint16_t i = (uint16_t)c->head;
    for (;;) {
        if (!CHECK(i < q->size && c->ndesc < 64))
            return false;
        struct virtq_desc d = q->desc[i];
        CHECK(!(d.flags & VIRTQ_DESC_F_WRITE));
        c->addr[c->ndesc] = (const uint8_t *)(uintptr_t)d.addr;
        c->len[c->ndesc++] = d.len;
        if (!CHECK(c->total + d.len <= sizeof(c->bytes)))
            return false;
        memcpy(c->bytes + c->total, (const void *)(uintptr_t)d.addr, d.len);
        c->total += d.len;
        if (!(d.flags & VIRTQ_DESC_F_NEXT))
            break;
        i = d.next;
    }
    if (complete)
        vsim_push_used(sim, 1, (uint32_t)c->head, 0);
    return true;
}

static void send_lends_large_fragments(void)
{
    memset(done_calls, 0, sizeof(done_calls));
    struct vsim_net sim;
    struct virtio_net *vn;
    struct netdev *nd = open_dev(&sim, ALL, &vn);
    static uint8_t hdrs[54], payload[1000], tail[3], more[400];
    memset(hdrs, 0x11, sizeof(hdrs));
    memset(payload, 0x22, sizeof(payload));
    memset(tail, 0x33, sizeof(tail));
    memset(more, 0x44, sizeof(more));
    struct netdev_frag frags[4] = {
        {hdrs, sizeof(hdrs)}, {payload, sizeof(payload)},
        {tail, sizeof(tail)}, {more, sizeof(more)}};
    struct netdev_tx tx = with_done(1);
    tx.csum = true;
    tx.csum_start = 34;
    tx.csum_offset = 16;
    CHECK_EQ(netdev_send(nd, frags, 4, &tx), 0);
    CHECK_EQ(done_calls[1], 0);
    /* The payload was lent, not copied: what the device reads now is
     * what the caller's memory holds now. */
    payload[999] = 0x99;
    struct chain c;
    CHECK(take_chain(&sim, &c, false));
    CHECK_EQ(c.ndesc, 4); /* page(hdr + headers), payload, page(tail), more */
    CHECK_EQ(c.len[0], 12 + 54);
    CHECK(c.addr[1] == payload);
    CHECK_EQ(c.len[1], 1000);
    CHECK_EQ(c.len[2], 3);
    CHECK(c.addr[2] == c.addr[0] + 12 + 54); /* the same page, after */
    CHECK(c.addr[3] == more);
    CHECK_EQ(c.total, 12 + 54 + 1000 + 3 + 400);
    struct virtio_net_hdr h;
    memcpy(&h, c.bytes, 12);
    CHECK_EQ(h.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
    CHECK_EQ(h.csum_start, 34);
    CHECK_EQ(c.bytes[12], 0x11);
    CHECK_EQ(c.bytes[12 + 54 + 999], 0x99);
    CHECK_EQ(c.bytes[12 + 54 + 1000], 0x33);
    CHECK_EQ(c.bytes[12 + 54 + 1003 + 399], 0x44);
    /* Held until the device gives it back, then given back once. */
    CHECK_EQ(netdev_poll(nd), 0);
    CHECK_EQ(done_calls[1], 0);
    vsim_push_used(&sim, 1, (uint32_t)c.head, 0);
    CHECK_EQ(netdev_poll(nd), 0);
    CHECK_EQ(done_calls[1], 1);
    CHECK_EQ(netdev_poll(nd), 0);
    CHECK_EQ(done_calls[1], 1);

    /* Small fragments only: one descriptor, copied; still completed. */
    struct netdev_frag small[2] = {{hdrs, 14}, {tail, 3}};
    tx = with_done(2);
    CHECK_EQ(netdev_send(nd, small, 2, &tx), 0);
    tail[0] = 0;
    CHECK(take_chain(&sim, &c, true));
    CHECK_EQ(c.ndesc, 1);
    CHECK_EQ(c.bytes[12 + 14], 0x33);
    (void)netdev_poll(nd);
    CHECK_EQ(done_calls[2], 1);

    /* Refused sends never complete: the caller has its bytes back. */
    tx = with_done(3);
    CHECK_EQ(netdev_send(nd, frags, 0, &tx), -EINVAL);
    struct netdev_frag huge[2] = {{payload, 1000}, {payload, 1000}};
    CHECK_EQ(netdev_send(nd, huge, 2, &tx), -EMSGSIZE);
    struct virtio_net_stats st;
    virtio_net_get_stats(vn, &st);
    CHECK_EQ(st.tx_views, 2);
    CHECK_EQ(st.tx_completions, 2);
    CHECK_EQ(done_calls[3], 0);
}

/* NETDEV_MAX_FRAGS fragments, large and small interleaved: one chain of
 * every large one plus the copied runs between them. */
static void send_many_fragments(void)
{
    memset(done_calls, 0, sizeof(done_calls));
    struct vsim_net sim;
    struct netdev *nd = open_dev(&sim, ALL, NULL);
    static uint8_t bytes[NETDEV_MAX_FRAGS][130];
    struct netdev_frag frags[NETDEV_MAX_FRAGS];
    size_t total = 0;
    uint8_t expect[1600];
    for (size_t i = 0; i < NETDEV_MAX_FRAGS; i++) {
        /* 14, then 130 (lent) and 28 (copied) in turn: 1408 bytes. */
        size_t len = i == 0 ? 14 : (i % 2 ? 130 : 28);
        for (size_t k = 0; k < len; k++)
            bytes[i][k] = (uint8_t)(i * 31 + k);
        frags[i] = (struct netdev_frag){bytes[i], len};
        memcpy(expect + total, bytes[i], len);
        total += len;
    }
    CHECK_EQ(total, 1408);
    struct netdev_tx tx = with_done(7);
    CHECK_EQ(netdev_send(nd, frags, NETDEV_MAX_FRAGS, &tx), 0);
    struct chain c;
    CHECK(take_chain(&sim, &c, true));
    CHECK_EQ(c.ndesc, NETDEV_MAX_FRAGS); /* 9 lent, 9 runs in the page */
    struct virtio_net_stats st;
    virtio_net_get_stats(virtio_net_from_netdev(nd), &st);
    CHECK_EQ(st.tx_views, 9);
    CHECK_EQ(c.total, 12 + total);
    CHECK(memcmp(c.bytes + 12, expect, total) == 0);
    CHECK_EQ(done_calls[7], 0);
    CHECK_EQ(netdev_poll(nd), 0);
    CHECK_EQ(done_calls[7], 1);
}

/* A queue of 16 descriptors: a chain that does not fit in what is left
 * is refused whole (nothing published, no completion, the slot free),
 * one that fits goes; after the device gives chains back, it goes. */
static void send_descriptor_exhaustion(void)
{
    memset(done_calls, 0, sizeof(done_calls));
    struct vsim_net sim;
    struct virtio_net *vn;
    vsim_net_init(&sim, MAC, ALL);
    sim.q[1].max = 16;
    CHECK_EQ(virtio_net_open(&sim.dev, &env, &vn), 0);
    struct netdev *nd = virtio_net_netdev(vn);
    static uint8_t big[6][200];
    struct netdev_frag six[7] = {{ARP, 14}};
    for (size_t i = 0; i < 6; i++)
        six[1 + i] = (struct netdev_frag){big[i], 200};
    struct netdev_tx tx = with_done(1);
    CHECK_EQ(netdev_send(nd, six, 7, &tx), 0); /* 7 descriptors */
    tx = with_done(2);
    CHECK_EQ(netdev_send(nd, six, 7, &tx), 0); /* 14 */
    uint16_t avail = sim.q[1].avail->idx;
    tx = with_done(3);
    CHECK_EQ(netdev_send(nd, six, 7, &tx), -EAGAIN); /* 2 left */
    CHECK_EQ(sim.q[1].avail->idx, avail);
    CHECK_EQ(done_calls[3], 0);
    struct netdev_frag two[2] = {{ARP, 14}, {big[0], 200}};
    tx = with_done(4);
    CHECK_EQ(netdev_send(nd, two, 2, &tx), 0); /* exactly fits */
    tx = with_done(5);
    CHECK_EQ(netdev_send(nd, two, 2, &tx), -EAGAIN);
    /* The device gives back the first chain only: room for one more. */
    struct chain c;
    CHECK(take_chain(&sim, &c, true));
    CHECK_EQ(c.ndesc, 7);
    tx = with_done(3);
    CHECK_EQ(netdev_send(nd, six, 7, &tx), 0); /* reclaimed on demand */
    CHECK_EQ(done_calls[1], 1);
    CHECK_EQ(done_calls[2] + done_calls[4], 0);
    CHECK_EQ(vsim_net_take_tx(&sim), 3);
    CHECK_EQ(netdev_poll(nd), 0);
    for (uintptr_t t = 1; t <= 4; t++)
        CHECK_EQ(done_calls[t], 1);
    CHECK_EQ(done_calls[5], 0);
    struct virtio_net_stats st;
    virtio_net_get_stats(vn, &st);
    CHECK_EQ(st.tx_full, 2);
}

/* 3000 frames of 1 to 6 pieces through a 16-entry queue (the ring wraps
 * many times), the device taking a random number at a time: every frame
 * arrives whole and in order, and every completion comes exactly once,
 * only after the device took its chain. */
static void send_ring_wrap(void)
{
    memset(done_calls, 0, sizeof(done_calls));
    rng_seed(0x5e9d);
    struct vsim_net sim;
    struct virtio_net *vn;
    vsim_net_init(&sim, MAC, ALL);
    sim.q[1].max = 16;
    CHECK_EQ(virtio_net_open(&sim.dev, &env, &vn), 0);
    struct netdev *nd = virtio_net_netdev(vn);
    static uint8_t store[TOKENS][6][250];
    static size_t piece_len[TOKENS][6];
    static unsigned piece_count[TOKENS];
    unsigned sent = 0, received = 0, bad = 0;
    while (sent < 3000) {
        /* The next frame, in memory of its own (kept until done). */
        unsigned pieces = 1 + (unsigned)rng_below(6);
        struct netdev_frag frags[6];
        for (unsigned k = 0; k < pieces; k++) {
            size_t len = k == 0 ? 14 : 1 + (size_t)rng_below(250);
            for (size_t b = 0; b < len; b++)
                store[sent][k][b] = (uint8_t)(sent + k * 7 + b);
            frags[k] = (struct netdev_frag){store[sent][k], len};
            piece_len[sent][k] = len;
        }
        piece_count[sent] = pieces;
        struct netdev_tx tx = with_done(sent);
        int rc = netdev_send(nd, frags, pieces, &tx);
        if (rc == 0)
            sent++;
        else
            CHECK_EQ(rc, -EAGAIN);
        /* The device takes a few chains; each must be the next frame. */
        for (unsigned t = (unsigned)rng_below(4); t > 0; t--) {
            struct chain c;
            if (!take_chain(&sim, &c, true))
                break;
            uint8_t expect[1600];
            size_t len = 0;
            for (unsigned k = 0; k < piece_count[received]; k++) {
                memcpy(expect + len, store[received][k],
                       piece_len[received][k]);
                len += piece_len[received][k];
            }
            bad += c.total != 12 + len
                   || memcmp(c.bytes + 12, expect, len) != 0;
            bad += done_calls[received] != 0;
            received++;
        }
        if (rng_below(3) == 0)
            CHECK(netdev_poll(nd) >= 0);
    }
    while (vsim_net_take_tx(&sim) > 0)
        (void)netdev_poll(nd);
    (void)netdev_poll(nd);
    CHECK_EQ(bad, 0);
    unsigned once = 0;
    for (unsigned i = 0; i < sent; i++)
        once += done_calls[i] == 1;
    CHECK_EQ(once, sent);
}

/* A device that answers transmit chains with ids it never had, answers
 * one twice, or with a length: no completion for the bogus answers, one
 * for each real chain; chains never answered complete at close, after
 * the reset. */
static void send_bad_answers(void)
{
    memset(done_calls, 0, sizeof(done_calls));
    struct vsim_net sim;
    struct virtio_net *vn;
    struct netdev *nd = open_dev(&sim, ALL, &vn);
    static uint8_t big[300];
    struct netdev_frag f[2] = {{ARP, 14}, {big, sizeof(big)}};
    struct netdev_tx tx;
    for (uintptr_t t = 1; t <= 3; t++) {
        tx = with_done(t);
        CHECK_EQ(netdev_send(nd, f, 2, &tx), 0);
    }
    struct chain c1, c2;
    CHECK(take_chain(&sim, &c1, false));
    CHECK(take_chain(&sim, &c2, false));
    vsim_push_used(&sim, 1, 9999, 0);                /* never had it */
    vsim_push_used(&sim, 1, (uint32_t)c1.head + 1, 0); /* mid-chain */
    vsim_push_used(&sim, 1, (uint32_t)c1.head, 5000); /* a length */
    vsim_push_used(&sim, 1, (uint32_t)c1.head, 0);    /* again */
    CHECK_EQ(netdev_poll(nd), 0);
    CHECK_EQ(done_calls[1], 1);
    CHECK_EQ(done_calls[2] + done_calls[3], 0);
    struct virtio_net_stats st;
    virtio_net_get_stats(vn, &st);
    CHECK_EQ(st.bad_id, 3);
    /* Chains 2 and 3 are never answered: the close gives them back. */
    virtio_net_close(vn);
    CHECK_EQ(done_calls[1], 1);
    CHECK_EQ(done_calls[2], 1);
    CHECK_EQ(done_calls[3], 1);

    /* A device that will not reset may still read them: kept. */
    struct vsim_net stuck;
    nd = open_dev(&stuck, ALL, &vn);
    tx = with_done(4);
    CHECK_EQ(netdev_send(nd, f, 2, &tx), 0);
    stuck.never_reset = true;
    virtio_net_close(vn);
    CHECK_EQ(done_calls[4], 0);
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
    /* Not waiting: the queues do not ask the device to interrupt. */
    CHECK_EQ(sim.q[0].avail->flags, VIRTQ_AVAIL_F_NO_INTERRUPT);
    CHECK_EQ(sim.q[1].avail->flags, VIRTQ_AVAIL_F_NO_INTERRUPT);
    /* No interrupt comes: re-checked every VIRTIO_NET_IRQ_RECHECK_NS
     * until the deadline, never by the 1 ms poll; parked, the queues
     * ask for interrupts. */
    irq_sim = &sim;
    uint64_t deadline = clock_ns + 2 * VIRTIO_NET_IRQ_RECHECK_NS + 5;
    CHECK_EQ(netdev_wait(nd, deadline), -ETIMEDOUT);
    CHECK_EQ(irq_waits, 3);
    CHECK_EQ(sleeps, 0);
    CHECK_EQ(clock_ns, deadline);
    CHECK(parked_with_interrupts);
    CHECK_EQ(sim.q[0].avail->flags, VIRTQ_AVAIL_F_NO_INTERRUPT);
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

/* ---- what the device is made to do per frame ---------------------- */

/*
 * The stack gives buffers back one by one (lwIP frees each pbuf on its
 * own): posted at once, but the device is notified once for all of
 * them, by the next poll, unless so few are out that it may be starved.
 */
static void released_buffers_one_kick(void)
{
    struct vsim_net sim;
    struct virtio_net *vn;
    struct seen seen = {.keep = true};
    struct netdev *nd = open_dev(&sim, ALL, &vn);
    netdev_set_rx(nd, on_rx, &seen);
    for (unsigned i = 0; i < 32; i++)
        CHECK_EQ(vsim_net_inject(&sim, ARP, sizeof(ARP), NULL), 0);
    CHECK_EQ(netdev_poll(nd), 32);
    uint64_t kicks = sim.q[0].notifies;
    uint16_t avail = sim.q[0].avail->idx;
    for (size_t i = 0; i < seen.n; i++)
        netdev_buf_release(seen.bufs[i]);
    CHECK_EQ(sim.q[0].avail->idx, (uint16_t)(avail + 32)); /* all posted */
    CHECK_EQ(sim.q[0].notifies, kicks);                    /* none told */
    CHECK_EQ(netdev_poll(nd), 0);
    CHECK_EQ(sim.q[0].notifies, kicks + 1); /* 32 buffers, one kick */
    struct virtio_net_stats st;
    virtio_net_get_stats(vn, &st);
    CHECK_EQ(st.rx_posted, VIRTIO_NET_RX_BUFS + 32);
    CHECK_EQ(st.rx_kicks, sim.q[0].notifies);
    CHECK_EQ(st.polls, 2);

    /* Every buffer held: the device has none, so the first one back is
     * told at once; the rest wait for the poll (or the wait). */
    seen.n = 0;
    for (unsigned i = 0; i < VIRTIO_NET_RX_BUFS; i++)
        CHECK_EQ(vsim_net_inject(&sim, ARP, sizeof(ARP), NULL), 0);
    CHECK_EQ(netdev_poll(nd), (int)VIRTIO_NET_RX_BUFS);
    kicks = sim.q[0].notifies;
    netdev_buf_release(seen.bufs[0]);
    CHECK_EQ(sim.q[0].notifies, kicks + 1);
    for (size_t i = 1; i < seen.n; i++)
        netdev_buf_release(seen.bufs[i]);
    CHECK_EQ(sim.q[0].notifies, kicks + VIRTIO_NET_RX_KICK_BELOW);
    CHECK_EQ(netdev_wait(nd, clock_ns + 1), -ETIMEDOUT);
    CHECK_EQ(sim.q[0].notifies, kicks + VIRTIO_NET_RX_KICK_BELOW + 1);
}

/* A device that says it needs no notification gets none. */
static void device_suppression_honoured(void)
{
    struct vsim_net sim;
    struct seen seen = {0};
    struct netdev *nd = open_dev(&sim, ALL, NULL);
    netdev_set_rx(nd, on_rx, &seen);
    vsim_want_notify(&sim, 0, false);
    vsim_want_notify(&sim, 1, false);
    uint64_t rx = sim.q[0].notifies, tx = sim.q[1].notifies;
    struct netdev_frag f = {ARP, sizeof(ARP)};
    for (unsigned i = 0; i < 100; i++) {
        CHECK_EQ(vsim_net_inject(&sim, ARP, sizeof(ARP), NULL), 0);
        CHECK_EQ(netdev_poll(nd), 1); /* released at once: reposted */
        CHECK_EQ(netdev_send(nd, &f, 1, NULL), 0);
        CHECK_EQ(vsim_net_take_tx(&sim), 1);
    }
    CHECK_EQ(sim.q[0].notifies, rx);
    CHECK_EQ(sim.q[1].notifies, tx);
    struct virtio_net_stats st;
    virtio_net_get_stats((struct virtio_net *)nd, &st);
    CHECK(st.kicks_suppressed >= 200);
}

/* The device is asked to interrupt only while the receive thread is
 * parked. */
static void interrupts_only_while_parked(void)
{
    {
        struct vsim_net sim;
        struct virtio_net *vn;
        struct seen seen = {0};
        vsim_net_init(&sim, MAC, ALL);
        CHECK_EQ(virtio_net_open(&sim.dev, &irq_env, &vn), 0);
        struct netdev *nd = virtio_net_netdev(vn);
        netdev_set_rx(nd, on_rx, &seen);
        irq_sim = &sim;
        /* Busy: frames found by polling, the device told not to bother. */
        for (unsigned i = 0; i < 20; i++)
            CHECK_EQ(vsim_net_inject(&sim, ARP, sizeof(ARP), NULL), 0);
        CHECK_EQ(netdev_wait(nd, 0), 0);
        CHECK_EQ(netdev_poll(nd), 20);
        CHECK_EQ(sim.q[0].interrupts, 0);
        CHECK_EQ(irq_waits, 0);
        /* Parked: three frames arrive, each tells the driver (one is
         * taken: the handler runs once while the CPU is halted). */
        irq_arrivals = 3;
        CHECK_EQ(netdev_wait(nd, 0), 0);
        CHECK_EQ(irq_waits, 1);
        CHECK(parked_with_interrupts);
        CHECK_EQ(sim.q[0].interrupts, 3);
        CHECK_EQ(netdev_poll(nd), 3);
        /* Awake again: no more interrupts. */
        for (unsigned i = 0; i < 5; i++)
            CHECK_EQ(vsim_net_inject(&sim, ARP, sizeof(ARP), NULL), 0);
        CHECK_EQ(sim.q[0].interrupts, 3);
        CHECK_EQ(netdev_wait(nd, 0), 0);
        CHECK_EQ(irq_waits, 1);
        CHECK_EQ(netdev_poll(nd), 5);
        struct virtio_net_stats st;
        virtio_net_get_stats(vn, &st);
        CHECK_EQ(st.parks, 1);
    }
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
    unsigned lent_ok = 0;
    memset(done_calls, 0, sizeof(done_calls));
    for (unsigned step = 0; step < 5000; step++) {
        switch (rng_below(5)) {
        case 0:
            (void)vsim_net_inject(&sim, payload, 14 + rng_below(1000), NULL);
            break;
        case 1:
            if (rng_below(2)) {
                (void)netdev_send(nd, &f, 1, NULL);
            } else {
                /* Lent: completed exactly once, by the device or the
                 * close below. */
                struct netdev_frag lent[2] = {{ARP, 14}, {payload, 200}};
                struct netdev_tx tx = with_done(0);
                lent_ok += netdev_send(nd, lent, 2, &tx) == 0;
            }
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
    virtio_net_close(vn);
    CHECK(lent_ok > 0);
    CHECK_EQ(done_calls[0], lent_ok);
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
    RUN(send_lends_large_fragments);
    RUN(send_many_fragments);
    RUN(send_descriptor_exhaustion);
    RUN(send_ring_wrap);
    RUN(send_bad_answers);
    RUN(bad_receive_lengths);
    RUN(receive_checksums);
    RUN(wait_is_bounded);
    RUN(wait_on_interrupts);
    RUN(released_buffers_one_kick);
    RUN(device_suppression_honoured);
    RUN(interrupts_only_while_parked);
    RUN(device_runs_ahead);
    RUN(random_device);
    return check_finish();
}
