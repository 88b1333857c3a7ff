/*
 * netdev/netdev.h - one network interface card, whatever drives it.
 *
 * A NIC driver (//drivers/netfront on Xen, //drivers/virtio_net on QEMU,
 * KVM and Firecracker) fills a struct netdev with its operations; the
 * network stack (//libos/net) is written against this header only, so
 * the same appliance runs on either device by its image's deps.
 *
 * Receive. The driver hands each received frame to the stack as a
 * struct netdev_buf the stack now owns, and the stack gives it back with
 * netdev_buf_release() when it is done (possibly much later, from
 * another thread). Where the device allows it the buffer is the memory
 * the device wrote (virtio-net: the page it filled; netfront: the page
 * whose grant was ended first, so the backend can no longer reach it),
 * so a frame is not copied on its way to the stack; a driver that must
 * copy says so in its features (NETDEV_F_RX_COPIES). A frame may come in
 * several buffers, chained by `next` from the first (which carries the
 * frame's flags): each is the stack's until it releases that one, so
 * their order of release is free. A device with NETDEV_F_RX_GSO may
 * hand up frames longer than its MTU (TCP segments its host merged, up
 * to NETDEV_RX_GSO_MAX bytes).
 *
 * Transmit. netdev_send() takes a frame as fragments (a header the
 * stack built plus payload views, as with writev) and either queues it
 * or refuses it with -EAGAIN when the device's queue is full. Without a
 * completion (struct netdev_tx.done) the caller may reuse every fragment
 * on return: the driver copied what it needed. A driver with
 * NETDEV_F_TX_SG also takes a completion: then it may hand the
 * fragments' memory to the device as it is (no copy), and calls done()
 * once the device no longer reads it; the caller keeps the bytes alive
 * and unchanged until then. With NETDEV_F_TX_CSUM the stack may leave
 * the TCP/UDP checksum to the device (flags in struct netdev_tx).
 *
 * Waiting. netdev_wait() parks the calling thread until the device may
 * have work (a frame arrived, transmit space was freed) or the deadline
 * passes; netdev_poll() then does that work and delivers frames. One
 * thread drives one netdev: the calls are not thread-safe, except
 * netdev_buf_release(), which any thread may call at any time.
 *
 * Errors are negative errno values (<errno.h>).
 *
 * docs/networking.md: the implementations, what each copies, and how
 * they wait.
 */
#ifndef NETDEV_NETDEV_H
#define NETDEV_NETDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NETDEV_MAC_LEN 6
#define NETDEV_MAX_FRAGS 18 /* fragments of one frame in netdev_send */

/* Features (struct netdev.features). */
#define NETDEV_F_TX_CSUM (1u << 0)   /* device completes TCP/UDP checksums */
#define NETDEV_F_RX_CSUM (1u << 1)   /* device marks frames csum-valid */
#define NETDEV_F_TX_SG (1u << 2)     /* fragments go out without a copy
                                      * (with netdev_tx.done) */
#define NETDEV_F_RX_COPIES (1u << 3) /* receive copies (no zero-copy) */
#define NETDEV_F_RX_GSO (1u << 4)    /* frames beyond the MTU (merged TCP
                                      * segments), up to NETDEV_RX_GSO_MAX */

/* Longest frame of a NETDEV_F_RX_GSO device: lwIP's pbuf length is 16
 * bits, as is a TCP/IPv4 segment's total length. */
#define NETDEV_RX_GSO_MAX 65535u

struct netdev;

/* A received frame; the stack owns it until netdev_buf_release(). */
struct netdev_buf {
    uint8_t *data;     /* the frame, from its Ethernet header */
    size_t len;        /* its length in bytes (of this buffer's piece) */
    struct netdev_buf *next; /* the frame's next piece, or NULL */
    uint32_t flags;    /* NETDEV_RX_* */
    struct netdev *dev; /* the device it came from (for release) */
    uintptr_t cookie;  /* the driver's own */
};

#define NETDEV_RX_CSUM_VALID (1u << 0) /* L4 checksum checked by the device */

/* A fragment of a frame to send. */
struct netdev_frag {
    const void *data;
    size_t len;
};

/*
 * How to send one frame. csum: NETDEV_F_TX_CSUM only. done: NETDEV_F_TX_SG
 * only (pass NULL to any other driver). When netdev_send() returns 0 with
 * done set, the driver calls done(done_arg) exactly once, when the device
 * has finished reading the fragments (from a later netdev_send,
 * netdev_poll or the driver's close, in the thread that drives the
 * device); when it returns an error, never: the fragments are the
 * caller's again at once.
 */
struct netdev_tx {
    bool csum;            /* let the device fill the L4 checksum */
    uint16_t csum_start;  /* offset of the L4 header from the frame start */
    uint16_t csum_offset; /* offset of the checksum field within it */
    void (*done)(void *done_arg); /* the device is done with the bytes */
    void *done_arg;
};

typedef void (*netdev_rx_fn)(void *arg, struct netdev_buf *buf);

struct netdev_ops {
    int (*send)(struct netdev *dev, const struct netdev_frag *frags,
                size_t n, const struct netdev_tx *tx);
    int (*poll)(struct netdev *dev);
    int (*wait)(struct netdev *dev, uint64_t deadline_ns);
    void (*release)(struct netdev *dev, struct netdev_buf *buf);
};

struct netdev {
    const struct netdev_ops *ops;
    const char *name;     /* "virtio-net0", "vif0", ... */
    uint8_t mac[NETDEV_MAC_LEN];
    uint16_t mtu;         /* payload bytes of one frame (1500) */
    uint32_t features;    /* NETDEV_F_* */
    netdev_rx_fn rx;      /* set by the stack (netdev_set_rx) */
    void *rx_arg;
};

static inline void netdev_set_rx(struct netdev *dev, netdev_rx_fn fn,
                                 void *arg)
{
    dev->rx = fn;
    dev->rx_arg = arg;
}

/* Queue one frame of `n` fragments (1..NETDEV_MAX_FRAGS); tx may be NULL.
 * 0, or -EAGAIN (queue full: poll, then retry), -EMSGSIZE, -EINVAL,
 * -ENOTCONN. */
static inline int netdev_send(struct netdev *dev,
                              const struct netdev_frag *frags, size_t n,
                              const struct netdev_tx *tx)
{
    return dev->ops->send(dev, frags, n, tx);
}

/* Do the work the device signalled; frames go to dev->rx. Returns the
 * number of frames delivered or a negative errno. */
static inline int netdev_poll(struct netdev *dev)
{
    return dev->ops->poll(dev);
}

/* Park this thread until the device signals or the monotonic clock
 * reaches deadline_ns (0: no deadline). 0 or -ETIMEDOUT; -ENOTCONN or
 * -EIO when the device cannot be waited on (closed, not connected, or
 * stopped for misbehaving), so a caller never waits on a dead device. */
static inline int netdev_wait(struct netdev *dev, uint64_t deadline_ns)
{
    return dev->ops->wait(dev, deadline_ns);
}

/* Give a received frame back to its driver (any thread). */
static inline void netdev_buf_release(struct netdev_buf *buf)
{
    buf->dev->ops->release(buf->dev, buf);
}

#endif /* NETDEV_NETDEV_H */
