/*
 * virtio_image_env(): what a virtio device driver needs, in an image.
 * Every device with interrupts gets a scheduler wait queue of its own
 * that its interrupt wakes, and a count of its interrupts (one pool for
 * all virtio devices, as the vectors are).
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

struct irq_ctx {
    struct sched_waitq q;
    uint64_t count; /* written in the handler only */
};

static struct irq_ctx ctxs[VIRTIO_IRQ_SLOTS];
static unsigned ctxs_used;

static void on_interrupt(void *arg)
{
    struct irq_ctx *c = arg;
    c->count++;
    sched_wake_all(&c->q);
}

static int irq_attach(struct virtio_dev *dev, void **ctx)
{
    if (ctxs_used == VIRTIO_IRQ_SLOTS)
        return -ENOSPC;
    struct irq_ctx *c = &ctxs[ctxs_used];
    sched_waitq_init(&c->q);
    c->count = 0;
    int rc = virtio_irq_attach(dev, on_interrupt, c);
    if (rc != 0)
        return rc;
    ctxs_used++;
    *ctx = c;
    return 0;
}

static void irq_wait(void *ctx, uint64_t deadline_ns)
{
    (void)sched_wait_until(&((struct irq_ctx *)ctx)->q, deadline_ns);
}

static uint64_t irq_count(void *ctx)
{
    return __atomic_load_n(&((struct irq_ctx *)ctx)->count, __ATOMIC_RELAXED);
}

static const struct virtio_env image_env = {
    .alloc_pages = alloc_pages,
    .now_ns = time_monotonic_ns,
    .sleep_until = sched_sleep_until,
    .random64 = boot_random_u64,
    .irq_attach = irq_attach,
    .irq_wait = irq_wait,
    .irq_count = irq_count,
};

const struct virtio_env *virtio_image_env(void)
{
    return &image_env;
}
