/*
 * vchan/vchan.h - a byte stream between two domains, speaking Xen's
 * libxenvchan protocol (<xenabi/vchan.h>): one shared control page, two
 * byte rings ("left": client -> server, "right": server -> client) and
 * one event channel.
 *
 * Server (the end that shares its memory):
 *
 *     vchan_server_open(client_domid, "data/vchan/<client>/<port>", 11, 11, &v)
 *         grants the control page and ring pages to the client, allocates
 *         an unbound event channel and writes "ring-ref" and
 *         "event-channel" under that xenstore path (relative to our home);
 *
 * Client:
 *
 *     vchan_client_open(server_domid, "/local/domain/<server>/data/...", &v)
 *         reads those nodes, maps the pages (GNTTABOP_map_grant_ref),
 *         binds the event channel. On PVH each page is mapped over a
 *         frame given back to Xen first (XENMEM_decrease_reservation) and
 *         populated again after the unmap, so a grant never replaces RAM
 *         the heap owns (tests/xenlab's vchan-client test);
 *     vchan_client_attach(...) is the same with pages mapped by the caller.
 *
 * Both ends then use vchan_write / vchan_read (never blocking: they move
 * what fits or what is there, possibly 0 bytes) and the waiting forms
 * vchan_write_all / vchan_read_exact. Notification follows libxenvchan:
 * an end that is about to wait sets a request bit in the other end's
 * notify byte; an end that moved data clears the matching bit in its own
 * byte and signals the event channel only if it was set. So a stream
 * that keeps flowing costs no events.
 *
 * The peer is not trusted. The ring orders and grants are copied when
 * the connection is made and never read from the page again; every index
 * the peer writes is read once and checked against the ring size. A peer
 * whose indexes are impossible breaks the channel: the call fails with
 * -XENABI_EIO (counted in vchan_stats.bad_index), as does every call after.
 *
 * The server's nodes are owned by the server, readable by the client
 * and nobody else (SET_PERMS).
 *
 * Functions return 0 (or a byte count) or -XENABI_E*.
 */
#ifndef VCHAN_VCHAN_H
#define VCHAN_VCHAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xenabi/errno.h>
#include <xenabi/types.h>
#include <xenabi/vchan.h>

/* Ring orders this library accepts: 1 KiB .. 32 KiB (8 pages). */
#define VCHAN_MIN_ORDER XENABI_VCHAN_ORDER_IN_PAGE_1K
#define VCHAN_MAX_ORDER 15
/* Grants of one channel: the control page and up to 8 + 8 ring pages. */
#define VCHAN_MAX_RING_PAGES (2u << (VCHAN_MAX_ORDER - 12))

struct vchan;

struct vchan_stats {
    uint64_t written;   /* bytes */
    uint64_t read;      /* bytes */
    uint64_t notifies;  /* events we sent */
    uint64_t waits;     /* times the waiting forms waited */
    uint64_t bad_index; /* impossible peer indexes (the channel broke) */
};

/*
 * Server: share a channel with domain `client`, rings of 2^left_order
 * (client -> server) and 2^right_order bytes, announced at xenstore path
 * `path`. Orders 10 and 11 use the control page itself (at most one ring
 * in each of the two spots), 12..VCHAN_MAX_ORDER their own pages.
 * -XENABI_EINVAL for orders outside the range or clashing.
 */
int vchan_server_open(xenabi_domid_t client, const char *path,
                      unsigned left_order, unsigned right_order,
                      struct vchan **out);

/*
 * Client: connect to the channel domain `server` announced at `path`
 * (absolute). Maps the server's grants; fails with Xen's error where
 * grant mapping is not available.
 */
int vchan_client_open(xenabi_domid_t server, const char *path,
                      struct vchan **out);

/*
 * Client, with the pages already mapped: `ctrl` is the control page;
 * `left` and `right` the rings of order 12 and up, each mapped as one
 * contiguous run of 2^(order - 12) pages (NULL for a ring inside the
 * control page); `port` our bound end of the server's event channel.
 * The orders are read once from `ctrl` and validated (-XENABI_EINVAL,
 * also when a ring that needs its own pages has none).
 * vchan_close() does not unmap these pages.
 */
int vchan_client_attach(struct xenabi_vchan_interface *ctrl, void *left,
                        void *right, uint32_t port, struct vchan **out);

/* Write up to len bytes; returns how many fitted (0 when full). */
long vchan_write(struct vchan *v, const void *buf, size_t len);

/* Read up to len bytes; returns how many there were (0 when empty). */
long vchan_read(struct vchan *v, void *buf, size_t len);

/* Bytes ready to read, and free space to write. */
long vchan_data_ready(struct vchan *v);
long vchan_buffer_space(struct vchan *v);

/*
 * Write all of buf / read exactly len bytes, waiting for the peer
 * (evtchn_wait) as needed. Return len, or an error: -XENABI_ENOTCONN if
 * the peer closed, or what waiting returned.
 */
long vchan_write_all(struct vchan *v, const void *buf, size_t len);
long vchan_read_exact(struct vchan *v, void *buf, size_t len);

/* True while the peer's end is connected (the server: once the client came). */
bool vchan_peer_connected(struct vchan *v);

/* Ring sizes in bytes, as agreed at connection. */
size_t vchan_read_size(const struct vchan *v);
size_t vchan_write_size(const struct vchan *v);

/* The event channel port of our end (for a scheduler to wait on). */
uint32_t vchan_port(const struct vchan *v);

void vchan_get_stats(const struct vchan *v, struct vchan_stats *out);

/*
 * Mark our end closed, notify the peer, close the event channel, end the
 * grants (the server's: deferred while the client still maps them) or
 * unmap the server's pages (the client), and free.
 */
void vchan_close(struct vchan *v);

#endif /* VCHAN_VCHAN_H */
