/*
 * blkfront/blkfront.h - a Xen PV block device (the frontend of blkif,
 * <xenabi/blkif.h>), on top of //libos/xen/xenbus.
 *
 *     struct blkfront *bf;
 *     blkfront_open("device/vbd/768", &bf);     start the handshake
 *     blkfront_wait_connected(bf);              disk details now known
 *     blkfront_read(bf, 0, buf, 4096);          blocking
 *     blkfront_write_async(bf, 8, buf, 512, done, ctx);
 *     ... blkfront_poll(bf) runs done(ctx, status) when it completes ...
 *     blkfront_close(bf);                       detach, free
 *
 * Sectors are always 512 bytes here (XENABI_BLKIF_SECTOR_SIZE), as on the
 * wire; a request must still cover whole disk sectors ("sector-size",
 * info.sector_size) and start on one.
 *
 * Memory ownership. The backend never gets a grant on the caller's
 * memory: data moves through the driver's own page-aligned bounce pages,
 * and only those are granted. A write's bytes are copied into them when
 * it is queued (the buffer is the caller's again as soon as the call
 * returns); a read's bytes are copied into the buffer inside
 * blkfront_poll(), after every grant of the request was revoked and just
 * before its callback, so a read buffer must stay valid until then
 * (a blocking call that fails while waiting lets go of it: the request
 * then completes into nothing). So the backend cannot read or write the
 * data next to a buffer in the same page (the XSA-403 class), nor keep
 * access to a buffer after its request completed.
 *
 * A request completes only when the backend can no longer reach any of
 * its pages. If the backend still maps one when it answers (a real
 * backend unmaps before answering), the request fails (-XENABI_EIO where
 * the backend said OKAY), a read's bytes are not copied, and the page
 * is quarantined: never granted or written again, counted in
 * blkfront_stats.pages_lost; blkfront_close frees it if the backend let
 * go by then, else leaves it to the backend for good.
 *
 * Buffers must still be 512-byte aligned (as the wire's sectors are). One
 * request moves at most BLKFRONT_MAX_SEGMENTS pages of data (44 KiB), or,
 * when the backend offers indirect requests (feature-max-indirect-
 * segments), up to BLKFRONT_MAX_INDIRECT_SEGMENTS pages (info.max_segments
 * says which), whatever the buffer's alignment within a page.
 *
 * The cost: bounce pages are allocated (aligned_alloc) as requests need
 * them and kept until blkfront_close, at most BLKFRONT_POOL_PAGES(ring
 * slots): 352 pages (1.375 MiB) with the one-page ring (32 slots), 1408
 * pages (5.5 MiB) with the largest (128 slots). One request uses as many
 * pages as its data spans (+1 for an indirect request's segments), so an
 * application with one request at a time holds at most 11 pages (44 KiB),
 * or 65 (260 KiB) with indirect requests; blkfront_stats.pool_pages says
 * how many there are. A request the pool cannot serve now fails with
 * -XENABI_EBUSY, like one for a full ring. Plus one memcpy of the data.
 *
 * The backend is not trusted. Every response is copied out of the ring
 * once and checked: its id must name a request in flight, its operation
 * must be that request's, its status one the protocol defines. Anything
 * else is dropped and counted in blkfront_stats; a backend that claims
 * more responses than requests in flight breaks the device (every request
 * in flight fails with -XENABI_EIO, new ones are refused).
 *
 * Completion callbacks run inside blkfront_poll() (never inside an event
 * handler), with status 0, -XENABI_EIO (the backend reported an error,
 * or still maps a page of the request),
 * -XENABI_EOPNOTSUPP (the backend does not do it) or -XENABI_ENOTCONN
 * (the device closed first). Functions return 0 or -XENABI_E*.
 */
#ifndef BLKFRONT_BLKFRONT_H
#define BLKFRONT_BLKFRONT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xenabi/blkif.h>
#include <xenabi/errno.h>
#include <xenabi/event_channel.h>

#define BLKFRONT_MAX_SEGMENTS XENABI_BLKIF_MAX_SEGMENTS_PER_REQUEST

/*
 * The largest ring we set up: 2^2 pages, 128 requests in flight, when the
 * backend offers max-ring-page-order >= 2 (one page, 32 requests, when it
 * offers nothing).
 */
#define BLKFRONT_MAX_RING_ORDER 2

/* Pages of one indirect request (one page of segments): 256 KiB. */
#define BLKFRONT_MAX_INDIRECT_SEGMENTS 64

/* Bounce pages a connection with `slots` ring slots may allocate: every
 * slot can carry a full direct request. */
#define BLKFRONT_POOL_PAGES(slots) ((slots) * BLKFRONT_MAX_SEGMENTS)

struct blkfront;

/* The disk, as the backend described it (validated). */
struct blkfront_info {
    uint64_t sectors;     /* capacity in 512-byte sectors */
    uint32_t sector_size; /* the disk's own: a power of two, 512..4096 */
    uint32_t vdisk_info;  /* XENABI_VDISK_* */
    bool readonly;
    bool flush;           /* feature-flush-cache: flushes are real */
    bool barrier;         /* feature-barrier: used for flush without it */
    uint32_t max_indirect_segments; /* what the backend offered */
    uint32_t max_segments; /* pages one request may span, as negotiated */
    uint32_t ring_slots;  /* requests in flight at most */
};

struct blkfront_stats {
    uint64_t submitted;  /* requests put on the ring */
    uint64_t completed;  /* callbacks run (any status) */
    uint64_t errors;     /* completed with a status other than 0 */
    uint64_t notifies;   /* events sent to the backend */
    /* Responses dropped, by reason: */
    uint64_t bad_id;     /* names no request in flight (unknown, duplicate) */
    uint64_t bad_op;     /* operation is not the request's */
    uint64_t bad_status; /* not OKAY, ERROR or EOPNOTSUPP */
    uint64_t bad_index;  /* rsp_prod ran ahead of our requests: broken */
    uint64_t grants_deferred; /* grants the backend still held at the end */
    /* Bounce pages the backend still mapped when their request ended:
     * quarantined, never used again (their requests failed). */
    uint64_t pages_lost;
    uint32_t pool_pages; /* bounce pages allocated (lost ones included) */
};

/* Called once per request from blkfront_poll(). */
typedef void (*blkfront_done_fn)(void *arg, int status);

/*
 * Start the handshake for `nodename` ("device/vbd/<id>"). Needs
 * evtchn_init, gnttab_init and xs_init done. On success *out is the
 * device (connecting in the background, through xs_poll()).
 */
int blkfront_open(const char *nodename, struct blkfront **out);

/* Wait until Connected (then blkfront_info is valid). */
int blkfront_wait_connected(struct blkfront *bf);

bool blkfront_connected(const struct blkfront *bf);

/* The disk's details; -XENABI_ENOTCONN before the device connected. */
int blkfront_info(const struct blkfront *bf, struct blkfront_info *out);

/*
 * Queue a read of `len` bytes at 512-byte sector `sector` into `buf`
 * (or a write from it; its bytes are copied before this returns).
 * -XENABI_EBUSY when every ring slot is in flight or the bounce pages
 * are (poll and try again), -XENABI_EINVAL for a misaligned or empty
 * buffer, -XENABI_E2BIG for more than info.max_segments pages of data
 * (len > max_segments * 4096), -XENABI_ERANGE beyond the disk's end,
 * -XENABI_EROFS for a write to a read-only disk, -XENABI_ENOTCONN when
 * not connected, -XENABI_ENOMEM when a bounce page cannot be allocated,
 * -XENABI_EIO when the ring is broken or the backend kept so many pages
 * (pages_lost) that the request can never have enough.
 */
int blkfront_read_async(struct blkfront *bf, uint64_t sector, void *buf,
                        size_t len, blkfront_done_fn done, void *arg);
int blkfront_write_async(struct blkfront *bf, uint64_t sector,
                         const void *buf, size_t len, blkfront_done_fn done,
                         void *arg);

/*
 * Queue a cache flush: BLKIF_OP_FLUSH_DISKCACHE if the backend offers
 * it, else a write barrier, else -XENABI_EOPNOTSUPP.
 */
int blkfront_flush_async(struct blkfront *bf, blkfront_done_fn done,
                         void *arg);

/*
 * Take the responses the backend posted: validate each, end its grants,
 * copy a read's bytes to its buffer, run its callback. Returns the number of callbacks run, or
 * -XENABI_EIO once the ring is broken. Cheap when nothing arrived; a
 * scheduler calls it after the device's event.
 */
int blkfront_poll(struct blkfront *bf);

/* Requests in flight. */
unsigned blkfront_inflight(const struct blkfront *bf);

/*
 * The device's event channel port, -XENABI_ENOTCONN while none is bound.
 * With the scheduler glue (//libos/xen/evtchn_sched) a thread that drives
 * async requests waits on it: the backend's event wakes the thread
 * from the upcall, and its blkfront_poll completes the requests:
 *
 *     while (blkfront_inflight(bf) > 0) {
 *         blkfront_poll(bf);                 callbacks run here
 *         evtchn_sched_wait(port, deadline);
 *     }
 */
int blkfront_port(const struct blkfront *bf, xenabi_evtchn_port_t *port);

/*
 * Blocking forms: queue, then poll and wait for events (evtchn_wait)
 * until the request completed. Return its status, or the waiting error.
 * With //libos/xen/evtchn_sched started, evtchn_wait parks only the
 * calling thread (other threads run) until an event's upcall wakes it.
 */
int blkfront_read(struct blkfront *bf, uint64_t sector, void *buf,
                  size_t len);
int blkfront_write(struct blkfront *bf, uint64_t sector, const void *buf,
                   size_t len);
int blkfront_flush(struct blkfront *bf);

/*
 * Detach (xenbus Closing -> Closed), complete every request still in
 * flight with -XENABI_ENOTCONN, end every grant and free the device and
 * its bounce pages (but lost ones the backend still maps: those are left
 * to it, never freed, and the grants show in gnttab_report_leaks).
 * Grants the backend still maps at our Closing are deferred; then it
 * waits (boundedly) for the backend's own Closed, by which a backend has
 * unmapped (Linux's blkback unmaps the ring only after our Closed), and
 * reclaims them (gnttab_reclaim_deferred). What is still deferred after
 * that shows in gnttab_outstanding / gnttab_report_leaks.
 * Returns what xenbus_front_close returned.
 */
int blkfront_close(struct blkfront *bf);

void blkfront_get_stats(const struct blkfront *bf, struct blkfront_stats *out);

#endif /* BLKFRONT_BLKFRONT_H */
