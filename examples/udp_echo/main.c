/*
 * udp_echo: a network appliance on netfront. It answers ARP for the IPv4
 * address given on the command line ("ip=10.0.0.2") and echoes every UDP
 * datagram sent to it. Not on Xen (QEMU) there is no vif: it says so and
 * exits with status 0.
 */
#include <stdio.h>
#include <string.h>

#include <evtchn/evtchn.h>
#include <gnttab/gnttab.h>
#include <netfront/netfront.h>
#include <xenstore/xenstore.h>

#include "echo.h"

#define DEFAULT_IP "10.0.0.2"

static struct echo_host host;
static struct netfront *nf;
static uint8_t reply[NETFRONT_MAX_FRAME];
static unsigned long echoed, dropped;

static void on_frame(void *arg, const uint8_t *frame, size_t len)
{
    (void)arg;
    size_t n = echo_reply(&host, frame, len, reply);
    if (n == 0)
        return;
    struct netfront_frag frag = {.data = reply, .len = n};
    /* Echo is best effort: a full ring drops the reply, as a NIC would. */
    if (netfront_send(nf, &frag, 1) == 0)
        echoed++;
    else
        dropped++;
}

static const char *ip_from_args(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strncmp(argv[i], "ip=", 3) == 0)
            return argv[i] + 3;
    return DEFAULT_IP;
}

int main(int argc, char **argv)
{
    const char *ip = ip_from_args(argc, argv);
    if (echo_parse_ip(ip, host.ip) != 0) {
        printf("udp_echo: bad ip=%s\n", ip);
        return 2;
    }
    int rc = evtchn_init();
    if (rc == -XENABI_ENOSYS) {
        printf("no Xen: netfront unavailable\n");
        return 0;
    }
    if (rc == 0)
        rc = gnttab_init();
    if (rc == 0)
        rc = xs_init();
    if (rc == 0)
        rc = netfront_open("device/vif/0", on_frame, NULL, &nf);
    if (rc == 0)
        rc = netfront_wait_connected(nf);
    if (rc < 0) {
        printf("udp_echo: no vif: error %d\n", rc);
        return 1;
    }
    netfront_mac(nf, host.mac);
    printf("udp_echo: %02x:%02x:%02x:%02x:%02x:%02x %s, echoing UDP\n",
           host.mac[0], host.mac[1], host.mac[2], host.mac[3], host.mac[4],
           host.mac[5], ip);
    while (netfront_poll(nf) >= 0) {
        if (evtchn_wait() < 0)
            break;
    }
    printf("udp_echo: vif closed after %lu echoes (%lu dropped)\n", echoed,
           dropped);
    netfront_free(nf);
    return 0;
}
