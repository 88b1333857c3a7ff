/*
 * xenstore/xenstore.h - a client of xenstored, the hierarchical key-value
 * store through which Xen domains find each other's devices.
 *
 * The client talks to xenstored over the ring page Xen reports in
 * HVM_PARAM_STORE_PFN (<xenabi/xenstore.h>): requests go out on one byte
 * ring, replies and watch events come back on the other, and the store
 * event channel signals both ways. Calls are synchronous: a request is
 * written (waiting for ring space if the ring is full, never overwriting
 * bytes xenstored has not consumed), then the caller waits with
 * evtchn_wait() until the reply with its request id arrives.
 *
 * xenstored is another domain and is not trusted. Every byte read from
 * the reply ring is copied once into private memory, and each message is
 * checked before anything acts on it: a header whose length exceeds
 * XENABI_XENSTORE_PAYLOAD_MAX, an index that runs ahead of ours by more
 * than the ring size, an unknown or repeated request id, or a type that
 * is no reply to the request is dropped and counted in struct xs_stats,
 * and the caller goes on waiting for a proper reply. (A bad length also
 * drops whatever else is in the ring at that moment: the message
 * boundaries after it are unknowable.) A reply with the right id and type
 * but a malformed payload is counted and fails its request with
 * -XENABI_EIO; a malformed watch event is counted and dropped.
 *
 * Paths are absolute ("/local/domain/0/backend/vif/1/0/state") or
 * relative to this domain's home, /local/domain/<our id>
 * ("device/vif/0/state").
 *
 * Errors: functions return 0 (or a count) on success and -XENABI_E*
 * (<xenabi/errno.h>) on failure. xenstored's XS_ERROR names map to the
 * same numbers: "ENOENT" -> -XENABI_ENOENT, "EAGAIN" -> -XENABI_EAGAIN
 * (a transaction conflict), "EISDIR" -> -XENABI_EISDIR, ... Other
 * client errors: -XENABI_ENOTCONN before xs_init(), -XENABI_E2BIG for a request larger
 * than the payload limit, -XENABI_ERANGE for a reply larger than the
 * caller's buffer, -XENABI_EIO for a malformed reply or a broken
 * connection, and whatever evtchn_wait() returns when waiting fails.
 *
 * Context: thread context only (not event handlers), one request at a
 * time. Watch callbacks run from xs_poll(), never from inside another
 * request, so they may issue requests themselves.
 */
#ifndef XENSTORE_XENSTORE_H
#define XENSTORE_XENSTORE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xenabi/errno.h>
#include <xenabi/xenstore.h>

/* A transaction id; XS_TX_NONE means "outside any transaction". */
typedef uint32_t xs_tx_t;
#define XS_TX_NONE 0u

/* Limits of this client. */
#define XS_MAX_WATCHES 16   /* watches registered at once */
#define XS_WATCH_PATH_MAX 256 /* bytes of a watched path, without NUL */
#define XS_EVENT_QUEUE 8    /* watch events held until xs_poll delivers */
#define XS_MAX_INFLIGHT 8   /* requests awaiting replies at once */

/*
 * Connect: read the ring's frame and event channel from Xen, attach to
 * the ring, install the event handler and unmask the port. Needs
 * evtchn_init() first. Calling it again resets the client (watches
 * registered before are forgotten here but still exist in xenstored).
 */
int xs_init(void);

bool xs_ready(void);

/* The event channel port xenstored signals (0 before xs_init): a thread
 * that delivers watches waits on it between xs_poll() calls. */
uint32_t xs_port(void);

/* ---- reading and writing nodes --------------------------------------------- */

/*
 * Read a node's value into buf (size bytes, at least 1) and NUL-terminate
 * it; *len (if not NULL) gets the value's length. Values may contain NUL
 * bytes. -XENABI_ERANGE if the value needs more than size - 1 bytes (then
 * *len tells how many).
 */
int xs_read(xs_tx_t tx, const char *path, char *buf, size_t size,
            size_t *len);

/*
 * Read a node holding an unsigned decimal number ("0" .. "4294967295",
 * nothing else: no sign, spaces or leading zeros). -XENABI_EINVAL if the
 * value is anything else.
 */
int xs_read_u32(xs_tx_t tx, const char *path, uint32_t *value);

/* Create or replace a node (and any missing parents) with a string value. */
int xs_write(xs_tx_t tx, const char *path, const char *value);

/* As xs_write, with `len` arbitrary bytes as the value. */
int xs_write_bytes(xs_tx_t tx, const char *path, const void *value,
                   size_t len);

/* xs_write of a printf-formatted value (at most 256 bytes). */
int xs_printf(xs_tx_t tx, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Create an empty node (no error if it exists). */
int xs_mkdir(xs_tx_t tx, const char *path);

/* Remove a node and everything below it. */
int xs_rm(xs_tx_t tx, const char *path);

/*
 * Set a node's permissions: `perms` is xenstored's list of `len` bytes,
 * one NUL-terminated entry per domain, the first naming the owner and
 * what everybody else may do ("n1" "r0": owned by domain 1, nobody else
 * may look, except domain 0, which may read). The list must end with a
 * NUL.
 */
int xs_set_perms(xs_tx_t tx, const char *path, const char *perms,
                 size_t len);

/*
 * A node's children: their names (not paths) go into buf one after the
 * other, each NUL-terminated; returns the number of children.
 * -XENABI_ERANGE if they do not fit.
 */
int xs_directory(xs_tx_t tx, const char *path, char *buf, size_t size);

/* ---- watches ----------------------------------------------------------------- */

/*
 * Called for a change at or below the watched path: `path` is the node
 * that changed (relative if the watch was registered with a relative
 * path; the watched path itself if events were lost, see XS_EVENT_QUEUE).
 * xenstored also fires every watch once right after it is registered.
 */
typedef void (*xs_watch_fn)(int watch, const char *path, void *arg);

/*
 * Watch `path` (at most XS_WATCH_PATH_MAX bytes). Returns a watch id (>= 0)
 * for xs_unwatch, or -XENABI_ENOSPC when XS_MAX_WATCHES are in use.
 */
int xs_watch(const char *path, xs_watch_fn fn, void *arg);

/* Stop a watch; events of it still queued are discarded. */
int xs_unwatch(int watch);

/*
 * Take in what xenstored sent (without waiting) and run the watch
 * callbacks for the events received so far. Returns the number of
 * callbacks run. Nested calls (from a callback) only take input in.
 *
 * Bounded, whatever xenstored does: one call takes in at most one ring's
 * worth of input and runs at most XS_EVENT_QUEUE + XS_MAX_WATCHES
 * callbacks. Events that arrive meanwhile (a xenstored that keeps
 * sending, a callback whose writes fire its own watch) wait, in order,
 * for the next call; the store port is then left pending, so the
 * caller's next evtchn_wait() returns at once and the usual loop of
 * xs_poll() and evtchn_wait() picks them up.
 */
int xs_poll(void);

/* ---- transactions -------------------------------------------------------------- */

int xs_transaction_start(xs_tx_t *tx);

/*
 * Commit (or abort, commit == false). A commit fails with -XENABI_EAGAIN
 * when something the transaction touched changed meanwhile: run the whole
 * transaction again (xs_transaction does).
 */
int xs_transaction_end(xs_tx_t tx, bool commit);

/* The body of a transaction: requests with `tx`, 0 or a negative error. */
typedef int (*xs_tx_body_fn)(xs_tx_t tx, void *arg);

/*
 * Start a transaction, run body, commit; if the commit (or a request in
 * the body) fails with -XENABI_EAGAIN, abort and run it all again, up to
 * `attempts` times in all. A body error other than EAGAIN aborts the
 * transaction and is returned. -XENABI_EAGAIN once attempts run out.
 */
int xs_transaction(xs_tx_body_fn body, void *arg, unsigned attempts);

/* ---- errors and statistics -------------------------------------------------------- */

/* "ENOENT" for -XENABI_ENOENT, ...; "E?" for a number xenstored never sends. */
const char *xs_error_name(int err);

struct xs_stats {
    uint64_t requests;       /* sent */
    uint64_t replies;        /* accepted */
    uint64_t watch_events;   /* accepted and queued */
    uint64_t callbacks;      /* watch callbacks run */
    uint64_t ring_full_waits; /* waits for request ring space */
    uint64_t tx_retries;     /* transactions run again after EAGAIN */
    /* Dropped input, by reason: */
    uint64_t bad_index;      /* rsp_prod ahead by > ring size, or req_cons
                                beyond our req_prod */
    uint64_t bad_length;     /* header length > XENABI_XENSTORE_PAYLOAD_MAX */
    uint64_t bad_type;       /* unknown type, or not a reply to the request */
    uint64_t unexpected_id;  /* no request waits for this id (late, unknown,
                                duplicate) */
    uint64_t bad_payload;    /* malformed reply or watch event */
    uint64_t stale_events;   /* watch event for a token we do not have */
    uint64_t lost_events;    /* events merged because the queue was full */
    /* Work left for a later call (a flooding xenstored, busy callbacks): */
    uint64_t pump_stops;     /* xs_poll left input in the ring: queue full */
    uint64_t poll_deferrals; /* xs_poll returned with work left behind */
};

void xs_get_stats(struct xs_stats *out);

#endif /* XENSTORE_XENSTORE_H */
