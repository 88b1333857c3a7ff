/* <netdev/nic.h> on virtio-net: the first device of the boot-time scan. */
#include <netdev/nic.h>
#include <virtio_net/virtio_net.h>

int nic_open_first(struct netdev **out)
{
    return virtio_net_open_first(out);
}

const char *nic_driver_name(void)
{
    return "virtio-net";
}

int nic_format_stats(struct netdev *nd, char *buf, size_t n)
{
    return virtio_net_format_stats(virtio_net_from_netdev(nd), buf, n);
}
