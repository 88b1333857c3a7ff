/* The kvstore's disk wherever the image runs: the first vbd (xvda) on Xen,
 * else the first virtio-blk device. Both are a <blkdev/blkdev.h>. */
#include <errno.h>

#include <blkfront/blkfront_blkdev.h>
#include <platform/xen/guest.h>
#include <virtio_blk/virtio_blk.h>
#include <xenabi/errno.h>

#include "examples/kvstore/disk.h"

int kv_disk_open(struct blkdev **out, const char **driver)
{
    int rc = xen_guest_start(); /* also the event channels blkfront waits on */
    if (rc == -XENABI_ENOSYS) {
        *driver = "virtio-blk";
        return virtio_blk_open_first(out);
    }
    if (rc < 0)
        return rc;
    *driver = "blkfront";
    rc = blkfront_blkdev_open("device/vbd/51712", out);
    return rc == -XENABI_ENOENT ? -ENODEV : rc;
}
