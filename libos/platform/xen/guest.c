/* xen_guest_start: event channels on the scheduler, grants, xenstore. */
#include <evtchn_sched/evtchn_sched.h>
#include <gnttab/gnttab.h>
#include <platform/xen/guest.h>
#include <stdbool.h>
#include <xenstore/xenstore.h>

int xen_guest_start(void)
{
    static bool done;
    static int result;

    if (done)
        return result;
    int rc = evtchn_sched_init();
    if (rc == 0)
        rc = gnttab_init();
    if (rc == 0)
        rc = xs_init();
    done = true;
    result = rc;
    return rc;
}
