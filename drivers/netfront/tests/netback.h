/*
 * A simulated netback for netfront's host tests: the backend domain's end
 * of one vif, built on //testing/xensim (its xenstore, grant mapping and
 * event channels), run as the simulator's round hook.
 *
 * Each round it plays one step of the xenbus handshake (InitWait; on the
 * frontend's Initialised: map tx-ring-ref and rx-ring-ref, bind
 * event-channel, check request-rx-copy, Connected; on the frontend's
 * Closing: unmap, unbind, Closing; then Closed) and, while connected,
 * consumes tx requests (maps each granted page, copies the frame out,
 * answers OKAY, records the frame) and delivers queued frames on the rx
 * ring (one posted page per slot, NETRXF_MORE_DATA chaining; a GSO frame
 * with its extra-info slot after the first).
 *
 * Tests can take over either ring ("manual") and write raw responses,
 * the way a broken or hostile backend would. Mistakes of the frontend
 * that netback notices (a malformed tx chain, a grant it cannot map) are
 * counted in nb->fe_errors with the last one in nb->fe_error.
 */
#ifndef NETFRONT_TESTS_NETBACK_H
#define NETFRONT_TESTS_NETBACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xenabi/netif.h>
#include <xenabi/ring.h>
#include <xenabi/xenbus.h>

#define NB_FE "/local/domain/1/device/vif/0"
#define NB_BE "/local/domain/0/backend/vif/1/0"
#define NB_MAC "00:16:3e:12:34:56"

#define NB_MAX_FRAME 65536
#define NB_SENT_MAX 64   /* tx frames kept for inspection (the last ones) */
#define NB_RXQ_MAX 4096  /* frames waiting for rx buffers */

struct nb_frame {
    uint8_t *data;
    size_t len;
    unsigned slots;
    uint16_t flags; /* tx: the first request's NETTXF_* */
    uint16_t gso_size; /* rx: nonzero for a GSO frame (its MSS) */
};

struct netback {
    /* Configuration, set before netback_create's first round. */
    bool no_sg;       /* do not offer feature-sg */
    bool no_rx_copy;  /* do not offer feature-rx-copy */
    bool manual_tx;   /* leave tx requests to the test */
    bool manual_rx;   /* leave rx requests to the test */
    bool echo;        /* queue every frame sent for receiving */
    bool no_csum;     /* say feature-no-csum-offload = 1 */
    bool ipv6_csum;   /* say feature-ipv6-csum-offload = 1 */
    uint16_t rx_flags; /* NETRXF_* on the first slot of each rx frame */
    int16_t tx_status; /* status of tx answers (default OKAY) */

    /* State. */
    enum xenabi_xenbus_state state;
    bool close_requested;
    uint32_t tx_ref, rx_ref, port;
    void *tx_page, *rx_page;
    struct xenabi_ring tx, rx;
    bool rx_copy, rx_notify, fe_sg;
    bool fe_gso;  /* the frontend said feature-gso-tcpv4 */
    bool fe_csum; /* and not feature-no-csum-offload */

    /* What happened. */
    uint64_t tx_frames, tx_slots, rx_frames, rx_slots, kicks, rx_dropped;
    struct nb_frame sent[NB_SENT_MAX]; /* frame n at sent[n % NB_SENT_MAX] */
    struct nb_frame rxq[NB_RXQ_MAX];
    unsigned rxq_head, rxq_len;
    unsigned fe_errors;
    char fe_error[160];
};

/* Reset everything and create device vif/0 with mac `mac` (NULL: none);
 * returns the one netback, to configure before the first round. */
struct netback *netback_create(const char *mac);

/* Free what the netback holds (captured and queued frames). */
void netback_destroy(void);

/* Queue a frame for delivery on the rx ring. */
void netback_queue_rx(const void *data, size_t len);

/* Queue a large TCP segment, sent with a GSO extra-info slot (segment
 * size gso_size) the way Linux's netback does when the frontend asked
 * for feature-gso-tcpv4 (and checksum offload); dropped (rx_dropped)
 * when it did not. */
void netback_queue_rx_gso(const void *data, size_t len, uint16_t gso_size);

/* The backend starts detaching. */
void netback_close(void);

/* ---- raw access, for misbehaving on purpose -------------------------- */

/* Take the next rx/tx request (false if none is pending). */
bool netback_take_rx(struct xenabi_netif_rx_request *req);
bool netback_take_tx(struct xenabi_netif_tx_request *req);

/* Write into the page of an rx request's grant. */
void netback_fill(uint32_t gref, uint16_t offset, const void *data,
                  size_t len);

/* Write a response into the next slot (not yet published). */
void netback_put_rx(uint16_t id, uint16_t offset, uint16_t flags,
                    int16_t status);
void netback_put_tx(uint16_t id, int16_t status);

/* Write an extra-info record into the next rx response slot (which uses
 * up the request taken for that position). */
void netback_put_rx_extra(uint8_t type, uint8_t flags, uint16_t gso_size,
                          uint8_t gso_type);

/* Publish the responses written and notify if asked. */
void netback_push(void);

/* Scribble a rsp_prod value into a shared ring header. */
void netback_set_rsp_prod(bool tx, uint32_t value);

#endif /* NETFRONT_TESTS_NETBACK_H */
