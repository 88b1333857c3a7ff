/*
 * The simulated device: struct virtio_transport over plain memory, and
 * the device side of the split virtqueue.
 */
#include <errno.h>
#include <string.h>
#include <virtiosim/virtiosim.h>

static struct vsim_net *sim(struct virtio_dev *d)
{
    return d->transport;
}

static uint64_t t_device_features(struct virtio_dev *d)
{
    return sim(d)->offered;
}

static void t_set_features(struct virtio_dev *d, uint64_t f)
{
    sim(d)->accepted = f;
}

static uint8_t t_get_status(struct virtio_dev *d)
{
    struct vsim_net *s = sim(d);
    if (s->never_reset && s->status == 0)
        return VIRTIO_STATUS_ACKNOWLEDGE;
    return s->status;
}

static void t_set_status(struct virtio_dev *d, uint8_t v)
{
    struct vsim_net *s = sim(d);
    if (v == 0) {
        for (unsigned i = 0; i < VSIM_QUEUES; i++) {
            uint16_t max = s->q[i].max;
            s->q[i] = (struct vsim_queue){.max = max};
        }
        s->accepted = 0;
    }
    if ((v & VIRTIO_STATUS_FEATURES_OK) && s->refuse_features_ok)
        v &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
    s->status = v;
}

static uint32_t t_config_generation(struct virtio_dev *d)
{
    struct vsim_net *s = sim(d);
    if (s->bump_generation)
        s->generation++;
    return s->generation;
}

static uint8_t t_config_read8(struct virtio_dev *d, uint32_t off)
{
    return off < VIRTIO_CONFIG_MAX ? sim(d)->config[off] : 0;
}

static uint16_t t_queue_max(struct virtio_dev *d, uint16_t index)
{
    return index < VSIM_QUEUES ? sim(d)->q[index].max : 0;
}

static int t_queue_enable(struct virtio_dev *d, uint16_t index, uint16_t size,
                          uint64_t desc, uint64_t driver, uint64_t device)
{
    struct vsim_net *s = sim(d);
    if (index >= VSIM_QUEUES || size == 0 || size > s->q[index].max
        || (size & (size - 1)) != 0)
        return -EIO;
    struct vsim_queue *q = &s->q[index];
    q->size = size;
    q->desc = (struct virtq_desc *)(uintptr_t)desc;
    q->avail = (struct virtq_avail *)(uintptr_t)driver;
    q->used = (struct virtq_used *)(uintptr_t)device;
    q->last_avail = 0;
    q->ready = true;
    return 0;
}

static void t_notify(struct virtio_dev *d, uint16_t index)
{
    if (index < VSIM_QUEUES)
        sim(d)->q[index].notifies++;
}

static const struct virtio_transport transport = {
    .device_features = t_device_features,
    .set_features = t_set_features,
    .get_status = t_get_status,
    .set_status = t_set_status,
    .config_generation = t_config_generation,
    .config_read8 = t_config_read8,
    .queue_max = t_queue_max,
    .queue_enable = t_queue_enable,
    .notify = t_notify,
};

void vsim_net_init(struct vsim_net *s, const uint8_t mac[6],
                   uint64_t features)
{
    memset(s, 0, sizeof(*s));
    s->dev.ops = &transport;
    s->dev.device_id = VIRTIO_ID_NET;
    s->dev.transport = s;
    strcpy(s->dev.name, "virtiosim-net");
    s->offered = features;
    memcpy(s->config, mac, 6);
    for (unsigned i = 0; i < VSIM_QUEUES; i++)
        s->q[i].max = 256;
}

int vsim_take_avail(struct vsim_net *s, unsigned qi)
{
    struct vsim_queue *q = &s->q[qi];
    if (!q->ready || q->avail->idx == q->last_avail)
        return -EAGAIN;
    uint16_t head = q->avail->ring[q->last_avail % q->size];
    q->last_avail++;
    return head;
}

static bool event_idx(const struct vsim_net *s)
{
    return (s->accepted & VIRTIO_RING_F_EVENT_IDX) != 0;
}

void vsim_push_used(struct vsim_net *s, unsigned qi, uint32_t id,
                    uint32_t len)
{
    struct vsim_queue *q = &s->q[qi];
    uint16_t old = q->used->idx;
    q->used->ring[old % q->size] =
        (struct virtq_used_elem){.id = id, .len = len};
    __atomic_thread_fence(__ATOMIC_RELEASE);
    q->used->idx = (uint16_t)(old + 1);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    bool tell;
    if (event_idx(s)) {
        /* Written out here rather than with virtq_need_event, so the
         * device does not share the driver's arithmetic: told if
         * used_event is the entry just written. */
        uint16_t used_event = q->avail->ring[q->size];
        tell = used_event == old;
    } else {
        tell = !(q->avail->flags & VIRTQ_AVAIL_F_NO_INTERRUPT);
    }
    if (tell)
        q->interrupts++;
}

void vsim_want_notify(struct vsim_net *s, unsigned qi, bool want)
{
    struct vsim_queue *q = &s->q[qi];
    if (event_idx(s)) {
        if (want)
            *(uint16_t *)&q->used->ring[q->size] = q->avail->idx;
    } else if (want) {
        q->used->flags &= (uint16_t)~VIRTQ_USED_F_NO_NOTIFY;
    } else {
        q->used->flags |= VIRTQ_USED_F_NO_NOTIFY;
    }
}

void vsim_set_used_idx(struct vsim_net *s, unsigned qi, uint16_t idx)
{
    s->q[qi].used->idx = idx;
}

/* Walk the chain at `head`: copy out what the driver lets the device
 * read (out != NULL), or fill what it may write from `in`. Returns the
 * bytes moved, or -EIO for a malformed chain. */
static long walk(struct vsim_net *s, struct vsim_queue *q, uint16_t head,
                 uint8_t *out, size_t out_max, const uint8_t *in,
                 size_t in_len)
{
    size_t moved = 0;
    uint16_t i = head;
    for (unsigned hops = 0;; hops++) {
        if (i >= q->size || hops >= q->size) {
            s->device_errors++;
            return -EIO;
        }
        struct virtq_desc d = q->desc[i];
        uint8_t *buf = (uint8_t *)(uintptr_t)d.addr;
        if (d.flags & VIRTQ_DESC_F_WRITE) {
            if (in != NULL && moved < in_len) {
                size_t n = in_len - moved < d.len ? in_len - moved : d.len;
                memcpy(buf, in + moved, n);
                moved += n;
            }
        } else if (out != NULL) {
            if (moved + d.len > out_max) {
                s->device_errors++;
                return -EIO;
            }
            memcpy(out + moved, buf, d.len);
            moved += d.len;
        }
        if (!(d.flags & VIRTQ_DESC_F_NEXT))
            break;
        i = d.next;
    }
    return (long)moved;
}

int vsim_net_inject(struct vsim_net *s, const void *frame, size_t len,
                    const void *hdr)
{
    uint8_t data[VSIM_FRAME_MAX];
    if (len + 12 > sizeof(data))
        return -EMSGSIZE;
    memset(data, 0, 12);
    if (hdr != NULL)
        memcpy(data, hdr, 12);
    memcpy(data + 12, frame, len);
    int head = vsim_take_avail(s, 0);
    if (head < 0)
        return head;
    long n = walk(s, &s->q[0], (uint16_t)head, NULL, 0, data, len + 12);
    if (n < 0)
        return -EIO;
    if ((size_t)n < len + 12) {
        vsim_push_used(s, 0, (uint32_t)head, 0);
        return -EMSGSIZE;
    }
    vsim_push_used(s, 0, (uint32_t)head, (uint32_t)n);
    return 0;
}

size_t vsim_net_take_tx(struct vsim_net *s)
{
    size_t taken = 0;
    int head;
    while ((head = vsim_take_avail(s, 1)) >= 0) {
        struct vsim_frame *f = &s->tx[s->tx_count % VSIM_TX_KEEP];
        long n = walk(s, &s->q[1], (uint16_t)head, f->data, sizeof(f->data),
                      NULL, 0);
        f->len = n < 0 ? 0 : (size_t)n;
        s->tx_count++;
        vsim_push_used(s, 1, (uint32_t)head, 0);
        taken++;
    }
    return taken;
}
