/*
 * xenabi/netif.h - the PV network protocol (netfront <-> netback): two
 * rings of <xenabi/ring.h>, one page each, named in xenstore as tx-ring-ref,
 * rx-ring-ref and event-channel (or event-channel-tx / -rx).
 *
 * Transmit: each packet is one or more tx requests, each naming a granted
 * page, an offset and a length; NETTXF_MORE_DATA chains the next one, and
 * the first request's size is the whole packet's size. NETTXF_EXTRA_INFO
 * means the next slot holds a struct xenabi_netif_extra_info (GSO, ...)
 * instead of a request; extra slots get NETIF_RSP_NULL responses.
 *
 * Receive: the frontend posts empty granted pages as rx requests; the
 * backend copies a packet into them and answers with rx responses whose
 * status is the byte count (or a NETIF_RSP_* error), chained the same
 * way. Note that NETTXF and NETRXF give different bit numbers to
 * "checksum blank" and "data validated".
 */
#ifndef XENABI_NETIF_H
#define XENABI_NETIF_H

#include <xenabi/ring.h>
#include <xenabi/types.h>

/* A backend must accept packets spread over at least this many slots. */
#define XENABI_NETIF_NR_SLOTS_MIN 18
/* Largest packet size a tx request can describe. */
#define XENABI_NETIF_MAX_TX_SIZE 0xffff

/* tx request flags. */
#define XENABI_NETTXF_CSUM_BLANK (1u << 0)     /* L4 checksum left to fill */
#define XENABI_NETTXF_DATA_VALIDATED (1u << 1) /* checksum known good */
#define XENABI_NETTXF_MORE_DATA (1u << 2)      /* next request continues it */
#define XENABI_NETTXF_EXTRA_INFO (1u << 3)     /* next slot is extra info */

struct xenabi_netif_tx_request {
    xenabi_grant_ref_t gref; /* page holding the data */
    uint16_t offset;         /* of the data in that page */
    uint16_t flags;          /* XENABI_NETTXF_* */
    uint16_t id;             /* echoed in the response */
    uint16_t size;           /* bytes here; first request: whole packet */
};
XENABI_ASSERT_SIZE(struct xenabi_netif_tx_request, 12);
XENABI_ASSERT_OFFSET(struct xenabi_netif_tx_request, gref, 0);
XENABI_ASSERT_OFFSET(struct xenabi_netif_tx_request, offset, 4);
XENABI_ASSERT_OFFSET(struct xenabi_netif_tx_request, flags, 6);
XENABI_ASSERT_OFFSET(struct xenabi_netif_tx_request, id, 8);
XENABI_ASSERT_OFFSET(struct xenabi_netif_tx_request, size, 10);

struct xenabi_netif_tx_response {
    uint16_t id;
    int16_t status; /* XENABI_NETIF_RSP_* */
};
XENABI_ASSERT_SIZE(struct xenabi_netif_tx_response, 4);
XENABI_ASSERT_OFFSET(struct xenabi_netif_tx_response, id, 0);
XENABI_ASSERT_OFFSET(struct xenabi_netif_tx_response, status, 2);

/* Extra info slots. */
#define XENABI_NETIF_EXTRA_TYPE_NONE 0 /* never sent */
#define XENABI_NETIF_EXTRA_TYPE_GSO 1
#define XENABI_NETIF_EXTRA_TYPE_MCAST_ADD 2
#define XENABI_NETIF_EXTRA_TYPE_MCAST_DEL 3
#define XENABI_NETIF_EXTRA_TYPE_HASH 4
#define XENABI_NETIF_EXTRA_TYPE_MAX 5
#define XENABI_NETIF_EXTRA_FLAG_MORE (1u << 0) /* another extra slot follows */

#define XENABI_NETIF_GSO_TYPE_NONE 0
#define XENABI_NETIF_GSO_TYPE_TCPV4 1
#define XENABI_NETIF_GSO_TYPE_TCPV6 2

struct xenabi_netif_extra_info {
    uint8_t type;  /* XENABI_NETIF_EXTRA_TYPE_* */
    uint8_t flags; /* XENABI_NETIF_EXTRA_FLAG_* */
    union {
        struct {
            uint16_t size;     /* segment size (MSS) */
            uint8_t type;      /* XENABI_NETIF_GSO_TYPE_* */
            uint8_t pad;
            uint16_t features; /* zero */
        } gso;
        struct {
            uint8_t addr[6];   /* Ethernet multicast address */
        } mcast;
        struct {
            uint8_t type;      /* which fields were hashed */
            uint8_t algorithm;
            uint8_t value[4];
        } hash;
        uint16_t pad[3];
    } u;
};
XENABI_ASSERT_SIZE(struct xenabi_netif_extra_info, 8);
XENABI_ASSERT_OFFSET(struct xenabi_netif_extra_info, type, 0);
XENABI_ASSERT_OFFSET(struct xenabi_netif_extra_info, flags, 1);
XENABI_ASSERT_OFFSET(struct xenabi_netif_extra_info, u, 2);
XENABI_ASSERT_OFFSET(struct xenabi_netif_extra_info, u.gso.size, 2);
XENABI_ASSERT_OFFSET(struct xenabi_netif_extra_info, u.gso.type, 4);
XENABI_ASSERT_OFFSET(struct xenabi_netif_extra_info, u.gso.pad, 5);
XENABI_ASSERT_OFFSET(struct xenabi_netif_extra_info, u.gso.features, 6);
XENABI_ASSERT_OFFSET(struct xenabi_netif_extra_info, u.mcast.addr, 2);
XENABI_ASSERT_OFFSET(struct xenabi_netif_extra_info, u.hash.type, 2);
XENABI_ASSERT_OFFSET(struct xenabi_netif_extra_info, u.hash.algorithm, 3);
XENABI_ASSERT_OFFSET(struct xenabi_netif_extra_info, u.hash.value, 4);

struct xenabi_netif_rx_request {
    uint16_t id; /* echoed in the response */
    uint16_t pad;
    xenabi_grant_ref_t gref; /* an empty page the backend may write */
};
XENABI_ASSERT_SIZE(struct xenabi_netif_rx_request, 8);
XENABI_ASSERT_OFFSET(struct xenabi_netif_rx_request, id, 0);
XENABI_ASSERT_OFFSET(struct xenabi_netif_rx_request, pad, 2);
XENABI_ASSERT_OFFSET(struct xenabi_netif_rx_request, gref, 4);

/* rx response flags (note: bits 0 and 1 are swapped relative to NETTXF). */
#define XENABI_NETRXF_DATA_VALIDATED (1u << 0)
#define XENABI_NETRXF_CSUM_BLANK (1u << 1)
#define XENABI_NETRXF_MORE_DATA (1u << 2)
#define XENABI_NETRXF_EXTRA_INFO (1u << 3)
#define XENABI_NETRXF_GSO_PREFIX (1u << 4) /* obsolete */

struct xenabi_netif_rx_response {
    uint16_t id;
    uint16_t offset; /* of the data in the page */
    uint16_t flags;  /* XENABI_NETRXF_* */
    int16_t status;  /* > 0: bytes received; else XENABI_NETIF_RSP_* */
};
XENABI_ASSERT_SIZE(struct xenabi_netif_rx_response, 8);
XENABI_ASSERT_OFFSET(struct xenabi_netif_rx_response, id, 0);
XENABI_ASSERT_OFFSET(struct xenabi_netif_rx_response, offset, 2);
XENABI_ASSERT_OFFSET(struct xenabi_netif_rx_response, flags, 4);
XENABI_ASSERT_OFFSET(struct xenabi_netif_rx_response, status, 6);

#define XENABI_NETIF_RSP_DROPPED (-2)
#define XENABI_NETIF_RSP_ERROR (-1)
#define XENABI_NETIF_RSP_OKAY 0
#define XENABI_NETIF_RSP_NULL 1 /* answer to an extra-info slot */

/* Ring slots: a request, its response, or (tx) an extra-info record. */
union xenabi_netif_tx_slot {
    struct xenabi_netif_tx_request req;
    struct xenabi_netif_tx_response rsp;
    struct xenabi_netif_extra_info extra;
};
XENABI_ASSERT_SIZE(union xenabi_netif_tx_slot, 12);

union xenabi_netif_rx_slot {
    struct xenabi_netif_rx_request req;
    struct xenabi_netif_rx_response rsp;
    struct xenabi_netif_extra_info extra;
};
XENABI_ASSERT_SIZE(union xenabi_netif_rx_slot, 8);

/* Slots in one-page rings. */
#define XENABI_NETIF_TX_RING_SLOTS \
    XENABI_RING_SLOTS(XENABI_PAGE_SIZE, sizeof(union xenabi_netif_tx_slot))
#define XENABI_NETIF_RX_RING_SLOTS \
    XENABI_RING_SLOTS(XENABI_PAGE_SIZE, sizeof(union xenabi_netif_rx_slot))
_Static_assert(XENABI_NETIF_TX_RING_SLOTS == 256, "netif tx ring slots");
_Static_assert(XENABI_NETIF_RX_RING_SLOTS == 256, "netif rx ring slots");

#endif /* XENABI_NETIF_H */
