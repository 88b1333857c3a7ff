/*
 * net/net.h - the network stack (lwIP 2.1.3) of the library OS.
 *
 * An application starts the stack, attaches its NICs (any driver of
 * <netdev/netdev.h>) with the addresses of <net/config.h>, and then uses
 * BSD sockets (<sys/socket.h>, <netinet/in.h>, <arpa/inet.h>, <netdb.h>,
 * <poll.h>) whose blocking calls park only the calling thread, or lwIP's
 * own netconn and raw (callback) APIs (<lwip/...>; raw API calls must
 * hold the core lock: LOCK_TCPIP_CORE()/UNLOCK_TCPIP_CORE()).
 *
 *     struct net_config cfg;
 *     char err[NET_CONFIG_ERROR_MAX];
 *     if (net_config_parse(argc, argv, &cfg, err) != 0) { puts(err); return 2; }
 *     net_start();
 *     struct net_if *nif;
 *     net_attach(dev, &cfg, &nif);
 *     net_wait_up(nif, 10 * TIME_NS_PER_S);
 *
 * (<net/up.h>'s net_up() does those last steps with the image's NIC.)
 *
 * The loopback interface (127.0.0.1, and ::1 with IPv6) exists from
 * net_start() on, with no NIC at all.
 *
 * The stack is one of the variants in //libos/net (the component slot
 * "net_stack"); an image links one. docs/networking.md.
 */
#ifndef NET_NET_H
#define NET_NET_H

#include <stdint.h>

#include <net/config.h>

struct netdev;
struct net_if;

/* Start lwIP and its tcpip thread; the first call does it, later ones
 * return at once. Call from a thread (main is one). 0. */
int net_start(void);

/* Attach dev as a network interface: its own receive thread (named after
 * the device), addresses from cfg (static, or DHCP started), the first
 * attached NIC as the default route. 0, or -1 with one line printed
 * ("[net] ...") if the device is unusable (MTU outside 576..9000) or
 * memory or a thread is missing. net_start() first. */
int net_attach(struct netdev *dev, const struct net_config *cfg,
               struct net_if **out);

/* Wait until nif has an IPv4 address (at once for a static one), at most
 * timeout_ns (0: forever). 0, or -1 on timeout. */
int net_wait_up(struct net_if *nif, uint64_t timeout_ns);

/* nif's IPv4 address, host byte order (0 if none yet). */
uint32_t net_if_ipv4(const struct net_if *nif);

/* The device nif was attached with. */
struct netdev *net_if_device(const struct net_if *nif);

/* What the interface saw; bad frames are dropped and counted, never read
 * outside the device's buffer. */
struct net_if_stats {
    uint64_t rx_frames;      /* handed to lwIP */
    uint64_t rx_bad_length;  /* shorter than an Ethernet header (or than
                              * the ARP, IPv4 or IPv6 header behind it), longer
                              * than the MTU allows, or no data */
    uint64_t rx_dropped;     /* no memory, or lwIP's queue full */
    uint64_t tx_frames;      /* accepted by the device */
    uint64_t tx_errors;      /* refused by the device (EAGAIN, ...) */
    uint64_t tx_linearized;  /* more fragments than NETDEV_MAX_FRAGS:
                              * copied into one buffer */
    uint64_t tx_csum_offloaded; /* TCP checksum left to the device */
    uint64_t tx_lent;        /* chains lent to the device, not copied
                              * (NETDEV_F_TX_SG) */
    uint64_t rx_csum_trusted; /* frames whose TCP/UDP checksum the device
                               * checked: lwIP's check skipped */
    uint64_t poll_errors;    /* netdev_poll() failed (then the receive
                              * thread waits 10 ms before it retries) */
};

void net_if_get_stats(const struct net_if *nif, struct net_if_stats *out);

#endif /* NET_NET_H */
