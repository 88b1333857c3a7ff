/*
 * netfront/netfront.h - a Xen paravirtual network interface (vif), the
 * frontend half of the netif protocol (<xenabi/netif.h>).
 *
 * The driver connects to the backend through //libos/xen/xenbus, reads
 * the vif's MAC address from xenstore, posts empty granted pages on the
 * receive ring and sends frames on the transmit ring, one granted page
 * per slot (a frame longer than a page is chained with NETTXF_MORE_DATA
 * when the backend offers feature-sg).
 *
 *     struct netfront *nf;
 *     evtchn_init(); gnttab_init(); xs_init();     (the caller's job)
 *     netfront_open("device/vif/0", on_frame, arg, &nf);
 *     netfront_wait_connected(nf);
 *     for (;;) {
 *         netfront_poll(nf);           on_frame(arg, frame, len) per frame
 *         ... netfront_send(nf, frags, n) ...    -XENABI_EAGAIN: ring full
 *         evtchn_wait();               sleep until the backend signals
 *                                      (a thread, with //libos/xen/evtchn_sched:
 *                                      evtchn_sched_wait on netfront_port)
 *     }
 *     netfront_close(nf);              Closed, every grant ended
 *
 * The backend is not trusted. Each response is copied out of the shared
 * ring once and checked before use: an id that is out of range or not
 * outstanding (which includes a duplicate response), a status that is
 * no status, data that does not fit in its page, a chain that never
 * ends, an extra-info slot that is malformed or of an unknown type (see
 * netfront_set_rx_offload), or a response index running ahead of our
 * requests: the response is dropped and counted in struct
 * netfront_stats, and the driver goes on. A received frame's buffer has its grant ended before any byte of
 * it is read; a frame in one slot is then handed up in that very page
 * when the caller asked for pages (netfront_set_rx_page), otherwise it
 * is copied out (a frame of several slots always is).
 *
 * Grants are per use: a page is granted when it is posted or sent and
 * the grant is ended when the backend answers for it, so the backend
 * holds only the pages it owes an answer for. Teardown ends every
 * grant; one the backend still maps is deferred (gnttab) and its page is
 * never reused.
 *
 * Context: thread context only (netfront_poll ends grants, which
 * <gnttab/gnttab.h> forbids in event handlers); the event channel
 * handler only records that the backend signalled. Not thread-safe: one
 * thread drives one netfront.
 *
 * Functions return 0 (or a count) on success and -XENABI_E* on failure.
 */
#ifndef NETFRONT_NETFRONT_H
#define NETFRONT_NETFRONT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xenabi/errno.h>
#include <xenabi/event_channel.h>
#include <xenabi/netif.h>

#define NETFRONT_MAC_LEN 6
/* Slots of each (one-page) ring, and buffers (pages) behind each ring. */
#define NETFRONT_TX_SLOTS XENABI_NETIF_TX_RING_SLOTS
#define NETFRONT_RX_SLOTS XENABI_NETIF_RX_RING_SLOTS
/* Largest frame we send or accept: what one tx request can describe. */
#define NETFRONT_MAX_FRAME XENABI_NETIF_MAX_TX_SIZE
/* Most slots one frame may use (a backend must accept this many). */
#define NETFRONT_MAX_FRAME_SLOTS XENABI_NETIF_NR_SLOTS_MIN

struct netfront;

/* A piece of a frame to send (like struct iovec). */
struct netfront_frag {
    const void *data;
    size_t len;
};

/*
 * Called from netfront_poll for each frame received. `frame` is private
 * memory, valid until the callback returns. The callback may call
 * netfront_send (an echo), but not netfront_poll, _close or _free.
 */
typedef void (*netfront_rx_fn)(void *arg, const uint8_t *frame, size_t len);

/*
 * Zero-copy receive. With a page callback set, a frame that arrived in
 * one slot is handed up in the page the backend filled, once its grant
 * ended (the backend can no longer reach it): page is the page's start,
 * the frame is page[offset .. offset + len). The callback returns true
 * if it keeps the page, which is then the caller's, read-only to
 * netfront, until netfront_rx_page_release(); false to give it back at
 * once (the frame is dropped). A fresh page from a pool of
 * NETFRONT_RX_LOANS spare pages is posted in the page's place, so the
 * ring stays full; when the caller holds every spare page, frames are
 * copied to the netfront_rx_fn callback instead (counted: rx_copied),
 * and so is a frame of several slots. Arguments and context as for
 * netfront_rx_fn (the same arg).
 */
#define NETFRONT_RX_LOANS 64u
typedef bool (*netfront_rx_page_fn)(void *arg, uint8_t *page, size_t offset,
                                    size_t len);
void netfront_set_rx_page(struct netfront *nf, netfront_rx_page_fn fn);

/*
 * Give back a page kept by the netfront_rx_page_fn callback (the thread
 * that drives the netfront, or another one on the cooperative scheduler:
 * it never runs in an event handler). A pointer that is not a page
 * netfront lent, or one given back already, is ignored and counted
 * (bad_page_release).
 */
void netfront_rx_page_release(struct netfront *nf, uint8_t *page);

/*
 * Allocate a netfront for the vif at `nodename` ("device/vif/0") and
 * start its handshake (xenbus_front_init). The rings and buffer pages are
 * allocated here, once, and reused across reconnections.
 */
int netfront_open(const char *nodename, netfront_rx_fn rx, void *arg,
                  struct netfront **out);

/*
 * Wait until the vif is Connected (see xenbus_front_wait_connected):
 * fails with the handshake's error, e.g. -XENABI_EINVAL for a malformed
 * "mac" or -XENABI_EOPNOTSUPP for a backend without feature-rx-copy.
 */
int netfront_wait_connected(struct netfront *nf);

bool netfront_connected(const struct netfront *nf);

/*
 * The event channel port of the connection, for a scheduler to wait on
 * (evtchn_sched_wait in <evtchn_sched/evtchn_sched.h>); -XENABI_ENOTCONN
 * while no port is bound. It changes when the vif reconnects.
 */
int netfront_port(const struct netfront *nf, xenabi_evtchn_port_t *port);

/* The vif's MAC address (valid once setup read it). */
void netfront_mac(const struct netfront *nf, uint8_t mac[NETFRONT_MAC_LEN]);

/*
 * Queue one frame made of `n` fragments (their total is the frame
 * length, 1..NETFRONT_MAX_FRAME bytes; the data is copied, the caller
 * keeps its buffers). With a backend that offers feature-sg each
 * fragment goes out in ring slots (granted pages) of its own, as
 * scatter-gather; a frame that would need more than
 * NETFRONT_MAX_FRAME_SLOTS that way is packed into whole pages. Returns 0 when queued, -XENABI_EAGAIN when the
 * transmit ring has no room now (netfront_poll frees slots as the
 * backend answers), -XENABI_E2BIG when the frame is too long (for a
 * backend without feature-sg: longer than a page),
 * -XENABI_EINVAL for an empty frame, -XENABI_ENOTCONN when not
 * connected.
 */
int netfront_send(struct netfront *nf, const struct netfront_frag *frags,
                  size_t n);

/*
 * netfront_send with flags: NETFRONT_TX_CSUM_BLANK leaves the frame's
 * TCP/UDP checksum to the backend (NETTXF_csum_blank|data_validated; the
 * checksum field must hold the pseudo-header sum, and the backend finds
 * the L4 header itself). -XENABI_EOPNOTSUPP when the backend does not
 * take it (netfront_tx_csum_offload), -XENABI_EINVAL for unknown flags.
 */
#define NETFRONT_TX_CSUM_BLANK (1u << 0)
int netfront_send_flags(struct netfront *nf, const struct netfront_frag *frags,
                        size_t n, unsigned flags);

/* Whether the connected backend takes NETFRONT_TX_CSUM_BLANK for IPv4
 * and IPv6 frames (no feature-no-csum-offload, and
 * feature-ipv6-csum-offload). */
bool netfront_tx_csum_offload(const struct netfront *nf);

/* Inside the receive callback: the flags of the frame being delivered.
 * NETFRONT_RX_CSUM_VALID: the backend marked it data_validated (its
 * TCP/UDP checksum was checked, by the backend or a NIC under it) or,
 * with receive offload on, csum_blank (the sender left the checksum to
 * hardware and the data never left the host: the field holds only the
 * pseudo-header sum, so the frame must not be checked).
 * NETFRONT_RX_GSO: the backend merged TCP segments into this frame (a
 * GSO extra came with it), so it may be longer than the MTU. */
#define NETFRONT_RX_CSUM_VALID (1u << 0)
#define NETFRONT_RX_GSO (1u << 1)
unsigned netfront_rx_flags(const struct netfront *nf);

/*
 * Receive offload: the caller honours NETFRONT_RX_CSUM_VALID (it does not
 * check the TCP/UDP checksum of such a frame) and takes frames of up to
 * NETFRONT_MAX_FRAME bytes. netfront then asks the backend for checksum
 * offload (it no longer writes feature-no-csum-offload, and writes
 * feature-ipv6-csum-offload) and for large TCP segments
 * (feature-gso-tcpv4, feature-gso-tcpv6): Linux's netback hands such a
 * frontend the TCP segments of its host as they are, up to 64 KiB, with a
 * GSO extra-info slot, instead of one MTU-sized frame each. Off by
 * default, since a caller that checks checksums would drop frames whose
 * checksum was left blank. Read when the connection is set up: call it
 * before netfront_wait_connected.
 */
void netfront_set_rx_offload(struct netfront *nf, bool on);

/*
 * Do the work the backend signalled: reclaim answered transmit slots,
 * deliver received frames to the callback, repost receive buffers, and
 * notify the backend if it asked. Returns the number of frames
 * delivered, or -XENABI_ENOTCONN when not connected.
 */
int netfront_poll(struct netfront *nf);

/* Detach (xenbus_front_close): Closed, every grant ended or deferred. */
int netfront_close(struct netfront *nf);

/* Close if needed and free everything. */
void netfront_free(struct netfront *nf);

struct netfront_stats {
    uint64_t tx_frames;     /* frames queued */
    uint64_t tx_slots;      /* tx requests written */
    uint64_t tx_full;       /* sends refused with -XENABI_EAGAIN */
    uint64_t tx_errors;     /* frames the backend answered with an error */
    uint64_t rx_frames;     /* frames delivered */
    uint64_t rx_bytes;
    uint64_t rx_errors;     /* frames the backend reported as failed */
    uint64_t rx_posted;     /* rx requests written */
    uint64_t bad_responses; /* responses dropped by validation */
    uint64_t bad_frames;    /* frames dropped because a slot was bad */
    uint64_t bad_prod;      /* polls that found rsp_prod out of range */
    uint64_t busy_grants;   /* grants the backend still held when ended */
    uint64_t reclaimed;     /* buffers given up on and reclaimed */
    uint64_t events;        /* event channel notifications received */
    uint64_t rx_loaned;     /* frames handed up in their page (no copy) */
    uint64_t rx_copied;     /* frames copied out (several slots, no page
                             * callback, or no spare page left) */
    uint64_t rx_no_spare;   /* of those: one slot, but no spare page */
    uint64_t bad_page_release; /* netfront_rx_page_release misuse */
    uint64_t rx_gso;        /* frames delivered with a GSO extra (merged
                             * TCP segments, receive offload) */
    uint64_t rx_extras;     /* extra-info slots consumed (valid or not) */
    uint64_t notifies;      /* event channel notifications sent */
};

void netfront_get_stats(const struct netfront *nf, struct netfront_stats *out);

/*
 * Parse "aa:bb:cc:dd:ee:ff" (hex, either case): exactly six pairs,
 * unicast (multicast bit clear) and not all zero. -XENABI_EINVAL if not.
 */
int netfront_parse_mac(const char *text, uint8_t mac[NETFRONT_MAC_LEN]);

#endif /* NETFRONT_NETFRONT_H */
