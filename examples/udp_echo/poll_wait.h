/*
 * An evtchn_wait() for a domain that takes no interrupts: it sleeps in
 * SCHEDOP_poll on the unmasked event channel ports (at most 100 ms) and
 * then dispatches whatever is pending from thread context. Polling for
 * now: the upcall vector (HVM_PARAM_CALLBACK_IRQ) is not wired up yet.
 */
#ifndef UDP_ECHO_POLL_WAIT_H
#define UDP_ECHO_POLL_WAIT_H

#include <stdint.h>

/* Make evtchn_wait() use it (after evtchn_init()). */
void poll_wait_install(void);

/*
 * Xen's system time in ns (vcpu 0's pvclock), for deadlines: waits can
 * end early (any event on any polled port), so bound them by time, not
 * by count. 0 before evtchn_init() or if Xen has not filled it in.
 */
uint64_t poll_wait_now_ns(void);

struct poll_wait_stats {
    uint64_t waits;  /* evtchn_wait() calls */
    uint64_t polls;  /* SCHEDOP_poll sleeps */
    uint64_t yields; /* fallbacks to SCHEDOP_yield */
    uint64_t woken;  /* sleeps that ended with an event to dispatch */
};

void poll_wait_get_stats(struct poll_wait_stats *out);

#endif /* UDP_ECHO_POLL_WAIT_H */
