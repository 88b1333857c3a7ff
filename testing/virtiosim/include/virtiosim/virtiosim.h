/*
 * virtiosim/virtiosim.h - a simulated virtio 1.x network device on the
 * host, for tests of //drivers/virtio and //drivers/virtio_net.
 *
 * The device implements struct virtio_transport (status, features,
 * configuration space with a generation counter, two queues) and works
 * the queues the driver set up, reading its descriptors the way a real
 * device does (guest addresses are host pointers here). A test drives
 * it by hand, so every step is deterministic:
 *
 *     vsim_net_init(&sim, mac, features);
 *     virtio_net_open(&sim.dev, &env, &vn);        the driver under test
 *     vsim_net_inject(&sim, frame, len, &hdr);     a frame "arrives"
 *     vsim_net_take_tx(&sim);                      frames the driver sent
 *
 * and makes it misbehave on purpose: vsim_push_used() writes any used
 * element (an id never made available, a length beyond the buffer), and
 * vsim_set_used_idx() moves the used index anywhere.
 *
 * struct vsim_blk is a block device on the same transport (one queue,
 * a memory disk with a volatile write cache): see vsim_blk_init below.
 */
#ifndef VIRTIOSIM_VIRTIOSIM_H
#define VIRTIOSIM_VIRTIOSIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <virtio/virtio.h>
#include <virtio/virtq.h>

#define VSIM_QUEUES 2
#define VSIM_TX_KEEP 64    /* frames vsim_net_take_tx keeps */
#define VSIM_FRAME_MAX 4096

struct vsim_queue {
    uint16_t max;   /* QueueNumMax the device reports */
    uint16_t size;
    bool ready;
    struct virtq_desc *desc;
    struct virtq_avail *avail;
    struct virtq_used *used;
    uint16_t last_avail; /* avail entries the device has taken */
    uint64_t notifies;   /* the driver notified this queue */
    uint64_t interrupts; /* used buffers the device told the driver of */
};

struct vsim_frame {
    uint8_t data[VSIM_FRAME_MAX]; /* the virtio-net header, then the frame */
    size_t len;
};

struct vsim_net {
    struct virtio_dev dev;
    uint64_t offered;
    uint64_t accepted; /* what the driver wrote */
    uint8_t status;
    uint32_t generation;
    uint8_t config[VIRTIO_CONFIG_MAX];
    struct vsim_queue q[VSIM_QUEUES];
    /* Misbehaviour switches. */
    bool refuse_features_ok; /* clear FEATURES_OK when it is set */
    bool never_reset;        /* status never reads back 0 */
    bool bump_generation;    /* the generation changes on every read */
    /* Frames the driver transmitted (the latest VSIM_TX_KEEP). */
    struct vsim_frame tx[VSIM_TX_KEEP];
    size_t tx_count;
    uint64_t device_errors; /* malformed chains the device met */
};

/* A device offering `features` (VIRTIO_F_VERSION_1 is up to the test)
 * with `mac` in its configuration space and queues of up to 256. */
void vsim_net_init(struct vsim_net *s, const uint8_t mac[6],
                   uint64_t features);

/*
 * Deliver a frame: take the next receive buffer the driver posted,
 * write `hdr` (12 bytes; NULL: zeroes) and the frame into it, and make
 * it used. 0, -EAGAIN if no buffer is posted, -EMSGSIZE if the buffer is
 * too small, -EIO if the driver's descriptors are malformed.
 */
int vsim_net_inject(struct vsim_net *s, const void *frame, size_t len,
                    const void *hdr);

/* Consume every transmit chain the driver made available: record it in
 * tx[] and make it used. Returns the number of frames taken. */
size_t vsim_net_take_tx(struct vsim_net *s);

/* Take the next available chain of queue q without completing it:
 * its head id, or -EAGAIN. */
int vsim_take_avail(struct vsim_net *s, unsigned q);

/* Write a used element (any id, any length) and advance the used index. */
void vsim_push_used(struct vsim_net *s, unsigned q, uint32_t id,
                    uint32_t len);

/* Set the used index of queue q to anything. */
void vsim_set_used_idx(struct vsim_net *s, unsigned q, uint16_t idx);

/*
 * Notifications, as a device does them. Every used element pushed
 * (vsim_push_used, vsim_net_inject, vsim_net_take_tx) counts in
 * q[].interrupts when the driver asked for it: without
 * VIRTIO_RING_F_EVENT_IDX accepted, when the available ring's flags lack
 * VIRTQ_AVAIL_F_NO_INTERRUPT; with it, when the used index passes the
 * driver's used_event. vsim_want_notify() says whether the device wants
 * the driver's notifications for queue q: the used ring's
 * VIRTQ_USED_F_NO_NOTIFY flag, or with VIRTIO_RING_F_EVENT_IDX, wanting
 * writes avail_event = the current available index (QEMU's way: told
 * once, for the next buffer) and not wanting leaves it as it is.
 */
void vsim_want_notify(struct vsim_net *s, unsigned q, bool want);

/*
 * A simulated virtio-blk device. `dev` is the device above (transport,
 * queues, misbehaviour switches; its net-only fields are unused) with
 * device_id VIRTIO_ID_BLOCK and queue 0 only. Its disk is `disk` (what
 * reads see) over `stable` (what survives a crash): with
 * VIRTIO_BLK_F_FLUSH offered the device has a write-back cache, so a
 * write reaches `stable` only at the next flush; without it, every
 * write goes to both before it completes (write-through).
 */
struct vsim_blk {
    struct vsim_net dev;
    uint8_t *disk, *stable; /* sectors * 512 bytes each */
    uint64_t sectors;
    bool write_back;
    /* Faults applied to each request it completes (test switches). */
    int status_fault; /* >= 0: report this status byte instead */
    long len_fault;   /* >= 0: report this used length instead */
    bool fill_wrong;  /* reads: write 0xee instead of the disk's bytes */
    /* What it saw. */
    uint64_t reads, writes, flushes, bad_requests;
    uint32_t max_segs;   /* most data descriptors in one request */
    uint32_t max_seg_len; /* longest data descriptor */
};

/*
 * A device of `sectors` 512-byte sectors (disk and stable: caller's
 * memory, zeroed here) offering `features` (plus VIRTIO_F_VERSION_1 is
 * up to the test), with blk_size, size_max and seg_max in its
 * configuration space and a queue of up to `queue_max` entries.
 */
void vsim_blk_init(struct vsim_blk *b, uint8_t *disk, uint8_t *stable,
                   uint64_t sectors, uint64_t features, uint32_t blk_size,
                   uint32_t size_max, uint32_t seg_max, uint16_t queue_max);

/* Take up to `max` available requests without completing them; their
 * head ids go to heads[]. Returns how many. */
size_t vsim_blk_take(struct vsim_blk *b, uint16_t *heads, size_t max);

/* Carry out the request at `head` and make it used (faults applied).
 * 0, or -EIO for a malformed chain (it is then used with length 0). */
int vsim_blk_complete(struct vsim_blk *b, uint16_t head);

/* Take and complete every available request, in order; returns how many. */
size_t vsim_blk_serve(struct vsim_blk *b);

/* Power loss: what the write-back cache held is gone (disk = stable). */
void vsim_blk_crash(struct vsim_blk *b);

#endif /* VIRTIOSIM_VIRTIOSIM_H */
