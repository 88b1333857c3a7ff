/* xen_guest_start: event channels on the scheduler, grants, xenstore, and
 * the toolstack's shutdown requests (control.c). */
#include <evtchn_sched/evtchn_sched.h>
#include <gnttab/gnttab.h>
#include <platform/xen/control.h>
#include <platform/xen/guest.h>
#include <stdbool.h>
#include <stdio.h>
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
    if (rc == 0) {
        int crc = xen_control_start();
        if (crc != 0)
            printf("[xen] control: xl shutdown/reboot will not be heard: error %d\n", crc);
    }
    done = true;
    result = rc;
    return rc;
}
