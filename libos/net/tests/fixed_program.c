/*
 * The fixed-address stack (//libos/net:lwip_ipv4_fixed) over a real NIC:
 * a static address attaches (a dns= word is ignored with a message), and
 * ip=dhcp is refused with the fix instead of leaving the NIC unaddressed.
 * The exit status is net_attach's outcome (0 attached, 1 refused).
 */
#include <stdio.h>

#include <net/config.h>
#include <net/net.h>
#include <netdev/nic.h>

int main(int argc, char **argv)
{
    struct net_config cfg;
    char err[NET_CONFIG_ERROR_MAX];
    if (net_config_parse(argc, argv, &cfg, err) != 0) {
        puts(err);
        return 2;
    }
    net_start();
    struct netdev *nic;
    if (nic_open_first(&nic) != 0) {
        puts("fixed program: no NIC");
        return 3;
    }
    struct net_if *nif;
    int rc = net_attach(nic, &cfg, &nif);
    printf("fixed program: net_attach returned %d\n", rc);
    return rc == 0 ? 0 : 1;
}
