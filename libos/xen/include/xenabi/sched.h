/*
 * xenabi/sched.h - sched_op(cmd, arg): give up the CPU, wait for events,
 * end the domain.
 */
#ifndef XENABI_SCHED_H
#define XENABI_SCHED_H

#include <xenabi/types.h>

/* Commands (first argument of XENABI_HYPERCALL_SCHED_OP). */
#define XENABI_SCHEDOP_YIELD 0           /* arg NULL: let another vcpu run */
#define XENABI_SCHEDOP_BLOCK 1           /* arg NULL: sleep until an event */
#define XENABI_SCHEDOP_SHUTDOWN 2        /* arg: struct xenabi_sched_shutdown */
#define XENABI_SCHEDOP_POLL 3            /* arg: struct xenabi_sched_poll */
#define XENABI_SCHEDOP_REMOTE_SHUTDOWN 4 /* privileged */
#define XENABI_SCHEDOP_SHUTDOWN_CODE 5   /* record a reason, shut down later */
#define XENABI_SCHEDOP_WATCHDOG 6
#define XENABI_SCHEDOP_PIN_OVERRIDE 7    /* hardware domain only */

/*
 * SCHEDOP_block re-enables event delivery for the vcpu and returns at once
 * if an event is already pending, so "mask, check, block" has no lost
 * wake-up window.
 */

/* Shutdown reasons, as the toolstack sees them. */
#define XENABI_SHUTDOWN_POWEROFF 0   /* normal exit: destroy the domain */
#define XENABI_SHUTDOWN_REBOOT 1     /* destroy, then start it again */
#define XENABI_SHUTDOWN_SUSPEND 2    /* save state for a later resume */
#define XENABI_SHUTDOWN_CRASH 3      /* the guest failed */
#define XENABI_SHUTDOWN_WATCHDOG 4   /* the watchdog expired */
#define XENABI_SHUTDOWN_SOFT_RESET 5 /* reset Xen state, keep memory */
#define XENABI_SHUTDOWN_MAX 5

struct xenabi_sched_shutdown {
    uint32_t reason; /* XENABI_SHUTDOWN_* */
};
XENABI_ASSERT_SIZE(struct xenabi_sched_shutdown, 4);
XENABI_ASSERT_OFFSET(struct xenabi_sched_shutdown, reason, 0);

/* Block until one of the ports is pending or the timeout passes. */
struct xenabi_sched_poll {
    xenabi_handle_t ports; /* xenabi_evtchn_port_t[nr_ports] */
    uint32_t nr_ports;
    uint32_t pad0;
    uint64_t timeout; /* absolute system time in ns; 0 = none */
};
XENABI_ASSERT_SIZE(struct xenabi_sched_poll, 24);
XENABI_ASSERT_OFFSET(struct xenabi_sched_poll, ports, 0);
XENABI_ASSERT_OFFSET(struct xenabi_sched_poll, nr_ports, 8);
XENABI_ASSERT_OFFSET(struct xenabi_sched_poll, pad0, 12);
XENABI_ASSERT_OFFSET(struct xenabi_sched_poll, timeout, 16);

/*
 * id 0 creates a watchdog (the call returns its id); id != 0 with a
 * timeout re-arms it; id != 0 with timeout 0 deletes it.
 */
struct xenabi_sched_watchdog {
    uint32_t id;
    uint32_t timeout; /* seconds */
};
XENABI_ASSERT_SIZE(struct xenabi_sched_watchdog, 8);
XENABI_ASSERT_OFFSET(struct xenabi_sched_watchdog, id, 0);
XENABI_ASSERT_OFFSET(struct xenabi_sched_watchdog, timeout, 4);

#endif /* XENABI_SCHED_H */
