/*
 * evtchn_sched_init on the image: the upcall and the pvclock on top of
 * ports.c. See <evtchn_sched/evtchn_sched.h>.
 */
#include <boot/xen.h>
#include <evtchn/evtchn.h>
#include <evtchn_sched/evtchn_sched.h>
#include <sched/sched.h>
#include <time/time.h>
#include <xenabi/shared_info.h>

#include "internal.h"

uint64_t evtchn_sched_interrupts(void)
{
    return boot_xen_upcall_count();
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
    rc = boot_xen_set_upcall(evtchn_sched_upcall);
    if (rc < 0) {
        evtchn_sched_stop();
        return rc;
    }
    struct xenabi_shared_info *shared = evtchn_shared_info();
    time_use_pvclock(&shared->vcpu_info[0].time);
    return 0;
}
