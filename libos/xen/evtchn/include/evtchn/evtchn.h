/*
 * evtchn/evtchn.h - Xen event channels: binding ports, notifying peers,
 * and dispatching incoming events to per-port handlers.
 *
 * An event channel is a port number in this domain connected to something
 * that can signal it: a port of another domain (a split driver's backend,
 * xenstored), or a virtual IRQ such as the timer. Xen reports an event by
 * setting the port's bit in the shared info page (2-level ABI,
 * <xenabi/shared_info.h>) and raising an upcall; evtchn_dispatch() is that
 * upcall: it scans the bitmaps, clears each pending, unmasked port and
 * calls the port's handler.
 *
 * Lifecycle of a port:
 *
 *     evtchn_alloc_unbound / evtchn_bind_interdomain / evtchn_bind_virq
 *         -> a port, masked, without a handler
 *     evtchn_set_handler(port, fn, arg)
 *     evtchn_unmask(port)              events now reach fn
 *     evtchn_notify(port)              signal the other end
 *     evtchn_close(port)               unbound, masked, handler removed
 *
 * A port bound by someone else (the xenstore port the toolstack sets up)
 * goes straight to evtchn_set_handler and evtchn_unmask.
 *
 * Handlers run inside evtchn_dispatch(), which on the image is interrupt
 * context: they must be short and must not wait. The intended shape is
 * "note that work arrived and wake whoever does it". A scheduler hooks in
 * beside the handlers, with an observer that sees every event
 * (evtchn_set_observer) and calls its wake primitive, and with
 * evtchn_set_wait() so that evtchn_wait() parks the calling thread
 * instead of blocking the whole domain: //libos/xen/evtchn_sched does
 * both, and on the image registers evtchn_dispatch (through its upcall)
 * as Xen's upcall vector (<platform/xen/xen.h>).
 *
 * Single vcpu: only vcpu 0's upcall state is used. All functions return
 * 0 (or a count) on success and -XENABI_E* (<xenabi/errno.h>) on failure;
 * before evtchn_init() succeeded they fail with -XENABI_ENOTCONN.
 */
#ifndef EVTCHN_EVTCHN_H
#define EVTCHN_EVTCHN_H

#include <stdbool.h>
#include <stdint.h>

#include <xenabi/errno.h>
#include <xenabi/event_channel.h>
#include <xenabi/shared_info.h>
#include <xenabi/types.h>

/*
 * Ports this library handles: 0 .. EVTCHN_NR_PORTS - 1. Xen's 2-level ABI
 * allows 4096, but a unikernel binds a handful; a higher port is refused
 * at bind time (and closed again), and an event on one is counted as
 * spurious.
 */
#define EVTCHN_NR_PORTS 1024

typedef void (*evtchn_handler_fn)(xenabi_evtchn_port_t port, void *arg);

/*
 * Map the shared info page (XENMEM_add_to_physmap into a page of ours),
 * mask every port and forget every handler and the wait function.
 * Calling it again resets the library (ports bound before are not
 * closed: that is Xen's state).
 * Fails with Xen's error, -XENABI_ENOSYS when not running on Xen.
 */
int evtchn_init(void);

/* True once evtchn_init() succeeded. */
bool evtchn_ready(void);

/*
 * The shared info page, for code that needs its other contents (the
 * pvclock and wall clock live there too). NULL before evtchn_init().
 * Everything in it is written by Xen concurrently.
 */
struct xenabi_shared_info *evtchn_shared_info(void);

/* A fresh port that domain `remote` may bind to (the usual frontend way). */
int evtchn_alloc_unbound(xenabi_domid_t remote, xenabi_evtchn_port_t *port);

/* A fresh port connected to `remote_port`, which `remote` allocated for us. */
int evtchn_bind_interdomain(xenabi_domid_t remote,
                            xenabi_evtchn_port_t remote_port,
                            xenabi_evtchn_port_t *port);

/* A port for virtual IRQ `virq` (XENABI_VIRQ_*) on vcpu 0. */
int evtchn_bind_virq(uint32_t virq, xenabi_evtchn_port_t *port);

/* Close a port: masked first, handler removed, then unbound in Xen. */
int evtchn_close(xenabi_evtchn_port_t port);

/* Signal the other end of `port`. */
int evtchn_notify(xenabi_evtchn_port_t port);

/*
 * Mark `port` pending here, as Xen would for an event from the other end
 * (pending bit; if unmasked, selector and upcall_pending). For code that
 * stops with work left for later: the next evtchn_dispatch() finds the
 * event, so the next evtchn_wait() returns at once (SCHEDOP_block also
 * sees upcall_pending) instead of sleeping on work already here.
 */
int evtchn_raise(xenabi_evtchn_port_t port);

/*
 * Call fn(port, arg) for each event on `port` (fn NULL: no handler; the
 * port's events are then counted as spurious). Replaces any handler.
 */
int evtchn_set_handler(xenabi_evtchn_port_t port, evtchn_handler_fn fn,
                       void *arg);

/*
 * An observer sees every event the upcall takes, before the port's
 * handler runs (and also on ports without a handler): observer(port,
 * arg), in interrupt context like handlers. One observer at a time
 * (NULL: none); evtchn_init() removes it. This is how a scheduler learns
 * "port P had an event" without taking the handlers away from the
 * drivers (//libos/xen/evtchn_sched). An event on a port with neither
 * handler nor observer counts as spurious.
 */
void evtchn_set_observer(evtchn_handler_fn fn, void *arg);

/*
 * Stop a port's events from raising the upcall (they stay pending and are
 * dispatched after evtchn_unmask). Local: no hypercall.
 */
int evtchn_mask(xenabi_evtchn_port_t port);

/*
 * Let a port's events through. Done by Xen (EVTCHNOP_unmask) so that an
 * event that arrived while masked raises the upcall now.
 */
int evtchn_unmask(xenabi_evtchn_port_t port);

/*
 * The upcall: while vcpu 0 has an upcall pending, take the pending
 * selector, and for every pending and unmasked port clear its pending bit
 * and call its handler. Returns the number of events taken (handled or
 * spurious). Safe to call at any time, also when nothing is pending; a
 * call nested inside a handler returns 0 at once (the outer call loops).
 */
unsigned evtchn_dispatch(void);

/*
 * Wait until something may have happened: used by code that needs an
 * event to make progress (a xenstore reply) and has no scheduler.
 * Returns 0 when the caller should look again, or a negative error when
 * waiting can never succeed (-XENABI_ENOTCONN before init; whatever the
 * wait function returns, e.g. -XENABI_ETIMEDOUT from the simulator).
 *
 * The default wait function dispatches pending events and, if there were
 * none, blocks the domain (SCHEDOP_block, which returns at once if an
 * event is already pending) and dispatches again. With
 * //libos/xen/evtchn_sched linked and started, the wait function parks
 * only the calling thread until the upcall delivers an event.
 */
int evtchn_wait(void);

typedef int (*evtchn_wait_fn)(void *arg);

/* Replace the wait function (NULL: the default one). For a scheduler. */
void evtchn_set_wait(evtchn_wait_fn fn, void *arg);

struct evtchn_stats {
    uint64_t upcalls;    /* rounds of the upcall loop that found work */
    uint64_t dispatched; /* handler calls */
    uint64_t spurious;   /* events on ports without a handler (nor an
                          * observer), or too high */
    uint64_t observed;   /* observer calls */
    uint64_t blocks;     /* SCHEDOP_block calls by the default wait */
};

void evtchn_get_stats(struct evtchn_stats *out);

#endif /* EVTCHN_EVTCHN_H */
