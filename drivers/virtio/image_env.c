/*
 * virtio_image_env(): what a virtio device driver needs, in an image.
 * Every device with interrupts gets a scheduler wait queue of its own
 * that its interrupt wakes (one pool for all virtio devices, as the
 * vectors are).
 */
#include <boot/boot.h>
#include <errno.h>
#include <mm/mm.h>
#include <sched/sched.h>
#include <time/time.h>
#include <virtio/virtio.h>

static void *alloc_pages(size_t count)
{
    return mm_pages_alloc(MM_ROLE_IO, count);
}

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

static const struct virtio_env image_env = {
    .alloc_pages = alloc_pages,
    .now_ns = time_monotonic_ns,
    .sleep_until = sched_sleep_until,
    .random64 = boot_random_u64,
    .irq_attach = irq_attach,
    .irq_wait = irq_wait,
};

const struct virtio_env *virtio_image_env(void)
{
    return &image_env;
}
