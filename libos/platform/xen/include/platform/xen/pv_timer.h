/*
 * platform/xen/pv_timer.h - Xen's single-shot timer and vcpu blocking for
 * a PV guest, which has no HLT, no STI and no local APIC: the hypercalls
 * behind the idle step of <platform/xen/idle.h>. //libos/time uses them
 * as its timer and idle when xenplat_mode() == XENPLAT_PV; it keeps the
 * clock's state and statistics itself.
 *
 * This sits below the event-channel library (//libos/xen/evtchn), so it
 * binds VIRQ_TIMER and touches the shared info's bitmaps itself (2-level
 * ABI); the Xen layer later tells time when the upcall can end its blocks
 * (time_xen_idle_on_events in <time/time.h>).
 */
#ifndef PLATFORM_XEN_PV_TIMER_H
#define PLATFORM_XEN_PV_TIMER_H

#include <platform/xen/idle.h>
#include <stdint.h>

/*
 * The idle step's calls, made for real: VCPUOP_set/stop_singleshot_timer,
 * SCHEDOP_block, SCHEDOP_poll, clearing a port's pending bit and masking
 * events in the shared info page the PV boot path mapped.
 */
extern const struct xenplat_idle_ops xenplat_pv_idle_ops;

/*
 * VIRQ_TIMER on a port of our own, masked (a poll sees it anyway, and
 * until the Xen layer handles it its events should not raise the
 * upcall), then the 100 Hz periodic timer a PV vcpu starts with stopped
 * (it would only wake the idle for nothing).
 */
struct xenplat_pv_timer {
    uint32_t port;         /* VIRQ_TIMER's port */
    long stop_periodic_rc; /* 0, or why the periodic timer still runs */
};

/*
 * Returns 0; the negative Xen error of EVTCHNOP_bind_virq; -XENABI_ERANGE
 * when Xen bound a port beyond the 2-level ABI (out->port says which);
 * -XENABI_ENOSYS when not booted as PV (no shared info page).
 */
long xenplat_pv_timer_bind(struct xenplat_pv_timer *out);

#endif /* PLATFORM_XEN_PV_TIMER_H */
