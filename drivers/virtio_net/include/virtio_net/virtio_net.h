/*
 * virtio_net/virtio_net.h - a virtio network device (virtio 1.x, 5.1)
 * behind <netdev/netdev.h>.
 *
 *     struct netdev *nd;
 *     virtio_net_open_first(&nd);          the first virtio-net the boot
 *                                          scan found (-ENODEV: none)
 *     netdev_set_rx(nd, on_frame, arg);
 *     netdev_send / netdev_poll / netdev_wait   (<netdev/netdev.h>)
 *
 * Receive is zero-copy: each receive buffer is a page the driver posts
 * on the receive queue; the page the device filled becomes the
 * struct netdev_buf handed to the stack (data points just past the
 * virtio-net header), and netdev_buf_release() posts that page again
 * (the device is told by the next netdev_poll or netdev_wait, once for
 * all pages given back since, or at once if it may be starved:
 * VIRTIO_NET_RX_KICK_BELOW).
 * Frames arrive one per buffer (VIRTIO_NET_F_MRG_RXBUF is not
 * negotiated: a page holds the largest frame).
 *
 * Transmit is scatter-gather (NETDEV_F_TX_SG): a frame is one chain of
 * descriptors, first a driver page holding the virtio-net header and
 * every fragment of at most VIRTIO_NET_TX_COPYBREAK bytes (copied: a
 * descriptor costs the device more than copying a few header bytes),
 * then each larger fragment as it is, when the caller passed a
 * completion (struct netdev_tx.done). The driver calls it when the
 * device gives the chain back (netdev_send, netdev_poll) or at close
 * after a reset, and until then the caller keeps those bytes. Without
 * a completion every fragment is copied into the page, so the caller may
 * reuse them at once. A chain needs up to 1 + NETDEV_MAX_FRAGS
 * descriptors; when the queue has fewer free, netdev_send() reclaims
 * and, still short, returns -EAGAIN with nothing published. With
 * VIRTIO_NET_F_CSUM the device completes TCP/UDP checksums
 * (NETDEV_F_TX_CSUM); with
 * VIRTIO_NET_F_GUEST_CSUM received frames may be marked checksum-valid
 * (NETDEV_F_RX_CSUM), and a frame the device hands over with a partial
 * checksum is completed by the driver.
 *
 * The device is not trusted: a used element with an unknown id, a
 * length beyond its buffer or shorter than the virtio-net header and an
 * Ethernet header, a partial checksum pointing outside the frame, are
 * dropped (the buffer is posted again) and counted; a used index running
 * ahead stops the device (-EIO from then on). No call waits on the
 * device without a bound.
 *
 * Waiting. Where the device has an interrupt (virtio-pci: MSI-X;
 * virtio-mmio: its I/O APIC input) the queues ask for it while, and
 * only while, netdev_wait() parks the thread until the device interrupts
 * (re-checking every VIRTIO_NET_IRQ_RECHECK_NS in case an interrupt was
 * lost). Otherwise it checks the queues and sleeps VIRTIO_NET_POLL_NS
 * between checks, so a frame waits up to that long before a waiting
 * thread sees it.
 */
#ifndef VIRTIO_NET_VIRTIO_NET_H
#define VIRTIO_NET_VIRTIO_NET_H

#include <netdev/netdev.h>
#include <stdint.h>
#include <virtio/virtio.h>

/* Feature bits (virtio 1.x, 5.1.3). */
#define VIRTIO_NET_F_CSUM (UINT64_C(1) << 0)
#define VIRTIO_NET_F_GUEST_CSUM (UINT64_C(1) << 1)
#define VIRTIO_NET_F_MAC (UINT64_C(1) << 5)
#define VIRTIO_NET_F_MRG_RXBUF (UINT64_C(1) << 15)

/* The header before every frame on both queues (VERSION_1 layout). */
struct virtio_net_hdr {
    uint8_t flags;
    uint8_t gso_type;
    uint16_t hdr_len;
    uint16_t gso_size;
    uint16_t csum_start;
    uint16_t csum_offset;
    uint16_t num_buffers;
};
_Static_assert(sizeof(struct virtio_net_hdr) == 12, "virtio_net_hdr");

#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1u
#define VIRTIO_NET_HDR_F_DATA_VALID 2u
#define VIRTIO_NET_HDR_GSO_NONE 0u

#define VIRTIO_NET_RX_BUFS 64u /* pages posted for receive */
#define VIRTIO_NET_TX_BUFS 64u /* frames in flight */
#define VIRTIO_NET_TX_COPYBREAK 128u /* fragments up to this are copied */
#define VIRTIO_NET_POLL_NS 1000000u /* netdev_wait's check interval */
#define VIRTIO_NET_IRQ_RECHECK_NS 100000000u /* with interrupts */
/* netdev_buf_release notifies the device at once only when at most this
 * many receive buffers are out (the device may be starved); otherwise
 * the next netdev_poll or netdev_wait does, once for all. */
#define VIRTIO_NET_RX_KICK_BELOW (VIRTIO_NET_RX_BUFS / 4)

struct virtio_net;

struct virtio_net_stats {
    uint64_t rx_frames, rx_bytes, tx_frames, tx_bytes;
    uint64_t tx_full;       /* sends refused with -EAGAIN */
    uint64_t tx_views;      /* fragments sent as they are (no copy) */
    uint64_t tx_completions; /* netdev_tx.done calls */
    uint64_t rx_dropped;    /* no receiver set: reposted at once */
    uint64_t bad_rx_len;    /* too short, or longer than the buffer */
    uint64_t bad_rx_csum;   /* partial checksum outside the frame */
    uint64_t bad_release;   /* netdev_buf_release of a buffer not held */
    uint64_t bad_id, bad_len, bad_idx; /* both queues (struct virtq_stats) */
    bool interrupts;        /* netdev_wait parks on interrupts */
    /* What each received byte costs the device (docs/benchmarks.md). */
    uint64_t rx_posted;     /* receive buffers made available */
    uint64_t rx_kicks, tx_kicks; /* notifications sent to the device */
    uint64_t kicks_suppressed; /* not sent: the device said it needs none */
    uint64_t irqs;          /* interrupts the device raised (0: unknown) */
    uint64_t polls;         /* netdev_poll calls */
    uint64_t parks;         /* netdev_wait parked the thread */
};

/*
 * Bring up `dev` (a VIRTIO_ID_NET device): negotiate, set up the
 * receive (0) and transmit (1) queues, post the receive pages,
 * DRIVER_OK. -ENODEV if dev is not a network device, -ENOTSUP if it is
 * not virtio 1.0, -ENOMEM, -EIO.
 */
int virtio_net_open(struct virtio_dev *dev, const struct virtio_env *env,
                    struct virtio_net **out);

struct netdev *virtio_net_netdev(struct virtio_net *vn);

/* The virtio_net behind a netdev, or NULL if another driver has it. */
struct virtio_net *virtio_net_from_netdev(struct netdev *nd);

void virtio_net_get_stats(const struct virtio_net *vn,
                          struct virtio_net_stats *out);

/*
 * One line of the device's receive and transmit counters into buf (n
 * bytes, NUL-terminated, cut if short), for <netdev/nic.h>'s
 * nic_format_stats:
 *
 *   virtio-net: rx F frames, D dropped; tx F frames (V fragments sent in
 *   place); rx buffers posted P, kicks rx K tx K (S suppressed),
 *   interrupts I, polls P, parks P
 *
 * Returns what snprintf returns.
 */
int virtio_net_format_stats(const struct virtio_net *vn, char *buf, size_t n);

/* Reset the device (it stops using every page) and forget it. The pages
 * are not freed: a buffer the stack still holds stays valid. */
void virtio_net_close(struct virtio_net *vn);

/*
 * Image only (//drivers/virtio_net): open the first virtio-net device
 * found at boot, with //libos/mm pages and //libos/sched sleeps.
 * -ENODEV if there is none.
 */
int virtio_net_open_first(struct netdev **out);

#endif /* VIRTIO_NET_VIRTIO_NET_H */
