/* <netdev/nic.h> on Xen: the vif device/vif/0 through netfront. */
#include <errno.h>
#include <netdev/nic.h>
#include <netfront/netfront_netdev.h>
#include <platform/xen/guest.h>
#include <xenabi/errno.h>

int nic_open_first(struct netdev **out)
{
    int rc = xen_guest_start();
    if (rc == -XENABI_ENOSYS)
        return -ENODEV;
    if (rc < 0)
        return rc;
    rc = netfront_netdev_open("device/vif/0", out);
    return rc == -XENABI_ENOENT ? -ENODEV : rc; /* a guest without a vif */
}

const char *nic_driver_name(void)
{
    return "netfront";
}

int nic_format_stats(struct netdev *nd, char *buf, size_t n)
{
    return netfront_netdev_format_stats(nd, buf, n);
}
