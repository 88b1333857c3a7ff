/* virtio_blk_open_first: the image's memory, clock and sleep. */
#include <errno.h>
#include <mm/mm.h>
#include <sched/sched.h>
#include <time/time.h>
#include <virtio_blk/virtio_blk.h>

static void *alloc_pages(size_t count)
{
    return mm_pages_alloc(MM_ROLE_IO, count);
}

/* One wait queue per device with interrupts: its handler wakes it. */
static struct sched_waitq waitqs[VIRTIO_IRQ_SLOTS];
static unsigned waitqs_used;

static void on_interrupt(void *arg)
{
    sched_wake_all(arg);
}

static int irq_attach(struct virtio_dev *dev, void **ctx)
{
    if (waitqs_used == VIRTIO_IRQ_SLOTS)
        return -ENOSPC;
    struct sched_waitq *q = &waitqs[waitqs_used];
    sched_waitq_init(q);
    int rc = virtio_irq_attach(dev, on_interrupt, q);
    if (rc != 0)
        return rc;
    waitqs_used++;
    *ctx = q;
    return 0;
}

static void irq_wait(void *ctx, uint64_t deadline_ns)
{
    (void)sched_wait_until(ctx, deadline_ns);
}

static const struct virtio_blk_env image_env = {
    .alloc_pages = alloc_pages,
    .now_ns = time_monotonic_ns,
    .sleep_until = sched_sleep_until,
    .irq_attach = irq_attach,
    .irq_wait = irq_wait,
};

int virtio_blk_open_first(struct blkdev **out)
{
    struct virtio_dev *dev = virtio_find(VIRTIO_ID_BLOCK, 0);
    struct virtio_blk *vb;

    if (dev == NULL)
        return -ENODEV;
    int rc = virtio_blk_open(dev, &image_env, &vb);
    if (rc != 0)
        return rc;
    *out = virtio_blk_blkdev(vb);
    return 0;
}
