/*
 * evtchn_sched/evtchn_sched.h - Xen event channels wired into the
 * cooperative scheduler: a thread waits on a port, the event's upcall
 * wakes it, and when no thread can run the vcpu blocks until an event
 * or the next timer.
 *
 * The glue between //libos/xen/evtchn and //libos/sched, so that neither
 * depends on the other:
 *
 *   - it observes every event the upcall takes (evtchn_set_observer),
 *     counts it against its port and wakes the port's waiters; the
 *     drivers keep their own handlers;
 *   - it replaces evtchn_wait() (evtchn_set_wait): a driver waiting for
 *     its backend (xenstore replies, netfront, blkfront, the PV console)
 *     parks only the calling thread, and the other threads run; the
 *     thread wakes at the next event or after EVTCHN_SCHED_PARK_NS, so
 *     a driver loop that gives up after N waits gives up in bounded time
 *     even when the backend has gone silent;
 *   - on the image, evtchn_sched_init() also registers the upcall with
 *     Xen (<platform/xen/xen.h>: an IDT vector raised while events are pending
 *     on PVH, the event callback on PV), moves the monotonic clock onto
 *     Xen's pvclock (time_use_pvclock) and the wall clock onto Xen's
 *     (time_use_xen_wallclock); on PV it also takes over the wake-up
 *     timer's port (handler, unmask) and switches the idle from polling
 *     that port to SCHEDOP_block (time_xen_idle_on_events).
 *
 * Blocking. The scheduler idles in time_block_until() (<time/time.h>):
 * the wake-up timer armed for the earliest sleeper, then "sti; hlt"
 * (PVH), or Xen's single-shot timer and SCHEDOP_block (PV: Xen unmasks
 * event delivery for the block and checks for pending events after
 * marking the vcpu blocked; the mask is set again afterwards).
 * On Xen PVH, HLT with interrupts enabled is how the vcpu blocks: Xen's
 * HLT exit is SCHEDOP_block (the vcpu sleeps until an event or an
 * interrupt, and does not sleep at all if one is already deliverable),
 * and the upcall vector and the timer are what end it. An explicit
 * SCHEDOP_block hypercall would not do: a PVH guest's "events enabled"
 * is RFLAGS.IF, so the upcall could not be taken inside the hypercall,
 * and enabling interrupts just before it reopens the lost-wake-up
 * window that "sti; hlt" closes (STI takes effect after HLT has begun).
 *
 * Events and threads. Interrupts are taken only in the idle halt, so an
 * event that arrives while threads run waits in Xen's bitmaps until the
 * next halt (or until a thread waits: waiting first takes what is
 * pending, from thread context). Each event on a port is counted; a
 * wait returns the events since the caller's last wait on that port,
 * so an event while nobody waits is not lost, and it wakes every thread
 * waiting on the port.
 *
 * Single vcpu, like the rest. All functions are for thread context with
 * interrupts masked, except evtchn_sched_upcall (interrupt context).
 */
#ifndef EVTCHN_SCHED_EVTCHN_SCHED_H
#define EVTCHN_SCHED_EVTCHN_SCHED_H

#include <stdint.h>

#include <xenabi/errno.h>
#include <xenabi/event_channel.h>

/*
 * The image's way in: evtchn_init() if the caller has not done it,
 * evtchn_sched_start(), the upcall (xenplat_set_upcall with
 * evtchn_sched_upcall) and the pvclock. Call it after evtchn_init() or
 * instead of it (evtchn_init() afterwards would undo it), before binding
 * driver ports. Returns 0; -XENABI_ENOSYS when not on Xen (QEMU); or
 * the error of the step that failed, which is undone.
 * Image only (//libos/xen/evtchn_sched).
 */
/* The longest evtchn_wait() parks a thread without an event. */
#define EVTCHN_SCHED_PARK_NS (100 * UINT64_C(1000000))

int evtchn_sched_init(void);

/*
 * The host-testable part (//libos/xen/evtchn_sched:core): install the
 * observer and the wait function and forget every count. evtchn_init()
 * must have succeeded (else -XENABI_ENOTCONN). Does not touch the upcall
 * or the clock. Called again while started, it only installs the hooks
 * again (after another evtchn_init); counts and waiting threads stay.
 */
int evtchn_sched_start(void);

/*
 * Events on `port` are the wake-up timer's (Xen PV: //libos/time's
 * VIRQ_TIMER port, which evtchn_sched_init sets): the observer ignores
 * them, so they neither count nor wake waiting threads; the timer's own
 * handler and the scheduler's idle loop deal with them.
 * evtchn_sched_stop() forgets it.
 */
void evtchn_sched_set_timer_port(xenabi_evtchn_port_t port);

/* Undo evtchn_sched_start: evtchn_wait blocks the domain again. */
void evtchn_sched_stop(void);

/* The upcall body: dispatch every pending event (waking waiters). */
void evtchn_sched_upcall(void);

/*
 * Block the calling thread until `port` has had an event, or until
 * monotonic time `deadline_ns` (TIME_NEVER: no deadline). Returns the
 * number of events since this port's previous wait returned (>= 1), 0
 * if the deadline passed first, -XENABI_EINVAL for a port out of range,
 * -XENABI_ENOTCONN before evtchn_sched_start. An event that came while
 * nobody waited makes the next wait return at once.
 */
int evtchn_sched_wait(xenabi_evtchn_port_t port, uint64_t deadline_ns);

/*
 * Block until any port has an event, or the deadline: what evtchn_wait()
 * does once started (with TIME_NEVER). Returns the number of events
 * seen, 0 on timeout, -XENABI_ENOTCONN before evtchn_sched_start.
 */
int evtchn_sched_wait_any(uint64_t deadline_ns);

struct evtchn_sched_stats {
    uint64_t upcalls;   /* evtchn_sched_upcall calls */
    uint64_t events;    /* events observed */
    uint64_t wakeups;   /* threads made runnable by events */
    uint64_t waits;     /* waits that parked a thread */
    uint64_t timeouts;  /* waits that ended at their deadline */
    uint64_t interrupts; /* upcall interrupts from Xen (image only) */
};

void evtchn_sched_get_stats(struct evtchn_sched_stats *out);

/*
 * One line: "[evtchn] upcalls U (interrupts I), events E, handled H,
 * spurious S, thread waits W, woken K, timeouts T, domain blocks B".
 * The domain blocks (evtchn's SCHEDOP_block fallback) stay 0 once the
 * glue is started.
 */
void evtchn_sched_print_stats(void);

#endif /* EVTCHN_SCHED_EVTCHN_SCHED_H */
