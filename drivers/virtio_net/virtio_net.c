/*
 * virtio-net behind <netdev/netdev.h>: receive into posted pages handed
 * to the stack as they are; transmit as a chain of a driver page (the
 * virtio-net header and the small fragments, copied) and the caller's
 * larger fragments as they are (when the caller gives a completion),
 * or by copy into the driver page.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <virtio/virtq.h>
#include <virtio_net/virtio_net.h>

#define PAGE 4096u
#define HDR sizeof(struct virtio_net_hdr)
#define ETH_HLEN 14u
#define QUEUE_SIZE 256u
#define RXQ 0u
#define TXQ 1u

struct rx_slot {
    struct netdev_buf buf;
    uint8_t *page;
    bool held; /* the stack has it */
};

struct tx_slot {
    uint8_t *page;
    bool busy; /* the device has it */
    /* The caller's completion: the chain points into its memory. */
    void (*done)(void *arg);
    void *done_arg;
};

struct virtio_net {
    struct netdev nd;
    struct virtio_dev *dev;
    struct virtio_env env;
    bool closed;
    void *irq; /* env.irq_attach's context; NULL: poll */
    bool irq_on; /* the queues ask the device to interrupt */
    struct virtq rx, tx;
    struct rx_slot rxs[VIRTIO_NET_RX_BUFS];
    struct tx_slot txs[VIRTIO_NET_TX_BUFS];
    struct virtio_net_stats stats;
};

static struct virtio_net *of(struct netdev *nd)
{
    return (struct virtio_net *)((char *)nd - offsetof(struct virtio_net, nd));
}

static size_t pages_for(size_t bytes)
{
    return (bytes + PAGE - 1) / PAGE;
}

static int post_rx(struct virtio_net *vn, struct rx_slot *s)
{
    struct virtq_seg seg = {.addr = s->page, .len = PAGE,
                            .device_writes = true};
    s->held = false;
    return virtq_add(&vn->rx, &seg, 1, s);
}

/* Complete a partial checksum the device left (VIRTIO_NET_HDR_F_NEEDS_
 * CSUM): the field holds the pseudo-header sum; fold in the rest. */
static bool complete_csum(uint8_t *frame, size_t len, uint16_t start,
                          uint16_t offset)
{
    if ((size_t)start + offset + 2 > len)
        return false;
    uint32_t sum = 0;
    size_t i = start;
    for (; i + 1 < len; i += 2)
        sum += (uint32_t)frame[i] << 8 | frame[i + 1];
    if (i < len)
        sum += (uint32_t)frame[i] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    uint16_t c = (uint16_t)~sum;
    frame[start + offset] = (uint8_t)(c >> 8);
    frame[start + offset + 1] = (uint8_t)c;
    return true;
}

/* The device is done with a slot: it is free, and the caller's bytes
 * are the caller's again. */
static void tx_finished(struct virtio_net *vn, struct tx_slot *s)
{
    void (*done)(void *) = s->done;
    s->busy = false;
    s->done = NULL;
    if (done != NULL) {
        vn->stats.tx_completions++;
        done(s->done_arg);
    }
}

static void reclaim_tx(struct virtio_net *vn)
{
    void *cookie;
    uint32_t len;
    bool ok;

    /* A length on a transmit chain means nothing (it has no writable
     * bytes; virtq counts a non-zero one): the chain is back either way.
     * An id the driver did not hand out never gets here (virtq). */
    for (unsigned budget = vn->tx.size; budget > 0; budget--) {
        if (virtq_get(&vn->tx, &cookie, &len, &ok) != 1)
            break;
        tx_finished(vn, cookie);
    }
}

/*
 * The chain for one frame: segs[0] is the slot's page (the virtio-net
 * header, then each fragment of at most VIRTIO_NET_TX_COPYBREAK bytes,
 * copied); a larger fragment is a descriptor of its own pointing at the
 * caller's bytes when `views` (the caller gave a completion), else it is
 * copied too. Copied bytes that follow each other in the page share a
 * descriptor. Returns the number of segments (at most 1 + n); *lent
 * counts the caller's fragments among them. Small fragments are copied
 * because each descriptor costs the device a lookup and a transfer of
 * its own, more than copying a few header bytes costs here.
 */
static size_t tx_chain(uint8_t *page, const struct netdev_frag *frags,
                       size_t n, bool views,
                       struct virtq_seg segs[1 + NETDEV_MAX_FRAGS],
                       size_t *lent)
{
    size_t off = HDR, nseg = 1;
    *lent = 0;
    segs[0] = (struct virtq_seg){.addr = page, .len = HDR};
    for (size_t i = 0; i < n; i++) {
        size_t len = frags[i].len;
        if (len == 0)
            continue;
        if (views && len > VIRTIO_NET_TX_COPYBREAK) {
            segs[nseg++] = (struct virtq_seg){.addr = frags[i].data,
                                              .len = (uint32_t)len};
            (*lent)++;
            continue;
        }
        memcpy(page + off, frags[i].data, len);
        struct virtq_seg *last = &segs[nseg - 1];
        if ((const uint8_t *)last->addr + last->len == page + off)
            last->len += (uint32_t)len;
        else
            segs[nseg++] = (struct virtq_seg){.addr = page + off,
                                              .len = (uint32_t)len};
        off += len;
    }
    return nseg;
}

static int vn_send(struct netdev *nd, const struct netdev_frag *frags,
                   size_t n, const struct netdev_tx *tx)
{
    struct virtio_net *vn = of(nd);
    size_t total = 0;

    if (vn->closed || vn->tx.broken)
        return vn->closed ? -ENOTCONN : -EIO;
    if (n == 0 || n > NETDEV_MAX_FRAGS)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (frags[i].len > 0 && frags[i].data == NULL)
            return -EINVAL;
        total += frags[i].len;
        if (total > (size_t)nd->mtu + ETH_HLEN)
            return -EMSGSIZE;
    }
    if (total < ETH_HLEN)
        return -EINVAL;
    struct virtio_net_hdr hdr = {.gso_type = VIRTIO_NET_HDR_GSO_NONE};
    if (tx != NULL && tx->csum) {
        if (!(nd->features & NETDEV_F_TX_CSUM)
            || (size_t)tx->csum_start + tx->csum_offset + 2 > total)
            return -EINVAL;
        hdr.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
        hdr.csum_start = tx->csum_start;
        hdr.csum_offset = tx->csum_offset;
    }
    bool views = tx != NULL && tx->done != NULL;
    if (views && !(nd->features & NETDEV_F_TX_SG))
        return -EINVAL;

    struct tx_slot *s = NULL;
    for (int pass = 0; pass < 2 && s == NULL; pass++) {
        if (pass == 1)
            reclaim_tx(vn);
        for (unsigned i = 0; i < VIRTIO_NET_TX_BUFS; i++)
            if (!vn->txs[i].busy) {
                s = &vn->txs[i];
                break;
            }
    }
    if (s == NULL) {
        vn->stats.tx_full++;
        return -EAGAIN;
    }
    memcpy(s->page, &hdr, HDR);
    struct virtq_seg segs[1 + NETDEV_MAX_FRAGS];
    size_t lent;
    size_t nseg = tx_chain(s->page, frags, n, views, segs, &lent);
    /* Not enough descriptors for the whole chain: nothing is published,
     * the slot stays free and the caller keeps its fragments. */
    int rc = virtq_add(&vn->tx, segs, nseg, s);
    if (rc == -EAGAIN) {
        reclaim_tx(vn);
        rc = virtq_add(&vn->tx, segs, nseg, s);
    }
    if (rc != 0) {
        if (rc == -EAGAIN)
            vn->stats.tx_full++;
        return rc;
    }
    s->busy = true;
    s->done = views ? tx->done : NULL;
    s->done_arg = views ? tx->done_arg : NULL;
    vn->stats.tx_views += lent;
    virtq_kick(&vn->tx);
    vn->stats.tx_frames++;
    vn->stats.tx_bytes += total;
    return 0;
}

/* One used receive buffer: deliver it, or post it again. Returns 1 if
 * delivered. */
static int rx_one(struct virtio_net *vn, struct rx_slot *s, uint32_t len,
                  bool len_ok)
{
    if (!len_ok || len < HDR + ETH_HLEN
        || len - HDR > (size_t)vn->nd.mtu + ETH_HLEN + 4 /* a VLAN tag */) {
        vn->stats.bad_rx_len++;
        post_rx(vn, s);
        return 0;
    }
    struct virtio_net_hdr hdr;
    memcpy(&hdr, s->page, HDR); /* copied once from the device's page */
    uint8_t *frame = s->page + HDR;
    size_t flen = len - HDR;
    uint32_t flags = 0;
    if (vn->dev->features & VIRTIO_NET_F_GUEST_CSUM) {
        if (hdr.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
            if (!complete_csum(frame, flen, hdr.csum_start,
                               hdr.csum_offset)) {
                vn->stats.bad_rx_csum++;
                post_rx(vn, s);
                return 0;
            }
            flags |= NETDEV_RX_CSUM_VALID;
        } else if (hdr.flags & VIRTIO_NET_HDR_F_DATA_VALID) {
            flags |= NETDEV_RX_CSUM_VALID;
        }
    }
    if (vn->nd.rx == NULL) {
        vn->stats.rx_dropped++;
        post_rx(vn, s);
        return 0;
    }
    s->buf.data = frame;
    s->buf.len = flen;
    s->buf.flags = flags;
    s->buf.next = NULL; /* one buffer per frame */
    s->held = true;
    vn->stats.rx_frames++;
    vn->stats.rx_bytes += flen;
    vn->nd.rx(vn->nd.rx_arg, &s->buf);
    return 1;
}

/* Interrupts are asked for only while the thread is parked in
 * netdev_wait: while it polls it finds the used buffers itself, and an
 * interrupt per buffer would only cost both sides a round trip. */
static void interrupts(struct virtio_net *vn, bool on)
{
    if (vn->irq == NULL || vn->irq_on == on)
        return;
    vn->irq_on = on;
    virtq_set_interrupts(&vn->rx, on);
    virtq_set_interrupts(&vn->tx, on);
}

static int vn_poll(struct netdev *nd)
{
    struct virtio_net *vn = of(nd);
    int delivered = 0;
    void *cookie;
    uint32_t len;
    bool ok;

    if (vn->closed)
        return -ENOTCONN;
    vn->stats.polls++;
    reclaim_tx(vn);
    for (unsigned budget = vn->rx.size; budget > 0; budget--) {
        int rc = virtq_get(&vn->rx, &cookie, &len, &ok);
        if (rc < 0)
            return rc;
        if (rc == 0)
            break;
        delivered += rx_one(vn, cookie, len, ok);
    }
    /* One notification (if the device wants one at all) for every
     * buffer posted since the last: those reposted here and those the
     * stack gave back in between (vn_release). */
    virtq_kick(&vn->rx);
    if (vn->tx.broken)
        return -EIO;
    return delivered;
}

static int vn_wait(struct netdev *nd, uint64_t deadline_ns)
{
    struct virtio_net *vn = of(nd);

    /* Buffers the stack gave back since the last poll: the device must
     * know of them before this thread sleeps. */
    virtq_kick(&vn->rx);
    for (;;) {
        if (vn->closed)
            return -ENOTCONN;
        if (vn->rx.broken || vn->tx.broken || virtq_pending(&vn->rx)
            || virtq_pending(&vn->tx)) {
            interrupts(vn, false);
            return 0;
        }
        uint64_t now = vn->env.now_ns();
        if (deadline_ns != 0 && now >= deadline_ns) {
            interrupts(vn, false);
            return -ETIMEDOUT;
        }
        if (vn->irq != NULL && !vn->irq_on) {
            /* Asked for, then looked again: a buffer used before the
             * device saw the request raises no interrupt. */
            interrupts(vn, true);
            continue;
        }
        uint64_t next = now + (vn->irq != NULL ? VIRTIO_NET_IRQ_RECHECK_NS
                                               : VIRTIO_NET_POLL_NS);
        if (deadline_ns != 0 && deadline_ns < next)
            next = deadline_ns;
        vn->stats.parks++;
        if (vn->irq != NULL)
            vn->env.irq_wait(vn->irq, next);
        else
            vn->env.sleep_until(next);
    }
}

static void vn_release(struct netdev *nd, struct netdev_buf *buf)
{
    struct virtio_net *vn = of(nd);
    uintptr_t i = buf->cookie;

    if (i >= VIRTIO_NET_RX_BUFS || buf != &vn->rxs[i].buf
        || !vn->rxs[i].held) {
        vn->stats.bad_release++;
        return;
    }
    vn->rxs[i].held = false;
    if (vn->closed)
        return;
    /* The scheduler is cooperative and single-vcpu: no poll runs
     * concurrently, so the page goes straight back on the ring. The
     * device reads the ring whenever it has a frame; it needs telling
     * only if it may have found the ring empty, which it can only have
     * if few buffers are out. Otherwise the receive thread's next poll,
     * or its wait, notifies once for all the buffers posted since. */
    if (post_rx(vn, &vn->rxs[i]) == 0
        && virtq_outstanding(&vn->rx) <= VIRTIO_NET_RX_KICK_BELOW)
        virtq_kick(&vn->rx);
}

static const struct netdev_ops ops = {
    .send = vn_send,
    .poll = vn_poll,
    .wait = vn_wait,
    .release = vn_release,
};

static bool mac_usable(const uint8_t mac[NETDEV_MAC_LEN])
{
    static const uint8_t zero[NETDEV_MAC_LEN];
    return !(mac[0] & 1) && memcmp(mac, zero, NETDEV_MAC_LEN) != 0;
}

static int setup(struct virtio_net *vn)
{
    struct virtio_dev *dev = vn->dev;
    uint64_t features;
    /* Not VIRTIO_RING_F_EVENT_IDX, though virtq handles it: measured on
     * QEMU 7.2 it made more transmit kicks, not fewer (QEMU keeps
     * VIRTQ_USED_F_NO_NOTIFY set while its transmit work is pending, but
     * leaves avail_event behind, so one more frame kicks), and no fewer
     * interrupts than the flag (docs/benchmarks.md). */
    int rc = virtio_negotiate(dev,
                              VIRTIO_NET_F_CSUM | VIRTIO_NET_F_GUEST_CSUM
                                  | VIRTIO_NET_F_MAC,
                              0, &features);
    if (rc != 0)
        return rc;

    if (features & VIRTIO_NET_F_MAC) {
        rc = virtio_config_read(dev, 0, vn->nd.mac, NETDEV_MAC_LEN);
        if (rc != 0)
            return rc;
    }
    if (!mac_usable(vn->nd.mac)) {
        /* Locally administered, unicast, from the boot's random bits. */
        uint64_t r = vn->env.random64();
        for (unsigned i = 0; i < NETDEV_MAC_LEN; i++)
            vn->nd.mac[i] = (uint8_t)(r >> (8 * i));
        vn->nd.mac[0] = (uint8_t)((vn->nd.mac[0] & 0xfe) | 0x02);
    }
    if (features & VIRTIO_NET_F_CSUM)
        vn->nd.features |= NETDEV_F_TX_CSUM;
    if (features & VIRTIO_NET_F_GUEST_CSUM)
        vn->nd.features |= NETDEV_F_RX_CSUM;
    /* A virtio 1.0 device takes any descriptor layout (VERSION_1 implies
     * ANY_LAYOUT), so a frame may be a chain of the caller's pieces. */
    vn->nd.features |= NETDEV_F_TX_SG;

    /* Interrupts, if the transport has them, before the queues exist
     * (virtio-pci binds each queue to its vector as it is set up). */
    void *irq = NULL;
    if (vn->env.irq_attach != NULL && vn->env.irq_wait != NULL
        && vn->env.irq_attach(dev, &irq) == 0)
        vn->irq = irq;

    size_t qpages = pages_for(virtq_mem_size(QUEUE_SIZE));
    void *rxmem = vn->env.alloc_pages(qpages);
    void *txmem = vn->env.alloc_pages(qpages);
    uint8_t *rxpages = vn->env.alloc_pages(VIRTIO_NET_RX_BUFS);
    uint8_t *txpages = vn->env.alloc_pages(VIRTIO_NET_TX_BUFS);
    if (rxmem == NULL || txmem == NULL || rxpages == NULL || txpages == NULL)
        return -ENOMEM;
    if ((rc = virtq_setup(&vn->rx, dev, RXQ, QUEUE_SIZE, rxmem)) != 0
        || (rc = virtq_setup(&vn->tx, dev, TXQ, QUEUE_SIZE, txmem)) != 0)
        return rc == -ENOENT ? -EIO : rc;
    for (unsigned i = 0; i < VIRTIO_NET_TX_BUFS; i++)
        vn->txs[i].page = txpages + (size_t)i * PAGE;
    for (unsigned i = 0; i < VIRTIO_NET_RX_BUFS; i++) {
        struct rx_slot *s = &vn->rxs[i];
        s->page = rxpages + (size_t)i * PAGE;
        s->buf.dev = &vn->nd;
        s->buf.cookie = i;
        /* A small queue takes fewer pages; the rest wait, never held. */
        if (post_rx(vn, s) != 0)
            break;
    }
    virtio_driver_ok(dev);
    virtq_kick(&vn->rx);
    return 0;
}

int virtio_net_open(struct virtio_dev *dev, const struct virtio_env *env,
                    struct virtio_net **out)
{
    if (dev->device_id != VIRTIO_ID_NET)
        return -ENODEV;
    struct virtio_net *vn = env->alloc_pages(pages_for(sizeof(*vn)));
    if (vn == NULL)
        return -ENOMEM;
    vn->dev = dev;
    vn->env = *env;
    vn->nd.ops = &ops;
    vn->nd.name = dev->name;
    vn->nd.mtu = 1500;
    int rc = setup(vn);
    if (rc != 0) {
        if (rc != -ENOTSUP)
            virtio_fail(dev);
        return rc;
    }
    *out = vn;
    return 0;
}

struct netdev *virtio_net_netdev(struct virtio_net *vn)
{
    return &vn->nd;
}

struct virtio_net *virtio_net_from_netdev(struct netdev *nd)
{
    return nd->ops == &ops ? of(nd) : NULL;
}

void virtio_net_get_stats(const struct virtio_net *vn,
                          struct virtio_net_stats *out)
{
    *out = vn->stats;
    out->bad_id = vn->rx.stats.bad_id + vn->tx.stats.bad_id;
    out->bad_len = vn->rx.stats.bad_len + vn->tx.stats.bad_len;
    out->bad_idx = vn->rx.stats.bad_idx + vn->tx.stats.bad_idx;
    out->interrupts = vn->irq != NULL;
    out->rx_posted = vn->rx.stats.added;
    out->rx_kicks = vn->rx.stats.notifies;
    out->tx_kicks = vn->tx.stats.notifies;
    out->kicks_suppressed = vn->rx.stats.suppressed + vn->tx.stats.suppressed;
    out->irqs = vn->irq != NULL && vn->env.irq_count != NULL
                    ? vn->env.irq_count(vn->irq)
                    : 0;
}

int virtio_net_format_stats(const struct virtio_net *vn, char *buf, size_t n)
{
    struct virtio_net_stats st;
    virtio_net_get_stats(vn, &st);
    return snprintf(buf, n,
                    "virtio-net: rx %llu frames, %llu dropped; tx %llu frames"
                    " (%llu fragments sent in place); rx buffers posted %llu,"
                    " kicks rx %llu tx %llu (%llu suppressed), interrupts"
                    " %llu, polls %llu, parks %llu",
                    (unsigned long long)st.rx_frames,
                    (unsigned long long)(st.rx_dropped + st.bad_rx_len),
                    (unsigned long long)st.tx_frames,
                    (unsigned long long)st.tx_views,
                    (unsigned long long)st.rx_posted,
                    (unsigned long long)st.rx_kicks,
                    (unsigned long long)st.tx_kicks,
                    (unsigned long long)st.kicks_suppressed,
                    (unsigned long long)st.irqs,
                    (unsigned long long)st.polls,
                    (unsigned long long)st.parks);
}

void virtio_net_close(struct virtio_net *vn)
{
    if (vn->closed)
        return;
    vn->closed = true;
    /* Once reset, the device reads no more of the caller's bytes: they
     * are the caller's again. A device that does not reset may still
     * read them, so they stay lent for good. */
    if (virtio_reset(vn->dev) != 0)
        return;
    for (unsigned i = 0; i < VIRTIO_NET_TX_BUFS; i++)
        if (vn->txs[i].busy)
            tx_finished(vn, &vn->txs[i]);
}
