/*
 * What the port's files share (//libos/net): an attached NIC.
 */
#ifndef NET_INTERNAL_H
#define NET_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lwip/netif.h"

#include <net/net.h>
#include <netdev/netdev.h>
#include <sched/sched.h>

struct net_if {
    struct netif netif; /* netif.state points back here */
    struct netdev *dev;
    uint8_t mac[NETDEV_MAC_LEN]; /* copied from the driver at attach */
    uint16_t mtu;
    size_t max_frame; /* largest acceptable received frame */
    bool tx_csum;     /* the device finishes TCP/UDP checksums */
    bool tx_sg;       /* the device may be lent pbufs (NETDEV_F_TX_SG) */
    bool rx_csum;     /* the device marks frames it checked */
    struct net_if_stats stats;
    struct sched_waitq up; /* net_wait_up() callers */
    struct sched_thread *thread;
};

/* Copy and check the device's MTU, MAC and features; hook rx. 0, or -1
 * (printed) for an unusable device. */
int net_if_setup(struct net_if *nif, struct netdev *dev);

/* lwIP's netif init function (netif_add). */
err_t net_if_init(struct netif *netif);

/* The device's receive callback (netdev_set_rx). */
void net_if_rx(void *arg, struct netdev_buf *buf);

#endif /* NET_INTERNAL_H */
