/* virtio_blk_open_first: the first virtio-blk device of the boot-time scan. */
#include <errno.h>
#include <virtio/virtio.h>
#include <virtio_blk/virtio_blk.h>

int virtio_blk_open_first(struct blkdev **out)
{
    struct virtio_dev *dev = virtio_find(VIRTIO_ID_BLOCK, 0);
    struct virtio_blk *vb;

    if (dev == NULL)
        return -ENODEV;
    int rc = virtio_blk_open(dev, virtio_image_env(), &vb);
    if (rc != 0)
        return rc;
    *out = virtio_blk_blkdev(vb);
    return 0;
}
