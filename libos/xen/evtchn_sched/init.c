/*
 * evtchn_sched_init on the image: the upcall and the pvclock on top of
 * ports.c. See <evtchn_sched/evtchn_sched.h>.
 */
#include <evtchn/evtchn.h>
#include <evtchn_sched/evtchn_sched.h>
#include <platform/xen/xen.h>
#include <sched/sched.h>
#include <time/time.h>
#include <xenabi/shared_info.h>

#include "internal.h"

/* The wake-up timer's port (Xen PV): count it, wake nobody. */
static void timer_event(xenabi_evtchn_port_t port, void *arg)
{
    (void)port;
    (void)arg;
    time_xen_timer_event();
}

/*
 * On Xen PV the wake-up timer is an event channel that //libos/time
 * bound (VIRQ_TIMER): handle it here, so the upcall clears it, keep it
 * out of the threads' event counts, unmask it, and only then let the
 * idle block on events (SCHEDOP_block) instead of polling that port.
 */
static int timer_port_on_events(void)
{
    uint32_t port;

    if (!time_xen_timer_port(&port))
        return 0;
    evtchn_sched_set_timer_port(port);
    int rc = evtchn_set_handler(port, timer_event, NULL);
    if (rc == 0)
        rc = evtchn_unmask(port);
    if (rc < 0)
        return rc;
    time_xen_idle_on_events(true);
    return 0;
}

uint64_t evtchn_sched_interrupts(void)
{
    return xenplat_upcall_count();
}

int evtchn_sched_init(void)
{
    /* The scheduler (and so the clock) first: the pvclock switch below
     * continues the clock from its current reading. */
    sched_init();
    if (!evtchn_ready()) {
        int rc = evtchn_init();
        if (rc < 0)
            return rc;
    }
    int rc = evtchn_sched_start();
    if (rc < 0)
        return rc;
    rc = xenplat_set_upcall(evtchn_sched_upcall);
    if (rc < 0) {
        evtchn_sched_stop();
        return rc;
    }
    rc = timer_port_on_events();
    if (rc < 0) {
        (void)xenplat_set_upcall(NULL);
        evtchn_sched_stop();
        return rc;
    }
    struct xenabi_shared_info *shared = evtchn_shared_info();
    time_use_pvclock(&shared->vcpu_info[0].time);
    time_use_xen_wallclock(shared);
    return 0;
}
