/* <disk/any.h> on Xen or QEMU: blkfront if Xen answers, else virtio-blk. */
#include <disk/any.h>
#include <errno.h>

#include <blkfront/blkfront_blkdev.h>
#include <platform/xen/guest.h>
#include <virtio_blk/virtio_blk.h>
#include <xenabi/errno.h>

/* xvda: Linux's major 202, minor 0 (docs/storage.md, "Volumes"). */
#define FIRST_VBD "device/vbd/51712"

static const char *opened = "none";

int disk_open_first(struct blkdev **out)
{
    int rc = xen_guest_start();
    if (rc == -XENABI_ENOSYS) {
        rc = virtio_blk_open_first(out);
        if (rc == 0)
            opened = "virtio-blk";
        return rc;
    }
    if (rc < 0)
        return rc;
    rc = blkfront_blkdev_open(FIRST_VBD, out);
    if (rc == 0)
        opened = "blkfront";
    return rc == -XENABI_ENOENT ? -ENODEV : rc;
}

const char *disk_driver_name(void)
{
    return opened;
}
