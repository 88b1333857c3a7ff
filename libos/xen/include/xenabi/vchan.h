/*
 * xenabi/vchan.h - the shared page of libxenvchan, Xen's byte-stream
 * channel between two domains (what qubes-style agents and Xen's own
 * vchan tools speak).
 *
 * The server allocates the control page below, grants it to the client
 * and publishes the grant ("ring-ref") and an unbound event channel
 * ("event-channel") under its xenstore path. Two byte rings follow:
 * "left" carries client -> server data, "right" server -> client. A
 * ring of order 10 or 11 lives inside the control page itself, at byte
 * 1024 or 2048 (only one of the two may use each spot); a ring of order
 * 12 or more gets 2^(order - 12) pages of its own, whose grants are
 * listed in grants[], left ring's first.
 *
 * Each ring's cons and prod are free-running byte counts reduced modulo
 * 2^order. The orders and grants are fixed once the page is shared; a
 * reader keeps its own copy of them rather than trusting the page.
 */
#ifndef XENABI_VCHAN_H
#define XENABI_VCHAN_H

#include <xenabi/types.h>

struct xenabi_vchan_ring_shared {
    uint32_t cons; /* bytes consumed by the reader */
    uint32_t prod; /* bytes produced by the writer */
};
XENABI_ASSERT_SIZE(struct xenabi_vchan_ring_shared, 8);
XENABI_ASSERT_OFFSET(struct xenabi_vchan_ring_shared, cons, 0);
XENABI_ASSERT_OFFSET(struct xenabi_vchan_ring_shared, prod, 4);

/*
 * Notification requests. An end that is about to wait sets a bit in the
 * *other* end's byte (the server in cli_notify, the client in srv_notify):
 * "signal me after you write" or "... after you read". An end that has
 * written or read clears that bit in its own byte with an atomic
 * fetch-and-and and signals the event channel only if the bit was set.
 */
#define XENABI_VCHAN_NOTIFY_WRITE 0x1u
#define XENABI_VCHAN_NOTIFY_READ 0x2u

/* cli_live / srv_live. */
#define XENABI_VCHAN_LIVE_EXITED 0    /* that end has closed */
#define XENABI_VCHAN_LIVE_CONNECTED 1
#define XENABI_VCHAN_LIVE_WAITING 2   /* cli_live only: client not yet there */

struct xenabi_vchan_interface {
    struct xenabi_vchan_ring_shared left;  /* client writes, server reads */
    struct xenabi_vchan_ring_shared right; /* server writes, client reads */
    uint16_t left_order;  /* log2 of the ring's size in bytes */
    uint16_t right_order;
    uint8_t cli_live;     /* XENABI_VCHAN_LIVE_* */
    uint8_t srv_live;
    uint8_t cli_notify;   /* XENABI_VCHAN_NOTIFY_*: set by the server */
    uint8_t srv_notify;   /* XENABI_VCHAN_NOTIFY_*: set by the client */
    xenabi_grant_ref_t grants[]; /* for rings of order >= 12 */
};
XENABI_ASSERT_SIZE(struct xenabi_vchan_interface, 24);
XENABI_ASSERT_OFFSET(struct xenabi_vchan_interface, left, 0);
XENABI_ASSERT_OFFSET(struct xenabi_vchan_interface, right, 8);
XENABI_ASSERT_OFFSET(struct xenabi_vchan_interface, left_order, 16);
XENABI_ASSERT_OFFSET(struct xenabi_vchan_interface, right_order, 18);
XENABI_ASSERT_OFFSET(struct xenabi_vchan_interface, cli_live, 20);
XENABI_ASSERT_OFFSET(struct xenabi_vchan_interface, srv_live, 21);
XENABI_ASSERT_OFFSET(struct xenabi_vchan_interface, cli_notify, 22);
XENABI_ASSERT_OFFSET(struct xenabi_vchan_interface, srv_notify, 23);
XENABI_ASSERT_OFFSET(struct xenabi_vchan_interface, grants, 24);

/* Ring orders that live inside the control page, and where. */
#define XENABI_VCHAN_ORDER_IN_PAGE_1K 10 /* at byte 1024 */
#define XENABI_VCHAN_ORDER_IN_PAGE_2K 11 /* at byte 2048 */
#define XENABI_VCHAN_ORDER_OWN_PAGES 12  /* and up: 2^(order-12) pages */

#endif /* XENABI_VCHAN_H */
