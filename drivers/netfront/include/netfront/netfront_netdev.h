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
 * Receive copies (NETDEV_F_RX_COPIES): netfront ends a buffer's grant
 * and copies the frame out of the backend-written pages (a frame may
 * span several), then this adapter copies it once more into one of
 * NETFRONT_NETDEV_RX_BUFS pages it owns, which becomes the netdev_buf
 * the stack holds until netdev_buf_release(). A frame that arrives when
 * the stack holds them all is dropped and counted (rx_no_buffer).
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
#include <stdint.h>

#define NETFRONT_NETDEV_RX_BUFS 64u

struct netfront_netdev_stats {
    uint64_t rx_no_buffer; /* frames dropped: the stack held every page */
    uint64_t rx_dropped;   /* frames dropped: no receiver set */
    uint64_t bad_release;  /* netdev_buf_release of a buffer not held */
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

/* Close the vif and free the adapter; buffers the stack still holds
 * must have been released. */
void netfront_netdev_free(struct netdev *nd);

#endif /* NETFRONT_NETFRONT_NETDEV_H */
