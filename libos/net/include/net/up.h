/*
 * net/up.h - an appliance's network in one call: the image's NIC, attached
 * and addressed.
 *
 *     struct net_if *nif;
 *     if (net_up("httpd", &cfg, 20 * TIME_NS_PER_S, &nif) != 0)
 *         ...;  // the loopback still works; the line printed says why
 *
 * net_up() starts the stack (net_start), opens the image's first NIC
 * (<netdev/nic.h>: the driver its image links), attaches it with cfg
 * (net_attach) and waits at most timeout_ns (0: forever) for its IPv4
 * address (net_wait_up). It prints one line either way, starting "who: ":
 *
 *     httpd: 10.0.0.80 up (NIC from netfront)
 *
 * or what went wrong and what to do. It returns 0 with *out set, or
 * -ENODEV (no NIC where the image runs), -EIO (the stack or the NIC did
 * not start), -ETIMEDOUT (no address within timeout_ns).
 *
 * //libos/net:up; the image also picks a network stack (slot "net_stack")
 * and a NIC driver (slot "nic").
 */
#ifndef NET_UP_H
#define NET_UP_H

#include <stdint.h>

#include <net/config.h>
#include <net/net.h>

int net_up(const char *who, const struct net_config *cfg, uint64_t timeout_ns,
           struct net_if **out);

#endif /* NET_UP_H */
