/*
 * virtio-blk behind <blkdev/blkdev.h>: one request queue, request slots
 * with pages of their own, every completion checked before it is used.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <virtio/virtq.h>
#include <virtio_blk/virtio_blk.h>

#define PAGE 4096u
#define QUEUE_SIZE VIRTIO_QUEUE_SIZE_MAX
#define REQQ 0u
#define META_STRIDE 32u /* per slot in the meta page: header, then status */
_Static_assert(VIRTIO_BLK_SLOTS * META_STRIDE <= PAGE, "meta page");
_Static_assert(sizeof(struct virtio_blk_req_hdr) < META_STRIDE, "stride");

enum slot_state {
    SLOT_FREE,
    SLOT_DEVICE, /* on the queue */
    SLOT_LOCAL,  /* completed by the driver itself; runs at next poll */
};

struct slot {
    enum slot_state state;
    enum blkdev_op op;
    struct virtio_blk_req_hdr *hdr; /* in the meta page */
    volatile uint8_t *status;       /* in the meta page; device writes */
    uint8_t *data;                  /* VIRTIO_BLK_SLOT_PAGES pages */
    void *buf;                      /* a read's destination */
    size_t len;
    uint64_t started;
    int result;                     /* SLOT_LOCAL: the status to report */
    blkdev_done_fn done;
    void *arg;
};

struct virtio_blk {
    struct blkdev bd;
    struct virtio_dev *dev;
    struct virtio_env env;
    bool closed, broken;
    void *irq; /* env.irq_attach's context; NULL: poll */
    uint32_t seg_bytes; /* bytes per data descriptor */
    uint32_t units;     /* 512-byte protocol sectors per interface sector */
    struct virtq q;
    struct slot slots[VIRTIO_BLK_SLOTS];
    struct virtio_blk_stats stats;
};

static struct virtio_blk *of(struct blkdev *bd)
{
    return (struct virtio_blk *)((char *)bd - offsetof(struct virtio_blk, bd));
}

static size_t pages_for(size_t bytes)
{
    return (bytes + PAGE - 1) / PAGE;
}

static void finish(struct virtio_blk *vb, struct slot *s, int status)
{
    blkdev_done_fn done = s->done;
    void *arg = s->arg;
    if (status == 0) {
        if (s->op == BLKDEV_OP_READ) {
            memcpy(s->buf, s->data, s->len);
            vb->stats.reads++;
        } else if (s->op == BLKDEV_OP_WRITE) {
            vb->stats.writes++;
        } else {
            vb->stats.flushes++;
        }
    } else {
        vb->stats.errors++;
    }
    /* Free before the call: the callback may submit again. */
    s->state = SLOT_FREE;
    s->buf = NULL;
    done(arg, status);
}

/* Complete every request in flight with `status`; returns how many. */
static int fail_all(struct virtio_blk *vb, int status)
{
    int n = 0;
    for (unsigned i = 0; i < vb->bd.info.queue_depth; i++) {
        struct slot *s = &vb->slots[i];
        if (s->state == SLOT_FREE)
            continue;
        finish(vb, s, s->state == SLOT_LOCAL ? s->result : status);
        n++;
    }
    return n;
}

/* The device misbehaved: stop it using our pages and give up on it. */
static void break_device(struct virtio_blk *vb)
{
    if (vb->broken)
        return;
    vb->broken = true;
    if (virtio_reset(vb->dev) != 0)
        virtio_fail(vb->dev);
}

static int vb_submit(struct blkdev *bd, enum blkdev_op op, uint64_t sector,
                     void *buf, size_t len, blkdev_done_fn done, void *arg)
{
    struct virtio_blk *vb = of(bd);
    const struct blkdev_info *info = &bd->info;

    if (vb->closed)
        return -ENOTCONN;
    if (vb->broken)
        return -EIO;
    if (done == NULL)
        return -EINVAL;
    if (op == BLKDEV_OP_READ || op == BLKDEV_OP_WRITE) {
        if (buf == NULL || len == 0 || len % info->sector_size != 0
            || (uintptr_t)buf % BLKDEV_ALIGN != 0)
            return -EINVAL;
        if (len > info->max_request)
            return -EMSGSIZE;
        if (sector >= info->sectors
            || len / info->sector_size > info->sectors - sector)
            return -ERANGE;
        if (op == BLKDEV_OP_WRITE && info->readonly)
            return -EROFS;
    } else if (op != BLKDEV_OP_FLUSH) {
        return -EINVAL;
    }

    struct slot *s = NULL;
    for (unsigned i = 0; i < info->queue_depth && s == NULL; i++)
        if (vb->slots[i].state == SLOT_FREE)
            s = &vb->slots[i];
    if (s == NULL) {
        vb->stats.full++;
        return -EAGAIN;
    }
    s->op = op;
    s->done = done;
    s->arg = arg;
    s->len = op == BLKDEV_OP_FLUSH ? 0 : len;
    s->buf = op == BLKDEV_OP_READ ? buf : NULL;

    if (op == BLKDEV_OP_FLUSH && !(info->features & BLKDEV_F_FLUSH)) {
        /* Nothing to flush (docs/storage.md): completed writes are as
         * stable as this device makes them. */
        s->state = SLOT_LOCAL;
        s->result = 0;
        return 0;
    }

    struct virtq_seg segs[VIRTIO_BLK_SLOT_PAGES * (PAGE / 512) + 2];
    size_t n = 0;
    *s->hdr = (struct virtio_blk_req_hdr){
        .type = op == BLKDEV_OP_READ    ? VIRTIO_BLK_T_IN
                : op == BLKDEV_OP_WRITE ? VIRTIO_BLK_T_OUT
                                        : VIRTIO_BLK_T_FLUSH,
        .sector = op == BLKDEV_OP_FLUSH ? 0 : sector * vb->units,
    };
    segs[n++] = (struct virtq_seg){.addr = s->hdr, .len = sizeof(*s->hdr)};
    if (op == BLKDEV_OP_WRITE)
        memcpy(s->data, buf, len);
    for (size_t off = 0; off < s->len; off += vb->seg_bytes) {
        size_t chunk = s->len - off < vb->seg_bytes ? s->len - off
                                                    : vb->seg_bytes;
        segs[n++] = (struct virtq_seg){.addr = s->data + off,
                                       .len = (uint32_t)chunk,
                                       .device_writes =
                                           op == BLKDEV_OP_READ};
    }
    *s->status = 0xff; /* not a status: a device that skips it is caught */
    segs[n++] = (struct virtq_seg){.addr = (const void *)s->status, .len = 1,
                                   .device_writes = true};
    int rc = virtq_add(&vb->q, segs, n, s);
    if (rc != 0) {
        if (rc == -EAGAIN)
            vb->stats.full++;
        return rc;
    }
    s->state = SLOT_DEVICE;
    s->started = vb->env.now_ns();
    virtq_kick(&vb->q);
    return 0;
}

/* One used element, copied once by virtq_get. Returns false if the
 * device broke the protocol. */
static bool complete(struct virtio_blk *vb, struct slot *s, uint32_t len,
                     bool len_ok)
{
    uint8_t status = *s->status; /* read once */
    if (s->state != SLOT_DEVICE || !len_ok || len < 1
        || (s->op == BLKDEV_OP_READ && len != s->len + 1)) {
        vb->stats.bad_len++;
        return false;
    }
    if (status != VIRTIO_BLK_S_OK && status != VIRTIO_BLK_S_IOERR
        && status != VIRTIO_BLK_S_UNSUPP) {
        vb->stats.bad_status++;
        return false;
    }
    finish(vb, s, status == VIRTIO_BLK_S_OK      ? 0
                  : status == VIRTIO_BLK_S_UNSUPP ? -EOPNOTSUPP
                                                  : -EIO);
    return true;
}

static bool timed_out(struct virtio_blk *vb, uint64_t now)
{
    for (unsigned i = 0; i < vb->bd.info.queue_depth; i++) {
        const struct slot *s = &vb->slots[i];
        if (s->state == SLOT_DEVICE && now - s->started > VIRTIO_BLK_TIMEOUT_NS)
            return true;
    }
    return false;
}

static int vb_poll(struct blkdev *bd)
{
    struct virtio_blk *vb = of(bd);
    int ran = 0;

    if (vb->closed) {
        fail_all(vb, -ENOTCONN);
        return -ENOTCONN;
    }
    for (unsigned i = 0; i < bd->info.queue_depth; i++)
        if (vb->slots[i].state == SLOT_LOCAL) {
            finish(vb, &vb->slots[i], vb->slots[i].result);
            ran++;
        }
    for (unsigned budget = vb->q.size; budget > 0 && !vb->broken; budget--) {
        void *cookie;
        uint32_t len;
        bool ok;
        int rc = virtq_get(&vb->q, &cookie, &len, &ok);
        if (rc < 0) {
            break_device(vb);
            break;
        }
        if (rc == 0)
            break;
        if (!complete(vb, cookie, len, ok)) {
            break_device(vb);
            break;
        }
        ran++;
    }
    /* An id the device should not have used means one of ours may never
     * come back: give up rather than wait for it. */
    if (vb->q.stats.bad_id != 0)
        break_device(vb);
    if (!vb->broken && timed_out(vb, vb->env.now_ns())) {
        vb->stats.timeouts++;
        break_device(vb);
    }
    if (vb->broken) {
        fail_all(vb, -EIO);
        return -EIO;
    }
    return ran;
}

static int vb_wait(struct blkdev *bd, uint64_t deadline_ns)
{
    struct virtio_blk *vb = of(bd);

    for (;;) {
        if (vb->closed)
            return -ENOTCONN;
        if (vb->broken || vb->q.broken)
            return -EIO;
        uint64_t now = vb->env.now_ns();
        uint64_t oldest = 0;
        bool any = false;
        for (unsigned i = 0; i < bd->info.queue_depth; i++) {
            const struct slot *s = &vb->slots[i];
            if (s->state == SLOT_LOCAL)
                return 0;
            if (s->state == SLOT_DEVICE && (!any || s->started < oldest)) {
                oldest = s->started;
                any = true;
            }
        }
        if (virtq_pending(&vb->q))
            return 0;
        if (any && now - oldest > VIRTIO_BLK_TIMEOUT_NS)
            return 0; /* poll gives up on the device */
        if (deadline_ns != 0 && now >= deadline_ns)
            return -ETIMEDOUT;
        uint64_t next = now + (vb->irq != NULL ? VIRTIO_BLK_IRQ_RECHECK_NS
                                               : VIRTIO_BLK_POLL_NS);
        if (deadline_ns != 0 && deadline_ns < next)
            next = deadline_ns;
        if (any && oldest + VIRTIO_BLK_TIMEOUT_NS + 1 < next)
            next = oldest + VIRTIO_BLK_TIMEOUT_NS + 1;
        if (vb->irq != NULL)
            vb->env.irq_wait(vb->irq, next);
        else
            vb->env.sleep_until(next);
    }
}

static const struct blkdev_ops ops = {
    .submit = vb_submit,
    .poll = vb_poll,
    .wait = vb_wait,
};

static int config_u32(struct virtio_dev *dev, uint32_t off, uint32_t *out)
{
    uint8_t b[4];
    int rc = virtio_config_read(dev, off, b, sizeof b);
    if (rc == 0)
        *out = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16
               | (uint32_t)b[3] << 24;
    return rc;
}

static int config_u64(struct virtio_dev *dev, uint32_t off, uint64_t *out)
{
    uint8_t b[8];
    int rc = virtio_config_read(dev, off, b, sizeof b);
    if (rc == 0) {
        *out = 0;
        for (unsigned i = 0; i < 8; i++)
            *out |= (uint64_t)b[i] << (8 * i);
    }
    return rc;
}

static int setup(struct virtio_blk *vb)
{
    struct virtio_dev *dev = vb->dev;
    struct blkdev_info *info = &vb->bd.info;

    uint64_t offered = dev->ops->device_features(dev);
    if ((offered & VIRTIO_BLK_F_CONFIG_WCE) && !(offered & VIRTIO_BLK_F_FLUSH))
        return -ENOTSUP;
    uint64_t features;
    int rc = virtio_negotiate(dev,
                              VIRTIO_BLK_F_RO | VIRTIO_BLK_F_BLK_SIZE
                                  | VIRTIO_BLK_F_SEG_MAX
                                  | VIRTIO_BLK_F_SIZE_MAX
                                  | VIRTIO_BLK_F_FLUSH,
                              0, &features);
    if (rc != 0)
        return rc;

    uint64_t capacity; /* 512-byte sectors */
    uint32_t blk = 512, size_max = PAGE, seg_max = 1;
    if ((rc = config_u64(dev, VIRTIO_BLK_CFG_CAPACITY, &capacity)) != 0)
        return rc;
    if ((features & VIRTIO_BLK_F_BLK_SIZE)
        && (rc = config_u32(dev, VIRTIO_BLK_CFG_BLK_SIZE, &blk)) != 0)
        return rc;
    if ((features & VIRTIO_BLK_F_SIZE_MAX)
        && (rc = config_u32(dev, VIRTIO_BLK_CFG_SIZE_MAX, &size_max)) != 0)
        return rc;
    if ((features & VIRTIO_BLK_F_SEG_MAX)
        && (rc = config_u32(dev, VIRTIO_BLK_CFG_SEG_MAX, &seg_max)) != 0)
        return rc;
    if (blk < 512 || blk > PAGE || (blk & (blk - 1)) != 0)
        return -EIO;
    vb->units = blk / 512;
    if (capacity / vb->units == 0 || capacity > UINT64_MAX / 512)
        return -EIO;
    vb->seg_bytes = (size_max < PAGE ? size_max : PAGE) / blk * blk;
    if (vb->seg_bytes == 0)
        return -EIO;
    if (seg_max == 0)
        seg_max = 1;

    info->sector_size = blk;
    info->sectors = capacity / vb->units;
    info->readonly = (features & VIRTIO_BLK_F_RO) != 0;
    info->features = (features & VIRTIO_BLK_F_FLUSH) ? BLKDEV_F_FLUSH : 0;

    void *irq = NULL;
    if (vb->env.irq_attach != NULL && vb->env.irq_wait != NULL
        && vb->env.irq_attach(dev, &irq) == 0)
        vb->irq = irq;

    void *qmem = vb->env.alloc_pages(pages_for(virtq_mem_size(QUEUE_SIZE)));
    uint8_t *meta = vb->env.alloc_pages(1);
    if (qmem == NULL || meta == NULL)
        return -ENOMEM;
    if ((rc = virtq_setup(&vb->q, dev, REQQ, QUEUE_SIZE, qmem)) != 0)
        return rc == -ENOENT ? -EIO : rc;
    if (vb->q.size < 3)
        return -EIO; /* a request is at least three descriptors */
    virtq_set_interrupts(&vb->q, vb->irq != NULL);

    uint32_t segs = VIRTIO_BLK_SLOT_PAGES * PAGE / vb->seg_bytes;
    if (segs > seg_max)
        segs = seg_max;
    if (segs > (uint32_t)vb->q.size - 2)
        segs = (uint32_t)vb->q.size - 2;
    info->max_request = segs * vb->seg_bytes;
    uint32_t depth = vb->q.size / (segs + 2);
    info->queue_depth = depth == 0 ? 1
                        : depth > VIRTIO_BLK_SLOTS ? VIRTIO_BLK_SLOTS
                                                   : depth;
    uint8_t *data = vb->env.alloc_pages((size_t)info->queue_depth
                                        * VIRTIO_BLK_SLOT_PAGES);
    if (data == NULL)
        return -ENOMEM;
    for (unsigned i = 0; i < info->queue_depth; i++) {
        struct slot *s = &vb->slots[i];
        s->hdr = (struct virtio_blk_req_hdr *)(meta + i * META_STRIDE);
        s->status = meta + i * META_STRIDE + sizeof(*s->hdr);
        s->data = data + (size_t)i * VIRTIO_BLK_SLOT_PAGES * PAGE;
    }
    virtio_driver_ok(dev);
    return 0;
}

int virtio_blk_open(struct virtio_dev *dev, const struct virtio_env *env,
                    struct virtio_blk **out)
{
    if (dev->device_id != VIRTIO_ID_BLOCK)
        return -ENODEV;
    struct virtio_blk *vb = env->alloc_pages(pages_for(sizeof(*vb)));
    if (vb == NULL)
        return -ENOMEM;
    vb->dev = dev;
    vb->env = *env;
    vb->bd.ops = &ops;
    vb->bd.name = dev->name;
    int rc = setup(vb);
    if (rc != 0) {
        virtio_fail(dev);
        return rc;
    }
    *out = vb;
    return 0;
}

struct blkdev *virtio_blk_blkdev(struct virtio_blk *vb)
{
    return &vb->bd;
}

struct virtio_blk *virtio_blk_from_blkdev(struct blkdev *bd)
{
    return bd->ops == &ops ? of(bd) : NULL;
}

void virtio_blk_get_stats(const struct virtio_blk *vb,
                          struct virtio_blk_stats *out)
{
    *out = vb->stats;
    out->bad_id = vb->q.stats.bad_id;
    out->bad_idx = vb->q.stats.bad_idx;
    out->broken = vb->broken;
    out->interrupts = vb->irq != NULL;
}

void virtio_blk_close(struct virtio_blk *vb)
{
    if (vb->closed)
        return;
    vb->closed = true;
    (void)virtio_reset(vb->dev);
}
