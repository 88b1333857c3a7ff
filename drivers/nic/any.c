/* <netdev/nic.h> on Xen or QEMU: netfront if Xen answers, else virtio-net. */
#include <errno.h>
#include <netdev/nic.h>
#include <netfront/netfront_netdev.h>
#include <platform/xen/control.h>
#include <platform/xen/guest.h>
#include <stdio.h>
#include <virtio_net/virtio_net.h>
#include <xenabi/errno.h>

static const char *opened = "none";

/* `xl shutdown`: the vif's counters, for the profile (docs/benchmarks.md). */
static void print_stats(void *nd)
{
    char line[200];
    netfront_netdev_format_stats(nd, line, sizeof(line));
    printf("[xen] profile: %s\n", line);
}

int nic_open_first(struct netdev **out)
{
    int rc = xen_guest_start();
    if (rc == -XENABI_ENOSYS) {
        rc = virtio_net_open_first(out);
        if (rc == 0)
            opened = "virtio-net";
        return rc;
    }
    if (rc < 0)
        return rc;
    rc = netfront_netdev_open("device/vif/0", out);
    if (rc == 0) {
        opened = "netfront";
        (void)xen_control_on_shutdown(print_stats, *out);
    }
    return rc == -XENABI_ENOENT ? -ENODEV : rc;
}

const char *nic_driver_name(void)
{
    return opened;
}

int nic_format_stats(struct netdev *nd, char *buf, size_t n)
{
    const struct virtio_net *vn = virtio_net_from_netdev(nd);
    return vn != NULL ? virtio_net_format_stats(vn, buf, n)
                      : netfront_netdev_format_stats(nd, buf, n);
}
