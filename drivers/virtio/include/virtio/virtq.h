/*
 * virtio/virtq.h - a split virtqueue (virtio 1.x, 2.7), the driver's side.
 *
 * The driver owns the descriptor table and the available ring; the
 * device writes the used ring. The device is not trusted: virtq_get()
 * copies each used element once, then checks it (the id must be the
 * head of a chain the driver made available and has not had back yet;
 * the length must fit the chain's writable buffers; the used index may
 * run at most `size` entries ahead of what the driver has consumed). An
 * element that fails is counted in struct virtq_stats and skipped; a
 * used index that runs ahead marks the queue broken (every later call
 * returns -EIO) rather than make the driver loop over garbage.
 *
 * Memory: one zeroed, page-aligned area of virtq_mem_size(size) bytes
 * whose address the device uses directly (images run identity-mapped:
 * virtual == guest-physical).
 *
 * Notifications, both ways, are only sent when the other side asked
 * for them. The device's: virtq_kick() notifies only if the device has
 * not said it will look anyway (VIRTQ_USED_F_NO_NOTIFY, or, with
 * VIRTIO_RING_F_EVENT_IDX negotiated, only when the new buffers pass
 * the index it wrote in avail_event). The driver's: the device
 * interrupts only after virtq_set_interrupts(q, true), and with
 * VIRTIO_RING_F_EVENT_IDX only once, for the first buffer it uses after
 * that call (used_event), however many more it uses before the driver
 * looks. virtq_setup() uses the event indices when the device's
 * negotiated features (dev->features) have the bit.
 *
 * Not thread-safe: one thread drives one queue.
 */
#ifndef VIRTIO_VIRTQ_H
#define VIRTIO_VIRTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <virtio/virtio.h>

#define VIRTQ_DESC_F_NEXT 1u
#define VIRTQ_DESC_F_WRITE 2u
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1u
#define VIRTQ_USED_F_NO_NOTIFY 1u

struct virtq_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};
_Static_assert(sizeof(struct virtq_desc) == 16, "virtq_desc");

struct virtq_avail {
    uint16_t flags;
    uint16_t idx;
    uint16_t ring[]; /* size entries, then used_event */
};

struct virtq_used_elem {
    uint32_t id;
    uint32_t len;
};
_Static_assert(sizeof(struct virtq_used_elem) == 8, "virtq_used_elem");

struct virtq_used {
    uint16_t flags;
    uint16_t idx;
    struct virtq_used_elem ring[]; /* size entries, then avail_event */
};

/* A buffer to hand the device: read by it (out) or written by it (in). */
struct virtq_seg {
    const void *addr;
    uint32_t len;
    bool device_writes;
};

struct virtq_stats {
    uint64_t added;      /* chains made available */
    uint64_t completed;  /* chains the device gave back, validated */
    uint64_t full;       /* virtq_add refused: not enough descriptors */
    uint64_t bad_id;     /* used ids out of range or not outstanding */
    uint64_t bad_len;    /* used lengths beyond the chain's writable bytes */
    uint64_t bad_idx;    /* used index ran ahead: the queue is broken */
    uint64_t notifies;   /* notifications sent */
    uint64_t suppressed; /* kicks with news the device said it did not need */
};

struct virtq {
    struct virtio_dev *dev;
    uint16_t index; /* queue number on the device */
    uint16_t size;  /* entries, a power of 2 */
    struct virtq_desc *desc;
    struct virtq_avail *avail;
    volatile struct virtq_used *used;
    uint16_t free_head;  /* first free descriptor */
    uint16_t num_free;
    uint16_t avail_idx;  /* our copy of avail->idx */
    uint16_t last_used;  /* used entries consumed */
    uint16_t unkicked;   /* chains added since the last notify */
    uint16_t kicked_idx; /* avail_idx at the last virtq_kick */
    bool event_idx;      /* VIRTIO_RING_F_EVENT_IDX negotiated */
    bool broken;
    /* Per head: the caller's cookie, the chain's length in descriptors
     * (0: not outstanding) and its writable bytes. */
    void *cookie[VIRTIO_QUEUE_SIZE_MAX];
    uint16_t chain[VIRTIO_QUEUE_SIZE_MAX];
    uint32_t writable[VIRTIO_QUEUE_SIZE_MAX];
    uint16_t next[VIRTIO_QUEUE_SIZE_MAX]; /* free list and chain links */
    struct virtq_stats stats;
};

/*
 * The event index rule (virtio 1.x, 2.7.10): the side that moved its
 * index from `old` to `new_idx` must notify if the other side asked to
 * hear about index `event`, i.e. if event is in [old, new_idx), modulo
 * 2^16.
 */
static inline bool virtq_need_event(uint16_t event, uint16_t new_idx,
                                    uint16_t old)
{
    return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

/* Bytes of queue memory for `size` entries (a multiple of 4096). */
size_t virtq_mem_size(uint16_t size);

/*
 * Set up queue `index` of `dev`: size = min(device maximum, max_size),
 * rounded down to a power of 2; `mem` must hold virtq_mem_size(max_size)
 * zeroed, page-aligned bytes. -ENOENT if the device has no such queue,
 * -EINVAL for a bad max_size, -EIO if the device refuses it.
 */
int virtq_setup(struct virtq *q, struct virtio_dev *dev, uint16_t index,
                uint16_t max_size, void *mem);

/*
 * Make one chain of n segments (1..size) available, with `cookie`
 * (non-NULL) returned by virtq_get when the device is done. Does not
 * notify: call virtq_kick. -EAGAIN if fewer than n descriptors are free,
 * -EINVAL for n == 0, a NULL cookie or an empty segment, -EIO if broken.
 */
int virtq_add(struct virtq *q, const struct virtq_seg *segs, size_t n,
              void *cookie);

/* Notify the device of what was added, unless it asked not to be. */
void virtq_kick(struct virtq *q);

/*
 * Take the next chain the device gave back: 1 with *cookie and *len
 * (bytes the device wrote, <= the chain's writable bytes), 0 if there is
 * none, -EIO if the queue is broken. Invalid elements are skipped and
 * counted; a valid id with a bad length is returned with *len_ok false
 * (the chain is free again; its contents must not be trusted).
 */
int virtq_get(struct virtq *q, void **cookie, uint32_t *len, bool *len_ok);

/* True if the device has given back something virtq_get would look at. */
bool virtq_pending(const struct virtq *q);

/*
 * Ask the device to interrupt when it uses buffers (on), or not to
 * (default). With VIRTIO_RING_F_EVENT_IDX, on asks for one interrupt,
 * at the first buffer used from now: call it again (after consuming)
 * to ask for the next. Turning them on is ordered before the caller's
 * next virtq_pending(), so a buffer used just before the device saw
 * the request is found there rather than lost.
 */
void virtq_set_interrupts(struct virtq *q, bool on);

/* Chains the device still holds. */
uint16_t virtq_outstanding(const struct virtq *q);

#endif /* VIRTIO_VIRTQ_H */
