/*
 * The split virtqueue. Bookkeeping (the free list, which heads are
 * outstanding, how long each chain is) lives in struct virtq, never in
 * the shared descriptor table: the device can write anywhere it can DMA,
 * so nothing the driver relies on is read back from shared memory except
 * the used ring, and that once per element.
 */
#include <errno.h>
#include <string.h>
#include <virtio/virtq.h>

#define PAGE 4096u

static size_t align_up(size_t v, size_t a)
{
    return (v + a - 1) & ~(a - 1);
}

static size_t avail_off(uint16_t size)
{
    return (size_t)size * sizeof(struct virtq_desc);
}

static size_t used_off(uint16_t size)
{
    return align_up(avail_off(size) + 6 + 2 * (size_t)size, PAGE);
}

size_t virtq_mem_size(uint16_t size)
{
    return used_off(size) + align_up(6 + 8 * (size_t)size, PAGE);
}

static uint64_t dma_addr(const void *p)
{
    return (uint64_t)(uintptr_t)p; /* identity-mapped images */
}

int virtq_setup(struct virtq *q, struct virtio_dev *dev, uint16_t index,
                uint16_t max_size, void *mem)
{
    if (max_size == 0 || max_size > VIRTIO_QUEUE_SIZE_MAX
        || (max_size & (max_size - 1)) != 0 || mem == NULL
        || (uintptr_t)mem % PAGE != 0)
        return -EINVAL;
    uint16_t dev_max = dev->ops->queue_max(dev, index);
    if (dev_max == 0)
        return -ENOENT;
    uint16_t size = max_size;
    while (size > dev_max) /* a power of 2 the device accepts */
        size >>= 1;
    if (size == 0)
        return -EIO;

    memset(q, 0, sizeof(*q));
    q->dev = dev;
    q->index = index;
    q->size = size;
    q->desc = mem;
    q->avail = (struct virtq_avail *)((uint8_t *)mem + avail_off(size));
    q->used = (volatile struct virtq_used *)((uint8_t *)mem + used_off(size));
    memset(mem, 0, virtq_mem_size(size));
    for (uint16_t i = 0; i < size; i++)
        q->next[i] = (uint16_t)(i + 1);
    q->free_head = 0;
    q->num_free = size;
    q->event_idx = (dev->features & VIRTIO_RING_F_EVENT_IDX) != 0;
    /* Until the driver asks (virtq_set_interrupts), it polls. */
    virtq_set_interrupts(q, false);
    return dev->ops->queue_enable(dev, index, size, dma_addr(q->desc),
                                  dma_addr(q->avail),
                                  dma_addr((const void *)q->used));
}

int virtq_add(struct virtq *q, const struct virtq_seg *segs, size_t n,
              void *cookie)
{
    if (q->broken)
        return -EIO;
    if (n == 0 || cookie == NULL)
        return -EINVAL;
    for (size_t k = 0; k < n; k++)
        if (segs[k].len == 0 || segs[k].addr == NULL)
            return -EINVAL;
    if (n > q->num_free) {
        q->stats.full++;
        return -EAGAIN;
    }
    uint16_t head = q->free_head, i = head, last = head;
    uint64_t writable = 0;
    for (size_t k = 0; k < n; k++) {
        uint16_t flags = segs[k].device_writes ? VIRTQ_DESC_F_WRITE : 0;
        if (k + 1 < n)
            flags |= VIRTQ_DESC_F_NEXT;
        q->desc[i] = (struct virtq_desc){
            .addr = dma_addr(segs[k].addr),
            .len = segs[k].len,
            .flags = flags,
            .next = k + 1 < n ? q->next[i] : 0,
        };
        if (segs[k].device_writes)
            writable += segs[k].len;
        last = i;
        i = q->next[i];
    }
    q->free_head = q->next[last];
    q->num_free = (uint16_t)(q->num_free - n);
    q->cookie[head] = cookie;
    q->chain[head] = (uint16_t)n;
    q->writable[head] = writable > UINT32_MAX ? UINT32_MAX : (uint32_t)writable;

    q->avail->ring[q->avail_idx % q->size] = head;
    /* The descriptors and the ring entry before the index moves. */
    __atomic_thread_fence(__ATOMIC_RELEASE);
    q->avail_idx++;
    __atomic_store_n(&q->avail->idx, q->avail_idx, __ATOMIC_RELAXED);
    q->unkicked++;
    q->stats.added++;
    return 0;
}

/* The index the device asks the driver to notify at (after the used
 * ring's entries), and the one the driver asks the device to interrupt
 * at (after the available ring's). */
static uint16_t avail_event(const struct virtq *q)
{
    return __atomic_load_n((const volatile uint16_t *)&q->used->ring[q->size],
                           __ATOMIC_RELAXED);
}

static void set_used_event(struct virtq *q, uint16_t v)
{
    __atomic_store_n(&q->avail->ring[q->size], v, __ATOMIC_RELAXED);
}

void virtq_kick(struct virtq *q)
{
    if (q->unkicked == 0 || q->broken)
        return;
    uint16_t old = q->kicked_idx;
    q->unkicked = 0;
    q->kicked_idx = q->avail_idx;
    /* The index store before the flags or event load (store-load: a full
     * fence), or the device may have looked before our buffers were
     * there and we read its old wish not to be told. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    bool wanted = q->event_idx
                      ? virtq_need_event(avail_event(q), q->avail_idx, old)
                      : !(q->used->flags & VIRTQ_USED_F_NO_NOTIFY);
    if (!wanted) {
        q->stats.suppressed++;
        return;
    }
    q->stats.notifies++;
    q->dev->ops->notify(q->dev, q->index);
}

static uint16_t used_idx(const struct virtq *q)
{
    uint16_t idx = q->used->idx;
    __atomic_thread_fence(__ATOMIC_ACQUIRE); /* the index before the entries */
    return idx;
}

bool virtq_pending(const struct virtq *q)
{
    return !q->broken && used_idx(q) != q->last_used;
}

void virtq_set_interrupts(struct virtq *q, bool on)
{
    if (q->event_idx) {
        /* flags stay 0 (2.7.7.1). Off: an index the device reaches only
         * after 2^16 - 1 more buffers (harmless if it ever does). */
        q->avail->flags = 0;
        set_used_event(q, on ? q->last_used : (uint16_t)(q->last_used - 1));
    } else {
        q->avail->flags = on ? 0 : VIRTQ_AVAIL_F_NO_INTERRUPT;
    }
    if (on) /* the request before the caller's look at the used index */
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

uint16_t virtq_outstanding(const struct virtq *q)
{
    return (uint16_t)(q->size - q->num_free);
}

static void free_chain(struct virtq *q, uint16_t head)
{
    uint16_t last = head;
    for (uint16_t k = 1; k < q->chain[head]; k++)
        last = q->next[last];
    q->next[last] = q->free_head;
    q->free_head = head;
    q->num_free = (uint16_t)(q->num_free + q->chain[head]);
    q->chain[head] = 0;
    q->cookie[head] = NULL;
}

int virtq_get(struct virtq *q, void **cookie, uint32_t *len, bool *len_ok)
{
    if (q->broken)
        return -EIO;
    uint16_t idx = used_idx(q);
    uint16_t ahead = (uint16_t)(idx - q->last_used);
    if (ahead > q->size) {
        q->stats.bad_idx++;
        q->broken = true;
        return -EIO;
    }
    while (q->last_used != idx) {
        const volatile struct virtq_used_elem *e =
            &q->used->ring[q->last_used % q->size];
        uint32_t id = e->id; /* copied once */
        uint32_t n = e->len;
        q->last_used++;
        if (id >= q->size || q->chain[id] == 0) {
            q->stats.bad_id++;
            continue;
        }
        *cookie = q->cookie[id];
        *len_ok = n <= q->writable[id];
        if (!*len_ok)
            q->stats.bad_len++;
        *len = *len_ok ? n : 0;
        free_chain(q, (uint16_t)id);
        q->stats.completed++;
        return 1;
    }
    return 0;
}
