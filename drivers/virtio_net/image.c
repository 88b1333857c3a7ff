/* virtio_net_open_first: the first virtio-net device of the boot-time scan. */
#include <errno.h>
#include <virtio/virtio.h>
#include <virtio_net/virtio_net.h>

int virtio_net_open_first(struct netdev **out)
{
    struct virtio_dev *dev = virtio_find(VIRTIO_ID_NET, 0);
    struct virtio_net *vn;

    if (dev == NULL)
        return -ENODEV;
    int rc = virtio_net_open(dev, virtio_image_env(), &vn);
    if (rc != 0)
        return rc;
    *out = virtio_net_netdev(vn);
    return 0;
}
