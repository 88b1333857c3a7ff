/*
 * The idle step of a Xen PV guest, as a pure function of the hypercalls
 * it makes, so that the host tests can play Xen (tests/idle_test.c) and
 * check the order of the calls and the state they leave.
 *
 * On PV there is no HLT, no STI and no local APIC: the guest "halts" by
 * asking Xen to block its vcpu, and its wake-up timer is Xen's own
 * single-shot timer, which raises VIRQ_TIMER on an event channel port.
 * Two ways to wait, chosen by whoever owns the upcall:
 *
 *   poll   (no upcall registered yet): SCHEDOP_poll on the timer's port
 *          alone, with the deadline as the poll's timeout. Event
 *          delivery stays masked, no callback is needed, and other
 *          ports' events wait in Xen's bitmaps (as on PVH before the
 *          callback vector is set, where nothing interrupts the halt
 *          either). The port's pending bit is cleared first: Xen's poll
 *          returns at once while it is set.
 *   block  (the upcall handles events, the timer's port included):
 *          the single-shot timer armed at the deadline (stopped for
 *          XENPLAT_IDLE_NEVER), then SCHEDOP_block. Xen unmasks event delivery
 *          itself, and returns at once if an event is already pending
 *          (it checks after marking the vcpu blocked), so an event or a
 *          timer that fired since the caller last looked is not lost;
 *          the upcall runs as the hypercall returns. Event delivery is
 *          masked again before returning: the rest of the library OS
 *          runs with it masked, as it runs with interrupts masked on
 *          PVH.
 *
 * Xen's timers are in its system time (the pvclock's unit); the
 * monotonic clock is system time minus `offset`.
 */
#ifndef PLATFORM_XEN_IDLE_H
#define PLATFORM_XEN_IDLE_H

#include <stdbool.h>
#include <stdint.h>

/* No deadline (the same value as <time/time.h>'s TIME_NEVER). */
#define XENPLAT_IDLE_NEVER UINT64_MAX

struct xenplat_idle_ops {
    void *ctx;
    /*
     * VCPUOP_set_singleshot_timer at system time `at` (ns), with
     * VCPU_SSHOTTMR_future: -XENABI_ETIME when Xen's clock has passed it
     * (then the wait returns at once, XENPLAT_IDLE_NONE). Xen may ignore
     * the flag (4.17 does) and send the event at once instead.
     */
    long (*set_timer)(void *ctx, uint64_t at);
    /* VCPUOP_stop_singleshot_timer. */
    long (*stop_timer)(void *ctx);
    /* SCHEDOP_block. */
    long (*block)(void *ctx);
    /* SCHEDOP_poll on `port`, until system time `timeout` (0: none). */
    long (*poll)(void *ctx, uint32_t port, uint64_t timeout);
    /* Clear `port`'s bit in the shared info's pending bitmap. */
    void (*clear_pending)(void *ctx, uint32_t port);
    /* Set vcpu_info.evtchn_upcall_mask. */
    void (*mask_events)(void *ctx);
};

enum xenplat_idle_how {
    XENPLAT_IDLE_NONE = 0, /* the deadline had passed: no call made */
    XENPLAT_IDLE_POLL = 1,
    XENPLAT_IDLE_BLOCK = 2,
};

struct xenplat_idle {
    uint32_t timer_port; /* VIRQ_TIMER's port */
    bool on_events;      /* block (the upcall is set up), else poll */
    uint64_t offset;     /* system time at monotonic 0 */
};

/*
 * Wait until monotonic `deadline_ns` (XENPLAT_IDLE_NEVER: no deadline) or an
 * event, `now_ns` being the monotonic time now. Returns how it waited
 * (>= 0), or the negative Xen error of the call that failed; events are
 * masked on return in every case.
 */
long xenplat_idle_wait(const struct xenplat_idle *idle,
                       const struct xenplat_idle_ops *ops,
                       uint64_t deadline_ns, uint64_t now_ns);

/* The system time Xen's timers want for monotonic time `ns`. */
uint64_t xenplat_idle_system_time(const struct xenplat_idle *idle,
                                  uint64_t ns);

#endif /* PLATFORM_XEN_IDLE_H */
