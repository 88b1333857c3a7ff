/*
 * net_up(): net_start, nic_open_first, net_attach, net_wait_up, and the
 * one line that says how it went. <net/up.h>.
 */
#include <errno.h>
#include <stdio.h>

#include <net/up.h>
#include <netdev/nic.h>

int net_up(const char *who, const struct net_config *cfg, uint64_t timeout_ns,
           struct net_if **out)
{
    if (net_start() != 0) {
        printf("%s: the network stack did not start (out of memory or "
               "threads: give the image more memory)\n", who);
        return -EIO;
    }
    struct netdev *dev;
    int rc = nic_open_first(&dev);
    if (rc == -ENODEV) {
        /* Nothing opened: no driver name to give. */
        printf("%s: no NIC found: the loopback only; give the VM a network "
               "device\n", who);
        return -ENODEV;
    }
    if (rc != 0) {
        printf("%s: the NIC did not start: error %d\n", who, rc);
        return -EIO;
    }
    struct net_if *nif;
    if (net_attach(dev, cfg, &nif) != 0) { /* the line above says why */
        printf("%s: the NIC (%s) could not be attached\n", who,
               nic_driver_name());
        return -EIO;
    }
    if (net_wait_up(nif, timeout_ns) != 0) {
        printf("%s: no address within %llu s on %s%s\n", who,
               (unsigned long long)(timeout_ns / 1000000000u),
               nic_driver_name(),
               cfg->mode == NET_ADDR_DHCP
                   ? " (ip=dhcp: is a DHCP server on that network?)"
                   : "");
        return -ETIMEDOUT;
    }
    char ip[16];
    net_config_format_ip(net_if_ipv4(nif), ip);
    printf("%s: %s up (NIC from %s)\n", who, ip, nic_driver_name());
    *out = nif;
    return 0;
}
