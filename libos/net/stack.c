/*
 * stack.c - starting lwIP and attaching NICs (<net/net.h>).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lwip/dhcp.h"
#include "lwip/dns.h"
#include "lwip/init.h"
#include "lwip/ip_addr.h"
#include "lwip/netif.h"
#include "lwip/tcpip.h"

#include <net/net.h>
#include <netdev/netdev.h>
#include <sched/sched.h>
#include <time/time.h>

#include "net_internal.h"

static bool started;

void net_port_assert_core_locked(void)
{
    /* Before tcpip_init() creates the lock, lwip_init() runs alone. */
    if (!lock_tcpip_core.valid || lock_tcpip_core.owner == sched_self())
        return;
    printf("[net] panic: thread %s called lwIP's core without the core "
           "lock (LOCK_TCPIP_CORE(), <lwip/tcpip.h>)\n",
           sched_thread_name(sched_self()));
    NET_PORT_FLUSH();
    abort();
}

int net_start(void)
{
    if (started)
        return 0;
    started = true;
    tcpip_init(NULL, NULL);
    return 0;
}

/* From the tcpip thread: an address came (DHCP) or changed. */
static void status_changed(struct netif *netif)
{
    struct net_if *nif = netif->state;
    sched_wake_all(&nif->up);
}

/* A device that fails (gone, broken) must not spin this thread: the
 * scheduler is cooperative, and a loop that never parks would stop every
 * other thread. */
#define RX_ERROR_BACKOFF_NS (10 * TIME_NS_PER_MS)

static int rx_thread(void *arg)
{
    struct net_if *nif = arg;
    for (;;) {
        (void)netdev_wait(nif->dev, 0);
        int rc = netdev_poll(nif->dev);
        if (rc < 0) {
            nif->stats.poll_errors++;
            sched_sleep_ns(RX_ERROR_BACKOFF_NS);
        } else if (rc == 0) {
            sched_yield(); /* a wake-up with nothing to do */
        }
    }
    return 0;
}

int net_attach(struct netdev *dev, const struct net_config *cfg,
               struct net_if **out)
{
#if !LWIP_DHCP
    if (cfg->mode == NET_ADDR_DHCP) {
        printf("[net] %s: ip=dhcp: this image's stack has no DHCP client "
               "(give ip=A.B.C.D/N, or link //libos/net:lwip_ipv4)\n",
               dev->name);
        return -1;
    }
#endif
    struct net_if *nif = calloc(1, sizeof(*nif));
    if (nif == NULL) {
        printf("[net] out of memory attaching a NIC\n");
        return -1;
    }
    if (net_if_setup(nif, dev) != 0) {
        free(nif);
        return -1;
    }
    sched_waitq_init(&nif->up);
    ip4_addr_t ip, mask, gw;
    ip4_addr_set_zero(&ip);
    ip4_addr_set_zero(&mask);
    ip4_addr_set_zero(&gw);
    if (cfg->mode == NET_ADDR_STATIC) {
        ip4_addr_set_u32(&ip, lwip_htonl(cfg->ip));
        ip4_addr_set_u32(&mask, lwip_htonl(cfg->netmask));
        ip4_addr_set_u32(&gw, lwip_htonl(cfg->gw));
    }
    LOCK_TCPIP_CORE();
    struct netif *added = netif_add(&nif->netif, &ip, &mask, &gw, nif,
                                    net_if_init, tcpip_input);
    if (added == NULL) {
        UNLOCK_TCPIP_CORE();
        printf("[net] %s: lwIP refused the interface\n", dev->name);
        free(nif);
        return -1;
    }
    netif_set_status_callback(&nif->netif, status_changed);
    if (netif_default == NULL)
        netif_set_default(&nif->netif);
    netif_set_up(&nif->netif);
    netif_set_link_up(&nif->netif);
#if LWIP_IPV6
    netif_create_ip6_linklocal_address(&nif->netif, 1);
    netif_set_ip6_autoconfig_enabled(&nif->netif, 1);
    if (cfg->has_ip6) {
        ip6_addr_t a6;
        memcpy(&a6.addr, cfg->ip6, sizeof(a6.addr));
        ip6_addr_clear_zone(&a6);
        s8_t slot;
        if (netif_add_ip6_address(&nif->netif, &a6, &slot) != ERR_OK)
            printf("[net] %s: no room for the ip6= address\n", dev->name);
    }
#else
    if (cfg->has_ip6)
        printf("[net] %s: ip6= ignored: this image's stack has no IPv6 "
               "(link //libos/net:lwip or :lwip_udp)\n", dev->name);
#endif
#if LWIP_DNS
    for (size_t i = 0; i < cfg->dns_count && i < DNS_MAX_SERVERS; i++) {
        ip_addr_t d = IPADDR4_INIT(lwip_htonl(cfg->dns[i]));
        dns_setserver((u8_t)i, &d);
    }
#else
    if (cfg->dns_count > 0)
        printf("[net] %s: dns= ignored: this image's stack has no DNS "
               "resolver (link //libos/net:lwip_ipv4 or another stack)\n",
               dev->name);
#endif
#if LWIP_DHCP
    if (cfg->mode == NET_ADDR_DHCP)
        dhcp_start(&nif->netif);
#endif
    UNLOCK_TCPIP_CORE();

    char name[SCHED_NAME_MAX];
    snprintf(name, sizeof(name), "rx %s", dev->name ? dev->name : "nic");
    struct sched_attr attr = {
        .priority = SCHED_PRIORITY_DEFAULT,
        .tag = "net",
        .detached = true,
    };
    nif->thread = sched_spawn(name, rx_thread, nif, &attr);
    if (nif->thread == NULL) {
        printf("[net] %s: no thread for the receive loop (thread table or "
               "stack pool full)\n", dev->name);
        return -1; /* the netif stays, without receive */
    }
    if (out != NULL)
        *out = nif;
    return 0;
}

uint32_t net_if_ipv4(const struct net_if *nif)
{
    return lwip_ntohl(ip4_addr_get_u32(netif_ip4_addr(&nif->netif)));
}

struct netdev *net_if_device(const struct net_if *nif)
{
    return nif->dev;
}

int net_wait_up(struct net_if *nif, uint64_t timeout_ns)
{
    uint64_t now = time_monotonic_ns();
    bool forever = timeout_ns == 0 || timeout_ns > UINT64_MAX - now;
    uint64_t deadline = forever ? 0 : now + timeout_ns;
    while (net_if_ipv4(nif) == 0) {
        if (forever)
            sched_wait(&nif->up);
        else if (sched_wait_until(&nif->up, deadline) == SCHED_TIMED_OUT
                 && net_if_ipv4(nif) == 0)
            return -1;
    }
    return 0;
}

void net_if_get_stats(const struct net_if *nif, struct net_if_stats *out)
{
    *out = nif->stats;
}
