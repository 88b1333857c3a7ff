/*
 * netfront's private state, shared by its parts:
 *
 *   netfront.c  open/close, the xenbus hooks (setup, publish, connect,
 *               teardown), the MAC, stats
 *   tx.c        netfront_send and reclaiming answered tx slots
 *   rx.c        posting rx buffers and receiving frames
 */
#ifndef NETFRONT_INTERNAL_H
#define NETFRONT_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <netfront/netfront.h>
#include <xenabi/ring.h>
#include <xenbus/xenbus.h>

/*
 * A buffer is one page of ours behind a ring slot; its index is the id
 * its requests carry, so a response's id names the buffer it answers.
 */
enum netfront_buf_state {
    BUF_FREE,     /* ours, not granted */
    BUF_INFLIGHT, /* granted and in a request the backend has not answered */
    BUF_LOST,     /* the backend kept it mapped: never reused */
};

struct netfront_buf {
    uint8_t *page;
    xenabi_grant_ref_t ref;
    uint8_t state; /* enum netfront_buf_state */
};

struct netfront {
    struct xenbus_front front;
    netfront_rx_fn rx_fn;
    void *rx_arg;
    uint8_t mac[NETFRONT_MAC_LEN];

    /* Pages: [0] tx ring, [1] rx ring, then tx buffers, then the rx
     * pool (rx buffers' pages and spares). */
    uint8_t *pages;
    uint8_t *tx_ring_page;
    uint8_t *rx_ring_page;
    xenabi_grant_ref_t tx_ring_ref, rx_ring_ref;
    bool rings_granted;
    xenabi_evtchn_port_t port;
    bool port_bound;

    struct xenabi_ring tx, rx;
    bool backend_sg;
    bool backend_csum;  /* takes csum_blank for IPv4 (no feature-no-csum-offload) */
    bool backend_csum6; /* and for IPv6 (feature-ipv6-csum-offload) */
    bool rx_offload;    /* netfront_set_rx_offload: GSO and csum_blank */
    uint16_t rx_flags;  /* the frame being delivered: NETFRONT_RX_* */
    bool connected;
    volatile bool kicked; /* set by the event handler */

    struct netfront_buf tx_bufs[NETFRONT_TX_SLOTS];
    uint16_t tx_free[NETFRONT_TX_SLOTS]; /* stack of free tx buffer ids */
    uint32_t tx_nfree;
    uint32_t tx_inflight;

    struct netfront_buf rx_bufs[NETFRONT_RX_SLOTS];
    uint16_t rx_free[NETFRONT_RX_SLOTS];
    uint32_t rx_nfree;
    uint32_t rx_inflight;

    /* Zero-copy receive: the rx pages are a pool of NETFRONT_RX_SLOTS +
     * NETFRONT_RX_LOANS pages from rx_pool; each is behind an rx buffer,
     * spare, or lent to the caller (rx_lent[its index]). */
    netfront_rx_page_fn rx_page_fn;
    uint8_t *rx_pool;
    uint8_t *rx_spare[NETFRONT_RX_LOANS];
    uint32_t rx_nspare;
    bool rx_lent[NETFRONT_RX_SLOTS + NETFRONT_RX_LOANS];

    /* A frame's first slot is not copied at once: if it is the only
     * one, its page may be lent instead. */
    bool first_pending;
    uint16_t first_id;
    uint16_t first_offset;
    uint16_t first_len;

    /* A received frame is assembled here before the callback sees it
     * (NETFRONT_MAX_FRAME bytes, its own allocation so that the host
     * tests' ASan sees any overrun). */
    uint8_t *frame;
    uint32_t chain_len;   /* bytes of the frame so far */
    uint32_t chain_slots; /* responses of the frame so far */
    bool chain_bad;       /* a slot failed validation: drop the frame */
    bool chain_error;     /* the backend reported an error for it */
    /* Extra-info slots (GSO, ...) follow the slot that says
     * NETRXF_EXTRA_INFO, before the frame's next data slot. */
    bool extra_next;      /* the next response is an extra-info slot */
    bool chain_last;      /* the data slot without MORE_DATA came */
    uint8_t chain_extra_types; /* bit per extra type seen in this frame */

    /* The id of the rx request posted at each ring position: an
     * extra-info slot overlays the id, and uses up the request that was
     * in its position (Xen's io/netif.h), whose buffer we take back. */
    uint16_t rx_ring_id[NETFRONT_RX_SLOTS];

    struct netfront_stats stats;
    bool leaked_pages; /* some page may still be mapped: do not free */
};

/* tx.c */
void netfront_tx_reset(struct netfront *nf);
void netfront_tx_reclaim(struct netfront *nf);   /* answered slots */
void netfront_tx_release(struct netfront *nf);   /* teardown: end all */

/* rx.c */
void netfront_rx_reset(struct netfront *nf);
void netfront_rx_refill(struct netfront *nf);
int netfront_rx_receive(struct netfront *nf);    /* frames delivered */
void netfront_rx_release(struct netfront *nf);

/* netfront.c: end a buffer's grant; false if the backend still holds it. */
bool netfront_end_grant(struct netfront *nf, struct netfront_buf *b);
/* Responses ready on a ring, or -1 if rsp_prod is impossible. */
int64_t netfront_ring_ready(const struct xenabi_ring *r);
void netfront_notify(struct netfront *nf);

#endif /* NETFRONT_INTERNAL_H */
