/*
 * netfront/netfront_netdev.h - netfront behind <netdev/netdev.h>, so the
 * network stack drives a Xen vif and a virtio-net device alike
 * (//drivers/netfront:netdev).
 *
 *     evtchn_init(); gnttab_init(); xs_init();       (the caller's job,
 *     evtchn_sched_init(); evtchn_sched_start();      as for netfront)
 *     struct netdev *nd;
 *     netfront_netdev_open("device/vif/0", &nd);     connected, MAC read
 *
 * Receive without copying: netfront ends a buffer's grant (the backend
 * can no longer reach the page) and lends this adapter the page the
 * backend filled, which becomes the netdev_buf the stack holds until
 * netdev_buf_release() gives the page back to netfront's pool
 * (netfront_set_rx_page). A frame of several slots, or one arriving
 * when the stack holds every spare page of netfront's pool, is copied
 * twice instead: out of the granted pages by netfront, into one of
 * NETFRONT_NETDEV_RX_BUFS pages this adapter owns (rx_copied). At most
 * NETFRONT_NETDEV_RX_BUFS pages are held at once, lent or copied; a
 * frame that arrives when the stack holds too many is dropped and
 * counted (rx_no_buffer). NETDEV_F_RX_COPIES is not set.
 *
 * Large TCP segments: netfront's receive offload is on
 * (netfront_set_rx_offload), so netback hands over its host's TCP
 * segments merged, up to 64 KiB (GSO), with checksums left blank; such a
 * frame is copied into as many of the adapter's pages as it needs,
 * chained (netdev_buf.next), and the device says NETDEV_F_RX_GSO.
 *
 * Transmit: netfront_send, which copies the fragments into granted
 * pages (each fragment in slots of its own when the backend offers
 * feature-sg), so the caller may reuse them at once; as that is a copy,
 * NETDEV_F_TX_SG is not set. Checksums: NETDEV_F_TX_CSUM when the
 * backend takes csum_blank for IPv4 and IPv6 (netfront_tx_csum_offload,
 * read at open); NETDEV_F_RX_CSUM always, and a frame the backend marked
 * data_validated arrives with NETDEV_RX_CSUM_VALID.
 *
 * Waiting: evtchn_sched_wait on netfront's event channel port, so only
 * the calling thread parks; -ENOTCONN if //libos/xen/evtchn_sched is not
 * started or the vif is not connected.
 */
#ifndef NETFRONT_NETFRONT_NETDEV_H
#define NETFRONT_NETFRONT_NETDEV_H

#include <netdev/netdev.h>
#include <netfront/netfront.h>
#include <stddef.h>
#include <stdint.h>

#define NETFRONT_NETDEV_RX_BUFS 64u

struct netfront_netdev_stats {
    uint64_t rx_no_buffer; /* frames dropped: the stack held every page */
    uint64_t rx_dropped;   /* frames dropped: no receiver set */
    uint64_t bad_release;  /* netdev_buf_release of a buffer not held */
    uint64_t rx_copied;    /* frames copied into the adapter's pages */
};

/*
 * Open and connect the vif at `nodename` (netfront_open +
 * netfront_wait_connected). 0, -ENOMEM, or netfront's error as a
 * negative errno.
 */
int netfront_netdev_open(const char *nodename, struct netdev **out);

/* The netfront underneath (for its statistics, netfront_close). */
struct netfront *netfront_netdev_netfront(struct netdev *nd);

void netfront_netdev_get_stats(struct netdev *nd,
                               struct netfront_netdev_stats *out);

/*
 * One line of the vif's receive and transmit counters into buf (n bytes,
 * NUL-terminated, cut if short), for <netdev/nic.h>'s nic_format_stats:
 * how many frames were lent in netfront's page (no copy) and how many
 * copied, how many came merged (GSO), and the event channel's
 * notifications each way. Returns what snprintf returns.
 */
int netfront_netdev_format_stats(struct netdev *nd, char *buf, size_t n);

/* Close the vif and free the adapter; buffers the stack still holds
 * must have been released. */
void netfront_netdev_free(struct netdev *nd);

#endif /* NETFRONT_NETFRONT_NETDEV_H */
