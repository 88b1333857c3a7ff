/* virtio_net_open_first: the image's memory, clock and sleep. */
#include <boot/boot.h>
#include <errno.h>
#include <mm/mm.h>
#include <sched/sched.h>
#include <time/time.h>
#include <virtio_net/virtio_net.h>

static void *alloc_pages(size_t count)
{
    return mm_pages_alloc(MM_ROLE_IO, count);
}

static const struct virtio_net_env image_env = {
    .alloc_pages = alloc_pages,
    .now_ns = time_monotonic_ns,
    .sleep_until = sched_sleep_until,
    .random64 = boot_random_u64,
};

int virtio_net_open_first(struct netdev **out)
{
    struct virtio_dev *dev = virtio_find(VIRTIO_ID_NET, 0);
    struct virtio_net *vn;

    if (dev == NULL)
        return -ENODEV;
    int rc = virtio_net_open(dev, &image_env, &vn);
    if (rc != 0)
        return rc;
    *out = virtio_net_netdev(vn);
    return 0;
}
